"""Session 36: batched and hybrid compressed sparse tensors (CSR/CSC/BSR/BSC), the BSR/BSC
select rule and the column order of sparse @ sparse CSR results, against torch live."""

# ruff: noqa: B023, E501 - the loops' lambdas run at once; the case tables stay one per line

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse .* tensor support is in beta"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled"),
]

BATCHED = [[[1.0, 0, 2], [0, 3, 0]], [[0, 4, 0], [5, 0, 6]]]
HYBRID = [[[1.0, 2], [0, 0], [3, 0]], [[0, 0], [4, 5], [0, 0]]]
CROW, COL, VALS = [[0, 2, 3], [0, 1, 3]], [[0, 2, 1], [1, 0, 2]], [[1.0, 2, 3], [4, 5, 6]]


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the class and message are compared
        return type(e).__name__, str(e)
    return None


def _state(t):
    if str(t.layout) == "torch.sparse_coo":
        return ("coo", t._indices().tolist(), t._values().tolist(), tuple(t.shape))
    rows = str(t.layout) in ("torch.sparse_csr", "torch.sparse_bsr")
    names = ("crow_indices", "col_indices") if rows else ("ccol_indices", "row_indices")
    out = [str(t.layout), tuple(t.shape), t._nnz(), t.dense_dim()]
    out += [getattr(t, n)().tolist() for n in names]
    return out + [t.values().detach().tolist()]


def _both(fn):
    """fn(lib) for torch and chainrule: the same state, or the same error."""
    want, got = _error(lambda: fn(torch)), _error(lambda: fn(cr))
    assert want == got
    if want is None:
        w, g = fn(torch), fn(cr)
        if isinstance(w, torch.Tensor) and w.layout != torch.strided:
            assert _state(w) == _state(g)
            assert repr(w).replace("torch.", "") == repr(g).replace("torch.", "")
        else:
            np.testing.assert_allclose(np.asarray(g.tolist()), np.asarray(w.tolist()))


CONVERSIONS = [
    lambda L: L.tensor(BATCHED).to_sparse_csr(),
    lambda L: L.tensor(BATCHED).to_sparse_csc(),
    lambda L: L.tensor(BATCHED).to_sparse_bsr((2, 1)),
    lambda L: L.tensor(BATCHED).to_sparse_bsc((1, 3)),
    lambda L: L.tensor(BATCHED).to_sparse(layout=L.sparse_csc),
    lambda L: L.tensor(BATCHED).to_sparse(layout=L.sparse_bsr, blocksize=(1, 3)),
    lambda L: L.tensor(BATCHED).to_sparse_csr(dense_dim=1),
    lambda L: L.tensor(BATCHED).to_sparse_csr(dense_dim=2),
    lambda L: L.tensor(BATCHED).to_sparse_bsr((2, 2)),
    lambda L: L.tensor([[[1.0, 0], [0, 0]], [[1, 0], [0, 1]]]).to_sparse_csr(),
    lambda L: L.tensor(HYBRID).to_sparse_csr(dense_dim=1),
    lambda L: L.tensor(HYBRID).to_sparse_csc(dense_dim=1),
    lambda L: L.tensor(HYBRID).to_sparse_bsr((1, 1), dense_dim=1),
    lambda L: L.tensor(HYBRID).to_sparse_bsc((2, 1), dense_dim=1),
    lambda L: L.tensor(HYBRID).to_sparse(2).to_sparse_csr(),
    lambda L: L.tensor(HYBRID).to_sparse(2).to_sparse_bsc(1),
    lambda L: L.tensor(BATCHED).to_sparse().to_sparse_csc(),
    lambda L: L.tensor(BATCHED).to_sparse(2).to_sparse_csr(),
    lambda L: L.tensor(BATCHED).to_sparse_csr().to_sparse_csc(),
    lambda L: L.tensor(BATCHED).to_sparse_csc().to_sparse_csr(),
    lambda L: L.tensor(BATCHED).to_sparse_csr().to_sparse_bsr(1),
    lambda L: L.tensor(BATCHED).to_sparse_bsr(1).to_sparse_csr(),
    lambda L: L.tensor(BATCHED).to_sparse_bsr(1).to_sparse_bsc(1),
    lambda L: L.tensor(HYBRID).to_sparse_csr(dense_dim=1).to_sparse_bsc(1),
    lambda L: L.tensor(HYBRID).to_sparse_csr(dense_dim=1).to_sparse_csr(dense_dim=1),
    lambda L: L.tensor(HYBRID).to_sparse_csr(dense_dim=1).to_sparse_csc(dense_dim=0),
    lambda L: L.tensor(HYBRID).to_sparse(2).to_sparse_csr(dense_dim=1),
    lambda L: L.ones(2, 2, 2, 2).to_sparse_csr(dense_dim=1),
    lambda L: L.zeros(2, 2, 3).to_sparse_csr(),
    lambda L: L.zeros_like(L.tensor(BATCHED).to_sparse_csr()),
    lambda L: L.tensor(BATCHED).to_sparse_csr().to_sparse(),
    lambda L: L.tensor(BATCHED).to_sparse_bsc((1, 3)).to_sparse(),
    lambda L: L.tensor(HYBRID).to_sparse_csr(dense_dim=1).to_sparse(),
    lambda L: L.tensor(HYBRID).to_sparse_csr(dense_dim=1).to_sparse(3),
]


