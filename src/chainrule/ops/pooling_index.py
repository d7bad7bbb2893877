"""Max pooling as one recorded op once each window's argmax is known: ``max_pool3d``
(PyTorch's ``MaxPool3DWithIndicesBackward0``) and adaptive max pooling 2-d/3-d
(``AdaptiveMaxPool2DBackward0`` / ``AdaptiveMaxPool3DBackward0``).

The argmaxes are found on the raw arrays first (:func:`max_pool3d_indices`, or the adaptive
bins' kernel in :mod:`._pooling_indices`) as PyTorch's flat indices into each input plane
(D*H*W or H*W), the indices ``return_indices=True`` gives. :class:`IndexPool` then gathers
the maxima there (y = x[idx]); its gradient scatters g back to those indices
(:class:`IndexUnpool`, PyTorch's ``...BackwardBackward0``), whose gradient is the gather
again, so every order and forward mode work. Unbatched inputs are one node too, as PyTorch's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.function import Function, Node
from ..autograd.saved_fields import given_value, input_tensor, tensor_field
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta import kernels as meta_kernels
from ..meta.array import MetaArray
from ._result_layout import in_format, input_format  # (a channels-last input's format)
from ._util import wide
from .pooling import _max_pool

__all__ = ["IndexPool", "max_pool3d_indices"]


def _lead_flat(a: Any, nd: int) -> Any:
    """a (..., s1, ..., s_nd) as (prod(...), s1 * ... * s_nd)."""
    k = a.ndim - nd
    return a.reshape(math.prod(a.shape[:k]), math.prod(a.shape[k:]))


def _gather(x: Any, idx: Any, nd: int) -> Any:
    xp = get_array_module(x)
    return xp.take_along_axis(_lead_flat(x, nd), _lead_flat(idx, nd), axis=1).reshape(idx.shape)


def _scatter(g: Any, idx: Any, x_shape: tuple, nd: int, unique: bool) -> Any:
    """zeros(x_shape) with g added at idx in each plane (the transpose of :func:`_gather`)."""
    if type(g) is MetaArray:  # shapes only: no buffer of the input's size
        return meta_kernels.window_scatter(g, x_shape)
    xp = get_array_module(g)
    lead = math.prod(x_shape[: len(x_shape) - nd])
    plane = math.prod(x_shape[len(x_shape) - nd :])
    gi, gv = _lead_flat(idx, nd), _lead_flat(g, nd)
    if unique:  # windows that do not overlap: each index is written once
        buf = xp.zeros((lead, plane), dtype=g.dtype)
        buf[xp.arange(lead).reshape(-1, 1), gi] = gv
        return buf.reshape(x_shape)
    flat = (xp.arange(lead).reshape(-1, 1) * plane + gi).ravel()
    if g.dtype.kind == "c":
        buf = xp.zeros(lead * plane, dtype=g.dtype)
        xp.add.at(buf, flat, gv.ravel())
        return buf.reshape(x_shape)
    sums = xp.bincount(flat, weights=gv.ravel(), minlength=lead * plane)
    return sums.astype(g.dtype, copy=False).reshape(x_shape)


def _pool_fields(node: Node) -> dict:
    """grad_fn._saved_* as PyTorch's: max_pool3d shows its arguments, adaptive pools only
    the input and the indices."""
    fields = {
        "result1": tensor_field(lambda n: _index_tensor(n)),
        "self": tensor_field(lambda n: input_tensor(n, 0)),
    }
    if node.pool_name.startswith("MaxPool3D"):
        fields.update(
            ceil_mode=lambda n: given_value(n, "ceil_mode", False),
            dilation=lambda n: given_value(n, "dilation"),
            kernel_size=lambda n: given_value(n, "kernel_size"),
            padding=lambda n: given_value(n, "padding"),
            stride=lambda n: given_value(n, "stride", ()),
        )
    return fields


def _index_tensor(node: Node) -> Any:
    idx = node.saved_tensor(0)
    return None if idx is None else Tensor._make(idx._data, False, None, 0)


class IndexPool(Function):
    """y = x at flat plane indices ``idx`` over the last ``nd`` dims (a max pooling whose
    argmaxes are ``idx``); ``name`` is PyTorch's node name; ``unique``: no index repeats
    (disjoint windows), so the gradient is a plain write."""

    raw = True
    node_name = staticmethod(lambda node: node.pool_name)
    saved_fields = staticmethod(_pool_fields)

    @staticmethod
    def forward(ctx, x, idx, nd, name, unique):
        ctx.pool_name, ctx.nd, ctx.unique, ctx.x_shape = name, nd, unique, x.shape
        ctx.save_for_backward(idx, x)  # x: PyTorch's _saved_self (a reference, no copy)
        # (x's channels-last format, the result's and dx's; PyTorch's adaptive 3-d: row-major)
        ctx.fmt = None if name == "AdaptiveMaxPool3DBackward0" else input_format(x)
        return in_format(_gather(x, idx, nd), ctx.fmt)

    @staticmethod
    def backward(ctx, g):
        idx = ctx.saved_tensors[0]._data  # (unpacking checks x was not modified in place)
        # (dx in x's channels-last format, as PyTorch's, recorded or not: IndexUnpool)
        gx = IndexUnpool.apply(g, idx, ctx.x_shape, ctx.nd, ctx.pool_name, ctx.unique, ctx.fmt)
        return gx, None, None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return None if t is None else _gather(t, ctx.primals[1], ctx.nd)


class IndexUnpool(Function):
    """dx = g scattered (added) to the flat plane indices: :class:`IndexPool`'s gradient."""

    raw = True
    node_name = staticmethod(lambda node: node.pool_name[:-1] + "Backward0")

    @staticmethod
    def forward(ctx, g, idx, x_shape, nd, name, unique, fmt=None):
        ctx.pool_name, ctx.nd, ctx.unique = name, nd, unique
        ctx.save_for_backward(idx)
        return in_format(_scatter(g, idx, tuple(x_shape), nd, unique), fmt)  # (x's format)

    @staticmethod
    def backward(ctx, gg):
        idx = ctx.saved_arrays[0]
        gg_out = IndexPool.apply(gg, idx, ctx.nd, ctx.pool_name, ctx.unique)
        return gg_out, None, None, None, None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        if t is None:
            return None
        _, idx, x_shape, nd, _, unique, *_ = ctx.primals
        return _scatter(t, idx, tuple(x_shape), nd, unique)


