"""float32 sigmoid as a vectorisable loop (compiled) on flat (1-d) arrays, and the exp it uses.

Numba calls libm's scalar ``expf``/``tanhf`` one element at a time, which is slower than
NumPy's SIMD loops; LLVM vectorises these kernels instead, because each element is plain
float64 arithmetic with no calls, integer conversions or bit casts:

    exp(c) = p(c / 256) ** 256,  p(r) = sum_{k<=11} r^k / k!,  c = clamp(x, lo, hi)

For |c| <= 110, |r| <= 0.43 and the truncated series is within 1e-13 of e^r, so after the
eight squarings (which multiply the relative error by 256) the float64 result is within
~2e-11 of e^x, far below float32's half ulp (3e-8): the float32 result is the correctly
rounded one except in rare double-rounding ties (max error measured 0.50 ulp, where
NumPy's own float32 exp reaches 2.4 ulp). The clamp keeps float64 finite; the final cast
to float32 turns e^90 into inf and e^-110 into 0 as float32 overflow/underflow would.
NaN is passed through by a final select. :func:`exp_poly` is this exp, written once and
inlined into each kernel that uses it (sigmoid here, the softmax rows, the float32 GELU
gradient); callers clamp (their NaN handling differs). Down to c = -200 (the GELU gradient's
clamp: |r| <= 0.79) the relative error stays below 1e-7, where float32 results are zero.

    sigmoid(x) = 1 / (1 + exp(-x))   (one pass; NumPy's stable form takes five)
    silu(x) = x / (1 + exp(-x))

with exp(-x) rounded to float32 and the sum and quotient taken in float32: PyTorch's CPU
formula step by step, so the results saturate where PyTorch's do (sigmoid 1 from x > 16.6,
0 below -88.7) and 97.5% of them are bit-equal to PyTorch's (the rest: PyTorch's exp is not
correctly rounded everywhere, this one nearly is).

float64 inputs keep NumPy (this scheme is not accurate enough for float64), so the kernel is
for float32 only; callers check the dtype.

Measured and not kept: the same exp (and tanh = (e - 1)/(e + 1)) as standalone kernels ran
level with NumPy's float32 ``exp`` (2.6-2.8 ms vs 2.5 ms at 1M elements, one thread): the
float64 polynomial costs what it saves. Inside fused kernels (sigmoid, softmax) it wins,
because it replaces several memory passes.

The standalone float32 ``exp`` is :func:`exp_f32` instead: float32 arithmetic throughout
(8 lanes per AVX2 vector rather than 4), with the classic range reduction

    exp(x) = 2^k e^r,  k = round(x log2 e),  r = x - k ln 2 (ln 2 split in two parts),

e^r by its degree-7 Taylor polynomial (|r| <= 0.35: truncation 5e-9 relative) and 2^k built
from its bit pattern (:func:`.jit.i32_as_f32`, an LLVM bitcast), as two factors so that
results down to the subnormals and up to overflow come out right. Measured against 1M
float32 inputs spread over [-104, 89] and the specials: at most 1.18 ulp from the correctly
rounded result (NumPy's float32 exp on this machine: 2.42 ulp); inf -> inf, -inf -> 0, NaN
-> NaN, overflow -> inf, subnormal results exact on the tested points. Speed, one thread,
on this project's 2-core AMD EPYC machines, where NumPy's float32 ``exp`` runs without
SIMD (3.3 ns per element): 0.41 vs 1.03 ms on nanoGPT's 393,216-element activation, 1.16
vs 3.32 ms at 1M (medians of 100 alternating calls).

:func:`tanh_f32` is built the same way (NumPy's float32 ``tanh`` is scalar here too):

    tanh(x) = sign(x) * m / (m + 2),  m = expm1(2|x|) = 2^k (e^r - 1) + (2^k - 1)

for |x| >= 0.4 (e^r - 1 by its polynomial without the constant term, so no cancellation;
2^k - 1 is exact), and the odd Taylor series to x^13 below 0.4 (truncation < 0.5 ulp there),
with |x| clamped to 9 (tanh is 1 in float32 beyond). Measured over 1M inputs: at most 1.48
ulp (NumPy's: 1.37), mean 0.28 ulp; 0.69 vs 1.53 ms on 393,216 elements and 1.81 vs 3.86
ms at 1M on one thread.
"""

