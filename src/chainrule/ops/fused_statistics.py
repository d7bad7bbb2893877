"""``logsumexp``, ``var`` and ``std`` as one graph node each, under PyTorch's names.

They were compositions (max shift, sub, exp, sum, log, add; mean, sub, mul, sum, div, a
square root): five to seven nodes, each keeping its own arrays. As single nodes they print as
PyTorch's (``LogsumexpBackward0``, ``VarBackward0``, ``StdBackward0``) and save what PyTorch's
save (the input, and the result for ``logsumexp`` and ``std``), so modifying either in place
after forward raises as in PyTorch:

* ``y = logsumexp(x) = m + log(sum(exp(x - m)))`` with ``m = max(x)`` (0 where that max is not
  finite: a row of ``-inf`` gives ``-inf``, one ``+inf`` gives ``+inf``).
  ``dy/dx = exp(x - y)`` (the softmax); the tangent is ``sum(t * exp(x - y))``.
* ``v = var(x) = sum((x - mean(x))^2) / (n - correction)``; ``dv/dx = 2 (x - mean(x)) / dof``
  (the mean's own derivative cancels: the centred values sum to 0).
* ``s = std(x) = sqrt(v)``; ``ds/dx = (x - mean(x)) / (dof * s)``, defined as 0 where
  ``s = 0`` (PyTorch's convention at a constant input).

A plain backward computes on raw arrays, the big passes on the intra-op threads; with
``create_graph=True`` the same formulas are written with Tensor ops, so they differentiate
again. float16 and bfloat16 accumulate in float32 and are rounded once, as PyTorch's kernels
(one node in every dtype: no casts around it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import dispatch as _fast
from ..autograd.function import Function
from ..autograd.saved_fields import given_dim, given_value  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import is_bfloat16
from ..threads import elementwise
from ._util import wide
from .binary import where
from .shape import reshape
from .vector_norms import keepdim_shape

__all__ = ["Logsumexp", "Std", "Var", "raw_mean"]


def _exp_inplace(d: Any) -> Any:
    """``exp(d)``, on the compiled kernel where it applies, else into ``d`` itself."""
    fast = _fast.exp(d) if type(d) is np.ndarray else None
    if fast is not None:
        return fast
    return get_array_module(d).exp(d, out=d) if getattr(d, "ndim", 0) else np.exp(d)


def _kept(t: Any, in_shape: tuple, axes: Any, keepdim: bool) -> Any:
    """A reduced Tensor with its reduced dims put back as 1s (a no-op under keepdim)."""
    if keepdim or not len(in_shape):
        return t
    return reshape(t, keepdim_shape(in_shape, axes))


def _kept_raw(a: Any, in_shape: tuple, axes: Any, keepdim: bool) -> Any:
    if keepdim or not len(in_shape):
        return a
    return a.reshape(keepdim_shape(in_shape, axes))


def _contiguous(a: Any) -> Any:
    """``a`` in C order (PyTorch's reductions give contiguous results); 0-d stays 0-d."""
    return a if a.flags.c_contiguous else get_array_module(a).ascontiguousarray(a)


def _wrap(a: Any) -> Tensor:
    return Tensor._make(a, False, None, 0)


def _shown_dims(node: Any) -> tuple | None:
    """``_saved_dim`` as PyTorch's reductions show it: the dims as given (one dim as a
    1-tuple, negatives as ``2**64 - 1``...), None where none was given."""
    v = given_dim(node)
    if v is None:
        return None if node.axes is None or "_given_args" in node.__dict__ else tuple(node.axes)
    return v if type(v) is tuple else (v,)


# grad_fn._saved_* as PyTorch's (saved_fields.py); dim and correction as the wrappers kept
# them (statistics.py, saved_fields.given)
_MOMENT_FIELDS = {
    "correction": lambda n: given_value(n, "correction"),
    "dim": _shown_dims,
    "keepdim": lambda n: n.keepdim,
    "self": 0,
}


class Logsumexp(Function):
    """``log(sum(exp(x)))`` over ``axes``, shifted by the maximum (``LogsumexpBackward0``)."""

    raw = True
    node_name = "LogsumexpBackward0"
    saved_fields = {"dim": _shown_dims, "keepdim": lambda n: n.keepdim, "result": 1, "self": 0}
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.in_shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        y, m, s = _logsumexp(x, axes, keepdim)  # (half dtypes: m and s in float32)
        # the shift and the sum (reduced shape, small): exp(x - m) / s is the softmax without
        # the rounding of y (at |x| ~ 1e4, exp(x - y) in float32 is off by 4e-4)
        ctx.save_for_backward(x, y, m, s)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y, m, s = ctx.saved_tensors
        shape, axes, keep = ctx.in_shape, ctx.axes, ctx.keepdim
        if not ctx.create_graph and type(x._data) is np.ndarray and type(grad._data) is np.ndarray:
            gk = _kept_raw(grad._data, shape, axes, keep)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                coeff = gk / s._data  # small: the reduced shape
                p = _exp_inplace(elementwise(np.subtract, wide(x._data), m._data))
                gx = elementwise(np.multiply, p, coeff, out=p if p.ndim else None)
            return _wrap(np.asarray(gx, dtype=x.dtype)), None, None
        yk, gk = _kept(y, shape, axes, keep), _kept(grad, shape, axes, keep)
        return (x - yk).exp() * gk, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        _y, m, s = _logsumexp(x, ctx.axes, True)
        xp = get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            p = xp.exp(wide(x) - m) / s
            out = (wide(t) * p).sum(axis=ctx.axes, keepdims=ctx.keepdim)
            if x.size == 0:  # log of an empty sum (-inf): PyTorch's tangent is NaN, not 0
                out = xp.full(out.shape, np.nan)
            return xp.asarray(out, x.dtype)


def _logsumexp(x: Any, axes: Any, keepdim: bool) -> tuple:
    """``(y, m, s)``: the result, the shift and ``sum(exp(x - m))`` (those two kept dims);
    float16 and bfloat16 compute in float32, ``y`` rounded once (``m``, ``s``: float32)."""
    xp = get_array_module(x)
    if x.dtype == np.float16 or is_bfloat16(x.dtype):
        y, m, s = _logsumexp(x.astype(np.float32), axes, keepdim)
        return xp.asarray(y, x.dtype), m, s
    if x.size == 0:  # a sum over nothing is 0: log(0) = -inf
        out = xp.full(keepdim_shape(x.shape, axes), -np.inf, x.dtype)
        m = xp.zeros(out.shape, x.dtype)
        s = xp.zeros(out.shape, x.dtype)
    else:
        m = x.max(axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0).astype(x.dtype, copy=False)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            e = _exp_inplace(elementwise(np.subtract, x, m))  # on the intra-op threads
            s = e.sum(axis=axes, keepdims=True)
            out = (xp.log(s) + m).astype(x.dtype, copy=False)
    if not keepdim and x.ndim:
        out = out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in _all(axes, x)))
    return _contiguous(out), m, s


