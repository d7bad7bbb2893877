"""Session 36 sparse leftovers against torch live: hybrid/batched compressed operands of
products (addmm, bmm), unsqueeze/cat/stack of compressed tensors, the column order of CSR
product results through to_sparse and +, sum(dim, keepdim=True) of a CSR matrix, bool sparse
add and complex to_sparse with autograd."""

# ruff: noqa: E501 - the case tables stay one per line

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse .* tensor support is in beta"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled"),
]

D = [[1.0, 0, 2], [0, 3, 0]]
B3 = [[[1.0, 0, 2], [0, 3, 0]], [[0, 4, 0], [5, 0, 6]]]
HYB = [[[1.0, 2], [0, 0], [3, 0]], [[0, 0], [4, 5], [0, 0]]]


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the class and message are compared
        return type(e).__name__, str(e)
    return None


def _state(t):
    if t.layout == getattr(type(t), "strided", None) or str(t.layout).endswith("strided"):
        return ("dense", t.tolist())
    if str(t.layout).endswith("sparse_coo"):
        return (
            "coo",
            t._indices().tolist(),
            t._values().tolist(),
            tuple(t.shape),
            t.is_coalesced(),
        )
    rows = str(t.layout).endswith(("sparse_csr", "sparse_bsr"))
    names = ("crow_indices", "col_indices") if rows else ("ccol_indices", "row_indices")
    out = [
        str(t.layout).rsplit(".", 1)[-1],
        tuple(t.shape),
        t._nnz(),
        str(t.dtype).rsplit(".", 1)[-1],
    ]
    return out + [getattr(t, n)().tolist() for n in names] + [t.values().detach().tolist()]


def _both(fn, prefix=False):
    """fn(lib) for torch and chainrule: the same state, or the same error (``prefix``: the
    chainrule message's first clause starts torch's, for torch's very long dispatcher text)."""
    want, got = _error(lambda: fn(torch)), _error(lambda: fn(cr))
    if prefix and want is not None and got is not None:
        assert want[0] == got[0] and want[1].startswith(got[1].split(" (")[0])
        return
    assert want == got
    if want is None:
        w, g = _state(fn(torch)), _state(fn(cr))
        assert w[:-1] == g[:-1]
        np.testing.assert_allclose(
            np.asarray(g[-1], dtype=complex), np.asarray(w[-1], dtype=complex), 1e-12, 1e-12
        )


PRODUCTS = [
    lambda L: L.tensor(HYB).to_sparse_csr(dense_dim=1) @ L.ones(2, 2),
    lambda L: L.tensor(HYB).to_sparse_csr(dense_dim=1) @ L.ones(3, 2),
    lambda L: L.mm(L.tensor(HYB).to_sparse_csr(dense_dim=1), L.ones(3, 2)),
    lambda L: L.matmul(L.tensor(HYB).to_sparse_csr(dense_dim=1), L.ones(3)),
    lambda L: L.addmm(L.ones(2, 2), L.tensor(HYB).to_sparse_csr(dense_dim=1), L.ones(3, 2)),
    lambda L: L.addmm(L.ones(2, 2), L.tensor(B3).to_sparse_csr(), L.ones(3, 2)),
    lambda L: L.addmm(L.ones(2, 2), L.tensor(B3).to_sparse_csc(), L.ones(3, 2)),
    lambda L: L.addmm(L.ones(2, 2), L.tensor(B3).to_sparse_bsr(1), L.ones(3, 2)),
    lambda L: L.addmm(L.ones(2, 2), L.ones(2, 2), L.tensor(B3).to_sparse_csr()),
    lambda L: L.addmm(L.ones(2, 2), L.ones(2), L.tensor(D).to_sparse_csr()),
    lambda L: L.addmm(L.ones(2, 2), L.tensor(D).to_sparse_csr(), L.ones(3, 2, 1)),
    lambda L: L.addmm(L.ones(2, 2), L.tensor(B3).to_sparse(), L.ones(3, 2)),
    lambda L: L.bmm(L.ones(2, 2, 2), L.tensor(B3).to_sparse_bsr(1)),
    lambda L: L.bmm(L.ones(2, 2, 2), L.tensor(B3).to_sparse_bsc(1)),
    lambda L: L.bmm(L.ones(2, 2, 2), L.tensor(D).to_sparse_csr()),
    lambda L: L.bmm(L.tensor(D).to_sparse_csr(), L.ones(2, 2, 2)),
    lambda L: L.bmm(L.ones(2, 2, 3), L.tensor(B3).to_sparse_csr()),
]


