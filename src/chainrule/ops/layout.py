"""Memory layout: ``contiguous`` (a C-ordered copy when needed) and the layout and type
queries ``is_contiguous``, ``stride``, ``data_ptr``, ``is_floating_point``, ``is_complex``,
``get_device``, ``nelement`` and ``ndimension``.

Strides are in elements, as PyTorch counts them (NumPy counts bytes).
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .binding import tensor_method

__all__ = [
    "Contiguous",
    "contiguous",
    "data_ptr",
    "get_device",
    "is_complex",
    "is_contiguous",
    "is_floating_point",
    "ndimension",
    "nelement",
    "stride",
]


class Contiguous(Function):
    """A C-ordered copy; the gradient passes through unchanged."""

    raw = True

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).ascontiguousarray(x)

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def jvp(ctx, t):
        return t


@tensor_method
def contiguous(x: Tensor) -> Tensor:
    """The tensor itself if C-contiguous, else a C-ordered (recorded) copy."""
    if x._data.flags.c_contiguous:
        return x
    return Contiguous.apply(x)


def is_contiguous(x: Tensor) -> bool:
    """Whether the elements lie in memory in C (row-major) order without gaps."""
    return bool(x._data.flags.c_contiguous)


def stride(x: Tensor, dim: int | None = None) -> tuple[int, ...] | int:
    """Strides in elements (PyTorch's convention), not bytes as NumPy's."""
    st = tuple(s // x._data.itemsize for s in x._data.strides)
    return st if dim is None else st[dim]


def data_ptr(x: Tensor) -> int:
    """The address of the tensor's first element."""
    if hasattr(x._data, "ctypes"):
        return int(x._data.ctypes.data)
    return int(x._data.data.ptr)  # pragma: no cover - cupy


def is_floating_point(x: Tensor) -> bool:
    """Whether the dtype is a floating-point type (float16/32/64)."""
    return x._data.dtype.kind == "f"


def nelement(x: Tensor) -> int:
    """The number of elements (``numel``)."""
    return x.numel()


def ndimension(x: Tensor) -> int:
    """The number of dims (``dim``)."""
    return x.ndim


@tensor_method
def get_device(x: Tensor) -> int:
    """The CUDA device index of ``x``, or -1 for a CPU tensor (PyTorch's convention)."""
    dev = x.device
    if dev.type == "cpu":
        return -1
    return dev.index if dev.index is not None else 0


@tensor_method
def is_complex(x: Tensor) -> bool:
    """Whether ``x`` has a complex dtype."""
    return x._data.dtype.kind == "c"
