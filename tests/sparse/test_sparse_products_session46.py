"""Products of a sparse tensor converted from a dense one that requires grad (session 46):
``torch.addmm(mat, x.to_sparse(), dense)`` is torch's one ``AddmmBackward0`` listing the
conversion node (``ToSparseBackward1``), whose gradient reaches ``x`` unmasked; ``mm``/``@``
list both operands (``None`` for one without a gradient), as torch's ``MmBackward0``. Trees
of nodes, values and gradients against torch; second order and forward mode by gradcheck.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse .* tensor support is in beta"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled"),
]

_SOURCE = [[0.0, 1.5, 0.0, 2.0], [3.0, 0.0, 0.0, -1.0], [0.0, 0.0, 4.0, 0.0], [5.0, 0.0, 0.0, 6.0]]


def _tree(node: Any, depth: int = 2) -> Any:
    if node is None:
        return None
    if depth == 0:
        return node.name()
    return node.name(), [_tree(n, depth - 1) for n, _ in node.next_functions]


CONVERSIONS = {
    "to_sparse": lambda m, x: x.to_sparse(),
    "to_sparse_csr": lambda m, x: x.to_sparse_csr(),
    "times_2": lambda m, x: x.to_sparse() * 2,
    "t": lambda m, x: x.to_sparse().t(),
    "neg": lambda m, x: -x.to_sparse(),
}
PRODUCTS = {
    "addmm": lambda m, a, s, d: m.addmm(a, s, d, beta=0.5, alpha=2),
    "addmm_method": lambda m, a, s, d: a.addmm(s, d, alpha=3),
    "addmm_broadcast_mat": lambda m, a, s, d: m.addmm(a[0], s, d),
    "addmm_beta0": lambda m, a, s, d: m.addmm(a, s, d, beta=0),
    "sparse_addmm": lambda m, a, s, d: m.sparse.addmm(a, s, d, beta=0.5, alpha=2),
    "mm": lambda m, a, s, d: m.mm(s, d),
    "matmul": lambda m, a, s, d: s @ d,
}


def _run(m: Any, conversion: str, product: str, which: str) -> tuple:
    x = m.tensor(_SOURCE, requires_grad=which in ("all", "source"))
    d = (m.arange(8.0).reshape(4, 2) / 3).requires_grad_(which in ("all", "dense"))
    a = m.arange(8.0).reshape(4, 2).requires_grad_(which in ("all", "mat"))
    out = PRODUCTS[product](m, a * 1, CONVERSIONS[conversion](m, x), d * 1)
    tree = _tree(out.grad_fn)
    (out * m.arange(8.0).reshape(4, 2)).pow(2).sum().backward()
    grads = [None if t.grad is None else t.grad.numpy() for t in (x, d, a)]
    return tree, out.detach().numpy(), grads


@pytest.mark.parametrize("which", ["all", "source"])  # (all: the dense operand too)
@pytest.mark.parametrize("product", sorted(PRODUCTS))
@pytest.mark.parametrize("conversion", sorted(CONVERSIONS))
def test_products_of_a_dense_source_as_torch(conversion: str, product: str, which: str) -> None:
    (tt, tv, tg), (ct, cv, cg) = (_run(m, conversion, product, which) for m in (torch, cr))
    assert ct == tt
    np.testing.assert_allclose(cv, tv, rtol=1e-5)
    for got, want in zip(cg, tg):
        assert (got is None) == (want is None)
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_addmm_of_a_dense_source_second_order_and_forward() -> None:
    """The node's backward is recorded (gradgradcheck: the source's gradient ``G Dᵀ`` and the
    dense operand's ``Sᵀ G`` differentiate again) and its jvp agrees with the values' forward
    derivative (gradcheck's forward-mode check, the source seen through its stored entries:
    its derivative there is the full one only at the pattern)."""
    full = cr.tensor(np.linspace(1, 3, 16).reshape(4, 4), requires_grad=True)  # (no zeros:
    # a numerical step at an unstored zero would add an entry)
    x = cr.tensor(_SOURCE, dtype=cr.float64, requires_grad=True)
    d = cr.tensor(np.linspace(-1, 2, 8).reshape(4, 2), requires_grad=True)
    a = cr.tensor(np.linspace(-1, 1, 8).reshape(4, 2), requires_grad=True)

    def f(x: Any, d: Any, a: Any) -> Any:
        return cr.addmm(a, x.to_sparse(), d, beta=0.5, alpha=2)

    assert f(x, d, a).grad_fn.name() == "AddmmBackward0"
    assert cr.autograd.gradgradcheck(f, (full, d, a))
    mask = cr.tensor(np.asarray(_SOURCE) != 0)

    def on_pattern(x: Any, d: Any, a: Any) -> Any:  # reverse mode equal to the jvp's
        return cr.addmm(a, (x * mask).to_sparse(), d, beta=0.5, alpha=2)

    assert cr.autograd.gradcheck(on_pattern, (x, d, a), check_forward_ad=True)


@pytest.mark.parametrize("product", ["mm", "matmul", "addmm"])
def test_product_lists_a_sparse_operand_without_gradient_as_none(product: str) -> None:
    """Only the dense operand requires grad: torch's node still lists the sparse one (None)."""
    trees = [_run(m, "to_sparse", product, "dense")[0] for m in (torch, cr)]
    assert trees[1] == trees[0]