@pytest.mark.parametrize("case", range(len(PRODUCTS)))
def test_products_of_hybrid_and_batched_operands_as_torch(case):
    _both(PRODUCTS[case])


NO_KERNEL = [
    lambda L: L.bmm(L.ones(2, 2, 2), L.tensor(B3).to_sparse_csr()),
    lambda L: L.bmm(L.ones(2, 2, 2), L.tensor(B3).to_sparse_csc()),
    lambda L: L.bmm(L.tensor(B3).to_sparse_csc(), L.ones(2, 3, 2)),
    lambda L: L.bmm(L.tensor(B3).to_sparse_bsr(1), L.ones(2, 3, 2)),
]


@pytest.mark.parametrize("case", range(len(NO_KERNEL)))
def test_bmm_of_compressed_operands_has_no_kernel_as_torch(case):
    _both(NO_KERNEL[case], prefix=True)


JOINS = [
    lambda L: L.tensor(B3).to_sparse_csr().unsqueeze(0),
    lambda L: L.tensor(D).to_sparse_csr().unsqueeze(0),
    lambda L: L.unsqueeze(L.tensor(D).to_sparse_csc(), 1),
    lambda L: L.tensor(D).to_sparse_bsr(1).unsqueeze(-1),
    lambda L: L.tensor(D).to_sparse_bsc(1).unsqueeze(0),
    lambda L: L.tensor(D).to_sparse_csr().unsqueeze(9),
    lambda L: L.cat([L.tensor(D).to_sparse_csr()] * 2),
    lambda L: L.cat([L.tensor(D).to_sparse_csr()] * 2, 1),
    lambda L: L.cat([L.tensor(D).to_sparse_csr()] * 2, 9),
    lambda L: L.cat([L.tensor(B3).to_sparse_csr()] * 2),
    lambda L: L.cat([L.tensor(D).to_sparse_bsc(1)] * 2),
    lambda L: L.cat([L.tensor(D).to_sparse_csr(), L.ones(2, 3)]),
    lambda L: L.cat([L.ones(2, 3), L.tensor(D).to_sparse_csr()]),
    lambda L: L.cat([L.tensor(D).to_sparse(), L.tensor(D).to_sparse_csr()]),
    lambda L: L.cat([L.tensor(D).to_sparse_csr(), L.tensor(D).to_sparse()]),
    lambda L: L.cat([L.tensor(D).to_sparse_csc(), L.tensor(D).to_sparse_csr()]),
    lambda L: L.cat((L.tensor(D).to_sparse_csr(),), dim=0),
    lambda L: L.stack([L.tensor(D).to_sparse_csr()] * 2),
    lambda L: L.stack([L.ones(2, 3), L.tensor(D).to_sparse_csc()]),
    lambda L: L.stack([L.tensor(D).to_sparse(), L.tensor(D).to_sparse_csc()]),
    lambda L: L.stack([L.tensor(D).to_sparse_csc(), L.tensor(D).to_sparse()]),
    lambda L: L.stack([L.tensor(D).to_sparse(), L.ones(2, 3)]),
]


@pytest.mark.parametrize("case", range(len(JOINS)))
def test_unsqueeze_cat_stack_of_compressed_tensors_as_torch(case):
    _both(JOINS[case])


def _unsorted_product(L, seed=1):
    """A CSR @ CSR product whose rows list their columns out of order (torch's kernel)."""
    rng = np.random.default_rng(seed)
    m, k, n = rng.integers(2, 6, 3)
    a = rng.standard_normal((m, k)) * (rng.random((m, k)) < 0.5)
    b = rng.standard_normal((k, n)) * (rng.random((k, n)) < 0.5)
    return L.tensor(a).to_sparse_csr() @ L.tensor(b).to_sparse_csr()


