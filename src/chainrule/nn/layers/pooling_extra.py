"""Parameter-free layers over :mod:`chainrule.nn.functional`'s fold, unpooling, power-average
pooling and channel-shuffle functions: ``Fold``, ``Unfold``, ``MaxUnpool1d/2d``,
``LPPool1d/2d`` and ``ChannelShuffle``, with PyTorch's constructor arguments, stored
attributes and ``extra_repr``.
"""

from __future__ import annotations

from typing import Any

from ...autograd.tensor import Tensor
from ..functional import pooling_extra as Fx
from ..functional.fold import fold as _fold
from ..functional.fold import unfold as _unfold
from ..module import Module

__all__ = [
    "ChannelShuffle",
    "Fold",
    "LPPool1d",
    "LPPool2d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "Unfold",
]


def _ntuple(v: Any, n: int) -> tuple:
    """PyTorch's ``_single`` / ``_pair``: a sequence (a str too: it iterates) is kept,
    anything else repeated."""
    return tuple(v) if isinstance(v, (tuple, list, str)) else (v,) * n


class Fold(Module):
    """Combine sliding local blocks (N, C*prod(kernel_size), L) into (N, C, *output_size),
    summing overlaps (:func:`chainrule.nn.functional.fold`)."""

    def __init__(
        self,
        output_size: Any,
        kernel_size: Any,
        dilation: Any = 1,
        padding: Any = 0,
        stride: Any = 1,
    ) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return _fold(
            input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride
        )

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
            f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
        )


class Unfold(Module):
    """Extract sliding local blocks of (N, C, H, W) as columns (N, C*kh*kw, L)
    (:func:`chainrule.nn.functional.unfold`)."""

    def __init__(
        self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return _unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding},"
            f" stride={self.stride}"
        )


class _MaxUnpoolNd(Module):
    _n = 0

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        n = self._n
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = _ntuple(stride if stride is not None else kernel_size, n)
        self.padding = _ntuple(padding, n)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool1d``: put each value back at its argmax position (given by
    the pool's ``return_indices``), zeros elsewhere."""

    _n = 1

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return Fx.max_unpool1d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool2d``: put each value back at its argmax position (given by
    the pool's ``return_indices``), zeros elsewhere."""

    _n = 2

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return Fx.max_unpool2d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )


class _LPPoolNd(Module):
    def __init__(
        self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
    ) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, ceil_mode={self.ceil_mode}"
        )


class LPPool1d(_LPPoolNd):
    """Power-average pooling ``(sum_window x ** p) ** (1 / p)`` over (N, C, L)."""

    def forward(self, input: Tensor) -> Tensor:
        return Fx.lp_pool1d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class LPPool2d(_LPPoolNd):
    """Power-average pooling ``(sum_window x ** p) ** (1 / p)`` over (N, C, H, W)."""

    def forward(self, input: Tensor) -> Tensor:
        return Fx.lp_pool2d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class ChannelShuffle(Module):
    """Interleave the channels of (N, C, *) across ``groups`` (ShuffleNet)."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return Fx.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
