"""The fused float32/float64 fast path of scaled dot-product attention (``ops/attention.py``).

:func:`_fused_case` says when the compiled softmax row passes of
:mod:`chainrule._kernels.attention` apply (NumPy arrays, Numba active, no float mask, no
dropout, no mask or the causal one); :func:`_fused_forward` and :func:`_fused_backward` are
then the op's forward and backward, run on blocks of the leading (batch) dimension on the
intra-op threads (:func:`_over_heads`, one hand-off per call, OpenBLAS held at one thread).
The general path, the masks and the op itself stay in ``ops/attention.py``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .._kernels import attention as _AK
from .._kernels import blas, jit, pool_gemm
from .._kernels.attention_heads import heads_backward, heads_forward
from ..threads import MIN_PARALLEL_BYTES, get_num_threads, parallel_slices
from ._tiles import carve_like

__all__ = ["SPLIT_HEADS_MACS"]

SPLIT_HEADS_MACS = 1 << 22
"""From this many multiply-adds per call (about 4M: some hundred µs on one core) the fused
float32 path runs blocks of the leading (batch) dimension on the intra-op threads. Measured
on nanoGPT's CPU shape ((12, 4, 64, 32), causal, 12.6M multiply-adds forward) on the 2-core
machine: see the module docstring."""


def _swap(a):
    return a.swapaxes(-1, -2)


@functools.lru_cache(maxsize=16)
def _causal_blocked(L: int, S: int, dtype: str, xp: Any):
    """(L, S): 0 on and below the diagonal, -inf above (read-only, cached per shape)."""
    out = xp.triu(xp.full((L, S), -np.inf, dtype=dtype), 1)
    if xp is np:
        out.flags.writeable = False
    return out


def _laid_out(t: np.ndarray) -> np.ndarray:
    """``t`` (a transposed block, Kᵀ or Vᵀ) copied C-contiguous: OpenBLAS's small GEMMs
    with a transposed right operand ran ~1.8x slower than with a laid-out one, more than the
    copy costs (nanoGPT's (6, 4, 64, 32) half batch, one thread: Q Kᵀ 100 -> 52 µs plus a
    ~10 µs copy; g Vᵀ 92 -> 69 µs with the copy)."""
    return np.ascontiguousarray(t)


def _like(x: np.ndarray, shape: tuple, dtype: Any) -> np.ndarray:
    """A new array of ``shape`` laid out in ``x``'s memory order (``order="K"``), as
    PyTorch's CPU attention lays out its output and gradients: for heads cut from one
    (B, T, 3C) projection (``qkv.split(C, 2)``, then ``view(B, T, H, D).transpose(1, 2)``)
    that is (B, T, H, D) memory, so the ``transpose(1, 2).reshape(B, T, C)`` that follows
    (forward), and the reshape back to (B, T, C) of each head gradient (backward), are views
    instead of copies. Each (T, D) matrix keeps unit column stride, as BLAS needs."""
    return np.empty_like(x, dtype=dtype, shape=shape, order="K")


def _fused_case(q, k, mask, blocked, dropout_p):
    """(L, causal) when the compiled softmax passes of :mod:`chainrule._kernels.attention`
    apply (NumPy arrays with Numba active, no float mask, no dropout, no mask or the causal
    one), else None."""
    if (
        type(q) is not np.ndarray
        or mask is not None
        or dropout_p > 0.0
        or jit.backend() != "numba"
        or 0 in q.shape[-2:]
        or 0 in k.shape[-2:]
    ):
        return None
    length = q.shape[-2]
    if blocked is None:
        return length, False
    if blocked is _causal_blocked(length, k.shape[-2], q.dtype.str, np):
        return length, True
    return None


def _over_heads(block, q, k, v, macs: int) -> bool:
    """Run ``block(lo, hi)`` over the leading dimension of q, k and v, cut into contiguous
    blocks on the intra-op threads when the work (``macs`` multiply-adds) is large enough
    (one thread hand-off per call; each block's batched GEMMs and compiled row passes
    release the GIL). Returns False, without calling ``block``, where the leading shapes
    differ (broadcast batch dimensions) or there are none: callers then take the
    whole-array path."""
    lead = q.shape[:-2]
    if q.ndim < 3 or lead != k.shape[:-2] or lead != v.shape[:-2] or 0 in lead:
        return False
    if macs < SPLIT_HEADS_MACS or lead[0] < 2 or get_num_threads() < 2:
        block(0, lead[0])
    else:
        with blas.one_blas_thread():  # the blocks' GEMMs run side by side, one thread each
            parallel_slices(block, lead[0], MIN_PARALLEL_BYTES)
    return True


def _pool_heads(arrays: tuple, macs: int) -> tuple | None:
    """(threads, GEMM address, the arrays as 4-d views) when the heads kernels of
    :mod:`chainrule._kernels.attention_heads` apply: the compiled pool active with two
    threads or more, float32 arrays of at most 4 dims with equal leading shapes (no
    broadcast), unit column strides and enough work; else None."""
    threads = pool_gemm.pool_active()
    if not threads or macs < SPLIT_HEADS_MACS:
        return None
    first = arrays[0]
    lead = first.shape[:-2]
    if first.ndim > 4 or first.ndim < 2:
        return None
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != np.float32 or a.shape[:-2] != lead:
            return None
        if a.strides[-1] != 4 or a.strides[-2] < 4 * a.shape[-1]:
            return None
    gemm = blas.gemm_address(np.float32)
    if gemm is None:
        return None
    pad = (None,) * (4 - first.ndim)
    return threads, gemm, tuple(a[pad] for a in arrays)


def _fused_forward(q, k, v, scale, length, causal):
    """(P, lse, O) by the compiled row pass on Q Kᵀ (float32), or None (float64, or a row
    with NaN or no finite score: the general path then defines it). Heads run on the
    compiled pool (:func:`_pool_heads`), else blocks of the leading dimension on the
    intra-op threads (:func:`_over_heads`)."""
    if q.dtype != np.float32:
        return None
    n_q, n_k = q.shape[-2], k.shape[-2]
    lead = q.shape[:-2]
    s = np.empty(lead + (n_q, n_k), q.dtype)
    out = _like(q, lead + (n_q, v.shape[-1]), q.dtype)
    pool = _pool_heads((q, k, v, s, out), s.size * (q.shape[-1] + v.shape[-1]))
    if pool is not None and length == n_q:
        threads, gemm, (q4, k4, v4, s4, out4) = pool
        lse = np.empty(s.size // max(n_k, 1))
        with blas.one_blas_thread():
            bad = heads_forward(gemm, q4, k4, v4, s4, out4, lse, float(scale), causal, threads)
        if bad:
            return None
        return s, lse.astype(s.dtype).reshape(s.shape[:-1] + (1,)), out
    lse = np.empty(s.size // max(n_k, 1))
    per = lse.size // max(lead[0], 1) if lead else 0
    bad = []

    def block(lo: int, hi: int) -> None:
        sb = s[lo:hi]
        np.matmul(q[lo:hi], _laid_out(_swap(k[lo:hi])), out=sb)
        rows = sb.reshape(-1, n_k)
        n = _AK.softmax_forward(rows, scale, length, causal, lse[lo * per : hi * per])
        if n:
            bad.append(n)
        else:
            np.matmul(sb, v[lo:hi], out=out[lo:hi])

    macs = s.size * (q.shape[-1] + v.shape[-1])
    if not _over_heads(block, q, k, v, macs):
        s = q @ _swap(k)
        rows = s.reshape(-1, n_k)
        lse = np.empty(rows.shape[0])
        if _AK.softmax_forward(rows, scale, length, causal, lse):
            return None
        out = s @ v
    if bad:
        return None
    return s, lse.astype(s.dtype).reshape(s.shape[:-1] + (1,)), out


def _fused_backward(ctx, q, k, v, p, g, needs):
    """(dQ, dK, dV) with dS = scale · P (dP - rowsum(dP P)) by one compiled pass, blocks of
    the leading dimension on the intra-op threads (:func:`_over_heads`); where the shapes
    broadcast, the same on whole arrays (the engine sums the gradients back to the inputs'
    shapes). None where dP would not have P's shape (the caller's general path)."""
    length, causal = ctx.fused
    if g.shape[:-2] == q.shape[:-2] == p.shape[:-2]:
        ds = np.empty(p.shape, np.result_type(g, v))
        carved = carve_like((q, k, v), ds.dtype) if all(needs[:3]) else None
        if carved is not None:  # heads of one projection: the split's backward is a view
            dq, dk, dv = carved
        else:
            dq = _like(q, q.shape, np.result_type(ds, k)) if needs[0] else None
            dk = _like(k, k.shape, np.result_type(ds, q)) if needs[1] else None
            dv = _like(v, v.shape, np.result_type(p, g)) if needs[2] else None
        if dq is not None and dk is not None and dv is not None:
            work = p.size * (2 * q.shape[-1] + 2 * v.shape[-1])
            pool = _pool_heads((q, k, v, p, g, ds, dq, dk, dv), work)
            if pool is not None and length == q.shape[-2]:
                threads, gemm, arrays = pool
                with blas.one_blas_thread():
                    heads_backward(gemm, *arrays, float(ctx.scale), causal, threads)
                return dq, dk, dv

        def block(lo: int, hi: int) -> None:
            gb, pb, dsb = g[lo:hi], p[lo:hi], ds[lo:hi]
            if dv is not None:
                np.matmul(_swap(pb), gb, out=dv[lo:hi])
            np.matmul(gb, _laid_out(_swap(v[lo:hi])), out=dsb)
            n = dsb.shape[-1]
            _AK.softmax_backward(dsb.reshape(-1, n), pb.reshape(-1, n), ctx.scale, length, causal)
            if dq is not None:
                np.matmul(dsb, k[lo:hi], out=dq[lo:hi])
            if dk is not None:
                np.matmul(_swap(dsb), q[lo:hi], out=dk[lo:hi])

        if _over_heads(block, q, k, v, p.size * (2 * q.shape[-1] + 2 * v.shape[-1])):
            return dq, dk, dv
    ds = g @ _swap(v)
    if ds.shape != p.shape:
        return None
    n = ds.shape[-1]
    _AK.softmax_backward(ds.reshape(-1, n), p.reshape(-1, n), ctx.scale, length, causal)
    dv = _swap(p) @ g if needs[2] else None
    return (ds @ k if needs[0] else None), (_swap(ds) @ q if needs[1] else None), dv
