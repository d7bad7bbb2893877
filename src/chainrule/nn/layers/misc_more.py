"""Legacy PyTorch layers kept for porting: ``CrossMapLRN2d`` (Lua Torch's cross-channel local
response normalisation) and ``NLLLoss2d`` (a deprecated alias of ``NLLLoss``)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ..module import Module
from .loss import NLLLoss

__all__ = ["CrossMapLRN2d", "NLLLoss2d"]


def _lrn_window(size: int, channels: int) -> np.ndarray:
    """The (C, C) 0/1 matrix of which squared channels PyTorch's legacy ``CrossMapLRN2d``
    sums for each channel, found by running its running-sum recurrence on indicator
    vectors: the first sum covers channels [0, pre_pad); each next one adds channel
    c + pre_pad - 1 and, for c > pre_pad, drops channel c - pre_pad (so channel 0 is never
    dropped: the legacy kernel's window, kept as is)."""
    pre_pad = int((size - 1) / 2 + 1)
    m = np.zeros((channels, channels))
    m[0, : min(pre_pad, channels)] = 1.0
    for c in range(1, channels):
        m[c] = m[c - 1]
        if c < channels - pre_pad + 1:
            m[c, c + pre_pad - 1] += 1.0
        if c > pre_pad:
            m[c, c - pre_pad] -= 1.0
    return m


class CrossMapLRN2d(Module):
    """Cross-channel local response normalisation of (N, C, H, W), as PyTorch's legacy
    ``nn.CrossMapLRN2d``: y = x * (k + alpha / size * sum_{j in W(c)} x_j ** 2) ** -beta, with
    the channel windows W(c) of that kernel (see :func:`_lrn_window`).

    Composed from differentiable ops, so the gradient is the exact derivative of this
    forward. PyTorch's hand-written legacy backward is not: it assumes a centred window, so
    ``torch.autograd.gradcheck`` fails on it whenever a window is clipped by the channel
    count differently from that assumption, and it crashes for ``size=1``. chainrule's
    gradients equal PyTorch's where PyTorch's are right (e.g. ``C <= size // 2 + 1``).
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
        if isinstance(self.size, bool) or not isinstance(self.size, (int, np.integer)):
            raise TypeError(f"{name}: size must be an int, got {self.size!r}")
        if self.size == 0:
            raise ZeroDivisionError(f"{name}: size must be positive (alpha / size), got 0")
        if self.size < 0:
            raise ValueError(f"{name}: size must be positive, got {self.size}")
        xp = get_array_module(input._data)
        m = _lrn_window(int(self.size), input.shape[1]).T.astype(input.dtype)
        window = Tensor._make(xp.asarray(m), False, None, 0)
        sums = (input * input).permute(0, 2, 3, 1).matmul(window).permute(0, 3, 1, 2)
        scale = sums * (self.alpha / self.size) + self.k
        return input * scale ** (-self.beta)

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
