"""The fused loss ops: the derivative rules behind ``F.cross_entropy``, ``F.nll_loss`` and
``F.binary_cross_entropy``.

:class:`CrossEntropyFn` is log-softmax (by the max-shift trick) and the weighted,
label-smoothed negative log-likelihood in one numerically stable op; its backward is the
classic w_y (softmax - onehot), about 3x fewer passes than the composite
log_softmax + gather graph. :class:`NLLLossFn` picks -w_t logp_t (linear, so its backward
is a scatter of -w_t); both work on rows (M, C) with class-index targets (M,) that
``nn/functional/loss.py`` has checked and flattened, and ``index_weights`` is their shared
target check and weight lookup. :class:`MseLossFn` is the squared error with its reduction.
``binary_cross_entropy``'s node is in ``binary_cross_entropy.py``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._kernels.attention import softmax_forward as softmax_rows_with_lse
from .._kernels.jit import eligible
from ..autograd.function import Function
from ..autograd.ieee import fp_ignoring
from ..autograd.saved_fields import REDUCTION_ENUM, as_uint64, input_tensor, tensor_field
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import is_bfloat16
from ._util import constant, wide, wide_bfloat16
from .binary import where
from .loss_layouts import loss_layout, row_major_grad
from .softmax import softmax

__all__ = ["CrossEntropyFn", "MseLossFn", "NLLLossFn", "index_weights"]

# np.errstate(<events>="ignore")'s setting, entered in 0.4 us, not 1.1 (ieee.fp_ignoring)
_IGNORE_DIVIDE_INVALID = fp_ignoring("divide", "invalid")
_IGNORE_INVALID = fp_ignoring("invalid")
_IGNORE_OVER = fp_ignoring("over")


def _mean(total: Any, denom: Any) -> Any:
    """total / Σ w; NaN, silently as PyTorch, when every target is ignored or weighs 0 (Σ w
    = 0: PyTorch's 0/0 NLL term makes even a label-smoothed total NaN, not inf)."""
    with _IGNORE_DIVIDE_INVALID():
        return total / denom if denom else (total * 0) / denom


def index_weights(op: str, t: np.ndarray, c: int, weight, ignore_index: int, dtype):
    """valid mask, safe targets and per-sample weights w[t] (0 where ignored)."""
    xp = get_array_module(t)
    valid = t != ignore_index
    safe = xp.where(valid, t, 0)
    if safe.size and (safe.min() < 0 or safe.max() >= c):
        bad = safe[(safe < 0) | (safe >= c)]
        raise IndexError(
            f"{op}: target {int(bad.flat[0])} is out of bounds for {c} classes "
            f"(valid: 0 to {c - 1}, or ignore_index={ignore_index})"
        )
    wt = valid.astype(dtype) if weight is None else weight[safe] * valid
    return valid, safe, wt


def _softmax_and_lse(x: Any) -> tuple | None:
    """(softmax rows, log-sum-exp per row in float64) of float32 rows (M, C) by one compiled
    pass (:func:`chainrule._kernels.attention.softmax_forward`), or None: other dtypes,
    the NumPy path, small inputs, or rows holding NaN or +inf or no finite logit (the
    caller's NumPy path defines those). Replaces eight NumPy passes (max, shift, exp, sum,
    log, shift, gather, divide): measured on nanoGPT's (768, 65) logits, 2026-12-02."""
    if x.dtype != np.float32 or not eligible(x):
        return None
    p = x.copy()
    lse = np.empty(x.shape[0])
    if softmax_rows_with_lse(p, 1.0, 1, False, lse):
        return None
    return p, lse


def _reduced(ctx: Any, loss: Any, wt: Any, reduction: str) -> Any:
    """Keep the reduction and its denominator for backward (the arrays are saved by the
    caller) and reduce the per-row losses as ``reduction`` says."""
    denom = wt.sum() if reduction == "mean" else None
    ctx.reduction, ctx.denom = reduction, denom
    if reduction == "none":
        return loss
    total = loss.sum()
    return _mean(total, denom) if reduction == "mean" else total


class _CrossEntropyRows(NamedTuple):
    """What :class:`CrossEntropyFn` saves after (x, target, weight_arg): the softmax
    probabilities, the safe targets, the per-row weights, the valid mask, the per-row sum of
    the coefficients of -logp and the class weights in x's dtype (or None)."""

    p: Any
    safe: Any
    wt: Any
    valid: Any
    coef_sum: Any
    weight: Any


_N_ROWS = len(_CrossEntropyRows._fields)


def _ignored_zero(xp: Any, loss: Any, valid: Any) -> Any:
    """``loss`` with the ignored rows' entries 0, even where the input holds a NaN (PyTorch's
    nll_loss writes no term for them; 0 * NaN would be NaN)."""
    if valid.all():
        return loss
    return xp.where(valid, loss, 0.0).astype(loss.dtype, copy=False)


class CrossEntropyFn(Function):
    """Fused log-softmax + weighted, smoothed NLL over rows of x (M, C) with targets (M,).

    Per row, with logp = log_softmax(x), valid mask v, ε = label_smoothing:
        loss_i = -(1-ε) w_{t_i} v_i logp_{i,t_i} - (ε/C) v_i Σ_c w_c logp_{i,c}
    and dL/dx_i = s_i (p_i Σ_c A_ic - A_i) with A_ic the coefficient of logp_ic above
    (negated) and s_i the upstream gradient scaled by the reduction.
    """

    raw = True
    node_name = ("NllLossBackward0", (0,))  # fused: log_softmax + nll_loss
    saved_fields = {  # grad_fn._saved_* as PyTorch's NllLossBackward0 (saved_fields.py)
        "ignore_index": lambda n: as_uint64(n.ignore_index),
        "reduction": lambda n: REDUCTION_ENUM[n.reduction],
        "self": (3, lambda n, p: p.log()),  # PyTorch's input: log_softmax(x)
        "target": 1,
        "total_weight": (5, lambda n, wt: wt.sum() if n.reduction != "none" else wt.sum() * 0),
        "weight": 2,
    }
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)

    @staticmethod
    def forward(ctx, x, target, weight_arg, ignore_index, smoothing, reduction):
        # Saved: (x, target, weight_arg) and then the _CrossEntropyRows.
        # target and weight arrive as the caller's arrays (version-checked): modifying either
        # in place after forward raises in backward, as in PyTorch.
        ctx.low = None
        if is_bfloat16(x.dtype):  # in float32 (the rows saved so), each result rounded once
            ctx.lse_dtype = x.dtype  # (but the log-sum-exp rounded to bfloat16: see below)
            args = (wide(x), target, wide_bfloat16(weight_arg), ignore_index, smoothing)
            out = CrossEntropyFn.forward(ctx, *args, reduction)
            ctx.save_for_backward(x, target, weight_arg, *ctx._saved[3:])
            ctx.low = x.dtype
            return get_array_module(out).asarray(out, x.dtype)
        t = target.reshape(-1)
        weight = None if weight_arg is None else weight_arg.astype(x.dtype, copy=False)
        xp = get_array_module(x)
        m, c = x.shape
        valid, safe, wt = index_weights("cross_entropy", t, c, weight, ignore_index, x.dtype)
        ctx.smoothing, ctx.ignore_index = smoothing, ignore_index
        half = x.dtype == np.float16
        lse_dtype = x.dtype if half else getattr(ctx, "lse_dtype", None)
        rows = xp.arange(m)
        fused = _softmax_and_lse(x) if smoothing == 0 and lse_dtype is None else None
        if fused is not None:  # one compiled row pass: probabilities and log-sum-exps
            ez, lse = fused
            loss = _ignored_zero(xp, -wt * (x[rows, safe] - lse).astype(x.dtype), valid)
            ctx.save_for_backward(x, target, weight_arg, ez, safe, wt, valid, wt, weight)
            return _reduced(ctx, loss, wt, reduction)
        xa = x.astype(np.float32) if half else x  # halves compute in float32, as PyTorch
        z = xa - xa.max(axis=1, keepdims=True) if c else xa  # (0, 0): nothing to shift
        ez = xp.exp(z)
        se = ez.sum(axis=1, keepdims=True)
        if lse_dtype is None:
            logp = z - xp.log(se)
        else:  # PyTorch's half / bfloat16 log_softmax row kernel keeps the row's sum of
            # exponentials and its log in that dtype, and its result is in that dtype
            lse = xp.log(se.astype(lse_dtype).astype(xa.dtype)).astype(lse_dtype)
            with _IGNORE_OVER():
                logp = (z - lse.astype(xa.dtype)).astype(lse_dtype).astype(xa.dtype)
        loss = -(1.0 - smoothing) * wt * logp[rows, safe]
        # A: coefficient matrix of -logp (dense only when smoothing)
        coef_sum = (1.0 - smoothing) * wt
        if smoothing > 0:
            wc = xp.ones(c, x.dtype) if weight is None else weight
            validf = valid.astype(xa.dtype)  # a bool mask times a Python float is float64
            if lse_dtype is None:
                loss = loss - (smoothing / c) * validf * (logp @ wc)
            else:  # PyTorch's half / bfloat16 steps, each rounded to that dtype
                with _IGNORE_OVER():
                    r = lambda a: a.astype(lse_dtype).astype(xa.dtype)  # noqa: E731
                    lw = logp if weight is None else r(logp * wc)
                    smooth = r(-lw.sum(axis=1)) * validf
                    nll = r(-wt * logp[rows, safe])
                    loss = r(r((1.0 - smoothing) * nll) + r(smooth * (smoothing / c)))
            coef_sum = coef_sum + (smoothing / c) * validf * wc.sum()
        loss = _ignored_zero(xp, loss, valid)
        ez /= se  # softmax probabilities
        if half:  # back to half; magnitudes beyond 65504 become inf, as in PyTorch
            with _IGNORE_OVER():
                ez, loss = ez.astype(np.float16), loss.astype(np.float16)
        ctx.save_for_backward(x, target, weight_arg, ez, safe, wt, valid, coef_sum, weight)
        return _reduced(ctx, loss, wt, reduction)

    @staticmethod
    def _coef(ctx, rows, xp, shape, dtype):
        """The dense coefficient matrix A of -logp (see the class docstring)."""
        a = xp.zeros(shape, dtype)
        a[xp.arange(shape[0]), rows.safe] = (1.0 - ctx.smoothing) * rows.wt
        if ctx.smoothing > 0:
            wc = xp.ones(shape[1], dtype) if rows.weight is None else rows.weight
            a += (ctx.smoothing / shape[1]) * rows.valid[:, None] * wc
        return a

    @staticmethod
    def backward(ctx, grad):
        if ctx.create_graph:  # x is read; saved_tensors also checks target and weight
            saved = ctx.saved_tensors
            x = saved[0]
        else:  # x is not read (PyTorch's rule does not save it either): check the rest only
            saved = [None] + [ctx.saved_tensor(i) for i in range(1, 3 + _N_ROWS)]
        rows = _CrossEntropyRows(*(None if v is None else v._data for v in saved[3:]))
        p = rows.p
        g = grad
        if ctx.low is not None:  # bfloat16: in float32, rounded once
            g = g.float()
            if ctx.create_graph:
                x = x.float()
        # Σ w = 0 ('mean' of all-ignored targets): NaN scale, but an ignored row's gradient
        # is 0 (it has no term), as PyTorch's; a valid row of weight 0 stays NaN (0/0)
        empty_mean = ctx.reduction == "mean" and not ctx.denom
        if empty_mean:  # NaN (not 1/0 = inf, whose product with 0 warns)
            g = g * float("nan")
        xp = get_array_module(p)
        # a NaN or inf upstream gradient reaches the valid rows only: an ignored row has no
        # term, PyTorch's nll_loss scatters nothing into it (0, not 0 * NaN)
        masked = empty_mean or not bool(xp.isfinite(grad._data).all())
        if ctx.reduction == "mean" and not empty_mean:
            g = g / constant(xp.asarray(ctx.denom))
        if ctx.create_graph:  # differentiable in x (via softmax) and in grad
            a = constant(CrossEntropyFn._coef(ctx, rows, xp, p.shape, p.dtype))
            s = g.reshape((-1, 1)) if ctx.reduction == "none" else g
            if masked:  # the NaN scale on valid rows only: an ignored row's dx is 0, and
                s = where(rows.valid[:, None], s, 0.0)  # so is its second derivative
            dx = (softmax(x, 1) * constant(rows.coef_sum[:, None]) - a) * s
            return (dx if ctx.low is None else dx.to(ctx.low)), None, None, None, None, None
        gd = g._data
        s = gd[:, None] if ctx.reduction == "none" else gd
        with _IGNORE_INVALID():
            dx = p * (rows.coef_sum[:, None] * s)
            if ctx.smoothing > 0:
                dx -= CrossEntropyFn._coef(ctx, rows, xp, p.shape, p.dtype) * s
            else:
                dx[xp.arange(p.shape[0]), rows.safe] -= rows.wt * gd
        if masked:
            dx[~rows.valid] = 0.0
        if ctx.low is not None:
            dx = dx.astype(ctx.low)
        return constant(dx), None, None, None, None, None

    @staticmethod
    def jvp(ctx, tx, *_):
        # d logp_ic = t_ic - p_i·t_i, so d loss_i = coef_sum_i (p_i·t_i) - A_i·t_i.
        if tx is None:  # a tangent of the weight only: no rule for it, none out (PyTorch)
            return None
        xp = get_array_module(tx)
        low, tx = ctx.low, wide_bfloat16(tx)  # bfloat16: in float32, rounded once
        rows = _CrossEntropyRows(*ctx.saved_arrays[3:])
        a = CrossEntropyFn._coef(ctx, rows, xp, tx.shape, tx.dtype)
        d = rows.coef_sum * (rows.p * tx).sum(axis=1) - (a * tx).sum(axis=1)
        d = _ignored_zero(xp, d, rows.valid)  # an ignored row has no term (0, not 0 * NaN)
        if ctx.reduction != "none":
            d = _mean(d.sum(), ctx.denom) if ctx.reduction == "mean" else d.sum()
        return d if low is None else xp.asarray(d, low)


