"""``soft_margin_loss``, ``multi_margin_loss`` and ``multilabel_margin_loss`` as one graph
node each, under PyTorch's names.

They were compositions (softplus of a negated product and the reduction; a gather, a
``relu``, a mask, a row sum and the reduction: up to a dozen nodes). As one node each they
print as PyTorch's (``SoftMarginLossBackward0``, ``MultiMarginLossBackward0``), list the input
alone (neither has a gradient for its target, nor multi-margin for its weight) and save what
PyTorch's save (input, target, weight, margin, p, reduction).

* soft margin: ``log(1 + exp(-y x))`` written as ``max(z, 0) + log1p(exp(-|z|))`` with
  ``z = -y x`` (finite wherever the loss is; PyTorch's kernel overflows to ``inf`` past
  ``z ≈ 709``); ``dL/dx = -y σ(-y x)``. Differentiable twice (the gradient is written with
  Tensor ops under ``create_graph``, as PyTorch's ``SoftMarginLossBackwardBackward0``).
* multi margin: per row ``Σ_{j≠y} w_y max(0, margin - x_y + x_j)^p / C`` (``p`` 1 or 2; a
  NaN term counts 0, as PyTorch's ``z > 0`` test); the gradient ``h_j = w_y p z^(p-1) / C``
  on the positive terms, ``-Σ_j h_j`` at the target. As in PyTorch, the gradient has no
  derivative (differentiating it again raises PyTorch's error); the tangent rule is the
  same linear map (chainrule's; PyTorch has none).
* multi-label margin: per row ``Σ_{j listed} Σ_{i not a target} max(0, 1 - x_j + x_i) / C``
  (the targets end at the first -1; one listed twice counts twice); the gradient ``+1/C`` at
  ``i`` and ``-1/C`` at ``j`` per positive term; no derivative of its own, as multi margin.

'mean' divides by the element count (rows), 'sum' adds; float16 / bfloat16 compute in float32
and round once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.saved_fields import REDUCTION_ENUM  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import MetaArray
from ._util import wide
from .binary import Add, Mul, Sub, _call
from .clamping import Clamp
from .loss_layouts import loss_layout, loss_layout_tensor
from .no_derivative import record_no_derivative

__all__ = ["MultiMarginLossFn", "MultilabelMarginLossFn", "SoftMarginLossFn"]


def _const(array: Any) -> Tensor:
    return Tensor._make(array, False, None, 0)


def _reduced(loss: Any, reduction: str, dtype: Any) -> Any:
    xp = get_array_module(loss)
    if reduction == "none":
        return xp.asarray(loss).astype(dtype, copy=False)
    total = loss.sum()
    if reduction == "mean":
        total = total / loss.size if loss.size else total * float("nan")
    return xp.asarray(total).astype(dtype, copy=False)


def _scaled_grad(g: Any, reduction: str, count: int) -> Any:
    return g / count if reduction == "mean" else g


def _sigmoid_neg_margin(x: Any, y: Any) -> Any:
    """``-y σ(-y x)`` on arrays (stable for either sign), in the wide dtype."""
    xp = get_array_module(x)
    z = -(y * x)
    e = xp.exp(-xp.abs(z))
    s = xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return -y * s


class SoftMarginLossFn(Function):
    """``log(1 + exp(-target * input))`` reduced; ``forward(ctx, x, target, reduction)``."""

    raw = True
    native_bfloat16 = True  # float32 inside, rounded once
    node_name = ("SoftMarginLossBackward0", (0,))
    saved_fields = {  # grad_fn._saved_* as PyTorch's
        "reduction": lambda n: REDUCTION_ENUM[n.reduction],
        "self": 0,
        "target": 1,
    }

    @staticmethod
    def forward(ctx, x, y, reduction):
        ctx.reduction, ctx.count = reduction, x.size
        ctx.save_for_backward(x, y)
        xp = get_array_module(x)
        with np.errstate(over="ignore", invalid="ignore"):
            z = -(wide(y) * wide(x))
            loss = xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))
            loss = xp.broadcast_to(loss, x.shape)
        return loss_layout(_reduced(loss, reduction, x.dtype), x, y)  # 'none': by (x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if not ctx.create_graph:
            g = _scaled_grad(wide(grad._data), ctx.reduction, ctx.count)
            with np.errstate(over="ignore", invalid="ignore"):
                gx = _sigmoid_neg_margin(wide(x._data), wide(y._data)) * g
            xp = get_array_module(gx)
            gx = xp.broadcast_to(gx, x.shape).astype(x.dtype)
            return _const(loss_layout(gx, y._data, x._data, grad._data)), None, None
        g = _scaled_grad(grad, ctx.reduction, ctx.count)
        yt = y.to(x.dtype)
        gx = -yt * (-(yt * x)).sigmoid() * g
        if gx.shape != x.shape:
            gx = gx.expand(x.shape)
        return loss_layout_tensor(gx, y, x, grad), None, None  # by (target, x, g)

    @staticmethod
    def jvp(ctx, t, *_):
        x, y = ctx.saved_arrays
        with np.errstate(over="ignore", invalid="ignore"):
            dt = _sigmoid_neg_margin(wide(x), wide(y)) * wide(t)
        dt = get_array_module(dt).broadcast_to(dt, x.shape)
        return _reduced(dt, ctx.reduction, x.dtype)


def _margins(x: Any, t: Any, margin: float) -> tuple:
    """(``margin - x_y + x_j`` with the target column and non-positive terms 0, the rows)."""
    xp = get_array_module(x)
    rows = xp.arange(x.shape[0])
    z = (margin - x[rows, t])[:, None] + x
    z = xp.where(z > 0, z, 0.0).astype(x.dtype, copy=False)  # NaN counts 0, as PyTorch
    z[rows, t] = 0
    return z, rows


class MultiMarginLossFn(Function):
    """The multi-class hinge loss; ``forward(ctx, x, target, p, margin, weight, reduction)``
    with ``x`` (C,) or (N, C), ``target`` the class indices, ``weight`` an array or None."""

    raw = True
    native_bfloat16 = True  # float32 inside, rounded once
    node_name = ("MultiMarginLossBackward0", (0,))
    saved_fields = {  # grad_fn._saved_* as PyTorch's
        "margin": lambda n: n.margin,
        "p": lambda n: n.p,
        "reduction": lambda n: REDUCTION_ENUM[n.reduction],
        "self": 0,
        "target": 1,
        "weight": lambda n: None if n.weight is None else _const(n.weight),
    }

    @staticmethod
    def _parts(ctx, x: Any, t: Any) -> tuple:
        """(the 2-d wide input, the flat targets, the clipped margins, the row weights)."""
        x2 = wide(x).reshape(-1, x.shape[-1]) if x.ndim else wide(x).reshape(1, 1)
        t = t.reshape(-1).astype(np.intp)
        z, rows = _margins(x2, t, ctx.margin)
        w = None if ctx.weight is None else wide(ctx.weight)[t].astype(x2.dtype)[:, None]
        return x2, t, z, rows, w

    @staticmethod
    def forward(ctx, x, target, p, margin, weight, reduction):
        ctx.p, ctx.margin, ctx.weight, ctx.reduction = p, margin, weight, reduction
        ctx.save_for_backward(x, target)
        x2, t, z, rows, w = MultiMarginLossFn._parts(ctx, x, target)
        ctx.count = x2.shape[0]
        with np.errstate(over="ignore", invalid="ignore"):
            h = z * z if p == 2 else z
            if w is not None:
                h = h * w
            loss = h.sum(1) / x2.shape[1]
        if x.ndim <= 1:
            loss = loss.reshape(())
        return _reduced(loss, reduction, x.dtype)

    @staticmethod
    def _slopes(ctx, x: Any, target: Any) -> tuple:
        """(``dL_i/dx`` per element, 2-d), the row count."""
        x2, t, z, rows, w = MultiMarginLossFn._parts(ctx, x, target)
        with np.errstate(over="ignore", invalid="ignore"):
            h = 2 * z if ctx.p == 2 else (z > 0).astype(x2.dtype)
            if w is not None:
                h = h * w
            h = h / x2.shape[1]
            h[rows, t] = -h.sum(1)
        return h

    @staticmethod
    def backward(ctx, grad):
        x, target = ctx.saved_tensors
        h = MultiMarginLossFn._slopes(ctx, x._data, target._data)
        g = _scaled_grad(wide(grad._data), ctx.reduction, ctx.count)
        gx = h * (g.reshape(-1, 1) if ctx.reduction == "none" else g)
        out = _const(gx.reshape(x.shape).astype(x.dtype, copy=False))
        return record_no_derivative("multi_margin_loss_backward", out, grad, x), None, *(None,) * 4

    @staticmethod
    def jvp(ctx, tx, *_):
        x, target = ctx.saved_arrays
        h = MultiMarginLossFn._slopes(ctx, x, target)
        tx2 = wide(tx).reshape(h.shape)
        per_row = (h * tx2).sum(1)
        if x.ndim <= 1:
            per_row = per_row.reshape(())
        return _reduced(per_row, ctx.reduction, x.dtype)


def _multilabel_parts(x: Any, t: Any) -> tuple:
    """(the clipped pair margins ``1 - x_j + x_i`` weighted by how often ``j`` is listed and
    0 for a target ``i`` (N, C, C), is_target (N, C)) on 2-d wide arrays."""
    xp = get_array_module(x)
    n, c = x.shape
    listed = xp.cumprod(t >= 0, axis=1).astype(bool)  # before the first -1
    counts = xp.zeros((n, c), x.dtype)
    rows = xp.broadcast_to(xp.arange(n)[:, None], t.shape)
    if type(listed) is not MetaArray:  # (meta: no targets to count, counts stay meta)
        xp.add.at(counts, (rows[listed], t[listed]), 1)
    is_target = (counts > 0).astype(x.dtype)
    z = 1.0 - x[:, :, None] + x[:, None, :]  # z[n, j, i] = 1 - x_j + x_i
    keep = (z > 0) & (counts[:, :, None] > 0) & (is_target[:, None, :] == 0)
    w = xp.where(keep, counts[:, :, None], 0.0).astype(x.dtype, copy=False)
    return z, w, is_target


class MultilabelMarginLossFn(Function):
    """The multi-label hinge loss ``Σ_{j listed} Σ_{i not a target} max(0, 1 - x_j + x_i) / C``
    (``forward(ctx, x, target, reduction)``, ``x`` (C,) or (N, C), ``target`` checked); saves
    ``is_target`` too, as PyTorch's ``MultilabelMarginLossBackward0``. As in PyTorch, the
    gradient has no derivative; the tangent rule is chainrule's."""

    raw = True
    native_bfloat16 = True  # float32 inside, rounded once
    node_name = ("MultilabelMarginLossBackward0", (0,))
    saved_fields = {  # grad_fn._saved_* as PyTorch's
        "is_target": 2,
        "reduction": lambda n: REDUCTION_ENUM[n.reduction],
        "self": 0,
        "target": 1,
    }

    @staticmethod
    def _weights(x: Any, target: Any) -> tuple:
        c = x.shape[-1] if x.ndim else 1
        x2 = wide(x).reshape(-1, c)
        return x2, _multilabel_parts(x2, target.reshape(-1, c))

    @staticmethod
    def forward(ctx, x, target, reduction):
        ctx.reduction = reduction
        x2, (z, w, is_target) = MultilabelMarginLossFn._weights(x, target)
        ctx.count = x2.shape[0]
        ctx.save_for_backward(x, target, is_target.reshape(x.shape).astype(x.dtype))
        with np.errstate(over="ignore", invalid="ignore"):
            loss = get_array_module(z).where(w != 0, z * w, 0.0).sum((1, 2)) / x2.shape[1]
        if x.ndim <= 1:
            loss = loss.reshape(())
        return _reduced(loss, reduction, x.dtype)

    @staticmethod
    def _slopes(x: Any, target: Any) -> Any:
        x2, (_, w, _) = MultilabelMarginLossFn._weights(x, target)
        w = w / x2.shape[1]
        return w.sum(1) - w.sum(2)  # + at i, - at j

    @staticmethod
    def backward(ctx, grad):
        x, target, _ = ctx.saved_tensors
        h = MultilabelMarginLossFn._slopes(x._data, target._data)
        g = _scaled_grad(wide(grad._data), ctx.reduction, ctx.count)
        gx = h * (g.reshape(-1, 1) if ctx.reduction == "none" else g)
        out = _const(gx.reshape(x.shape).astype(x.dtype, copy=False))
        return record_no_derivative("multilabel_margin_loss_backward", out, grad, x), None, None

    @staticmethod
    def jvp(ctx, tx, *_):
        x, target = ctx.saved_arrays[:2]
        h = MultilabelMarginLossFn._slopes(x, target)
        per_row = (h * wide(tx).reshape(h.shape)).sum(1)
        if x.ndim <= 1:
            per_row = per_row.reshape(())
        return _reduced(per_row, ctx.reduction, x.dtype)


