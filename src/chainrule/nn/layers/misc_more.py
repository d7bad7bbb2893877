"""Legacy PyTorch layers kept for porting: ``CrossMapLRN2d`` (Lua Torch's cross-channel local
response normalisation) and ``NLLLoss2d`` (a deprecated alias of ``NLLLoss``)."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from ...autograd.function import Function, once_differentiable
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ..module import Module
from .loss import NLLLoss

__all__ = ["CrossMapLRN2d", "NLLLoss2d"]


def _lrn_window(size: Any, shape: tuple) -> np.ndarray:
    """The (C, C) 0/1 matrix of which squared channels PyTorch's legacy ``CrossMapLRN2d``
    sums for each channel, found by running its running-sum recurrence on indicator
    vectors: the first sum covers channels [0, pre_pad); each next one adds channel
    c + pre_pad - 1 and, for c > pre_pad, drops channel c - pre_pad (so channel 0 is never
    dropped: the legacy kernel's window, kept as is). As there, any real ``size`` is taken
    (``pre_pad = int((size - 1) / 2 + 1)``: a NaN or infinite one raises Python's error), a
    channel index past the end is its ``select()`` IndexError and a negative one counts
    from the end (a negative ``size``)."""
    channels = shape[1]
    pre_pad = int((size - 1) / 2 + 1)

    def at(i: int) -> int:
        if not -channels <= i < channels:
            raise IndexError(
                f"select(): index {i} out of range for tensor of size {list(shape)} at dimension 1"
            )
        return i % channels

    m = np.zeros((channels, channels))
    m[0, : max(0, min(pre_pad, channels))] = 1.0
    for c in range(1, channels):
        m[c] = m[c - 1]
        if c < channels - pre_pad + 1:
            m[c, at(c + pre_pad - 1)] += 1.0
        if c > pre_pad:
            m[c, at(c - pre_pad)] -= 1.0
    return m


def _refuse_backward_size(size: Any, channels: int) -> None:
    """The errors of PyTorch's legacy backward for ``size``: its ``input.new(channels + size
    - 1, H, W)`` takes no float (a TypeError), and its ``narrow(0, int(size - (size - 1) /
    2), channels)`` of that buffer fails for ``size < 2`` (a RuntimeError)."""
    if isinstance(size, float | np.floating):
        kind = type(size)
        name = kind.__name__ if kind is float else f"numpy.{kind.__name__}"
        raise TypeError(
            f"new() received an invalid combination of arguments - got ({name}, int, int), "
            "but expected one of:\n * (*, torch.device device = None)\n * (torch.Storage "
            "storage)\n * (Tensor other)\n * (tuple of ints size, *, torch.device device = "
            "None)\n * (object data, *, torch.device device = None)"
        )
    start, length = int(size - (size - 1) / 2), channels + size - 1
    if start + channels > length:
        raise RuntimeError(
            f"start ({start}) + length ({channels}) exceeds dimension size ({length})."
        )


def _legacy_backward_window(size: int, channels: int) -> np.ndarray:
    """The (C, C) 0/1 matrix PyTorch's legacy ``CrossMapLRN2d`` backward sums the ratios
    ``g * y / scale`` over for each input channel ``j``: channels
    ``j - (size + 1) // 2 ... j - (size + 1) // 2 + size - 1`` (clipped to 0..C-1), the
    window of its running sum over the padded ratios, not the transpose of the forward's."""
    off = (size + 1) // 2
    j = np.arange(channels)[:, None]
    c = np.arange(channels)[None, :]
    return ((c >= j - off) & (c <= j - off + size - 1)).astype(np.float64)


class _CrossMapLRN2dFn(Function):
    """``CrossMapLRN2d``'s forward, and PyTorch's legacy backward for it:
    ``grad_x = g * scale**-beta - 2 * alpha * beta / size * x * (B @ (g * y / scale))`` with
    the band ``B`` of :func:`_legacy_backward_window` over the channels."""

    raw = True
    node_name = "CrossMapLRN2dBackward"

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        xp = get_array_module(x)
        window = xp.asarray(_lrn_window(size, x.shape), dtype=x.dtype)
        sums = xp.einsum("cj,njhw->nchw", window, x * x)
        scale = (sums * (alpha / size) + k).astype(x.dtype, copy=False)
        y = (x * scale ** (-beta)).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, scale, y)
        ctx.params = (size, alpha, beta)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, scale, y = (t._data for t in ctx.saved_tensors)
        size, alpha, beta = ctx.params
        g = grad._data
        channels = x.shape[1]
        _refuse_backward_size(size, channels)  # size 1 too: PyTorch's sum reads past its end
        xp = get_array_module(x)
        band = xp.asarray(_legacy_backward_window(size, channels), dtype=x.dtype)
        summed = xp.einsum("jc,nchw->njhw", band, g * y / scale)
        gx = g * scale ** (-beta) - (2 * alpha * beta / size) * x * summed
        return Tensor._make(gx.astype(x.dtype, copy=False), False, None, 0), None, None, None, None


class CrossMapLRN2d(Module):
    """Cross-channel local response normalisation of (N, C, H, W), as PyTorch's legacy
    ``nn.CrossMapLRN2d``: y = x * (k + alpha / size * sum_{j in W(c)} x_j ** 2) ** -beta, with
    the channel windows W(c) of that kernel (see :func:`_lrn_window`).

    The gradient is PyTorch's, value for value: its hand-written legacy backward (see
    :class:`_CrossMapLRN2dFn`), which is not the derivative of this forward (its window
    differs from the forward's), so ``gradcheck`` fails on it as on PyTorch's. As there,
    backward raises for ``size=1``, there is no double backward and no forward mode. For
    the true gradient of the same normalisation use :class:`~chainrule.nn.LocalResponseNorm`.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        if input.ndim != 4:
            raise ValueError(f"{name}: Expected input to be 4D, got {input.ndim}D instead.")
        if input.dtype.kind not in "fV":  # V: bfloat16
            raise RuntimeError(f"{name}: expected a floating-point input, got {input.dtype}")
        # any real size, as PyTorch's legacy kernel (a float one fails in its backward, a
        # NaN one in int(), size 0 in alpha / size); a 0-d tensor as its number
        size = self.size.item() if isinstance(self.size, Tensor) else self.size
        # a non-number fails where PyTorch's legacy forward uses it, in its order (alpha / size,
        # then scale.add_(k), then -beta), with its TypeError rather than float()'s ValueError
        if not isinstance(self.alpha, (numbers.Real, Tensor)):
            self.alpha / size  # noqa: B018 - raises as PyTorch's does
        if not isinstance(self.k, (numbers.Real, Tensor)):
            raise TypeError(
                f"add_(): argument 'other' (position 1) must be Tensor, not {type(self.k).__name__}"
            )
        if not isinstance(self.beta, (numbers.Real, Tensor)):
            -self.beta  # noqa: B018 - raises as PyTorch's does
        if size == 0:
            raise ZeroDivisionError(
                "float division by zero" if isinstance(self.alpha, float) else "division by zero"
            )
        return _CrossMapLRN2dFn.apply(
            input, size, float(self.alpha), float(self.beta), float(self.k)
        )

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class NLLLoss2d(NLLLoss):
    """Deprecated alias of :class:`NLLLoss` (which already takes (N, C, H, W) input).
    Constructing it warns with ``FutureWarning``, as PyTorch's does."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        ignore_index: int = -100,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        warnings.warn(
            "`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in "
            "replacement and see https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss "
            "for more details.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(weight, size_average, ignore_index, reduce, reduction)
