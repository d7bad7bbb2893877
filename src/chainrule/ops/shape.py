"""Shape ops: views (reshape, permute, expand), joins and splits, flips, rolls and padding.

Where NumPy returns a view these ops do too (no copies), and the output shares the
input's version counter so in-place changes through a view are seen by autograd.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._util import as_tensor, norm_dim
from .padding import Pad, pad  # noqa: F401  (re-exported: ops.shape.pad)


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


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    shape = tuple(int(s) for s in shape)
    xs = x.shape
    if xs == shape:
        return x
    lead = len(shape) - len(xs)
    ok = lead >= 0 and all(a == 1 or a == b for a, b in zip(xs, shape[lead:]))
    if not ok:
        raise ValueError(
            f"broadcast_to/expand: cannot expand shape {x.shape} to {shape}; each dimension "
            "must match or be 1 in the input"
        )
    return BroadcastTo.apply(x, shape)


def expand(x: Tensor, *sizes: Any) -> Tensor:
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                         f"tensor's dims ({x.ndim}); got shape {x.shape}")
    for i, s in enumerate(sizes):
        if s < 0 and not (s == -1 and i >= lead):
            raise ValueError(f"expand: the expanded size {s} is not allowed in a leading, "
                             f"non-existing dimension {i} (sizes {sizes}, tensor shape "
                             f"{x.shape}); sizes must be >= 0, or -1 for an existing dim")
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return broadcast_to(x, other.shape)


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
    size = math.prod(in_shape)
    if shape.count(-1) > 1:
        raise ValueError(f"{op}: only one dimension can be -1, got {shape}")
    if -1 in shape:
        rest = math.prod(s for s in shape if s != -1)
        if rest == 0 or size % rest:
            raise ValueError(f"{op}: shape {shape} is invalid for input of shape {in_shape} "
                             f"(size {size})")
        shape = tuple(size // rest if s == -1 else s for s in shape)
    if math.prod(shape) != size or any(s < 0 for s in shape):
        raise ValueError(
            f"{op}: shape {shape} is invalid for input of shape {in_shape} with {size} elements"
        )
    return shape


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """Same data, new shape (a view whenever NumPy can make one)."""
    shape = _shape_arg(shape)
    if shape == x.shape:
        return x if not x.requires_grad else Reshape.apply(x, shape)
    return Reshape.apply(x, _resolve_shape("reshape", x.shape, shape))


def view(x: Tensor, *shape: Any) -> Tensor:
    """Same data, new shape, always sharing memory with ``x`` (PyTorch's ``Tensor.view``).

    Unlike ``reshape`` this never copies: when the strides of ``x`` cannot express the new
    shape (e.g. a transposed tensor flattened) it raises, so writes through the view always
    reach the base tensor.
    """
    if len(shape) == 1 and _is_dtype(shape[0]):
        return _view_dtype(x, shape[0])
    shape = _resolve_shape("view", x.shape, _shape_arg(shape))
    if shape == x.shape:
        return x if not x.requires_grad else Reshape.apply(x, shape)
    xp = get_array_module(x._data)
    try:
        xp.reshape(x._data, shape, copy=False)
    except ValueError:
        raise RuntimeError(
            f"view: view size {shape} is not compatible with input tensor's size {x.shape} and "
            f"stride {tuple(st // max(x._data.itemsize, 1) for st in x._data.strides)} (at least "
            "one dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        ) from None
    return Reshape.apply(x, shape)


def _is_dtype(obj: Any) -> bool:
    return isinstance(obj, (np.dtype, type, str)) and not isinstance(obj, (tuple, list))


def _view_dtype(x: Tensor, dtype: Any) -> Tensor:
    """``view(dtype)``: reinterpret the bytes (same memory); not differentiable, as PyTorch."""
    from .. import dtypes

    dt = dtypes.as_dtype(dtype)
    if x.requires_grad and dt != x.dtype:
        raise RuntimeError(f"view: viewing a tensor that requires grad as dtype {dt} (from "
                           f"{x.dtype}) is not differentiable; detach() it first")
    try:
        arr = x._data.view(dt)
    except ValueError as err:
        raise RuntimeError(f"view: cannot view a tensor of shape {x.shape} and dtype "
                           f"{x.dtype} as {dt}: {err}") from None
    out = Tensor._make(arr, False, None, 0)
    out._vc = x._vc
    return out


def view_as(x: Tensor, other: Tensor) -> Tensor:
    return view(x, other.shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    s = norm_dim(start_dim, x.ndim, "flatten")[0] if x.ndim else 0
    e = norm_dim(end_dim, x.ndim, "flatten")[0] if x.ndim else 0
    if x.ndim == 0:
        return reshape(x, (1,))
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:]
    return reshape(x, shape)


def unflatten(x: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    d = dim % x.ndim
    sizes = _resolve_shape("unflatten", (x.shape[d],), tuple(sizes))
    return reshape(x, x.shape[:d] + sizes + x.shape[d + 1:])


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    dims = norm_dim(dim, x.ndim, "squeeze")
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    nd = x.ndim + 1
    if not -nd <= dim < nd:
        raise IndexError(f"unsqueeze: dim {dim} out of range for a tensor with {x.ndim} dims "
                         f"(valid: {-nd} to {nd - 1})")
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


def permute(x: Tensor, *dims: Any) -> Tensor:
    dims = _shape_arg(dims)
    for d in dims if len(dims) == x.ndim else ():
        norm_dim(d, x.ndim, "permute")  # an out-of-range dim -> IndexError (as PyTorch)
    if len(dims) != x.ndim or sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of the {x.ndim} dims of "
                         f"a tensor of shape {x.shape}")
    return Permute.apply(x, tuple(d % x.ndim for d in dims))


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    axes = list(range(x.ndim))
    d0, d1 = norm_dim(dim0, x.ndim, "transpose")[0], norm_dim(dim1, x.ndim, "transpose")[0]
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(x, tuple(axes))


swapaxes = transpose


def t(x: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dims (PyTorch's ``.t()`` / ``.T``)."""
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor with <= 2 dims, got shape {x.shape}; "
                         "use .permute or .mT")
    return x if x.ndim < 2 else transpose(x, 0, 1)


