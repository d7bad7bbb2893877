"""Two-operand ``einsum`` gradients in PyTorch's layout (session 46).

PyTorch's einsum is composite: its gradients come out of the backward of ``sumproduct_pair``'s
``permute -> reshape -> bmm`` (a row-major ``bmm`` gradient viewed and permuted back), so
``'bij,bkj->bik'`` gives ``'bkj'`` the strides ``(20, 1, 5)``. chainrule computes each gradient
as an einsum and lays it out by that rule (``einsum_layout.pair_grad_strides``). Each case
runs PyTorch live (strides and values), under ``create_graph`` too; the known gaps (an
elementwise product with a size-1 contracted label, three operands) are strict xfails.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def operand(lib: Any, shape: tuple, perm: tuple | None) -> Any:
    """A leaf of ``shape`` that requires grad, seen through ``perm`` (memory order) or not."""
    a = np.arange(float(np.prod(shape))).reshape(shape) / 7 - 1
    if perm is None:
        return lib.tensor(a, requires_grad=True)
    t = lib.tensor(np.ascontiguousarray(a.transpose(perm)), requires_grad=True)
    return t.permute(*np.argsort(perm).tolist())


CASES: dict[str, tuple] = {
    "mm": ("ij,jk->ik", [((5, 4), None), ((4, 3), None)]),
    "mm_out_t": ("ij,jk->ki", [((5, 4), None), ((4, 3), None)]),
    "bmm_bkj": ("bij,bkj->bik", [((3, 5, 4), (0, 2, 1)), ((3, 5, 4), None)]),
    "kib": ("bij,kj->kib", [((3, 5, 4), None), ((5, 4), None)]),
    "bki_swap": ("bij,bjk->bki", [((2, 5, 4), None), ((2, 4, 3), None)]),
    "conv_like_cl": ("nchw,oc->nohw", [((2, 4, 3, 5), (0, 2, 3, 1)), ((6, 4), None)]),
    "attention": ("bhqd,bhkd->bhqk", [((2, 3, 4, 5), (0, 2, 1, 3)), ((2, 3, 6, 5), None)]),
    "attention_out": ("bhqk,bhkd->bqhd", [((2, 3, 4, 6), None), ((2, 3, 6, 5), None)]),
    "dca": ("abc,bd->dca", [((2, 3, 4), None), ((3, 5), None)]),
    "upper": ("Ab,bC->CA", [((2, 3), None), ((3, 4), None)]),
    "own_sum": ("ijk,jil->lk", [((2, 3, 4), None), ((3, 2, 5), None)]),
    "ja_jb": ("ja,jb->ba", [((3, 4), None), ((3, 5), None)]),
    "size_one_batch": ("bij,bjk->bik", [((1, 5, 4), None), ((3, 4, 2), None)]),
    "size_one_rows": ("bij,bjk->bik", [((3, 1, 4), None), ((3, 4, 2), None)]),
    "t_both": ("bij,bjk->bik", [((3, 5, 4), (0, 2, 1)), ((3, 4, 2), (2, 1, 0))]),
    "hadamard_t": ("ij,ij->ij", [((5, 4), (1, 0)), ((5, 4), None)]),
    "size_one_contracted": ("ij,jk->ki", [((5, 1), None), ((1, 3), None)]),
    "bilinear": ("bn,anm,bm->ba", [((2, 3), None), ((4, 3, 5), None), ((2, 5), None)]),
}
GAPS = {
    "size_one_contracted": "a contracted label of size 1 (PyTorch multiplies elementwise): "
    "the gradient's size-1 dims' strides ((1, 1) for the (1, 3) operand) are NumPy's here",
    "bilinear": "three operands: PyTorch's gradients follow opt_einsum's pairwise path "
    "((1, 4, 12) for 'anm'); chainrule's keep the forward rule's",
}


def grads(lib: Any, case: str, create_graph: bool = False) -> list:
    eq, ops = CASES[case]
    xs = [operand(lib, s, p) for s, p in ops]
    y = lib.einsum(eq, *xs)
    w = lib.tensor(np.linspace(-1.0, 1.0, y.numel()).reshape(tuple(y.shape)))
    gs = list(lib.autograd.grad((y * w).sum(), xs, create_graph=create_graph))
    if create_graph:
        gs += lib.autograd.grad(sum((g * g).sum() for g in gs), xs, allow_unused=True)
    return gs


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=GAPS[n])) if n in GAPS else n
        for n in CASES
    ],
)
def test_einsum_gradient_layouts(case: str) -> None:
    got, want = grads(cr, case), grads(torch, case)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), atol=1e-10)
    assert [g.stride() for g in got] == [w.stride() for w in want]


@pytest.mark.parametrize("case", ["bmm_bkj", "kib", "attention", "conv_like_cl"])
def test_einsum_gradient_layouts_under_create_graph(case: str) -> None:
    """The first-order gradients (relaid by a recorded copy) keep PyTorch's layout; the
    second order's values match."""
    got, want = grads(cr, case, True), grads(torch, case, True)
    n = len(CASES[case][1])
    assert [g.stride() for g in got[:n]] == [w.stride() for w in want[:n]]
    for g, w in zip(got, want, strict=True):
        if w is None:
            assert g is None or not np.any(g.detach().numpy())
            continue
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), atol=1e-9)


def test_einsum_gradient_leaf_grad_and_cache() -> None:
    """``.grad`` of leaves (PyTorch's AccumulateGrad layout contract) as PyTorch's, and a
    repeated equation (the cached rule) gives the same layout."""

    def run(lib: Any) -> list:
        out = []
        for _ in range(2):
            a = lib.tensor(np.arange(60.0).reshape(3, 5, 4) / 9, requires_grad=True)
            b = lib.tensor(np.arange(60.0).reshape(3, 5, 4) / 11, requires_grad=True)
            lib.einsum("bij,bkj->bik", a, b).pow(2).sum().backward()
            out += [a.grad, b.grad]
        return out

    got, want = run(cr), run(torch)
    for g, w in zip(got, want, strict=True):
        assert g.stride() == w.stride()
        np.testing.assert_allclose(g.numpy(), w.numpy(), atol=1e-9)
