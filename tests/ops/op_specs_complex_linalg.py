"""Op specs for the complex linear-algebra rules, appended to tests/ops/op_specs.py.

As in op_specs_complex.py, each spec is a real-in / real-out composition: ``view_as_complex``
of a (..., 2) input builds the complex operand (made Hermitian, positive definite, triangular
or given a well-separated spectrum inside the composition, so float64 gradcheck is stable)
and ``view_as_real`` or ``abs`` brings the result back. Eigen- and singular vectors are
defined up to a phase per column, and a loss that depends on those phases is refused (as in
PyTorch), so they are only read through phase-invariant functions: ``|V|**2``,
``V diag(w) V^-1`` or ``U diag(S) Vh``.
"""

from __future__ import annotations

import numpy as np

from .op_specs import OpSpec, lib


def _vc(a):
    """``a`` (..., 2) as complex (contiguous first: a complex view needs adjacent pairs)."""
    return lib(a).view_as_complex(a.contiguous())


def _vr(z):
    """The complex ``z`` as a real tensor with a trailing (re, im) axis."""
    return lib(z).view_as_real(z)


def _square(z):
    """Whether ``z`` is a batch of square matrices. The builders below pass anything else
    through unchanged (as op_specs._spd does), so that the op under test, not a builder, meets
    a bad input (tests/ops/test_bad_inputs.py)."""
    return z.ndim >= 2 and z.shape[-1] == z.shape[-2]


def _shift(z, diag):
    """``z`` plus the constant diagonal ``diag`` (complex, in ``z``'s dtype)."""
    if not _square(z):
        return z
    n = z.shape[-1]
    eye = lib(z).eye(n, dtype=z.dtype, device=z.device)
    return z + eye * lib(z).tensor(np.asarray(diag[:n], dtype=np.complex128), device=z.device).to(
        z.dtype
    )


def _hpd(a):
    """A Hermitian positive-definite matrix Z Z^H + n I from the complex view of ``a``."""
    z = _vc(a)
    if not _square(z):
        return z
    n = z.shape[-1]
    return z @ z.mH + n * lib(z).eye(n, dtype=z.dtype, device=z.device)


# distinct, well-separated offsets: real for Hermitian inputs, complex for general ones
_SPREAD = np.array([0.0, 4.0, 8.0, 12.0])
_CSPREAD = np.array([0.0, 4.0 + 1.0j, 8.0 - 2.0j, 12.0 + 3.0j])


def _herm(a):
    """A Hermitian matrix with a well-separated spectrum: Z + Z^H + diag(0, 4, 8, ...)."""
    z = _vc(a)
    return _shift(z + z.mH, _SPREAD) if _square(z) else z


def _general(a):
    """A general complex matrix with well-separated eigenvalues: Z + diag(0, 4+i, 8-2i, ...)."""
    return _shift(_vc(a), _CSPREAD)


def _tril(a):
    """A well-conditioned lower-triangular complex matrix from the complex view of ``a``."""
    z = _general(a)
    return z.tril() if _square(z) else z


def _triu(a):
    """The conjugate transpose of :func:`_tril`: a well-conditioned upper-triangular matrix."""
    z = _tril(a)
    return z.mH if _square(z) else z


def _eig_rebuild(a):
    """V diag(w) V^-1 and |V|^2 from eig: both invariant under the eigenvector phases."""
    w, v = lib(a).linalg.eig(_general(a))
    rebuilt = (v * w.unsqueeze(-2)) @ lib(a).linalg.inv(v)
    return _vr(w), _vr(rebuilt), v.abs() ** 2


def _eigh_rebuild(a):
    """w, V diag(w) V^H and |V|^2 from eigh: invariant under the eigenvector phases."""
    w, v = lib(a).linalg.eigh(_herm(a))
    rebuilt = (v * w.unsqueeze(-2).to(v.dtype)) @ v.mH
    return w, _vr(rebuilt), v.abs() ** 2


def _svd_rebuild(a):
    """U diag(S) Vh, |U|^2, S and |Vh|^2 from a reduced svd: phase-invariant."""
    u, s, vh = lib(a).linalg.svd(_vc(a), full_matrices=False)
    rebuilt = (u * s.unsqueeze(-2).to(u.dtype)) @ vh
    return _vr(rebuilt), u.abs() ** 2, s, vh.abs() ** 2


