"""float16 recurrent steps on the CPU: float32 arithmetic, rounded where PyTorch rounds.

NumPy computes float16 elementwise ops one element at a time (convert, operate, round) and
float16 products without BLAS, so a float16 LSTM layer ran ~15-40x slower than float32
(20 steps, B = 8, H = 64: 12 ms forward against 0.9 ms). PyTorch's CPU LSTM, GRU and RNN
in float16 run as separate ops per step (``linear``, ``add``, ``sigmoid``, ``mul``, ...),
each computing in float32 and rounding its result to float16. The kernels here do the same
arithmetic in float32 on arrays that hold float16 values, rounding to the nearest float16
exactly where those ops round (:func:`round_half`), so one step matches PyTorch's bits
except where a float32 transcendental (σ, tanh) differs by an ulp next to a float16
rounding boundary (measured: 0 of 4096 cell states and 1 of 4096 outputs of one LSTM step,
B = 64, H = 64). The rounding points (matched against torch 2.13's CPU float16 results)::

    LSTM: z = ρ(ρ(h W_hhᵀ + b_hh) + xg);  i, f, o = ρ(σ(z)), g = ρ(tanh z)
          c' = ρ(ρ(f c) + ρ(i g));  tc = ρ(tanh c');  h' = ρ(o tc)
    GRU:  hg = ρ(h W_hhᵀ + b_hh);  r = ρ(σ(ρ(xg_r + hg_r))), z likewise
          n = ρ(tanh ρ(xg_n + ρ(r hg_n)));  h' = ρ(ρ(ρ(h - n) z) + n)
    RNN:  h' = ρ(act ρ(ρ(h W_hhᵀ + b_hh) + xg))

(ρ: round to float16; xg = ρ(x W_ihᵀ + b_ih), one rounded GEMM per layer.) The GEMMs are
float32 BLAS calls by the caller (exact products of float16 values, float32 sums); the
kernels write their float16-valued results into float32 buffers, which the ops convert to
float16 once per sequence. Gradients are computed by the float32 code on the saved
(float16-valued) activations and rounded once (PyTorch rounds each op of its backward;
the float32 sums are closer to the exact gradient).

:func:`round_half` rounds in float32 arithmetic: adding and subtracting C = 2^(e+13) (e the
exponent of |x|, at least -14: float16's subnormal spacing below that) leaves |x| rounded
to 11 significant bits, ties to even, as float16's conversion does; above 65504 the result
is inf. The NumPy fallbacks round with ``astype(float16)``; tests compare both.
"""

from __future__ import annotations

import numpy as np

from . import jit, transcendental

__all__ = [
    "gru_half_step",
    "lstm_half_step",
    "round_half_",
]

_ONE = np.float32(1.0)
_HALF_MAX = np.float32(65504.0)
_INF = np.float32(np.inf)


def _rh_numpy(a: np.ndarray) -> np.ndarray:
    """``a`` (float32) rounded in place to float16 values; returns ``a``."""
    a[...] = a.astype(np.float16)
    return a


@jit.inline
def round_half(x):  # pragma: no cover - inlined into compiled kernels
    """The float16 value nearest the float32 ``x`` (ties to even), as a float32; inf
    beyond float16's range, NaN kept."""
    bits = jit.f32_as_i32(x)
    ab = np.int32(bits & np.int32(0x7FFFFFFF))
    e = np.int32(ab >> np.int32(23))
    e = e if e > np.int32(113) else np.int32(113)  # 2^-14: float16's subnormal spacing
    e = e if e < np.int32(142) else np.int32(142)  # 2^15: beyond it the result is inf
    c = jit.i32_as_f32(np.int32((e + np.int32(13)) << np.int32(23)))
    r = (jit.i32_as_f32(ab) + c) - c
    r = _INF if r > _HALF_MAX else r  # NaN compares false: NaN + c - c stays NaN
    return -r if bits < np.int32(0) else r


def _round_half_numpy(a):
    _rh_numpy(a)


@jit.kernel(fallback=_round_half_numpy)
def _round_half_kernel(a):  # pragma: no cover - compiled by Numba
    for i in range(a.size):
        a[i] = round_half(a[i])


def round_half_(a: np.ndarray) -> np.ndarray:
    """Round the float32 array ``a`` in place to float16 values; returns ``a``."""
    if a.flags.c_contiguous:
        _round_half_kernel(a.reshape(-1))
    else:
        _rh_numpy(a)
    return a


@jit.inline
def _sigmoid(z):  # pragma: no cover - inlined into compiled kernels
    return _ONE / (_ONE + transcendental.exp32(-z))


