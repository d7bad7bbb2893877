"""Op specs: matrix products, einsum/tensordot, ``linalg.*`` and the legacy linear-algebra
functions, and the composite chains.

Part of the central op-spec table; tests/ops/op_specs.py assembles it, and
tests/ops/op_specs_core.py holds :class:`OpSpec` and the helpers used here. A pure move out
of the former single-file op_specs.py (session 35): no case changed.
"""

from __future__ import annotations

import torch

from .op_specs_core import (
    BCAST,
    NO_JVP,
    B,
    OpSpec,
    _gauge,
    _spd,
    _sym,
    _unary,
    bad_call,
    lib,
)

__all__ = ["SPECS"]

SPECS: list = [
    OpSpec("kron", "kron", (((2, 3), (3, 2)), ((2,), (3, 1, 2)))),
    OpSpec(
        "addmm",
        lambda i, a, b: lib(i).addmm(i, a, b, beta=0.5, alpha=2.0),
        (((3, 2), (3, 4), (4, 2)), ((2,), (3, 4), (4, 2))),
    ),
    OpSpec("addmm_method", lambda i, a, b: i.addmm(a, b), (((3, 2), (3, 4), (4, 2)),)),
    OpSpec(
        "addmv",
        lambda i, a, v: lib(i).addmv(i, a, v, beta=2.0, alpha=-1.0),
        (((3,), (3, 4), (4,)),),
    ),
    OpSpec(
        "baddbmm",
        lambda i, a, b: lib(i).baddbmm(i, a, b, alpha=0.5),
        (((2, 3, 2), (2, 3, 4), (2, 4, 2)), ((3, 1), (2, 3, 4), (2, 4, 2))),
    ),
    OpSpec("tensordot_int", lambda a, b: lib(a).tensordot(a, b, 2), (((2, 3, 4), (3, 4, 2)),)),
    OpSpec(
        "tensordot_lists",
        lambda a, b: lib(a).tensordot(a, b, ([0, 2], [2, 0])),
        (((2, 3, 4), (4, 5, 2)),),
    ),
    # ------------------------------------------------------------------ linalg
    OpSpec(
        "matmul",
        "matmul",
        (
            ((3, 4), (4, 2)),
            ((4,), (4,)),
            ((4,), (4, 2)),
            ((3, 4), (4,)),
            ((2, 3, 4), (4, 2)),
            ((2, 1, 3, 4), (3, 4, 2)),
            ((4,), (2, 4, 3)),
        ),
    ),
    OpSpec("mm", "mm", (((3, 4), (4, 2)),)),
    OpSpec("bmm", "bmm", (((2, 3, 4), (2, 4, 2)),)),
    OpSpec("dot", "dot", (((5,), (5,)),)),
    OpSpec("mv", "mv", (((3, 4), (4,)),)),
    OpSpec("outer", "outer", (((3,), (4,)),)),
    OpSpec("einsum_mm", lambda a, b: lib(a).einsum("ij,jk->ik", a, b), (((3, 4), (4, 2)),)),
    OpSpec(
        "einsum_batch", lambda a, b: lib(a).einsum("bij,bjk->bik", a, b), (((2, 3, 4), (2, 4, 2)),)
    ),
    OpSpec(
        "einsum_ellipsis_sum", lambda a, b: lib(a).einsum("...i,i->...", a, b), (((2, 3, 4), (4,)),)
    ),
    OpSpec("einsum_implicit", lambda a, b: lib(a).einsum("ij,kj", a, b), (((3, 4), (2, 4)),)),
    OpSpec("einsum_reduce", lambda a: lib(a).einsum("ijk->j", a), (((2, 3, 4),),)),
    OpSpec("einsum_diagonal", lambda a: lib(a).einsum("ii->i", a), (((3, 3),),)),
    OpSpec(
        "einsum_repeated_contract",
        lambda a, b: lib(a).einsum("iij,j->i", a, b),
        (((3, 3, 4), (4,)),),
    ),
    OpSpec(
        "einsum_sublist",
        lambda a, b: lib(a).einsum(a, [0, 1], b, [1, 2], [0, 2]),
        (((3, 4), (4, 2)),),
    ),
    # ------------------------------------------------------------ cr.linalg
    _unary(
        "linalg_inv",
        "linalg.inv",
        shapes=(((3, 3),), ((2, 3, 3),)),
        bad=(bad_call("not_square", lambda a: lib(a).linalg.inv(a[..., :2])),),
    ),
    _unary("linalg_det", "linalg.det", shapes=(((3, 3),), ((2, 3, 3),))),
    _unary("linalg_slogdet", lambda a: lib(a).linalg.slogdet(a).logabsdet, shapes=(((3, 3),),)),
    OpSpec(
        "linalg_solve", "linalg.solve", (((3, 3), (3, 2)), ((2, 3, 3), (3,)), ((3, 3), (2, 3, 1)))
    ),
    OpSpec(
        "linalg_solve_right",
        lambda a, b: lib(a).linalg.solve(a, b, left=False),
        (((3, 3), (2, 3)),),
    ),
    _unary(
        "linalg_cholesky",
        lambda a: lib(a).linalg.cholesky(_spd(a)),
        shapes=(((3, 3),), ((2, 3, 3),)),
    ),
    _unary(
        "linalg_cholesky_upper",
        lambda a: lib(a).linalg.cholesky(_spd(a), upper=True),
        shapes=(((3, 3),),),
    ),
    _unary("linalg_qr", lambda a: tuple(lib(a).linalg.qr(a)), shapes=(((4, 3),), ((3, 3),))),
    _unary("linalg_eigh", lambda a: _gauge(lib(a).linalg.eigh(_spd(a))), shapes=(((3, 3),),)),
    _unary(
        "linalg_eigvalsh",
        lambda a: lib(a).linalg.eigvalsh(_sym(a)),
        shapes=(((3, 3),), ((2, 4, 4),)),
    ),
    _unary(
        "linalg_svd",
        lambda a: _gauge(lib(a).linalg.svd(a, full_matrices=False)),
        shapes=(((4, 3),), ((3, 4),)),
    ),
    _unary("linalg_svdvals", "linalg.svdvals", shapes=(((4, 3),), ((2, 3, 4),))),
    _unary("linalg_pinv", "linalg.pinv", shapes=(((4, 3),), ((3, 4),))),
    OpSpec(
        "linalg_lstsq",
        lambda a, b: lib(a).linalg.lstsq(a, b).solution,
        (((5, 3), (5, 2)),),
        checks=NO_JVP,
    ),
    _unary("linalg_matrix_power", lambda a: lib(a).linalg.matrix_power(a, 3), shapes=(((3, 3),),)),
    _unary(
        "linalg_matrix_power_neg", lambda a: lib(a).linalg.matrix_power(a, -2), shapes=(((3, 3),),)
    ),
    OpSpec(
        "linalg_cross", lambda a, b: lib(a).linalg.cross(a, b), (((2, 3), (2, 3)), ((4, 3), (1, 3)))
    ),
    _unary(
        "linalg_vector_norm",
        lambda a: lib(a).linalg.vector_norm(a, dim=1),
        shapes=(((3, 4),), ((2, 3, 2),)),
    ),
    _unary(
        "linalg_vector_norm_p3",
        lambda a: lib(a).linalg.vector_norm(a, 3, keepdim=True),
        "nokink",
        shapes=(((3, 4),),),
    ),
    _unary(
        "linalg_vector_norm_inf",
        lambda a: lib(a).linalg.vector_norm(a, float("inf"), 0),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary("linalg_matrix_norm_fro", "linalg.matrix_norm", shapes=(((3, 4),), ((2, 3, 4),))),
    _unary(
        "linalg_matrix_norm_nuc", lambda a: lib(a).linalg.matrix_norm(a, "nuc"), shapes=(((3, 4),),)
    ),
    _unary(
        "linalg_matrix_norm_2",
        lambda a: lib(a).linalg.matrix_norm(a, 2, keepdim=True),
        shapes=(((3, 4),),),
    ),
    _unary(
        "linalg_matrix_norm_1",
        lambda a: lib(a).linalg.matrix_norm(a, 1),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary(
        "linalg_matrix_norm_neginf",
        lambda a: lib(a).linalg.matrix_norm(a, -float("inf")),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary("linalg_norm", lambda a: lib(a).linalg.norm(a), shapes=(((3, 4),), ((2, 3, 4),))),
    OpSpec("inner", "inner", (((3, 4), (2, 4)), ((4,), (2, 4)), ((), (2, 3)))),
    OpSpec("vdot", "vdot", (((4,), (4,)),)),
    OpSpec("ger", "ger", (((3,), (4,)),)),
    OpSpec(
        "addbmm",
        lambda i, a, b: lib(i).addbmm(i, a, b, beta=0.5, alpha=2.0),
        (((3, 4), (2, 3, 5), (2, 5, 4)), ((4,), (2, 3, 5), (2, 5, 4))),
    ),
    OpSpec("dist", "dist", (B,) + BCAST),
    OpSpec("dist_p3", lambda a, b: lib(a).dist(a, b, 3), (B,), "distinct"),
    OpSpec("dist_inf", lambda a, b: a.dist(b, float("inf")), (B,), "distinct"),
    _unary("renorm", lambda a: lib(a).renorm(a, 2, 0, 1.5), shapes=(((3, 4),),)),
    _unary(
        "renorm_p1",
        lambda a: a.renorm(1, 1, 1.0),
        shapes=(((3, 4),), ((2, 3, 2),)),
        bad=(bad_call("negative_maxnorm", lambda a: a.renorm(1, 1, -1.0)),),
    ),
    _unary("inverse", "inverse", shapes=(((3, 3),), ((2, 3, 3),))),
    _unary("det", lambda a: a.det(), shapes=(((3, 3),), ((2, 3, 3),))),
    _unary("logdet", lambda a: lib(a).logdet(_spd(a)), shapes=(((3, 3),),)),
    _unary("slogdet", lambda a: lib(a).slogdet(a).logabsdet, shapes=(((3, 3),),)),
    _unary("pinverse", "pinverse", checks=NO_JVP, shapes=(((4, 3),), ((3, 4),))),
    _unary("matrix_exp", "matrix_exp", shapes=(((3, 3),), ((2, 2, 2),))),
    _unary("matrix_exp_scaled", lambda a: (a * 4).matrix_exp(), shapes=(((3, 3),),)),
    _unary("matrix_power", lambda a: a.matrix_power(-2), shapes=(((3, 3),),)),
    _unary(
        "cholesky",
        lambda a: lib(a).cholesky(_spd(a), upper=True),
        shapes=(((3, 3),), ((2, 3, 3),)),
        # torch.cholesky/qr/svd warn that they are deprecated: compared with the
        # torch.linalg calls their warnings name as equivalent
        torch_fn=lambda a: torch.linalg.cholesky(_spd(a), upper=True),
    ),
    _unary(
        "qr",
        lambda a: tuple(lib(a).qr(a)),
        shapes=(((4, 3),), ((3, 3),)),
        torch_fn=lambda a: tuple(torch.linalg.qr(a)),
    ),
    _unary(
        "svd",
        lambda a: _gauge(lib(a).svd(a)),
        shapes=(((4, 3),), ((3, 4),)),
        torch_fn=lambda a: _gauge(
            (lambda u, s, vh: (u, s, vh.mT))(*torch.linalg.svd(a, full_matrices=False))
        ),
    ),
    _unary(
        "svd_values",
        lambda a: a.svd(compute_uv=False).S,
        shapes=(((4, 3),),),
        torch_fn=lambda a: torch.linalg.svdvals(a),
    ),
    # ------------------------------------------------------ composite chains
    OpSpec(
        "mlp_chain", lambda x, w, b: (x @ w + b).tanh().sum(1).sigmoid(), (((3, 4), (4, 2), (2,)),)
    ),
]
