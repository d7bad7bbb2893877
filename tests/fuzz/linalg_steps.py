"""Step kinds for :mod:`tests.fuzz.programs` from ``linalg``, ``fft`` and complex numbers,
the families the other step tables never generate: determinants, inverses, solves,
factorisations (Cholesky, QR, LU, eigh, SVD) and their sign-free parts, matrix and vector
norms, matrix functions, contractions (einsum, tensordot, kron, multi_dot, cross, cdist),
real and complex FFTs with every ``norm`` mode and a length ``n``, and complex tensors made
from real slots (``complex``, ``polar``, ``view_as_complex``) used in arithmetic and read
back as real numbers (``real``, ``imag``, ``abs``, ``angle``, ``view_as_real``).

As the other tables: every kind is valid for every slot. The matrices are made from a
slot's elements (:func:`tests.fuzz.nn_steps._filled`), so gradients flow back to it, and
kept well conditioned and with distinct eigen/singular values (a bounded part plus a
spread diagonal): near a singular matrix or a repeated eigenvalue both libraries are right
and still differ by more than any tolerance. Integer and bool slots are used as they are:
where torch refuses them, chainrule must refuse too.
"""

from __future__ import annotations

import math
from typing import Any

from .extra_steps import no_nan
from .more_steps import _dim, near_zero
from .nn_step_parts import _filled

__all__ = ["LINALG", "linalg_step"]

LINALG = (
    "det", "inv", "solve", "cholesky", "qr", "eigh", "svd", "matrix_norm", "vector_norm",
    "matrix_fn", "contract", "fft", "complex_make", "complex_read",
)  # fmt: skip


def _square(lib: Any, y: Any, ints: tuple, sym: bool = False) -> Any:
    """A (batch of) k x k matrix from ``y``: tanh of its elements (bounded) plus a diagonal
    k, k + 1.5, ... (well conditioned, distinct eigenvalues); symmetric if ``sym``."""
    k = 1 + ints[2] % 3
    shape = (2, k, k) if ints[3] % 4 == 3 else (k, k)
    # NaN-free: where a NaN enters a factorisation, which elements come out NaN depends on
    # the LAPACK routine's order (torch's solve and chainrule's differ), not compared
    a = no_nan(lib, _filled(lib, y, shape))
    if a.is_complex():  # bounded (|a| < 1/2) plus a diagonal k + 1: well conditioned too
        a = a / (a.abs() + 1) * 0.5
        a = a + a.mT.conj().resolve_conj() if sym else a
        return a + lib.eye(k, dtype=a.dtype) * (k + 1.0)
    if not a.is_floating_point():
        return a  # torch refuses integer matrices almost everywhere: compared as errors
    # tanh in float64 for the narrower floats: a float32 tanh saturates at |x| > ~9 (torch
    # rounds to 1, NumPy's one ulp below), and its derivative 1 - y^2 is then rounding
    # alone (0 or 1.2e-7 for a true 2.4e-8), which eigh's 1 x 1 identity carries into the
    # second derivative (seed 994: torch 0, chainrule -0.051, float64 -0.0102); steered
    a = (a.tanh() if a.dtype == lib.float64 else a.double().tanh().to(a.dtype)) * 0.5
    if sym:
        a = a + a.mT
    diag = lib.arange(k, dtype=a.dtype) * 1.5 + k
    return a + lib.diag_embed(diag) if ints[4] % 2 else a - lib.diag_embed(diag)


def _rect(lib: Any, y: Any, ints: tuple) -> Any:
    """An m x n matrix (m != n where ints allow) with distinct singular values."""
    m, n = 1 + ints[2] % 3, 1 + ints[3] % 3
    a = no_nan(lib, _filled(lib, y, (m, n)))  # as _square
    if not a.is_floating_point():
        return a
    k = min(m, n)
    spread = lib.zeros((m, n), dtype=a.dtype)
    for i in range(k):
        spread = spread + lib.nn.functional.pad(
            lib.ones((1, 1), dtype=a.dtype) * (1.0 + 1.5 * i), (i, n - i - 1, i, m - i - 1)
        )
    return a.tanh() * 0.25 + spread


def _rhs(lib: Any, y: Any, a: Any, ints: tuple) -> Any:
    """A right-hand side for the k x k matrices ``a``: a vector or a k x m matrix."""
    k = a.shape[-1]
    b = _filled(lib, y, (k,) if ints[0] % 3 == 0 else (k, 1 + ints[1] % 2))
    return b.to(a.dtype) if a.is_floating_point() and b.is_floating_point() else b


