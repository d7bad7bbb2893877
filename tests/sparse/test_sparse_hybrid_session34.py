"""Hybrid sparse COO tensors (values of more than one dim: ``dense_dim > 0``) against torch
live: construction and its errors, to_dense, coalesce, values()/indices(), sparse_dim/
dense_dim, ``+``/``-``, ``* number``, sum, ``torch.sparse.sum``, transposes, the products
torch refuses, hybrid ``to_sparse(sparse_dim)``, gradients through the values, and the
hybrid gradients of ``nn.Embedding(sparse=True)``, which chainrule made before."""

# ruff: noqa: E501 - the case tables stay one per line

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse .* tensor support is in beta"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled"),
]

VALUES = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
INDICES = [[1, 0, 1], [2, 0, 2]]  # (1, 2) twice: uncoalesced


def _hybrid(L, values=None):
    return L.sparse_coo_tensor(INDICES, L.tensor(VALUES) if values is None else values, (2, 3, 2))


def _desc(r):
    if isinstance(r, (tuple, int, str)):
        return r
    if str(r.layout) == "torch.strided":
        return (
            "dense",
            tuple(r.shape),
            str(r.dtype).split(".")[-1],
            np.asarray(r.detach().tolist()).round(5).tolist(),
        )
    values = np.asarray(r._values().tolist()).round(5).tolist()
    return (
        str(r.layout),
        tuple(r.shape),
        str(r.dtype).split(".")[-1],
        r.is_coalesced(),
        r._indices().tolist(),
        values,
    )


def _outcome(fn):
    try:
        return _desc(fn())
    except Exception as e:  # noqa: BLE001 - the class is compared
        return ("raises", type(e))


