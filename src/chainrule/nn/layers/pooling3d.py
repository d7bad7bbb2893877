"""3-D pooling layers: MaxPool3d, AvgPool3d, AdaptiveAvgPool3d, AdaptiveMaxPool3d, thin
wrappers over :mod:`chainrule.nn.functional.pooling3d` with PyTorch's constructor
arguments and reprs."""

from __future__ import annotations

from typing import Any

from ...autograd.tensor import Tensor
from ..functional import pooling3d as Fp3
from ..module import Module
from .pooling import _AvgPoolWithDivisor, _MaxPool

__all__ = ["AdaptiveAvgPool3d", "AdaptiveMaxPool3d", "AvgPool3d", "MaxPool3d"]


class MaxPool3d(_MaxPool):
    """3-D max pooling; the gradient goes to each window's first argmax.

    Shape:
        (N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out),
        D_out = floor_or_ceil((D + 2p - d(k-1) - 1)/s) + 1.
    """

    _fn = staticmethod(Fp3.max_pool3d)


class AvgPool3d(_AvgPoolWithDivisor):
    """3-D average pooling. Shape: (N, C, D, H, W) -> (N, C, D_out, H_out, W_out)."""

    _fn = staticmethod(Fp3.avg_pool3d)


class AdaptiveAvgPool3d(Module):
    """Average pooling to a fixed output size (None keeps that axis).

    Shape: (N, C, D, H, W) -> (N, C, *output_size).
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return Fp3.adaptive_avg_pool3d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool3d(Module):
    """Max pooling to a fixed output size. Shape: (N, C, D, H, W) -> (N, C, *output_size)."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor):
        return Fp3.adaptive_max_pool3d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
