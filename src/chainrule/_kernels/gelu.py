"""Fused one-pass kernels for the exact GELU and its gradient, on flat (1-d) arrays.

    gelu(x)         = x Φ(x),              Φ(x) = (1 + erf(x / √2)) / 2
    gelu_grad(g, x) = g (Φ(x) + x φ(x)),   φ(x) = exp(-x² / 2) / √(2π)

The composite ``x * 0.5 * (erf(x / √2) + 1)`` is five NumPy passes and five recorded ops
forward, and its backward (through erf's derivative ``exp(-x²)·2/√π`` and the products)
about ten more passes. Here each direction is one pass that reads its inputs once and writes
one array. On float64 the compiled path evaluates libm's ``erf`` and ``exp`` per element.

The NumPy fallback is the reference: ``scipy.special.erf`` when SciPy is installed (exact,
one C loop), else ``math.erf`` vectorised (exact, slow). Both paths agree to a few float32
ulp on float32 (where the fallback's float32 ``1 + erf`` cancels for x << 0, the compiled
path is the accurate one) and to rounding on float64 (tested). NaN propagates; ±inf give
gelu(+inf) = inf, gelu(-inf) = NaN·0 as PyTorch's formula (x Φ(x) with Φ(-inf) = 0 gives
-inf·0 = NaN).

Float32 arrays take kernels in float32 arithmetic without libm calls, which the compiler
vectorises (8 float32 lanes per AVX2/AVX-512VL vector where float64 gets 4); float64 arrays
call libm's ``erf``/``exp`` per element. The float32 kernels write both tails of Φ through
the Mills ratio, one smooth function of |x|, so that they keep their relative accuracy for
x << 0, where ``1 + erf`` cancels (PyTorch's float32 GELU: 3e-4 relative error at x = -4,
4% at -5, -0.0 returned below -5.5426; here within 4 ulp down to -5.5426, then -0.0 as
PyTorch's, which the NumPy path's float32 ``1 + erf`` gives too):

    G(a) = Φ(-a) / φ(a) = √(π/2) erfcx(a / √2)   (a >= 0; smooth, from √(π/2) down to ~1/a)
    Φ(x) = φ G(|x|) for x <= 0,   1 - φ G(|x|) for x > 0
    Φ + x φ = φ G(|x|) - |x| φ for x <= 0,   1 - (φ G(|x|) - |x| φ) for x > 0

(the last form keeps the derivative's relative accuracy where Φ and x φ nearly cancel).

G is 1 / (a + S(a)/T(a)), S and T of degree 4: the form damps their float32 rounding errors
by (S/T) / (a + S/T), where a ratio P(a)/Q(a) passes them all on for a >> 1 (5.7 ulp of F =
G/√(2π) measured at degrees 4/5). φ = e^{-x²/2}/√(2π) takes x² as an exact two-term sum
(a = |x| split in 12-bit halves) and a Cody-Waite reduction, so its argument carries no
rounding of x² (which would cost up to x² 2^-25 relative: 70 ulp at x = 12), then a float32
polynomial and a power of 2 built from its bits (details at :func:`_tail_and_gauss_f32`).

Measured (2026-12-02) on nanoGPT's 393 216-element activation, one thread, medians of 200
calls, against the previous kernels (F = G/√(2π) as a float64 ratio of degrees 4/5 and the
exponent reduced in float64: 4 lanes): value and derivative 0.99 -> 0.49 ms, value 0.84 ->
0.42 ms, gradient 0.89 -> 0.45 ms. Largest errors over 48M float32 points of [-12, 14]
(dense grids and random points, against float64 erfc): value 3.9 ulp; derivative 5.3 ulp
outside [-1, -0.5], and inside it 4.9 ulp of its largest value there (0.1325; it crosses
zero at -0.7518, where an absolute error is the measure); g times the derivative 8.3 ulp
(relative error 6e-7). The previous kernels: 2.9 and 2.3 ulp. Relative accuracy holds
wherever the results and φ are normal float32s (|x| < 13.2); below, subnormal results are
accurate in absolute terms.
"""

from __future__ import annotations

import math

import numpy as np

from . import jit, transcendental

