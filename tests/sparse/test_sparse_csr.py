"""Sparse CSR matrices (ops/sparse_csr.py) against torch 2.13: construction and its checks,
the index tensors, printing, conversions to and from dense and COO, products with dense
operands and the gradients of the values, the COO-only methods' errors, and the layout
flags. (The op-spec table, tests/ops/op_specs_sparse.py, checks the differentiable
compositions with gradcheck, gradgradcheck and forward mode.)"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

DENSE = [[0.0, 2.0, 0.0], [1.0, 0.0, 3.0], [0.0, 0.0, 0.0]]
CROW, COL, VALS = [0, 1, 3, 3], [1, 0, 2], [2.0, 1.0, 3.0]


@pytest.fixture(autouse=True)
def _quiet():
    """Both libraries warn (once per process) that CSR support is in beta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _both(fn):
    return fn(torch), fn(cr)


def _np(t):
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t)


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
@pytest.mark.parametrize("size", [None, (3, 3), (4, 5)])
def test_construction_and_index_tensors(index_dtype, size):
    def make(lib):
        dt = getattr(lib, index_dtype)
        args = (
            lib.tensor(CROW + ([3] if size == (4, 5) else []), dtype=dt),
            lib.tensor(COL, dtype=dt),
            lib.tensor(VALS),
        )
        return lib.sparse_csr_tensor(*args) if size is None else lib.sparse_csr_tensor(*args, size)

    t, c = _both(make)
    assert tuple(c.shape) == tuple(t.shape)
    assert c.layout == cr.sparse_csr and repr(c.layout) == repr(t.layout)
    assert (c.is_sparse, c.is_sparse_csr) == (t.is_sparse, t.is_sparse_csr) == (False, True)
    for name in ("crow_indices", "col_indices", "values"):
        a, b = getattr(t, name)(), getattr(c, name)()
        assert str(b.dtype) == str(a.dtype)
        np.testing.assert_array_equal(_np(b), _np(a))
    assert c._nnz() == t._nnz() and c.sparse_dim() == 2 and c.dense_dim() == 0
    np.testing.assert_array_equal(_np(c.to_dense()), _np(t.to_dense()))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_repr_as_torch(dtype):
    t, c = _both(lambda L: L.tensor(DENSE, dtype=getattr(L, dtype)).to_sparse_csr())
    assert repr(c) == repr(t)
    big = np.where(np.arange(60).reshape(6, 10) % 7 == 0, np.arange(60.0).reshape(6, 10), 0)
    t, c = _both(lambda L: L.tensor(big, dtype=getattr(L, dtype)).to_sparse_csr())
    assert repr(c) == repr(t)


