"""3-D average pooling as one recorded op, PyTorch's ``AvgPool3DBackward0`` (its gradient
``AvgPool3DBackwardBackward0``, whose gradient is average pooling again).

A box window separates: the window sum is a sum of k strided slices along W, then along H,
then along D (k_d + k_h + k_w passes over shrinking arrays instead of k_d * k_h * k_w over
the input), on the input zero-padded once (padding, and the part of a ceil_mode window past
it). The result is divided by PyTorch's divisor (``divisor_override``, or the product of the
per-axis window counts, with or without the padding). The gradient is the transpose: g /
divisor spread back along D, then H, then W (for windows that tile the input, one broadcast
write). Both ops are linear, so forward mode is the op itself on the tangent.

Inputs are (N, C, D, H, W) or unbatched (C, D, H, W) (run as N = 1 inside the op, one node
as in PyTorch). float16 sums in float32 and rounds once; integers divide toward zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function, Node
from ..autograd.saved_fields import given_value, input_tensor, tensor_field
from ..backend import get_array_module
from ..meta import kernels as meta_kernels
from ..meta.array import MetaArray, meta_empty
from ._util import ShapeError

__all__ = ["AvgPool3dFn", "avg_pool3d_divisor"]


def _padded_len(size: int, k: int, s: int, p: int, o: int) -> int:
    return max((o - 1) * s + k, size + p)


def _tiles(size: int, k: int, s: int, p: int, o: int) -> bool:
    """Windows along this axis are disjoint, unpadded and inside the input."""
    return k == s and p == 0 and o * s <= size


def _take(a: Any, axis: int, start: int, step: int, count: int) -> Any:
    idx = [slice(None)] * a.ndim
    idx[axis] = slice(start, start + step * (count - 1) + 1, step)
    return a[tuple(idx)]


def _box_sums(x: Any, P: tuple, acc: Any) -> Any:
    """Window sums of x (N, C, D, H, W) in dtype ``acc`` (zero padding)."""
    k, s, p, out = P
    xp = get_array_module(x)
    orig = x
    sizes = x.shape[2:]
    full = tuple(_padded_len(*a) for a in zip(sizes, k, s, p, out))
    if any(p) or full != sizes:
        buf = xp.zeros(x.shape[:2] + full, dtype=acc)
        inner = tuple(slice(pp, pp + n) for pp, n in zip(p, sizes))
        buf[(slice(None), slice(None)) + inner] = x
        x = buf
    elif x.dtype != acc:
        x = x.astype(acc)
    for axis in (4, 3, 2):  # W first: each pass shrinks the array the next one reads
        kk, ss, oo = k[axis - 2], s[axis - 2], out[axis - 2]
        if kk == 1 and ss == 1 and x.shape[axis] == oo:
            continue
        total = _take(x, axis, 0, ss, oo).copy()
        for i in range(1, kk):
            total += _take(x, axis, i, ss, oo)
        x = total
    return x.copy() if x is orig else x  # (1x1x1 windows: the caller writes into it)


def _spread(g: Any, x_shape: tuple, P: tuple) -> Any:
    """The transpose of :func:`_box_sums`: each g spread over its window (N, C, D, H, W)."""
    if type(g) is MetaArray:  # shapes only: no buffer of the input's size
        return meta_kernels.window_scatter(g, x_shape)
    k, s, p, out = P
    xp = get_array_module(g)
    sizes = tuple(x_shape[2:])
    if all(_tiles(*a) for a in zip(sizes, k, s, p, out)):
        n, c = x_shape[:2]
        covered = tuple(o * kk for o, kk in zip(out, k))
        if covered == sizes:  # one broadcast write into the (contiguous) result's boxes
            buf = xp.empty((n, c) + sizes, dtype=g.dtype)
            boxes = buf.reshape(n, c, out[0], k[0], out[1], k[1], out[2], k[2])
            boxes[...] = g[:, :, :, None, :, None, :, None]
            return buf
        buf = xp.zeros((n, c) + sizes, dtype=g.dtype)  # a border outside every window
        view = buf[:, :, : covered[0], : covered[1], : covered[2]]
        for i in range(k[0]):
            for j in range(k[1]):
                for m in range(k[2]):
                    view[:, :, i :: k[0], j :: k[1], m :: k[2]] = g
        return buf
    full = tuple(_padded_len(*a) for a in zip(sizes, k, s, p, out))
    cur = g
    for axis in (2, 3, 4):
        kk, ss, oo = k[axis - 2], s[axis - 2], out[axis - 2]
        if kk == 1 and ss == 1 and full[axis - 2] == oo:
            continue
        shape = list(cur.shape)
        shape[axis] = full[axis - 2]
        buf = xp.zeros(tuple(shape), dtype=g.dtype)
        for i in range(kk):
            _take(buf, axis, i, ss, oo)[...] += cur
        cur = buf
    inner = tuple(slice(pp, pp + n) for pp, n in zip(p, sizes))
    return cur[(slice(None), slice(None)) + inner]


def avg_pool3d_divisor(
    sizes: tuple, P: tuple, count_include_pad: bool, divisor_override, like: Any = None
) -> Any:
    """PyTorch's divisor per output cell (Do, Ho, Wo), float64; for a meta input (``like``,
    its raw array) a meta array of that shape: no host constant of the output's size."""
    k, s, p, out = P
    if type(like) is MetaArray:
        return meta_empty(tuple(out), np.float64)
    if divisor_override is not None:
        return np.full(out, float(int(divisor_override)))
    counts = []
    for size, o, kk, ss, pp in zip(sizes, out, k, s, p):
        start = np.arange(o) * ss - pp
        end = np.minimum(start + kk, size + pp)
        if count_include_pad:
            counts.append(end - start)
        else:
            counts.append(np.minimum(end, size) - np.maximum(start, 0))
    return np.einsum("i,j,k->ijk", *[cc.astype(np.float64) for cc in counts])


