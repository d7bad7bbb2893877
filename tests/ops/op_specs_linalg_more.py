"""Op specs for ops/linalg_more.py and the linalg additions beside it (linalg/triangular.py,
linalg/chains.py, ``linalg.matrix_exp``); appended to the central table in tests/ops/op_specs.py.

The deprecated PyTorch functions (``triangular_solve``, ``chain_matmul``, ``frobenius_norm``,
``nuclear_norm``, ``cross`` without ``dim``) warn in both libraries; the specs call them with
the warning silenced (pytest turns warnings into errors), and tests/test_linalg_more.py
checks the warnings themselves.
"""

from __future__ import annotations

import functools
import warnings

from .op_specs import OpSpec, bad_call, lib

__all__ = ["SPECS"]


def _quiet(fn):
    """``fn`` with its deprecation warnings silenced."""

    @functools.wraps(fn)
    def call(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args)

    return call


def _square(a) -> bool:
    return a.ndim >= 2 and a.shape[-1] == a.shape[-2]


def _wc(a):
    """A well-conditioned triangle for a square ``a`` (``a + 4 I``); a bad ``a`` (not a batch
    of square matrices) passes through so the op under test meets it."""
    return a + 4 * lib(a).eye(a.shape[-1], dtype=a.dtype, device=a.device) if _square(a) else a


def _chol(a):
    """The Cholesky factor of an SPD matrix built from a square float ``a``; a bad ``a``
    (not square, not floating) passes through to the op under test."""
    if not _square(a) or not a.is_floating_point():
        return a
    return lib(a).linalg.cholesky(
        a @ a.mT + 3.0 * lib(a).eye(a.shape[-1], dtype=a.dtype, device=a.device)
    )


def _spd(a):
    if not _square(a) or not a.is_floating_point():
        return a
    return a @ a.mT + 3.0 * lib(a).eye(a.shape[-1], dtype=a.dtype, device=a.device)


def _solve_tri(**kw):
    return lambda a, b: lib(a).linalg.solve_triangular(_wc(a), b, **kw)


def _tri_solve(**kw):
    return _quiet(lambda b, a: tuple(lib(a).triangular_solve(b, _wc(a), **kw)))


SQ = ((3, 3),)
SQ_B = ((2, 3, 3),)