def _other(L, seed):
    rng = np.random.default_rng(seed + 1000)
    c = _unsorted_product(L, seed)
    m, n = c.shape
    if seed % 2:
        return L.tensor(rng.standard_normal((m, n)) * (rng.random((m, n)) < 0.5)).to_sparse_csr()
    return (
        _unsorted_product(L, seed + 500)
        if tuple(_unsorted_product(L, seed + 500).shape) == (m, n)
        else c * 3
    )


ORDERED = [
    lambda L: _unsorted_product(L),
    lambda L: _unsorted_product(L).to_sparse(),
    lambda L: _unsorted_product(L).to_sparse(2),
    lambda L: _unsorted_product(L).to_sparse().coalesce(),
    lambda L: _unsorted_product(L) + _unsorted_product(L),
    lambda L: _unsorted_product(L).add(_unsorted_product(L), alpha=2),
    lambda L: (_unsorted_product(L) + _unsorted_product(L)).to_sparse(),
    lambda L: _unsorted_product(L) * 2,
    lambda L: _unsorted_product(L).to_sparse_csc(),
    lambda L: _unsorted_product(L).to_sparse_bsr(1),
    lambda L: _unsorted_product(L).t(),
    lambda L: _unsorted_product(L).sum(0, keepdim=True),
    lambda L: _unsorted_product(L).sum(1, keepdim=True),
]


@pytest.mark.parametrize("case", range(len(ORDERED)))
def test_csr_product_column_order_kept_as_torch(case):
    _both(ORDERED[case])


@pytest.mark.parametrize("seed", range(0, 40, 3))
def test_csr_add_lists_columns_in_torchs_order(seed):
    for swap in (False, True):

        def run(L, swap=swap):
            x, y = _unsorted_product(L, seed), _other(L, seed)
            return (y + x) if swap else (x + y)

        _both(run)


SUMS = [
    lambda L: L.tensor(D).to_sparse_csr().sum(0, keepdim=True),
    lambda L: L.tensor(D).to_sparse_csr().sum(1, keepdim=True),
    lambda L: L.tensor(D).to_sparse_csr().sum(-1, keepdim=True),
    lambda L: L.tensor(D).to_sparse_csr().sum((0, 1), keepdim=True),
    lambda L: L.tensor(D).to_sparse_csr().sum([], keepdim=True),
    lambda L: L.tensor(D).to_sparse_csr().sum(0, keepdim=True, dtype=L.float64),
    lambda L: L.tensor([[1, 0, 2], [0, 3, 0]], dtype=L.int32).to_sparse_csr().sum(1, keepdim=True),
    lambda L: L.tensor([[1, 0, 2], [0, 3, 0]], dtype=L.int8).to_sparse_csr().sum(0, keepdim=True),
    lambda L: L.tensor(D, dtype=L.float16).to_sparse_csr().sum(1, keepdim=True),
    lambda L: L.tensor([[True, False]]).to_sparse_csr().sum(1, keepdim=True),
    lambda L: L.tensor([[1j, 0], [2, 3]]).to_sparse_csr().sum(1, keepdim=True),
    lambda L: L.tensor([[1.0, 0, 0], [0, 0, 0]]).to_sparse_csr().sum(0, keepdim=True),
    lambda L: L.tensor([[1.0, 0, 0], [0, 0, 0]]).to_sparse_csr().sum(1, keepdim=True),
    lambda L: L.tensor([[1.0, -1, 0], [0, 0, 0]]).to_sparse_csr().sum(1, keepdim=True),
    lambda L: L.zeros(2, 3).to_sparse_csr().sum(0, keepdim=True),
    lambda L: L.zeros(2, 3).to_sparse_csr().sum(1, keepdim=True),
    lambda L: L.tensor(D).to_sparse_csr().sum(3, keepdim=True),
    lambda L: L.tensor(D).to_sparse_csr().sum(1),
    lambda L: L.tensor(D).to_sparse_csc().sum(1, keepdim=True),
    lambda L: L.tensor(D, requires_grad=True).to_sparse_csr().sum(1, keepdim=True),
]


