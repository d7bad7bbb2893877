"""The product of two sparse matrices against PyTorch 2.13 (ops/sparse_spgemm.py).

COO @ COO is a coalesced COO matrix (indices and values as torch's); CSR/CSC @ CSR/CSC is a
CSR matrix with torch's row pointers and entries (torch lists a row's columns in its
kernel's order, chainrule in ascending order: compared as sets per row); the symbolic
pattern keeps cancelled entries; gradients of both operands' values equal torch's and pass
gradcheck/gradgradcheck in float64; mixed COO/compressed, shape and dtype errors as torch's.
"""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr

warnings.filterwarnings("ignore", message="Sparse invariant checks")
pytestmark = pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")

A = [[0, 0, 1.0], [2, 0, 3], [0, 4, 0]]
B = [[1.0, 0, 0, 2], [0, 0, 5, 0], [0, -1, 0, 0]]


def _layout(lib, dense, layout):
    return {
        "coo": dense.to_sparse,
        "csr": dense.to_sparse_csr,
        "csc": dense.to_sparse_csc,
    }[layout]()


def _rows(t):
    """A CSR result as {row: {col: value}} (order within a row is the kernel's)."""
    crow, col, val = (x.tolist() for x in (t.crow_indices(), t.col_indices(), t.values()))
    return [
        {c: v for c, v in zip(col[crow[r] : crow[r + 1]], val[crow[r] : crow[r + 1]])}
        for r in range(len(crow) - 1)
    ]


def _same(t, c):
    assert str(c.layout) == str(t.layout)
    if t.layout == torch.sparse_csc:  # (torch.sparse.mm of two CSC matrices)
        assert c.ccol_indices().tolist() == t.ccol_indices().tolist()
        np.testing.assert_allclose(np.asarray(c.to_dense().tolist()), t.to_dense().numpy())
    elif t.layout == torch.sparse_coo:
        assert c.is_coalesced() and t.is_coalesced()
        assert c._indices().tolist() == t._indices().tolist()
        np.testing.assert_allclose(np.asarray(c._values().tolist()), t._values().numpy())
    else:
        assert c.crow_indices().tolist() == t.crow_indices().tolist()
        got, want = _rows(c), _rows(t)
        assert [sorted(r) for r in got] == [sorted(r) for r in want]
        for g, w in zip(got, want):
            np.testing.assert_allclose([g[k] for k in sorted(g)], [w[k] for k in sorted(w)])