from __future__ import annotations

import numpy as np

from . import jit

__all__ = [
    "exp32",
    "exp_f32",
    "exp_f32_blocks",
    "exp_poly",
    "sigmoid_f32",
    "sigmoid_f32_blocks",
    "silu_f32",
    "silu_f32_blocks",
    "tanh32",
    "tanh_f32",
    "tanh_f32_blocks",
    "taylor_tail_f32",
]


@jit.inline
def exp_poly(c, full):  # pragma: no cover - inlined into compiled kernels
    """e^c as p(c / 256) ** 256 in float64, for c the caller has clamped to [-200, 110]:
    the series above and eight squarings, plain arithmetic that vectorises.

    ``full`` (a constant at each call, so the compiled loop has no branch) keeps the r^11
    term, for results read to half a float32 ulp; without it the error grows to 9e-10 at
    |c| = 110 and 1e-6 at c = -200, and the GELU gradient (whose exp term is added to Φ)
    measured 8% faster."""
    r = c * 0.00390625
    t = 1 / 3628800 + r * (1 / 39916800) if full else 1 / 3628800
    p = 1.0 + r * (
        1.0
        + r
        * (
            1 / 2
            + r
            * (
                1 / 6
                + r
                * (
                    1 / 24
                    + r
                    * (
                        1 / 120
                        + r
                        * (1 / 720 + r * (1 / 5040 + r * (1 / 40320 + r * (1 / 362880 + r * t))))
                    )
                )
            )
        )
    )
    p = p * p  # eight squarings, unrolled so the loop stays vectorisable
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    return p * p


def _sigmoid_numpy(x: np.ndarray, out: np.ndarray) -> None:
    with np.errstate(over="ignore"):  # e^-x = inf gives 0, the answer
        np.exp(np.negative(x, out=out), out=out)
    out += 1
    np.reciprocal(out, out=out)


def _silu_numpy(x: np.ndarray, out: np.ndarray) -> None:
    with np.errstate(over="ignore", invalid="ignore"):  # -inf / inf = NaN, as PyTorch's
        np.exp(np.negative(x, out=out), out=out)
        out += 1
        np.divide(x, out, out=out)


@jit.inline
def _exp_neg_f32(v):  # pragma: no cover - inlined
    """e^-v for a float32 v, rounded once to float32 (inf from -v > 88.72, 0 below -103.9):
    the float64 :func:`exp_poly`, whose error is far below a float32 half ulp."""
    c = np.float64(v)
    c = -c if -c > -110.0 else -110.0
    c = c if c < 110.0 else 110.0
    return np.float32(exp_poly(c, True))


@jit.inline
def _sigmoid_body(x, out):  # pragma: no cover - inlined
    for i in range(x.size):
        v = x[i]
        s = np.float32(1.0) / (np.float32(1.0) + _exp_neg_f32(v))  # float32 steps: PyTorch's
        out[i] = s if v == v else v


@jit.inline
def _silu_body(x, out):  # pragma: no cover - inlined
    for i in range(x.size):
        v = x[i]
        s = v / (np.float32(1.0) + _exp_neg_f32(v))
        out[i] = s if v == v else v


@jit.kernel(fallback=_silu_numpy)
def silu_f32(x, out):  # pragma: no cover - compiled by Numba
    """out = x / (1 + e^-x) for flat float32 arrays (PyTorch's formula, float32 steps)."""
    _silu_body(x, out)


@jit.kernel(fallback=jit.ignoring_chunks(_silu_numpy), parallel=True)
def silu_f32_blocks(x, out, chunks):  # pragma: no cover - compiled by Numba
    """:func:`silu_f32` cut into ``chunks`` blocks on the compiled pool (one launch)."""
    for t in jit.prange(chunks):
        lo, hi = jit.block(x.size, t, chunks)
        _silu_body(x[lo:hi], out[lo:hi])


