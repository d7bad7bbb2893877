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

Logits and targets of two floating dtypes give a loss of the target's dtype, valued as
PyTorch's composition computes it (:func:`_mixed_loss`) and differentiated as its backward's
in-place steps (:func:`_mixed_grads`): each step in PyTorch's result dtype, where a 0-d
weight or pos_weight does not promote a tensor with dimensions (:func:`_step`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as _dt
from .._kernels import dispatch as _fast
from ..autograd.function import Function
from ..autograd.ieee import fp_ignoring
from ..autograd.saved_fields import REDUCTION_ENUM  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import is_bfloat16
from ..threads import elementwise
from ._util import wide
from .inplace import apply_inplace
from .loss_layouts import loss_layout
from .numpy_style import _div_number
from .unary import sigmoid, softplus

__all__ = ["BinaryCrossEntropyWithLogitsFn"]

# np.errstate(<events>="ignore")'s setting, entered in 0.4 us, not 1.1 (ieee.fp_ignoring)
_IGNORE_INVALID_OVER = fp_ignoring("invalid", "over")
_IGNORE_INVALID_OVER_DIVIDE = fp_ignoring("invalid", "over", "divide")
_IGNORE_OVER = fp_ignoring("over")


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


def _result_dtype(a: Any, b: Any) -> Any:
    """PyTorch's result dtype of arrays ``a`` and ``b`` (``b`` may be a Python number): a
    0-d operand beside one with dimensions counts only by category (chainrule's rules, not
    NumPy's: a float32 tensor with a 0-d float64 tensor stays float32)."""
    if not isinstance(b, np.ndarray) or a.dtype == b.dtype:
        return a.dtype
    if (a.ndim == 0) == (b.ndim == 0):
        return _dt.promote_types(a.dtype, b.dtype)
    if a.ndim:
        return _dt.combine_categories(a.dtype, b.dtype)
    return _dt.combine_categories(b.dtype, a.dtype)


def _step(ufunc: Any, a: Any, b: Any, inplace: bool = False, reverse: bool = False) -> Any:
    """One step of PyTorch's composition: ``a op b`` (``b op a`` with ``reverse``, ``b`` a
    Python number there) computed in the result dtype (float16 / bfloat16 in float32, their
    opmath; a 0-d second operand then enters at float32 precision from its own dtype, as
    PyTorch's CPU scalar path) and stored in it, or in ``a``'s dtype for an in-place step."""
    cd = _result_dtype(a, b)
    od = a.dtype if inplace else cd
    wd = np.float64 if cd == np.float64 else np.float32
    ca = np.asarray(a).astype(cd, copy=False).astype(wd, copy=False)
    if not isinstance(b, np.ndarray):
        cb = wd(b)
    elif b.ndim == 0 and a.ndim and wd is np.float32 and cd != np.float32:
        cb = b.astype(np.float32)
    else:
        cb = b.astype(cd, copy=False).astype(wd, copy=False)
    out = ufunc(cb, ca) if reverse else ufunc(ca, cb)
    return np.asarray(out).astype(od, copy=False)


def _own(fn: Any, x: Any) -> Any:
    """A unary kernel (on >= 1-d arrays) of ``x`` computed wide and given in x's dtype."""
    return np.asarray(fn(wide(x).reshape(-1))).reshape(x.shape).astype(x.dtype, copy=False)


def _log_sigmoid(x: Any) -> Any:
    return elementwise(np.negative, _softplus_neg(x))


def _mixed_loss(x: Any, t: Any, w: Any, p: Any) -> Any:
    """The per-element loss of logits ``x`` and targets ``t`` of two floating dtypes, in t's
    dtype, rounded as PyTorch's composition: ``ls = log_sigmoid(x)`` (``ls.mul_((p -
    1).mul(t).add_(1))`` with a positive weight), then ``(1 - t).mul_(x).sub_(ls)`` and
    ``.mul_(w)``, each step as :func:`_step` (PyTorch's result dtypes, 0-d rules included)."""
    ls = _own(_log_sigmoid, x)
    if p is not None:
        lw = _step(np.add, _step(np.multiply, _step(np.subtract, p, 1.0), t), 1.0, True)
        ls = _step(np.multiply, ls, lw, True)
    loss = _step(np.subtract, t, 1.0, reverse=True)
    loss = _step(np.subtract, _step(np.multiply, loss, x, True), ls, True)
    return loss if w is None else _step(np.multiply, loss, w, True)


def _mixed_grads(x: Any, t: Any, w: Any, p: Any, g: Any, count: int | None, need: tuple) -> tuple:
    """(dL/dx, dL/dt) times the incoming gradient ``g`` for logits and targets of two
    dtypes, with PyTorch's backward's steps and roundings (None where unneeded): dL/dx
    ``= (p t + 1 - t) σ(x) - p t`` (``σ(x) - t``) in place, ``* g``, ``* w``, ``/ count``;
    dL/dt ``= log_sigmoid(-x) - log_sigmoid(x) p`` in x's dtype (``-x * g`` without ``p``,
    that product out of place), ``* g``, ``* w``, ``/ count``."""
    gx = gt = None
    if need[0]:
        sig = _own(_sigmoid, x)
        if p is None:
            gx = _step(np.subtract, sig, t, True)
        else:
            pt = _step(np.multiply, p, t)
            gx = _step(np.subtract, _step(np.add, pt, 1.0), t, True)
            gx = _step(np.subtract, _step(np.multiply, gx, sig, True), pt, True)
        gx = _step(np.multiply, gx, g, True)
    if need[1]:
        if p is None:
            gt = _step(np.multiply, np.negative(x), g)
        else:
            lp = _step(np.multiply, _own(_log_sigmoid, x), p, True)
            gt = _step(np.subtract, _own(_log_sigmoid, np.negative(x)), lp, True)
            gt = _step(np.multiply, gt, g, True)
    out = []
    for a in (gx, gt):
        if a is not None and w is not None:
            a = _step(np.multiply, a, w, True)
        if a is not None and count is not None:
            a = _step(np.divide, a, float(count), True)
        out.append(a)
    return tuple(out)


def _bf16_or_f16(*dtypes: Any) -> bool:
    return any(d == np.float16 or is_bfloat16(d) for d in dtypes)


def _sigmoid(x: Any) -> Any:
    """σ(x) as a fresh array (the compiled float32 kernel where it applies)."""
    s = _fast.sigmoid(x) if type(x) is np.ndarray else None
    if s is not None:
        return s
    s = elementwise(np.negative, x)
    with _IGNORE_OVER():  # e^-x = inf: 1 / (1 + inf) = 0, the exact limit
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
        else:  # (p t + 1 - t) σ - p t, in PyTorch's order (its roundings)
            pt = elementwise(np.multiply, p, t)
            lw = elementwise(np.add, pt, 1.0)
            elementwise(np.subtract, lw, t, out=lw)
            elementwise(np.multiply, lw, gx, out=gx)
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


def _grad(a: Any, shape: tuple, dtype: Any, version: int = 0) -> Tensor | None:
    """A raw gradient array (or None) as a Tensor of the input's shape and dtype, with the
    ``version`` PyTorch's backward leaves on it (:func:`_versions`)."""
    if a is None:
        return None
    out = Tensor._make(np.asarray(a).reshape(shape).astype(dtype, copy=False), False, None, 0)
    if version:
        out._vc[0] = version
    return out


def _versions(weighted: bool, positive: bool, mean: bool) -> tuple:
    """The versions of (dL/dx, dL/dt) PyTorch's first-order backward leaves: its in-place
    steps counted (``binary_cross_entropy_with_logits_backward``: ``sigmoid(x).sub_(t)`` and
    ``.mul_(grad)``, or with ``pos_weight`` ``t.add(1).sub_(t).mul_(sig).sub_(pt)`` and
    ``.mul_(grad)``; the target's ``-x * grad``, or ``log_sigmoid(-x).sub_(...).mul_(grad)``;
    then ``.mul_(weight)`` and, for 'mean', ``.div_(n)`` on both)."""
    tail = weighted + mean
    return (4 if positive else 2) + tail, (2 if positive else 0) + tail


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
            with _IGNORE_INVALID_OVER_DIVIDE():
                loss = _mixed_loss(x, t, weight, pos_weight)
                out = _total(wide(loss), reduction, ctx.count)  # (halves: a float32 sum)
            out = get_array_module(loss).asarray(out).astype(t.dtype, copy=False)
            return loss_layout(out, t, x)  # 'none': PyTorch's layout by (t, x)
        xw, tw = wide(x), wide(t)  # (float16 / bfloat16: in float32)
        w, p = _as(weight, xw.dtype), _as(pos_weight, xw.dtype)
        shape = x.shape
        if x.ndim == 0:  # (ufuncs into out= need arrays)
            xw, tw = xw.reshape(1), tw.reshape(1)
        with _IGNORE_INVALID_OVER():
            loss = _loss(xw, tw, w, p)
            out = _total(loss.reshape(shape), reduction, ctx.count)
        out = get_array_module(loss).asarray(out).astype(x.dtype, copy=False)
        return loss_layout(out, t, x)  # 'none': PyTorch's layout by (t, x)

    @staticmethod
    def backward(ctx, grad):
        x, t, weight, pos_weight = ctx.saved_tensors
        need_x, need_t = ctx.needs_input_grad[:2]
        mean = ctx.reduction == "mean"
        if not ctx.create_graph and type(x._data) is np.ndarray:
            if x.dtype != t.dtype:  # two dtypes: PyTorch's backward's steps and roundings
                ws = None if weight is None else weight._data
                ps = None if pos_weight is None else pos_weight._data
                count = ctx.count if mean and ctx.count else None
                with _IGNORE_INVALID_OVER_DIVIDE():
                    gx, gt = _mixed_grads(
                        x._data, t._data, ws, ps, grad._data, count, (need_x, need_t)
                    )
                vx, vt = _versions(ws is not None, ps is not None, mean)
                # a gradient PyTorch computed in another dtype is cast by its engine: a new
                # tensor, version 0
                vx = vx if gx is not None and gx.dtype == x.dtype else 0
                vt = vt if gt is not None and gt.dtype == t.dtype else 0
                return (
                    _grad(gx, x.shape, x.dtype, vx),
                    _grad(gt, t.shape, t.dtype, vt),
                    None,
                    None,
                    None,
                )
            xw, tw = wide(x._data), wide(t._data)
            g = wide(grad._data).astype(xw.dtype, copy=False)
            if mean:
                g = g / ctx.count if ctx.count else g
            w = None if weight is None else _as(weight._data, xw.dtype)
            p = None if pos_weight is None else _as(pos_weight._data, xw.dtype)
            shape = x.shape
            if x.ndim == 0:
                xw, tw = xw.reshape(1), tw.reshape(1)
            with _IGNORE_INVALID_OVER():
                gx, gt = _slopes(xw, tw, w, p, need_x, need_t)
                gx = None if gx is None else elementwise(np.multiply, gx, g, out=gx)
                gt = None if gt is None else elementwise(np.multiply, gt, g, out=gt)
            vx, vt = _versions(w is not None, p is not None, mean)
            if p is not None and _result_dtype(pos_weight._data, t._data) != x.dtype:
                vx = 0  # PyTorch's pos_weight * t promoted: its engine casts dL/dx (new)
            return _grad(gx, shape, x.dtype, vx), _grad(gt, shape, t.dtype, vt), None, None, None
        if x.dtype != t.dtype:  # two dtypes: the formulas in the wider, each grad in its own
            xd, td = x.dtype, t.dtype
            x0, t0 = x._data.reshape(-1)[:0], t._data.reshape(-1)[:0]  # (0-d too)
            cd = np.promote_types(wide(x0).dtype, wide(t0).dtype)
            x, t, grad = x.to(cd), t.to(cd), grad.to(cd)
        else:
            xd = td = x.dtype
        # PyTorch's steps and nodes: ``* grad``, ``* weight``, then 'mean''s ``div_`` in
        # place (DivBackward1, version 1); the target's weight and the division in place
        # too, its version counted as PyTorch's in-place steps (_versions)
        w = None if weight is None else weight.to(x.dtype)
        p = None if pos_weight is None else pos_weight.to(x.dtype)
        count = ctx.count if mean and ctx.count else None
        gx = gt = None
        if need_x:
            s = sigmoid(x)
            gx = (s - t) if p is None else ((p - 1.0) * t + 1.0) * s - p * t
            gx = gx * grad
            if w is not None:
                gx = gx * w
            if count:  # PyTorch's C++ div_ by a Scalar: DivBackward1
                gx = apply_inplace(gx, "div_", _div_number, count)
        if need_t:
            gt = -x if p is None else (p - 1.0) * softplus(-x, 1.0, float("inf")) - x
            gt = gt * grad
            if w is not None:
                gt = gt.mul_(w)
            if count:
                gt = apply_inplace(gt, "div_", _div_number, count)
            if p is not None:  # PyTorch's sub_ and mul_(grad) before those
                gt._vc[0] += 2
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
        with _IGNORE_INVALID_OVER():
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