__all__ = [
    "gelu",
    "gelu_f32",
    "gelu_f64",
    "gelu_grad",
    "gelu_grad_f32",
    "gelu_grad_f64",
    "gelu_tanh_f32",
    "gelu_tanh_numpy",
    "gelu_with_grad",
    "gelu_with_grad_f32_pool",
]

SQRT1_2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _erf_numpy(x: np.ndarray) -> np.ndarray:
    """erf elementwise in ``x``'s dtype (SciPy when installed, else vectorised math.erf)."""
    try:
        from scipy.special import erf  # noqa: PLC0415 - SciPy is optional
    except ImportError:
        return np.vectorize(math.erf, otypes=[x.dtype])(x)
    return erf(x).astype(x.dtype, copy=False)


def _cdf_numpy(x: np.ndarray) -> np.ndarray:
    """Φ(x) = (1 + erf(x / √2)) / 2 as a new array of x's dtype."""
    t = _erf_numpy(x * x.dtype.type(SQRT1_2))
    t += 1
    t *= 0.5
    return t


# The Mills ratio G(a) = Φ(-a) / φ(a) = 1 / (a + S(a) / T(a)) on [0, 15] (the module
# docstring), T and S polynomials of degree 4 with float32 coefficients, fitted for this file:
# rational least squares in relative error on 20 000 Chebyshev-spaced points of [0, 15]
# against scipy.special.erfcx (G = √(π/2) erfcx(a / √2)), with Sanathanan-Koerner reweighting
# of the linearised problem and Lawson weights towards minimax (1.8e-8 in float64), then each
# coefficient rounded to float32 in turn, refitting those left. The target is G c / c32, c =
# 1/√(2π) and c32 its float32 (c32 / c - 1 = 2.8e-8), because φ's polynomial below is c32 e^r:
# the product φ G is then unbiased, and T(0) = 1, S(0) = 2 c32 give Φ(0) = 1/2 exactly. As
# rounded, evaluated exactly, the largest relative error on 400 001 points of [0, 15] is 1.9e-8
# (0.3 float32 ulp). Degrees 5/4 reach 9e-10, but measured about as accurate in float32 (the
# roundings dominate) and 4% slower; 4/3 reach 4.8e-8. A P/Q form of degrees 4/5 (6e-9 as
# fitted) lost up to 5.7 ulp to float32 Horner rounding, all of whose errors reach the
# result for a >> 1; here T's and S's are damped by (S/T) / (a + S/T).
_M_T = tuple(np.float32(c) for c in (1.0, 0.9144895, 0.39491975, 0.0909536, 0.009693264))
_M_S = tuple(np.float32(c) for c in (0.7978846, 0.3662775, 0.09179251, 0.00965007, 9.475072e-07))
T0, T1, T2, T3, T4 = _M_T
S0, S1, S2, S3, S4 = _M_S
# PyTorch's float32 GELU is -0.0 below this (its float32 erf is -1 there; on [-5.5426,
# -5.4858] it is -0.0 or its 1 + erf's last bit, which the tail formula does not follow).
# One compare per element in the compiled kernels (no measurable cost); the NumPy path's
# float32 1 + erf already gives -0.0 there.
GELU_F32_ZERO_BELOW = np.float32(-5.542593)
A_MAX = np.float32(15.0)  # |x| is clamped here: e^(-112.5) is 0 in float32, so Φ is 0 or 1
_ROUND_256 = np.float32(49152.0)  # 1.5 * 2^15: (a + _ROUND_256) - _ROUND_256 rounds a to 2^-8
# φ's polynomial: c32 e^r ~ sum_j c_j r^j on |r| <= 0.377, degree 6 (c32 the float32 of
# 1/√(2π), the constant term), float32 coefficients fitted for this file: least squares in
# relative error with Lawson weights towards minimax, each coefficient rounded to float32 in
# turn from the constant up and the rest refitted: largest relative error 4.4e-9 as rounded.
# Stored as c_j (-1/2)^j 2^-64 (exact scalings), a polynomial in w = -2r, so that the
# reduction needs no halving, and φ = p(w) 2^(k+64), with k + 64 in [-99, 64], takes one
# product, which rounds only where φ is subnormal.
_PHI = tuple(
    np.float32(np.float32(c) * np.float32((-0.5) ** j * 2.0**-64))
    for j, c in enumerate(
        (0.3989423, 0.39894232, 0.19947116, 0.06648884, 0.01662208, 0.0033449228, 0.00055815425)
    )
)
PH0, PH1, PH2, PH3, PH4, PH5, PH6 = _PHI
# Cody-Waite constants (the float32 exp's, doubled): 2 ln 2 = _LN4_HI + _LN4_LO with 9 bits in
# _LN4_HI, so k _LN4_HI is exact for |k| < 2^15 (here k is in [-163, 0])
_NEG_HALF_LOG2E = np.float32(-0.5) * transcendental._LOG2E
_LN4_HI = np.float32(2.0) * transcendental._LN2_HI
_LN4_LO = np.float32(2.0) * transcendental._LN2_LO
_ROUND32 = transcendental._ROUND  # 1.5 * 2^23: t + _ROUND32 has round(t) in its low bits
_ROUND32_BITS = np.int32(np.float32(_ROUND32).view(np.int32))


