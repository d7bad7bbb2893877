"""3-D padding layers: ``ReflectionPad3d``, ``ReplicationPad3d``, ``CircularPad3d`` and
``ZeroPad3d``, over ``F.pad`` (whose reflect / replicate / circular modes are one gather per
padded dim, so they work on the last three dims of a 4-D or 5-D input and are
differentiable to any order)."""

from __future__ import annotations

from typing import Any

from ...autograd.tensor import Tensor
from ...ops.shape import pad
from .padding import ConstantPad3d, _PadNd

__all__ = ["CircularPad3d", "ReflectionPad3d", "ReplicationPad3d", "ZeroPad3d"]


class ReflectionPad3d(_PadNd):
    """Pad the last three dims (W, then H, then D: ``(left, right, top, bottom, front,
    back)``) with their reflection (the edge not repeated). Shape: (N, C, D, H, W) or
    (C, D, H, W)."""

    mode, dims = "reflect", 3


class ReplicationPad3d(_PadNd):
    """Pad the last three dims by repeating the edge values."""

    mode, dims = "replicate", 3


class CircularPad3d(_PadNd):
    """Pad the last three dims by wrapping around (each pad at most the dim's size)."""

    mode, dims = "circular", 3


class ZeroPad3d(ConstantPad3d):
    """Pad the last three dims with zeros. As PyTorch's (a ``ConstantPad3d``), any input
    with at least three dims is accepted."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def forward(self, input: Tensor) -> Tensor:
        if self._bad_element is not None:  # PyTorch's parser, when called
            self._refuse_element()
        return pad(input, self.padding, "constant", 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"
