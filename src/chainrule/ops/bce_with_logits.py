"""``binary_cross_entropy_with_logits`` as one graph node, PyTorch's
``BinaryCrossEntropyWithLogitsBackward0``, its weights and reduction inside.

It was a composition (a softplus, products, sums and the reduction: eight or more nodes).
As one node it prints as PyTorch's for every reduction, lists the input and the target, and
saves what PyTorch's saves (``self``, ``target``, ``weight``, ``pos_weight``), so modifying
any of them in place after forward raises as in PyTorch.

With logits ``x``, targets ``t``, ``w`` the weight (1 without), ``p`` the positive weight and
``sp(z) = max(z, 0) + log1p(exp(-|z|))`` (softplus, which never overflows):

* loss ``= w ((1 - t) x + l sp(-x))`` with ``l = 1 + (p - 1) t`` (1 without ``p``: then
  ``max(x, 0) - x t + log1p(exp(-|x|))`` but for infinite ``x``, where PyTorch's form is
  kept: ``x = inf, t = 0`` gives inf, ``x = -inf, t = 1`` NaN).
* ``dL/dx = w (l σ(x) - p t)`` (``w (σ(x) - t)`` without ``p``).
* ``dL/dt = w (-x + (p - 1) sp(-x))`` (``-w x`` without ``p``): PyTorch differentiates the
  target too.

``w`` and ``p`` broadcast to ``x``'s shape (the functional has checked that) and take no
gradient (PyTorch refuses them requiring one; the functional composes the loss then).
'mean' divides the total by the element count. A plain backward computes on raw arrays on
the intra-op threads; with ``create_graph=True`` the same formulas are written with Tensor
ops, so they differentiate again. float16 and bfloat16 compute wholly in float32 inside the
node and round once (PyTorch's one node, no casts around it).

Logits and targets of two floating dtypes (float64 logits with a ``y.float()`` target) give
a loss of the target's dtype, valued as PyTorch's composition computes it: ``log_sigmoid(x)``
in the logits' dtype, then ``(1 - t).mul_(x).sub_(log_sigmoid)`` (and ``.mul_(weight)``),
each step computed in the wider dtype and stored in the target's, the reduction in the
target's dtype (:func:`_mixed_loss`). The gradients are computed in the wider dtype and given
in each operand's own dtype, as PyTorch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import dispatch as _fast
from ..autograd.function import Function
from ..autograd.saved_fields import REDUCTION_ENUM  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import is_bfloat16
from ..threads import elementwise
from ._util import wide
from .unary import sigmoid, softplus

__all__ = ["BinaryCrossEntropyWithLogitsFn"]


def _as(a: Any, dtype: Any) -> Any:
    """A weight array (or None) in the computing dtype."""
    return None if a is None else a.astype(dtype, copy=False)


def _softplus_neg(x: Any) -> Any:
    """``sp(-x) = max(-x, 0) + log1p(exp(-|x|))`` as a fresh array of x's shape (x >= 1-d)."""
    a = elementwise(np.absolute, x)
    elementwise(np.negative, a, out=a)
    elementwise(np.exp, a, out=a)
    elementwise(np.log1p, a, out=a)
    m = elementwise(np.minimum, x, 0.0)
    return elementwise(np.subtract, a, m, out=a)


def _loss(x: Any, t: Any, w: Any, p: Any) -> Any:
    """The per-element loss (arrays of one floating dtype, x and t of one shape, >= 1-d)."""
    out = _softplus_neg(x)  # (1 - t) x + (1 + (p - 1) t) sp(-x), PyTorch's form (its
    if p is not None:  # infinities: x = inf, t = 0 gives inf; x = -inf, t = 1 gives NaN)
        lw = elementwise(np.multiply, t, p - 1.0)
        elementwise(np.add, lw, 1.0, out=lw)
        elementwise(np.multiply, out, lw, out=out)
    r = elementwise(np.subtract, 1.0, t)
    elementwise(np.multiply, r, x, out=r)
    elementwise(np.add, out, r, out=out)
    if w is not None:
        elementwise(np.multiply, out, w, out=out)
    return out


