"""Reparameterised Gamma and Dirichlet draws (PyTorch's ``torch._standard_gamma`` and
``torch._sample_dirichlet`` with the gradients of ``torch._standard_gamma_grad`` and
``torch._dirichlet_grad``), used by ``cr.distributions`` for ``rsample``.

A draw ``x ~ Gamma(alpha, 1)`` is a function of ``alpha`` at a fixed uniform level of the CDF
(implicit reparameterisation): ``F(x; alpha) = u`` gives
``dx/dalpha = -(dF/dalpha)(x; alpha) / f(x; alpha)``, F the CDF and f the density. These
kernels compute that ratio directly in float64, without forming F or f (which under- or
overflow in the tails):

- Gamma, x <= max(1, alpha): ``F = P(alpha, x) = x^a e^-x / Gamma(a + 1) S`` with
  ``S = sum_n x^n / ((a + 1) ... (a + n))``, so ``dx/da = -(x / a) ((log x - psi(a + 1)) S +
  dS/da)``; ``dS/da`` is summed alongside ``S`` (each term's logarithmic derivative is a
  running sum of ``-1 / (a + n)``).
- Gamma, x > max(1, alpha): ``1 - F = Q(a, x) = x^a e^-x / Gamma(a) h`` with ``h`` Legendre's
  continued fraction (modified Lentz), so ``dx/da = x ((log x - psi(a)) h + dh/da)``; ``dh/da``
  is carried through the Lentz recurrences (forward-mode differentiation of the fraction).
- Gamma, alpha > 1e6: Rice's saddle-point expansion, as PyTorch (its relative error is
  O(alpha^-3) there, and the series would need ~sqrt(alpha) terms).
- Beta (for Dirichlet): ``x_i`` is Beta(a, b) distributed with ``a = alpha_i``,
  ``b = total - alpha_i``; ``dx/da`` at fixed b (PyTorch's ``_dirichlet_grad``) from the
  continued fraction of ``I_x(a, b) = x^a (1 - x)^b / (a B(a, b)) K`` for
  ``x < (a + 1) / (a + b + 2)``, else of ``I_x(a, b) = 1 - I_(1-x)(b, a)`` (modified Lentz,
  ``dK/da`` carried through the recurrences as above), with ``psi(a + b) - psi(a)`` formed
  without cancellation; divided by ``1 - x`` as PyTorch's kernel returns it. (A power
  series in x or 1 - x needs ~1 / (1 - x) terms when x is near 1: ~1e6 for a concentration
  of 1e6 next to small ones.)
- Beta, min(a, b) > 1e6 within 8 sds of the mean: a two-term Edgeworth expansion of the CDF
  differentiated at fixed level (relative error ~0.1 min(a, b)^-2: 1.5e-7 at 1e6), where
  the fraction would take thousands of steps; PyTorch also switches to an asymptotic form
  for large a and b.

A deliberate difference: PyTorch evaluates both gradients by rational and asymptotic
approximations (relative error up to ~1e-3 in places, and for the Beta with a tiny ``a``
next to a huge ``b`` and x above the mean, wrong in sign: ``_dirichlet_grad(6.3e-6, 4.58,
1e6)`` is -4.3e-8 for an exact 1.2e-6); these kernels sum the exact series and fractions,
so they agree with mpmath to ~1e-10 and with PyTorch to its approximation error.

These are internal (not in any ``_OP_MODULES``): ``cr.distributions`` imports them.
The gradient rules are first-order only, as PyTorch's (double backward raises).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import random_draws
from ..autograd.function import Function, once_differentiable
from ..autograd.grad_mode import no_grad
from ..autograd.state import LOCAL as _vmap
from ..autograd.tensor import Tensor
from ..qtypes import scalar_type_name
from ..random import Generator, gen
from ..random_mt19937 import TorchStream
from ._special_kernels import digamma as _digamma
from ._util import as_tensor

__all__ = [
    "dirichlet_grad",
    "sample_dirichlet",
    "standard_gamma",
    "standard_gamma_grad",
]

_EPS = 2.0**-53
_MAX_ITER = 200000
_TINY = 1e-300
# Beta: the Edgeworth branch past this min(alpha, total - alpha), within this many sds
_BETA_BIG = 1e6
_EDGEWORTH_W = 8.0


def _psi(x: np.ndarray) -> np.ndarray:
    return np.asarray(_digamma(np.asarray(x, dtype=np.float64)), dtype=np.float64)


# ----------------------------------------------------------------------------- Gamma
def _gamma_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx/da from the series of P(a, x) (see the module docstring)."""
    s = np.ones_like(a)
    ds = np.zeros_like(a)
    term = np.ones_like(a)
    logd = np.zeros_like(a)
    r = a.copy()
    active = np.ones(a.shape, dtype=bool)
    for _ in range(_MAX_ITER):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        r[idx] += 1.0
        term[idx] *= x[idx] / r[idx]
        logd[idx] -= 1.0 / r[idx]
        t = term[idx]
        dt = t * logd[idx]
        s[idx] += t
        ds[idx] += dt
        done = (t <= _EPS * s[idx]) & (np.abs(dt) <= _EPS * (np.abs(ds[idx]) + s[idx]))
        active[idx[done]] = False
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(x / a) * ((np.log(x) - _psi(a + 1.0)) * s + ds)


