"""Op specs for linalg/extras.py (``vecdot``, ``vander``, ``tensorinv``, ``tensorsolve``,
``inv_ex``, ``solve_ex``, ``cond``, ``householder_product``); appended to the central table in
tests/ops/op_specs.py.

``cond`` with a norm order other than None/2/-2/'nuc' is checked against its definition
``|A|_p |A^-1|_p`` written in PyTorch: PyTorch 2.13's own backward fails there (it fills
the saved inverse in place, "modified by an inplace operation"), while chainrule's
composition is differentiable. tests/test_linalg_extras.py compares the values with
``torch.linalg.cond`` itself. The LDL functions have no derivative in chainrule (see
linalg/ldl.py) and are tested there too; ``eig``/``eigvals``'s gradients are tested against
torch in tests/linalg/test_eig_grads.py.
"""

from __future__ import annotations

import math

import torch

from .op_specs import OpSpec, bad_call, lib

__all__ = ["SPECS"]


def _ex(name, field, **kw):
    return lambda *xs: getattr(getattr(lib(xs[0]).linalg, name)(*xs, **kw), field)


def _cond(p):
    return lambda a: lib(a).linalg.cond(a, p)


def _cond_by_norms(p):
    """``cond`` for PyTorch: ``torch.linalg.cond`` itself where no gradient is taken (the
    bad-input checks), else its definition (PyTorch's own backward fails for these orders)."""

    def call(a):
        if not a.requires_grad:
            return torch.linalg.cond(a, p)
        return torch.linalg.matrix_norm(a, p) * torch.linalg.matrix_norm(torch.linalg.inv(a), p)

    return call


SQ = ((3, 3),)
SQ_B = ((2, 3, 3),)

SPECS: list = [
    OpSpec(
        "linalg_vecdot",
        "linalg.vecdot",
        (((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((4,), (2, 1, 4))),
        bad=(bad_call("dim", lambda x, y: lib(x).linalg.vecdot(x, y, dim=3)),),
    ),
    OpSpec(
        "linalg_vecdot_dim", lambda x, y: lib(x).linalg.vecdot(x, y, dim=0), (((3, 4), (3, 1)),)
    ),
    OpSpec(
        "linalg_vander",
        "linalg.vander",
        (((4,),), ((2, 3),)),
        bad=(bad_call("N1", lambda x: lib(x).linalg.vander(x, N=1)),),
    ),
    OpSpec("linalg_vander_N", lambda x: lib(x).linalg.vander(x, N=5), (((3,),), ((2, 2),), ((),))),
    OpSpec(
        "linalg_tensorinv",
        "linalg.tensorinv",
        (((2, 3, 6),), ((2, 2, 4),)),
        bad=(bad_call("ind0", lambda a: lib(a).linalg.tensorinv(a, ind=0)),),
    ),
    OpSpec("linalg_tensorinv_ind1", lambda a: lib(a).linalg.tensorinv(a, ind=1), (((6, 2, 3),),)),
    OpSpec("linalg_tensorsolve", "linalg.tensorsolve", (((2, 3, 6), (2, 3)), ((4, 2, 2), (4,)))),
    OpSpec(
        "linalg_tensorsolve_dims",
        lambda a, b: lib(a).linalg.tensorsolve(a, b, dims=(0,)),
        (((6, 2, 3), (2, 3)),),
    ),
    OpSpec("linalg_inv_ex", _ex("inv_ex", "inverse"), (SQ, SQ_B)),
    OpSpec(
        "linalg_solve_ex",
        _ex("solve_ex", "result"),
        (((3, 3), (3, 2)), ((2, 3, 3), (3,)), ((3, 3), (2, 3, 1))),
    ),
    OpSpec("linalg_solve_ex_right", _ex("solve_ex", "result", left=False), (((2, 3, 3), (4, 3)),)),
    OpSpec("linalg_cond", "linalg.cond", (SQ, SQ_B, ((3, 5),), ((4, 2),))),
    OpSpec("linalg_cond_2", _cond(2), (SQ_B,)),
    OpSpec("linalg_cond_nuc", _cond("nuc"), (SQ, SQ_B)),
    OpSpec(
        "linalg_cond_m2",
        _cond(-2),
        (SQ, ((2, 4),)),
        bad=(bad_call("ord", lambda a: lib(a).linalg.cond(a, 3)),),
    ),
    *(
        OpSpec(
            f"linalg_cond_{label}",
            _cond(p),
            (SQ, SQ_B),
            domain="distinct",  # no ties in the row/column sums (their max is kinked)
            torch_fn=_cond_by_norms(p),
        )
        for label, p in (
            ("fro", "fro"),
            ("inf", math.inf),
            ("minf", -math.inf),
            ("1", 1),
            ("m1", -1),
        )
    ),
    OpSpec(
        "linalg_householder_product",
        "linalg.householder_product",
        (((5, 3), (2,)), ((2, 4, 4), (2, 4)), ((3, 3), (3,))),
    ),
]
