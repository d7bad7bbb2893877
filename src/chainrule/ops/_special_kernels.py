"""Raw-array kernels for the special functions: lgamma, digamma, polygamma, erfinv.

SciPy is an optional dependency (``chainrule[all]``), so every kernel has two paths: SciPy's
``scipy.special`` (CuPy's ``cupyx.scipy.special`` for GPU arrays) when it is importable, and
a pure-NumPy fallback otherwise. The fallbacks are the classical algorithms, vectorised:

- ``lgamma``: ``math.lgamma`` per element (exact; +inf at the poles, as PyTorch);
- ``digamma``: recurrence up to x >= 6, the asymptotic series there, reflection for x < 0;
- ``polygamma(n, x)``, n >= 1: ``(-1)^(n+1) n! zeta(n + 1, x)`` with the Hurwitz zeta by
  direct summation plus the Euler-Maclaurin tail;
- ``erfinv``: Giles' approximation refined by Newton steps on ``math.erf``.

Each computes in float64 and returns the input's dtype. ``_scipy`` is looked up once;
tests set it to None to exercise the NumPy path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import get_array_module
from ..meta.array import MetaArray, meta_empty

__all__ = ["digamma", "erfinv", "lgamma", "polygamma"]


def _import_scipy() -> Any:
    try:
        import scipy.special as sp  # noqa: PLC0415 - SciPy is optional
    except ImportError:
        return None
    return sp


_scipy: Any = _import_scipy()


def _special(x: Any) -> Any:
    """The ``scipy.special`` module that handles ``x``'s array type, or None (NumPy path)."""
    if get_array_module(x) is not np and type(x) is not MetaArray:  # meta: SciPy's ufuncs
        import cupyx.scipy.special as csp  # type: ignore  # noqa: PLC0415 - CuPy is optional

        return csp
    return _scipy


def _back(y: Any, like: Any) -> Any:
    return get_array_module(like).asarray(y).astype(like.dtype, copy=False)


# ------------------------------------------------------------------------------ lgamma
def _lgamma_scalar(v: float) -> float:
    if math.isnan(v):
        return v
    if math.isinf(v) or (v <= 0 and v == math.floor(v)):
        return math.inf  # the poles and -inf: +inf, as PyTorch
    return math.lgamma(v)


_lgamma_vec = np.vectorize(_lgamma_scalar, otypes=[np.float64])


def lgamma(x: Any) -> Any:
    """log |Gamma(x)| elementwise."""
    sp = _special(x)
    if sp is not None:
        xp = get_array_module(x)
        y = xp.where(x == -xp.inf, xp.inf, sp.gammaln(x))  # +inf, as PyTorch
        tiny = xp.abs(x) < 1e-300
        if tiny.any():  # SciPy's Gamma(x) ~ 1/x overflows below 5.6e-309 (lgamma is finite)
            with np.errstate(divide="ignore"):  # lgamma(+-0) = -log 0 = inf
                y = xp.where(tiny, -xp.log(xp.abs(x)), y)  # the error, Euler's x, is < 1e-300
        return _back(y, x)
    return _back(_lgamma_vec(np.asarray(x, dtype=np.float64)), x)


# ----------------------------------------------------------------------------- digamma
# B_2k / 2k for the asymptotic series psi(x) ~ ln x - 1/(2x) - sum B_2k / (2k x^2k)
_DIGAMMA_ASYMP = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)


def _digamma_positive(x: np.ndarray) -> np.ndarray:
    """psi(x) for x > 0 (float64)."""
    x = x.copy()
    acc = np.zeros_like(x)
    for _ in range(6):  # psi(x) = psi(x + 1) - 1/x until x >= 6
        small = x < 6
        if not small.any():
            break
        acc -= np.where(small, 1.0 / np.where(small, x, 1.0), 0.0)
        x = np.where(small, x + 1.0, x)
    inv2 = 1.0 / (x * x)
    series = np.zeros_like(x)
    for c in reversed(_DIGAMMA_ASYMP):
        series = (series + c) * inv2
    return acc + np.log(x) - 0.5 / x - series


def _digamma_numpy(x: np.ndarray) -> np.ndarray:
    out = np.full_like(x, np.nan)
    pos = x > 0
    out[pos] = _digamma_positive(x[pos])
    neg = (x < 0) & np.isfinite(x) & (x != np.floor(x))
    if neg.any():  # reflection: psi(x) = psi(1 - x) - pi / tan(pi x)
        xn = x[neg]
        out[neg] = _digamma_positive(1.0 - xn) - np.pi / np.tan(np.pi * xn)
    zero = x == 0
    out[zero] = np.copysign(np.inf, -x[zero])  # -inf at +0, +inf at -0 (PyTorch)
    out[x == np.inf] = np.inf
    return out


def digamma(x: Any) -> Any:
    """psi(x) = d/dx log Gamma(x) elementwise (-inf at +0, NaN at negative integers)."""
    sp = _special(x)
    if sp is not None:
        y = sp.psi(x)
        xp = get_array_module(x)
        zero = x == 0  # SciPy returns NaN/-inf at 0; PyTorch the signed infinity
        if bool(zero.any()):
            y = xp.where(zero, xp.copysign(xp.inf, -x), y)
        return _back(y, x)
    return _back(_digamma_numpy(np.asarray(x, dtype=np.float64)), x)