def _gamma_fraction(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx/da from Legendre's continued fraction of Q(a, x), x > max(1, a)."""
    b = x + 1.0 - a
    c = np.full_like(a, 1.0 / _TINY)
    dc = np.zeros_like(a)
    d = 1.0 / b
    dd = d * d  # d(1/b)/da with db/da = -1
    h = d.copy()
    dh = dd.copy()
    active = np.ones(a.shape, dtype=bool)
    for i in range(1, _MAX_ITER):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        ai = a[idx]
        an = -i * (i - ai)
        dan = float(i)
        b[idx] += 2.0
        bi = b[idx]
        di = an * d[idx] + bi
        ddi = dan * d[idx] + an * dd[idx] - 1.0
        di = np.where(np.abs(di) < _TINY, _TINY, di)
        ci = bi + an / c[idx]
        dci = -1.0 + dan / c[idx] - an * (dc[idx] / c[idx]) / c[idx]
        ci = np.where(np.abs(ci) < _TINY, _TINY, ci)
        dnew = 1.0 / di
        ddnew = -ddi * dnew * dnew
        delta = ci * dnew
        ddelta = dci * dnew + ci * ddnew
        d[idx], dd[idx], c[idx], dc[idx] = dnew, ddnew, ci, dci
        dh[idx] = dh[idx] * delta + h[idx] * ddelta
        h[idx] *= delta
        done = (np.abs(delta - 1.0) <= _EPS) & (
            np.abs(h[idx] * ddelta) <= _EPS * (np.abs(dh[idx]) + np.abs(h[idx]))
        )
        active[idx[done]] = False
    return x * ((np.log(x) - _psi(a)) * h + dh)


def _gamma_rice(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """PyTorch's saddle-point expansion of dx/da for large alpha."""
    near = (0.9 * a <= x) & (x <= 1.1 * a)
    with np.errstate(all="ignore"):
        n1 = 1 + 24 * a * (1 + 12 * a)
        n2 = 1440 * a * a + 6 * x * (53 - 120 * x) - 65 * x * x / a + a * (107 + 3600 * x)
        inner = n1 * n2 / (1244160 * a**4)
        denom = np.sqrt(8 * a)
        term2 = denom / (a - x)
        term3 = (x - a - a * np.log(x / a)) ** -1.5
        term23 = np.where(x < a, term2 - term3, term2 + term3)
        term1 = np.log(x / a) * term23 - np.sqrt(2 / a) * (a + x) / ((a - x) * (a - x))
        stirling = 1 + 1 / (12 * a) * (1 + 1 / (24 * a))
        outer = -stirling * x * term1 / denom
    return np.where(near, inner, outer)


def standard_gamma_grad_kernel(x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """dx/dalpha for x ~ Gamma(alpha, 1) at fixed CDF level; float64 arrays (broadcast)."""
    x, a = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(alpha, np.float64))
    out = np.full(x.shape, np.nan)
    ok = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
    big = ok & (a > 1e6)
    ser = ok & ~big & ((x <= 1.0) | (x <= a))
    frac = ok & ~big & ~ser
    out[big] = _gamma_rice(a[big], x[big])
    out[ser] = _gamma_series(a[ser], x[ser])
    out[frac] = _gamma_fraction(a[frac], x[frac])
    out[(x == 0) & (a > 0)] = 0.0
    return out


# ------------------------------------------------------------------------------ Beta
def _psi_diff(a: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``psi(a + d) - psi(a)`` without the cancellation of the difference (``d`` may be
    tiny next to ``a``): the recurrence ``psi(x) = psi(x + 1) - 1/x`` shifts both past 20,
    then the asymptotic series of ``psi(x) - log(x)`` is differenced term by term."""
    a, d = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(d, np.float64))
    a, b = a.copy(), a + d
    acc = np.zeros_like(a)
    while (low := np.minimum(a, b) < 20.0).any():
        acc[low] += d[low] / (a[low] * b[low])
        a[low] += 1.0
        b[low] += 1.0
    ia, ib = 1.0 / a, 1.0 / b
    ia2, ib2 = ia * ia, ib * ib
    acc += np.log1p(d / a) + d / (2.0 * a * b) + d * (a + b) * ia2 * ib2 / 12.0
    for k, coef in ((2, 1 / 120), (3, -1 / 252), (4, 1 / 240), (5, -1 / 132)):
        acc += coef * (ib2**k - ia2**k)
    return acc


def _beta_fraction(
    x: np.ndarray, a: np.ndarray, b: np.ndarray, wrt_a: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``(K, dK/dtheta)`` for the continued fraction K of ``I_x(a, b) = x^a (1 - x)^b /
    (a B(a, b)) K`` (the even/odd form with modified Lentz), theta = ``a`` or ``b``; the
    derivative is carried through the recurrences (forward mode). It converges fast for
    ``x < (a + 1) / (a + b + 2)`` (in ~(a + b)^(1/3) steps near the mean)."""

    def nz(v: np.ndarray) -> np.ndarray:
        return np.where(np.abs(v) < _TINY, _TINY, v)

    d0 = nz(1.0 - (a + b) * x / (a + 1.0))
    dd0 = -x * (1.0 - b) / (a + 1.0) ** 2 if wrt_a else -x / (a + 1.0)
    d = 1.0 / d0
    dd = -dd0 * d * d
    c, dc = np.ones_like(x), np.zeros_like(x)
    h, dh = d.copy(), dd.copy()
    active = np.ones(x.shape, dtype=bool)
    for m in range(1, _MAX_ITER):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        ai, bi, xi = a[idx], b[idx], x[idx]
        di, ddi, ci, dci, hi, dhi = d[idx], dd[idx], c[idx], dc[idx], h[idx], dh[idx]
        lo, mid, hi2 = ai + (2 * m - 1), ai + 2 * m, ai + (2 * m + 1)
        even = m * (bi - m) * xi / (lo * mid)
        odd = -(ai + m) * (ai + bi + m) * xi / (mid * hi2)
        if wrt_a:
            deven = -even * (1.0 / lo + 1.0 / mid)
            dodd = odd * (1.0 / (ai + m) + 1.0 / (ai + bi + m) - 1.0 / mid - 1.0 / hi2)
        else:
            deven = m * xi / (lo * mid)
            dodd = -(ai + m) * xi / (mid * hi2)
        for aa, daa in ((even, deven), (odd, dodd)):
            dn = 1.0 / nz(1.0 + aa * di)
            ddn = -(daa * di + aa * ddi) * dn * dn
            cn = nz(1.0 + aa / ci)
            dcn = (daa - aa * dci / ci) / ci
            delta, ddelta = dn * cn, ddn * cn + dn * dcn
            dhi = dhi * delta + hi * ddelta
            hi = hi * delta
            di, ddi, ci, dci = dn, ddn, cn, dcn
        d[idx], dd[idx], c[idx], dc[idx], h[idx], dh[idx] = di, ddi, ci, dci, hi, dhi
        done = (np.abs(delta - 1.0) <= _EPS) & (
            np.abs(hi * ddelta) <= _EPS * (np.abs(dhi) + np.abs(hi))
        )
        active[idx[done]] = False
    return h, dh


def _beta_exact(x: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``-(dI_x(p, q)/dp) / (pdf (1 - x))`` from the continued fraction: of ``I_x(p, q)``
    for ``x < (p + 1) / (p + q + 2)``, else of ``I_(1-x)(q, p) = 1 - I_x(p, q)``."""
    out = np.empty_like(x)
    low = x < (p + 1.0) / (p + q + 2.0)
    up = ~low
    with np.errstate(divide="ignore", invalid="ignore"):
        if low.any():
            xl, pl, ql = x[low], p[low], q[low]
            k, dk = _beta_fraction(xl, pl, ql, wrt_a=True)
            dlog = np.log(xl) + _psi_diff(pl + 1.0, ql - 1.0)
            out[low] = -xl / pl * (dlog * k + dk)
        if up.any():
            xu, pu, qu = x[up], p[up], q[up]
            k, dk = _beta_fraction(1.0 - xu, qu, pu, wrt_a=False)
            dlog = np.log(xu) + _psi_diff(pu, qu)
            out[up] = xu / qu * (dlog * k + dk)
    return out


def _beta_shape(p: Any, q: Any) -> tuple[Any, Any]:
    """Beta(p, q)'s skewness and excess kurtosis (``p`` may be complex: complex-step
    derivatives)."""
    n = p + q
    skew = 2.0 * (q - p) * np.sqrt(n + 1.0) / ((n + 2.0) * np.sqrt(p * q))
    kurt = 6.0 * ((p - q) ** 2 * (n + 1.0) - p * q * (n + 2.0)) / (p * q * (n + 2.0) * (n + 3.0))
    return skew, kurt


def _beta_edgeworth(x: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The same for huge ``p`` and ``q`` (the fraction would take ~(p + q)^(1/3) steps),
    from the two-term Edgeworth expansion ``F(x) = Phi(w) - phi(w) R(w)``, ``R = g He2 / 6 +
    k He3 / 24 + g^2 He5 / 72`` (``w = (x - mean) / sd``, ``g`` the skewness, ``k`` the excess
    kurtosis, ``He`` Hermite polynomials), differentiated in p at fixed F:
    ``dx/dp = mean' + w sd' + sd (g' (He2 / 6 + g He5 / 36) + k' He3 / 24) / (1 + w R - R')``
    (``g'``, ``k'`` by complex step)."""
    n = p + q
    mean = p / n
    sd = np.sqrt(p * q / (n + 1.0)) / n
    w = (x - mean) / sd
    dmean = q / (n * n)
    dsd = sd * (0.5 / p - 1.0 / n - 0.5 / (n + 1.0))
    g, k = _beta_shape(p, q)
    step = 1e-20 * p
    gc, kc = _beta_shape(p + 1j * step, q + 0j)
    dg, dk = gc.imag / step, kc.imag / step
    w2 = w * w
    he2, he3, he5 = w2 - 1.0, w * (w2 - 3.0), w * (w2 * (w2 - 10.0) + 15.0)
    r = g * he2 / 6.0 + k * he3 / 24.0 + g * g * he5 / 72.0
    dr = g * w / 3.0 + k * he2 / 8.0 + g * g * (5.0 * w2 * (w2 - 6.0) + 15.0) / 72.0
    corr = (dg * (he2 / 6.0 + g * he5 / 36.0) + dk * he3 / 24.0) / (1.0 + w * r - dr)
    return (dmean + w * dsd + sd * corr) / (1.0 - x)


def dirichlet_grad_kernel(x: np.ndarray, alpha: np.ndarray, total: np.ndarray) -> np.ndarray:
    """``(dx/dalpha) / (1 - x)`` for x ~ Beta(alpha, total - alpha) at fixed CDF level and
    fixed ``total - alpha`` (PyTorch's ``_dirichlet_grad``: the Dirichlet backward multiplies
    it by ``grad_i - sum_j x_j grad_j``); float64 arrays (broadcast)."""
    x, p, tot = np.broadcast_arrays(
        np.asarray(x, np.float64), np.asarray(alpha, np.float64), np.asarray(total, np.float64)
    )
    q = tot - p
    out = np.full(x.shape, np.nan)
    ok = (p > 0) & (q > 0) & (x > 0) & (x < 1) & np.isfinite(p) & np.isfinite(q)
    with np.errstate(all="ignore"):
        n = p + q
        w = (x - p / n) / (np.sqrt(p * q / (n + 1.0)) / n)
        big = ok & (np.minimum(p, q) > _BETA_BIG) & (np.abs(w) <= _EDGEWORTH_W)
    exact = ok & ~big
    out[big] = _beta_edgeworth(x[big], p[big], q[big])
    out[exact] = _beta_exact(x[exact], p[exact], q[exact])
    out[(x == 0) & (p > 0)] = 0.0
    out[(x == 1) & (p > 0)] = 0.0
    return out


# ------------------------------------------------------------------- differentiable ops
def _check_alpha(name: str, t: Tensor, kernel: str) -> None:
    """float32/float64, non-negative concentrations (PyTorch silently returns the smallest
    normal number for a negative or NaN one; that is an error here). Other dtypes raise
    PyTorch's NotImplementedError, naming its ``kernel``."""
    if np.dtype(t.dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{scalar_type_name(t.dtype)}' ({name})"
        )
    a = np.asarray(t._data)
    if a.size and not (a >= 0).all():
        raise RuntimeError(f"{name}: concentrations must be non-negative and not NaN")


def _gamma_draw(
    alpha: np.ndarray, generator: Generator | None, dtype: np.dtype, single: bool = False
) -> np.ndarray:
    """Gamma(alpha, 1) draws, clamped to the dtype's smallest normal number (as PyTorch:
    a draw never underflows to exactly zero). On a PyTorch stream the values are PyTorch's
    for any size (``single``: the concentrations were float32; see
    :mod:`chainrule._kernels.random_draws`, compiled, or a Python loop under
    ``CHAINRULE_NUMBA=0``); another stream draws NumPy's numbers."""
    a = np.asarray(alpha, dtype=np.float64)
    stream = gen(generator)
    with np.errstate(all="ignore"):
        if isinstance(stream, TorchStream):
            flat = np.ascontiguousarray(a.reshape(-1))
            raw = random_draws.run(random_draws.gamma_torch, stream, flat, bool(single))
            raw = raw.reshape(a.shape)
        else:
            raw = stream.standard_gamma(np.where(a > 0, a, 1.0))
    raw = np.where(a > 0, raw, np.where(a == 0, 0.0, np.nan))
    out = raw.astype(dtype)
    return np.maximum(out, np.finfo(dtype).tiny).astype(dtype) if out.size else out


class _StandardGamma(Function):
    """x ~ Gamma(alpha, 1); backward ``grad * dx/dalpha`` (implicit reparameterisation)."""

    raw = True

    @staticmethod
    def forward(ctx, alpha, generator):
        x = _gamma_draw(alpha, generator, alpha.dtype, alpha.dtype == np.float32)
        ctx.save_for_backward(x, alpha)
        return x

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, alpha = ctx.saved_tensors
        return grad * standard_gamma_grad(alpha, x), None

    @staticmethod
    def jvp(ctx, t, _):
        if t is None:
            return None
        d = standard_gamma_grad_kernel(ctx.out, ctx.primals[0])
        return (t * d).astype(ctx.out.dtype)


class _Dirichlet(Function):
    """x ~ Dirichlet(alpha) over the last dimension; PyTorch's ``_Dirichlet`` backward:
    ``g_i * (grad_i - sum_j x_j grad_j)`` with ``g = _dirichlet_grad(x, alpha, total)``."""

    raw = True

    @staticmethod
    def forward(ctx, alpha, generator):
        gam = _gamma_draw(alpha, generator, np.dtype(np.float64))
        x = (gam / gam.sum(-1, keepdims=True)).astype(alpha.dtype)
        # as PyTorch: each share in [smallest normal, the float below 1] of the dtype
        lo, hi = np.finfo(alpha.dtype).tiny, np.nextafter(alpha.dtype.type(1), 0)
        x = np.clip(x, lo, hi).astype(alpha.dtype) if x.size else x
        ctx.save_for_backward(x, alpha)
        return x

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, alpha = ctx.saved_tensors
        total = alpha.sum(-1, keepdim=True).expand_as(alpha)
        g = dirichlet_grad(x, alpha, total)
        return g * (grad - (x * grad).sum(-1, keepdim=True)), None

    @staticmethod
    def jvp(ctx, t, _):
        if t is None:
            return None
        x, alpha = ctx.out, ctx.primals[0]
        total = np.broadcast_to(alpha.sum(-1, keepdims=True), alpha.shape)
        g = dirichlet_grad_kernel(x, alpha, total) * t
        # the backward applies J^T = diag(g) - g x^T, so J t = g t - x (g . t)
        return (g - x * g.sum(-1, keepdims=True)).astype(x.dtype)


def standard_gamma(alpha: Any, generator: Generator | None = None) -> Tensor:
    """Gamma(alpha, 1) draws (``torch._standard_gamma``), differentiable wrt ``alpha``."""
    if _vmap.state.vmap and isinstance(alpha, Tensor):  # inside cr.func.vmap: by its mode
        from ..func._random import batched_call  # noqa: PLC0415 - func imports the ops

        kw = {"generator": generator}
        if (res := batched_call(standard_gamma, (alpha,), kw, expand=True)) is not None:
            return res
    a = as_tensor(alpha)
    _check_alpha("_standard_gamma", a, "gamma_cpu")
    return _StandardGamma.apply(a, generator)


def sample_dirichlet(alpha: Any, generator: Generator | None = None) -> Tensor:
    """Dirichlet(alpha) draws over the last dimension (``torch._sample_dirichlet`` with the
    gradient of PyTorch's ``_Dirichlet`` function)."""
    if _vmap.state.vmap and isinstance(alpha, Tensor):  # inside cr.func.vmap: by its mode
        from ..func._random import batched_call  # noqa: PLC0415 - func imports the ops

        kw = {"generator": generator}
        if (res := batched_call(sample_dirichlet, (alpha,), kw, expand=True)) is not None:
            return res
    a = as_tensor(alpha)
    _check_alpha("_sample_dirichlet", a, "dirichlet")
    if a.ndim == 0:  # PyTorch's one share of one (the float below 1); a constant
        with no_grad():
            return _Dirichlet.apply(a.reshape(1), generator).reshape(())
    return _Dirichlet.apply(a, generator)


def standard_gamma_grad(alpha: Any, x: Any) -> Tensor:
    """dx/dalpha for Gamma(alpha, 1) draws x (``torch._standard_gamma_grad(alpha, x)``); a
    constant (not differentiable, as PyTorch's)."""
    xt, at = as_tensor(x), as_tensor(alpha)
    out = standard_gamma_grad_kernel(xt._data, at._data)
    return Tensor._new(out.astype(np.result_type(xt.dtype, at.dtype)))


def dirichlet_grad(x: Any, alpha: Any, total: Any) -> Tensor:
    """The Beta marginal's reparameterised gradient (``torch._dirichlet_grad``); a
    constant."""
    xt, at, tt = as_tensor(x), as_tensor(alpha), as_tensor(total)
    out = dirichlet_grad_kernel(xt._data, at._data, tt._data)
    return Tensor._new(out.astype(np.result_type(xt.dtype, at.dtype)))
