"""Float64 NumPy kernels of the Bessel functions J0, J1, Y0, Y1 and the spherical j0 (no
SciPy; PyTorch does not differentiate these, so they are plain array functions).

- 0 < x <= 2: the power series of J_n (A&S 9.1.10) and of Y_n (A&S 9.1.13 for n = 0, 9.1.11
  for n = 1), which lose at most a couple of bits there.
- 2 < x <= 25: Miller's backward recurrence ``J_{k-1} = (2k / x) J_k - J_{k+1}`` from
  k = 86, normalised by ``J_0 + 2 sum_k J_2k = 1``; Y0 and Y1 from the same sequence by
  Neumann's series ``Y0 = (2/pi)(log(x/2) + gamma) J0 - (4/pi) sum_k (-1)^k J_2k / k`` and
  its derivative ``Y1 = -Y0'``.
- x > 25: Hankel's asymptotic expansion ``sqrt(2 / (pi x)) (P cos chi - Q sin chi)`` (and
  ``P sin chi + Q cos chi`` for Y), chi = x - pi/4 (n = 0) or x - 3 pi/4 (n = 1), with P and
  Q summed to 30 terms (the smallest term, near k = 2x, is below e^-50). As in PyTorch, chi is
  x minus the constant rounded to float64, so both carry the same phase rounding at large x.

Like any method, these have absolute (not relative) accuracy next to the zeros of J and Y.
A deliberate difference: between x ~ 2 and 25 PyTorch's own kernels are accurate only to
1e-6 .. 1e-11 (J0(5.1) is off by 2e-6 relative there); these stay within a few ulp of the
local amplitude (tests/test_special.py checks both against mpmath).
J0 is even, J1 odd, Y0 and Y1 are -inf at 0 and NaN below 0; all are NaN at +-inf, as
PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["bessel_j", "bessel_y", "spherical_j0"]

_EULER = np.euler_gamma
_PI_4 = 0.785398163397448309615660845819875721
_3PI_4 = 2.356194490192344928846982537459627163
_SQRT_2_PI = 0.797884560802865355879892119868763737  # sqrt(2 / pi)
_START = 86  # the (even) index the backward recurrence starts from, for x <= 25


def _series(x: np.ndarray) -> tuple:
    """(J0, J1, Y0, Y1) for 0 < x <= 2 by the power series."""
    h = x / 2.0
    q = -h * h
    t0, t1 = np.ones_like(x), h.copy()  # (-q)^k / k!^2 and h (-q)^k / (k! (k+1)!) with signs
    j0, j1 = t0.copy(), t1.copy()
    harm = 0.0
    s0 = np.zeros_like(x)  # sum (-1)^(k+1) H_k (x^2/4)^k / k!^2
    s1 = (1.0 - 2 * _EULER) * np.ones_like(x)  # sum (psi(k+1) + psi(k+2)) (-x^2/4)^k / ...
    for k in range(1, 30):
        t0 = t0 * q / (k * k)
        t1 = t1 * q / (k * (k + 1))
        harm += 1.0 / k
        j0 += t0
        j1 += t1
        s0 -= harm * t0
        s1 += (2 * harm - 2 * _EULER + 1.0 / (k + 1)) * t1 / h
    log_term = np.log(h) + _EULER
    y0 = (2 / math.pi) * (log_term * j0 + s0)
    y1 = -2 / (math.pi * x) + (2 / math.pi) * np.log(h) * j1 - h / math.pi * s1
    return j0, j1, y0, y1


def _miller(x: np.ndarray) -> tuple:
    """(J0, J1, Y0, Y1) for 2 < x <= 25 by backward recurrence (module docstring)."""
    nxt = np.zeros_like(x)  # J_{k+1}
    cur = np.full_like(x, 1e-30)  # J_k, k = _START (unnormalised)
    norm = np.zeros_like(x)
    s0 = np.zeros_like(x)  # sum (-1)^k J_2k / k
    s1 = np.zeros_like(x)  # sum (-1)^k (J_{2k-1} - J_{2k+1}) / k
    j_odd_above = np.zeros_like(x)  # J_{2k+1} while stepping
    j1 = np.zeros_like(x)
    for k in range(_START, 0, -1):
        if k % 2 == 0:
            m = k // 2
            sign = -1.0 if m % 2 else 1.0
            norm += 2.0 * cur
            s0 += sign * cur / m
            j_odd_above = nxt
        else:  # cur is J_{2m-1}
            m = (k + 1) // 2
            sign = -1.0 if m % 2 else 1.0
            s1 += sign * (cur - j_odd_above) / m
            if k == 1:
                j1 = cur
        prev = (2.0 * k / x) * cur - nxt
        nxt, cur = cur, prev
    j0 = cur
    norm += j0
    j0, j1, s0, s1 = j0 / norm, j1 / norm, s0 / norm, s1 / norm
    log_term = np.log(x / 2.0) + _EULER
    y0 = (2 / math.pi) * log_term * j0 - (4 / math.pi) * s0
    y1 = -(2 / (math.pi * x)) * j0 + (2 / math.pi) * log_term * j1 + (2 / math.pi) * s1
    return j0, j1, y0, y1


def _hankel(n: int, x: np.ndarray) -> tuple:
    """(J_n, Y_n) for x > 25 by Hankel's expansion (module docstring)."""
    mu = 4.0 * n * n
    p, q = np.ones_like(x), np.zeros_like(x)
    term = np.ones_like(x)
    for k in range(1, 60):
        term = term * (mu - (2 * k - 1) ** 2) / (k * 8.0 * x)
        if k % 4 == 1:
            q += term
        elif k % 4 == 2:
            p -= term
        elif k % 4 == 3:
            q -= term
        else:
            p += term
    chi = x - (_PI_4 if n == 0 else _3PI_4)
    c, s = np.cos(chi), np.sin(chi)
    amp = _SQRT_2_PI / np.sqrt(x)
    return amp * (p * c - q * s), amp * (p * s + q * c)


