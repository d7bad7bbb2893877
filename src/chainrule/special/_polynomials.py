"""Float64 NumPy kernels of ``torch.special``'s classical orthogonal polynomials, evaluated at
x for an integer degree n (elementwise, broadcast).

PyTorch's definitions are followed rule for rule, so that the values agree to the bit in
float64: the degree is ``n`` truncated toward zero (NaN, +-inf and values beyond int64 give
a negative degree, as the C++ cast does there), a negative degree gives 0; the closed
forms at the ends of the interval; for Chebyshev polynomials of high degree inside (-1, 1)
the trigonometric forms (``T_n = cos(n acos x)``, ...); otherwise the three-term recurrence
(``T_{k+1} = 2x T_k - T_{k-1}``, Hermite's ``H_{k+1} = 2x H_k - 2k H_{k-1}``, Laguerre's
``(k+1) L_{k+1} = (2k + 1 - x) L_k - k L_{k-1}``, Legendre's ``(k+1) P_{k+1} = (2k+1) x P_k
- k P_{k-1}``). The shifted Chebyshev polynomials are those of ``2x - 1``.

Two deliberate differences: PyTorch's CPU kernels fuse each recurrence step into
multiply-adds (one rounding where NumPy rounds twice), so recurrence values agree to a few
ulp of the terms rather than to the bit; and at x = NaN with n >= 2 PyTorch's kernel skips
its loop and returns an uninitialised value (0 or a neighbour's result), where these give
NaN.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["POLYNOMIALS", "degree"]

_INT64_MIN = np.iinfo(np.int64).min


def degree(n: np.ndarray) -> np.ndarray:
    """``static_cast<int64_t>(n)`` on x86: truncation, INT64_MIN for NaN/inf/out of range."""
    n = np.asarray(n)
    if n.dtype.kind in "biu":
        return n.astype(np.int64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(n) & (np.abs(n) < 2.0**63)
        return np.where(ok, np.trunc(np.where(ok, n, 0.0)), _INT64_MIN).astype(np.int64)


def _recurrence(
    x: np.ndarray, n: np.ndarray, first: np.ndarray, step: Callable, skip: np.ndarray | bool = False
) -> np.ndarray:
    """p_n by ``p_{k} = step(k, x, p_{k-1}, p_{k-2})`` from p_0 = 1, p_1 = ``first``, for the
    elements with n >= 2 that ``skip`` does not mark (those another branch computes: it runs
    in steps of one degree, so only elements that need it may drive the loop; NaNs stop
    early, as they stay NaN)."""
    shape = np.broadcast_shapes(x.shape, n.shape, first.shape)
    x, n, first, skip = (np.broadcast_to(a, shape).ravel() for a in (x, n, first, skip))
    out = np.zeros(shape, dtype=np.float64).ravel()
    idx = np.flatnonzero((n >= 2) & ~skip)
    xs, ns = x[idx], n[idx]
    prev, cur = np.ones_like(xs), first[idx]
    k = 2
    while idx.size:
        nxt = step(k, xs, cur, prev)
        prev, cur = cur, nxt
        done = (ns == k) | np.isnan(cur)
        if done.any():
            out[idx[done]] = np.where(ns[done] == k, cur[done], np.nan)
            keep = ~done
            idx, xs, ns, prev, cur = idx[keep], xs[keep], ns[keep], prev[keep], cur[keep]
        k += 1
    return out.reshape(shape)


def _cheb_step(k: int, x: np.ndarray, cur: np.ndarray, prev: np.ndarray) -> np.ndarray:
    return (x + x) * cur - prev


def _chebyshev(kind: str, x: np.ndarray, n: np.ndarray, low: np.ndarray, high: np.ndarray,
               trig_from: int) -> np.ndarray:  # fmt: skip
    """The Chebyshev polynomial of ``kind`` (t, u, v, w) of x; ``low``/``high`` mark the
    points treated as -1 and +1 (x itself, or for the shifted ones x = 0 and x = 1)."""
    nf = n.astype(np.float64)
    odd = (n % 2) != 0
    sign = np.where(odd, -1.0, 1.0)
    first = {"t": x, "u": x + x, "v": x + x - 1.0, "w": x + x + 1.0}[kind]
    inside = (n > trig_from) & (np.abs(x) < 1.0)
    out = _recurrence(x, n, first, _cheb_step, skip=inside | high | low)
    out = np.where(n == 1, first, out)
    out = np.where(n == 0, 1.0, out)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.arccos(np.where(inside, x, 0.0))
        if kind == "t":
            trig = np.cos(nf * theta)
        elif kind == "u":
            s = np.sin(theta)
            trig = np.where(
                s != 0, np.sin((nf + 1) * theta) / s, (nf + 1) * np.cos((nf + 1) * theta) / x
            )
        elif kind == "v":
            trig = np.where(
                np.sin(theta / 2.0) != 1.0,
                np.cos((nf + 0.5) * theta) / np.cos(theta / 2.0),
                sign * (nf + nf + 1),
            )
        else:
            trig = np.where(
                np.cos(theta / 2.0) != 1.0,
                np.sin((nf + 0.5) * theta) / np.sin(theta / 2.0),
                np.where(x > 0, nf + nf + 1, sign),
            )
    out = np.where(inside, trig, out)
    end_hi = {"t": 1.0, "u": nf + 1, "v": 1.0, "w": nf + nf + 1}[kind]
    end_lo = {"t": sign, "u": sign * (nf + 1), "v": sign * (nf + nf + 1), "w": sign}[kind]
    out = np.where(high, end_hi, np.where(low, end_lo, out))
    return np.where(n < 0, 0.0, out)


def _unshifted(kind: str) -> Callable:
    def poly(x: np.ndarray, n: np.ndarray) -> np.ndarray:
        trig_from = 6 if kind == "t" else 8
        return _chebyshev(kind, x, n, x == -1.0, x == 1.0, trig_from)

    return poly


def _shifted(kind: str) -> Callable:
    def poly(x: np.ndarray, n: np.ndarray) -> np.ndarray:
        return _chebyshev(kind, x + x - 1.0, n, x == 0.0, x == 1.0, 6)

    return poly


def _hermite_h(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    out = _recurrence(x, n, x + x, lambda k, x, cur, prev: (x + x) * cur - (2 * k - 2) * prev)
    out = np.where(n == 1, x + x, np.where(n == 0, 1.0, out))
    return np.where(n < 0, 0.0, out)


def _hermite_he(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    out = _recurrence(x, n, x, lambda k, x, cur, prev: x * cur - (k - 1) * prev)
    out = np.where(n == 1, x, np.where(n == 0, 1.0, out))
    return np.where(n < 0, 0.0, out)


def _laguerre(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    def step(k: int, x: np.ndarray, cur: np.ndarray, prev: np.ndarray) -> np.ndarray:
        j = k - 1
        return (((j + j) + (1.0 - x)) * cur - j * prev) / (j + 1)

    out = _recurrence(x, n, 1.0 - x, step, skip=x == 0)
    out = np.where(n == 1, 1.0 - x, np.where(n == 0, 1.0, out))
    out = np.where(x == 0, 1.0, out)
    return np.where(n < 0, 0.0, out)


def _legendre(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    def step(k: int, x: np.ndarray, cur: np.ndarray, prev: np.ndarray) -> np.ndarray:
        j = k - 1
        return ((j + j + 1) * x * cur - j * prev) / (j + 1)

    out = _recurrence(x, n, x, step, skip=np.abs(x) == 1.0)
    out = np.where(n == 1, x, np.where(n == 0, 1.0, out))
    odd = (n % 2) != 0
    out = np.where(x == 1.0, 1.0, np.where(x == -1.0, np.where(odd, -1.0, 1.0), out))
    return np.where(n < 0, 0.0, out)


POLYNOMIALS: dict = {
    "chebyshev_polynomial_t": _unshifted("t"),
    "chebyshev_polynomial_u": _unshifted("u"),
    "chebyshev_polynomial_v": _unshifted("v"),
    "chebyshev_polynomial_w": _unshifted("w"),
    "shifted_chebyshev_polynomial_t": _shifted("t"),
    "shifted_chebyshev_polynomial_u": _shifted("u"),
    "shifted_chebyshev_polynomial_v": _shifted("v"),
    "shifted_chebyshev_polynomial_w": _shifted("w"),
    "hermite_polynomial_h": _hermite_h,
    "hermite_polynomial_he": _hermite_he,
    "laguerre_polynomial_l": _laguerre,
    "legendre_polynomial_p": _legendre,
}
