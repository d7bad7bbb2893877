"""Whole LSTM time loops as compiled kernels: every step's GEMM and elementwise work in one call.

``ops/recurrent_seq.py`` runs an LSTM layer direction as a loop over time steps. Driven
from Python, each step of the forward is one ``np.matmul`` (h W_hhᵀ) and five more calls
(two compiled elementwise passes, NumPy's exp and tanh, a product); each step of the
backward one compiled pass and one ``np.matmul``. At nanoGPT-sized character models
(batch 32, H = 128) these calls cost more than their arithmetic: measured on the 2-core
Xeon (2026-12-01), a 64-step forward ran 78 µs per step against ~35 µs of GEMM and
elementwise work, and the two batch halves that ``_over_batch`` runs on two threads gained
nothing, as each step's Python needs the GIL.

Here one kernel call runs all the steps of a block of batch rows, with no Python between
them and without the GIL, so two blocks run in parallel:

* the GEMMs call NumPy's own OpenBLAS (``cblas_sgemm``, through :func:`.jit.call_sgemm`
  at the address :func:`.blas.gemm_address` finds), the library ``np.matmul`` uses, under
  the same one-thread hold (``_small_gemms``);
* the forward's recurrent product is h (W_hhᵀ) with W_hhᵀ laid out once per sequence
  (OpenBLAS's small GEMMs with a transposed operand ran 1.3-1.7x slower);
* the gates use :mod:`.transcendental`'s float32 ``exp32`` and ``tanh32`` (within 1.2 and
  1.5 ulp), so the forward is float32 only; float64 sequences keep the Python loop.

The formulas (gate order i, f, g, o as PyTorch)::

    z = h W_hhᵀ + xg;  i, f, o = σ(z) = 1 / (1 + e^-z);  g = tanh(z_g)
    c' = f c + i g;  tc = tanh(c');  h' = o tc
    backward (ĝ = gh + gy):  ĉ = gc + ĝ o (1 - tc²)
    d = [ĉ g i(1-i),  ĉ c f(1-f),  ĉ i (1-g²),  ĝ tc o(1-o)];  gc ← ĉ f;  gh ← d W_hh

The NumPy fallbacks run the same loops with ``np.matmul`` and the per-step kernels of
:mod:`.recurrent` (the previous code path); tests compare the two.
"""

from __future__ import annotations

import numpy as np

from . import jit, transcendental
from . import recurrent as RK

__all__ = [
    "lstm_backward_loop_f32",
    "lstm_backward_steps",
    "lstm_forward_loop_f32",
    "lstm_forward_steps",
]

_ONE = np.float32(1.0)


# ----------------------------------------------------------------------------- forward
def lstm_forward_steps(xg, h0, w_t, acts, cs, tcs, out, b, lo, hi, compiled=False) -> None:
    """The same loop driven from Python: per step ``np.matmul`` and
    :func:`.recurrent.lstm_step_forward` (its compiled passes when ``compiled``). The
    kernel's NumPy reference, and the loop for float64 (no float32 gates) or without the
    BLAS address. Call it under ``np.errstate(over="ignore")``."""
    steps = xg.shape[0] // b
    h = h0[lo:hi]
    for t in range(steps):
        rows = slice(t * b + lo, t * b + hi)
        nxt = slice((t + 1) * b + lo, (t + 1) * b + hi)
        np.matmul(h, w_t, out=acts[rows])
        RK.lstm_step_forward(
            acts[rows], xg[rows], cs[rows], cs[nxt], tcs[rows], out[rows], compiled
        )
        h = out[rows]


def _forward_numpy(gemm, xg, h0, w_t, acts, cs, tcs, out, b, lo, hi) -> None:
    with np.errstate(over="ignore"):
        lstm_forward_steps(xg, h0, w_t, acts, cs, tcs, out, b, lo, hi)


@jit.inline
def _sigmoid32(z):  # pragma: no cover - inlined into the kernel below
    """1 / (1 + e^-z) in float32 (e^-z = inf gives 0, the exact limit)."""
    return _ONE / (_ONE + transcendental.exp32(-z))


