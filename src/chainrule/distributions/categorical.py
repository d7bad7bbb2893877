"""Categorical law on ``{0, ..., K - 1}``: ``P(X = k) = p_k``.

Same public surface as ``torch.distributions.Categorical``. The last dimension of the
parameter indexes the ``K`` classes; the leading dimensions are the batch. Either form of the
parameter is normalised on entry: ``probs`` is divided by its sum, ``logits`` has its
log-sum-exp subtracted, so ``logits`` always holds normalised log-probabilities.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr

from . import constraints
from .distribution import Distribution
from .utils import _EMPTY_SIZE, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical"]


def _normalised(name: str, t: cr.Tensor) -> cr.Tensor:
    """``t`` rescaled so that its classes (last dim) sum to one in probability space."""
    if t.dim() == 0:
        raise ValueError(f"`{name}` parameter must be at least one-dimensional.")
    if name == "probs":
        return t / t.sum(-1, keepdim=True)
    return t - t.logsumexp(dim=-1, keepdim=True)


class Categorical(Distribution):
    """One draw among ``K`` classes with probabilities ``probs[..., k]``.

    Give exactly one of ``probs`` (non-negative weights, normalised here) or ``logits``
    (unnormalised log-weights). Samples are int64 class indices of shape
    ``sample_shape + batch_shape``. Mean and variance are undefined for labels (NaN).
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(
        self,
        probs: cr.Tensor | None = None,
        logits: cr.Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        name, raw = ("probs", probs) if probs is not None else ("logits", logits)
        param = _normalised(name, raw)
        setattr(self, name, param)
        self._param = param  # whichever form was given; decides dtype and shapes
        self._num_events = param.shape[-1]
        super().__init__(cr.Size(param.shape[:-1]), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Categorical:
        out = self._get_checked_instance(Categorical, _instance)
        out._num_events = self._num_events
        full = (*cr.Size(batch_shape), self._num_events)
        return self._expand_into(out, batch_shape, ("probs", "logits"), full)

    def _new(self, *args: Any, **kwargs: Any) -> cr.Tensor:
        return self._param.new(*args, **kwargs)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self) -> cr.Tensor:
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self) -> cr.Tensor:
        return logits_to_probs(self.logits)

    @property
    def param_shape(self) -> cr.Size:
        return self._param.size()

    def _undefined(self) -> cr.Tensor:
        return cr.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype)

    @property
    def mean(self) -> cr.Tensor:
        return self._undefined()

    @property
    def mode(self) -> cr.Tensor:
        return self.probs.argmax(dim=-1)

    @property
    def variance(self) -> cr.Tensor:
        return self._undefined()

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        """Each batch row draws ``n = prod(sample_shape)`` indices with replacement; the
        draws (row-major ``(rows, n)``) are transposed so the sample dims lead."""
        n = cr.Size(sample_shape).numel()
        rows = self.probs.detach().reshape(-1, self._num_events)
        draws = cr.multinomial(rows, n, True)
        return draws.T.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        """``logits[..., value]``: the stored logits are already normalised."""
        if self._validate_args:
            self._validate_sample(value)
        idx = value.long()
        batch = cr.broadcast_shapes(idx.shape, self.logits.shape[:-1])
        table = self.logits.expand(*batch, self._num_events)
        return table.gather(-1, idx.expand(batch).unsqueeze(-1)).squeeze(-1)

    def entropy(self) -> cr.Tensor:
        """``-sum_k p_k log p_k``. A class of probability 0 has logit ``-inf``; clamping it to
        the dtype's most negative finite value makes its term ``0 * finite = 0``, not NaN."""
        finite_logits = cr.clamp(self.logits, min=cr.finfo(self.logits.dtype).min)
        return -(self.probs * finite_logits).sum(-1)

    def enumerate_support(self, expand: bool = True) -> cr.Tensor:
        """The labels ``0..K-1`` along a new leading dim, broadcastable to the batch shape."""
        k = self._num_events
        batch = tuple(self._batch_shape)
        labels = cr.arange(k, dtype=cr.int64).reshape(k, *(1 for _ in batch))
        return labels.expand(k, *batch) if expand else labels
