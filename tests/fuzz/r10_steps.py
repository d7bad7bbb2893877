"""Step kinds for :mod:`tests.fuzz.programs`, round 10: the ``linalg`` and ``fft`` functions
:mod:`tests.fuzz.linalg_steps` leaves out (the ``*_ex`` variants, ``lu``, ``matrix_rank``,
``cond``, ``tensorinv``/``tensorsolve``, ``householder_product``, ``ldl_*``, ``vander``,
``solve`` with ``left=False``, the 2-d and n-d FFTs with ``s=``, the Hermitian FFTs,
``fftfreq``, shifts over several dims), chains of complex arithmetic, ranks with ties
(``mode``, ``kthvalue``, ``unique``/``unique_consecutive`` along a dim) and the window
functions; the ``nn.functional`` ones are :mod:`tests.fuzz.r10_nn_steps`'s, dispatched
from here (one table, ``R10``, for :mod:`tests.fuzz.programs`).

As the other tables: every kind is valid for every slot (matrices and operands made from a
slot's elements by :func:`~tests.fuzz.nn_step_parts._filled`, so gradients flow back to
it; matrices well conditioned, as :func:`~tests.fuzz.linalg_steps._square`); integer and
bool slots are used as they are (where torch refuses them, chainrule must).
"""

from __future__ import annotations

import math
from typing import Any

from .extra_steps import no_nan
from .linalg_steps import _real_part, _rect, _rhs
from .linalg_steps import _square as _real_square
from .more_steps import _dim, near_zero
from .nn_step_parts import _filled
from .r10_nn_steps import R10_NN, r10_nn_step

__all__ = ["R10", "r10_step"]

R10 = (
    "linalg_ex", "linalg_more", "fft_nd", "complex_chain", "rank_ties", "unique_dim",
    "window", *R10_NN,
)  # fmt: skip


def _like(y: Any, x: Any) -> Any:
    """``y`` in ``x``'s dtype where both are floating."""
    return y.to(x.dtype) if x.is_floating_point() and y.is_floating_point() else y


def _square(lib: Any, y: Any, ints: tuple, sym: bool = False) -> Any:
    """:func:`~tests.fuzz.linalg_steps._square` (a complex one conditioned too: torch solves
    a singular triangular system to inf/NaN, its trsm checking no pivot, where chainrule
    raises LinAlgError, documented in linalg/triangular.py)."""
    return _real_square(lib, y, ints, sym)


def _sized_square(lib: Any, y: Any, k: int, sign: int) -> Any:
    """A k x k matrix from ``y``, well conditioned (bounded part plus a spread diagonal)."""
    a = no_nan(lib, _filled(lib, y, (k, k)))  # NaN-free, as linalg_steps._square
    if not a.is_floating_point():
        return a
    diag = lib.arange(k, dtype=a.dtype) * 1.5 + k
    return a.tanh() * 0.5 + sign * lib.diag_embed(diag)


def _spd(lib: Any, y: Any, ints: tuple) -> Any:
    a = _square(lib, y, ints, sym=True)
    if a.is_floating_point() or a.is_complex():  # Hermitian positive definite
        a = a @ a.mT.conj().resolve_conj() + lib.eye(a.shape[-1], dtype=a.dtype)
    return a


def _linalg_ex(lib: Any, x: Any, other: Any, ints: tuple) -> Any:
    L = lib.linalg
    f = ints[1] % 6
    if f == 0:
        inv, info = L.inv_ex(_square(lib, x, ints))
        return info if ints[0] % 3 == 2 else inv
    if f == 1:
        a = _square(lib, x, ints)
        left = bool(ints[0] % 2)
        b = _rhs(lib, other, a, ints)
        if not left:
            b = b.unsqueeze(-2) if b.dim() == 1 else b.mT  # m x k: X A = B
        res, info = L.solve_ex(a, b, left=left)
        return res
    if f == 2:
        c, info = L.cholesky_ex(_spd(lib, x, ints), upper=bool(ints[0] % 2))
        return info if ints[4] % 3 == 2 else c
    if f == 3:
        p, lo, up = L.lu(_rect(lib, x, ints) if ints[0] % 2 else _square(lib, x, ints))
        return (p, lo, up)[ints[4] % 3] if ints[3] % 2 else lo * 2 + up.sum()
    if f == 4:
        a = _square(lib, x, ints)
        lu, piv, info = L.lu_factor_ex(a)
        if ints[0] % 2 and a.is_floating_point():
            b = _rhs(lib, other, a, ints)
            b2 = b if b.dim() >= 2 else b.unsqueeze(-1)
            # adjoint: torch solves with A^H; left=False wants b as k x ... columns
            return L.lu_solve(lu, piv, b2, adjoint=bool(ints[3] % 2))
        return piv if ints[4] % 3 == 2 else lu
    a = _square(lib, x, ints)
    b = _rhs(lib, other, a, ints)
    b2 = b if b.dim() >= 2 else b.unsqueeze(-1)
    upper = bool(ints[0] % 2)
    t = a.triu() if upper else a.tril()
    return L.solve_triangular(t, b2.mT, upper=upper, left=False)


