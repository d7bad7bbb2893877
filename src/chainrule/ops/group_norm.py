"""Group norm as one graph node, PyTorch's ``NativeGroupNormBackward0``.

``F.group_norm`` was a composition (a reshape, the standardisation, a reshape back, a product
and a sum: five nodes). As one node it computes, for an input of shape (N, C, *) whose C
channels are split into G groups of C/G channels, the statistics of each (sample, group) over
its D = C/G · HxW values,

    μ = mean(x),   r = 1 / √(var(x) + ε)   (biased variance),

and y = γ_c (x - μ) r + β_c. It saves what PyTorch's node saves: the input, γ and the
statistics (μ, r) of shape (N, G) in the input's dtype; not x̂ or y. With, per (n, c),
S_x = Σ_hw g x and S_1 = Σ_hw g, and per (n, g) the sums over the group's channels
A = Σ_c γ_c S_x and B = Σ_c γ_c S_1, the derivatives are

    dβ_c = Σ_n S_1,   dγ_c = Σ_n (S_x - μ S_1) r,
    dx = γ_c r g + c₂ x + c₃,   c₂ = (B μ - A) r³ / D,   c₃ = -c₂ μ - B r / D.

float16 and bfloat16 are computed in float32 and rounded once (as PyTorch's CPU kernel). On a
C-contiguous float32/float64 input with the compiled kernels active, the standardisation and
the input's gradient are each one row pass (:mod:`chainrule._kernels.layernorm`, rows of D
values). With ``create_graph=True`` the backward is rebuilt from Tensor ops (double backward).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import jit
from .._kernels import layernorm as _LN
from .._layout import dense_order, relaid_tensor
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..threads import elementwise
from ._result_layout import grad_in_input_format
from .grad_laid import GradLaid
from .normalization import _f32, _project, _rebuilt_grad

__all__ = ["GroupNormFn", "group_norm"]


def _rows(x: Any, group: int) -> Any:
    """x as (N·G, D) rows for the compiled row kernels, or None when they do not apply."""
    if (
        type(x) is not np.ndarray
        or x.dtype not in (np.float32, np.float64)
        or x.size == 0
        or not x.flags.c_contiguous
        or jit.backend() != "numba"
    ):
        return None
    return x.reshape(x.shape[0] * group, -1)


def _per_channel(a: Any, c: int) -> Any:
    """An (N, G) statistic repeated over each group's C/G channels: (N, C)."""
    return np.repeat(a, c // a.shape[1], axis=1)


def _bshape(n: int, c: int, nd: int) -> tuple:
    return (n, c) + (1,) * (nd - 2)


def _grouped(shape: tuple, group: int) -> tuple:
    """(N, G, D): the shape that puts each (sample, group)'s D values in one row."""
    d = shape[1] // group
    for s in shape[2:]:
        d *= s
    return (shape[0], group, d)


def _stats(x: Any, group: int, eps: float) -> tuple:
    """``(μ, r)`` of each (sample, group) of x, shape (N, G), in x's (floating) dtype."""
    n = x.shape[0]
    xg = x.reshape(_grouped(x.shape, group))
    if xg.shape[2] == 0:  # an empty group: no statistics (nothing reads them)
        z = np.zeros((n, group), x.dtype)
        return z, z + 1.0 / np.sqrt(x.dtype.type(eps))
    mean = xg.mean(axis=2)
    xc = xg - mean[:, :, None]
    var = np.einsum("ngd,ngd->ng", xc, xc) / xg.shape[2]
    return mean, (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)


def _xhat(x: Any, mean: Any, rstd: Any) -> Any:
    """x̂ = (x - μ) r recomputed from the input and the saved statistics, shape (N, G, D)."""
    xg = x.reshape(_grouped(x.shape, mean.shape[1]))
    return (xg - mean[:, :, None]) * rstd[:, :, None]


class GroupNormFn(Function):
    """y = γ (x - μ) r + β with μ, r per (sample, group of C/G channels); γ, β per channel
    (or None). Arguments ``(x, weight, bias, group, eps)``, already checked."""

    raw = True
    node_name = ("NativeGroupNormBackward0", (0, 1, 2))
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)
    saved_fields = {  # grad_fn._saved_* as PyTorch's: sizes, and the saved input, γ, μ, r
        "C": lambda n: n.sizes[1],
        "HxW": lambda n: n.sizes[2],
        "N": lambda n: n.sizes[0],
        "eps": lambda n: n.eps,
        "group": lambda n: n.group,
        "input": 0,
        "result1": 2,
        "result2": 3,
        "weight": 1,
    }

    @staticmethod
    def forward(ctx, x, weight, bias, group, eps):
        ctx.group, ctx.eps = group, eps
        ctx.sizes = (x.shape[0], x.shape[1], int(np.prod(x.shape[2:], dtype=np.int64)))
        ctx.bias_dtype = None if bias is None else bias.dtype
        n, c, nd = x.shape[0], x.shape[1], x.ndim
        xf, wf, bf = _f32(x), _f32(weight), _f32(bias)
        rows = _rows(xf, group)
        if rows is not None:  # compiled: x̂ in one pass (statistics in float64)
            y = np.empty_like(xf)
            mean, rstd = np.empty(rows.shape[0]), np.empty(rows.shape[0])
            _LN.normalize_rows(rows, float(eps), y.reshape(rows.shape), mean, rstd)
            mean = mean.astype(xf.dtype).reshape(n, group)
            rstd = rstd.astype(xf.dtype).reshape(n, group)
            y3 = y.reshape(n, c, -1)
            if wf is not None:
                elementwise(np.multiply, y3, wf.reshape(c, 1).astype(y.dtype, copy=False), out=y3)
            if bf is not None:
                elementwise(np.add, y3, bf.reshape(c, 1).astype(y.dtype, copy=False), out=y3)
        else:  # one pass y = x a + s with a = γ r, s = β - μ a per (n, c); x's layout kept
            mean, rstd = _stats(xf, group, eps)
            a = _per_channel(rstd, c)
            if wf is not None:
                a = a * wf.astype(a.dtype, copy=False)
            s = -_per_channel(mean, c) * a
            if bf is not None:
                s += bf.astype(s.dtype, copy=False)
            shp = _bshape(n, c, nd)
            y = elementwise(np.multiply, xf, a.reshape(shp))
            elementwise(np.add, y, s.reshape(shp), out=y)
        # saved as PyTorch: the input, γ and the statistics in the input's dtype
        ctx.save_for_backward(x, weight, mean.astype(x.dtype), rstd.astype(x.dtype))
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, w, mean, rstd = ctx.saved_tensors
        needs = ctx.needs_input_grad
        need_x = needs[0]
        need_w = len(needs) > 1 and needs[1]
        need_b = len(needs) > 2 and needs[2]
        if ctx.create_graph:
            return _rebuilt_backward(ctx, grad, x, w, need_x, need_w, need_b)
        xa, g, wa = _f32(x._data), _f32(grad._data), _f32(None if w is None else w._data)
        mean, rstd = _f32(mean._data), _f32(rstd._data)
        n, c, nd = xa.shape[0], xa.shape[1], xa.ndim
        group = ctx.group
        gx = _compiled_input_grad(g, xa, wa, mean, rstd, group) if need_x else None
        gw = gb = None
        if need_w or need_b or (need_x and gx is None):
            sub = "nc" + "defghi"[: nd - 2]
            s1 = g.reshape(n, c, _grouped(g.shape, c)[2]).sum(axis=2)  # Σ_hw g per (n, c)
            sx = np.einsum(f"{sub},{sub}->nc", g, xa)  # Σ_hw g x per (n, c)
            if need_w:
                gw = ((sx - s1 * _per_channel(mean, c)) * _per_channel(rstd, c)).sum(axis=0)
            if need_b:
                gb = s1.sum(axis=0)
            if need_x and gx is None:
                gx = _input_grad(g, xa, wa, mean, rstd, s1, sx, group)
        make = Tensor._make
        return (
            None
            if gx is None  # (in x's channels-last format, as PyTorch's: one flag test else)
            else make(
                grad_in_input_format(gx.astype(x.dtype, copy=False), x._data), False, None, 0
            ),
            None if gw is None else make(gw.astype(w.dtype, copy=False), False, None, 0),
            None if gb is None else make(gb.astype(ctx.bias_dtype, copy=False), False, None, 0),
            None,
            None,
        )

    @staticmethod
    def jvp(ctx, tx, tw, tb, *_):
        x, w, mean, rstd = ctx.saved_arrays
        dt = x.dtype
        x, w, tx, tw, tb, mean, rstd = (_f32(a) for a in (x, w, tx, tw, tb, mean, rstd))
        c, nd = x.shape[1], x.ndim
        xhat = _xhat(x, mean, rstd)
        pshape = (c,) + (1,) * (nd - 2)
        out = None
        if tx is not None:
            tg = tx.reshape(xhat.shape)
            out = _project(tg, xhat, rstd[:, :, None], (2,), tangent=True).reshape(x.shape)
            if w is not None:
                out = out * w.reshape(pshape)
        xhat = xhat.reshape(x.shape)
        if tw is not None:
            term = xhat * tw.reshape(pshape)
            out = term if out is None else out + term
        if tb is not None:
            term = np.broadcast_to(tb.reshape(pshape), x.shape)
            out = term if out is None else out + term
        return None if out is None else get_array_module(out).array(out, dtype=dt)


