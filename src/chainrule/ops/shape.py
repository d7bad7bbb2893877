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


view = reshape


def view_as(x: Tensor, other: Tensor) -> Tensor:
    return reshape(x, other.shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return reshape(x, (1,))
    s = start_dim % x.ndim
    e = end_dim % x.ndim
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


def movedim(x: Tensor, source: int, destination: int) -> Tensor:
    axes = list(range(x.ndim))
    s = axes.pop(source % x.ndim)
    axes.insert(destination % x.ndim, s)
    return permute(x, tuple(axes))


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
    n = x.shape[norm_dim(dim, x.ndim, "chunk")[0]]
    size = -(-n // chunks)
    return split(x, max(size, 1), dim)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    d = norm_dim(dim, x.ndim, "unbind")[0]
    return tuple(x[(slice(None),) * d + (i,)] for i in range(x.shape[d]))


class Flip(Function):
    raw = True
    is_view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return get_array_module(x).flip(x, axis=dims)

    @staticmethod
    def backward(ctx, grad):
        return flip(grad, ctx.dims), None

    @staticmethod
    def jvp(ctx, t, _):
        return get_array_module(t).flip(t, axis=ctx.dims)


def flip(x: Tensor, *dims: Any) -> Tensor:
    """Reverse the order of elements along ``dims`` (``flip(x, (0, 1))`` or ``x.flip(0, 1)``)."""
    dims = norm_dim(dims[0] if len(dims) == 1 else dims, x.ndim, "flip")
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
    return Roll.apply(x, shifts, dims)


class Pad(Function):
    raw = True

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.widths = widths
        xp = get_array_module(x)
        return xp.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        idx = tuple(slice(lo, grad.shape[i] - hi) for i, (lo, hi) in enumerate(ctx.widths))
        return grad[idx], None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return get_array_module(t).pad(t, ctx.widths, mode="constant", constant_values=0)


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad with PyTorch's convention: ``pad`` lists (before, after) pairs from the LAST dim.

    Negative entries crop. Only ``mode='constant'`` is differentiable here; 'reflect' and
    'replicate' are available for forward use on constant tensors.
    """
    pad = list(pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of entries, at most 2*{x.ndim}, got "
                         f"{len(pad)}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        crop = tuple(slice(max(-lo, 0), x.shape[i] - max(-hi, 0))
                     for i, (lo, hi) in enumerate(widths))
        x = x[crop]
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if mode != "constant":
        if x.requires_grad:
            raise NotImplementedError(f"pad: mode {mode!r} is not differentiable; use "
                                      "mode='constant'")
        np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}.get(mode)
        if np_mode is None:
            raise ValueError(f"pad: unknown mode {mode!r}; valid: constant, reflect, "
                             "replicate, circular")
        return Tensor._make(get_array_module(x.data).pad(x.data, widths, mode=np_mode),
                            False, None, 0)
    return Pad.apply(x, tuple(widths), value)


def repeat(x: Tensor, *sizes: Any) -> Tensor:
    """Tile the tensor ``sizes[i]`` times along dim i (PyTorch's ``Tensor.repeat``)."""
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: the number of repeats ({len(sizes)}) can not be smaller "
                         f"than the tensor's dims ({x.ndim})")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    inter = []
    expanded = []
    for r, s in zip(sizes, shape):
        inter += [1, s]
        expanded += [r, s]
    y = broadcast_to(reshape(x, tuple(inter)), tuple(expanded))
    return reshape(y, tuple(r * s for r, s in zip(sizes, shape)))


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
    if x.data.flags.c_contiguous:
        return x
    return Contiguous.apply(x)