def _linalg_more(lib: Any, x: Any, other: Any, ints: tuple) -> Any:
    L = lib.linalg
    f = ints[1] % 8
    if f == 0:
        a = _rect(lib, x, ints)
        if a.is_floating_point() and ints[0] % 2:
            # rank deficient by a row of zeros: the rank differs from min(m, n)
            a = a * (lib.arange(a.shape[0], dtype=a.dtype) > 0).unsqueeze(-1)
        kw = ({}, {"atol": 0.5}, {"rtol": 0.3}, {"hermitian": False})[ints[4] % 4]
        return L.matrix_rank(a, **kw)
    if f == 1:
        a = _square(lib, x, ints)
        p = (None, 2, -2, "fro", "nuc", 1, -1, math.inf, -math.inf)[ints[4] % 9]
        return L.cond(a, p=p)
    if f == 2:
        a = _sized_square(lib, x, 4, 1 if ints[4] % 2 else -1)
        if ints[0] % 2:
            return L.tensorinv(a.reshape(2, 2, 4), ind=2)
        return L.tensorinv(a.reshape(4, 2, 2), ind=1)
    if f == 3:
        a = _sized_square(lib, x, 6, 1 if ints[4] % 2 else -1).reshape(2, 3, 6)
        b = _like(_filled(lib, other, (2, 3)), a)
        return L.tensorsolve(a, b)
    if f == 4:
        m, n = 2 + ints[2] % 2, 1 + ints[3] % 2
        a = no_nan(lib, _filled(lib, x, (m, n)))  # as linalg_steps._square
        tau = no_nan(lib, _like(_filled(lib, other, (n,)), a))
        if a.is_floating_point():
            # tau in (1.25, 1.75): the reflector I - tau v v^T (|v| >= 1, its first entry an
            # implicit 1) invertible; torch's backward inverts each reflector (NaN at tau |v|^2
            # = 1, where chainrule's is finite)
            tau = tau.tanh() * 0.25 + 1.5
        return L.householder_product(a, tau)
    if f == 5:
        a = _spd(lib, x, ints)
        if a.is_floating_point():
            a = a.detach()  # no derivative in torch ("ldl_factor_ex: not implemented")
        ld, piv = L.ldl_factor(a, hermitian=bool(ints[0] % 2))
        b = _rhs(lib, other, a, ints)
        b2 = b if b.dim() >= 2 else b.unsqueeze(-1)
        return L.ldl_solve(ld, piv, b2.detach())
    if f == 6:
        v = _filled(lib, x, (1 + ints[2] % 3,))
        return L.vander(v, N=None if ints[3] % 3 == 0 else 1 + ints[3] % 4)
    a = _square(lib, x, ints, sym=bool(ints[0] % 2))
    return L.pinv(a, hermitian=bool(ints[0] % 2), atol=(None, 0.25)[ints[4] % 2])


def _norm(ints: tuple) -> Any:
    return (None, "ortho", "forward", "backward")[ints[0] % 4]


