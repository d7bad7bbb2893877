"""Raw float64 NumPy kernels of the normal-distribution family of ``torch.special``: erfcx,
ndtr, log_ndtr and ndtri (used by ``ops/special_more.py``; no SciPy).

- ``erfcx(x) = exp(x^2) erfc(x)``: for x < 26 the product, with (x >= 0) ``exp(x^2)`` taken
  from the exact split ``x^2 = h^2 + (x - h)(x + h)`` (h: x with its low 27 bits cleared, so h^2 is
  exact) so that the rounding of x^2 is not amplified by exp; ``erfc`` is libm's per element.
  For x >= 26 (where erfc underflows) the asymptotic series
  ``1 / (x sqrt(pi)) sum_k (-1)^k (2k - 1)!! / (2 x^2)^k``, whose terms fall below 1e-17 of
  the sum within a dozen terms there. For x < 0, ``exp(x * x)`` with x * x rounded, as
  PyTorch computes it (so the two agree to the bit where erfc(x) = 2, below -6.1); +inf
  below -26.6 (exp overflows), as PyTorch.
- ``log_ndtr(x) = log Phi(x)``: PyTorch's formula, ``log(erfcx(-t) / 2) - t^2`` with
  ``t = x / sqrt(2)`` for x < -1 (no underflow however negative x is) and
  ``log1p(-erfc(t) / 2)`` otherwise.
- ``ndtri(p) = Phi^-1(p)``: with ``q = min(p, 1 - p)`` (exact), ``-sqrt(2) erfinv(1 - 2q)``
  for q > exp(-2); in the tail, Newton's method on ``log_ndtr(z) = log q`` (concave in z, so
  the iterates rise monotonically to the root from the start ``-sqrt(-2 log q)``).
"""

from __future__ import annotations

import math

import numpy as np

from . import _special_kernels as _sk

__all__ = ["erfcx", "log_ndtr", "ndtr", "ndtri"]

_ERFC = np.vectorize(math.erfc, otypes=[np.float64])
_SQRT_PI = math.sqrt(math.pi)
_SQRT1_2 = math.sqrt(0.5)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _exp_square(x: np.ndarray) -> np.ndarray:
    """exp(x^2) without the error of rounding x^2 first (see the module docstring)."""
    h = (x.view(np.int64) & ~np.int64((1 << 27) - 1)).view(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(h * h) * np.exp((x - h) * (x + h))


def erfcx(x: np.ndarray) -> np.ndarray:
    """The scaled complementary error function exp(x^2) erfc(x), float64 in and out."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    big = x >= 26.0
    small = ~big & ~np.isnan(x)
    xs = x[small]
    with np.errstate(over="ignore", invalid="ignore"):
        # x < 0: PyTorch's exp(x * x) with x * x rounded (its 2 exp(x^2) below -6.1), to the bit
        scale = np.where(xs < 0, np.exp(xs * xs), _exp_square(xs))
        vals = scale * _ERFC(xs)
    out[small] = np.where(xs < -26.7, np.inf, vals)
    xb = x[big]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        inv = 1.0 / (2.0 * xb * xb)
        term = np.ones_like(xb)
        total = np.ones_like(xb)
        for k in range(1, 14):
            term = term * (-(2 * k - 1) * inv)
            total += term
        out[big] = np.where(np.isinf(xb), 0.0, total / (xb * _SQRT_PI))
    out[np.isnan(x)] = np.nan
    return out


def ndtr(x: np.ndarray) -> np.ndarray:
    """The standard normal CDF, float64: ``erfc(-x / sqrt 2) / 2`` for x >= -1, and in the
    left tail ``erfcx(-x / sqrt 2) exp(-x^2 / 2) / 2`` with ``x^2`` split exactly (as in
    ``_exp_square``): the rounding of ``x / sqrt 2`` would otherwise cost ~x^2 ulp there."""
    x = np.asarray(x, dtype=np.float64)
    out = np.array(0.5 * _ERFC(-x * _SQRT1_2), dtype=np.float64)  # an array even when 0-d
    low = x < -1.0
    xl = x[low]
    h = (xl.view(np.int64) & ~np.int64((1 << 27) - 1)).view(np.float64)
    with np.errstate(under="ignore", invalid="ignore"):
        tail = np.exp(-(h * h) / 2.0) * np.exp(-((xl - h) * (xl + h)) / 2.0)
        out[low] = np.where(np.isinf(xl), 0.0, 0.5 * erfcx(-xl * _SQRT1_2) * tail)
    return out


def log_ndtr(x: np.ndarray) -> np.ndarray:
    """log of the standard normal CDF, float64 in and out."""
    x = np.asarray(x, dtype=np.float64)
    t = x * _SQRT1_2
    out = np.empty_like(x)
    low = x < -1.0
    tl = t[low]
    with np.errstate(divide="ignore"):  # x = -inf: log(0) = -inf
        out[low] = np.log(erfcx(-tl) / 2.0) - tl * tl
    hi = ~low
    out[hi] = np.log1p(-_ERFC(t[hi]) / 2.0)
    return out


def _ndtri_tail(q: np.ndarray) -> np.ndarray:
    """Phi^-1(q) for 0 < q <= exp(-2) by Newton's method on log Phi(z) = log q."""
    logq = np.log(q)
    z = -np.sqrt(-2.0 * logq)
    active = np.ones(z.shape, dtype=bool)
    for _ in range(60):
        if not active.any():
            break
        za = z[active]
        lp = log_ndtr(za)
        slope = np.exp(-0.5 * za * za - _LOG_SQRT_2PI - lp)  # d/dz log Phi = phi / Phi
        step = (lp - logq[active]) / slope
        z[active] = za - step
        idx = np.flatnonzero(active)
        active[idx[np.abs(step) <= 1e-17 * np.abs(za)]] = False
    return z


def ndtri(p: np.ndarray) -> np.ndarray:
    """The inverse of the standard normal CDF, float64 in and out: -inf at 0, +inf at 1,
    NaN outside [0, 1]."""
    p = np.asarray(p, dtype=np.float64)
    upper = p > 0.5
    q = np.where(upper, 1.0 - p, p)  # exact for p in [0.5, 1]
    z = np.full_like(p, np.nan)
    mid = (q > math.exp(-2.0)) & (q <= 0.5)
    z[mid] = 0.0 - math.sqrt(2.0) * _sk.erfinv(1.0 - 2.0 * q[mid])  # +0 at p = 0.5
    tail = (q > 0) & (q <= math.exp(-2.0))
    z[tail] = _ndtri_tail(q[tail])
    z[q == 0] = -np.inf
    return np.where(upper, -z, z)