def _compute_dtype(dtype: Any) -> Any:
    return np.dtype(np.float32) if dtype.char == "e" else dtype


def _divisor_in(xp: Any, div: Any, dtype: Any) -> Any:
    d = div.astype(dtype)
    return d if xp is np else xp.asarray(d)


def _as5(a: Any) -> Any:
    return a[None] if a.ndim == 4 else a


class AvgPool3dFn(Function):
    """y = window sum / divisor (see the module docstring); ``div`` is the float64
    (Do, Ho, Wo) divisor, P = (kernel, stride, padding, output size) triples."""

    raw = True
    node_name = "AvgPool3DBackward0"
    saved_fields = {  # as PyTorch's node shows them (arguments kept by the caller: given)
        "ceil_mode": lambda n: given_value(n, "ceil_mode", False),
        "count_include_pad": lambda n: given_value(n, "count_include_pad", True),
        "divisor_override": lambda n: given_value(n, "divisor_override"),
        "kernel_size": lambda n: n.P[0],
        "padding": lambda n: n.P[2],
        "self": tensor_field(lambda n: input_tensor(n, 0)),
        "stride": lambda n: given_value(n, "stride", ()),
    }

    @staticmethod
    def forward(ctx, x, P, div):
        ctx.P, ctx.div, ctx.x_shape = P, div, x.shape
        ctx.save_for_backward(x)  # PyTorch's _saved_self (a reference, no copy)
        xp = get_array_module(x)
        acc = _compute_dtype(x.dtype)
        sums = _box_sums(_as5(x), P, acc)
        if x.dtype.kind in "iu":  # PyTorch: the integer window sum / divisor, toward zero
            d = _divisor_in(xp, np.rint(div), x.dtype)
            quot = xp.abs(sums) // d
            out = xp.where(sums < 0, -quot, quot)
        else:
            out = xp.divide(sums, _divisor_in(xp, div, acc), out=sums)
        if out.dtype != x.dtype:
            out = out.astype(x.dtype)
        return out[0] if x.ndim == 4 else out

    @staticmethod
    def backward(ctx, g):
        ctx.saved_tensors  # noqa: B018 -- checks x was not modified in place, as PyTorch
        return AvgPool3dGrad.apply(g, ctx.x_shape, ctx.P, ctx.div), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return None if t is None else AvgPool3dFn.forward(Node(), t, *ctx.primals[1:])


class AvgPool3dGrad(Function):
    """dx = g / divisor spread over each window: the gradient of :class:`AvgPool3dFn`."""

    raw = True
    node_name = "AvgPool3DBackwardBackward0"

    @staticmethod
    def forward(ctx, g, x_shape, P, div):
        ctx.P, ctx.div = P, div
        xp = get_array_module(g)
        acc = _compute_dtype(g.dtype)
        scaled = xp.divide(_as5(g), _divisor_in(xp, div, acc), dtype=acc)
        out = _spread(scaled, (1,) + tuple(x_shape) if len(x_shape) == 4 else x_shape, P)
        if out.dtype != g.dtype:
            out = out.astype(g.dtype)
        return out[0] if len(x_shape) == 4 else out

    @staticmethod
    def backward(ctx, gg):
        return AvgPool3dFn.apply(gg, ctx.P, ctx.div), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return None if t is None else AvgPool3dGrad.forward(Node(), t, *ctx.primals[1:])


def _check_divisor(op: str, divisor_override: Any) -> None:
    """PyTorch's checks of ``divisor_override``: an int (TypeError) and not zero (a
    RuntimeError; 0 was taken for None, the window size)."""
    if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)):
        raise TypeError(
            f"{op}(): argument 'divisor_override' must be int, "
            f"not {type(divisor_override).__name__}"
        )
    if divisor_override == 0:
        raise ShapeError(f"{op}: divisor must be not zero, got divisor_override=0")