PAIRS = [("coo", "coo"), ("csr", "csr"), ("csc", "csc"), ("csr", "csc"), ("csc", "csr")]
CALLS = {
    "matmul_op": lambda L, a, b: a @ b,
    "mm": lambda L, a, b: L.mm(a, b),
    "sparse_mm": lambda L, a, b: L.sparse.mm(a, b),
    "method_mm": lambda L, a, b: a.mm(b),
    "matmul": lambda L, a, b: L.matmul(a, b),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("la,lb", PAIRS)
def test_product_matches_torch(la, lb, call):
    if (la, lb, call) == ("csr", "csc", "sparse_mm"):  # torch.sparse.mm makes b's layout,
        test_errors_match_torch("sparse_mm_csr_csc")  # which its kernel cannot for CSR @ CSC
        return
    if (la, lb, call) == ("csc", "csc", "sparse_mm"):
        # torch 2.13 returns an invalid CSC matrix here (ccol_indices [0, 1, 3, 4, 5] with no
        # entries: to_dense() is all zeros, a wrong answer); chainrule's is the product
        got = cr.sparse.mm(cr.tensor(A).to_sparse_csc(), cr.tensor(B).to_sparse_csc())
        assert got.layout == cr.sparse_csc
        want = torch.tensor(A) @ torch.tensor(B)
        np.testing.assert_allclose(np.asarray(got.to_dense().tolist()), want.numpy())
        return
    out = [
        CALLS[call](L, _layout(L, L.tensor(A), la), _layout(L, L.tensor(B), lb))
        for L in (torch, cr)
    ]
    _same(*out)


def test_cancelled_entries_stay_in_the_pattern():
    for layout in ("coo", "csr"):
        out = [
            _layout(L, L.tensor([[1.0, 1], [0, 0]]), layout)
            @ _layout(L, L.tensor([[1.0, 0], [-1, 0]]), layout)
            for L in (torch, cr)
        ]
        _same(*out)


def test_uncoalesced_operands():
    out = []
    for L in (torch, cr):
        u = L.sparse_coo_tensor(L.tensor([[0, 0, 1], [1, 1, 0]]), L.tensor([1.0, 2, 3]), (2, 2))
        out.append(u @ u)
    _same(*out)


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_gradients_match_torch(layout):
    grads, names = [], []
    for L in (torch, cr):
        a = _layout(L, L.tensor(A, dtype=L.float64), layout)
        b = _layout(L, L.tensor(B, dtype=L.float64), layout)
        if layout == "coo":
            va, vb = (x._values().clone().requires_grad_() for x in (a, b))
            a = L.sparse_coo_tensor(a._indices(), va, a.shape)
            b = L.sparse_coo_tensor(b._indices(), vb, b.shape)
        else:
            va, vb = (x.values().clone().requires_grad_() for x in (a, b))
            a = L.sparse_csr_tensor(a.crow_indices(), a.col_indices(), va, a.shape)
            b = L.sparse_csr_tensor(b.crow_indices(), b.col_indices(), vb, b.shape)
        out = a @ b
        names.append(out.grad_fn.name())
        names.append(L.sparse.mm(a, b).grad_fn.name())
        weights = L.arange(12.0, dtype=L.float64).reshape(3, 4)
        (out.to_dense() * weights).sum().backward()
        grads.append((va.grad.tolist(), vb.grad.tolist()))
    assert names[:2] == names[2:]
    np.testing.assert_allclose(np.asarray(grads[1][0]), np.asarray(grads[0][0]))
    np.testing.assert_allclose(np.asarray(grads[1][1]), np.asarray(grads[0][1]))


def test_gradcheck_and_gradgradcheck():
    a = cr.tensor(A, dtype=cr.float64).to_sparse()
    b = cr.tensor(B, dtype=cr.float64).to_sparse()

    def f(va, vb):
        sa = cr.sparse_coo_tensor(a._indices(), va, a.shape)
        sb = cr.sparse_coo_tensor(b._indices(), vb, b.shape)
        return (sa @ sb).to_dense()

    inputs = (a._values().requires_grad_(), b._values().requires_grad_())
    assert cr.autograd.gradcheck(f, inputs)
    assert cr.autograd.gradgradcheck(f, inputs)


ERRORS = {
    "shapes": lambda L: L.tensor(A).to_sparse() @ L.tensor(A)[:2].to_sparse(),
    "coo_dtypes": lambda L: L.tensor(A).to_sparse() @ L.tensor(A).double().to_sparse(),
    "csr_dtypes": lambda L: L.tensor(A).to_sparse_csr() @ L.tensor(A).double().to_sparse_csr(),
    "coo_csr": lambda L: L.tensor(A).to_sparse() @ L.tensor(A).to_sparse_csr(),
    "csr_coo": lambda L: L.tensor(A).to_sparse_csr() @ L.tensor(A).to_sparse(),
    "csc_coo": lambda L: L.tensor(A).to_sparse_csc() @ L.tensor(A).to_sparse(),
    "sparse_mm_csr_csc": lambda L: L.sparse.mm(
        L.tensor(A).to_sparse_csr(), L.tensor(A).to_sparse_csc()
    ),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    caught = []
    for L in (torch, cr):
        with pytest.raises(Exception) as info:  # noqa: PT011 - the type is compared below
            ERRORS[name](L)
        caught.append(info.value)
    assert type(caught[1]) is type(caught[0])
    assert str(caught[1]) == str(caught[0])


@settings(max_examples=30, deadline=None)
@given(
    m=st.integers(1, 5),
    k=st.integers(1, 5),
    n=st.integers(1, 5),
    density=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
    layout=st.sampled_from(["coo", "csr"]),
)
def test_random_products_match_torch(m, k, n, density, seed, layout):
    g = np.random.default_rng(seed)
    x = np.where(g.random((m, k)) < density, g.standard_normal((m, k)), 0.0)
    y = np.where(g.random((k, n)) < density, g.standard_normal((k, n)), 0.0)
    out = [_layout(L, L.tensor(x), layout) @ _layout(L, L.tensor(y), layout) for L in (torch, cr)]
    _same(*out)