@jit.kernel(fallback=_sigmoid_numpy)
def sigmoid_f32(x, out):  # pragma: no cover - compiled by Numba
    """out = 1 / (1 + e^-x) for flat float32 arrays: e^-x rounded to float32, then the sum
    and the quotient in float32, as PyTorch's CPU kernel (so 1 from x > 16.6, where 1 + e^-x
    rounds to 1, and 0 from x < -88.7, where e^-x overflows)."""
    _sigmoid_body(x, out)


@jit.kernel(fallback=jit.ignoring_chunks(_sigmoid_numpy), parallel=True)
def sigmoid_f32_blocks(x, out, chunks):  # pragma: no cover - compiled by Numba
    """:func:`sigmoid_f32` cut into ``chunks`` blocks on the compiled pool (one launch)."""
    for t in jit.prange(chunks):
        lo, hi = jit.block(x.size, t, chunks)
        _sigmoid_body(x[lo:hi], out[lo:hi])


# ------------------------------------------------------------------------- float32 exp
def _exp_numpy(x: np.ndarray, out: np.ndarray) -> None:
    with np.errstate(over="ignore"):  # overflow to inf is the answer, as on the compiled path
        np.exp(x, out=out)


_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693359375)  # ln 2 = _LN2_HI + _LN2_LO; k * _LN2_HI is exact
_LN2_LO = np.float32(-2.12194440e-4)
_ROUND = np.float32(12582912.0)  # 1.5 * 2^23: (t + _ROUND) - _ROUND rounds t to an integer


@jit.inline
def _reduce_f32(c):  # pragma: no cover - inlined into compiled kernels
    """(k, r, q) for a float32 ``c`` with |c| <= 104: c = k ln 2 + r, |r| <= 0.35, and
    e^r = 1 + r + r^2 q(r) (q the Taylor tail from 1/2 to r^5/7!), all in float32. The
    shared step of :func:`exp_f32` (e^r) and :func:`tanh_f32` (e^r - 1, without
    cancellation)."""
    kf = (c * _LOG2E + _ROUND) - _ROUND
    r = (c - kf * _LN2_HI) - kf * _LN2_LO
    return kf, r, taylor_tail_f32(r)


@jit.inline
def taylor_tail_f32(r):  # pragma: no cover - inlined into compiled kernels
    """q(r) with e^r = 1 + r + r^2 q(r) (the Taylor tail from 1/2 to r^5/7!) in float32,
    for a float32 |r| <= 0.35 (an argument already reduced, here or by the caller)."""
    q = np.float32(1 / 5040) * r + np.float32(1 / 720)
    q = q * r + np.float32(1 / 120)
    q = q * r + np.float32(1 / 24)
    q = q * r + np.float32(1 / 6)
    return q * r + np.float32(0.5)


@jit.inline
def _pow2_f32(k):  # pragma: no cover - inlined into compiled kernels
    """2^k as a float32 for an int32 k in [-126, 127], from its bit pattern."""
    return jit.i32_as_f32((k + np.int32(127)) << np.int32(23))


@jit.inline
def exp32(v):  # pragma: no cover - inlined into compiled kernels
    """e^v for a float32 v in float32 arithmetic (see the module doc): the body of
    :func:`exp_f32`, for kernels that need the exponential of one element."""
    c = v if v > np.float32(-104.0) else np.float32(-104.0)  # e^-104 is 0 in float32
    c = c if c < np.float32(89.0) else np.float32(89.0)  # e^89 is inf in float32
    kf, r, q = _reduce_f32(c)
    p = (q * r + np.float32(1.0)) * r + np.float32(1.0)  # e^r
    k = np.int32(kf)
    k1 = k >> np.int32(1)  # 2^k as two normal factors: k spans [-150, 129]
    e = p * _pow2_f32(k1) * _pow2_f32(k - k1)
    return e if v == v else v