@jit.kernel(fallback=_forward_numpy)
def lstm_forward_loop_f32(gemm, xg, h0, w_t, acts, cs, tcs, out, b, lo, hi):  # pragma: no cover
    """All steps of an LSTM layer direction for batch rows lo:hi (float32, C-contiguous):
    xg (T·B, 4H) the input projections, h0 (B, H), w_t = W_hhᵀ (H, 4H); writes the gates
    [i f g o] into acts (T·B, 4H), c after each step into cs ((T+1)·B, H; rows :B hold
    c0 on entry), tanh(c) into tcs and h into out (T·B, H). ``gemm``: the sgemm address.

    Each row is read through 1-d views indexed from 0, so that LLVM sees unit-stride,
    non-negative indices and vectorises; 2-d column views of the step's block (strided) or
    flat offsets (wrap-around index selects) measured 2.5-3x slower.
    """
    hidden = h0.shape[1]
    width = 4 * hidden
    steps = xg.shape[0] // b
    m = hi - lo
    w_ptr = w_t.ctypes.data
    for t in range(steps):
        r0 = t * b + lo
        src = h0[lo:hi] if t == 0 else out[r0 - b : r0 - b + m]
        block = acts[r0 : r0 + m]
        jit.call_sgemm(
            gemm, m, width, hidden, src.ctypes.data, hidden, w_ptr, width, block.ctypes.data, width
        )
        for i in range(m):
            r = r0 + i
            ar, xr = acts[r], xg[r]
            a_if, x_if = ar[: 2 * hidden], xr[: 2 * hidden]
            a_g, x_g = ar[2 * hidden : 3 * hidden], xr[2 * hidden : 3 * hidden]
            a_o, x_o = ar[3 * hidden :], xr[3 * hidden :]
            for j in range(2 * hidden):
                a_if[j] = _sigmoid32(a_if[j] + x_if[j])
            for j in range(hidden):
                a_g[j] = transcendental.tanh32(a_g[j] + x_g[j])
            for j in range(hidden):
                a_o[j] = _sigmoid32(a_o[j] + x_o[j])
            a_f = ar[hidden : 2 * hidden]
            c_prev, c_next, tc_row, h_row = cs[r], cs[r + b], tcs[r], out[r]
            for j in range(hidden):
                c = a_f[j] * c_prev[j] + a_if[j] * a_g[j]
                c_next[j] = c
                tc = transcendental.tanh32(c)
                tc_row[j] = tc
                h_row[j] = a_o[j] * tc


# ---------------------------------------------------------------------------- backward
def lstm_backward_steps(gy, gh, gc, cs, acts, tcs, d_all, w, b, lo, hi, compiled=False) -> None:
    """The backward loop driven from Python: per step :func:`.recurrent.lstm_step_backward`
    (compiled when ``compiled``) and ``np.matmul`` for dh = d W_hh (the kernel's NumPy
    reference, and the loop where the kernel does not apply)."""
    steps = gy.shape[0] // b
    ghp, gcp = gh[lo:hi], gc[lo:hi]
    for t in range(steps - 1, -1, -1):
        rows = slice(t * b + lo, t * b + hi)
        d = d_all[rows]
        RK.lstm_step_backward(ghp, gy[rows], gcp, cs[rows], acts[rows], tcs[rows], d, gcp, compiled)
        np.matmul(d, w, out=ghp)


def _backward_numpy(gemm, gy, gh, gc, cs, acts, tcs, d_all, w, b, lo, hi) -> None:
    lstm_backward_steps(gy, gh, gc, cs, acts, tcs, d_all, w, b, lo, hi)


@jit.kernel(fallback=_backward_numpy)
def lstm_backward_loop_f32(
    gemm, gy, gh, gc, cs, acts, tcs, d_all, w, b, lo, hi
):  # pragma: no cover
    """The backward of :func:`lstm_forward_loop_f32` for batch rows lo:hi, back in time:
    gh, gc (B, H) hold the gradients reaching h_T and c_T on entry and those of h0 and c0
    on return (rows lo:hi); the gate gradients of every step go to d_all (T·B, 4H); w is
    W_hh (4H, H). ``gemm``: the sgemm address. Row views, as the forward."""
    hidden = gh.shape[1]
    width = 4 * hidden
    steps = gy.shape[0] // b
    m = hi - lo
    ghb, gcb = gh[lo:hi], gc[lo:hi]
    w_ptr = w.ctypes.data
    for t in range(steps - 1, -1, -1):
        r0 = t * b + lo
        for i in range(m):
            r = r0 + i
            ar, dr = acts[r], d_all[r]
            a_i, a_f = ar[:hidden], ar[hidden : 2 * hidden]
            a_g, a_o = ar[2 * hidden : 3 * hidden], ar[3 * hidden :]
            d_i, d_f = dr[:hidden], dr[hidden : 2 * hidden]
            d_g, d_o = dr[2 * hidden : 3 * hidden], dr[3 * hidden :]
            tc_row, c_row, gy_row, gh_row, gc_row = tcs[r], cs[r], gy[r], ghb[i], gcb[i]
            for j in range(hidden):
                ig = a_i[j]
                fg = a_f[j]
                gg = a_g[j]
                og = a_o[j]
                tc = tc_row[j]
                ght = gh_row[j] + gy_row[j]
                gct = (_ONE - tc * tc) * og * ght + gc_row[j]
                d_i[j] = gct * gg * ((_ONE - ig) * ig)
                d_f[j] = gct * c_row[j] * ((_ONE - fg) * fg)
                d_g[j] = gct * ig * (_ONE - gg * gg)
                d_o[j] = ght * tc * ((_ONE - og) * og)
                gc_row[j] = gct * fg
        d_step = d_all[r0 : r0 + m]
        jit.call_sgemm(
            gemm,
            m,
            hidden,
            width,
            d_step.ctypes.data,
            width,
            w_ptr,
            hidden,
            ghb.ctypes.data,
            hidden,
        )
