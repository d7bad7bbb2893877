"""Gaps found by the session-24 (batch c) drop-in programs (``deep_graph_infomax``,
``gatv2_scatter_softmax``, ``schnet_cfconv``, ``child_sum_tree_lstm``, ``pointer_generator``)
and by probing the APIs next to their idioms, each checked against PyTorch.

- ``torch.bmm`` of a 3-d sparse COO batch and a dense batch (a batched graph convolution
  ``torch.bmm(adj, seq_fts)`` on a sparse adjacency, DGI's batched layout) raised "the sparse
  operand must be a 2-d matrix". It now gives PyTorch's dense product, differentiable in the
  values and the dense batch, and refuses what PyTorch's ``bmm_sparse`` refuses with its
  ``RuntimeError``. (PyTorch's own second derivative of the sparse ``bmm`` disagrees with the
  same product built densely and with finite differences; the double-backward test compares
  against the dense build.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

FRAMEWORKS = [chainrule, torch]

# (batch, row, col) of each entry; the last repeats the second (an uncoalesced duplicate)
INDICES = [[0, 1, 0, 1, 1], [0, 2, 1, 0, 2], [1, 0, 2, 0, 0]]
VALUES = [1.0, 2.0, 3.0, 4.0, 5.0]
DENSE = np.arange(12.0).reshape(2, 3, 2) / 3


def _batch(m: Any, coalesce: bool) -> tuple[Any, Any, Any]:
    v = m.tensor(VALUES, dtype=m.float64, requires_grad=True)
    s = m.sparse_coo_tensor(m.tensor(INDICES), v, (2, 3, 3), check_invariants=True)
    d = m.tensor(DENSE, requires_grad=True)
    return v, (s.coalesce() if coalesce else s), d


@pytest.mark.parametrize("coalesce", [False, True], ids=["uncoalesced", "coalesced"])
def test_bmm_of_a_sparse_batch_and_its_gradients_match_torch(coalesce: bool) -> None:
    got, want = [], []
    for m, out in ((chainrule, got), (torch, want)):
        v, s, d = _batch(m, coalesce)
        y = m.bmm(s, d)
        y_method = s.bmm(d.transpose(1, 2).contiguous().transpose(1, 2))  # a strided mat2
        gv, gd = m.autograd.grad((y**2).sum() + y_method.sum(), (v, d))
        out += [y.detach().numpy(), y_method.detach().numpy(), gv.numpy(), gd.numpy()]
        out.append(y.layout == m.strided)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_bmm_of_a_sparse_batch_double_backward_matches_the_dense_product() -> None:
    """The second derivative against the same product on the densified batch (PyTorch's
    sparse ``bmm`` gets this one wrong, so torch's dense build is the reference)."""

    def grads(m: Any, sparse: bool) -> list[np.ndarray]:
        v = m.tensor(VALUES, dtype=m.float64, requires_grad=True)
        if sparse:
            a = m.sparse_coo_tensor(m.tensor(INDICES), v, (2, 3, 3), check_invariants=True)
        else:
            idx = tuple(m.tensor(INDICES))
            a = m.zeros(2, 3, 3, dtype=m.float64).index_put(idx, v, accumulate=True)
        d = m.tensor(DENSE, requires_grad=True)
        y = m.bmm(a, d)
        gv, gd = m.autograd.grad((y**2).sum(), (v, d), create_graph=True)
        ggv, ggd = m.autograd.grad((gv**2).sum() + (gd**2).sum(), (v, d))
        return [t.detach().numpy() for t in (gv, gd, ggv, ggd)]

    for a, b in zip(grads(chainrule, True), grads(torch, False)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_bmm_of_a_sparse_batch_edge_cases(m: Any) -> None:
    i = m.tensor([[0, 1], [0, 2], [1, 0]])
    s = m.sparse_coo_tensor(i, m.tensor([1.0, 2.0]), (2, 3, 3), check_invariants=True)
    out = m.empty(2, 3, 2)
    m.bmm(s, m.ones(2, 3, 2), out=out)
    assert out.tolist() == [[[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]], [[0.0] * 2, [0.0] * 2, [2.0] * 2]]
    assert tuple(m.bmm(s, m.ones(2, 3, 0)).shape) == (2, 3, 0)
    empty = m.sparse_coo_tensor(
        m.zeros(3, 0, dtype=m.long), m.zeros(0), (0, 3, 3), check_invariants=True
    )
    assert tuple(m.bmm(empty, m.ones(0, 3, 2)).shape) == (0, 3, 2)
    ints = m.sparse_coo_tensor(i, m.tensor([1, 2]), (2, 3, 3), check_invariants=True)
    prod = m.bmm(ints, m.ones(2, 3, 2, dtype=m.int64))
    assert prod.dtype == m.int64 and prod.sum().item() == 6


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
@pytest.mark.parametrize(
    "case",
    ["mat2_2d", "batch", "inner", "mat2_sparse", "dense_sparse", "dtype", "sparse_2d", "hybrid"],
)
def test_bmm_of_a_sparse_batch_refuses_what_torch_refuses(m: Any, case: str) -> None:
    i = m.tensor([[0, 1], [0, 2], [1, 0]])
    s = m.sparse_coo_tensor(i, m.tensor([1.0, 2.0]), (2, 3, 3), check_invariants=True)
    args = {
        "mat2_2d": lambda: (s, m.ones(2, 3)),
        "batch": lambda: (s, m.ones(3, 3, 2)),
        "inner": lambda: (s, m.ones(2, 4, 2)),
        "mat2_sparse": lambda: (s, s),
        "dense_sparse": lambda: (m.ones(2, 3, 3), s),
        "dtype": lambda: (s, m.ones(2, 3, 2, dtype=m.float64)),
        "sparse_2d": lambda: (
            m.sparse_coo_tensor(i[:2], m.tensor([1.0, 2.0]), (2, 3), check_invariants=True),
            m.ones(2, 3, 2),
        ),
        "hybrid": lambda: (
            m.sparse_coo_tensor(i[:2], m.ones(2, 3), (2, 3, 3), check_invariants=True),
            m.ones(2, 3, 2),
        ),
    }[case]
    with pytest.raises(RuntimeError):
        m.bmm(*args())
