"""Raw float64 NumPy kernels for ``torch.special``'s Hurwitz zeta and regularized incomplete
gamma functions (used by ``ops/special_more.py``; no SciPy).

- ``zeta(x, q) = sum_k (q + k)^-x``: Cephes' definition and method, as PyTorch (+inf at
  x = 1 and at q a non-positive integer, NaN for x < 1 and for q < 0 with a non-integer x):
  direct summation until ``q + k >= 9`` (at least 9 terms), then the Euler-Maclaurin tail
  with the Bernoulli numbers B_2 ... B_24.
- ``gammainc(a, x) = P(a, x)`` and ``gammaincc(a, x) = Q(a, x) = 1 - P``: the series of P
  where it converges fast, Legendre's continued fraction for Q (modified Lentz) where x is
  large, and for small x the series of Q written as ``-expm1(a log x - lgamma(1 + a))``
  minus a short sum, so that Q keeps its digits when a is tiny; the branch rules are
  Cephes' (those PyTorch uses). The prefactor ``x^a e^-x / Gamma(a)`` is
  ``exp(a log x - x - lgamma(a))``, or for a >= 10 and |x - a| <= 0.4 a the Stirling form
  ``sqrt(a / 2 pi) exp(a log1pmx((x - a) / a) - stirling(a))``, which does not lose the
  digits of the large, nearly cancelling terms. For a > 1e9 with x within 30% of a, where
  the series would need ~sqrt(a) terms, Temme's uniform expansion to its first term
  (relative error below ~1e-9 there).

A deliberate difference: PyTorch evaluates P and Q near x = a for 20 < a < 200 (and a > 200)
by an asymptotic series that is accurate only to ~1e-8 .. 1e-10 there, and its Q loses up to
~3e5 ulp for tiny a (a < 1e-5); these kernels agree with mpmath to the conditioning of the
prefactor (a few ulp unless a log x, x or lgamma(a) is large) in both places.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["gammainc", "gammaincc", "zeta"]

_EPS = 2.0**-53
_LGAMMA = np.vectorize(math.lgamma, otypes=[np.float64])
# the Bernoulli numbers B_2j, j = 1..12, as (numerator, denominator); _EM_DIV = (2j)! / B_2j
_BERNOULLI = (
    (1, 6), (-1, 30), (1, 42), (-1, 30), (5, 66), (-691, 2730),
    (7, 6), (-3617, 510), (43867, 798), (-174611, 330), (854513, 138), (-236364091, 2730),
)  # fmt: skip
_EM_DIV = [math.factorial(2 * j) * d / n for j, (n, d) in enumerate(_BERNOULLI, start=1)]


# ----------------------------------------------------------------------------------- zeta
def _zeta_em(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Euler-Maclaurin summation of the Hurwitz zeta function (Cephes' steps and stopping
    tests, so that infinities and NaNs come out as in PyTorch)."""
    s = q**-x
    a = q.copy()
    b = np.zeros_like(q)
    active = np.ones(q.shape, dtype=bool)
    tail = np.ones(q.shape, dtype=bool)
    i = 0
    while active.any():
        i += 1
        a = np.where(active, a + 1.0, a)
        b = np.where(active, a**-x, b)
        s = np.where(active, s + b, s)
        converged = active & (np.abs(b / s) < _EPS)
        tail &= ~converged
        active &= ~converged & ((i < 9) | (a <= 9.0))
    w = a
    s = np.where(tail, s + b * w / (x - 1.0) - 0.5 * b, s)
    fac = np.ones_like(q)
    k = 0.0
    for div in _EM_DIV:
        fac = fac * (x + k)
        b = b / w
        t = fac * b / div
        s = np.where(tail, s + t, s)
        tail &= ~(np.abs(t / s) < _EPS)
        k += 1.0
        fac = fac * (x + k)
        b = b / w
        k += 1.0
    return s


