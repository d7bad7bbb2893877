"""``AdaptiveLogSoftmaxWithLoss`` (Grave et al. 2017, "Efficient softmax approximation for
GPUs"), as ``torch.nn.AdaptiveLogSoftmaxWithLoss``.

The classes are split by ``cutoffs`` into a shortlist (scored directly by ``head``) and
clusters; ``head`` also scores one logit per cluster, and cluster ``i`` has its own two-layer
projection ``tail[i]`` (``in_features -> in_features // div_value ** (i + 1) -> size``).
log p(c) = head_logprob[c] for shortlist classes, and
head_logprob[cluster] + cluster_logprob[c - cutoff] otherwise. The parameter names
(``head.weight``, ``tail.0.0.weight``, ...) are PyTorch's, so state dicts move between the two.
Everything is composed of differentiable ops (linear, log_softmax, gather, scatter).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...autograd.grad_mode import no_grad
from ...autograd.tensor import Tensor
from ...creation import tensor, zeros
from ...ops.gather_scatter import scatter
from ...ops.joining import cat
from ...ops.softmax import log_softmax
from ..module import Module
from .container import ModuleList, Sequential
from .linear import Linear

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


def _as_index(x: Any, device: Any) -> Tensor:
    return tensor(np.asarray(x, dtype=np.int64), device=device)


class AdaptiveLogSoftmaxWithLoss(Module):
    """Efficient softmax approximation for many classes with a skewed frequency.

    ``forward(input, target)`` returns ``(output, loss)``: the target log-probability of each
    row and the mean negative log-likelihood. ``log_prob(input)`` gives all ``n_classes``
    log-probabilities, ``predict(input)`` the most likely class.
    """

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        cutoffs: Sequence[int],
        div_value: float = 4.0,
        head_bias: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (
            cutoffs != sorted(cutoffs)
            or min(cutoffs) <= 0
            or max(cutoffs) > n_classes - 1
            or len(set(cutoffs)) != len(cutoffs)
            or any(int(c) != c for c in cutoffs)
        ):
            raise ValueError(
                "cutoffs should be a sequence of unique, positive integers sorted in an "
                "increasing order, where each value is between 1 and n_classes-1"
            )
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        factory = {"device": device, "dtype": dtype}
        self.head = Linear(in_features, self.head_size, bias=head_bias, **factory)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(
                Sequential(
                    Linear(in_features, hsz, bias=False, **factory),
                    Linear(hsz, osz, bias=False, **factory),
                )
            )

    def reset_parameters(self) -> None:
        """Re-initialise ``head`` and every tail projection as at construction."""
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        """(output, loss): ``output[r] = log p(target[r] | input[r])``, loss its negated mean.

        Raises:
            RuntimeError: mismatched batch sizes or ranks, a multi-dim target, a non-integer
                target, or a target outside ``[0, n_classes - 1]``.
        """
        if not isinstance(target_, Tensor) or not isinstance(input_, Tensor):
            raise TypeError("AdaptiveLogSoftmaxWithLoss: input and target must be Tensors")
        if target_.ndim == 1:
            if input_.shape[0] != target_.shape[0]:
                raise RuntimeError(
                    "AdaptiveLogSoftmaxWithLoss: Input and target should have the same size "
                    "in the batch dimension."
                )
            if input_.ndim != 2:
                raise RuntimeError(
                    "AdaptiveLogSoftmaxWithLoss: 1D target tensor expects 2D input tensors, "
                    f"but found inputs with size {tuple(input_.shape)}"
                )
        elif target_.ndim == 0:
            if input_.ndim != 1:
                raise RuntimeError(
                    "AdaptiveLogSoftmaxWithLoss: 0D target tensor expects 1D input tensors, "
                    f"but found inputs with size {tuple(input_.shape)}"
                )
        else:
            raise RuntimeError(
                "AdaptiveLogSoftmaxWithLoss: 0D or 1D target tensor expected, "
                "multi-target not supported"
            )
        if target_.dtype.kind not in "iu":
            raise RuntimeError(
                f"AdaptiveLogSoftmaxWithLoss: expected an integer target, got {target_.dtype}"
            )
        batched = target_.ndim > 0
        input = input_ if batched else input_.unsqueeze(0)
        t = np.asarray(target_.detach().cpu().numpy()).reshape(-1)
        batch = t.shape[0]
        if batch and (t.min() < 0 or t.max() > self.n_classes - 1):
            raise RuntimeError(
                f"AdaptiveLogSoftmaxWithLoss: Target values should be in "
                f"[0, {self.n_classes - 1}], but values in range [{t.min()}, {t.max()}] "
                "were found. "
            )
        # the head's column for each row: its class in the shortlist, else its cluster's logit
        cluster = np.searchsorted(np.asarray(self.cutoffs), t, side="right")
        gather_inds = np.where(cluster == 0, t, self.shortlist_size + cluster - 1)
        device = input.device
        # the tail clusters first, the head after them (PyTorch's order: forward hooks see
        # the tails' Sequential / Linear calls before the head's)
        tails = None
        for i in range(1, self.n_clusters + 1):
            rows = np.nonzero(cluster == i)[0]
            if rows.size == 0:
                continue
            rows_t = _as_index(rows, device)
            relative = _as_index((t[rows] - self.cutoffs[i - 1])[:, None], device)
            cluster_logprob = log_softmax(self.tail[i - 1](input.index_select(0, rows_t)), 1)
            local = cluster_logprob.gather(1, relative).squeeze(1)
            base = zeros(batch, dtype=local.dtype, device=device)
            term = scatter(base, 0, rows_t, local)
            tails = term if tails is None else tails + term
        head_logprob = log_softmax(self.head(input), 1)
        output = head_logprob.gather(1, _as_index(gather_inds[:, None], device)).squeeze(1)
        if tails is not None:
            output = output + tails
        loss = (-output).mean()
        if not batched:
            output = output.squeeze(0)
        return _ASMoutput(output, loss)

    def _get_full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        """All ``n_classes`` log-probabilities from ``input`` and the head's logits."""
        head_logprob = log_softmax(head_output, 1)
        parts = [head_logprob[:, : self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = log_softmax(self.tail[i](input), 1)
            c = self.shortlist_size + i
            parts.append(cluster_logprob + head_logprob[:, c : c + 1])
        return cat(parts, 1)

    def log_prob(self, input: Tensor) -> Tensor:
        """(N, in_features) -> (N, n_classes) log-probabilities of every class."""
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """(N, in_features) -> (N,) most likely class; the tails are evaluated only for rows
        whose head argmax is a cluster (a shortlist argmax is also the overall argmax)."""
        with no_grad():
            head_output = self.head(input)
            output = head_output.argmax(1)
            outside = (output >= self.shortlist_size).cpu().numpy()
            if not outside.any():
                return output
            if outside.all():
                return self._get_full_log_prob(input, head_output).argmax(1)
            rows = _as_index(np.nonzero(outside)[0], input.device)
            full = self._get_full_log_prob(
                input.index_select(0, rows), head_output.index_select(0, rows)
            )
            picked = output.cpu().numpy().copy()
            picked[rows.cpu().numpy()] = full.argmax(1).cpu().numpy()
            return _as_index(picked, input.device)
