"""Fused attention over heads on chainrule's compiled thread pool: per (batch, head) the
score GEMM, the row pass and the value GEMM (backward: the four GEMMs and the softmax
gradient's row pass), heads cut into one block per thread, all in one compiled launch.

Inputs are 4-d (B, H, L, E) float32 arrays whose matrices have unit column stride (any row
stride: heads cut from one (B, L, 3·H·E) projection qualify as they are); the GEMMs are
NumPy's own OpenBLAS called by address (:func:`.jit.call_sgemm_t`, OpenBLAS held at one
thread by the caller), and the row passes are those of :mod:`.attention`
(:func:`.attention.softmax_row_f32`, :func:`.attention.softmax_backward_row`). This replaces
blocks of the leading dimension run on chainrule's Python threads (``ops/attention_fused.py``),
whose worker started 130-154 µs after each hand-off on the project's virtual machines (one
pool instead of two: :mod:`.pool_gemm`). The NumPy fallbacks are the reference.
"""

from __future__ import annotations

import numpy as np

from . import attention, jit

__all__ = ["heads_backward", "heads_forward"]


@jit.inline
def _lay_out_transposed(m, out):  # pragma: no cover - inlined into the kernels below
    """out = mᵀ, C-contiguous: OpenBLAS's small GEMMs with a transposed right operand ran
    slower than the copy plus a plain GEMM (the forward on nanoGPT's (12, 4, 64, 32) heads,
    two threads, 2026-12-02: 314 -> 273 µs)."""
    for r in range(m.shape[0]):
        for j in range(m.shape[1]):
            out[j, r] = m[r, j]


def _heads_forward_numpy(gemm, q, k, v, s, out, lse, scale, causal, chunks):  # noqa: ANN001
    np.matmul(q, np.swapaxes(k, -1, -2), out=s)
    rows = s.reshape(-1, s.shape[-1])
    bad = attention._forward_numpy(rows, scale, q.shape[-2], causal, lse)
    np.matmul(s, v, out=out)
    return bad


@jit.kernel(fallback=_heads_forward_numpy, parallel=True)
def heads_forward(gemm, q, k, v, s, out, lse, scale, causal, chunks):  # pragma: no cover
    """s[b, h] = softmax rows of q kᵀ (causal: row l sees keys 0..l), out = s v, lse the
    rows' log-sum-exps (float64, flat); returns the number of bad rows (NaN, +inf or no
    finite score: the caller's general path then defines them)."""
    batch, heads, length, e = q.shape
    keys = k.shape[2]
    ev = v.shape[3]
    n = batch * heads
    bad = 0
    for t in jit.prange(chunks):
        kt = np.empty((e, keys), np.float32)  # kᵀ laid out: see _lay_out_transposed
        for i in range(n * t // chunks, n * (t + 1) // chunks):
            b = i // heads
            h = i % heads
            qm, km, vm, sm, om = q[b, h], k[b, h], v[b, h], s[b, h], out[b, h]
            _lay_out_transposed(km, kt)
            jit.call_sgemm_t(
                gemm, jit.NO_TRANS, jit.NO_TRANS, length, keys, e,
                qm.ctypes.data, qm.strides[0] // 4, kt.ctypes.data, keys, sm.ctypes.data, keys,
            )  # fmt: skip
            for r in range(length):
                visible = min(r + 1, keys) if causal else keys
                ok, row_lse = attention.softmax_row_f32(sm[r], visible, scale)
                if ok:
                    lse[i * length + r] = row_lse
                else:
                    bad += 1
            jit.call_sgemm_t(
                gemm, jit.NO_TRANS, jit.NO_TRANS, length, ev, keys,
                sm.ctypes.data, keys, vm.ctypes.data, vm.strides[0] // 4,
                om.ctypes.data, om.strides[0] // 4,
            )  # fmt: skip
    return bad


def _heads_backward_numpy(gemm, q, k, v, p, g, ds, dq, dk, dv, scale, causal, chunks):  # noqa: ANN001
    np.matmul(np.swapaxes(p, -1, -2), g, out=dv)
    np.matmul(g, np.swapaxes(v, -1, -2), out=ds)
    n = ds.shape[-1]
    attention._backward_numpy(ds.reshape(-1, n), p.reshape(-1, n), scale, q.shape[-2], causal)
    np.matmul(ds, k, out=dq)
    np.matmul(np.swapaxes(ds, -1, -2), q, out=dk)


@jit.kernel(fallback=_heads_backward_numpy, parallel=True)
def heads_backward(gemm, q, k, v, p, g, ds, dq, dk, dv, scale, causal, chunks):  # pragma: no cover
    """dv = pᵀ g, ds = scale · p (g vᵀ - rowsum), dq = ds k, dk = dsᵀ q per (batch, head),
    with ``ds`` a scratch array of p's shape."""
    batch, heads, length, e = q.shape
    keys = k.shape[2]
    ev = v.shape[3]
    n = batch * heads
    for t in jit.prange(chunks):
        vt = np.empty((ev, keys), np.float32)  # vᵀ laid out: see _lay_out_transposed
        for i in range(n * t // chunks, n * (t + 1) // chunks):
            b = i // heads
            h = i % heads
            qm, km, vm, pm, gm = q[b, h], k[b, h], v[b, h], p[b, h], g[b, h]
            dsm, dqm, dkm, dvm = ds[b, h], dq[b, h], dk[b, h], dv[b, h]
            _lay_out_transposed(vm, vt)
            jit.call_sgemm_t(
                gemm, jit.TRANS, jit.NO_TRANS, keys, ev, length,
                pm.ctypes.data, keys, gm.ctypes.data, gm.strides[0] // 4,
                dvm.ctypes.data, dvm.strides[0] // 4,
            )  # fmt: skip
            jit.call_sgemm_t(
                gemm, jit.NO_TRANS, jit.NO_TRANS, length, keys, ev,
                gm.ctypes.data, gm.strides[0] // 4, vt.ctypes.data, keys, dsm.ctypes.data, keys,
            )  # fmt: skip
            for r in range(length):
                visible = min(r + 1, keys) if causal else keys
                attention.softmax_backward_row(dsm[r], pm[r], visible, scale)
            jit.call_sgemm_t(
                gemm, jit.NO_TRANS, jit.NO_TRANS, length, e, keys,
                dsm.ctypes.data, keys, km.ctypes.data, km.strides[0] // 4,
                dqm.ctypes.data, dqm.strides[0] // 4,
            )  # fmt: skip
            jit.call_sgemm_t(
                gemm, jit.TRANS, jit.NO_TRANS, keys, e, length,
                dsm.ctypes.data, keys, qm.ctypes.data, qm.strides[0] // 4,
                dkm.ctypes.data, dkm.strides[0] // 4,
            )  # fmt: skip