SPECS: list = [
    # ---------------------------------------------------------------- linalg additions
    OpSpec("linalg_matrix_exp", "linalg.matrix_exp", (SQ, SQ_B)),
    OpSpec(
        "linalg_solve_triangular_lower",
        _solve_tri(upper=False),
        (((3, 3), (3, 2)), ((2, 3, 3), (3, 2)), ((3, 3), (2, 3, 1))),
        bad=(
            bad_call(
                "b_vector",
                lambda a, b: lib(a).linalg.solve_triangular(_wc(a), b[:, 0], upper=False),
            ),
        ),
    ),
    OpSpec("linalg_solve_triangular_upper", _solve_tri(upper=True), (((3, 3), (3, 2)),)),
    OpSpec(
        "linalg_solve_triangular_right",
        _solve_tri(upper=True, left=False),
        (((3, 3), (2, 3)), ((2, 3, 3), (4, 3))),
    ),
    OpSpec(
        "linalg_solve_triangular_unit",
        _solve_tri(upper=False, unitriangular=True),
        (((3, 3), (3, 2)),),
    ),
    OpSpec(
        "linalg_cholesky_ex",
        lambda a: lib(a).linalg.cholesky_ex(_spd(a)).L,
        (SQ, SQ_B),
    ),
    OpSpec(
        "linalg_cholesky_ex_upper",
        lambda a: lib(a).linalg.cholesky_ex(_spd(a), upper=True).L,
        (SQ,),
    ),
    OpSpec(
        "linalg_multi_dot",
        lambda a, b, c: lib(a).linalg.multi_dot([a, b, c]),
        (((2, 3), (3, 4), (4, 2)), ((3,), (3, 4), (4,)), ((2, 3), (3, 4), (4,))),
    ),
    # ------------------------------------------------------------ Cholesky solves
    OpSpec(
        "cholesky_solve",
        lambda b, a: lib(a).cholesky_solve(b, _chol(a)),
        (((3, 2), (3, 3)), ((2, 3, 2), (3, 3)), ((3, 1), (2, 3, 3))),
        bad=(bad_call("b_vector", lambda b, a: lib(a).cholesky_solve(b[:, 0], _chol(a))),),
    ),
    OpSpec(
        "cholesky_solve_upper",
        lambda b, a: b.cholesky_solve(_chol(a).mT if _square(a) else a, True),
        (((3, 2), (3, 3)),),
    ),
    OpSpec(
        "cholesky_solve_tril",  # a raw lower triangle (no Cholesky in between)
        lambda b, a: lib(a).cholesky_solve(b, _wc(a).tril() if _square(a) else a),
        (((3, 2), (3, 3)),),
    ),
    OpSpec("cholesky_inverse", lambda a: lib(a).cholesky_inverse(_chol(a)), (SQ, SQ_B)),
    OpSpec(
        "cholesky_inverse_upper",
        lambda a: (_chol(a).mT if _square(a) else a).cholesky_inverse(upper=True),
        (SQ,),
    ),
    # ------------------------------------------------------------ triangular_solve
    OpSpec(
        "triangular_solve",
        _tri_solve(),
        (((3, 2), (3, 3)), ((2, 3, 2), (3, 3)), ((3, 2), (2, 3, 3))),
    ),
    OpSpec(
        "triangular_solve_lower_t", _tri_solve(upper=False, transpose=True), (((3, 2), (3, 3)),)
    ),
    OpSpec(
        "triangular_solve_unit",
        _tri_solve(upper=True, transpose=True, unitriangular=True),
        (((3, 2), (3, 3)),),
    ),
    # ------------------------------------------------------------------ products
    OpSpec(
        "addr",
        lambda m, u, v: lib(m).addr(m, u, v, beta=0.5, alpha=2.0),
        (((3, 2), (3,), (2,)), ((2,), (3,), (2,)), ((), (3,), (2,))),
    ),
    OpSpec("addr_method", lambda m, u, v: m.addr(u, v), (((3, 2), (3,), (2,)),)),
    OpSpec(
        "addr_beta0",
        lambda m, u, v: lib(m).addr(m, u, v, beta=0),
        (((3, 2), (3,), (2,)),),
    ),
    OpSpec(
        "chain_matmul",
        _quiet(lambda a, b, c: lib(a).chain_matmul(a, b, c)),
        (((2, 3), (3, 4), (4, 2)), ((5, 2), (2, 6), (6, 1))),
    ),
    OpSpec(
        "cross",
        lambda a, b: lib(a).cross(a, b, dim=1),
        (((4, 3), (4, 3)), ((2, 3, 2), (1, 3, 2))),
        bad=(bad_call("dim_not_3", lambda a, b: lib(a).cross(a, b, dim=0)),),
    ),
    OpSpec(
        "cross_default_dim",
        _quiet(lambda a, b: a.cross(b)),
        (((3, 2), (3, 2)), ((2, 3), (2, 3)), ((3, 3), (3, 3))),
        bad=(bad_call("no_dim_3", _quiet(lambda a, b: lib(a).cross(a[:, :2], b[:, :2]))),),
    ),
    # ------------------------------------------------------- adjoint, mH, H
    OpSpec("adjoint", "adjoint", (((3, 4),), ((2, 3, 4),))),
    OpSpec("adjoint_method", lambda a: a.adjoint(), (((3, 4),),)),
    OpSpec("mH", lambda a: a.mH, (((3, 4),), ((2, 3, 4),))),
    OpSpec("H", lambda a: a.H, (((3, 4),),)),
    # ------------------------------------------------------------ deprecated norms
    OpSpec(
        "frobenius_norm",
        _quiet(lambda a: lib(a).frobenius_norm(a, (1, 2))),
        (((2, 3, 4),),),
    ),
    OpSpec(
        "frobenius_norm_keepdim",
        _quiet(lambda a: lib(a).frobenius_norm(a, 0, True)),
        (((3, 4),),),
    ),
    OpSpec("nuclear_norm", _quiet(lambda a: lib(a).nuclear_norm(a)), (((3, 4),), ((2, 3, 4),))),
    OpSpec(
        "nuclear_norm_dim",
        _quiet(lambda a: lib(a).nuclear_norm(a, (0, 2), True)),
        (((3, 2, 4),),),
    ),
    # ----------------------------------------------------------------------- LU
    OpSpec(
        "linalg_lu_factor",
        lambda a: lib(a).linalg.lu_factor(a).LU,
        (SQ, ((2, 4, 4),), ((5, 3),), ((3, 5),)),
    ),
    OpSpec("linalg_lu_factor_ex", lambda a: lib(a).linalg.lu_factor_ex(a).LU, (((2, 3, 2),),)),
    OpSpec(
        "linalg_lu",
        lambda a: tuple(lib(a).linalg.lu(a))[1:],
        (SQ, ((4, 2),), ((2, 4),), ((2, 3, 3),)),
    ),
    OpSpec(
        "linalg_lu_solve",
        lambda a, b: lib(a).linalg.lu_solve(*lib(a).linalg.lu_factor(a), b),
        (((3, 3), (3, 2)), ((2, 3, 3), (3, 2)), ((3, 3), (2, 3, 1))),
    ),
    OpSpec(
        "linalg_lu_solve_adjoint",
        lambda a, b: lib(a).linalg.lu_solve(*lib(a).linalg.lu_factor(a), b, adjoint=True),
        (((3, 3), (3, 2)),),
    ),
    OpSpec(
        "linalg_lu_solve_right",
        lambda a, b: lib(a).linalg.lu_solve(*lib(a).linalg.lu_factor(a), b, left=False),
        (((3, 3), (2, 3)),),
    ),
    OpSpec(
        "lu_factor_unpack",  # lu_unpack of linalg.lu_factor's result
        lambda a: tuple(lib(a).lu_unpack(*lib(a).linalg.lu_factor(a)))[1:],
        (SQ, ((2, 4, 3),)),
    ),
    OpSpec("lu", _quiet(lambda a: a.lu()[0]), (SQ, ((2, 3, 4),))),
    OpSpec(
        "lu_solve_factor",  # lu_solve with linalg.lu_factor's result
        _quiet(lambda b, a: lib(a).lu_solve(b, *lib(a).linalg.lu_factor(a))),
        (((3, 2), (3, 3)), ((2, 3, 2), (2, 3, 3))),
    ),
]