def _lu_solve(a, b):
    """lu_solve with the factors of lu_factor: the gradient passes through lu_solve's rule to
    the LU factor and through lu_factor's to the matrix, so both rules are checked."""
    lu, piv = lib(a).linalg.lu_factor(_general(a))
    return _vr(lib(a).linalg.lu_solve(lu, piv, _vc(b)))


_SQ = (((3, 3, 2),), ((2, 4, 4, 2),))  # a 3x3 and a batch of two 4x4 complex matrices
_SQ_EIG = (((4, 4, 2),), ((2, 3, 3, 2),))  # 4x4, and a smaller batch (double backward is slow)

# Named <op>_complex: test_extreme_values.py leaves matrix ops (linalg_*, cholesky*, ...) out by
# name, since they need well-conditioned inputs, and so it does these.
SPECS: list = [
    OpSpec("linalg_cholesky_complex", lambda a: _vr(lib(a).linalg.cholesky(_hpd(a))), _SQ),
    OpSpec(
        "linalg_cholesky_upper_complex",
        lambda a: _vr(lib(a).linalg.cholesky(_hpd(a), upper=True)),
        (((3, 3, 2),),),
    ),
    OpSpec(
        "linalg_qr_complex",
        lambda a: tuple(_vr(r) for r in lib(a).linalg.qr(_vc(a))),
        (((4, 3, 2),), ((2, 3, 3, 2),)),
    ),
    OpSpec("linalg_eigh_complex", _eigh_rebuild, _SQ_EIG),
    OpSpec("linalg_eigvalsh_complex", lambda a: lib(a).linalg.eigvalsh(_herm(a)), _SQ),
    OpSpec("linalg_svd_complex", _svd_rebuild, (((4, 3, 2),), ((2, 2, 3, 2),))),
    OpSpec(
        "linalg_svdvals_complex",
        lambda a: lib(a).linalg.svdvals(_vc(a)),
        (((4, 3, 2),), ((2, 3, 4, 2),)),
    ),
    OpSpec(
        "linalg_pinv_complex",
        lambda a: _vr(lib(a).linalg.pinv(_vc(a))),
        (((4, 3, 2),), ((2, 3, 4, 2),)),
    ),
    OpSpec("linalg_eig_complex", _eig_rebuild, _SQ_EIG),
    OpSpec("linalg_eigvals_complex", lambda a: _vr(lib(a).linalg.eigvals(_general(a))), _SQ),
    OpSpec("linalg_inv_complex", lambda a: _vr(lib(a).linalg.inv(_general(a))), _SQ),
    OpSpec(
        "linalg_solve_complex",
        lambda a, b: _vr(lib(a).linalg.solve(_general(a), _vc(b))),
        (((3, 3, 2), (3, 2, 2)), ((2, 4, 4, 2), (4, 2))),
    ),
    OpSpec(
        "linalg_solve_triangular_complex",
        lambda a, b: _vr(lib(a).linalg.solve_triangular(_tril(a), _vc(b), upper=False)),
        (((3, 3, 2), (3, 2, 2)), ((2, 4, 4, 2), (2, 4, 3, 2))),
    ),
    OpSpec(
        "linalg_solve_triangular_right_upper_complex",
        lambda a, b: _vr(lib(a).linalg.solve_triangular(_triu(a), _vc(b), upper=True, left=False)),
        (((3, 3, 2), (2, 3, 2)),),
    ),
    OpSpec(
        "cholesky_solve_complex",
        lambda a, b: _vr(lib(a).cholesky_solve(_vc(b), lib(a).linalg.cholesky(_hpd(a)))),
        (((3, 3, 2), (3, 2, 2)), ((2, 4, 4, 2), (2, 4, 1, 2))),
    ),
    OpSpec(
        "linalg_lu_solve_complex", _lu_solve, (((3, 3, 2), (3, 2, 2)), ((2, 4, 4, 2), (4, 1, 2)))
    ),
]
