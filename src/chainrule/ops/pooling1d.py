"""1-d max and average pooling over (N, C, L): the 2-d ops of :mod:`.pooling` on a height-1
image, with PyTorch's 1-d argument rules (an int or a one-element sequence; an empty stride
is the kernel size) and errors named in 1-d terms."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..qtypes import scalar_type_name
from ._util import ShapeError
from .overload_errors import as_with_indices
from .pooling import avg_pool2d, max_pool2d
from .pooling_args import check_flag, size_ints

__all__ = ["avg_pool1d", "max_pool1d"]


def _to_2d(fn_name: str, input: Tensor) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn_name}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim not in (2, 3):  # PyTorch's RuntimeError and message
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument "
            f"#1 'self' (while checking arguments for {fn_name}): {fn_name} takes (N, C, L) or "
            f"(C, L), got shape {tuple(input.shape)}"
        )
    return input.unsqueeze(-2)


def _one(v: Any, name: str, op: str) -> int:
    """A 1-d pooling's argument: an int or a sequence of exactly one int, as PyTorch (whose
    RuntimeError a ShapeError is); a longer sequence was cut to its first entry before."""
    t = size_ints(v, name, op)  # (PyTorch's TypeError for a float or a string)
    if isinstance(v, (int, np.integer)) or getattr(v, "ndim", None) == 0:  # int, 0-d tensor
        return t[0]
    if len(t) != 1:
        raise ShapeError(
            f"{op}() {name} must be an int, list of ints or tuple of ints of size 1 "
            f"but got size {len(t)}"
        )
    return t[0]


def _stride1(stride: Any, op: str) -> tuple | None:
    """A 1-d pooling's stride as the 2-d op's: None or empty is the kernel size (PyTorch)."""
    if stride is None:
        return None
    if isinstance(stride, (tuple, list)) and not stride:
        return None
    return (1, _one(stride, "stride", op))


def _check_1d(op: str, k: int, s: tuple | None, p: int, d: int) -> None:
    """PyTorch's checks of a 1-d pooling's numbers, named in 1-d terms (the 2-d op's would
    print the (1, k) pairs it runs as)."""
    for name, v in (("kernel_size", k), ("stride", k if s is None else s[1]), ("dilation", d)):
        if v < 1:
            raise ShapeError(f"{op}() {name} must be greater than zero, but got {v}")
    if p < 0:
        raise ShapeError(f"{op}() padding must be non-negative, but got {p}")
    if p > k // 2:
        raise ShapeError(
            f"{op}() padding should be at most half of kernel size, but got padding={p} "
            f"and kernel_size={k}"
        )


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """1-D max pooling over (N, C, L); see :func:`max_pool2d`."""
    op = "max_pool1d"
    _check_max1d(input, return_indices)
    x = _to_2d(op, input)
    try:
        s = _stride1(stride, op)
        k, p = _one(kernel_size, "kernel_size", op), _one(padding, "padding", op)
        d = _one(dilation, "dilation", op)
        check_flag(op, "ceil_mode", ceil_mode)
    except TypeError as err:
        if return_indices is True:
            as_with_indices(err, op)
        raise
    _check_1d(op, k, s, p, d)
    with _named_1d("max_pool1d", input, k, p, d):
        out = max_pool2d(x, (1, k), s, (0, p), (1, d), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def _check_max1d(input: Any, return_indices: bool) -> None:
    """PyTorch's checks of max_pool1d's input: only the batch may be empty, and no integers
    (but with indices, which run the 2-d kernel)."""
    if not isinstance(input, Tensor) or input.ndim not in (2, 3) or input.is_quantized:
        return  # (refused by _to_2d; quantized: the 2-d op's path)
    if 0 in tuple(input.shape)[input.ndim - 2 :]:
        raise ShapeError(
            "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size "
            f"for input, but got:{list(input.shape)}"
        )
    if input._data.dtype.kind in "iub" and not return_indices:
        torch_name = scalar_type_name(input._data.dtype)
        raise NotImplementedError(f"\"max_pool1d_impl\" not implemented for '{torch_name}'")


def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-D average pooling over (N, C, L); see :func:`avg_pool2d`."""
    op = "avg_pool1d"
    x = _to_2d(op, input)
    s = _stride1(stride, op)
    k, p = _one(kernel_size, "kernel_size", op), _one(padding, "padding", op)
    check_flag(op, "ceil_mode", ceil_mode)
    check_flag(op, "count_include_pad", count_include_pad)
    _check_1d(op, k, s, p, 1)
    with _named_1d("avg_pool1d", input, k, p, 1):
        s = (1, k) if s is None else s  # PyTorch's AvgPool2DBackward0 shows (1, k) then
        return avg_pool2d(x, (1, k), s, (0, p), ceil_mode, count_include_pad).squeeze(-2)


@contextlib.contextmanager
def _named_1d(op: str, input: Tensor, k: int, p: int, d: int) -> Iterator[None]:
    """A 1-d pooling computed as the 2-d one on a height-1 image: a too-small input's error
    names the 1-d op and its (N, C, L) geometry, not the 2-d op it ran as."""
    try:
        yield
    except ShapeError as e:
        if "batch size" in str(e):  # PyTorch's message (on the (N, C, 1, L) view), named 1-d
            raise ShapeError(op + str(e)[str(e).index(":") :]) from None
        if "too small" not in str(e):
            raise
        raise ShapeError(
            f"{op}: input {tuple(input.shape)} is too small for kernel_size={k}, "
            f"padding={p}, dilation={d}: the output length would be < 1"
        ) from None