# PyTorch's composed losses call ATen ops whose nodes Python code does not reach: a number
# operand as a C++ Scalar (``AddBackward1``, ``SubBackward1``, ``MulBackward1``, listing the
# tensor alone), ``margin - x`` with the number wrapped (``SubBackward0`` listing None, x),
# and ``clamp_min`` (``ClampMinBackward0``). The losses' graphs use these nodes, as PyTorch's.


class ClampMinFn(Clamp):
    """``clamp_min(x, number)``: PyTorch's ``ClampMinBackward0`` (clamp's math)."""

    node_name = "ClampMinBackward0"
    saved_fields = {"min": lambda n: n.params["lo"], "self": 0}


class AddNumberFn(Add):
    node_name = ("AddBackward1", (0,))
    saved_fields: dict = {}


class SubNumberFn(Sub):
    node_name = ("SubBackward1", (0,))
    saved_fields: dict = {}


class MulNumberFn(Mul):
    node_name = ("MulBackward1", (0,))
    saved_fields = {"other": lambda n: n.number}


class NumberSubFn(Sub):
    """``number - x`` with the number wrapped in a tensor: ``SubBackward0`` (None, x)."""

    node_name = ("SubBackward0", (0, 1))


def clamp_min_number(x: Tensor, lo: Any) -> Tensor:
    return ClampMinFn.apply(x, lo=lo, hi=None)


def add_number(x: Tensor, c: Any) -> Tensor:
    return _call(AddNumberFn, "add", x, c)


def sub_number(x: Tensor, c: Any) -> Tensor:
    return _call(SubNumberFn, "sub", x, c)


def mul_number(x: Tensor, c: Any) -> Tensor:
    out = _call(MulNumberFn, "mul", x, c)
    if out._grad_fn is not None:
        out._grad_fn.number = c
    return out


def number_sub(c: Any, x: Tensor) -> Tensor:
    return _call(NumberSubFn, "sub", c, x)