def _all(axes: Any, x: Any) -> tuple:
    return tuple(range(x.ndim)) if axes is None else axes


def raw_mean(x: Any, axes: Any, keepdims: bool) -> Any:
    """NumPy's ``x.mean(axes)`` (the same sum, then one division) without its "Mean of
    empty slice" warning: a mean over no elements is NaN quietly, as PyTorch's."""
    count = 1
    for a in (axes,) if isinstance(axes, int) else _all(axes, x):
        count *= x.shape[a]
    with np.errstate(invalid="ignore", divide="ignore"):
        return x.sum(axis=axes, keepdims=keepdims) / x.dtype.type(count)


def _centred(x: Any, axes: Any) -> Any:
    """``x - mean(x)`` as a fresh array (float16 / bfloat16 in float32), on the intra-op
    threads."""
    xc = wide(x)
    return elementwise(np.subtract, xc, raw_mean(xc, axes, True))


def _variance(x: Any, axes: Any, keepdim: bool, dof: float) -> Any:
    """The (float16, bfloat16: float32) variance of ``x`` over ``axes``, not yet rounded to
    x's dtype."""
    xp = get_array_module(x)
    d = _centred(x, axes)
    sq = elementwise(np.multiply, d, d, out=d if d.ndim else None)
    with np.errstate(divide="ignore", invalid="ignore"):  # dof 0: 0/0 NaN or inf, as PyTorch
        return xp.asarray(sq.sum(axis=axes, keepdims=keepdim) / dof)


