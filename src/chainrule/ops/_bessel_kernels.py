"""Raw-array kernels for erfc, i0 and i1 (``ops/pointwise_more.py``), in the manner of
``_special_kernels.py``: ``scipy.special`` (CuPy's for GPU arrays) when it is importable, a
NumPy fallback otherwise (``math.erfc`` per element; NumPy's Cephes ``np.i0``; for I1 the
power series for |x| <= 50 and the asymptotic series beyond). Each computes in float64 and
returns the input's dtype. At +-inf, i0 and i1 give NaN, as PyTorch's Cephes kernels do.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import get_array_module
from . import _special_kernels as _sk

__all__ = ["erfc", "i0", "i1"]


def erfc(x: Any) -> Any:
    """1 - erf(x) without cancellation."""
    sp = _sk._special(x)
    if sp is not None:
        return _sk._back(sp.erfc(x), x)
    return _sk._back(np.vectorize(math.erfc, otypes=[np.float64])(x), x)


def _i1_numpy(x: np.ndarray) -> np.ndarray:
    """I1(x) in float64: sum_k (x/2)^(2k+1) / (k! (k+1)!) for |x| <= 50 (positive terms, no
    cancellation), else e^z / sqrt(2 pi z) sum_k (-1)^k a_k(1) / z^k with
    a_k(1) = prod_{j<=k} (4 - (2j - 1)^2) / (k! 8^k) (terms shrink like (k / 2z)^k)."""
    ax = np.abs(x)
    out = np.full_like(ax, np.nan)
    small = ax <= 50.0
    h = ax[small] / 2.0
    term, total = h.copy(), h.copy()
    for k in range(1, 160):
        term = term * h * h / (k * (k + 1))
        total += term
    out[small] = total
    big = ~small & np.isfinite(ax)
    z = ax[big]
    coef, series = np.ones_like(z), np.ones_like(z)
    for k in range(1, 32):
        coef = coef * -(4.0 - (2 * k - 1) ** 2) / (k * 8.0 * z)
        series += coef
    with np.errstate(over="ignore"):
        out[big] = np.exp(z) / (np.sqrt(2 * np.pi) * np.sqrt(z)) * series  # 2 pi z overflows
    out[np.isinf(ax)] = np.nan
    return np.copysign(out, x)


def _bessel(order: int, x: Any) -> Any:
    xp = get_array_module(x)
    sp = _sk._special(x)
    if sp is not None:
        y = (sp.i0 if order == 0 else sp.i1)(x)
    elif order == 0:
        with np.errstate(invalid="ignore", divide="ignore"):  # Cephes at +-inf: NaN
            y = np.i0(np.asarray(x, dtype=np.float64))
    else:
        y = _i1_numpy(np.asarray(x, dtype=np.float64))
    return _sk._back(xp.where(xp.isinf(x), xp.nan, y), x)


def i0(x: Any) -> Any:
    """The modified Bessel function of the first kind, order 0."""
    return _bessel(0, x)


def i1(x: Any) -> Any:
    """The modified Bessel function of the first kind, order 1."""
    return _bessel(1, x)