def _fft_nd(lib: Any, x: Any, ints: tuple, val: float) -> Any:
    F = lib.fft
    if x.numel() == 0:
        # torch's MKL FFT of an empty tensor raises, chainrule returns the empty result (as
        # linalg_steps._fft): not mirrored
        return x
    y = x if x.dim() >= 2 else _filled(lib, x, (2, 3))
    norm = _norm(ints)
    f = ints[2] % 9
    s = None if ints[3] % 3 == 0 else (1 + ints[3] % 3, 2 + ints[4] % 3)
    if f == 0:
        return _real_part(lib, F.fft2(y, s=s, norm=norm), ints)
    if f == 1:
        return _real_part(lib, F.ifft2(y, s=s, norm=norm), ints)
    if f == 2:
        return _real_part(lib, F.rfft2(y, s=s, norm=norm), ints)
    if f == 3:  # round trips through the half spectrum with an output size
        z = F.rfft2(y)
        return F.irfft2(z, s=tuple(y.shape[-2:]) if ints[4] % 2 else s, norm=norm)
    if f == 4:
        z = F.rfftn(y, dim=(0, -1))
        return F.irfftn(z, s=None if ints[4] % 2 else (y.shape[0], 2 + ints[3] % 3), dim=(0, -1))
    if f == 5:
        z = F.ihfft2(y, norm=norm) if y.is_floating_point() else F.fft2(y)
        if ints[4] % 2:
            return _real_part(lib, z, ints)
        return F.hfft2(z, s=None if s is None else (y.shape[-2], s[1]), norm=norm)
    if f == 6:
        n = y.shape[-1] + ints[4] % 3
        d = abs(val)
        freq = (F.rfftfreq if ints[3] % 2 else F.fftfreq)(n, d=d, dtype=lib.float64)
        w = y.reshape(-1)[:1] if y.is_floating_point() else y.reshape(-1)[:1].double()
        return freq * w.double()
    if f == 7:
        dims = ((0, -1), (-1,), None, (1, 0))[ints[4] % 4]
        g = F.fftshift if ints[3] % 2 else F.ifftshift
        return g(y, dim=dims)
    # a complex input: fftn over chosen dims with s, then back with ifftn
    z = y + 0.5j * _filled(lib, y, tuple(y.shape)).flip(-1) if y.is_floating_point() else y
    out = F.fftn(z, s=s, dim=(-2, -1), norm=norm)
    return _real_part(lib, F.ifftn(out, dim=(-1,), norm=norm) if ints[4] % 2 else out, ints)


def _complex(lib: Any, x: Any, other: Any) -> Any:
    """A complex slot from ``x`` (itself if complex), its zeros moved off 0."""
    if x.is_complex():
        z = x
    elif x.is_floating_point():
        y = _like(_filled(lib, other, tuple(x.shape)), x)
        y = y if y.is_floating_point() else y.to(x.dtype)
        z = lib.complex(x, y * 0.5 + 0.25)
    else:
        return x
    return z + 0.125 * near_zero(z.abs())


