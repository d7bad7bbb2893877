"""Products and decompositions keep only what their backward reads (issue 9 §2), so that an
input modified in place after forward raises exactly where PyTorch raises, and otherwise
gives PyTorch's gradient: matmul keeps A only for dB and B only for dA; einsum keeps an
operand only for the others' gradients; tensordot is one GEMM on (copied when permuted)
matrices; svdvals keeps U, S, Vh, not A. kron stays stricter than PyTorch, whose kron
silently returns a wrong gradient here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd import gradgradcheck

RNG = np.random.default_rng(3)


def _run(lib, fn, arrays, modify, requires=None):
    """Forward on non-leaf copies of the leaves, ``mul_(2)`` input ``modify``, backward."""
    requires = requires or [True] * len(arrays)
    leaves = [lib.tensor(a, requires_grad=r) for a, r in zip(arrays, requires)]
    xs = [leaf * 1.0 for leaf in leaves]
    y = fn(lib, *xs)
    xs[modify].mul_(2.0)
    g = lib.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)))
    try:
        grads = lib.autograd.grad((y * g).sum(), [x for x, r in zip(leaves, requires) if r])
    except RuntimeError as err:
        assert "in-place" in str(err) or "inplace" in str(err)
        return "raise"
    return [gr.numpy() for gr in grads]


CASES = {
    "matmul_const_right": (lambda L, x, w: x @ w, [(3, 4), (4, 2)], [True, False]),
    "matmul_const_left": (lambda L, w, x: w @ x, [(3, 4), (4, 2)], [False, True]),
    "matvec_const": (lambda L, x, v: x @ v, [(3, 4), (4,)], [True, False]),
    "einsum_one_operand": (lambda L, a: L.einsum("ijk->j", a), [(2, 3, 4)], None),
    "einsum_const_operand": (
        lambda L, a, b: L.einsum("ij,jk->ik", a, b),
        [(3, 4), (4, 2)],
        [True, False],
    ),
    "tensordot_permuted": (
        lambda L, a, b: L.tensordot(a, b, ([0, 2], [2, 0])),
        [(2, 3, 4), (4, 5, 2)],
        None,
    ),
    "tensordot_plain": (lambda L, a, b: L.tensordot(a, b, 2), [(2, 3, 4), (3, 4, 2)], None),
    "svdvals": (lambda L, a: L.linalg.svdvals(a), [(4, 3)], None),
    "matrix_norm_nuc": (lambda L, a: L.linalg.matrix_norm(a, "nuc"), [(3, 4)], None),
    "interpolate_bilinear": (
        lambda L, a: L.nn.functional.interpolate(a, size=(5, 3), mode="bilinear"),
        [(1, 2, 3, 4)],
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_inplace_on_an_input_after_forward_as_torch(name):
    fn, shapes, requires = CASES[name]
    arrays = [RNG.standard_normal(s) for s in shapes]
    for i in range(len(arrays)):
        if requires is not None and not any(requires):
            continue
        c = _run(cr, fn, arrays, i, requires)
        t = _run(torch, fn, arrays, i, requires)
        if t == "raise":
            assert c == "raise", f"{name}: PyTorch raises for input {i}, chainrule does not"
            continue
        assert c != "raise", f"{name}: chainrule raises for input {i}, PyTorch does not"
        for gc, gt in zip(c, t):
            np.testing.assert_allclose(gc, gt, rtol=1e-10, atol=1e-12)


def test_kron_raises_where_torch_gives_a_wrong_gradient():
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 2))

    def run(lib, modify, clone):
        a0, b0 = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        xs = [a0 * 1.0, b0 * 1.0]
        y = lib.kron(*xs)
        (xs[modify].clone() if clone else xs[modify]).mul_(2.0)
        return [g.numpy() for g in lib.autograd.grad(y.sum(), [a0, b0])]

    for i in (0, 1):
        wrong, right = run(torch, i, False), run(torch, i, True)
        assert not np.allclose(wrong[1 - i], right[1 - i])  # PyTorch's silent error
        with pytest.raises(RuntimeError, match="inplace operation"):
            run(cr, i, False)


def test_svdvals_output_modified_in_place_raises_as_torch():
    for lib in (torch, cr):
        a = lib.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
        s = lib.linalg.svdvals(a * 1.0)
        s.mul_(2.0)
        with pytest.raises(RuntimeError, match="in-?place"):
            s.sum().backward()


def test_svdvals_double_backward_and_constant_input():
    a = cr.tensor(RNG.standard_normal((2, 4, 3)), requires_grad=True)
    assert gradgradcheck(lambda x: cr.linalg.svdvals(x), (a,))
    with cr.no_grad():  # no gradient wanted: the values alone
        s = cr.linalg.svdvals(a)
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(a.detach().numpy(), compute_uv=False))


def test_matmul_keeps_only_the_operand_the_wanted_gradient_reads():
    x = cr.randn(3, 4, requires_grad=True)
    w = cr.randn(4, 2)
    y = x @ w
    saved = [e is not None for e in y.grad_fn.saved_values]
    assert saved == [False, True]  # dx = g wᵀ reads w only