CASES = {
    "dims": lambda L, s: (s.sparse_dim(), s.dense_dim(), s._nnz(), s.ndim, tuple(s.shape)),
    "to_dense": lambda L, s: s.to_dense(),
    "coalesce": lambda L, s: s.coalesce(),
    "values": lambda L, s: s.coalesce().values(),
    "indices": lambda L, s: s.coalesce().indices(),
    "raw_values": lambda L, s: s._values(),
    "add": lambda L, s: s + s,
    "add_coalesced": lambda L, s: s.coalesce() + s.coalesce(),
    "add_mixed": lambda L, s: s.coalesce() + s,
    "sub": lambda L, s: s - s.coalesce(),
    "add_other_density": lambda L, s: s + L.sparse_coo_tensor([[0]], L.ones(1, 3, 2), (2, 3, 2)),
    "add_other_size": lambda L, s: s + L.sparse.sum(s, 2),
    "hspmm_of_hybrid": lambda L, s: L.hspmm(s, L.ones(2, 2)),
    "sspaddmm_hybrid_input": lambda L, s: L.sspaddmm(s, L.ones(2, 2).to_sparse(), L.ones(2, 3)),
    "bmm_of_hybrid": lambda L, s: L.bmm(s, L.ones(2, 2, 2)),
    "pointwise_sin": lambda L, s: s.sin(),
    "pointwise_pow": lambda L, s: s.pow(2),
    "softmax": lambda L, s: L.sparse.softmax(s, 0),
    "in_place_mul": lambda L, s: s.clone().mul_(2),
    "mul": lambda L, s: s * 2,
    "rmul": lambda L, s: 3 * s,
    "div": lambda L, s: s / 2,
    "neg": lambda L, s: -s,
    "double": lambda L, s: s.double(),
    "clone": lambda L, s: s.clone(),
    "dense_plus_sparse": lambda L, s: L.ones(2, 3, 2) + s,
    "zeros_like": lambda L, s: L.zeros_like(s),
    "sum": lambda L, s: s.sum(),
    "sparse_sum": lambda L, s: L.sparse.sum(s),
    "sparse_sum_0": lambda L, s: L.sparse.sum(s, 0),
    "sparse_sum_dense_dim": lambda L, s: L.sparse.sum(s, 2),
    "sparse_sum_minus_1": lambda L, s: L.sparse.sum(s, -1),
    "sparse_sum_mixed": lambda L, s: L.sparse.sum(s, (1, 2)),
    "sparse_sum_all_sparse": lambda L, s: L.sparse.sum(s, (0, 1)),
    "sparse_sum_every_dim": lambda L, s: L.sparse.sum(s, (0, 1, 2)),
    "sum_dim": lambda L, s: s.sum(1),
    "sparse_sum_out_of_range": lambda L, s: L.sparse.sum(s, 3),
    "transpose_sparse_dims": lambda L, s: s.transpose(0, 1),
    "transpose_dense_dim": lambda L, s: s.transpose(0, 2),
    "transpose_out_of_range": lambda L, s: s.transpose(0, 3),
    "t": lambda L, s: s.t(),
    "mm": lambda L, s: L.mm(s, L.ones(2, 3)),
    "matmul": lambda L, s: s @ L.ones(2, 3),
    "mm_one_sparse_dim": lambda L, s: L.mm(L.sparse.sum(s, 0), L.ones(2, 3)),
    "sparse_mm_one_sparse_dim": lambda L, s: L.sparse.mm(L.sparse.sum(s, 0), L.ones(2, 3)),
    "repr": lambda L, s: repr(s).replace("chainrule", "torch"),
    # construction
    "size_inferred": lambda L, s: L.sparse_coo_tensor([[0, 3]], L.ones(2, 2, 1)),
    "size_dense_part_wrong": lambda L, s: L.sparse_coo_tensor([[0]], L.ones(1, 2), (2, 3)),
    "size_too_short": lambda L, s: L.sparse_coo_tensor([[0]], L.ones(1, 2), (2,)),
    "size_too_long": lambda L, s: L.sparse_coo_tensor([[0]], L.ones(1, 2), (2, 2, 1)),
    "nnz_mismatch": lambda L, s: L.sparse_coo_tensor([[0, 1]], L.ones(3, 2), (2, 2)),
    "empty": lambda L, s: L.sparse_coo_tensor(L.zeros(1, 0, dtype=L.long), L.zeros(0, 2), (3, 2)),
    "no_sparse_dims": lambda L, s: L.sparse_coo_tensor(
        L.zeros(0, 1, dtype=L.long), L.ones(1, 2), (2,)
    ),
    "no_sparse_dims_to_dense": lambda L, s: L.sparse_coo_tensor(
        L.zeros(0, 2, dtype=L.long), L.ones(2, 2), (2,)
    ).to_dense(),
    "no_sparse_dims_coalesce": lambda L, s: L.sparse_coo_tensor(
        L.zeros(0, 2, dtype=L.long), L.ones(2, 2), (2,)
    ).coalesce(),
    "is_coalesced_claim": lambda L, s: L.sparse_coo_tensor(
        [[0, 1]], L.ones(2, 2), (2, 2), is_coalesced=True
    ),
    "is_coalesced_false_claim": lambda L, s: L.sparse_coo_tensor(
        [[1, 1]], L.ones(2, 2), (2, 2), is_coalesced=True, check_invariants=True
    ),
    "int_values": lambda L, s: L.sparse_coo_tensor(
        [[1, 0]], L.tensor([[1, 2], [3, 4]]), (2, 2)
    ).coalesce(),
    "to_sparse_1": lambda L, s: L.tensor([[0.0, 0, 0], [1, 0, 2]]).to_sparse(1),
    "to_sparse_dense_dim": lambda L, s: L.tensor([[[0.0, 0], [0, 3]], [[1, 0], [0, 0]]]).to_sparse(
        dense_dim=2
    ),
    "to_sparse_dense_dim_1": lambda L, s: L.tensor(
        [[[0.0, 0], [0, 0]], [[1, 0], [0, 0]]]
    ).to_sparse(dense_dim=1),
    "to_sparse_0_of_matrix": lambda L, s: L.ones(2, 2).to_sparse(0),
    "to_sparse_dense_dim_out_of_range": lambda L, s: L.ones(2, 3).to_sparse(dense_dim=3),
    "to_sparse_0d": lambda L, s: L.tensor(2.0).to_sparse(0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hybrid_coo_matches_torch(case):
    fn = CASES[case]
    want = _outcome(lambda: fn(torch, _hybrid(torch)))
    got = _outcome(lambda: fn(cr, _hybrid(cr)))
    if want[0] == "raises":  # chainrule raises torch's class (or a subclass of it)
        assert got[0] == "raises" and issubclass(got[1], want[1]), (got, want)
    else:
        assert got == want


GRAD_CASES = {
    "to_dense": lambda L, s: s.to_dense(),
    "coalesce_scaled": lambda L, s: s.coalesce() * 3,
    "sparse_sum_dense_dim": lambda L, s: L.sparse.sum(s + s.coalesce(), 2),
    "sparse_sum_0": lambda L, s: L.sparse.sum(s, 0),
    "sparse_sum_all_sparse": lambda L, s: L.sparse.sum(s, (0, 1)),
    "values": lambda L, s: s.coalesce().values(),
    "transpose": lambda L, s: s.transpose(0, 1),
    "neg_sub": lambda L, s: -s - s.coalesce() / 2,
    "dense_plus": lambda L, s: L.ones(2, 3, 2) + s,
}


@pytest.mark.parametrize("case", list(GRAD_CASES))
def test_hybrid_gradients_through_the_values_match_torch(case):
    grads = []
    for L in (torch, cr):
        v = L.tensor(VALUES, requires_grad=True)
        r = GRAD_CASES[case](L, _hybrid(L, v))
        r = r.to_dense() if str(r.layout) != "torch.strided" else r
        (r * L.arange(float(r.numel())).reshape(r.shape)).sum().backward()
        grads.append(np.asarray(v.grad.tolist()))
    np.testing.assert_allclose(grads[1], grads[0], 1e-6)


def test_hybrid_to_sparse_gradient_matches_torch():
    grads = []
    for L in (torch, cr):
        x = L.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 2.0]], requires_grad=True)
        s = x.to_sparse(1)
        (s.to_dense() * L.arange(6.0).reshape(2, 3)).sum().backward()
        grads.append(np.asarray(x.grad.tolist()))
    np.testing.assert_allclose(grads[1], grads[0])


def test_embedding_sparse_gradient_is_a_hybrid_tensor_like_torch():
    """nn.functional.embedding(sparse=True) makes hybrid gradients (one sparse dim, a dense
    row per looked-up index): still made, and now usable as hybrid tensors are."""
    out = []
    for L, FF in ((torch, torch.nn.functional), (cr, F)):
        w = L.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
        FF.embedding(L.tensor([[1, 3], [1, 0]]), w, sparse=True).pow(2).sum().backward()
        g = w.grad
        total = L.sparse.sum(g, 0).tolist()
        out.append(
            (g.sparse_dim(), g.dense_dim(), _desc(g), _desc(g.coalesce()), _desc(g + g), total)
        )
    assert out[1] == out[0]
