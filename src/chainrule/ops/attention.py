"""Scaled dot-product attention as one fused op (PyTorch's ``F.scaled_dot_product_attention``).

Forward, for queries Q (…, L, E), keys K (…, S, E), values V (…, S, Ev):

    A = scale · Q Kᵀ + M          (M: additive float mask, or -inf where a bool mask is False,
                                   or above the diagonal when is_causal)
    P = softmax(A) row-wise      (stable: the row maximum is subtracted first)
    P̃ = P ⊙ keep / (1 - p)       (dropout, only when dropout_p > 0)
    O = P̃ V

Backward (g = ∂L/∂O, and ∂L/∂P̃ from the optional weights output added to dP̃):

    dV = P̃ᵀ g,   dP̃ = g Vᵀ,   dP = dP̃ ⊙ keep / (1 - p),   dA = P ⊙ (dP - rowsum(dP ⊙ P)),
    dQ = scale · dA K,   dK = scale · dAᵀ Q,   dM = dA.

Rows in which every key is masked out are zero (output, weights and gradients), as PyTorch
2.13 defines them (its "safe softmax"); ``nan_rows=True`` gives NaN there instead, which is
what ``nn.MultiheadAttention`` returns when it is asked for the attention weights.

Memory: the composite graph (matmul, add, where, softmax, dropout, matmul) keeps about four
L×S arrays per head alive until backward (scores, probabilities, the dropout product and its
mask as floats). This op keeps one: the probabilities P, plus the dropout mask as booleans
(1 byte per element). When P is larger than :data:`SAVE_PROBS_MAX_BYTES` it is not kept at all:
backward recomputes it as exp(A - logsumexp(A)) from Q, K and the saved row log-sum-exps
(one extra Q Kᵀ product), as FlashAttention does, so deep models at long context hold
O(L) per head instead of O(L·S). Small problems keep P because the recomputation costs about
a third of the backward's time and their P is cheap to hold.

Masks: a bool or causal mask is turned into a constant 0 / -inf array (the causal one cached
per shape) and added to the scores in place, like a float mask, instead of a ``where`` pass.

Measured (nanoGPT's CPU shape: q, k, v of (12, 4, 64, 32) float32, causal, forward + backward,
one BLAS thread, best of 30 on a shared 2-core machine): this op 8.1 ms, the composite graph
13.9 ms, PyTorch 2.13's CPU flash kernel (1 thread) 13.2 ms.

Threads: the heads never interact, so on the fused float32 path forward and backward cut
the leading (batch) dimension into blocks run on the intra-op threads, each block doing its
Q Kᵀ, row pass and P V (backward: dV, dP, dS, dQ, dK) with one hand-off per call
(:data:`SPLIT_HEADS_MACS`). Measured in the GPT training step on that shape (2 threads,
2026-12-01): forward + backward of the four attention calls 10.3 -> 6.1 ms; alone, forward
and backward 2.3 -> 1.4 ms per call (the second core's availability on these shared machines
varies: in some runs the gain was half of that).

With ``create_graph=True`` the backward is rebuilt from Tensor ops (recomputing P from Q and K
differentiably), so double backward is exact. The forward-mode rule is
tA = scale (tQ Kᵀ + Q tKᵀ) + tM,  tP = P ⊙ (tA - rowsum(tA ⊙ P)),  tO = tP̃ V + P̃ tV.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.lower_precision import AUTOCAST, autocast_lower_precision_op
from ..autograd.saved_fields import given
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..backends.sdp import ENABLED as SDP_ENABLED
from ..backends.sdp import SDPBackend, check_backends
from ..random import Generator, gen
from .attention_autocast import autocast_attention_grads
from .attention_bias import resolve_causal_bias
from .attention_fused import (
    _fused_backward,
    _fused_case,
    _fused_forward,
    _swap,
)
from .attention_graph import (
    FLASH_NODE,
    flash_mask,
    flash_saved_fields,
    row_logsumexp,
    torch_picks_flash,
)
from .attention_inputs import check_inputs, fail, grouped_query_heads, masks
from .binary import where
from .linalg import matmul
from .reduction import sum as _sum
from .shape import transpose
from .softmax import softmax

__all__ = [
    "SAVE_PROBS_MAX_BYTES",
    "ScaledDotProductAttention",
    "attention",
    "scaled_dot_product_attention",
]

SAVE_PROBS_MAX_BYTES = 256 * 2**20
"""Above this size (per call) the probabilities are recomputed in backward, not kept."""


def _scores(q, k, mask, blocked, scale):
    """A = scale · Q Kᵀ + float mask + blocked (0 / -inf), on raw arrays, added in place
    (both masks were validated to broadcast to the scores' shape)."""
    s = (q * q.dtype.type(scale)) @ _swap(k)
    if mask is not None:
        s += mask
    if blocked is not None:
        s += blocked
    return s


def _softmax_rows(s):
    """Row softmax with fully masked rows (all -inf) set to 0; returns (P, lse, dead)."""
    xp = get_array_module(s)
    if s.shape[-1] == 0:  # no keys: every row is fully masked (PyTorch: a zero output)
        m = xp.full(s.shape[:-1] + (1,), -np.inf, dtype=s.dtype)
    else:
        m = s.max(axis=-1, keepdims=True)
    dead = m == -np.inf
    any_dead = bool(dead.any())
    if any_dead:
        m = xp.where(dead, 0, m)
    s -= m  # s is always a fresh array here
    e = xp.exp(s, out=s)
    den = e.sum(axis=-1, keepdims=True)
    if any_dead:
        den = xp.where(dead, 1, den)
    e /= den
    lse = m + xp.log(den)
    if any_dead:
        lse = xp.where(dead, np.inf, lse)  # exp(A - inf) = 0 rebuilds the zero rows
    return e, lse, (dead if any_dead else None)


def _flash_layout(q, k, v) -> bool:
    """Whether PyTorch 2.13 runs its CPU flash kernel (which saves q, k and v themselves, so
    that modifying one in place after forward raises) rather than its math path (which
    saves its own scaled copies of q and k): 4-d inputs of one head size, unit stride in the
    last dimension, no empty sequence."""
    return (
        q.ndim == k.ndim == v.ndim == 4
        and q.shape[-1] == k.shape[-1] == v.shape[-1]
        and all(a.strides[-1] == a.itemsize for a in (q, k, v))
        and 0 not in (q.shape[-2], k.shape[-2])
    )


def _keep_scale(keep, p, dtype):
    """keep / (1 - p) as an array of ``dtype`` (``keep`` the dropout mask, ``p`` the dropout
    probability), or None without dropout."""
    if keep is None:
        return None
    factor = 0.0 if p >= 1.0 else 1.0 / (1.0 - p)
    return keep.astype(dtype) * dtype.type(factor)


def _raw(v):
    """A saved value as a raw array (None stays None)."""
    return None if v is None else v._data


class ScaledDotProductAttention(Function):
    """The fused attention op; see the module docstring for the formulas.

    Positional arguments: q, k, v, mask (float additive array/Tensor or None), blocked (a
    constant 0 / -inf array from a bool or causal mask, or None), scale, dropout_p,
    generator, nan_rows, with_weights, flash, flash_mask (the additive form of a bool mask
    given with is_causal, which PyTorch's flash node shows, or None). Returns O, or (O, P̃)
    when ``with_weights``.

    Saved for backward: (q, k, v, mask, P or None, blocked, keep, lse or None): P is kept
    when small (else ``lse``, the row log-sum-exps, rebuilds it), ``keep`` is the dropout
    mask (None without dropout). With ``flash`` (the calls PyTorch runs its CPU flash kernel
    for, :mod:`.attention_graph`) the node is PyTorch's flash node, which also keeps the
    output (modifying it in place then raises at backward, as in PyTorch); its row
    log-sum-exps are recomputed when ``grad_fn._saved_logsumexp`` is read.
    """

    raw = True

    @staticmethod
    def saved_fields(node):
        """PyTorch's flash node's ``_saved_*`` names (None: chainrule's own node)."""
        return flash_saved_fields(node, _saved_logsumexp)

    @staticmethod
    def node_name(node):
        """PyTorch's flash node where PyTorch runs that kernel, else chainrule's own name."""
        return FLASH_NODE if node.flash else "ScaledDotProductAttentionBackward0"

    @staticmethod
    def forward(
        ctx,
        q,
        k,
        v,
        mask,
        blocked,
        scale,
        dropout_p,
        generator,
        nan_rows,
        with_weights,
        flash,
        flash_mask,
    ):
        xp = get_array_module(q)
        ctx.fused = _fused_case(q, k, mask, blocked, dropout_p)
        fast = None if ctx.fused is None else _fused_forward(q, k, v, scale, *ctx.fused)
        out = dead = None
        if fast is not None:
            p, lse, out = fast
        else:
            p, lse, dead = _softmax_rows(_scores(q, k, mask, blocked, scale))
        if nan_rows and dead is not None:
            p = xp.where(dead, p.dtype.type(np.nan), p)
        ctx.scale, ctx.dropout_p = scale, dropout_p
        ctx.nan_rows, ctx.with_weights = nan_rows, with_weights
        pd = p
        keep = None
        if dropout_p > 0.0:
            keep = gen(generator).bernoulli(1.0 - dropout_p, p.shape)  # torch's dropout mask
            keep = keep if xp is np else xp.asarray(keep)
            pd = p * _keep_scale(keep, dropout_p, p.dtype)
        if out is None:
            out = pd @ v
        keep_p = with_weights or nan_rows or p.nbytes <= SAVE_PROBS_MAX_BYTES
        ctx.flash = flash
        saved = (q, k, v, mask, p if keep_p else None, blocked, keep, None if keep_p else lse)
        if flash:  # PyTorch's flash node keeps its output (+ a bool mask with is_causal)
            saved += (out,) if flash_mask is None else (out, flash_mask)
        ctx.save_for_backward(*saved)
        if not _flash_layout(q, k, v):
            # PyTorch's math path keeps its own scaled copies of q and k, so modifying q or k
            # in place after forward is allowed there: keep private copies too (v is read as
            # is, and modifying it raises in both). Its CPU flash kernel, chosen for the
            # layout _flash_layout describes, saves q, k and v themselves, as done here.
            ctx.copy_saved_inputs = (0, 1)
        return (out, pd) if with_weights else out

    @staticmethod
    def backward(ctx, grad, grad_w=None):
        q, k, v, mask, p, blocked, keep, lse = ctx.saved_tensors[:8]
        blocked, keep = _raw(blocked), _raw(keep)
        if ctx.create_graph:
            # differentiable rebuild: double backward, or tangents carried through the
            # backward (forward-over-reverse, e.g. hessian = jacfwd(jacrev(f)))
            return _backward_tensors(ctx, q, k, v, mask, blocked, keep, grad, grad_w)
        q, k, v = q._data, k._data, v._data
        p = _recompute(ctx, q, k, mask, blocked, lse._data) if p is None else p._data
        needs = ctx.needs_input_grad
        ks = _keep_scale(keep, ctx.dropout_p, p.dtype)
        if AUTOCAST[0] and not ctx.flash and grad_w is None:  # PyTorch's math path's bmm
            w = _wrap
            cast = autocast_attention_grads(  # products, cast (attention_autocast.py)
                ctx, grad, w(q), w(k), w(v), w(p), w(ks)
            )
            if cast is not None:
                return cast + (None,) * 8
        g = grad._data
        if ctx.fused is not None and grad_w is None and (needs[0] or needs[1]):
            fast = _fused_backward(ctx, q, k, v, p, g, needs)
            if fast is not None:
                return tuple(_wrap(a) for a in fast) + (None,) * 9
        dq = dk = dv = dm = None
        if needs[2]:
            dv = _swap(p if ks is None else p * ks) @ g
        if needs[0] or needs[1] or needs[3]:
            dpd = g @ _swap(v)
            if grad_w is not None:
                dpd = dpd + grad_w._data
            if ks is not None:
                dpd *= ks
            ds = dpd
            ds *= p
            ds -= p * ds.sum(axis=-1, keepdims=True)
            sc = ds.dtype.type(ctx.scale)
            dq = (ds @ k) * sc if needs[0] else None
            dk = (_swap(ds) @ q) * sc if needs[1] else None
            dm = ds if needs[3] else None
        return (_wrap(dq), _wrap(dk), _wrap(dv), _wrap(dm)) + (None,) * 8

    @staticmethod
    def jvp(ctx, tq, tk, tv, tm, *_):
        q, k, v, mask, p, blocked, keep, lse = ctx.saved_arrays[:8]
        if p is None:
            p = _recompute(ctx, q, k, mask, blocked, lse)
        ks = _keep_scale(keep, ctx.dropout_p, p.dtype)
        sc = q.dtype.type(ctx.scale)
        ts = None
        if tq is not None:
            ts = (tq * sc) @ _swap(k)
        if tk is not None:
            t = (q * sc) @ _swap(tk)
            ts = t if ts is None else ts + t
        if tm is not None:
            ts = tm if ts is None else ts + tm
        tout = tpd = None
        if ts is not None:
            tpd = p * (ts - (ts * p).sum(axis=-1, keepdims=True))
            if ks is not None:
                tpd = tpd * ks
            tout = tpd @ v
        if tv is not None:
            t = (p if ks is None else p * ks) @ tv
            tout = t if tout is None else tout + t
        return (tout, tpd) if ctx.with_weights else tout


def _wrap(a):
    return None if a is None else Tensor._make(a, False, None, 0)


def _saved_logsumexp(node):
    """``grad_fn._saved_logsumexp`` of the flash node: the row log-sum-exps of the scores,
    recomputed from the saved q, k and masks (PyTorch's kernel keeps them; chainrule's rule
    keeps the probabilities instead)."""
    q, k, mask, blocked = (node.saved_tensor(i) for i in (0, 1, 3, 5))
    s = _scores(q._data, k._data, _raw(mask), _raw(blocked), node.scale)
    return row_logsumexp(_softmax_rows(s)[1])


def _recompute(ctx, q, k, mask, blocked, lse):
    """P = exp(A - logsumexp(A)) from the saved row log-sum-exps (raw arrays)."""
    xp = get_array_module(q)
    if isinstance(mask, Tensor):
        mask = mask._data
    s = _scores(q, k, mask, blocked, ctx.scale)
    s -= lse
    return xp.exp(s, out=s)


def _backward_tensors(ctx, q, k, v, mask, blocked, keep, grad, grad_w):
    """The backward rule in Tensor ops, with P rebuilt from Q and K (double backward);
    ``blocked`` and ``keep`` are the saved raw arrays (or None)."""
    s = matmul(q * ctx.scale, transpose(k, -1, -2))
    if mask is not None:
        s = s + mask
    if blocked is not None:
        s = s + Tensor._make(blocked, False, None, 0)
    dead = s._data.max(axis=-1, keepdims=True) == -np.inf
    if dead.any():
        s = where(dead, 0.0, s)
    p = softmax(s, -1)
    if dead.any():
        p = where(dead, math.nan if ctx.nan_rows else 0.0, p)
    ks = _keep_scale(keep, ctx.dropout_p, p.dtype)
    ks = None if ks is None else Tensor._make(ks, False, None, 0)
    if AUTOCAST[0] and not ctx.flash and grad_w is None:  # the math path's cast products
        cast = autocast_attention_grads(ctx, grad, q, k, v, p, ks)
        if cast is not None:
            return cast + (None,) * 8
    pd = p if ks is None else p * ks
    needs = ctx.needs_input_grad
    dv = matmul(transpose(pd, -1, -2), grad) if needs[2] else None
    dq = dk = dm = None
    if needs[0] or needs[1] or needs[3]:
        dpd = matmul(grad, transpose(v, -1, -2))
        if grad_w is not None:
            dpd = dpd + grad_w
        dp = dpd if ks is None else dpd * ks
        ds = p * (dp - _sum(dp * p, -1, keepdim=True))
        dq = matmul(ds, k) * ctx.scale if needs[0] else None
        dk = matmul(transpose(ds, -1, -2), q) * ctx.scale if needs[1] else None
        dm = ds if needs[3] else None
    return (dq, dk, dv, dm) + (None,) * 8


# Observers of attention calls: each is called as f(batch, L, S, E, Ev) (batch = number of
# (L, S) score matrices) before the op runs. ``cr.models.summary`` registers one to count
# the multiply-adds of attention, which happen inside a function rather than a layer.
ATTENTION_OBSERVERS: list = []


def attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
    *,
    need_weights: bool = False,
    nan_rows: bool = False,
    generator: Generator | None = None,
):
    """Scaled dot-product attention, optionally also returning the (dropped-out) weights.

    The shared engine of :func:`scaled_dot_product_attention` and ``nn.MultiheadAttention``.
    Returns O, or (O, P̃) when ``need_weights``; ``nan_rows`` makes fully masked rows NaN.
    """
    check_inputs(query, key, value)
    if query.dtype.char in "eE":  # float16, bfloat16: in float32, rounded once (PyTorch)
        out = attention(
            query.float(),
            key.float(),
            value.float(),
            attn_mask,
            dropout_p,
            is_causal,
            scale,
            enable_gqa,
            need_weights=need_weights,
            nan_rows=nan_rows,
            generator=generator,
        )
        if need_weights:
            return out[0].to(query.dtype), out[1].to(query.dtype)
        return out.to(query.dtype)
    if not 0.0 <= dropout_p <= 1.0:
        fail(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if enable_gqa:
        key, value = grouped_query_heads(query, key, value)
    try:
        np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        fail(
            f"the batch dimensions of query {tuple(query.shape)}, key {tuple(key.shape)} "
            f"and value {tuple(value.shape)} cannot be broadcast together (for grouped-query "
            "attention pass enable_gqa=True)"
        )
    mask, blocked = masks(query, key, attn_mask, is_causal)
    for observe in ATTENTION_OBSERVERS:
        batch = int(np.prod(np.broadcast_shapes(query.shape[:-2], key.shape[:-2])))
        observe(batch, query.shape[-2], key.shape[-2], query.shape[-1], value.shape[-1])
    sc = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    flash = not (need_weights or nan_rows) and torch_picks_flash(
        query, key, value, attn_mask, dropout_p
    )
    slot, extra_mask = flash_mask(mask, blocked, attn_mask, is_causal) if flash else (None, None)
    out = ScaledDotProductAttention.apply(
        query,
        key,
        value,
        mask,
        blocked,
        sc,
        float(dropout_p),
        generator,
        bool(nan_rows),
        bool(need_weights),
        flash,
        extra_mask,
    )
    if flash:  # what PyTorch's flash node shows as given (grad_fn._saved_*)
        given(out, is_causal=is_causal, scale=scale, mask_slot=slot)
    return out


@autocast_lower_precision_op  # every floating argument cast first (mask too), as PyTorch
def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(Q Kᵀ · scale + mask) V, fused into one op (PyTorch's semantics).

    Args:
        query: (N, …, L, E). key: (N, …, S, E). value: (N, …, S, Ev).
        attn_mask: bool (True = the query may attend to that key) or float (added to the
            scores), broadcastable to (N, …, L, S). May require grad (float). Or a
            ``CausalBias`` (``nn.attention.bias.causal_upper_left/causal_lower_right``).
        dropout_p: dropout on the attention probabilities; applied whenever > 0 (the caller
            passes 0.0 in evaluation, as in PyTorch). Masks come from the default generator.
        is_causal: mask out keys after each query, aligned at the upper left
            (``tril(ones(L, S))``), as PyTorch; with ``attn_mask`` too, a key must pass
            both (PyTorch 2.13 on CPU combines them the same way).
        scale: defaults to 1/√E.
        enable_gqa: grouped-query attention: key/value heads (dim -3) are repeated to match
            the query heads, which must be a multiple of them.

    Returns:
        (N, …, L, Ev). Rows whose keys are all masked out are zero.

    Raises:
        RuntimeError: mismatched shapes or dtypes, or a bad dropout probability (PyTorch's
            error type for these checks).
    """
    attn_mask, is_causal = resolve_causal_bias(attn_mask, is_causal)  # a CausalBias object
    if not SDP_ENABLED[SDPBackend.MATH]:  # inside sdpa_kernel without MATH: PyTorch's checks
        check_backends(query, key, value, attn_mask, dropout_p)
    return attention(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