def _mixed_loss(x: Any, t: Any, w: Any, p: Any) -> Any:
    """The per-element loss of logits ``x`` and targets ``t`` of two floating dtypes, rounded
    as PyTorch's composition rounds it: ``ls = log_sigmoid(x)`` in x's dtype (``ls.mul_((p -
    1) * t + 1)`` with a positive weight), then ``(1 - t).mul_(x).sub_(ls)`` and
    ``.mul_(w)``, each step computed in the wider dtype and stored in t's; returned in the
    computing dtype, its values those of t's dtype (x, t >= 1-d arrays of one shape)."""
    xd, od = x.dtype, t.dtype
    dts = [wide(x[:0]).dtype, wide(t[:0]).dtype] + [a.dtype for a in (w, p) if a is not None]
    cd = np.dtype(np.float64) if np.dtype(np.float64) in dts else np.dtype(np.float32)

    def stored(a: Any, dtype: Any) -> Any:  # a value of cd rounded to dtype, kept in cd
        return a if dtype == cd else a.astype(dtype).astype(cd)

    ls = elementwise(np.negative, _softplus_neg(wide(x)))  # log_sigmoid in x's own dtype
    ls = stored(ls.astype(cd, copy=False), xd)
    tw = t.astype(cd)
    if p is not None:  # (pos_weight - 1).mul(target).add_(1), in pos_weight's and t's dtype
        p0 = p.reshape(-1)[:0]  # (p may be 0-d: broadcast against x)
        lwd = p.dtype if p.dtype == od else np.promote_types(wide(p0).dtype, wide(t[:0]).dtype)
        if p.dtype != od and not (_bf16_or_f16(p.dtype) and _bf16_or_f16(od)):
            lwd = np.promote_types(p.dtype, od)  # (bfloat16 with float16: float32)
        pm = stored(p.astype(cd) - 1.0, p.dtype)
        lw = stored(stored(pm * tw, lwd) + 1.0, lwd)
        ls = stored(ls * lw, xd)
    loss = stored(1.0 - tw, od)
    loss = stored(loss * x.astype(cd), od)
    loss = stored(loss - ls, od)
    if w is not None:
        loss = stored(loss * w.astype(cd), od)
    return loss


def _mixed_slope_x(x: Any, t: Any, w: Any, p: Any, g: Any, count: int | None) -> Any:
    """dL/dx times the incoming gradient ``g`` for logits and targets of two dtypes, with
    PyTorch's roundings: ``(pos_weight * t + 1 - t) * sigmoid(x) - pos_weight * t`` in the
    pos_weight-and-target dtype (its in-place steps stored there), then ``* g``, ``* weight``
    and ``/ count`` (for 'mean') each in the promoted dtype; returned in the computing dtype."""
    cd = np.dtype(np.float64) if np.float64 in (x.dtype, t.dtype, p.dtype) else np.float32
    cd = np.dtype(np.float64) if w is not None and w.dtype == np.float64 else np.dtype(cd)

    def stored(a: Any, dtype: Any) -> Any:
        return a if dtype == cd else a.astype(dtype).astype(cd)

    def promoted(*dts: Any) -> Any:
        out = dts[0]
        for d in dts[1:]:
            if out != d:
                both_low = _bf16_or_f16(out) and _bf16_or_f16(d)
                out = np.dtype(np.float32) if both_low else np.promote_types(out, d)
        return out

    d = promoted(p.dtype, t.dtype)
    sig = stored(_sigmoid(wide(x)).astype(cd), x.dtype)
    tw = t.astype(cd)
    tt = stored(p.astype(cd) * tw, d)
    gi = stored(stored(stored(tt + 1.0, d) - tw, d) * sig, d)
    gi = stored(gi - tt, d)
    d = promoted(d, g.dtype)
    gi = stored(gi * g.astype(cd), d)
    if w is not None:
        d = promoted(d, w.dtype)
        gi = stored(gi * w.astype(cd), d)
    if count is not None:
        gi = stored(gi / count, d)
    return gi


def _bf16_or_f16(*dtypes: Any) -> bool:
    return any(d == np.float16 or is_bfloat16(d) for d in dtypes)


def _sigmoid(x: Any) -> Any:
    """σ(x) as a fresh array (the compiled float32 kernel where it applies)."""
    s = _fast.sigmoid(x) if type(x) is np.ndarray else None
    if s is not None:
        return s
    s = elementwise(np.negative, x)
    with np.errstate(over="ignore"):  # e^-x = inf: 1 / (1 + inf) = 0, the exact limit
        elementwise(np.exp, s, out=s)
    elementwise(np.add, s, 1.0, out=s)
    return elementwise(np.reciprocal, s, out=s)