class NLLLossFn(Function):
    """loss_i = -w_{t_i} logp_{i, t_i}; dlogp = -w_t onehot · g (linear: twice-differentiable)."""

    raw = True
    node_name = ("NllLossBackward0", (0,))
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py)
        "ignore_index": lambda n: as_uint64(n.ignore_index),
        "reduction": lambda n: REDUCTION_ENUM[n.reduction],
        "self": tensor_field(lambda n: input_tensor(n, 0)),
        "target": 0,
        "total_weight": (3, lambda n, wt: wt.sum() if n.reduction != "none" else wt.sum() * 0),
        "weight": 1,
    }
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)

    @staticmethod
    def forward(ctx, logp, target, weight_arg, ignore_index, reduction):
        ctx.low = None
        if is_bfloat16(logp.dtype):  # in float32 (the rows saved so), the loss rounded once
            w = wide_bfloat16(weight_arg)
            out = NLLLossFn.forward(ctx, wide(logp), target, w, ignore_index, reduction)
            ctx.save_for_backward(target, weight_arg, *ctx._saved[2:])
            ctx.low = logp.dtype
            return get_array_module(out).asarray(out, logp.dtype)
        t = target.reshape(-1)
        weight = None if weight_arg is None else weight_arg.astype(logp.dtype, copy=False)
        xp = get_array_module(logp)
        m, c = logp.shape
        valid, safe, wt = index_weights("nll_loss", t, c, weight, ignore_index, logp.dtype)
        loss = -wt * logp[xp.arange(m), safe]
        loss = _ignored_zero(xp, loss, valid)
        # target and weight version-checked, as in PyTorch; then the rows' arrays
        ctx.save_for_backward(target, weight_arg, safe, wt, valid)
        ctx.reduction, ctx.shape, ctx.ignore_index = reduction, logp.shape, ignore_index
        if reduction == "none":
            return loss
        ctx.denom = wt.sum()
        return _mean(loss.sum(), ctx.denom) if reduction == "mean" else loss.sum()

    @staticmethod
    def backward(ctx, grad):
        _, _, safe, wt, valid = ctx.saved_tensors  # also checks target and weight
        safe, wt, valid = safe._data, wt._data, valid._data
        xp = get_array_module(wt)
        a = xp.zeros(ctx.shape, wt.dtype)
        coef = -wt
        if ctx.reduction == "mean":  # Σ w = 0: an ignored target's entry stays 0 (PyTorch)
            coef = xp.where(valid, _mean(coef, ctx.denom), 0.0)
        a[xp.arange(ctx.shape[0]), safe] = coef
        s = grad.reshape((-1, 1)) if ctx.reduction == "none" else grad
        if ctx.low is not None:  # bfloat16: in float32, rounded once
            s = s.float()
        dx = constant(a) * s
        if not bool(xp.isfinite(grad._data).all()):
            # PyTorch scatters the gradient into the targets' entries: a NaN or inf one
            # reaches those of the valid rows only, every other entry stays 0 (not 0 * NaN)
            mask = xp.zeros(ctx.shape, bool)
            mask[xp.arange(ctx.shape[0]), safe] = valid
            dx = where(constant(mask), dx, 0.0)
        if ctx.low is not None:
            dx = dx.to(ctx.low)
        return dx, None, None, None, None

    @staticmethod
    def jvp(ctx, tl, *_):
        if tl is None:  # a tangent of the weight only: no rule for it, none out (PyTorch)
            return None
        xp = get_array_module(tl)
        _, _, safe, wt, valid = ctx.saved_arrays
        d = -wt * wide_bfloat16(tl)[xp.arange(ctx.shape[0]), safe]  # (bfloat16: in float32)
        d = _ignored_zero(xp, d, valid)  # an ignored row has no term (0, not 0 * NaN)
        if ctx.reduction != "none":
            d = _mean(d.sum(), ctx.denom) if ctx.reduction == "mean" else d.sum()
        return d if ctx.low is None else xp.asarray(d, ctx.low)


