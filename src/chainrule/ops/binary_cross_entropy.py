"""``binary_cross_entropy`` (probabilities) as one graph node, PyTorch's
``BinaryCrossEntropyBackward0``, its weight and reduction inside.

It was a node for the elementwise loss followed by a product with the weight and a reduction
(three nodes, printing as ``MeanBackward0``). As one node it prints as PyTorch's for every
reduction, lists the input and the target, and saves what PyTorch's saves (``self``,
``target``, ``weight``), so modifying any of them in place after forward raises as in
PyTorch.

With probabilities ``x``, targets ``t`` and ``w`` the weight (1 without):

* loss ``= w ((t - 1) max(log(1 - x), -100) - t max(log x, -100))`` (logs clamped at -100,
  as PyTorch's, so ``x = 0`` or ``1`` gives a finite loss).
* ``dL/dx = w (x - t) / max((1 - x) x, ε)``, ``ε`` float32's 1e-12 (float16's 0).
* ``dL/dt = -w logit(x) = -w log(x / (1 - x))``, unclamped as PyTorch's (infinite at
  ``x = 0`` or ``1``): PyTorch differentiates the target too.

``w`` broadcasts to x's shape (the functional has checked that) and takes no gradient
(PyTorch refuses a weight that requires one, and so does the functional). 'mean' divides
the total by the element count (NaN for no elements). float16 and bfloat16 compute as
PyTorch's CPU kernel does, every step rounded to the dtype (NumPy's float16 and
``ml_dtypes``' bfloat16 ufuncs compute each step in float32 and round it), and sum in
float32, rounding the total once; their results equal PyTorch's. A plain backward computes
on raw arrays on the intra-op threads; with ``create_graph=True`` the same formulas are
written with Tensor ops, so they differentiate again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.ieee import fp_ignoring
from ..autograd.saved_fields import REDUCTION_ENUM  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import is_bfloat16
from ..threads import elementwise
from ._first_order import FUNCTION_SLOTS, PLAIN_APPLY
from .clamping import clamp
from .loss_layouts import loss_layout, loss_layout_tensor

__all__ = ["BinaryCrossEntropyFn"]

# np.errstate(<events>="ignore")'s setting, entered in 0.4 us, not 1.1 (ieee.fp_ignoring)
_IGNORE_DIVIDE_INVALID = fp_ignoring("divide", "invalid")
_IGNORE_DIVIDE_INVALID_OVER = fp_ignoring("divide", "invalid", "over")
_IGNORE_INVALID = fp_ignoring("invalid")
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)

_EPS = np.float32(1e-12)  # PyTorch's floor of x (1 - x), a float32 constant in every dtype


def _low(dtype: Any) -> bool:
    """float16 or bfloat16 (summed in float32)."""
    return dtype == np.float16 or is_bfloat16(dtype)


def _weight_dtype(dtype: Any, wdtype: Any) -> Any:
    """The dtype ``loss * weight`` is computed in before it is rounded to the loss's dtype:
    PyTorch's promotion of the two (an integer weight takes the loss's dtype; float16 with
    bfloat16 is float32)."""
    if wdtype == dtype or wdtype.kind in "biu":
        return dtype
    wide = [np.dtype(np.float32) if _low(d) else np.dtype(d) for d in (dtype, wdtype)]
    return np.promote_types(*wide)


def _times_weight(a: Any, w: Any) -> Any:
    """``a * w`` in PyTorch's promoted dtype, rounded to a's dtype (a fresh array when
    ``a`` is a temporary: it is written in place where the shapes allow)."""
    if w is None:
        return a
    dt = _weight_dtype(a.dtype, w.dtype)
    if dt == a.dtype:
        w = w.astype(dt, copy=False)
        inplace = a.ndim and np.broadcast_shapes(a.shape, w.shape) == a.shape
        return elementwise(np.multiply, a, w, out=a if inplace else None)
    return np.multiply(a.astype(dt), w.astype(dt, copy=False)).astype(a.dtype)


def _divide(a: Any, n: int) -> Any:
    """``a / n`` for 'mean' (float16/bfloat16: computed in float32, rounded once, as
    PyTorch's division of a low-precision gradient by the count)."""
    if not n:
        return a
    if _low(a.dtype):
        return (a.astype(np.float32) / np.float32(n)).astype(a.dtype)
    return a / n


def _loss(x: Any, t: Any, w: Any) -> Any:
    """The per-element loss in x's dtype (arrays of x's shape, >= 1-d)."""
    one, floor = x.dtype.type(1), x.dtype.type(-100)
    with _IGNORE_DIVIDE_INVALID():
        lx = elementwise(np.log, x)
        elementwise(np.maximum, lx, floor, out=lx)
        l1 = elementwise(np.negative, x)
        elementwise(np.log1p, l1, out=l1)
        elementwise(np.maximum, l1, floor, out=l1)
    tm = elementwise(np.subtract, t, one)  # (t - 1) l1 - t lx
    elementwise(np.multiply, tm, l1, out=tm)
    elementwise(np.multiply, lx, t, out=lx)
    elementwise(np.subtract, tm, lx, out=tm)
    return _times_weight(tm, w)


def _total(a: Any, reduction: str, count: int) -> Any:
    """``a`` reduced: 'none' as it is, 'sum', or 'mean' (NaN for no elements, as PyTorch);
    float16/bfloat16 summed in float32 and rounded once, as PyTorch's (and ``Sum``)."""
    if reduction == "none":
        return a
    total = a.sum(dtype=np.float32) if _low(a.dtype) else a.sum()
    if reduction == "mean":
        with _IGNORE_INVALID():
            total = total / count if count else total * float("nan")
    return get_array_module(a).asarray(total).astype(a.dtype, copy=False)


def _slopes(g: Any, x: Any, t: Any, w: Any, need_x: bool, need_t: bool, n: int) -> tuple:
    """(dL/dx, dL/dt) times ``g`` (x's dtype, x's shape or 0-d) in PyTorch's order of
    operations (each step rounded to the dtype), divided by ``n`` (1 but for 'mean')."""
    one = x.dtype.type(1)
    gx = gt = None
    with _IGNORE_DIVIDE_INVALID_OVER():
        if need_x:  # g (x - t) / max((1 - x) x, eps) w / n
            den = elementwise(np.subtract, one, x)
            elementwise(np.multiply, den, x, out=den)
            elementwise(np.maximum, den, x.dtype.type(_EPS), out=den)
            gx = elementwise(np.subtract, x, t)
            gx = elementwise(np.multiply, g, gx, out=gx if g.shape == () else None)
            elementwise(np.divide, gx, den, out=gx)
            gx = _divide(_times_weight(gx, w), n)
        if need_t:  # g (-log(x / (1 - x))) w / n
            lg = elementwise(np.subtract, one, x)
            elementwise(np.divide, x, lg, out=lg)
            elementwise(np.log, lg, out=lg)
            elementwise(np.negative, lg, out=lg)
            gt = elementwise(np.multiply, g, lg, out=lg if g.shape == () else None)
            gt = _divide(_times_weight(gt, w), n)
    return gx, gt


def _fused(x: np.ndarray) -> bool:
    """Whether a first-order backward computes on the arrays (:func:`_slopes`): yes but
    while a profiler or FLOP counter records (it swaps ``Function.apply``) in float32 or
    float64, where the recorded Tensor ops (the ``create_graph`` formulas, the same steps
    in the same order: bit for bit the same gradients) let it list the backward's ops, as
    torch's lists ``aten::binary_cross_entropy_backward``; halves keep their per-step
    rounding either way."""
    return FUNCTION_SLOTS["apply"] is PLAIN_APPLY or (x.dtype != _F32 and x.dtype != _F64)


def _grad(a: Any, shape: tuple) -> Tensor | None:
    """A raw gradient array (or None) as a Tensor of the input's shape."""
    if a is None:
        return None
    return Tensor._make(np.asarray(a).reshape(shape), False, None, 0)


class BinaryCrossEntropyFn(Function):
    """``forward(ctx, x, t, weight, reduction)``: x and t probabilities of one shape and
    dtype, ``weight`` None or an array broadcasting to x's shape (no gradient)."""

    raw = True
    native_bfloat16 = True  # PyTorch's rounding inside (run_in_float32 leaves it alone)
    node_name = ("BinaryCrossEntropyBackward0", (0, 1))
    saved_input_names = ("self", "target", "weight")
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py)
        "reduction": lambda n: REDUCTION_ENUM[n.reduction],
        "self": 0,
        "target": 1,
        "weight": 2,  # the caller's (PyTorch: expanded to the input's shape, a new view)
    }
    saved_optional_inputs = {2: 2}  # weight: None after backward where none was given

    @staticmethod
    def forward(ctx, x, t, weight, reduction):
        ctx.reduction, ctx.count = reduction, x.size
        ctx.save_for_backward(x, t, weight)
        shape = x.shape
        xa, ta = (x.reshape(1), t.reshape(1)) if x.ndim == 0 else (x, t)  # (ufuncs into out=)
        loss = _loss(xa, ta, weight).reshape(shape)
        return loss_layout(_total(loss, reduction, ctx.count), x, t)  # PyTorch's: by (x, t)

    @staticmethod
    def backward(ctx, grad):
        x, t, weight = ctx.saved_tensors
        need_x, need_t = ctx.needs_input_grad[:2]
        n = ctx.count if ctx.reduction == "mean" else 0
        if not ctx.create_graph and type(x._data) is np.ndarray and _fused(x._data):
            xd, td = x._data, t._data
            shape = xd.shape
            if xd.ndim == 0:
                xd, td = xd.reshape(1), td.reshape(1)
            g = np.asarray(grad._data).astype(xd.dtype, copy=False)
            if ctx.reduction == "none":
                g = g.reshape(xd.shape)
            w = None if weight is None else weight._data
            gx, gt = _slopes(g, xd, td, w, need_x, need_t, n)
            gx, gt = loss_layout(gx, xd, td, g), loss_layout(gt, xd, td, g)  # by (x, t, g)
            return _grad(gx, shape), _grad(gt, shape), None, None
        gx = gt = None
        if need_x:
            gx = grad * (x - t) / clamp((1.0 - x) * x, float(_EPS), None)
            if weight is not None:
                gx = gx * weight.to(x.dtype)
            gx = gx / n if n else gx
        if need_t:
            gt = grad * -x.logit()
            if weight is not None:
                gt = gt * weight.to(x.dtype)
            gt = gt / n if n else gt
        return loss_layout_tensor(gx, x, t, grad), loss_layout_tensor(gt, x, t, grad), None, None

    @staticmethod
    def jvp(ctx, tx, tt, *_):
        x, t, weight = ctx.saved_arrays
        shape = x.shape
        xa, ta = (x.reshape(1), t.reshape(1)) if x.ndim == 0 else (x, t)
        ux = None if tx is None else tx.astype(x.dtype, copy=False).reshape(xa.shape)
        ut = None if tt is None else tt.astype(x.dtype, copy=False).reshape(xa.shape)
        dx = dt = None
        if ux is not None:
            dx, _ = _slopes(ux, xa, ta, weight, True, False, 0)
        if ut is not None:
            _, dt = _slopes(ut, xa, ta, weight, False, True, 0)
        d = dx if dt is None else dt if dx is None else dx + dt
        if d is None:  # only the weight has a tangent: not differentiated (PyTorch: none)
            return None
        return _total(d.reshape(shape), ctx.reduction, ctx.count)