def _depth_argmax(vals: Any, k: int, s: int, p: int, d: int, size: int) -> Any:
    """The depth tap each window takes, as PyTorch: the first maximum, the last NaN when the
    taps hold one, the first in-bounds tap when all are -inf (never a padding slot).

    ``vals`` (N, C, k, Do, Ho, Wo) are the 2-D window maxima per depth tap. The ordinary
    case costs one argmax and a check of the picked values (output-sized)."""
    xp = get_array_module(vals)
    arg = xp.argmax(vals, axis=2)  # the first maximum, or the first NaN
    if vals.dtype.kind != "f":
        return arg
    picked = xp.take_along_axis(vals, arg[:, :, None], axis=2)[:, :, 0]
    nan = xp.isnan(picked)
    if nan.any():
        last_nan = k - 1 - xp.argmax(xp.isnan(vals)[:, :, ::-1], axis=2)
        arg = xp.where(nan, last_nan, arg)
    ninf = picked == -np.inf
    if ninf.any():
        depth = np.arange(vals.shape[3])[None, :] * s - p + np.arange(k)[:, None] * d
        first = xp.asarray(np.argmax((depth >= 0) & (depth < size), axis=0))  # (Do,)
        arg = xp.where(ninf, first.reshape(1, 1, -1, 1, 1), arg)
    return arg


def max_pool3d_indices(x: Any, P: tuple) -> Any:
    """PyTorch's flat D*H*W argmax index of each window of x (N, C, D, H, W), P = (kernel,
    stride, padding, dilation, output size) triples: the first maximum in (d, h, w) scan
    order (the last NaN when the window holds one, the first in-bounds element when it holds
    only -inf). The 2-D maxima over (H, W) first (with their argmaxes), then over depth."""
    xp = get_array_module(x)
    x = wide(x)  # bfloat16 compared in float32 (exact)
    k, s, p, d, (do, ho, wo) = P
    n, c, dd, h, w = x.shape
    P2 = (k[1:], s[1:], p[1:], d[1:], (ho, wo))
    y2, arg2 = _max_pool(x.reshape(n, c * dd, h, w), P2, True)
    rows = xp.arange(ho).reshape(ho, 1) * s[1] - p[1] + (arg2 // k[2]) * d[1]
    cols = xp.arange(wo).reshape(1, wo) * s[2] - p[2] + (arg2 % k[2]) * d[2]
    hw = (rows * w + cols).reshape(n, c, dd, ho, wo)
    y2 = y2.reshape(n, c, dd, ho, wo)
    right = max((do - 1) * s[0] + d[0] * (k[0] - 1) + 1 - dd - p[0], 0)
    if p[0] or right:
        low = -np.inf if y2.dtype.kind == "f" else np.iinfo(y2.dtype).min
        buf = xp.full((n, c, dd + p[0] + right, ho, wo), low, dtype=y2.dtype)
        buf[:, :, p[0] : p[0] + dd] = y2
        y2 = buf
    taps = xp.stack(
        [y2[:, :, i * d[0] : i * d[0] + s[0] * (do - 1) + 1 : s[0]] for i in range(k[0])], 2
    )
    arg = _depth_argmax(taps, k[0], s[0], p[0], d[0], dd)
    depth = xp.arange(do).reshape(1, 1, do, 1, 1) * s[0] - p[0] + arg * d[0]
    return (depth * (h * w) + xp.take_along_axis(hw, depth, axis=2)).astype(np.int64)