INVALID = {
    "unsorted_cols": ([0, 2, 3, 3], [2, 0, 1], [1.0, 2, 3]),
    "duplicate_cols": ([0, 2, 3, 3], [1, 1, 1], [1.0, 2, 3]),
    "crow_not_from_0": ([1, 2, 3, 3], [1, 0, 2], [1.0, 2, 3]),
    "crow_decreasing": ([0, 2, 1, 3], [1, 0, 2], [1.0, 2, 3]),
    "crow_not_to_nnz": ([0, 1, 2, 2], [1, 0, 2], [1.0, 2, 3]),
    "col_out_of_range": ([0, 1, 3, 3], [1, 0, 3], [1.0, 2, 3]),
    "negative_col": ([0, 1, 3, 3], [1, -1, 2], [1.0, 2, 3]),
    "crow_length": ([0, 1, 3], [1, 0, 2], [1.0, 2, 3]),
    "nnz_mismatch": ([0, 1, 3, 3], [1, 0, 2], [1.0, 2]),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_indices_raise_runtime_error_as_torch_with_checks(case):
    crow, col, vals = INVALID[case]
    with pytest.raises(RuntimeError):
        torch.sparse_csr_tensor(crow, col, vals, (3, 3), check_invariants=True)
    with pytest.raises(RuntimeError):  # checked always (torch: only when asked)
        cr.sparse_csr_tensor(crow, col, vals, (3, 3))


def test_other_bad_arguments():
    with pytest.raises(RuntimeError, match="same dtype"):
        cr.sparse_csr_tensor(
            cr.tensor(CROW, dtype=cr.int32), cr.tensor(COL), cr.tensor(VALS), (3, 3)
        )
    with pytest.raises(RuntimeError) as want:
        torch.sparse_csr_tensor(
            torch.tensor([0.0, 1, 3, 3]), torch.tensor([1.0, 0, 2]), VALS, (3, 3),
            check_invariants=True,
        )  # fmt: skip
    with pytest.raises(RuntimeError, match="dtype must be Int or Long") as got:
        cr.sparse_csr_tensor(cr.tensor([0.0, 1, 3, 3]), cr.tensor([1.0, 0, 2]), VALS, (3, 3))
    assert str(got.value) == str(want.value)
    with pytest.raises(RuntimeError, match="dimensionality"):
        cr.sparse_csr_tensor(CROW, COL, VALS, (3, 3, 3))
    batched = cr.sparse_csr_tensor([CROW, CROW], [COL, COL], [VALS, VALS], (2, 3, 3))
    assert tuple(batched.shape) == (2, 3, 3)  # session 36: batched tensors are supported
    with pytest.raises(NotImplementedError, match="values.requires_grad_"):
        cr.sparse_csr_tensor(CROW, COL, VALS, (3, 3), requires_grad=True)
    assert cr.zeros(2, 3, 4).to_sparse_csr().crow_indices().tolist() == [[0, 0, 0, 0]] * 2
    with pytest.raises(IndexError, match="2-d matrix"):
        cr.zeros(3).to_sparse_csr()


def test_conversions_between_layouts():
    for lib in (torch, cr):
        d = lib.tensor(DENSE)
        c = d.to_sparse_csr()
        assert d.to_sparse(layout=lib.sparse_csr).layout == lib.sparse_csr
        assert c.to_sparse().layout == c.to_sparse_coo().layout == lib.sparse_coo
        back = d.to_sparse().to_sparse_csr()
        assert back.layout == lib.sparse_csr
        np.testing.assert_array_equal(_np(back.to_dense()), np.array(DENSE))
        assert c.to_sparse_csr() is c
        assert c.clone().layout == c.detach().layout == c.to(lib.float64).layout
        assert c.to(lib.float64).dtype == lib.float64
        assert lib.zeros_like(c).layout == lib.sparse_csr and lib.zeros_like(c)._nnz() == 0


def _products(lib, vals, b, vec):
    s = lib.sparse_csr_tensor(lib.tensor(CROW), lib.tensor(COL), vals, (3, 3))
    return [
        s @ b,
        lib.mm(s, b),
        lib.sparse.mm(s, b),
        lib.addmm(lib.ones(3, 2, dtype=b.dtype), s, b, beta=0.5, alpha=2.0),
        s @ vec,
        lib.mv(s, vec),
        b.t() @ s,
        (s * 3.0).to_dense(),
        (-s).to_dense(),
        (s + s).to_dense(),
        lib.tensor(DENSE, dtype=b.dtype) + s,
        (s * lib.arange(9.0, dtype=b.dtype).reshape(3, 3)).to_dense(),
        s.sum(),
    ]


def test_products_values_and_gradients_match_torch():
    rng = np.random.default_rng(0)
    b_np, vec_np = rng.standard_normal((3, 2)), rng.standard_normal(3)
    results, grads = [], []
    for lib in (torch, cr):
        vals = lib.tensor(VALS, dtype=lib.float64, requires_grad=True)
        b = lib.tensor(b_np, requires_grad=True)
        vec = lib.tensor(vec_np, requires_grad=True)
        outs = _products(lib, vals, b, vec)
        for out in outs:
            assert out.layout == lib.strided
        sum(o.sum() * (i + 1) for i, o in enumerate(outs)).backward()
        results.append([_np(o) for o in outs])
        grads.append([_np(t.grad) for t in (vals, b, vec)])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    for got, want in zip(grads[1], grads[0]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_gradcheck_through_the_values():
    b = cr.tensor(np.random.default_rng(1).standard_normal((3, 2)), requires_grad=True)

    def f(vals, b):
        s = cr.sparse_csr_tensor(cr.tensor(CROW), cr.tensor(COL), vals, (3, 3))
        return (s @ b) * 2.0 + (s * b.sum()).to_dense().sum()

    vals = cr.tensor(VALS, dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(f, (vals, b))
    assert cr.autograd.gradgradcheck(f, (vals, b))


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.indices(),
        lambda s: s.is_coalesced(),
        lambda s: s.coalesce(),
        lambda s: s.ccol_indices(),
        lambda s: s.row_indices(),
        lambda s: s / 2,
        lambda s: s - s,
        lambda s: s.sum(0),
    ],
)
def test_coo_only_methods_raise_runtime_error_as_torch(call):
    t, c = _both(lambda L: L.tensor(DENSE).to_sparse_csr())
    with pytest.raises(RuntimeError):
        call(t)
    with pytest.raises(RuntimeError):
        call(c)


@pytest.mark.parametrize(
    "name", ["crow_indices", "col_indices", "ccol_indices", "row_indices", "values", "indices"]
)
def test_dense_tensors_refuse_the_sparse_accessors_as_torch(name):
    with pytest.raises(RuntimeError) as want:
        getattr(torch.ones(2, 2), name)()
    with pytest.raises(RuntimeError) as got:
        getattr(cr.ones(2, 2), name)()
    assert str(got.value) == str(want.value)


def test_dense_only_operations_say_to_densify():
    c = cr.tensor(DENSE).to_sparse_csr()
    with pytest.raises(NotImplementedError, match="to_dense|CSC"):  # c.t(): CSC; c[0]: COO
        c == c  # noqa: B015
    with pytest.raises(RuntimeError) as want:  # no CSR kernel: torch's words (session 46)
        torch.tensor(DENSE).to_sparse_csr().exp()
    with pytest.raises(RuntimeError, match="unsupported tensor layout: SparseCsr") as got:
        c.exp()
    assert str(got.value) == str(want.value)
    with pytest.raises(NotImplementedError, match="int64"):
        cr.tensor(DENSE).long().to_sparse_csr() @ cr.ones(3, 2, dtype=cr.int64)
    with pytest.raises(NotImplementedError, match="values.requires_grad_"):
        c.requires_grad_()


def test_flags_of_coo_tensors_answer_false():
    s = cr.tensor(DENSE).to_sparse()
    assert s.is_sparse and not s.is_sparse_csr and not s.is_quantized and not s.is_meta


def test_beta_warning_once_as_torch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cr.tensor(DENSE).to_sparse_csr()
        cr.tensor(DENSE).to_sparse_csr()
    beta = [w for w in caught if "Sparse CSR tensor support is in beta" in str(w.message)]
    assert len(beta) == 1 and beta[0].filename == __file__