class Var(Function):
    """The variance over ``axes`` with ``correction`` (``VarBackward0``); real floating
    input."""

    raw = True
    node_name = "VarBackward0"
    saved_fields = _MOMENT_FIELDS
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)

    @staticmethod
    def forward(ctx, x, axes, keepdim, dof):
        ctx.in_shape, ctx.axes, ctx.keepdim, ctx.dof = x.shape, axes, keepdim, dof
        ctx.save_for_backward(x)
        v = _variance(x, axes, keepdim, dof)
        return _contiguous(v.astype(x.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        shape, axes, keep = ctx.in_shape, ctx.axes, ctx.keepdim
        with np.errstate(divide="ignore"):
            scale = 2.0 / ctx.dof if ctx.dof else np.inf
        if not ctx.create_graph and type(x._data) is np.ndarray and type(grad._data) is np.ndarray:
            gk = wide(_kept_raw(grad._data, shape, axes, keep)) * scale  # small: reduced shape
            with np.errstate(invalid="ignore", over="ignore"):
                d = _centred(x._data, axes)
                gx = elementwise(np.multiply, d, gk, out=d if d.ndim else None)
            return _wrap(np.asarray(gx).astype(x.dtype, copy=False)), None, None, None
        gk = _kept(grad, shape, axes, keep) * scale
        return (x - x.mean(axes, keepdim=True)) * gk, None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            d = _centred(x, ctx.axes)  # float16 / bfloat16: summed in float32
            s = (d * wide(t)).sum(axis=ctx.axes, keepdims=ctx.keepdim) * 2
            if x.size == 0:  # a sum over nothing: 0, not 0 / 0 (PyTorch's tangent too)
                return get_array_module(x).asarray(s).astype(x.dtype, copy=False)
            return get_array_module(x).asarray(s / ctx.dof).astype(x.dtype, copy=False)


class Std(Function):
    """The standard deviation over ``axes`` with ``correction`` (``StdBackward0``); its
    gradient is 0 where the result is 0, as PyTorch's."""

    raw = True
    node_name = "StdBackward0"
    saved_fields = {**_MOMENT_FIELDS, "result": 1}
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)

    @staticmethod
    def forward(ctx, x, axes, keepdim, dof):
        ctx.in_shape, ctx.axes, ctx.keepdim, ctx.dof = x.shape, axes, keepdim, dof
        xp = get_array_module(x)
        y = _contiguous(xp.asarray(xp.sqrt(_variance(x, axes, keepdim, dof)), x.dtype))
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        shape, axes, keep, dof = ctx.in_shape, ctx.axes, ctx.keepdim, ctx.dof
        if not ctx.create_graph and type(x._data) is np.ndarray and type(grad._data) is np.ndarray:
            yk = wide(_kept_raw(y._data, shape, axes, keep))
            gk = wide(_kept_raw(grad._data, shape, axes, keep))
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                coeff = np.where(yk == 0, 0, gk / (dof * yk))  # small: the reduced shape
                d = _centred(x._data, axes)
                gx = elementwise(np.multiply, d, coeff, out=d if d.ndim else None)
            return _wrap(np.asarray(gx).astype(x.dtype, copy=False)), None, None, None
        yk, gk = _kept(y, shape, axes, keep), _kept(grad, shape, axes, keep)
        zero = _wrap(yk._data == 0)
        if ctx.create_graph:
            # PyTorch's std_backward op for op, var_backward((g / (2 y)).masked_fill_(y == 0,
            # 0)): its second derivative at a zero std is NaN (the masked 0 divided by 2 y = 0
            # in the division's backward), as PyTorch's (session 45)
            gvar = where(zero, 0.0, gk / (yk * 2))
            scale = 2.0 / dof if dof else float("inf")  # (C++'s 2.0 / 0)
            return scale * gvar * (x - x.mean(axes, keepdim=True)), None, None, None
        coeff = where(zero, 0.0, gk / (where(zero, 1.0, yk) * dof))
        return (x - x.mean(axes, keepdim=True)) * coeff, None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x, y = ctx.primals[0], ctx.out
        xp = get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = _centred(x, ctx.axes)  # float16 / bfloat16: summed in float32
            s = (d * wide(t)).sum(axis=ctx.axes, keepdims=ctx.keepdim)
            y = wide(y)
            ty = xp.where(y == 0, 0, s / (ctx.dof * xp.where(y == 0, 1, y)))
            return xp.asarray(ty).astype(x.dtype, copy=False)