# --------------------------------------------------------------------------- polygamma
# B_2j / (2j)! for the Euler-Maclaurin tail of the Hurwitz zeta function
_EM = (
    1 / 12,
    -1 / 720,
    1 / 30240,
    -1 / 1209600,
    1 / 47900160,
    -691 / 1307674368000,
    1 / 74724249600,
    -3617 / 10670622842880000,
)


def _hurwitz_zeta(s: int, q: np.ndarray) -> np.ndarray:
    """zeta(s, q) = sum_k (q + k)^-s for an integer s >= 2 and q not a non-positive integer."""
    a = q.copy()
    total = np.zeros_like(q)
    while True:  # direct sum until every a >= 10 (negative q included: s is an integer)
        low = a < 10
        if not low.any():
            break
        total += np.where(low, np.where(low, a, 1.0) ** -s, 0.0)
        a = np.where(low, a + 1.0, a)
    tail = a ** (1 - s) / (s - 1) + 0.5 * a**-s
    rising = float(s)  # s (s+1) ... (s + 2j - 2)
    power = a ** (-s - 1)
    inv2 = 1.0 / (a * a)
    for j, c in enumerate(_EM, start=1):
        tail = tail + c * rising * power
        rising *= (s + 2 * j - 1) * (s + 2 * j)
        power = power * inv2
    return total + tail


def _polygamma_numpy(n: int, x: np.ndarray) -> np.ndarray:
    if n == 0:
        return _digamma_numpy(x)
    out = np.full_like(x, np.nan)
    pole = (x <= 0) & (x == np.floor(x))
    sign = 1.0 if n % 2 else -1.0
    out[pole] = sign * np.inf  # (-1)^(n+1) n! zeta(n + 1, pole) with zeta = +inf there
    out[x == np.inf] = 0.0
    ok = np.isfinite(x) & ~pole
    out[ok] = sign * math.factorial(n) * _hurwitz_zeta(n + 1, x[ok])
    return out


def polygamma(n: int, x: Any) -> Any:
    """The n-th derivative of digamma, elementwise (``n`` a non-negative int)."""
    if n == 0:
        return digamma(x)
    sp = _special(x)
    if sp is not None:
        xp = get_array_module(x)  # CuPy's polygamma needs n as an array (it calls n.astype)
        if xp is not np and type(x) is MetaArray:  # SciPy's polygamma is no ufunc: no values
            return meta_empty(x.shape, x.dtype)
        return _back(sp.polygamma(n if xp is np else xp.asarray(n), x), x)
    return _back(_polygamma_numpy(n, np.asarray(x, dtype=np.float64)), x)


# ------------------------------------------------------------------------------ erfinv
_erf_vec = np.vectorize(math.erf, otypes=[np.float64])
_erfc_vec = np.vectorize(math.erfc, otypes=[np.float64])
_GILES_CENTRAL = (
    2.81022636e-08,
    3.43273939e-07,
    -3.5233877e-06,
    -4.39150654e-06,
    0.00021858087,
    -0.00125372503,
    -0.00417768164,
    0.246640727,
    1.50140941,
)
_GILES_TAIL = (
    -0.000200214257,
    0.000100950558,
    0.00134934322,
    -0.00367342844,
    0.00573950773,
    -0.0076224613,
    0.00943887047,
    1.00167406,
    2.83297682,
)


def _horner(coeffs: tuple, w: np.ndarray) -> np.ndarray:
    p = np.full_like(w, coeffs[0])
    for c in coeffs[1:]:
        p = p * w + c
    return p


def _erfinv_numpy(y: np.ndarray) -> np.ndarray:
    inside = np.abs(y) < 1
    yi = np.where(inside, y, 0.0)
    w = -np.log((1.0 - yi) * (1.0 + yi))
    central = _horner(_GILES_CENTRAL, w - 2.5)
    tail = _horner(_GILES_TAIL, np.sqrt(w) - 3.0)
    a = np.abs(yi)
    x = np.where(w < 5.0, central, tail) * a
    # Newton steps, 7 digits -> full float64 precision. Near 1, erf(x) - a cancels: solve
    # log erfc(x) = log(1 - a) there instead (1 - a is exact; the log makes it near-linear).
    near_one = a >= 0.5
    tail_target = np.log(np.where(near_one, 1.0 - a, 1.0))
    for _ in range(4):
        slope = 2.0 / math.sqrt(math.pi) * np.exp(-x * x)
        erfc = np.where(near_one, _erfc_vec(x), 1.0)
        step = np.where(
            near_one, (tail_target - np.log(erfc)) * erfc / slope, (_erf_vec(x) - a) / slope
        )
        x = x - np.where(inside, step, 0.0)
    out = np.where(inside, np.copysign(x, yi), np.nan)
    out = np.where(y == 1, np.inf, out)
    return np.where(y == -1, -np.inf, out)


def erfinv(y: Any) -> Any:
    """The inverse error function on [-1, 1] (+-inf at +-1, NaN outside). float32 is
    computed in float64 and rounded once (SciPy's float32 loop is 1-3 ulp off; PyTorch's
    float32 erfinv is nearly correctly rounded: 0.015% of results differ this way, 41% before)."""
    sp = _special(y)
    if sp is not None:
        if y.dtype == np.float32:
            return sp.erfinv(y.astype(np.float64)).astype(np.float32)
        return _back(sp.erfinv(y), y)
    return _back(_erfinv_numpy(np.asarray(y, dtype=np.float64)), y)