@pytest.mark.parametrize("case", range(len(CONVERSIONS)))
def test_conversions_indices_values_repr(case):
    _both(CONVERSIONS[case])
    if _error(lambda: CONVERSIONS[case](torch)) is None:
        _both(lambda L: CONVERSIONS[case](L).to_dense())


def _make(L, kind="csr"):
    d = L.tensor(BATCHED, dtype=L.float64)
    return (
        d.to_sparse_csr()
        if kind == "csr"
        else getattr(d, f"to_sparse_{kind}")(1)
        if kind[0] == "b"
        else d.to_sparse_csc()
    )


OPS = [
    lambda s: s * 2,
    lambda s: -s,
    lambda s: s.abs(),
    lambda s: s.sin(),
    lambda s: s.sqrt(),
    lambda s: s + s,
    lambda s: s.sum(),
    lambda s: s.sum(0),
    lambda s: s.double(),
    lambda s: s.clone(),
    lambda s: s.detach(),
    lambda s: s.t(),
    lambda s: s.transpose(1, 2),
    lambda s: s.transpose(2, 1),
    lambda s: s.transpose(0, 1),
    lambda s: s.transpose(-1, -1),
    lambda s: s.select(0, 1),
    lambda s: s.select(-3, -1),
    lambda s: s.select(0, 5),
    lambda s: s.select(1, 0),
    lambda s: s[1],
    lambda s: s[1, 0],
    lambda s: s[:, 0],
    lambda s: s[None],
    lambda s: s**2,
    lambda s: s / 2,
    lambda s: s.to_sparse(1),
]


@pytest.mark.parametrize("kind", ["csr", "csc", "bsr", "bsc"])
@pytest.mark.parametrize("op", range(len(OPS)))
def test_ops_of_batched_tensors_match_torch(kind, op):
    _both(lambda L: OPS[op](_make(L, kind)))


def test_batch_dims_transpose_and_select_of_4d():
    _both(lambda L: L.ones(2, 3, 2, 2).to_sparse_csr().transpose(0, 1))
    _both(lambda L: L.arange(24.0).reshape(2, 3, 2, 2).to_sparse_csr().transpose(0, 1).to_dense())
    _both(lambda L: L.ones(2, 3, 2, 2).to_sparse_csr().select(1, 2))


HYBRID_OPS = [
    lambda h: h.select(0, 1),
    lambda h: h.select(2, 1),
    lambda h: h[0],
    lambda h: h.t(),
    lambda h: h.transpose(0, 1),
    lambda h: h * 2,
    lambda h: h + h,
    lambda h: h.sum(),
    lambda h: h.sum(0),
    lambda h: h @ h.new_ones(3, 2) if False else h.sin(),
]


@pytest.mark.parametrize("op", range(len(HYBRID_OPS)))
def test_ops_of_hybrid_tensors_match_torch(op):
    _both(lambda L: HYBRID_OPS[op](L.tensor(HYBRID, dtype=L.float64).to_sparse_csr(dense_dim=1)))


PRODUCTS = [
    lambda c, L: c @ L.ones(3, 2),
    lambda c, L: c @ L.ones(2, 3, 2),
    lambda c, L: L.matmul(c, L.ones(3)),
    lambda c, L: L.ones(2, 2, 2) @ c,
    lambda c, L: L.mm(c, L.ones(3, 2)),
    lambda c, L: c.mv(L.ones(3)),
    lambda c, L: L.bmm(c, L.ones(2, 3, 2)),
]


@pytest.mark.parametrize("op", range(len(PRODUCTS)))
def test_products_of_batched_tensors_raise_as_torch(op):
    want = _error(lambda: PRODUCTS[op](_make(torch), torch))
    got = _error(lambda: PRODUCTS[op](_make(cr), cr))
    assert want is not None and got is not None and want[0] == got[0]
    assert got[1].split(" (")[0] in want[1]