def zeta(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The Hurwitz zeta function, float64 arrays in (broadcast) and out."""
    x, q = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(q, np.float64))
    out = np.full(x.shape, np.nan)
    with np.errstate(all="ignore"):
        pole = (x == 1.0) | ((x >= 1.0) | np.isnan(x)) & (q <= 0) & (q == np.floor(q))
        bad = ~pole & ((x < 1.0) | ((q <= 0) & (x != np.floor(x))))
        rest = ~pole & ~bad
        out[rest] = _zeta_em(x[rest], q[rest])
    out[pole] = np.inf
    return out


# ------------------------------------------------------------------------ incomplete gamma
def _log1pmx(t: np.ndarray) -> np.ndarray:
    """log(1 + t) - t; the alternating series for |t| <= 0.4 (no cancellation)."""
    out = np.log1p(t) - t
    small = np.abs(t) <= 0.4
    ts = t[small]
    power, total = ts * ts, np.zeros_like(ts)
    for k in range(2, 60):
        total += (power / k) * (-1.0 if k % 2 == 0 else 1.0)
        power = power * ts
    out[small] = total
    return out


def _stirling(a: np.ndarray) -> np.ndarray:
    """lgamma(a) - ((a - 1/2) log a - a + log(2 pi) / 2) for a >= 10 (the Stirling series)."""
    z = 1.0 / (a * a)
    coef = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)
    total = np.zeros_like(a)
    for c in reversed(coef):
        total = total * z + c
    return total / a


def _prefactor(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """x^a e^-x / Gamma(a) (see the module docstring)."""
    with np.errstate(all="ignore"):
        out = np.exp(a * np.log(x) - x - _LGAMMA(a))
    near = (a >= 10.0) & (np.abs(x - a) <= 0.4 * a)
    an = a[near]
    t = _log1pmx((x[near] - an) / an)
    out[near] = np.sqrt(an / (2 * math.pi)) * np.exp(an * t - _stirling(an))
    return out


def _p_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(a, x) = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n))."""
    term = np.ones_like(a)
    total = np.ones_like(a)
    r = a.copy()
    active = np.ones(a.shape, dtype=bool)
    for _ in range(100000):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        r[idx] += 1.0
        term[idx] *= x[idx] / r[idx]
        total[idx] += term[idx]
        active[idx[term[idx] <= _EPS * total[idx]]] = False
    # x^a e^-x / Gamma(a + 1); for a <= 1.5 with lgamma(1 + a) taken without rounding 1 + a
    # (for tiny a the exponent's rounding would otherwise push P above 1)
    small = a <= 1.5
    scale = np.empty_like(a)
    scale[~small] = _prefactor(a[~small], x[~small]) / a[~small]
    a_s, x_s = a[small], x[small]
    scale[small] = np.exp(a_s * np.log(x_s) - x_s - _lgamma1p(a_s))
    return scale * total


def _temme(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Q(a, x) for huge a (> 1e9) with x near a, where the series would need ~sqrt(a)
    terms: Temme's uniform expansion to its first term, ``erfc(eta sqrt(a/2)) / 2 +
    e^(-a eta^2 / 2) / sqrt(2 pi a) (1 / (lambda - 1) - 1 / eta)``, lambda = x / a,
    eta = sign(lambda - 1) sqrt(-2 log1pmx(lambda - 1)); its error is O(1/a) of the
    second term (below 1e-9 relative there)."""
    t = (x - a) / a
    eta = np.sign(t) * np.sqrt(-2.0 * _log1pmx(t))
    with np.errstate(divide="ignore", invalid="ignore"):
        c0 = np.where(np.abs(t) < 1e-3, -1.0 / 3.0 + eta / 12.0, 1.0 / t - 1.0 / eta)
    first = 0.5 * np.vectorize(math.erfc, otypes=[np.float64])(eta * np.sqrt(a / 2.0))
    return first + np.exp(-a * eta * eta / 2.0) / np.sqrt(2 * math.pi * a) * c0


def _q_fraction(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Q(a, x) by Legendre's continued fraction (modified Lentz), for x > 1, x >= a."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = np.full_like(a, 1.0 / tiny)
    d = 1.0 / b
    h = d.copy()
    active = np.ones(a.shape, dtype=bool)
    for i in range(1, 100000):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        an = -i * (i - a[idx])
        b[idx] += 2.0
        di = an * d[idx] + b[idx]
        di = np.where(np.abs(di) < tiny, tiny, di)
        ci = b[idx] + an / c[idx]
        ci = np.where(np.abs(ci) < tiny, tiny, ci)
        d[idx] = 1.0 / di
        delta = d[idx] * ci
        c[idx] = ci
        h[idx] *= delta
        active[idx[np.abs(delta - 1.0) <= _EPS]] = False
    return _prefactor(a, x) * h


def _lgamma1p(a: np.ndarray) -> np.ndarray:
    """lgamma(1 + a) for 0 < a <= 1.5 without the rounding of 1 + a (Taylor series around
    a = 0 and, for a > 0.5, around a = 1 via lgamma(1 + a) = log a + lgamma(a))."""
    shift = a > 0.5
    t = np.where(shift, a - 1.0, a)
    total = -np.euler_gamma * t
    power = t * t
    for k in range(2, 80):
        total += (-1.0) ** k * _ZETA_INT[k] / k * power
        power = power * t
    return np.where(shift, np.log(a) + total, total)


def _q_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Q(a, x) for small x: 1 - x^a / Gamma(1 + a) - x^a / Gamma(a) sum_n (-x)^n / (n! (a+n))."""
    fac = np.ones_like(a)
    total = np.zeros_like(a)
    for n in range(1, 2000):
        fac = fac * (-x / n)
        term = fac / (a + n)
        total += term
        if np.all(np.abs(term) <= _EPS * np.abs(total)):
            break
    logx = np.log(x)
    return -np.expm1(a * logx - _lgamma1p(a)) - np.exp(a * logx - _LGAMMA(a)) * total


def _incomplete(a: np.ndarray, x: np.ndarray, upper: bool) -> np.ndarray:
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    a, x = a.copy(), x.copy()
    out = np.full(a.shape, np.nan)
    lo, hi = (1.0, 0.0) if upper else (0.0, 1.0)  # the values at x = 0 and x = inf
    # Cephes' order of the special cases (PyTorch's): the first rule that applies wins
    with np.errstate(invalid="ignore"):
        left = ~((x < 0) | (a < 0))
        for rule, value in (
            ((a == 0) & (x > 0), hi),
            (a == 0, np.nan),
            (x == 0, lo),
            (np.isinf(a) & np.isinf(x), np.nan),
            (np.isinf(a), lo),
            (np.isinf(x), hi),
        ):
            hit = left & rule
            out[hit] = value
            left &= ~hit
        reg = left & ~np.isnan(a) & ~np.isnan(x)
    av, xv = a[reg], x[reg]
    # Cephes' branches: Q by its continued fraction or small-x series, or P by its series
    flip = np.ones_like(xv, dtype=bool) if upper else (xv > 1.0) & (xv > av)  # via Q
    use_cf = flip & (xv > 1.1) & (xv >= av)
    with np.errstate(divide="ignore"):  # log(1) = 0: -0.4 / 0 = -inf
        small_q = np.where(xv <= 0.5, -0.4 / np.log(xv) >= av, xv * 1.1 >= av)
    use_qs = flip & (xv <= 1.1) & small_q
    huge = (av > 1e9) & (np.abs(xv - av) <= 0.3 * av)
    use_cf &= ~huge
    use_p = ~use_cf & ~use_qs & ~huge
    q = np.empty_like(av)
    q[huge] = _temme(av[huge], xv[huge])
    q[use_cf] = _q_fraction(av[use_cf], xv[use_cf])
    q[use_qs] = _q_series(av[use_qs], xv[use_qs])
    p = _p_series(av[use_p], xv[use_p])
    val = np.empty_like(av)
    val[use_p] = 1.0 - p if upper else p
    via_q = ~use_p
    val[via_q] = q[via_q] if upper else 1.0 - q[via_q]
    out[reg] = val
    return out


def gammainc(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The regularized lower incomplete gamma function P(a, x), float64 (broadcast)."""
    return _incomplete(a, x, upper=False)


def gammaincc(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x), float64."""
    return _incomplete(a, x, upper=True)


# zeta(k) for k = 0..79 (the Taylor coefficients of lgamma(1 + a)); index 0 and 1 unused
_ZETA_INT = [math.nan, math.inf] + [
    float(zeta(np.array(float(k)), np.array(1.0))) for k in range(2, 80)
]
