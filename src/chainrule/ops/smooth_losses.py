"""``smooth_l1_loss`` and ``huber_loss`` as one graph node each, under PyTorch's names.

They were compositions (a difference, an absolute value, a mask, two ``where`` branches and
the reduction: six or more nodes that saved the difference). As single nodes they print as
PyTorch's (``SmoothL1LossBackward0``, ``HuberLossBackward0``) for every reduction and save
what PyTorch's save, the input and the target, so modifying either in place after forward
raises as in PyTorch. With ``d = x - y`` and ``m = min(|d|, b)``:

* Huber (``b = delta``): ``½ d²`` where ``|d| < b``, else ``b (|d| - ½ b)``; both are
  ``m (|d| - ½ m)``. ``dL/dx = clip(d, -b, b)``.
* smooth L1 (``b = beta > 0``): ``½ d² / b`` where ``|d| < b``, else ``|d| - ½ b``; both are
  ``(|d| - ½ m) (m / b)``. ``dL/dx = clip(d / b, -1, 1)``.

``dL/dy = -dL/dx``; 'mean' divides by the element count, 'sum' adds. A NaN difference stays
NaN in the loss and its gradient; an infinite one has an infinite loss and a gradient of
``±b`` (Huber) or ``±1`` (smooth L1), as PyTorch's. ``beta = 0`` (plain L1) is not a node
here: PyTorch composes it as ``abs`` and the reduction, and so does the functional.

A plain backward computes on raw arrays on the intra-op threads; with ``create_graph=True``
the same formula is written with Tensor ops, so it differentiates again. float16 sums in
float32 and rounds once, as ``MseLossFn``; bfloat16 computes wholly in float32 inside the node
and rounds once (PyTorch's one node, no casts around it).

Huber of two floating dtypes is PyTorch's: 'none' computes in the promoted dtype and rounds to
the input's, a reduction casts the target to the input's dtype first; its backward raises
PyTorch's "Found dtype ... but expected ..." (PyTorch has no gradient for two dtypes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._type_names import type_name
from ..autograd.function import Function
from ..autograd.ieee import fp_ignoring
from ..autograd.saved_fields import REDUCTION_ENUM  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..threads import elementwise
from ._util import wide
from .loss_layouts import loss_layout, row_major_grad

__all__ = ["HuberLossFn", "SmoothL1LossFn"]

# np.errstate(<events>="ignore")'s setting, entered in 0.4 us, not 1.1 (ieee.fp_ignoring)
_IGNORE_INVALID_OVER = fp_ignoring("invalid", "over")


def _scalar(dtype: Any) -> str:
    """PyTorch's scalar-type name of ``dtype`` (``Float``, ``Double``, ``BFloat16``)."""
    return type_name(dtype).removeprefix("torch.").removesuffix("Tensor")


def _pointwise(x: Any, y: Any, b: float, huber: bool) -> Any:
    """The per-element loss of ``x - y`` (same shapes) in x's dtype, as a fresh array."""
    xp = get_array_module(x)
    d = elementwise(np.subtract, x, y)
    ad = elementwise(np.absolute, d, out=d) if d.ndim else xp.abs(d)
    m = elementwise(np.minimum, ad, b)  # NaN propagates
    if huber:  # m (|d| - m/2)
        h = elementwise(np.multiply, m, -0.5)
        h = elementwise(np.add, h, ad, out=h if h.ndim else None)
        return elementwise(np.multiply, h, m, out=h if h.ndim else None)
    h = elementwise(np.multiply, m, -0.5)  # (|d| - m/2) (m / b)
    h = elementwise(np.add, h, ad, out=h if h.ndim else None)
    s = elementwise(np.divide, m, b, out=m if m.ndim else None)
    return elementwise(np.multiply, h, s, out=h if h.ndim else None)


def _reduce(loss: Any, reduction: str) -> tuple:
    """(the reduced loss, the element count) as ``MseLossFn`` reduces."""
    if reduction == "none":
        return loss, loss.size
    n = loss.size
    total = (
        loss.sum(dtype=np.float32).astype(np.float16) if loss.dtype == np.float16 else loss.sum()
    )
    if reduction == "mean":
        total = total / n if n else total * float("nan")
    return get_array_module(loss).asarray(total).astype(loss.dtype, copy=False), n


def _slope_raw(x: Any, y: Any, b: float, huber: bool) -> Any:
    """``clip(d, -b, b)`` (Huber) or ``clip(d / b, -1, 1)`` (smooth L1), a fresh array."""
    d = elementwise(np.subtract, x, y)
    lim = b
    if not huber:
        d = elementwise(np.divide, d, b, out=d if d.ndim else None)
        lim = 1.0
    d = elementwise(np.minimum, d, lim, out=d if d.ndim else None)
    return elementwise(np.maximum, d, -lim, out=d if d.ndim else None)