# ------------------------------------------------------------------------------------- gelu
def _gelu_numpy(x: np.ndarray) -> np.ndarray:
    out = _cdf_numpy(x)
    with np.errstate(invalid="ignore"):  # -inf * 0 = NaN, as the compiled path, silently
        out *= x
    return out


@jit.kernel(fallback=_gelu_numpy)
def gelu_f64(x):  # pragma: no cover - compiled by Numba
    """x Φ(x), the exact (erf) GELU, with libm's erf (for float64)."""
    out = np.empty_like(x)
    for i in jit.prange(x.size):
        v = float(x[i])
        out[i] = v * 0.5 * (1.0 + math.erf(v * SQRT1_2))
    return out


@jit.inline
def _tail_and_gauss_f32(v):  # pragma: no cover - inlined into the float32 kernels
    """(Φ(-|v|), φ(v), Φ(-|v|) - |v| φ(v)) for a float32 v, all in float32: Φ(v) is the first
    for v <= 0 and 1 minus it for v > 0, and the derivative Φ + v φ is the last for v <= 0 and
    1 minus it for v > 0 (the module docstring), so it keeps its relative accuracy where Φ and
    v φ nearly cancel. NaN gives finite values: callers fix it up.

    a² (a = |v| <= 15) is kept as sh + sl: a = ah + al with ah a multiple of 2^-8 (so at most
    12 bits) and |al| <= 2^-9, sh = ah² exact and sl = (a + ah) al (= a² - ah²) to two
    roundings of itself (Numba compiles without fastmath, so the order holds). With k =
    round(-sh log2(e) / 2) <= 0, w = a² + 2 k ln 2 = (sh + k ln4_hi), exact (Sterbenz), plus
    (sl + k ln4_lo) is accurate to about half an ulp, where a rounded float32 a² would put up to
    a² 2^-25 (70 ulp at a = 12) into φ; e^{-a²/2} = 2^k e^{-w/2}, |w| <= 0.754 (k rounds sh
    only). 2^(k+64) is built from the bits of (sh (-log2(e) / 2) + 1.5 2^23), whose low bits
    hold k."""
    a = abs(v)
    a = a if a < A_MAX else A_MAX
    ah = (a + _ROUND_256) - _ROUND_256
    al = a - ah
    sh = ah * ah
    sl = (a + ah) * al
    j = sh * _NEG_HALF_LOG2E + _ROUND32
    kf = j - _ROUND32
    w = (sh + kf * _LN4_HI) + (sl + kf * _LN4_LO)
    p = (((((PH6 * w + PH5) * w + PH4) * w + PH3) * w + PH2) * w + PH1) * w + PH0
    k = jit.f32_as_i32(j) - _ROUND32_BITS  # in [-163, 0]
    phi = p * transcendental._pow2_f32(k + np.int32(64))
    t = (((T4 * a + T3) * a + T2) * a + T1) * a + T0
    s = (((S4 * a + S3) * a + S2) * a + S1) * a + S0
    tail = phi / (a + s / t)  # φ G
    return tail, phi, tail - phi * a