@pytest.mark.parametrize("case", range(len(SUMS)))
def test_sum_keepdim_of_a_csr_matrix_as_torch(case):
    _both(SUMS[case])


def test_sum_keepdim_of_a_csr_matrix_is_differentiable():
    """torch's backward fails here (expand of a CSR); chainrule's reaches the values."""
    v = cr.tensor([1.0, 2, 3], requires_grad=True)
    s = cr.sparse_csr_tensor(cr.tensor([0, 2, 3]), cr.tensor([0, 2, 1]), v, (2, 3))
    out = s.sum(0, keepdim=True)
    assert out.grad_fn.name() == "SumBackward1"
    (out.values() * cr.tensor([1.0, 10, 100])).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [1.0, 100, 10])


def test_sum_keepdim_of_a_batched_csr_tensor_raises_clearly():
    b = cr.tensor(B3).to_sparse_csr()
    with pytest.raises(RuntimeError, match="input_dim == 2"):
        torch.tensor(B3).to_sparse_csr().sum(1, keepdim=True)
    with pytest.raises(NotImplementedError, match=r"sum\(dim, keepdim=True\) of a batched"):
        b.sum(1, keepdim=True)


BOOL_AND_COMPLEX = [
    lambda L: (
        L.tensor([[True, False], [False, True]]).to_sparse()
        + L.tensor([[True, False], [False, True]]).to_sparse()
    ),
    lambda L: (
        L.tensor([[True, False]]).to_sparse().add(L.tensor([[True, False]]).to_sparse(), alpha=True)
    ),
    lambda L: L.tensor([[True, False]]).to_sparse() - L.tensor([[True, False]]).to_sparse(),
    lambda L: L.tensor([[True, False]]).to_sparse() + L.tensor([[1.0, 0]]).to_sparse(),
    lambda L: L.tensor([[1.0, 0]]).to_sparse() + L.tensor([[True, False]]).to_sparse(),
    lambda L: L.tensor([[True, False]]).to_sparse_csr() + L.tensor([[True, False]]).to_sparse_csr(),
    lambda L: L.tensor([[1 + 1j, 0], [0, 2j]], requires_grad=True).to_sparse(),
    lambda L: L.tensor([[1 + 1j, 0]], requires_grad=True).to_sparse(1),
    lambda L: L.tensor([[1 + 1j, 0]], requires_grad=True).to_sparse(layout=L.sparse_csr),
    lambda L: L.tensor([[1 + 1j, 0]], requires_grad=True).to_sparse_csr(),
    lambda L: L.tensor([[1 + 1j, 0]], requires_grad=True).to_sparse_bsr(1),
    lambda L: L.tensor([[[1 + 1j, 0]]], requires_grad=True).to_sparse_csc(),
    lambda L: L.tensor([[1 + 1j, 0]], requires_grad=True).detach().to_sparse(),
    lambda L: L.tensor([[1 + 1j, 0]]).to_sparse_csc(),
]


@pytest.mark.parametrize("case", range(len(BOOL_AND_COMPLEX)))
def test_bool_add_and_complex_to_sparse_with_grad_as_torch(case):
    _both(BOOL_AND_COMPLEX[case])


@pytest.mark.parametrize(
    "call",
    [
        lambda L, s: L.sum(s),
        lambda L, s: L.sum(s, 0),
        lambda L, s: L.sum(s, dim=1, dtype=L.float64),
        lambda L, s: L.sum(s.to_sparse_csr()),
        lambda L, s: L.sum(s.to_sparse_csr(), 0, keepdim=True),
    ],
)
def test_functional_sum_of_sparse_tensors(call):
    """torch.sum(sparse, ...) is the layout's own sum, as s.sum(...): chainrule's functional
    form ran the dense reduction and raised on the sparse tensor's missing values."""
    got, want = (call(L, L.tensor([[1.0, 0.0], [0.0, 2.0]]).to_sparse()) for L in (cr, torch))
    assert str(got.layout) == str(want.layout) and str(got.dtype) == str(want.dtype)
    np.testing.assert_array_equal(
        np.asarray((got.to_dense() if got.layout != cr.strided else got).tolist()),
        np.asarray((want.to_dense() if want.layout != torch.strided else want).tolist()),
    )
