"""The chunked ``linear + cross_entropy`` behind ``F.linear_cross_entropy(..., options=...)``.

For a head with many classes (an LLM vocabulary) the logits ``x @ W.T + b`` of shape
(N, C) are the largest tensor of a training step. :class:`LinearCrossEntropyChunkedFn`
never keeps them: the forward pass walks the batch in chunks of ``chunk`` rows, computing
each chunk's logits, its log-sum-exp and its loss; only x, W, b and the targets are saved.
The backward pass walks the chunks again and recomputes each chunk's softmax, so the peak
extra memory is one (chunk, C) block in both passes. Per row i, with weights w and
l_i = logits_i, t = target_i, valid mask v_i (target != ignore_index):

    loss_i = v_i w_t (logsumexp(l_i) - l_{i,t}),  dloss_i/dl_i = v_i w_t (softmax(l_i) - e_t)

and dl/dx = dlogits @ W, dl/dW = dlogits.T @ x, dl/db = Σ_rows dlogits. 'mean' divides by
Σ v_i w_{t_i}, as ``cross_entropy``. Like PyTorch's chunked path it has no forward-mode rule
and no double backward; a second backward of the scalar reductions raises unless
``allow_retain_graph`` (PyTorch's guard, kept so that code behaves the same).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..backend import get_array_module
from ._util import constant
from .losses import _mean, index_weights

__all__ = ["LinearCrossEntropyChunkedFn"]


def _chunk_logits(x: Any, w: Any, b: Any, lo: int, hi: int) -> Any:
    logits = x[lo:hi] @ w.T
    return logits if b is None else logits + b


def _lse_and_softmax(logits: Any) -> tuple:
    """Row-wise log-sum-exp and softmax of one chunk (max-shifted, stable)."""
    xp = get_array_module(logits)
    m = logits.max(axis=1, keepdims=True)
    e = xp.exp(logits - m)
    s = e.sum(axis=1, keepdims=True)
    return (m + xp.log(s))[:, 0], e / s


class LinearCrossEntropyChunkedFn(Function):
    """loss(x @ W.T + b, target) over batch chunks, logits never stored (see the module)."""

    raw = True
    node_name = "LinearCrossEntropyChunkedBackward0"

    @staticmethod
    def forward(ctx, x, w, b, target, weight, ignore_index, reduction, chunk, allow_retain):
        n, c = x.shape[0], w.shape[0]
        wcls = None if weight is None else weight.astype(x.dtype, copy=False)
        valid, safe, wt = index_weights(
            "linear_cross_entropy", target.reshape(-1), c, wcls, ignore_index, x.dtype
        )
        xp = get_array_module(x)
        loss = xp.empty(n, dtype=x.dtype)
        for lo in range(0, n, chunk):
            hi = min(lo + chunk, n)
            logits = _chunk_logits(x, w, b, lo, hi)
            lse, _ = _lse_and_softmax(logits)
            picked = logits[xp.arange(hi - lo), safe[lo:hi]]
            loss[lo:hi] = wt[lo:hi] * (lse - picked)
        ctx.save_for_backward(x, w, b, target, weight, safe, wt)
        ctx.chunk, ctx.reduction = chunk, reduction
        ctx.guard = reduction != "none" and not allow_retain
        ctx.spent = False
        ctx.denom = wt.sum() if reduction == "mean" else None
        if reduction == "none":
            return loss
        total = loss.sum()
        return _mean(total, ctx.denom) if reduction == "mean" else total

    @staticmethod
    def backward(ctx, grad):
        if ctx.create_graph:
            raise RuntimeError(
                "linear_cross_entropy: the chunked path (options given) has no double "
                "backward (as in PyTorch); use options=None for higher-order gradients"
            )
        if ctx.guard and ctx.spent:
            raise RuntimeError(
                "linear_cross_entropy chunked backward called twice; retain_graph=True / "
                "double backward are not supported. Construct the options with "
                "allow_retain_graph=True to allow a second backward."
            )
        ctx.spent = True
        x, w, b, _, _, safe, wt = ctx.saved_tensors
        x, w, b = x._data, w._data, None if b is None else b._data
        safe, wt = safe._data, wt._data
        g = grad._data
        xp = get_array_module(x)
        if ctx.reduction == "mean":
            with np.errstate(divide="ignore", invalid="ignore"):
                g = g / ctx.denom if ctx.denom else g * np.nan
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dx = xp.zeros_like(x) if need_x else None
        dw = xp.zeros_like(w) if need_w else None
        db = xp.zeros_like(b) if need_b else None
        n = x.shape[0]
        for lo in range(0, n, ctx.chunk):
            hi = min(lo + ctx.chunk, n)
            _, p = _lse_and_softmax(_chunk_logits(x, w, b, lo, hi))
            p[xp.arange(hi - lo), safe[lo:hi]] -= 1.0
            scale = wt[lo:hi] * (g[lo:hi] if ctx.reduction == "none" else g)
            dlogits = p * scale[:, None]
            if need_x:
                dx[lo:hi] = dlogits @ w
            if need_w:
                dw += dlogits.T @ x[lo:hi]
            if need_b:
                db += dlogits.sum(axis=0)
        return (
            None if dx is None else constant(dx),
            None if dw is None else constant(dw),
            None if db is None else constant(db),
            None,
            None,
            None,
            None,
            None,
            None,
        )
