"""``var_mean`` and ``std_mean`` as one graph node each with two outputs, under PyTorch's
names (``VarMeanBackward0``, ``StdMeanBackward0``).

They were ``var``/``std`` and ``mean`` side by side: two nodes, and for ``std_mean`` a third
(the square root). As one node they share one centring pass, both outputs report the same
``grad_fn``, and they save what PyTorch's save: the input, and for ``std_mean`` the std.
With ``mu = mean(x)``, ``n`` the count reduced over and ``dof = n - correction``:

* ``v = sum((x - mu)^2) / dof``; ``dv/dx = 2 (x - mu) / dof``;
* ``s = sqrt(v)``; ``ds/dx = (x - mu) / (dof s)``, 0 where ``s = 0`` (PyTorch's convention);
* ``dmu/dx = 1 / n``.

So ``dx = g_v 2 (x - mu) / dof + g_mu / n`` (``g_s (x - mu) / (dof s)`` for the std). A plain
backward computes on raw arrays, the big passes on the intra-op threads; with
``create_graph=True`` the same formulas are written with Tensor ops. float16 accumulates in
float32 and is rounded once, as PyTorch's kernels, and so does bfloat16. Real floating inputs
only: complex inputs keep the composed form (``numpy_style.py``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.saved_fields import given_dim, given_value  # grad_fn._saved_*
from ..backend import get_array_module
from ..threads import elementwise
from ._util import reduction_axes, wide
from .binary import where
from .fused_statistics import _contiguous, _kept, _kept_raw, _wrap, raw_mean
from .reduction import _count

__all__ = ["StdMean", "VarMean", "fused_moments"]


def _mean_centred(x: Any, axes: Any) -> tuple:
    """``(mu, x - mu)`` (float16 / bfloat16 in float32), ``mu`` with kept dims, the difference
    a fresh array computed on the intra-op threads."""
    xc = wide(x)
    mu = get_array_module(x).asarray(raw_mean(xc, axes, True))
    return mu, elementwise(np.subtract, xc, mu)


def _moments(x: Any, axes: Any, keepdim: bool, dof: float, root: bool) -> tuple:
    """``(v or s, mu)`` of raw ``x`` in ``x``'s dtype, contiguous."""
    xp = get_array_module(x)
    mu, d = _mean_centred(x, axes)
    sq = elementwise(np.multiply, d, d, out=d if d.ndim else None)
    with np.errstate(divide="ignore", invalid="ignore"):  # dof 0: 0/0 NaN or inf, as PyTorch
        v = xp.asarray(sq.sum(axis=axes, keepdims=keepdim) / dof)
    if root:
        v = xp.sqrt(v)
    if not keepdim and x.ndim:
        mu = mu.reshape(v.shape)
    return _contiguous(v.astype(x.dtype, copy=False)), _contiguous(mu.astype(x.dtype, copy=False))


def _moments_fields(root: bool) -> dict:
    """``grad_fn._saved_*`` of PyTorch's ``VarMeanBackward0`` / ``StdMeanBackward0``: the
    correction and dims as the call gave them (``saved_fields.given``), keepdim, the input,
    and the std (``result0``) for std_mean."""

    def dims(n: Any) -> Any:
        v = given_dim(n)
        return v if v is None or type(v) is tuple else (v,)

    out = {
        "correction": lambda n: given_value(n, "correction", n.count - n.dof),
        "dim": dims,
        "keepdim": lambda n: n.keepdim,
    }
    if root:
        out["result0"] = 1
    out["self"] = 0
    return out