class MseLossFn(Function):
    """(x - y)² reduced by 'mean', 'sum' or 'none' in one op, PyTorch's ``MseLossBackward0``
    (composed as a difference, a square and a mean it was three nodes and showed
    ``grad_fn=<MeanBackward0>``); d/dx = 2 (x - y) g (g / n for 'mean'), d/dy = -d/dx.

    The forward sums as ``Sum`` does (float16 accumulated in float32) and divides the total
    by n, and the backward forms 2 (x - y) (g / n), so every bit equals the composition's."""

    raw = True
    node_name = ("MseLossBackward0", (0, 1))
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py)
        "reduction": lambda n: REDUCTION_ENUM[n.reduction],
        "self": 0,
        "target": 1,
    }
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)

    @staticmethod
    def forward(ctx, x, y, reduction):
        ctx.reduction = reduction
        ctx.save_for_backward(x, y)
        dtype = x.dtype
        if is_bfloat16(dtype):  # computed in float32, rounded once (PyTorch's CPU kernel)
            x, y = wide(x), wide(y)
        d = x - y
        sq = d * d
        if reduction == "none":  # laid out by (x, y), as PyTorch's (loss_layouts.py)
            return loss_layout(sq.astype(dtype, copy=False), x, y)
        ctx.count = n = sq.size
        if sq.dtype == np.float16:
            total = sq.sum(dtype=np.float32).astype(np.float16)
        else:
            total = sq.sum()
        if reduction == "mean":
            total = total / n if n else total * float("nan")
        return get_array_module(sq).asarray(total).astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if is_bfloat16(x.dtype) and not ctx.create_graph:  # in float32, rounded once
            g = wide(grad._data)
            g = g / ctx.count if ctx.reduction == "mean" else g
            gx = ((wide(x._data) - wide(y._data)) * (g * 2.0)).astype(x.dtype)
            gx = row_major_grad(Tensor._make(gx, False, None, 0))  # PyTorch's: row-major
            return gx if needs[0] else None, -gx if needs[1] else None, None
        g = grad / ctx.count if ctx.reduction == "mean" else grad
        gx = row_major_grad((x - y) * (g * 2.0))  # PyTorch's: row-major (loss_layouts.py)
        return gx if needs[0] else None, -gx if needs[1] else None, None

    @staticmethod
    def jvp(ctx, tx, ty, *_):
        x, y = ctx.saved_arrays
        dtype = x.dtype
        x, y = wide(x), wide(y)  # bfloat16: in float32, rounded once
        t = wide(ty) * -1 if tx is None else wide(tx) if ty is None else wide(tx) - wide(ty)
        dt = (x - y) * 2.0 * t
        if ctx.reduction == "none":
            return dt.astype(dtype, copy=False)
        total = dt.sum()
        total = total / ctx.count if ctx.reduction == "mean" else total
        return get_array_module(dt).asarray(total).astype(dtype, copy=False)
