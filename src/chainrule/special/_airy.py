"""Float64 NumPy kernel of the Airy function Ai (``torch.special.airy_ai``; no SciPy).

- x >= 1: ``Ai(x) = sqrt(x / 3) / pi K_{1/3}(zeta)``, zeta = 2/3 x^(3/2) (A&S 10.4.14), with
  ``e^zeta K_{1/3}(zeta) = int_0^inf e^{-zeta (cosh t - 1)} cosh(t / 3) dt`` by the
  trapezoidal rule (geometric convergence; see ``ops/_special_more_bessel_ik.py``).
- -1 < x < 1: the Maclaurin series ``Ai(0) f(x) + Ai'(0) g(x)`` (A&S 10.4.2-3).
- -10 <= x <= -1: Taylor series of the ODE ``Ai'' = x Ai`` around the centres -1.25, -1.75,
  ..., -9.75 (so |x - c| <= 1/4), whose values Ai(c), Ai'(c) are computed once, on first
  use, by the Maclaurin series in 60-digit ``decimal`` arithmetic (which absorbs the series'
  cancellation there, up to e^(2/3 * 10^1.5) ~ 1e9).
- x < -10: the oscillating asymptotic expansion ``Ai(-z) = (sin(theta) f - cos(theta) g) /
  (sqrt(pi) z^(1/4))``, theta = zeta + pi/4 (A&S 10.4.60; its smallest term is below e^-40
  there); zeta is formed as PyTorch's Cephes kernel forms it (``-2 x sqrt(-x) / 3``), so the
  phase carries the same rounding.

A deliberate difference: for -10 < x < -2.1 PyTorch's kernel is accurate only to ~1e-5
(Ai(-2.5) is off by 2e-6 relative); these values are within a few ulp of the amplitude
there (checked against mpmath). As PyTorch (Cephes), Ai is 0 for x > 103.892 (where the
true value is subnormal) and NaN at +-inf.
"""

from __future__ import annotations

import decimal
import functools
import math

import numpy as np

__all__ = ["airy_ai"]

_AI0 = "0.355028053887817239260063186004183176397979174"  # Ai(0) = 3^(-2/3) / Gamma(2/3)
_AIP0 = "-0.258819403792806798405183560189203963479091138"  # Ai'(0) = -3^(-1/3) / Gamma(1/3)
_CENTRES = np.arange(-1.25, -10.0, -0.5)
_MAX_AIRY = 103.892


def _maclaurin_terms(x: object, one: object, count: int, derivatives: bool = True) -> tuple:
    """f(x), g(x), f'(x), g'(x) of A&S 10.4.2-3 by their series, in the arithmetic of x (the
    derivatives only when asked: they divide by x)."""
    f, g, fd, gd = one * 0, one * 0, one * 0, one * 0  # four distinct accumulators
    tf, tg = one, x  # x^(3k) * prod / (3k)!, x^(3k+1) * prod / (3k+1)!
    x3 = x * x * x
    for k in range(count):
        f += tf
        g += tg
        if k > 0 and derivatives:
            fd += tf * 3 * k / x
            gd += tg * (3 * k + 1) / x
        elif k == 0:
            gd += one
        tf = tf * x3 / ((3 * k + 2) * (3 * k + 3))
        tg = tg * x3 / ((3 * k + 3) * (3 * k + 4))
    return f, g, fd, gd


@functools.cache
def _centre_values() -> tuple:
    """Ai and Ai' at the Taylor centres, in float64 from 60-digit arithmetic."""
    ctx = decimal.Context(prec=60)
    ai0, aip0 = ctx.create_decimal(_AI0), ctx.create_decimal(_AIP0)
    values, slopes = [], []
    with decimal.localcontext(ctx):
        one = decimal.Decimal(1)
        for c in _CENTRES:
            f, g, fd, gd = _maclaurin_terms(decimal.Decimal(float(c)), one, 160)
            values.append(float(ai0 * f + aip0 * g))
            slopes.append(float(ai0 * fd + aip0 * gd))
    return np.array(values), np.array(slopes)


def _taylor(x: np.ndarray) -> np.ndarray:
    """Ai on [-10, -1] by the ODE's Taylor series around the nearest centre."""
    idx = np.clip(np.rint((-1.25 - x) / 0.5), 0, len(_CENTRES) - 1).astype(np.intp)
    c = _CENTRES[idx]
    h = x - c
    values, slopes = _centre_values()
    a_prev, a_cur = values[idx], slopes[idx]  # a_0, a_1
    a_next = c * a_prev / 2.0  # a_2
    total = a_prev + h * (a_cur + h * a_next)
    power = h * h
    coeffs = [a_prev, a_cur, a_next]
    for n in range(1, 40):  # (n+2)(n+1) a_{n+2} = c a_n + a_{n-1}
        nxt = (c * coeffs[n] + coeffs[n - 1]) / ((n + 2) * (n + 1))
        coeffs.append(nxt)
        power = power * h
        total = total + nxt * power
    return total


def _maclaurin(x: np.ndarray) -> np.ndarray:
    f, g, _, _ = _maclaurin_terms(x, np.ones_like(x), 30, derivatives=False)
    return float(_AI0) * f + float(_AIP0) * g


def _positive(x: np.ndarray) -> np.ndarray:
    """Ai(x) for x >= 1 through K_{1/3} (module docstring)."""
    zeta = 2.0 / 3.0 * x * np.sqrt(x)
    step = np.where(zeta >= 34.0, math.pi / np.sqrt(21.0 * zeta), math.pi**2 / (42.0 + zeta))
    t = step[:, None] * np.arange(48.0)[None, :]
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        f = np.exp(-zeta[:, None] * (2.0 * np.sinh(t / 2.0) ** 2)) * np.cosh(t / 3.0)
        f[:, 0] *= 0.5
        k_scaled = step * f.sum(axis=1)
        return np.sqrt(x / 3.0) / math.pi * k_scaled * np.exp(-zeta)


def _negative(x: np.ndarray) -> np.ndarray:
    """Ai(x) for x < -10 by the asymptotic expansion, PyTorch's phase arithmetic."""
    t = np.sqrt(-x)
    zeta = -2.0 * x * t / 3.0
    inv = 1.0 / zeta
    # u_k = (2k+1)(2k+3)...(6k-1) / (216^k k!), by its ratio to u_{k-1}
    f, g = np.ones_like(x), np.zeros_like(x)
    u = 1.0
    power = np.ones_like(x)
    for k in range(1, 40):
        u = u * (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / (216.0 * k * (2 * k - 1))
        power = power * inv
        term = u * power
        if k % 2:
            g = g + (1.0 if k % 4 == 1 else -1.0) * term
        else:
            f = f + (-1.0 if k % 4 == 2 else 1.0) * term
    theta = zeta + 0.25 * math.pi
    return (np.sin(theta) * f - np.cos(theta) * g) / (math.sqrt(math.pi) * np.sqrt(t))


def airy_ai(x: np.ndarray) -> np.ndarray:
    """The Airy function Ai(x), float64."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full_like(x, np.nan)
    for mask, fn in (
        ((x >= 1.0) & (x <= _MAX_AIRY), _positive),
        ((x > -1.0) & (x < 1.0), _maclaurin),
        ((x >= -10.0) & (x <= -1.0), _taylor),
        ((x < -10.0) & np.isfinite(x), _negative),
    ):
        out[mask] = fn(x[mask])
    out[x > _MAX_AIRY] = 0.0  # PyTorch's Cephes cut-off (the true value is subnormal there)
    out[x == np.inf] = np.nan  # as PyTorch
    return out