def _slopes(x: Any, t: Any, w: Any, p: Any, need_x: bool, need_t: bool) -> tuple:
    """(dL/dx, dL/dt) per element, unscaled by the incoming gradient (None where unneeded)."""
    gx = gt = None
    if need_x:
        gx = _sigmoid(x)
        if p is None:  # σ - t
            elementwise(np.subtract, gx, t, out=gx)
        else:  # (1 + (p - 1) t) σ - p t
            lw = elementwise(np.multiply, t, p - 1.0)
            elementwise(np.add, lw, 1.0, out=lw)
            elementwise(np.multiply, gx, lw, out=gx)
            pt = elementwise(np.multiply, t, p, out=lw)
            elementwise(np.subtract, gx, pt, out=gx)
        if w is not None:
            elementwise(np.multiply, gx, w, out=gx)
    if need_t:
        if p is None:  # -x
            gt = elementwise(np.negative, x)
        else:  # (p - 1) sp(-x) - x
            gt = _softplus_neg(x)
            elementwise(np.multiply, gt, p - 1.0, out=gt)
            elementwise(np.subtract, gt, x, out=gt)
        if w is not None:
            elementwise(np.multiply, gt, w, out=gt)
    return gx, gt


def _total(a: Any, reduction: str, count: int) -> Any:
    """``a`` reduced: 'none' as it is, 'sum', or 'mean' (NaN for no elements, as PyTorch)."""
    if reduction == "none":
        return a
    total = a.sum()
    if reduction == "mean":
        total = total / count if count else total * float("nan")
    return total


def _grad(a: Any, shape: tuple, dtype: Any) -> Tensor | None:
    """A raw gradient array (or None) as a Tensor of the input's shape and dtype."""
    if a is None:
        return None
    return Tensor._make(np.asarray(a).reshape(shape).astype(dtype, copy=False), False, None, 0)