# ------------------------------------------------------------------------------- LSTM
def _lstm_half_numpy(act, bias, xg, c, c_new, tc, h_new):
    hidden = c.shape[1]
    act += bias
    _rh_numpy(act)
    act += xg
    _rh_numpy(act)
    g = np.tanh(act[:, 2 * hidden : 3 * hidden])
    with np.errstate(over="ignore"):
        np.negative(act, out=act)
        np.exp(act, out=act)
    act += 1.0
    np.reciprocal(act, out=act)
    act[:, 2 * hidden : 3 * hidden] = g
    _rh_numpy(act)
    i, f, g, o = (act[:, k * hidden : (k + 1) * hidden] for k in range(4))
    fc = _rh_numpy(f * c)
    np.add(fc, _rh_numpy(i * g), out=c_new)
    _rh_numpy(c_new)
    np.tanh(c_new, out=tc)
    _rh_numpy(tc)
    np.multiply(o, tc, out=h_new)
    _rh_numpy(h_new)


@jit.kernel(fallback=_lstm_half_numpy)
def lstm_half_step(act, bias, xg, c, c_new, tc, h_new):  # pragma: no cover - Numba
    """One float16 LSTM step's elementwise part in float32 (the module docstring's
    rounding): ``act`` (B, 4H) holds h W_hhᵀ on entry and [i f g o] on return; ``bias``
    (4H,) is b_hh (zeros when folded into ``xg``); writes c', tanh(c') and h'. All float32,
    C-contiguous rows."""
    rows, width = act.shape
    hidden = width // 4
    for b in range(rows):
        ar, xr = act[b], xg[b]
        for j in range(width):
            ar[j] = round_half(round_half(ar[j] + bias[j]) + xr[j])
        a_if, a_g, a_o = ar[: 2 * hidden], ar[2 * hidden : 3 * hidden], ar[3 * hidden :]
        for j in range(2 * hidden):
            a_if[j] = round_half(_sigmoid(a_if[j]))
        for j in range(hidden):
            a_g[j] = round_half(transcendental.tanh32(a_g[j]))
        for j in range(hidden):
            a_o[j] = round_half(_sigmoid(a_o[j]))
        a_f = ar[hidden : 2 * hidden]
        cr, cn, tr, hr = c[b], c_new[b], tc[b], h_new[b]
        for j in range(hidden):
            v = round_half(round_half(a_f[j] * cr[j]) + round_half(a_if[j] * a_g[j]))
            cn[j] = v
            t = round_half(transcendental.tanh32(v))
            tr[j] = t
            hr[j] = round_half(a_o[j] * t)


# -------------------------------------------------------------------------------- GRU
def _gru_half_numpy(hg, bias, xg, h, r, z, n, hn, h_new):
    hidden = h.shape[1]
    hg += bias
    _rh_numpy(hg)
    rz = _rh_numpy(xg[:, : 2 * hidden] + hg[:, : 2 * hidden])
    with np.errstate(over="ignore"):
        np.negative(rz, out=rz)
        np.exp(rz, out=rz)
    rz += 1.0
    np.reciprocal(rz, out=rz)
    _rh_numpy(rz)
    r[...] = rz[:, :hidden]
    z[...] = rz[:, hidden:]
    hn[...] = hg[:, 2 * hidden :]
    np.multiply(r, hn, out=n)
    _rh_numpy(n)
    n += xg[:, 2 * hidden :]
    _rh_numpy(n)
    np.tanh(n, out=n)
    _rh_numpy(n)
    np.subtract(h, n, out=h_new)
    _rh_numpy(h_new)
    h_new *= z
    _rh_numpy(h_new)
    h_new += n
    _rh_numpy(h_new)


@jit.kernel(fallback=_gru_half_numpy)
def gru_half_step(hg, bias, xg, h, r, z, n, hn, h_new):  # pragma: no cover - Numba
    """One float16 GRU step's elementwise part in float32 (the module docstring's
    rounding): ``hg`` (B, 3H) holds h W_hhᵀ on entry (overwritten); ``bias`` (3H,) is b_hh
    (zeros when absent); writes r, z, n, n̂ = ρ(hg_n + b_n) and h' (B, H). All float32,
    C-contiguous rows."""
    rows, width = hg.shape
    hidden = width // 3
    for b in range(rows):
        gr, xr = hg[b], xg[b]
        for j in range(width):
            gr[j] = round_half(gr[j] + bias[j])
        rr, zr, nr, hnr, hr, outr = r[b], z[b], n[b], hn[b], h[b], h_new[b]
        for j in range(hidden):
            rr[j] = round_half(_sigmoid(round_half(xr[j] + gr[j])))
        for j in range(hidden):
            zr[j] = round_half(_sigmoid(round_half(xr[hidden + j] + gr[hidden + j])))
        for j in range(hidden):
            hv = gr[2 * hidden + j]
            hnr[j] = hv
            v = round_half(round_half(rr[j] * hv) + xr[2 * hidden + j])
            nv = round_half(transcendental.tanh32(v))
            nr[j] = nv
            outr[j] = round_half(round_half(round_half(hr[j] - nv) * zr[j]) + nv)