CONSTRUCTORS = [
    lambda L, K: L.sparse_csr_tensor(L.tensor(CROW), L.tensor(COL), L.tensor(VALS), **K),
    lambda L, K: L.sparse_csr_tensor(L.tensor(CROW), L.tensor(COL), L.tensor(VALS), (2, 2, 3), **K),
    lambda L, K: L.sparse_csr_tensor(L.tensor(CROW), L.tensor(COL), L.tensor(VALS), (2, 3), **K),
    lambda L, K: L.sparse_csr_tensor(L.tensor(CROW), L.tensor(COL), L.tensor(VALS), (3, 2, 3), **K),
    lambda L, K: L.sparse_csr_tensor(L.tensor(CROW), L.tensor(COL[0]), L.tensor(VALS), **K),
    lambda L, K: L.sparse_csr_tensor(L.tensor(CROW), L.tensor(COL), L.tensor(VALS[0]), **K),
    lambda L, K: L.sparse_csr_tensor(L.tensor(0), L.tensor(0), L.tensor(5.0), **K),
    lambda L, K: L.sparse_csr_tensor(
        L.tensor(CROW), L.tensor(COL), L.tensor(VALS).reshape(2, 3, 1), **K
    ),
    lambda L, K: L.sparse_csr_tensor(
        L.tensor(CROW), L.tensor(COL), L.tensor(VALS).reshape(2, 3, 1), (2, 2, 3), **K
    ),
    lambda L, K: L.sparse_csr_tensor(L.tensor(CROW[0]), L.tensor(COL[0]), L.tensor(VALS).T, **K),
    lambda L, K: L.sparse_csr_tensor(
        L.tensor([[0, 2, 3], [1, 1, 3]]), L.tensor(COL), L.tensor(VALS), **K
    ),
    lambda L, K: L.sparse_csr_tensor(
        L.tensor([[0, 2, 3], [0, 1, 2]]), L.tensor(COL), L.tensor(VALS), **K
    ),
    lambda L, K: L.sparse_csr_tensor(
        L.tensor(CROW), L.tensor([[0, 2, 1], [1, 2, 0]]), L.tensor(VALS), **K
    ),
    lambda L, K: L.sparse_csr_tensor(
        L.tensor(CROW), L.tensor([[0, 2, 1], [1, 0, 3]]), L.tensor(VALS), (2, 2, 3), **K
    ),
    lambda L, K: L.sparse_csr_tensor(
        L.tensor([[0, 2, 3], [0, 1, 3], [0, 1, 3]]), L.tensor(COL), L.tensor(VALS), **K
    ),
    lambda L, K: L.sparse_csr_tensor(
        L.tensor(CROW), L.tensor([[0, 2], [1, 0]]), L.tensor(VALS), **K
    ),
    lambda L, K: L.sparse_csc_tensor(
        L.tensor([[0, 1, 2, 3]] * 2), L.tensor([[0, 1, 0], [1, 0, 1]]), L.tensor(VALS), **K
    ),
    lambda L, K: L.sparse_bsr_tensor(
        L.tensor(CROW), L.tensor(COL), L.arange(24.0).reshape(2, 3, 2, 2), **K
    ),
    lambda L, K: L.sparse_bsr_tensor(
        L.tensor(CROW), L.tensor(COL), L.arange(24.0).reshape(2, 3, 2, 2, 1), **K
    ),
    lambda L, K: L.sparse_bsr_tensor(
        L.tensor(CROW), L.tensor(COL), L.arange(24.0).reshape(2, 3, 2, 2), (2, 4, 5), **K
    ),
    lambda L, K: L.sparse_bsr_tensor(
        L.tensor(CROW), L.tensor(COL), L.arange(18.0).reshape(2, 3, 3), **K
    ),
    lambda L, K: L.sparse_bsc_tensor(
        L.tensor([[0, 1, 2, 3]] * 2), L.tensor([[0, 1, 0], [1, 0, 1]]), L.ones(2, 3, 1, 2), **K
    ),
    lambda L, K: L.sparse_compressed_tensor(
        L.tensor(CROW), L.tensor(COL), L.tensor(VALS), layout=L.sparse_csr, **K
    ),
    lambda L, K: L.sparse_csr_tensor(
        L.tensor(CROW).int(), L.tensor(COL).int(), L.tensor(VALS), dtype=L.float64, **K
    ),
]


@pytest.mark.parametrize("case", range(len(CONSTRUCTORS)))
def test_constructors_match_torch_with_checks(case):
    _both(lambda L: CONSTRUCTORS[case](L, {"check_invariants": True}))


def test_csr_constructor_keywords_are_torch_names():
    for L in (torch, cr):
        t = L.sparse_csr_tensor(
            crow_indices=L.tensor(CROW), col_indices=L.tensor(COL), values=L.tensor(VALS)
        )
        c = L.sparse_bsc_tensor(
            ccol_indices=L.tensor([[0, 1]] * 2),
            row_indices=L.tensor([[0]] * 2),
            values=L.ones(2, 1, 1, 1),
        )
        assert tuple(t.shape) == (2, 2, 3) and tuple(c.shape) == (2, 1, 1)