class BinaryCrossEntropyWithLogitsFn(Function):
    """``forward(ctx, x, t, weight, pos_weight, reduction)``: x and t of one shape and dtype,
    ``weight`` / ``pos_weight`` None or arrays broadcasting to x's shape (no gradient)."""

    raw = True
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)
    node_name = ("BinaryCrossEntropyWithLogitsBackward0", (0, 1))
    saved_input_names = ("self", "target", "weight", "pos_weight")
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py)
        "pos_weight": 3,
        "reduction": lambda n: REDUCTION_ENUM[n.reduction],
        "self": 0,
        "target": 1,
        "weight": 2,
    }
    saved_optional_inputs = {2: 2, 3: 3}  # None after backward where none was given

    @staticmethod
    def forward(ctx, x, t, weight, pos_weight, reduction):
        ctx.reduction, ctx.count = reduction, x.size
        ctx.save_for_backward(x, t, weight, pos_weight)
        if x.dtype != t.dtype:  # PyTorch's composition's roundings; the target's dtype
            shape = x.shape
            xs, ts = (x.reshape(1), t.reshape(1)) if x.ndim == 0 else (x, t)
            with np.errstate(invalid="ignore", over="ignore"):
                loss = _mixed_loss(xs, ts, weight, pos_weight).reshape(shape)
                if reduction != "none" and t.dtype in (np.float32, np.float64):
                    loss = loss.astype(t.dtype)  # summed in the target's dtype
                out = _total(loss, reduction, ctx.count)
            return get_array_module(loss).asarray(out).astype(t.dtype, copy=False)
        xw, tw = wide(x), wide(t)  # (float16 / bfloat16: in float32)
        w, p = _as(weight, xw.dtype), _as(pos_weight, xw.dtype)
        shape = x.shape
        if x.ndim == 0:  # (ufuncs into out= need arrays)
            xw, tw = xw.reshape(1), tw.reshape(1)
        with np.errstate(invalid="ignore", over="ignore"):
            loss = _loss(xw, tw, w, p)
            out = _total(loss.reshape(shape), reduction, ctx.count)
        return get_array_module(loss).asarray(out).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, t, weight, pos_weight = ctx.saved_tensors
        need_x, need_t = ctx.needs_input_grad[:2]
        mean = ctx.reduction == "mean"
        if not ctx.create_graph and type(x._data) is np.ndarray:
            xw, tw = wide(x._data), wide(t._data)
            if xw.dtype != tw.dtype:  # logits and targets of two dtypes: the wider one
                cd = np.promote_types(xw.dtype, tw.dtype)
                xw, tw = xw.astype(cd), tw.astype(cd)
            g = wide(grad._data).astype(xw.dtype, copy=False)
            if mean:
                g = g / ctx.count if ctx.count else g
            w = None if weight is None else _as(weight._data, xw.dtype)
            p = None if pos_weight is None else _as(pos_weight._data, xw.dtype)
            shape = x.shape
            if x.ndim == 0:
                xw, tw = xw.reshape(1), tw.reshape(1)
            mixed_pos = pos_weight is not None and x.dtype != t.dtype and need_x
            with np.errstate(invalid="ignore", over="ignore"):
                gx, gt = _slopes(xw, tw, w, p, need_x and not mixed_pos, need_t)
                gx = None if gx is None else elementwise(np.multiply, gx, g, out=gx)
                gt = None if gt is None else elementwise(np.multiply, gt, g, out=gt)
                if mixed_pos:  # PyTorch's roundings in the pos_weight-and-target dtype
                    xs, ts = (
                        (x._data.reshape(1), t._data.reshape(1))
                        if x.ndim == 0
                        else (
                            x._data,
                            t._data,
                        )
                    )
                    ws = None if weight is None else weight._data
                    gx = _mixed_slope_x(
                        xs, ts, ws, pos_weight._data, grad._data, ctx.count if mean else None
                    )
            return _grad(gx, shape, x.dtype), _grad(gt, shape, t.dtype), None, None, None
        if x.dtype != t.dtype:  # two dtypes: the formulas in the wider, each grad in its own
            xd, td = x.dtype, t.dtype
            x0, t0 = x._data.reshape(-1)[:0], t._data.reshape(-1)[:0]  # (0-d too)
            cd = np.promote_types(wide(x0).dtype, wide(t0).dtype)
            x, t, grad = x.to(cd), t.to(cd), grad.to(cd)
        else:
            xd = td = x.dtype
        g = grad / ctx.count if mean and ctx.count else grad
        if weight is not None:
            g = g * weight.to(x.dtype)
        p = None if pos_weight is None else pos_weight.to(x.dtype)
        gx = gt = None
        if need_x:
            s = sigmoid(x)
            gx = (s - t) if p is None else ((p - 1.0) * t + 1.0) * s - p * t
            gx = gx * g
        if need_t:
            gt = -x if p is None else (p - 1.0) * softplus(-x, 1.0, float("inf")) - x
            gt = gt * g
        if xd != td:
            gx = None if gx is None else gx.to(xd)
            gt = None if gt is None else gt.to(td)
        return gx, gt, None, None, None

    @staticmethod
    def jvp(ctx, tx, tt, tweight=None, tpos=None, *_):
        x, t, weight, pos_weight = ctx.saved_arrays
        xw, tw = wide(x), wide(t)
        if xw.dtype != tw.dtype:  # two dtypes: the wider one, the result in the target's
            cd = np.promote_types(xw.dtype, tw.dtype)
            xw, tw = xw.astype(cd), tw.astype(cd)
        w, p = _as(weight, xw.dtype), _as(pos_weight, xw.dtype)
        shape = x.shape
        if x.ndim == 0:
            xw, tw = xw.reshape(1), tw.reshape(1)
        with np.errstate(invalid="ignore", over="ignore"):
            gx, gt = _slopes(xw, tw, w, p, tx is not None, tt is not None)
            d = None if gx is None else gx * wide(tx).reshape(xw.shape)
            if gt is not None:
                dt = gt * wide(tt).reshape(xw.shape)
                d = dt if d is None else d + dt
            if tweight is not None:  # the loss is w * l: d/dw = l (pos_weight included)
                dw = _loss(xw, tw, None, p) * wide(tweight).astype(xw.dtype, copy=False)
                d = dw if d is None else d + dw
            if tpos is not None:  # l = ... + (1 + (p - 1) t) sp(-x): d/dp = w t sp(-x)
                dp = tw * _softplus_neg(xw) * wide(tpos).astype(xw.dtype, copy=False)
                dp = dp if w is None else dp * w
                d = dp if d is None else d + dp
            if d is None:
                return None
            out = _total(d.reshape(shape), ctx.reduction, ctx.count)
        # two dtypes: the tangent in the computing dtype (PyTorch's), else the logits'
        return (
            get_array_module(d)
            .asarray(out)
            .astype(d.dtype if x.dtype != t.dtype else x.dtype, copy=False)
        )