def _compiled_input_grad(g, x, w, mean, rstd, group):
    """dx as one compiled row pass over (γ g, x) when the row kernels apply, else None."""
    rows = _rows(x, group)
    if (
        rows is None
        or type(g) is not np.ndarray
        or g.dtype != x.dtype
        or g.shape != x.shape
        or not g.flags.c_contiguous
    ):
        return None
    c, nd = x.shape[1], x.ndim
    gw = g if w is None else elementwise(np.multiply, g, w.reshape(_bshape(1, c, nd)))
    dx = np.empty_like(x)
    _LN.normalize_rows_backward(
        gw.reshape(rows.shape),
        rows,
        mean.astype(np.float64).reshape(-1),
        rstd.astype(np.float64).reshape(-1),
        dx.reshape(rows.shape),
    )
    return dx


def _input_grad(g, x, w, mean, rstd, s1, sx, group):
    """dx = γ r g + c₂ x + c₃ (the module docstring), from the sums S_1, S_x."""
    n, c, nd = x.shape[0], x.shape[1], x.ndim
    d = _grouped(x.shape, group)[2]
    if w is not None:
        sx, s1 = sx * w, s1 * w
    a_sum = sx.reshape(n, group, c // group).sum(axis=2)
    b_sum = s1.reshape(n, group, c // group).sum(axis=2)
    c2 = (b_sum * mean - a_sum) * rstd**3 / d
    c3 = -c2 * mean - b_sum * rstd / d
    k = _per_channel(rstd, c) if w is None else _per_channel(rstd, c) * w
    shp = _bshape(n, c, nd)
    dx = elementwise(np.multiply, g, k.reshape(shp).astype(g.dtype, copy=False))
    t = elementwise(np.multiply, x, _per_channel(c2, c).reshape(shp).astype(x.dtype, copy=False))
    elementwise(np.add, t, _per_channel(c3, c).reshape(shp).astype(x.dtype, copy=False), out=t)
    return elementwise(np.add, dx, t, out=dx)


def _rebuilt_backward(ctx, grad, x, w, need_x, need_w, need_b):
    """The backward from Tensor ops (``create_graph=True``): x̂ rebuilt from x, so double
    backward is exact."""
    c, nd = x.shape[1], x.ndim
    group = ctx.group
    pshape = (c,) + (1,) * (nd - 2)
    shp = _grouped(tuple(x.shape), group)  # (N, G, D)
    order = _channels_last_order(grad._data)
    if order is not None:  # both orders in the incoming gradient's layout, as PyTorch's
        x = GradLaid.apply(x, order)
    gy = grad if w is None else grad * w.reshape(pshape)
    gx, xhat = _rebuilt_grad(x.reshape(shp), gy.reshape(shp), (2,), ctx.eps)
    dims = (0, *range(2, nd))
    gw = (grad * xhat.reshape(x.shape)).sum(dims) if need_w else None
    gb = grad.sum(dims) if need_b else None
    if need_x:
        gx = gx.reshape(x.shape)
        gx = gx if order is None else relaid_tensor(gx, order)
    return (gx if need_x else None), gw, gb, None, None


def _channels_last_order(g: Any) -> Any:
    """The dims of the incoming gradient ``g`` (an array), fastest first, when it is dense in
    channels-last order (C fastest, then the spatial dims last to first, N outermost; not
    row-major): the layout PyTorch's ``infinitely_differentiable_native_group_norm_backward``
    gives the input gradient then (its terms are elementwise ops led by ``dY.reshape(N, G,
    D, HxW)``, a view for such a ``dY``, and ``reshape_as(X)`` views it back), and the second
    order follows. Else None: PyTorch's is row-major for a row-major or transposed ``dY``, as
    the rebuilt graph's. (For other permutations TensorIterator's operand order decides;
    those keep the rebuilt graph's row-major layout.)"""
    if type(g) is not np.ndarray or g.ndim < 3 or g.flags.c_contiguous:
        return None
    order = dense_order(g)
    return order if order == [1, *range(g.ndim - 1, 1, -1), 0] else None


def group_norm(x: Tensor, weight: Any, bias: Any, group: int, eps: float) -> Tensor:
    """y = γ x̂ + β with x̂ standardised per (sample, group) as one op (arguments already
    checked by ``F.group_norm``)."""
    return GroupNormFn.apply(x, weight, bias, int(group), float(eps))
