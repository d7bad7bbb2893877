"""Session 41 of the random-program fuzzer (seeds 964-; the new kinds of
:mod:`tests.fuzz.s41_steps`: in-place shape methods, ``conj_physical``, the deprecated
linear algebra names, the splitting copies, the sparse-times-dense products, activations and
dropouts in eval form, value queries): every variant of every new kind is pinned as a
one-step program on a float64 leaf (first and second order) and on an int64 leaf, checked
against torch by :func:`tests.fuzz.hunt.check`; then the differences found."""

from __future__ import annotations

import pytest
import torch

import chainrule as cr

from ._found import forward, same
from .hunt import check
from .programs import Program, Step
from .s41_steps import S41

__all__: list[str] = []

# kind -> the number of ints[4] branches; a variant v is drawn with ints[4] = v % F and
# ints[3] = v // F
_BRANCHES = {"shape_": 8, "conj_phys": 6, "old_linalg": 6, "split_copies": 7, "sparse_mm": 7,
             "act_eval": 10, "query_ops": 6}  # fmt: skip

_CASES = [(kind, v) for kind in S41 for v in range(2 * _BRANCHES[kind])]


@pytest.mark.parametrize(("kind", "variant"), _CASES)
def test_s41_kind_agrees_with_torch(kind, variant):
    f = _BRANCHES[kind]
    i4, i3 = variant % f, variant // f
    j = variant % 2
    leaves = (((2, 3), True, j == 1, "float64"), ((3,), False, False, "int64"))
    steps = (Step(kind, (j, 1 + j + variant % 2, 1 + variant % 3, i3, i4), -1.5),
             Step("sum", (0,) * 5))  # fmt: skip
    prog = Program(leaves, steps, seed=7 + variant, double=bool(j))
    assert check(prog) is None
    int_prog = Program(leaves, (Step(kind, (1, 0, 2, i3, i4), 0.5),), seed=3 + variant)
    assert check(int_prog) is None


def test_s41_kinds_run_in_forward_mode():
    # an even seed: through autograd.forward_ad, every step's value and tangent compared
    for kind in S41:
        for v in range(_BRANCHES[kind]):
            leaves = (((3, 2), True, False, "float64"), ((2,), True, False, "float64"))
            prog = Program(leaves, (Step(kind, (0, 3, 1, 0, v), 0.5),), seed=2 * v)
            assert check(prog) is None, (kind, v)


# --- found: forward mode through in-place metadata changes (seed 964 smoke) ----------------


def test_as_strided_in_place_takes_the_tangent_along():
    # chainrule's as_strided_ of a dual tensor changed the primal's geometry only; the next
    # op broadcast the old-shaped tangent against the new shape (ValueError)
    def prog(lib, x):
        y = x * 1
        y.as_strided_((2, 2), (1, 1), 1)
        return y * 2

    t, c = (forward(lib, prog, [1.0, 2.0, 3.0, 4.0], [1.0, -2.0, 0.5, 3.0]) for lib in (torch, cr))
    for a, b in zip(t, c):
        assert a.tolist() == b.tolist()


def test_resize_of_a_dual_tensor_is_refused_as_torch():
    def prog(lib):
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            x = fwad.make_dual(lib.ones(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64))
            y = x * 1
            y.resize_(2)
            return [y]

    same(prog)
    with pytest.raises(RuntimeError, match="cannot resize variables that has a forward grad"):
        prog(cr)


def test_as_strided_in_place_on_a_non_dual_tensor_unchanged():
    def prog(lib):
        y = lib.arange(6.0, dtype=lib.float64)
        y.as_strided_((2, 2), (2, 1), 1)
        return [y, y.stride()[0], y._version]

    same(prog)


# --- found: cummax/cummin of a 0-d complex tensor (seed 965) --------------------------------


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cumulative_extreme_of_a_0d_complex_tensor(op):
    # torch returns the element (index 0) unordered; chainrule refused every complex tensor
    # ("complex tensors have no order"); a 1-d one stays refused in both
    def prog(lib):
        r = getattr(lib, op)(lib.tensor(1.5 - 2.0j), 0)
        return [lib.view_as_real(r.values), r.indices]

    same(prog)
    assert prog(cr)[1].item() == 0
    for lib in (torch, cr):
        with pytest.raises((NotImplementedError, RuntimeError)):
            getattr(lib, op)(lib.tensor([1.5 - 2.0j]), 0)
        z = lib.tensor(1.5 - 2.0j, requires_grad=True)
        with pytest.raises(RuntimeError, match="does not support automatic differentiation"):
            getattr(lib, op)(z * 2, 0)


# --- steered: lstsq of a rank-deficient matrix with a zero first column (seed 967) ----------


def test_seed_967_lstsq_step_is_of_full_rank_now():
    # a sparse_mm result (structural zeros) as lstsq's matrix: rows [0, c, c], a zero first
    # column; torch 2.13's gelsy gave rank 0 and a zero solution there, chainrule LAPACK's
    # pivoted one (rank 1, [0, 1, 1]); linalg_steps now adds 2 on the diagonal
    prog = Program(
        leaves=(((), False, False, "float64"),),
        steps=(Step("sparse_mm", (0, 8, 0, 0, 0), 0.25), Step("solve", (0, 11, 8, 0, 0), 2.0)),
        seed=18750,
    )
    assert check(prog) is None
    c = 0.5
    a = cr.tensor([[0.0, c, c]] * 4, dtype=cr.float64)
    r = cr.linalg.lstsq(a, a.sum(-1))
    assert int(r.rank) == 1 and r.solution.tolist() == pytest.approx([0.0, 1.0, 1.0])
