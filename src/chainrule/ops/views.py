"""Views and broadcasting: reshape, view, flatten, squeeze, permute, transpose, movedim,
expand / broadcast_to, and ``sum_to`` (the engine's un-broadcasting).

Where NumPy returns a view these ops do too (no copies), and the output shares the
input's version counter so in-place changes through a view are seen by autograd.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.function import Function
from ..autograd.shared_memory import is_shared
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._util import NAMED_ERRORS, ShapeError, lead_with, norm_dim
from .binding import tensor_method

__all__ = [
    "BroadcastTo",
    "Permute",
    "Reshape",
    "SumTo",
    "broadcast_to",
    "expand",
    "expand_as",
    "flatten",
    "moveaxis",
    "movedim",
    "permute",
    "ravel",
    "reshape",
    "reshape_as",
    "squeeze",
    "sum_to",
    "sum_to_size",
    "swapaxes",
    "swapdims",
    "t",
    "transpose",
    "unflatten",
    "unsqueeze",
    "view",
    "view_as",
]


def _shape_arg(shape: tuple) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(s) for s in shape)


class SumTo(Function):
    """Sum a broadcast gradient back to ``shape`` (the engine's un-broadcasting)."""

    raw = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1
        )
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return broadcast_to(grad, ctx.in_shape), None

    @staticmethod
    def jvp(ctx, t, _):
        return SumTo.forward(ctx, t, ctx.primals[1])


def sum_to(x: Tensor, shape: tuple) -> Tensor:
    return SumTo.apply(x, tuple(shape))