def movedim(x: Tensor, source: Any, destination: Any) -> Tensor:
    """Move dims ``source`` to positions ``destination`` (ints or equal-length sequences)."""
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    nd = x.ndim
    for d in src + dst:
        if not -max(nd, 1) <= d < max(nd, 1):
            raise IndexError(f"movedim: Dimension out of range (expected to be in range of "
                             f"[{-max(nd, 1)}, {max(nd, 1) - 1}], but got {d})")
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


class Cat(Function):
    raw = True

    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.sizes = [a.shape[dim] for a in arrays]
        ctx.dim = dim
        return get_array_module(*arrays).concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        out, start = [], 0
        idx = [slice(None)] * grad.ndim
        for s in ctx.sizes:
            idx[ctx.dim] = slice(start, start + s)
            out.append(grad[tuple(idx)])
            start += s
        return tuple(out)

    @staticmethod
    def jvp(ctx, *tangents):
        xp = get_array_module(ctx.out)
        ts = [xp.zeros(p.shape, ctx.out.dtype) if t is None else t
              for p, t in zip(ctx.primals, tangents)]
        return xp.concatenate(ts, axis=ctx.dim)


def cat(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    for i, t_ in enumerate(tensors):
        if t_.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated; use cr.stack, or unsqueeze it first")
    ref = tensors[0]
    d = norm_dim(dim, ref.ndim, "cat")[0]
    for i, t_ in enumerate(tensors):
        if t_.ndim != ref.ndim or any(a != b for j, (a, b) in enumerate(zip(t_.shape, ref.shape))
                                      if j != d):
            raise ValueError(
                f"cat: sizes must match except in dimension {d}; tensor 0 has shape "
                f"{ref.shape} but tensor {i} has shape {t_.shape}"
            )
    from .. import dtypes

    target = ref.dtype
    for t_ in tensors[1:]:
        target = dtypes.promote_types(target, t_.dtype)
    tensors = [t_ if t_.dtype == target else t_.to(target) for t_ in tensors]
    return Cat.apply(*tensors, dim=d)


concatenate = cat


def stack(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new dimension."""
    tensors = [as_tensor(t_) for t_ in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    for i, t_ in enumerate(tensors):
        if t_.shape != tensors[0].shape:
            raise ValueError(f"stack: all tensors must have the same shape; tensor 0 has "
                             f"{tensors[0].shape} but tensor {i} has {t_.shape}")
    nd = tensors[0].ndim + 1
    if not -nd <= dim < nd:
        raise IndexError(f"stack: dim {dim} is out of range for stacking tensors of shape "
                         f"{tensors[0].shape} (valid: {-nd} to {nd - 1})")
    return cat([unsqueeze(t_, dim) for t_ in tensors], dim)


def split(x: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    d = norm_dim(dim, x.ndim, "split")[0]
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        s = split_size_or_sections
        if s <= 0:
            raise ValueError(f"split: split_size must be positive, got {s}")
        sizes = [min(s, n - i) for i in range(0, n, s)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} must sum to the size {n} of dim {d}")
    out, start = [], 0
    for s in sizes:
        idx = (slice(None),) * d + (slice(start, start + s),)
        out.append(x[idx])
        start += s
    return tuple(out)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    if not isinstance(chunks, (int, np.integer)) or isinstance(chunks, bool) or chunks <= 0:
        raise RuntimeError(f"chunk: expects `chunks` to be an integer greater than 0, got "
                           f"{chunks!r}")
    n = x.shape[norm_dim(dim, x.ndim, "chunk")[0]]
    size = -(-n // chunks)
    return split(x, max(size, 1), dim)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    d = norm_dim(dim, x.ndim, "unbind")[0]
    return tuple(x[(slice(None),) * d + (i,)] for i in range(x.shape[d]))


class Flip(Function):
    """Reversed copy (PyTorch's flip copies: writes into it must not reach the input)."""

    raw = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return get_array_module(x).flip(x, axis=dims).copy()

    @staticmethod
    def backward(ctx, grad):
        return flip(grad, ctx.dims), None

    @staticmethod
    def jvp(ctx, t, _):
        return get_array_module(t).flip(t, axis=ctx.dims).copy()


def flip(x: Tensor, *dims: Any, **kwargs: Any) -> Tensor:
    """Reverse the order of elements along ``dims`` (``flip(x, (0, 1))``, ``x.flip(0, 1)`` or
    ``flip(x, dims=(0,))``)."""
    if set(kwargs) - {"dims"}:
        raise TypeError(f"flip() got unexpected keyword arguments {sorted(set(kwargs) - {'dims'})}")
    if "dims" in kwargs:
        if dims:
            raise TypeError("flip() got multiple values for argument 'dims'")
        dims = (kwargs["dims"],)
    if not dims:
        raise TypeError("flip() missing 1 required positional argument: 'dims'")
    dims = norm_dim(dims[0] if len(dims) == 1 else dims, x.ndim, "flip")
    if x.ndim == 0:
        return x * 1 if x.requires_grad else x
    return Flip.apply(x, dims)


class Roll(Function):
    raw = True

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.args = (shifts, dims)
        return get_array_module(x).roll(x, shifts, axis=dims)

    @staticmethod
    def backward(ctx, grad):
        shifts, dims = ctx.args
        neg = tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts
        return roll(grad, neg, dims), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return get_array_module(t).roll(t, ctx.primals[1], axis=ctx.primals[2])


def roll(x: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    if isinstance(shifts, list):
        shifts = tuple(shifts)
    if isinstance(dims, list):
        dims = tuple(dims)
    if dims is not None:
        ns = len(shifts) if isinstance(shifts, tuple) else 1
        nd = len(dims) if isinstance(dims, tuple) else 1
        if ns != nd:
            raise RuntimeError(f"roll: shifts and dimensions must align; got {ns} shifts "
                               f"{shifts} and {nd} dims {dims}")
        if isinstance(dims, tuple):
            for d in dims:
                norm_dim(d, x.ndim, "roll")
            dims = tuple(d % max(x.ndim, 1) for d in dims)
        else:
            dims = norm_dim(dims, x.ndim, "roll")[0]
    elif isinstance(shifts, tuple) and len(shifts) != 1:
        raise RuntimeError(f"roll: without dims, shifts must be a single int, got {shifts}")
    return Roll.apply(x, shifts, dims)


def repeat(x: Tensor, *sizes: Any) -> Tensor:
    """Tile the tensor ``sizes[i]`` times along dim i (PyTorch's ``Tensor.repeat``)."""
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: the number of repeats ({len(sizes)}) can not be smaller "
                         f"than the tensor's dims ({x.ndim})")
    if any(r < 0 for r in sizes):
        raise RuntimeError(f"repeat: repeats must be non-negative, got {sizes} (it would create "
                           "a tensor with a negative dimension)")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    inter = []
    expanded = []
    for r, s in zip(sizes, shape):
        inter += [1, s]
        expanded += [r, s]
    y = broadcast_to(reshape(x, tuple(inter)), tuple(expanded))
    y = reshape(y, tuple(r * s for r, s in zip(sizes, shape)))
    if get_array_module(y._data).may_share_memory(y._data, x._data):
        y = Copy.apply(y)  # repeat always copies (all-ones repeats would otherwise alias x)
    return y


class Copy(Function):
    """A fresh copy of the data; the gradient passes through unchanged."""

    raw = True

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def jvp(ctx, t):
        return t


def tile(x: Tensor, dims: Sequence[int]) -> Tensor:
    dims = tuple(dims)
    if len(dims) < x.ndim:
        dims = (1,) * (x.ndim - len(dims)) + dims
    return repeat(x, dims)


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


def contiguous(x: Tensor) -> Tensor:
    """The tensor itself if C-contiguous, else a C-ordered (recorded) copy."""
    if x._data.flags.c_contiguous:
        return x
    return Contiguous.apply(x)