def test_values_gradients():
    d = np.array(BATCHED)
    got, want = [], []
    for L, out in ((torch, want), (cr, got)):
        x = L.tensor(d, requires_grad=True)
        for f in (
            lambda: x.to_sparse_csr().values().sum(),
            lambda: x.to_sparse_csc().values().pow(2).sum(),
            lambda: x.to_sparse_bsr((2, 1)).values().sum(),
        ):
            (g,) = L.autograd.grad(f(), x)
            out.append(g.tolist())
        h = L.tensor(np.array(HYBRID), requires_grad=True)
        (g,) = L.autograd.grad(
            h.to_sparse_csr(dense_dim=1).to_dense().mul(L.arange(12.0).reshape(2, 3, 2)).sum(), h
        )
        out.append(g.tolist())
    assert got == want


def test_gradcheck_through_batched_values():
    vals = cr.tensor(VALS, dtype=cr.float64, requires_grad=True)
    crow, col = cr.tensor(CROW), cr.tensor(COL)
    weight = cr.arange(12.0, dtype=cr.float64).reshape(2, 2, 3)
    for f in (
        lambda v: cr.sparse_csr_tensor(crow, col, v, (2, 2, 3)).to_dense() * weight,
        lambda v: cr.sparse_csr_tensor(crow, col, v, (2, 2, 3)).transpose(1, 2).to_dense(),
        lambda v: cr.sparse_csr_tensor(crow, col, v, (2, 2, 3)).select(0, 1).to_dense(),
        lambda v: (
            (cr.sparse_csr_tensor(crow, col, v, (2, 2, 3)) * 3).sin().to_sparse_csc().values()
        ),
    ):
        assert cr.autograd.gradcheck(f, (vals,))
    # torch's backward of these fails (its to_dense of a batch); the dense equivalent:
    tv = torch.tensor(VALS, dtype=torch.float64, requires_grad=True)
    dense = torch.sparse_csr_tensor(torch.tensor(CROW), torch.tensor(COL), tv, (2, 2, 3)).values()
    (want,) = torch.autograd.grad(dense.pow(2).sum(), tv)
    (got,) = cr.autograd.grad(
        cr.sparse_csr_tensor(crow, col, vals, (2, 2, 3)).to_dense().pow(2).sum(), vals
    )
    assert got.tolist() == want.tolist()


M4 = [[1.0, 0, 2, 0], [0, 0, 0, 0], [0, 3, 0, 0], [4, 0, 0, 5]]


@pytest.mark.parametrize("block", [(2, 2), (1, 2), (2, 1), (4, 1), (1, 4), (2, 4)])
@pytest.mark.parametrize("kind", ["bsr", "bsc"])
def test_select_of_block_layouts_as_torch(block, kind):
    for dim in (0, 1):
        for i in range(4):
            _both(lambda L: getattr(L.tensor(M4), f"to_sparse_{kind}")(block).select(dim, i))


@pytest.mark.parametrize("kinds", [("csr", "csr"), ("csr", "csc"), ("csc", "csr"), ("csc", "csc")])
def test_sparse_sparse_products_list_columns_as_torch(kinds):
    for seed in range(12):
        rng = np.random.default_rng(seed)
        m, k, n = rng.integers(1, 8, 3)
        a = rng.standard_normal((m, k)) * (rng.random((m, k)) < 0.4)
        b = rng.standard_normal((k, n)) * (rng.random((k, n)) < 0.4)
        for mm in ("matmul", "sparse.mm"):

            def run(L):
                x, y = (
                    getattr(L.tensor(v), f"to_sparse_{t}")()
                    for v, t in ((a, kinds[0]), (b, kinds[1]))
                )
                return x @ y if mm == "matmul" else L.sparse.mm(x, y)

            want, got = _error(lambda: run(torch)), _error(lambda: run(cr))
            assert want == got
            w = None if want else run(torch)
            if w is not None and w.layout == torch.sparse_csr:  # (torch's CSC can be broken)
                g = run(cr)
                assert _state(w)[:6] == _state(g)[:6]
                np.testing.assert_allclose(g.values().tolist(), w.values().tolist(), 1e-12, 1e-12)


def test_empty_compressed_tensor_with_invariants_checked():
    """A CSR/CSC tensor with no entries, built with check_invariants=True (the op-spec table's
    empty bad input): the invariant check reshaped its indices with -1 over nnz = 0 and
    raised NumPy's ValueError, where torch builds it."""
    for name in ("sparse_csr_tensor", "sparse_csc_tensor"):
        _both(
            lambda L, name=name: getattr(L, name)(
                L.tensor([0, 0, 0, 0]), L.zeros(0, dtype=L.int64), L.zeros(0), (3, 3),
                check_invariants=True,
            ).to_dense()
        )  # fmt: skip