class _Slope(Function):
    """The recorded backward's slope ``clip(d, -b, b)`` (Huber) or ``clip(d / b, -1, 1)``
    (smooth L1), differentiated as PyTorch's ``huber_loss_double_backward`` /
    ``smooth_l1_loss_double_backward``: ``g * (|d| < b)`` (``/ b``), a strict mask (0 at
    ``|d| = b``) multiplied in (so a NaN ``g`` stays NaN), where clamp's own derivative is 1
    at its bounds and masks by selection."""

    raw = True

    @staticmethod
    def forward(ctx, d, b, huber):
        ctx.b, ctx.huber = b, huber
        ctx.save_for_backward(d)
        with _IGNORE_INVALID_OVER():
            return _slope_raw(d, d.dtype.type(0), b, huber)

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        with _IGNORE_INVALID_OVER():
            inside = get_array_module(d._data).abs(d._data) < ctx.b
        gd = g * Tensor._make(inside.astype(g.dtype), False, None, 0)
        return (gd if ctx.huber else gd / ctx.b), None, None

    @staticmethod
    def jvp(ctx, td, *_):
        """The same strict mask on the tangent (forward over reverse: ``hessian``)."""
        (d,) = ctx.saved_arrays
        with _IGNORE_INVALID_OVER():
            inside = get_array_module(d).abs(d) < ctx.b
            dt = td * inside.astype(td.dtype, copy=False)
        return dt if ctx.huber else dt / ctx.b


class _SmoothLoss(Function):
    """The shared node: ``forward(ctx, x, y, reduction, b)`` with same-shaped ``x``, ``y``."""

    raw = True
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)
    huber = False
    saved_input_names = ("self", "target")

    @classmethod
    def forward(cls, ctx, x, y, reduction, b):
        ctx.reduction, ctx.b = reduction, b
        ctx.save_for_backward(x, y)
        xw, yw = wide(x), wide(y)  # (bfloat16: in float32)
        if cls.huber and x.dtype != y.dtype:  # two dtypes, as PyTorch's Huber: 'none' in the
            if reduction == "none":  # promoted dtype, rounded to x's; a reduction casts y
                cd = np.promote_types(xw.dtype, yw.dtype)  # to x's dtype first
                xw, yw = xw.astype(cd, copy=False), yw.astype(cd, copy=False)
            else:
                yw = wide(y.astype(x.dtype))
        with _IGNORE_INVALID_OVER():
            out, ctx.count = _reduce(_pointwise(xw, yw, b, cls.huber), reduction)
        out = out if out.dtype == x.dtype else out.astype(x.dtype)
        return loss_layout(out, x, y)  # 'none': PyTorch's layout by (x, y)

    @classmethod
    def backward(cls, ctx, grad):
        x, y = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if cls.huber and x.dtype != y.dtype:  # PyTorch's Huber backward refuses two dtypes
            a, e = (y, x) if needs[0] else (x, y)
            raise RuntimeError(
                f"huber_loss backward: Found dtype {_scalar(a.dtype)} but expected "
                f"{_scalar(e.dtype)} (input and target of two dtypes have no gradient in "
                "PyTorch; cast one to the other's dtype)"
            )
        b, mean = ctx.b, ctx.reduction == "mean"
        if not ctx.create_graph and type(x._data) is np.ndarray and type(grad._data) is np.ndarray:
            g = wide(grad._data)  # (bfloat16: in float32, rounded once)
            if mean:
                g = g / ctx.count
            with _IGNORE_INVALID_OVER():
                s = _slope_raw(wide(x._data), wide(y._data), b, cls.huber)
                gx = elementwise(np.multiply, s, g, out=s if s.ndim and g.ndim == 0 else None)
                gx = np.asarray(gx).astype(x.dtype, copy=False)
                gy = elementwise(np.negative, gx) if needs[1] else None
            # PyTorch's: both gradients row-major, whatever the operands' layouts
            gx_t = row_major_grad(Tensor._make(gx, False, None, 0)) if needs[0] else None
            gy_t = (
                row_major_grad(Tensor._make(np.asarray(gy), False, None, 0)) if needs[1] else None
            )
            return gx_t, gy_t, None, None
        g = grad / ctx.count if mean else grad
        gx = row_major_grad(_Slope.apply(x - y, b, cls.huber) * g)
        return gx if needs[0] else None, -gx if needs[1] else None, None, None

    @classmethod
    def jvp(cls, ctx, tx, ty, *_):
        x, y = ctx.saved_arrays
        t = -wide(ty) if tx is None else wide(tx) if ty is None else wide(tx) - wide(ty)
        with _IGNORE_INVALID_OVER():
            dt = _slope_raw(wide(x), wide(y), ctx.b, cls.huber) * t
        if ctx.reduction == "none":
            return dt.astype(x.dtype, copy=False)
        total = dt.sum()
        if ctx.reduction == "mean":
            total = total / ctx.count if ctx.count else total * float("nan")
        return get_array_module(x).asarray(total).astype(x.dtype, copy=False)


class SmoothL1LossFn(_SmoothLoss):
    """Smooth L1 loss with ``beta > 0`` and its reduction (``SmoothL1LossBackward0``)."""

    node_name = ("SmoothL1LossBackward0", (0, 1))
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py)
        "beta": lambda n: n.b,
        "reduction": lambda n: REDUCTION_ENUM[n.reduction],
        "self": 0,
        "target": 1,
    }


class HuberLossFn(_SmoothLoss):
    """Huber loss with ``delta > 0`` and its reduction (``HuberLossBackward0``)."""

    huber = True
    node_name = ("HuberLossBackward0", (0, 1))
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py)
        "delta": lambda n: n.b,
        "reduction": lambda n: REDUCTION_ENUM[n.reduction],
        "self": 0,
        "target": 1,
    }
