"""Padding layers (PyTorch's ``nn.ConstantPad2d``, ``nn.ReflectionPad2d``, ...): thin modules
over ``F.pad`` that fix the mode and the number of padded dims."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...ops.shape import pad
from ..functional._arg_types import as_float
from ..module import Module

__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ZeroPad1d",
]


def _bad_pad_element(padding: tuple) -> int | None:
    """The position of the first element PyTorch's int-list parser refuses, or None: the
    first must be an int (not a bool), the others an int, a bool or a 0-d integer tensor."""
    for i, p in enumerate(padding):
        if i == 0 and isinstance(p, (bool, np.bool_)):
            return 0
        if isinstance(p, (int, np.integer)) and not isinstance(p, np.bool_):
            continue
        if isinstance(p, Tensor) and p.ndim == 0 and p.dtype.kind in "biu" and i > 0:
            continue
        return i
    return None


class _PadNd(Module):
    mode = "constant"
    dims = 1
    _bad_element: int | None = None  # (modules pickled before it was kept read None)

    def __init__(self, padding: Any, value: float = 0.0) -> None:
        super().__init__()
        n = 2 * self.dims
        if isinstance(padding, int):
            padding = (padding,) * n
        padding = tuple(padding)
        # PyTorch keeps elements of another type (a bool, a float) and its F.pad refuses
        # them when called (TypeError); an empty padding pads nothing
        self._bad_element = _bad_pad_element(padding)
        if len(padding) not in (0, n):
            raise ValueError(
                f"{type(self).__name__}: padding must be an int or {n} ints "
                f"(left, right{', top, bottom' if self.dims > 1 else ''}"
                f"{', front, back' if self.dims > 2 else ''}), got {padding!r}"
            )
        self.padding, self.value = padding, value  # kept as given: PyTorch prints value=0

    def forward(self, input: Tensor) -> Tensor:
        if self._bad_element is not None:  # PyTorch's parser, when called
            self._refuse_element()
        if self.mode == "constant":
            if type(self.value) is not float and self.value is not None:  # a real (or None)
                as_float("pad", "value", self.value, 4)
            return pad(input, self.padding, "constant", self.value)
        # reflect/replicate leave the rank check to F.pad, as PyTorch's layers: too few dims
        # is a RuntimeError, a rank the mode cannot pad a NotImplementedError; the circular
        # layers check it themselves (PyTorch's ValueError)
        if self.mode == "circular" and input.ndim not in (self.dims + 1, self.dims + 2):
            raise ValueError(
                f"{type(self).__name__}: expected a {self.dims + 1}-d (unbatched) "
                f"or {self.dims + 2}-d (batched) input, got shape "
                f"{tuple(input.shape)}"
            )
        return pad(input, self.padding, self.mode)

    def _refuse_element(self) -> None:
        """PyTorch's TypeError for a padding element that is not an int."""
        i = self._bad_element
        raise TypeError(
            f"pad(): argument 'pad' (position 2) must be tuple of ints, but found element of "
            f"type {type(self.padding[i]).__name__} at pos {i}"
        )

    def extra_repr(self) -> str:
        if self.mode == "constant":
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pad the last dim with ``value``."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(_PadNd):
    """Pad the last two dims with ``value``."""

    dims = 2

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad3d(_PadNd):
    """Pad the last three dims with ``value``."""

    dims = 3

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, value)


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim with zeros (a ``ConstantPad1d``, as PyTorch's)."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Pad the last dim with its reflection (the edge not repeated)."""

    mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Pad the last two dims with their reflection."""

    mode, dims = "reflect", 2


class ReplicationPad1d(_PadNd):
    """Pad the last dim by repeating the edge value."""

    mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Pad the last two dims by repeating the edge values."""

    mode, dims = "replicate", 2


class CircularPad1d(_PadNd):
    """Pad the last dim by wrapping around."""

    mode = "circular"


class CircularPad2d(_PadNd):
    """Pad the last two dims by wrapping around."""

    mode, dims = "circular", 2