def _complex_chain(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    z = _complex(lib, x, other)
    if not z.is_complex():
        return z.abs() if z.dtype != lib.bool else z
    w = _complex(lib, other, x) if other.is_complex() or other.is_floating_point() else z
    w = w if tuple(w.shape) == tuple(z.shape) else _filled(lib, w, tuple(z.shape))
    # off z (other may be x itself): z / z or z.reciprocal() * z is 1 rounded (0.99999994 in
    # one library), and a later cast to an integer truncates that to 0 or 1
    w = (w.to(z.dtype) if w.dtype != z.dtype else w) * (0.75 + 0.5j)
    f = ints[2] % 16
    if f == 0:
        y = z.sqrt() if z.dim() == 0 or ints[3] % 2 else (z * z).sqrt()
    elif f == 1:
        y = z.log() + w.log10()
    elif f == 2:
        y = z.reciprocal() * w
    elif f == 3:
        y = z.pow(val) if ints[3] % 2 else z.pow(w * 0.25)
    elif f == 4:
        y = z.sgn() + z.rsqrt()
    elif f == 5:
        y = z.tanh() * w.sin()
    elif f == 6:
        y = (z / w) - z.conj() * w
    elif f == 7:
        d = _dim(z, ints[1])
        y = z.prod(d) if z.dim() else z.prod()
    elif f == 8:
        d = _dim(z, ints[1])
        y = z.cumsum(d) if ints[3] % 2 else z.cumprod(d)
    elif f == 9:
        y = z.exp() - z.expm1() + z.log1p() if ints[3] % 2 else z.sigmoid()
    elif f == 10:
        m = z if z.dim() >= 2 else z.reshape(1, -1)
        y = m @ m.mT.conj() if ints[3] % 2 else m.mT @ m
    elif f == 11:
        y = lib.addcmul(z, w, z, value=val) if ints[3] % 2 else lib.addcdiv(z, w, z, value=val)
    elif f == 12:
        y = z.mean() * z.var() if z.numel() > 1 else z.mean()
    elif f == 13:
        y = lib.linalg.vector_norm(z, ord=(2, 1, math.inf)[ints[3] % 3]) + 0j
    elif f == 14:
        y = lib.lerp(z, w, 0.25) if ints[3] % 2 else z.asinh() + w.atan()
    else:
        y = z.cos() + z.sinh()
    return _real_part(lib, y, (0, 0, 0, 0, ints[4] % 5))


def _rank_ties(lib: Any, x: Any, ints: tuple) -> Any:
    y = (x * 2).round() / 2 if x.is_floating_point() else x  # many ties
    n = y.dim()
    d = _dim(y, ints[1])
    keep = bool(ints[3] % 2)
    f = ints[4] % 5
    if f == 0:
        if y.is_floating_point():
            # torch's CPU mode std::sorts with ``<``, which NaN leaves unordered: which
            # element wins then depends on the sort's steps (mode of [nan, nan, 1] is nan,
            # of [2, nan, nan] 2; core seed 987); steered: no NaN into mode
            y = lib.where(y.isnan(), lib.zeros_like(y), y)
        v, i = y.mode(d, keepdim=keep) if n else y.mode()
        return i if ints[2] % 2 else v
    if f == 1:
        size = y.shape[d] if n else 1
        v, i = y.kthvalue(1 + ints[2] % size, d, keepdim=keep) if n else y.kthvalue(1)
        return v  # values only: the tied indices are unspecified
    if f == 2:
        v, i = y.median(d, keepdim=keep) if n else y.median(0)
        return v
    if f == 3:
        return y.msort() if n else y * 1
    q = (0.25, 0.5, 0.75)[ints[2] % 3]
    if not y.is_floating_point():
        return y
    return y.nanquantile(q, dim=d if n else None, keepdim=keep, interpolation="midpoint")


def _unique_dim(lib: Any, x: Any, ints: tuple) -> Any:
    y = (x * 2).round() if x.is_floating_point() else x  # repeated slices
    y = y.real if y.is_complex() else y
    n = y.dim()
    if n == 0:
        return lib.unique(y)
    d = _dim(y, ints[1])
    inv_ = bool(ints[3] % 2)
    cnt = bool(ints[2] % 2)
    if ints[4] % 2:
        if y.is_floating_point():
            # no NaN to sort: torch sorts the slices with a lexicographic `<` under which NaN
            # ties with every value (not a strict weak order), so its order is std::sort's
            # accident ([nan, -inf] stays as given; core seed 1007); unique_consecutive keeps it
            y = lib.where(y.isnan(), lib.full_like(y, 7.0), y)
        out = lib.unique(y.detach(), sorted=True, return_inverse=inv_, return_counts=cnt, dim=d)
    else:
        out = lib.unique_consecutive(y.detach(), return_inverse=inv_, return_counts=cnt, dim=d)
    if not isinstance(out, tuple):
        return out
    return out[ints[0] % len(out)]


def _window(lib: Any, x: Any, ints: tuple, val: float) -> Any:
    n = ints[2] % 5
    periodic = bool(ints[3] % 2)
    dt = x.dtype if x.is_floating_point() else lib.float32
    f = ints[4] % 6
    if f == 0:
        w = lib.hann_window(n, periodic=periodic, dtype=dt)
    elif f == 1:
        w = lib.hamming_window(n, periodic=periodic, alpha=0.5 + abs(val) / 10, dtype=dt)
    elif f == 2:
        w = lib.blackman_window(n, periodic=periodic, dtype=dt)
    elif f == 3:
        w = lib.bartlett_window(n, periodic=periodic, dtype=dt)
    elif f == 4:
        w = lib.kaiser_window(n, periodic=periodic, beta=1.0 + abs(val), dtype=dt)
    else:
        W = lib.signal.windows
        g = (W.gaussian, W.cosine, W.exponential)[ints[0] % 3]
        w = g(n, sym=not periodic, dtype=dt)
    return w * x.reshape(-1)[:1].to(dt) if x.numel() else w


def r10_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One out-of-place step of kind ``kind`` on ``x`` (``other``/``third``: other slots)."""
    if kind in R10_NN:
        return r10_nn_step(lib, kind, x, other, third, ints, val)
    if kind == "linalg_ex":
        return _linalg_ex(lib, x, other, ints)
    if kind == "linalg_more":
        return _linalg_more(lib, x, other, ints)
    if kind == "fft_nd":
        return _fft_nd(lib, x, ints, val)
    if kind == "complex_chain":
        return _complex_chain(lib, x, other, ints, val)
    if kind == "rank_ties":
        return _rank_ties(lib, x, ints)
    if kind == "unique_dim":
        return _unique_dim(lib, x, ints)
    if kind == "window":
        return _window(lib, x, ints, val)
    raise AssertionError(kind)