class _MomentsMean(Function):
    raw = True
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)
    root = False
    saved_fields = _moments_fields(False)  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, x, axes, keepdim, dof):
        ctx.in_shape, ctx.axes, ctx.keepdim, ctx.dof = x.shape, axes, keepdim, dof
        ctx.count = _count(x.shape, axes)
        # an unused output's gradient stays None (not zeros): at dof 0 the var's 2 / dof is
        # inf, and PyTorch's mean-only gradient is then finite
        ctx.materialize_grads = False
        v, mu = _moments(x, axes, keepdim, dof, ctx._forward_cls.root)
        if ctx._forward_cls.root:
            ctx.save_for_backward(x, v)
        else:
            ctx.save_for_backward(x)
        return v, mu

    @staticmethod
    def backward(ctx, gv, gm):
        x, *rest = ctx.saved_tensors
        shape, axes, keep, dof, n = ctx.in_shape, ctx.axes, ctx.keepdim, ctx.dof, ctx.count
        root = ctx._forward_cls.root
        grads = [g for g in (gv, gm) if g is not None]
        if not ctx.create_graph and all(type(t._data) is np.ndarray for t in (x, *grads)):
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                gmk = None if gm is None else wide(_kept_raw(gm._data, shape, axes, keep)) / n
                if gv is None:  # the mean's alone: 1/n everywhere (small: the reduced shape)
                    gx = np.broadcast_to(gmk, shape).astype(x.dtype)
                    return _wrap(gx), None, None, None
                gvk = wide(_kept_raw(gv._data, shape, axes, keep))  # small: the reduced shape
                if root:
                    sk = wide(_kept_raw(rest[0]._data, shape, axes, keep))
                    coeff = np.where(sk == 0, 0, gvk / (dof * sk))
                else:
                    coeff = gvk * (2.0 / dof if dof else np.inf)
                _mu, d = _mean_centred(x._data, axes)
                gx = elementwise(np.multiply, d, coeff, out=d if d.ndim else None)
                if gmk is not None:
                    gx = elementwise(np.add, gx, gmk, out=gx if gx.ndim else None)
            return _wrap(np.asarray(gx).astype(x.dtype, copy=False)), None, None, None
        out = None
        if gv is not None:
            gvk = _kept(gv, shape, axes, keep)
            if root:
                sk = _kept(rest[0], shape, axes, keep)
                zero = _wrap(sk._data == 0)
                coeff = where(zero, 0.0, gvk / (where(zero, 1.0, sk) * dof))
            else:
                coeff = gvk * (2.0 / dof if dof else np.inf)
            out = (x - x.mean(axes, keepdim=True)) * coeff
        if gm is not None:
            gmk = _kept(gm, shape, axes, keep) / n
            if out is None:
                return (gmk.expand(*shape) if shape else gmk), None, None, None
            out = out + gmk
        return out, None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        xp = get_array_module(x)
        axes, keep, dof = ctx.axes, ctx.keepdim, ctx.dof
        with np.errstate(divide="ignore", invalid="ignore"):
            _mu, d = _mean_centred(x, axes)
            s = (d * wide(t)).sum(axis=axes, keepdims=keep)  # float16 / bfloat16: in float32
            if ctx._forward_cls.root:
                y = wide(ctx.out[0])
                tv = xp.where(y == 0, 0, s / (dof * xp.where(y == 0, 1, y)))
            else:
                tv = s * 2 / dof
            tm = raw_mean(wide(t), axes, keep)
        return xp.asarray(tv).astype(x.dtype), xp.asarray(tm).astype(x.dtype)


class VarMean(_MomentsMean):
    """``(var(x), mean(x))`` over ``axes`` (``VarMeanBackward0``); real floating input."""

    node_name = "VarMeanBackward0"


class StdMean(_MomentsMean):
    """``(std(x), mean(x))`` over ``axes`` (``StdMeanBackward0``); the std's gradient is 0
    where it is 0, as PyTorch's."""

    node_name = "StdMeanBackward0"
    root = True
    saved_fields = _moments_fields(True)  # grad_fn._saved_* as PyTorch's


def fused_moments(op: str, x: Any, dim: Any, keepdim: bool, correction: Any, root: bool) -> tuple:
    """``var_mean``/``std_mean`` of a real floating tensor as one node (``correction``
    already resolved from ``unbiased``), warning as ``var`` where no degree of freedom is
    left."""
    axes = reduction_axes(dim, x, op)
    dof = max(_count(x.shape, axes) - correction, 0)
    if dof == 0 or 0 in x.shape:  # PyTorch warns for any empty input (factor 0 / 0)
        warnings.warn(
            f"{op}(): degrees of freedom is <= 0. Correction should be strictly less than "
            "the reduction factor (input numel divided by output numel).",
            UserWarning,
            stacklevel=4,
        )
    return (StdMean if root else VarMean).apply(x, axes, keepdim, dof)