@jit.kernel(fallback=_exp_numpy)
def exp_f32(x, out):  # pragma: no cover - compiled by Numba
    """out = e^x for flat float32 arrays, in float32 arithmetic (see the module doc)."""
    _exp_body(x, out)


@jit.kernel(fallback=jit.ignoring_chunks(_exp_numpy), parallel=True)
def exp_f32_blocks(x, out, chunks):  # pragma: no cover - compiled by Numba
    """:func:`exp_f32` cut into ``chunks`` blocks on the compiled pool (one launch)."""
    for t in jit.prange(chunks):
        lo, hi = jit.block(x.size, t, chunks)
        _exp_body(x[lo:hi], out[lo:hi])


@jit.inline
def _exp_body(x, out):  # pragma: no cover - inlined
    for i in range(x.size):
        out[i] = exp32(x[i])


# ------------------------------------------------------------------------- float32 tanh
def _tanh_numpy(x: np.ndarray, out: np.ndarray) -> None:
    np.tanh(x, out=out)


_TANH_TAYLOR = tuple(
    np.float32(c) for c in (-1 / 3, 2 / 15, -17 / 315, 62 / 2835, -1382 / 155925, 21844 / 6081075)
)
_T1, _T2, _T3, _T4, _T5, _T6 = _TANH_TAYLOR
# The saturation of float32 tanh as PyTorch's CPU kernel (and the correctly rounded value, to
# within an ulp of |x|): 1 - 2^-24 from here, exactly 1 from the next (|x| clamped to 9 above
# gives 1 from 8.89, NumPy's float32 tanh 0.99999994 up to 10)
_TANH_NEAR_ONE = np.float32(8.461562)
_TANH_ONE = np.float32(9.01084)


@jit.inline
def tanh32(v):  # pragma: no cover - inlined into compiled kernels
    """tanh(v) for a float32 v in float32 arithmetic (see the module doc): the body of
    :func:`tanh_f32`, for kernels that need the tanh of one element."""
    a = v if v >= np.float32(0.0) else -v
    a = a if a < np.float32(9.5) else np.float32(9.5)
    s = a * a  # |x| < 0.4: v (1 + s q(s))
    q = _T6 * s + _T5
    q = q * s + _T4
    q = q * s + _T3
    q = q * s + _T2
    q = q * s + _T1
    small = v + v * (q * s)
    small = small if a != np.float32(0.0) else v  # -0.0 + 0.0 would be +0.0
    y = a + a  # |x| >= 0.4: m / (m + 2), m = expm1(2|x|)
    kf, r, q = _reduce_f32(y)
    p = (q * r) * r + r  # e^r - 1
    scale = _pow2_f32(np.int32(kf))  # 2^k, k <= 26
    m = scale * p + (scale - np.float32(1.0))
    large = m / (m + np.float32(2.0))
    large = large if a < _TANH_NEAR_ONE else np.float32(0.99999994)  # PyTorch's last band
    large = large if a < _TANH_ONE else np.float32(1.0)
    large = large if v > np.float32(0.0) else -large
    t = small if a < np.float32(0.4) else large
    return t if v == v else v


@jit.kernel(fallback=_tanh_numpy)
def tanh_f32(x, out):  # pragma: no cover - compiled by Numba
    """out = tanh(x) for flat float32 arrays, in float32 arithmetic (see the module doc)."""
    _tanh_body(x, out)


@jit.kernel(fallback=jit.ignoring_chunks(_tanh_numpy), parallel=True)
def tanh_f32_blocks(x, out, chunks):  # pragma: no cover - compiled by Numba
    """:func:`tanh_f32` cut into ``chunks`` blocks on the compiled pool (one launch)."""
    for t in jit.prange(chunks):
        lo, hi = jit.block(x.size, t, chunks)
        _tanh_body(x[lo:hi], out[lo:hi])


@jit.inline
def _tanh_body(x, out):  # pragma: no cover - inlined
    for i in range(x.size):
        out[i] = tanh32(x[i])
