"""The derivative rule of the CTC loss (``CtcLoss``, behind ``F.ctc_loss``), as PyTorch computes it.

CTC (Graves et al., 2006) scores a label sequence ``l`` of length S against T frames of
per-class log-probabilities without a given alignment: it sums the probabilities of every
frame-level path that collapses to ``l`` (merge repeats, then drop blanks). With the extended
sequence ``l'`` (a blank before, between and after the labels, length 2S + 1) the sum is the
forward recursion, in log space,

    α_t(s) = lp_t(l'_s) + logsumexp(α_{t-1}(s), α_{t-1}(s-1), α_{t-1}(s-2) if l'_s ≠ l'_{s-2})

and the loss is -log p = -logsumexp(α_{T-1}(2S), α_{T-1}(2S-1)). The backward pass runs the
mirrored β recursion (β includes the emission at t, as α does, so α β / y is the occupancy):

    ∂loss/∂lp_t(c) = exp(lp_t(c)) - exp(logsumexp_{s: l'_s = c} (α_t(s) + β_t(s)) + nll - lp_t(c))

This is PyTorch's formula, followed exactly: it is the gradient through ``log_softmax`` folded
into the op (the true derivative of -log p w.r.t. log-probabilities is the second term alone;
the first, exp(lp), lies in the null space of log_softmax's backward, so for log_softmax
outputs -- the intended input -- both give the same gradient upstream of log_softmax). For
unnormalised ``log_probs`` the returned gradient is therefore *not* the derivative of the
returned loss, in PyTorch and here alike (gradcheck on raw inputs fails in both).
Two deliberate differences, both where PyTorch's kernel is undefined or NaN: a log-probability
of -inf (a log_softmax that underflowed) gets gradient 0 where PyTorch gives NaN, and target
labels outside [0, C) raise where PyTorch's CPU kernel reads out of bounds. Impossible
alignments (infinite loss) get NaN gradients as in PyTorch, or zeros with ``zero_infinity``.

Both recursions are vectorised over the batch and the extended-label axis (NumPy/CuPy
``logaddexp``), looping only over time; -inf (unreachable states) propagates without NaN
or warnings. Like PyTorch, the gradient is once differentiable (double backward raises) and
there is no forward-mode rule (``jvp``/``jacfwd`` raise NotImplementedError).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..autograd.function import Function, once_differentiable
from ..autograd.saved_fields import given_value, tensor_field  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.results import refuse_meta

__all__ = ["CtcLoss"]


def _shift(a: Any, k: int, fill: float) -> Any:
    """``a`` moved ``k`` places along its last axis (right for k > 0, left for k < 0), the
    vacated places set to ``fill``."""
    out = get_array_module(a).full_like(a, fill)
    if k > 0:
        out[..., k:] = a[..., :-k]
    else:
        out[..., :k] = a[..., -k:]
    return out


def _logsumexp3(a: Any, b: Any, c: Any, xp: Any) -> Any:
    """log(e^a + e^b + e^c) elementwise; -inf everywhere gives -inf (no NaN, no warning)."""
    return xp.logaddexp(xp.logaddexp(a, b), c)


def _forward_alpha(emit: Any, skip: Any, valid: Any) -> Any:
    """The α recursion. ``emit`` (T, N, L): lp at each extended label; ``skip`` (N, L): the
    s-2 transition is allowed; ``valid`` (N, L): s < 2 S_b + 1. Returns α (T, N, L); rows at
    t >= input_length are computed but never read."""
    xp = get_array_module(emit)
    T, N, L = emit.shape
    ninf = -np.inf
    alpha = xp.full((T, N, L), ninf, dtype=emit.dtype)
    if T == 0:
        return alpha
    first = xp.full((N, L), ninf, dtype=emit.dtype)
    first[:, :2] = emit[0, :, :2]
    alpha[0] = xp.where(valid, first, ninf)
    for t in range(1, T):
        prev = alpha[t - 1]
        two = xp.where(skip, _shift(prev, 2, ninf), ninf)
        step = _logsumexp3(prev, _shift(prev, 1, ninf), two, xp) + emit[t]
        alpha[t] = xp.where(valid, step, ninf)
    return alpha


def _backward_beta(emit: Any, skip: Any, valid: Any, in_len: Any, end: Any) -> Any:
    """The β recursion, started per sample at its own last frame t = input_length - 1 (from
    the last blank and the last label, ``end`` = 2 S_b); -inf at t >= input_length."""
    xp = get_array_module(emit)
    T, N, L = emit.shape
    ninf = -np.inf
    beta = xp.full((T, N, L), ninf, dtype=emit.dtype)
    pos = xp.arange(L)[None, :]
    last = (pos == end[:, None]) | ((pos == end[:, None] - 1) & (end[:, None] > 0))
    skip_from = _shift(skip, -2, False)  # s -> s+2 allowed where l'_{s+2} != l'_s
    for t in range(T - 1, -1, -1):
        if t < T - 1:
            nxt = beta[t + 1]
            two = xp.where(skip_from, _shift(nxt, -2, ninf), ninf)
            step = _logsumexp3(nxt, _shift(nxt, -1, ninf), two, xp) + emit[t]
            step = xp.where(valid, step, ninf)
        else:
            step = xp.full((N, L), ninf, dtype=emit.dtype)
        start = (in_len == t + 1)[:, None] & last
        beta[t] = xp.where(start, emit[t], step)
    return beta


class _Paths(NamedTuple):
    """What :class:`CtcLoss` saves after (lp, out): the forward variables α, the emission
    log-probabilities of the extended labels, the skip and valid masks, the extended labels,
    the input lengths, each sample's last extended position, and the private NLL (with
    ``zero_infinity``; else None and the saved output is read)."""

    alpha: Any
    emit: Any
    skip: Any
    valid: Any
    ext: Any
    in_len: Any
    end: Any
    nll: Any


class CtcLoss(Function):
    """Per-sample CTC negative log-likelihoods (N,) of log-probabilities (T, N, C).

    Non-tensor arguments: ``ext`` (N, L) extended labels, ``in_len`` / ``tgt_len`` (N,)
    int64 arrays, ``zero_infinity``. Saves the input (version-checked) and α (its own array);
    β is computed in backward, as PyTorch does.
    """

    raw = True
    # grad_fn._saved_* as PyTorch's CtcLossBackward0: the arguments as F.ctc_loss was given
    # them (kept there with ``given``), the losses and α as (N, T, L), PyTorch's layout
    saved_fields = {
        "blank": lambda n: given_value(n, "blank"),
        "input_lengths": lambda n: given_value(n, "input_lengths"),
        "log_probs": 0,
        "result0": 1,
        "result1": (2, lambda n, t: t.permute(1, 0, 2)),
        "target_lengths": lambda n: given_value(n, "target_lengths"),
        "targets": tensor_field(lambda n: given_value(n, "targets")),
        "zero_infinity": lambda n: n.zero_infinity,
    }

    @staticmethod
    def forward(ctx, lp, ext, in_len, tgt_len, zero_infinity):
        ctx.zero_infinity = zero_infinity
        xp = get_array_module(lp)
        T, N, _ = lp.shape
        L = ext.shape[1]
        emit = xp.take_along_axis(lp, xp.broadcast_to(ext[None], (T, N, L)), axis=2)
        pos = xp.arange(L)[None, :]
        valid = pos < (2 * tgt_len + 1)[:, None]
        skip = xp.zeros((N, L), dtype=bool)
        skip[:, 2:] = ext[:, 2:] != ext[:, :-2]
        skip &= valid
        alpha = _forward_alpha(emit, skip, valid)
        end = 2 * tgt_len
        t_last = xp.maximum(in_len - 1, 0)
        rows = alpha[t_last, xp.arange(N)]  # (N, L): α at each sample's last frame
        a_end = xp.take_along_axis(rows, end[:, None], axis=1)[:, 0]
        a_lab = xp.take_along_axis(rows, xp.maximum(end - 1, 0)[:, None], axis=1)[:, 0]
        a_lab = xp.where(end > 0, a_lab, -np.inf)
        nll = -xp.logaddexp(a_end, a_lab)
        # No frame: the empty path, probability 1 for an empty target, 0 otherwise.
        nll = xp.where(in_len == 0, xp.where(tgt_len == 0, 0.0, np.inf), nll).astype(lp.dtype)
        # With zero_infinity the output is a new array and nll stays private; otherwise the
        # output is nll itself, saved (as PyTorch saves it) so that modifying it in place
        # before backward raises instead of changing the gradient.
        out = xp.where(nll == np.inf, xp.zeros((), dtype=lp.dtype), nll) if zero_infinity else nll
        if ctx.needs_input_grad[0]:
            private_nll = nll if zero_infinity else None
            paths = _Paths(alpha, emit, skip, valid, ext, in_len, end, private_nll)
            ctx.save_for_backward(lp, None if zero_infinity else out, *paths)
            ctx.zero_infinity = zero_infinity
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        lp_t, out_t, *rest = ctx.saved_tensors
        refuse_meta("_ctc_loss_backward", lp_t)  # (no meta kernel in PyTorch)
        lp = lp_t._data
        paths = _Paths(*(None if v is None else v._data for v in rest))
        nll = paths.nll if out_t is None else out_t._data
        xp = get_array_module(lp)
        T, N, C = lp.shape
        alpha, ext, in_len = paths.alpha, paths.ext, paths.in_len
        beta = _backward_beta(paths.emit, paths.skip, paths.valid, in_len, paths.end)
        ab = alpha + beta  # -inf + -inf = -inf; never +inf
        m = ab.max(axis=2, keepdims=True)
        finite = xp.isfinite(m)
        m = xp.where(finite, m, 0.0)
        # logsumexp of α β over the extended positions of each class: a scaled scatter-add.
        idx = (xp.arange(T * N).reshape(T, N, 1) * C + ext[None]).reshape(-1)
        w = xp.exp(ab - m).reshape(-1)
        occ = xp.bincount(idx, weights=w, minlength=T * N * C).reshape(T, N, C).astype(lp.dtype)
        # exp(log occ + m + nll - lp): the occupancy of class c at frame t, exactly 0 where
        # no extended label is c or none is reachable (PyTorch gives NaN there when lp is
        # -inf, from -inf + inf; the occupancy and exp(lp) are both 0, so 0 is the value).
        live = nll != np.inf
        nll_safe = xp.where(live, nll, 0.0)[None, :, None]
        some = occ > 0
        log_gamma = xp.log(xp.where(some, occ, 1.0)) + m + nll_safe - xp.where(some, lp, 0.0)
        gamma = xp.exp(xp.where(some, log_gamma, -np.inf))
        g = (xp.exp(lp) - gamma) * grad._data[None, :, None]
        in_time = xp.arange(T)[:, None] < in_len[None, :]  # (T, N)
        # PyTorch: an infinite loss gives NaN gradients (zeros with zero_infinity).
        dead = xp.zeros((), dtype=lp.dtype) if ctx.zero_infinity else xp.asarray(np.nan, lp.dtype)
        g = xp.where((in_time & live[None, :])[..., None], g, 0.0)
        g = xp.where((in_time & ~live[None, :])[..., None], dead, g).astype(lp.dtype, copy=False)
        return Tensor._make(g, False, None, 0), None, None, None, None