def _all(x: np.ndarray) -> tuple:
    """(J0, J1, Y0, Y1) at |x| for finite x > 0 (callers handle 0, inf, NaN and signs)."""
    out = [np.empty_like(x) for _ in range(4)]
    for mask, fn in (
        (x <= 2.0, _series),
        ((x > 2.0) & (x <= 25.0), _miller),
    ):
        vals = fn(x[mask])
        for o, v in zip(out, vals):
            o[mask] = v
    big = x > 25.0
    for n in (0, 1):
        jv, yv = _hankel(n, x[big])
        out[n][big], out[2 + n][big] = jv, yv
    return tuple(out)


def bessel_j(n: int, x: np.ndarray) -> np.ndarray:
    """J_n(x), n in (0, 1), float64: J0(0) = 1, J1(0) = 0, J1 odd; NaN at +-inf, as
    PyTorch (its kernel computes cos(inf))."""
    x = np.asarray(x, dtype=np.float64)
    z = np.abs(x)
    out = np.full_like(z, np.nan)
    ok = (z > 0) & np.isfinite(z)
    out[ok] = _all(z[ok])[n]
    out[z == 0] = 1.0 if n == 0 else 0.0
    return np.where(x < 0, -out, out) if n == 1 else out


def bessel_y(n: int, x: np.ndarray) -> np.ndarray:
    """Y_n(x), n in (0, 1), float64: -inf at 0, NaN for x < 0 and at +inf (as PyTorch)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full_like(x, np.nan)
    ok = (x > 0) & np.isfinite(x)
    out[ok] = _all(x[ok])[2 + n]
    out[x == 0] = -np.inf
    return out


# Taylor coefficients of sin(x) / x in x^2, PyTorch's for |x| < 0.5
_SINC_TAYLOR = (1.0, -1 / 6, 1 / 120, -1 / 5040, 1 / 362880, -1 / 39916800, 1 / 6227020800)


def spherical_j0(x: np.ndarray) -> np.ndarray:
    """sin(x) / x (1 at 0 by its Taylor series below |x| = 0.5, 0 at +-inf), float64."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.array(np.sin(x) / x)  # an array even when 0-d
    small = np.abs(x) < 0.5
    xs2 = x[small] ** 2
    total = np.zeros_like(xs2)
    for c in reversed(_SINC_TAYLOR):
        total = total * xs2 + c
    out[small] = total
    out[np.isinf(x)] = 0.0
    return out