class BroadcastTo(Function):
    raw = True
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        return get_array_module(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums it back to the input's shape

    @staticmethod
    def jvp(ctx, t, _):
        return get_array_module(t).broadcast_to(t, ctx.primals[1])


@tensor_method
def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    shape = tuple(int(s) for s in shape)
    xs = x.shape
    if xs == shape:
        return x
    lead = len(shape) - len(xs)
    ok = lead >= 0 and all(a == 1 or a == b for a, b in zip(xs, shape[lead:]))
    if not ok:
        raise ShapeError(
            f"broadcast_to/expand: cannot expand shape {tuple(x.shape)} to {shape}; each dimension "
            "must match or be 1 in the input"
        )
    return BroadcastTo.apply(x, shape)


@tensor_method
def expand(x: Tensor, *sizes: Any) -> Tensor:
    if not sizes:
        raise TypeError('expand() missing 1 required positional arguments: "size"')
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(
            f"expand: the number of sizes ({len(sizes)}) must be at least the "
            f"tensor's dims ({x.ndim}); got shape {tuple(x.shape)}"
        )
    for i, s in enumerate(sizes):
        if s < 0 and not (s == -1 and i >= lead):
            raise ShapeError(
                f"expand: the expanded size {s} is not allowed in a leading, "
                f"non-existing dimension {i} (sizes {sizes}, tensor shape "
                f"{tuple(x.shape)}); sizes must be >= 0, or -1 for an existing dim"
            )
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    if shape == x.shape:  # still a new view (own grad_fn), as in PyTorch, not x itself
        return BroadcastTo.apply(x, shape)
    return broadcast_to(x, shape)


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return expand(x, tuple(other.shape))  # a new view even when the shapes already agree


class Reshape(Function):
    raw = True
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return reshape(grad, ctx.in_shape), None

    @staticmethod
    def jvp(ctx, t, _):
        return t.reshape(ctx.out.shape)


def _resolve_shape(op: str, in_shape: tuple, shape: tuple) -> tuple:
    in_shape = tuple(in_shape)  # a plain tuple in messages, whatever the caller passed
    size = math.prod(in_shape)
    if shape.count(-1) > 1:
        raise ShapeError(f"{op}: only one dimension can be -1, got {shape}")
    if -1 in shape:
        rest = math.prod(s for s in shape if s != -1)
        if rest == 0 or size % rest:
            raise ShapeError(
                f"{op}: shape {shape} is invalid for input of shape {in_shape} (size {size})"
            )
        shape = tuple(size // rest if s == -1 else s for s in shape)
    if math.prod(shape) != size or any(s < 0 for s in shape):
        raise ShapeError(
            f"{op}: shape {shape} is invalid for input of shape {in_shape} with {size} elements"
        )
    return shape


@tensor_method
def reshape(x: Tensor, *shape: Any) -> Tensor:
    """Same data, new shape (a view whenever NumPy can make one)."""
    if not shape:
        raise TypeError('reshape() missing 1 required positional arguments: "shape"')
    shape = _shape_arg(shape)
    if shape == x.shape:
        return x if not x.requires_grad else Reshape.apply(x, shape)
    return Reshape.apply(x, _resolve_shape("reshape", x.shape, shape))


@tensor_method
def view(x: Tensor, *shape: Any) -> Tensor:
    """Same data, new shape, always sharing memory with ``x`` (PyTorch's ``Tensor.view``).

    Unlike ``reshape`` this never copies: when the strides of ``x`` cannot express the new
    shape (e.g. a transposed tensor flattened) it raises, so writes through the view always
    reach the base tensor. One exception keeps PyTorch's programs working: an op result
    whose memory chainrule laid out otherwise than PyTorch would (a convolution's output,
    and what ReLU or pooling make of it: PyTorch's are contiguous) is laid out contiguously
    once, in place, and then viewed. That happens only for a tensor that is no view of
    another and whose memory the user cannot reach (``autograd/shared_memory.py``), so no
    alias can tell.
    """
    if not shape:
        raise TypeError("view() received no arguments; expected a shape or a dtype")
    if len(shape) == 1 and _is_dtype(shape[0]):
        return _view_dtype(x, shape[0])
    shape = _resolve_shape("view", x.shape, _shape_arg(shape))
    if shape == x.shape:
        return x if not x.requires_grad else Reshape.apply(x, shape)
    xp = get_array_module(x._data)
    try:
        xp.reshape(x._data, shape, copy=False)
    except ValueError:
        if x._view is None and not is_shared(x._data):
            x._data = xp.ascontiguousarray(x._data)  # same values, PyTorch's layout
            return Reshape.apply(x, shape)
        raise RuntimeError(
            f"view: view size {shape} is not compatible with input tensor's size {tuple(x.shape)} "
            "and "
            f"stride {tuple(st // max(x._data.itemsize, 1) for st in x._data.strides)} (at least "
            "one dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        ) from None
    return Reshape.apply(x, shape)


def _is_dtype(obj: Any) -> bool:
    return isinstance(obj, (np.dtype, type, str)) and not isinstance(obj, (tuple, list))


def _view_dtype(x: Tensor, dtype: Any) -> Tensor:
    """``view(dtype)``: reinterpret the bytes (same memory); not differentiable, as PyTorch."""
    dt = dtypes.as_dtype(dtype)
    if x.requires_grad and dt != x.dtype:
        raise RuntimeError(
            f"view: viewing a tensor that requires grad as dtype {dt} (from "
            f"{x.dtype}) is not differentiable; detach() it first"
        )
    try:
        arr = x._data.view(dt)
    except ValueError as err:
        raise RuntimeError(
            f"view: cannot view a tensor of shape {tuple(x.shape)} and dtype {x.dtype} as {dt}: "
            f"{err}"
        ) from None
    out = Tensor._make(arr, False, None, 0)
    out._vc = x._vc
    return out


def view_as(x: Tensor, other: Tensor) -> Tensor:
    return view(x, other.shape)


@tensor_method
def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    s = norm_dim(start_dim, x.ndim, "flatten")[0] if x.ndim else 0
    e = norm_dim(end_dim, x.ndim, "flatten")[0] if x.ndim else 0
    if x.ndim == 0:
        return reshape(x, (1,))
    if s > e:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:s] + (math.prod(x.shape[s : e + 1]),) + x.shape[e + 1 :]
    return reshape(x, shape)


@tensor_method
def unflatten(x: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    d = dim % x.ndim
    sizes = _resolve_shape("unflatten", (x.shape[d],), tuple(sizes))
    return reshape(x, x.shape[:d] + sizes + x.shape[d + 1 :])


@tensor_method(keywords=True)
def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    dims = norm_dim(dim, x.ndim, "squeeze")
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


@tensor_method(keywords=True)
def unsqueeze(x: Tensor, dim: int) -> Tensor:
    nd = x.ndim + 1
    if not -nd <= dim < nd:
        raise IndexError(
            f"unsqueeze: dim {dim} out of range for a tensor with {x.ndim} dims "
            f"(valid: {-nd} to {nd - 1})"
        )
    d = dim % nd
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


class Permute(Function):
    raw = True
    is_view = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, grad):
        return permute(grad, tuple(np.argsort(ctx.axes))), None

    @staticmethod
    def jvp(ctx, t, _):
        return t.transpose(ctx.axes)


@tensor_method
def permute(x: Tensor, *dims: Any) -> Tensor:
    if not dims:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
    dims = _shape_arg(dims)
    for d in dims if len(dims) == x.ndim else ():
        norm_dim(d, x.ndim, "permute")  # an out-of-range dim -> IndexError (as PyTorch)
    if len(dims) != x.ndim or sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
        raise ShapeError(
            f"permute: dims {dims} are not a permutation of the {x.ndim} dims of "
            f"a tensor of shape {tuple(x.shape)}"
        )
    return Permute.apply(x, tuple(d % x.ndim for d in dims))


@tensor_method
def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return Permute.apply(x, tuple(range(x.ndim)))  # a new view, as in PyTorch
    axes = list(range(x.ndim))
    d0, d1 = norm_dim(dim0, x.ndim, "transpose")[0], norm_dim(dim1, x.ndim, "transpose")[0]
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(x, tuple(axes))


swapaxes = transpose


@tensor_method
def t(x: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dims (PyTorch's ``.t()`` / ``.T``)."""
    if x.ndim > 2:
        raise ShapeError(
            f"t: expects a tensor with <= 2 dims, got shape {tuple(x.shape)}; use .permute or .mT"
        )
    return transpose(x, 0, -1)


@tensor_method
def movedim(x: Tensor, source: Any, destination: Any) -> Tensor:
    """Move dims ``source`` to positions ``destination`` (ints or equal-length sequences)."""
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} "
            f"dims) should contain the same number of dims as destination "
            f"({list(dst)} dims)"
        )
    nd = x.ndim
    for d in src + dst:
        if not -max(nd, 1) <= d < max(nd, 1):
            raise IndexError(
                f"movedim: Dimension out of range (expected to be in range of "
                f"[{-max(nd, 1)}, {max(nd, 1) - 1}], but got {d})"
            )
    src_n = [d % max(nd, 1) for d in src]
    dst_n = [d % max(nd, 1) for d in dst]
    for name, ds in (("source", src_n), ("destination", dst_n)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(ds)})")
    if nd == 0:
        return x
    order = [None] * nd
    for s_, d_ in zip(src_n, dst_n):
        order[d_] = s_
    rest = iter(d for d in range(nd) if d not in src_n)
    axes = tuple(o if o is not None else next(rest) for o in order)
    return permute(x, axes)


def reshape_as(x: Tensor, other: Tensor) -> Tensor:
    """``x`` reshaped to ``other``'s shape."""
    return reshape(x, tuple(other.shape))


def sum_to_size(x: Tensor, *size: Any) -> Tensor:
    """``x`` summed down to ``size`` (which must expand to ``x``'s shape)."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    shape = tuple(int(s) for s in shape)
    ok = len(shape) <= x.ndim and all(
        s == n or s == 1 for s, n in zip(shape[::-1], tuple(x.shape)[::-1])
    )
    if not ok:
        raise RuntimeError(
            f"sum_to_size: size {list(shape)} is not expandable to size {list(x.shape)}"
        )
    return sum_to(x, shape) if shape != tuple(x.shape) else x


@tensor_method
def moveaxis(x: Tensor, source: Any, destination: Any) -> Tensor:
    """NumPy's name for :func:`movedim`."""
    try:
        return movedim(x, source, destination)
    except NAMED_ERRORS as err:
        lead_with("moveaxis", err)
        raise


@tensor_method
def swapdims(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Another name for :func:`transpose` (a view with ``dim0`` and ``dim1`` swapped)."""
    try:
        return transpose(x, dim0, dim1)
    except NAMED_ERRORS as err:
        lead_with("swapdims", err)
        raise


@tensor_method
def ravel(x: Tensor) -> Tensor:
    """``x`` as 1-d (a view where the layout allows)."""
    return reshape(x, (-1,))