@jit.inline
def _gelu_and_derivative_f32(v):  # pragma: no cover - inlined into the float32 kernels
    """(x Φ(x), Φ(x) + x φ(x)) for a float32 x = v, in float32. For x > 0 the value is
    x - x (1 - Φ), one rounding of a small correction, not x times a rounded Φ; ±inf and
    NaN give PyTorch's values (gelu(inf) = inf, NaN elsewhere), and gelu(-0) = -0."""
    tail, _, d = _tail_and_gauss_f32(v)
    if v <= np.float32(0.0):
        y = v * tail  # gelu(-inf) = -inf * 0 = NaN
        if v < GELU_F32_ZERO_BELOW:  # PyTorch's -0.0 (its float32 1 + erf is 0); NaN stays
            y = y * np.float32(0.0)
    else:
        a = abs(v)  # the helper's |v| clamped (the same expression, computed once)
        a = a if a < A_MAX else A_MAX  # tail is 0 from A_MAX on: gelu(inf) = inf - 0
        y = v - a * tail
        d = np.float32(1.0) - d
    return y, d + (v - v)  # v - v is 0, or NaN for ±inf and NaN


@jit.kernel(fallback=_gelu_numpy)
def gelu_f32(x):  # pragma: no cover - compiled by Numba
    """x Φ(x) in float32 arithmetic (see the module docstring), vectorised."""
    out = np.empty_like(x)
    for i in jit.prange(x.size):
        out[i], _ = _gelu_and_derivative_f32(x[i])
    return out