def linalg_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One out-of-place step of kind ``kind`` on ``x`` (``other``/``third``: other slots)."""
    L = lib.linalg
    if kind == "det":
        a = _square(lib, x, ints)
        f = ints[1] % 3
        if f == 0:
            return L.det(a)
        if f == 1:
            sign, logabs = L.slogdet(a)
            return sign * logabs
        return a.logdet() if ints[4] % 2 else L.det(a).abs().log()
    if kind == "inv":
        a = _square(lib, x, ints)
        f = ints[1] % 3
        if f == 0:
            return L.inv(a)
        if f == 1:
            return L.matrix_power(a, ints[0] % 5 - 2)
        return L.pinv(_rect(lib, x, ints))
    if kind == "solve":
        a = _square(lib, x, ints)
        b = _rhs(lib, other, a, ints)
        f = ints[1] % 4
        if f == 0:
            return L.solve(a, b)
        if f == 1:
            upper = bool(ints[0] % 2)
            t = a.triu() if upper else a.tril()
            b2 = b if b.dim() >= 2 else b.unsqueeze(-1)
            return L.solve_triangular(t, b2, upper=upper, unitriangular=bool(ints[3] % 2))
        if f == 2:
            lu, piv = L.lu_factor(a)
            b2 = b if b.dim() >= 2 else b.unsqueeze(-1)
            return L.lu_solve(lu, piv, b2)
        b2 = _filled(lib, other, (a.shape[-1] + 1, a.shape[-1]))
        if b2.is_floating_point():  # residues of 0 (1e-16 in one library) snapped to it: a
            b2 = b2.masked_fill(near_zero(b2), 0)  # least-squares fit reads them as data
            # plus 2 on the diagonal: of full column rank. On rank-deficient input torch
            # 2.13's gelsy may skip its column pivoting (a zero first column: rank 0 and a
            # zero solution; linalg/_lstsq_drivers.py), chainrule's follows LAPACK's
            # pivoted rule (seed 967: a sparse_mm result with structural zeros)
            b2 = b2 + lib.eye(*b2.shape[-2:], dtype=b2.dtype) * 2.0
        return L.lstsq(b2.to(a.dtype) if b2.is_floating_point() else b2, b2.sum(-1)).solution
    if kind == "cholesky":
        a = _square(lib, x, ints, sym=True)
        if a.is_floating_point():
            a = a @ a.mT + lib.eye(a.shape[-1], dtype=a.dtype)
        f = ints[1] % 3
        if f == 0:
            return L.cholesky(a, upper=bool(ints[0] % 2))
        if f == 1:
            b = _rhs(lib, other, a, (1, *ints[1:]))
            # b with a's batch dims: torch 2.13's tangent of cholesky_solve with a b that
            # broadcasts over the batch is wrong (2.6 off a finite difference; chainrule's
            # agrees with it), so both get the broadcast b
            return lib.cholesky_solve(b.expand(*a.shape[:-2], *b.shape), L.cholesky(a))
        return lib.cholesky_inverse(L.cholesky(a))
    if kind == "qr":
        a = _rect(lib, x, ints)
        mode = ("reduced", "complete", "r")[ints[1] % 3]
        q, r = L.qr(a, mode=mode)
        return r if mode == "r" else (q.sum() + r.sum()) * q.abs().sum()
    if kind == "eigh":
        a = _square(lib, x, ints, sym=True)
        if ints[1] % 2:
            return L.eigvalsh(a, UPLO="U" if ints[0] % 2 else "L")
        w, v = L.eigh(a)
        return _sq(v) * w.unsqueeze(-2)  # sign-free: each eigenvector squared
    if kind == "svd":
        a = _rect(lib, x, ints)
        if ints[1] % 2:
            return L.svdvals(a)
        u, s, vh = L.svd(a, full_matrices=False)
        return (_sq(u).sum(-1) * 2).sum() + s.sum() + _sq(vh).sum(0).sum()
    if kind == "matrix_norm":
        a = _rect(lib, x, ints) if ints[0] % 2 else _square(lib, x, ints)
        ord_ = ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)[ints[1] % 8]
        if ints[4] % 3 == 2:
            return L.norm(a, ord=ord_)
        return L.matrix_norm(a, ord=ord_, keepdim=bool(ints[4] % 2))
    if kind == "vector_norm":
        ord_ = (2, 1, math.inf, -math.inf, 0, 3, 0.5, -1)[ints[2] % 8]
        if x.is_floating_point():
            # no zeros: norms' derivatives at 0 differ (a known difference,
            # test_found_cases.py, xfail), steered around
            x = x + 0.125 * (x.abs() < 1e-4)
        dim = None if x.dim() == 0 or ints[3] % 3 == 0 else _dim(x, ints[1])
        return L.vector_norm(x, ord=ord_, dim=dim, keepdim=bool(ints[4] % 2))
    if kind == "matrix_fn":
        a = _square(lib, x, ints)
        f = ints[1] % 4
        if f == 0:
            return L.matrix_exp(a * 0.25 if a.is_floating_point() else a)
        if f == 1:
            return a.trace() if a.dim() == 2 else a.diagonal(0, -2, -1).sum(-1)
        if f == 2:
            return lib.diag_embed(a.diagonal(0, -2, -1), offset=ints[0] % 3 - 1)
        m = a if a.dim() == 2 else a[0]
        return L.multi_dot([m, m.mT, _same_dtype(lib, _filled(lib, other, (m.shape[-1], 2)), m)])
    if kind == "contract":
        return _contract(lib, x, other, third, ints)
    if kind == "fft":
        return _fft(lib, x, ints)
    if kind == "complex_make":
        return _complex_make(lib, x, other, ints)
    if kind == "complex_read":
        return _complex_read(lib, x, other, ints)
    raise AssertionError(kind)


def _sq(v: Any) -> Any:
    """``v`` squared, sign-free; complex: its modulus squared (phase-free: a complex singular
    vector or eigenvector is unique up to a phase, which v.square() would show)."""
    return v.abs().square() if v.is_complex() else v.square()


def _same_dtype(lib: Any, y: Any, x: Any) -> Any:
    return y.to(x.dtype) if x.is_floating_point() and y.is_floating_point() else y


def _contract(lib: Any, x: Any, other: Any, third: Any, ints: tuple) -> Any:
    f = ints[1] % 7
    k = 1 + ints[2] % 3
    if f == 0:  # einsum: a batched bilinear form, with a repeated index on one side
        a = _filled(lib, x, (2, k, k))
        # one dtype: torch runs mixed integer/bool operands where its contraction path
        # avoids bmm ("bij,jk->", a promoted int64 sum) and refuses them where it does not:
        # a path-dependent quirk, not mirrored (chainrule always refuses mixed dtypes)
        b = _filled(lib, other, (k, 3)).to(a.dtype)
        spec = ("bij,jk->bik", "bii,ik->bk", "bij,jk->", "bij,ik->bjk")[ints[3] % 4]
        return lib.einsum(spec, a, b)
    if f == 1:
        a = _filled(lib, x, (2, k, 3))
        b = _same_dtype(lib, _filled(lib, other, (3, k, 2)), a)
        dims = (([1], [0]), ([1, 2], [1, 0]), 1, (1, 0))[ints[3] % 4]  # (1, 0): TypeError
        return lib.tensordot(a, b, dims=dims)
    if f == 2:  # operands copied: torch's kron reshapes them by _unsafe_view, which misses a
        # later in-place change of them (computing with the new values), chainrule refuses
        a = _filled(lib, x, (k, 2)) * 1
        return lib.kron(a, _same_dtype(lib, _filled(lib, other, (2, k)), x) * 1)
    if f == 3:  # cross of 3-vectors along a dim
        a = _filled(lib, x, (k, 3))
        b = _same_dtype(lib, _filled(lib, other, (k, 3) if ints[3] % 2 else (3,)), a)
        y = lib.linalg.cross(a, b, dim=-1)
        # zeros snapped: the cross product of parallel vectors (operands filled from the same
        # few values) is a rounding residue in torch (1.7e-17) and an exact 0 in chainrule,
        # and a later comparison or bool cast flips on its sign
        return y.masked_fill(near_zero(y), 0) if y.is_floating_point() else y
    if f == 4:
        a = _filled(lib, x, (k, 2))
        b = _same_dtype(lib, _filled(lib, other, (3, 2)), a)
        if a.is_floating_point():
            # points kept apart (a distance at 0 has no derivative): shifted by their row
            a = a + lib.arange(k, dtype=a.dtype).unsqueeze(-1) * 10.0
        p = (2.0, 1.0, math.inf, 3.0)[ints[3] % 4]
        if p == math.inf and a.is_floating_point():
            # coordinates apart: torch's backward of cdist(p=inf) gives every coordinate tied
            # for the maximum the whole gradient, chainrule splits it (as both do for
            # norm(p=inf)): reported (ops/distance.py), steered around
            a = a + lib.tensor([0.0, 0.375], dtype=a.dtype)
        return lib.cdist(a, b, p=p)
    if f == 5:
        a = _filled(lib, x, (k,))
        b = _same_dtype(lib, _filled(lib, other, (3,)), a)
        return lib.outer(a, b) if ints[3] % 2 else lib.linalg.vecdot(a, a.flip(0))
    a = _filled(lib, x, (k, 2))
    b = _same_dtype(lib, _filled(lib, other, (k, 2)), a)
    c = _same_dtype(lib, _filled(lib, third, (2,)), a)
    return lib.addmv(lib.addmm(a.sum(0), a.mT, b, beta=0.5, alpha=2.0)[0], a.mT @ b, c)


def _norm(ints: tuple) -> Any:
    return (None, "ortho", "forward", "backward")[ints[0] % 4]


def _fft(lib: Any, x: Any, ints: tuple) -> Any:
    F = lib.fft
    n = x.dim()
    if x.numel() == 0:
        # torch's MKL FFT of an empty tensor raises ("Inconsistent configuration
        # parameters"), chainrule returns the empty result: not mirrored
        return x
    if n == 0:
        x = x.reshape(1)
        n = 1
    d = _dim(x, ints[1])
    size = x.shape[d]
    length = None if ints[3] % 3 == 0 else max(1, size + ints[3] % 3 * 2 - 3)
    f = ints[2] % 8
    norm = _norm(ints)
    if f == 0:
        y = F.rfft(x, n=length, dim=d, norm=norm)
    elif f == 1:
        y = F.fft(x, n=length, dim=d, norm=norm)
    elif f == 2:
        y = F.ifft(x, n=length, dim=d, norm=norm)
    elif f == 3:  # a round trip through the half spectrum
        return F.irfft(F.rfft(x, dim=d), n=size, dim=d, norm=norm)
    elif f == 4:
        y = F.fftn(x, norm=norm)
    elif f == 5:
        y = F.rfftn(x, dim=(d,), norm=norm) if n else F.rfftn(x)
    elif f == 6:
        return F.hfft(x, n=length, dim=d, norm=norm)
    else:
        return F.fftshift(x, dim=d) if ints[4] % 2 else F.ifftshift(x)
    return _real_part(lib, y, ints)


def _real_part(lib: Any, y: Any, ints: tuple) -> Any:
    """``y`` (complex) read back: its real or imaginary part, modulus, view_as_real, or
    kept complex (a complex slot the later steps may use). Zeros made positive (+ 0j): a
    signed zero is not a difference (torch's ifft of a real tensor is a conjugate, with
    -0.0 where chainrule's has 0.0), but a later division by it gives an infinity of
    the other sign."""
    y = y + 0j
    f = ints[4] % 5
    if f == 0:
        return y.real
    if f == 1:
        return y.imag
    if f == 2:
        return y.abs() if not bool((y.abs() < 1e-6).any()) else y.real
    # resolve_conj: torch's ifft/ihfft of a real tensor is a lazily conjugated view, which
    # view_as_real refuses and in-place ops write through; chainrule has no conjugate bit
    # (conj copies: a documented difference, ops/complex_ops.py), so it is resolved first
    if f == 3:
        return lib.view_as_real(y.resolve_conj())
    return y.resolve_conj()


def _complex_make(lib: Any, x: Any, other: Any, ints: tuple) -> Any:
    """A complex slot from real ones, with complex arithmetic on it."""
    if x.is_complex():
        z = x
    else:
        y = _filled(lib, other, tuple(x.shape))
        f = ints[1] % 3
        if f == 0:
            z = lib.complex(x, y.to(x.dtype) if y.is_floating_point() else y)
        elif f == 1:
            z = lib.polar(x.abs() + 0.5 if x.is_floating_point() else x, _same_dtype(lib, y, x))
        else:
            pair = _filled(lib, x, (*tuple(x.shape), 2))
            z = lib.view_as_complex(pair.contiguous() if ints[3] % 2 else pair * 1.0)
    g = ints[2] % 5
    if g == 0:
        return z * z.conj() + z
    if g == 1:
        return z.exp() * 0.5 if z.is_complex() else z
    if g == 2:
        return (z * (1 - 2j)).sum(-1) if z.dim() else z * (1 - 2j)
    if g == 3:
        return z / (z.abs() + 1) if z.is_complex() else z
    return (z.conj().mT if z.dim() >= 2 else z.conj()).resolve_conj()  # as _real_part


def _complex_read(lib: Any, x: Any, other: Any, ints: tuple) -> Any:
    """A real slot from a complex one (or one made complex first)."""
    z = x if x.is_complex() else _complex_make(lib, x, other, ints)
    if not z.is_complex():
        return z
    f = ints[4] % 5
    if f == 4:
        return z.angle() if not bool((z.abs() < 1e-6).any()) else z.imag
    return _real_part(lib, z, (0, 0, 0, 0, f))