# -------------------------------------------------------------------------------- gelu_grad
def _gelu_grad_numpy(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    pdf = x * x
    pdf *= -0.5
    np.exp(pdf, out=pdf)
    with np.errstate(invalid="ignore"):  # ±inf * 0 = NaN, as the compiled path, silently
        pdf *= x
        pdf *= INV_SQRT_2PI
        pdf += _cdf_numpy(x)
        pdf *= g
    return pdf


@jit.kernel(fallback=_gelu_grad_numpy)
def gelu_grad_f64(g, x):  # pragma: no cover - compiled by Numba
    """g (Φ(x) + x φ(x)) with libm's erf and exp (for float64)."""
    out = np.empty_like(g)
    for i in jit.prange(x.size):
        v = float(x[i])
        cdf = 0.5 * (1.0 + math.erf(v * SQRT1_2))
        out[i] = g[i] * (cdf + v * math.exp(-0.5 * v * v) * INV_SQRT_2PI)
    return out


@jit.kernel(fallback=_gelu_grad_numpy)
def gelu_grad_f32(g, x):  # pragma: no cover - compiled by Numba
    """g (Φ(x) + x φ(x)) in float32 arithmetic (see the module docstring), vectorised."""
    out = np.empty_like(g)
    for i in jit.prange(x.size):
        _, d = _gelu_and_derivative_f32(x[i])
        out[i] = g[i] * d
    return out


# ----------------------------------------------------------------------- gelu_with_grad
def _gelu_with_grad_numpy(x: np.ndarray, y: np.ndarray, d: np.ndarray) -> None:
    cdf = _cdf_numpy(x)
    np.multiply(x, cdf, out=y)
    pdf = x * x
    pdf *= -0.5
    np.exp(pdf, out=pdf)
    with np.errstate(invalid="ignore"):  # ±inf * 0 = NaN, as the compiled path, silently
        pdf *= x
        pdf *= INV_SQRT_2PI
    np.add(cdf, pdf, out=d)


@jit.kernel(fallback=_gelu_with_grad_numpy)
def gelu_with_grad_f64(x, y, d):  # pragma: no cover - compiled by Numba
    """y = x Φ(x) and d = Φ(x) + x φ(x) in one pass, with libm's erf and exp (float64)."""
    for i in jit.prange(x.size):
        v = float(x[i])
        cdf = 0.5 * (1.0 + math.erf(v * SQRT1_2))
        y[i] = v * cdf
        d[i] = cdf + v * math.exp(-0.5 * v * v) * INV_SQRT_2PI


@jit.kernel(fallback=_gelu_with_grad_numpy)
def gelu_with_grad_f32(x, y, d):  # pragma: no cover - compiled by Numba
    """y = x Φ(x) and d = Φ(x) + x φ(x) in one pass (float32 arithmetic, as above)."""
    for i in jit.prange(x.size):
        y[i], d[i] = _gelu_and_derivative_f32(x[i])


def _gelu_with_grad_blocks_numpy(x, y, d, chunks):  # noqa: ANN001 - the kernel's signature
    _gelu_with_grad_numpy(x, y, d)


@jit.kernel(fallback=_gelu_with_grad_blocks_numpy, parallel=True)
def gelu_with_grad_f32_pool(x, y, d, chunks):  # pragma: no cover - compiled by Numba
    """:func:`gelu_with_grad_f32` cut into ``chunks`` contiguous blocks on the compiled
    thread pool (one launch; see :mod:`.pool_gemm`), each block the same vector loop."""
    n = x.size
    for t in jit.prange(chunks):
        for i in range(n * t // chunks, n * (t + 1) // chunks):
            y[i], d[i] = _gelu_and_derivative_f32(x[i])


def gelu_with_grad(x: np.ndarray, y: np.ndarray, d: np.ndarray) -> None:
    """GELU and its derivative of a flat float array into ``y`` and ``d`` (the active
    path): the forward of a GELU whose backward is then one product, g · d."""
    (gelu_with_grad_f32 if x.dtype == np.float32 else gelu_with_grad_f64)(x, y, d)


def gelu(x: np.ndarray) -> np.ndarray:
    """x Φ(x) on a flat float array: the float32 or float64 kernel (the active path)."""
    return gelu_f32(x) if x.dtype == np.float32 else gelu_f64(x)


def gelu_grad(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """g (Φ(x) + x φ(x)) on flat float arrays of one dtype (the active path)."""
    return gelu_grad_f32(g, x) if x.dtype == np.float32 else gelu_grad_f64(g, x)


# ------------------------------------------------------------------------ gelu, tanh form
# gelu(x, approximate='tanh') = (x/2) (1 + tanh(u)), u = √(2/π) (x + 0.044715 x³), as
# PyTorch's float32 CPU kernel orders it: u from float32 steps (x·x·x, times 0.044715, plus x,
# times √(2/π)), then (0.5 x) (1 + t). What decides the match is t: measured over 524,288
# float32 inputs (uniform on [-12, 12] and random bit patterns), the results are bit-equal to
# PyTorch's on 94.4% of elements with NumPy's float32 tanh, 98.9% with this package's float32
# ``tanh32`` (kept: the compiled kernel below) and 99.7% with tanh in float64 rounded once
# (measured and not kept: a compiled float64 tanh made the kernel 1.6x slower than the NumPy
# formula it replaces, where this one is ~20% faster at 65,536 and 10^6 elements).
_SQRT_2_PI = math.sqrt(2.0 / math.pi)
GT_K = np.float32(_SQRT_2_PI)
GT_C = np.float32(0.044715)


def gelu_tanh_numpy(x: np.ndarray) -> np.ndarray:
    """(0.5 x)(1 + tanh(√(2/π) (x + 0.044715 x³))) in x's dtype with NumPy's tanh (the
    fallback and the float64 path): PyTorch's order of steps, in place after the first."""
    u = np.empty_like(x)  # an array also for 0-d x (in-place steps on it)
    np.multiply(x, x, out=u)
    u *= x
    u *= 0.044715  # Python floats: rounded to x's dtype (float32 or float64)
    u += x
    u *= _SQRT_2_PI
    np.tanh(u, out=u)
    u += 1
    u *= x * 0.5
    return u


def _gelu_tanh_numpy_into(x: np.ndarray, out: np.ndarray) -> None:
    out[...] = gelu_tanh_numpy(x)


@jit.kernel(fallback=_gelu_tanh_numpy_into)
def gelu_tanh_f32(x, out):  # pragma: no cover - compiled by Numba
    """out = (0.5 x)(1 + tanh(u)) for flat float32 arrays, u in float32 steps as PyTorch's
    and tanh by :func:`.transcendental.tanh32` (see above); NaN and ±inf as PyTorch's."""
    for i in range(x.size):
        v = x[i]
        u = GT_K * (v + GT_C * (v * v * v))
        out[i] = (np.float32(0.5) * v) * (np.float32(1.0) + transcendental.tanh32(u))
