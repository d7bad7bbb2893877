"""Sparse COO tensors (ops/sparse_*.py, cr.sparse) against PyTorch in float64: construction,
coalescing, conversions, the products and their gradients (first and second order), and the
clear errors of everything a sparse tensor does not support."""

from __future__ import annotations

import copy
import io
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import _user_warnings

IDX = [[0, 1, 1, 0, 2], [2, 0, 2, 2, 1]]  # unsorted, (0, 2) twice
VALS = [3.0, -4.0, 5.0, 6.0, 0.5]


def _pair(indices=IDX, values=VALS, size=(3, 3), grad=False):
    """The same sparse tensor in both frameworks, with its values tensors (float64)."""
    cv = cr.tensor(values, dtype=cr.float64, requires_grad=grad)
    tv = torch.tensor(values, dtype=torch.float64, requires_grad=grad)
    sizes = () if size is None else (size,)  # neither takes size=None (PyTorch's TypeError)
    cs = cr.sparse_coo_tensor(indices, cv, *sizes)
    ts = torch.sparse_coo_tensor(torch.tensor(indices), tv, *sizes, check_invariants=True)
    return cs, ts, cv, tv


def _dense(rng, *shape, grad=True):
    a = rng.standard_normal(shape)
    return cr.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _close(c, t):
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ construction
@pytest.mark.parametrize("size", [(3, 3), (4, 5), None])
def test_construction_and_to_dense_match_torch(size):
    cs, ts, _, _ = _pair(size=size)
    assert cs.shape == ts.shape and cs.dim() == 2 and cs.size(1) == ts.size(1)
    assert cs.layout is cr.sparse_coo and cs.is_sparse and isinstance(cs, cr.Tensor)
    assert (cs._nnz(), cs.sparse_dim(), cs.dense_dim()) == (5, 2, 0)
    assert cs.is_coalesced() is ts.is_coalesced() is False
    assert cs.dtype == cr.float64 and cs.device == cr.device("cpu")
    _close(cs.to_dense(), ts.to_dense())
    np.testing.assert_array_equal(cs._indices().numpy(), ts._indices().numpy())


def test_coalesce_gives_torchs_indices_and_values():
    cs, ts, _, _ = _pair()
    cc, tc = cs.coalesce(), ts.coalesce()
    assert cc.is_coalesced() and cc.coalesce() is cc
    np.testing.assert_array_equal(cc.indices().numpy(), tc.indices().numpy())
    _close(cc.values(), tc.values())
    with pytest.raises(RuntimeError, match="coalesce"):
        cs.indices()
    with pytest.raises(RuntimeError, match="coalesce"):
        cs.values()


@pytest.mark.parametrize(
    ("indices", "values", "flag"),
    [([[1]], [2.0], None), ([[1]], [2.0], False), ([[0, 1]], [1.0, 2.0], None),
     ([[0, 2]], [1.0, 2.0], True)],
)  # fmt: skip
def test_is_coalesced_flag_follows_torch(indices, values, flag):
    c = cr.sparse_coo_tensor(indices, values, (3,), is_coalesced=flag)
    t = torch.sparse_coo_tensor(indices, values, (3,), is_coalesced=flag, check_invariants=True)
    assert c.is_coalesced() is t.is_coalesced()


def test_dtype_device_and_empty():
    c = cr.sparse_coo_tensor([[0, 1]], [1, 2], (3,), dtype=cr.float64, device="cpu")
    assert c.dtype == cr.float64
    e = cr.sparse_coo_tensor(np.zeros((2, 0), dtype=np.int64), cr.zeros(0))
    assert e.shape == (0, 0) and e._nnz() == 0
    t = torch.sparse_coo_tensor(
        torch.zeros(2, 0, dtype=torch.long), torch.zeros(0), (2, 3), check_invariants=True
    )
    c = cr.sparse_coo_tensor(np.zeros((2, 0), dtype=np.int64), cr.zeros(0), (2, 3))
    assert repr(c) == repr(t)
    _close(c.to_dense(), t.to_dense())


def test_repr_is_torchs():
    cs, ts, _, _ = _pair()
    assert repr(cs) == repr(ts)
    c32 = cs.float()
    assert repr(c32) == repr(ts.float())
    assert f"{cs}" == repr(cs)


def test_to_sparse_round_trip_and_its_gradient():
    a = np.array([[0.0, 1.5, 0.0], [-2.0, 0.0, 3.0]])
    c = cr.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    cs, ts = c.to_sparse(), t.to_sparse()
    assert cs.is_coalesced() and ts.is_coalesced()
    np.testing.assert_array_equal(cs.indices().numpy(), ts.indices().numpy())
    _close(cs.to_dense(), t)
    w = np.arange(6.0).reshape(2, 3)
    (cs.to_dense() * cr.tensor(w)).sum().backward()
    (ts.to_dense() * torch.tensor(w)).sum().backward()
    _close(c.grad, t.grad)
    assert c.to_sparse_coo().to_dense().equal(c.detach()) and cs.to_sparse() is cs
    d = cr.ones(2)
    assert d.to_dense() is d and not d.is_sparse and d.layout is cr.strided


# ------------------------------------------------------------------ products
def _products():
    return {
        "spmm": (lambda s, x: cr.spmm(s, x), lambda s, x: torch.spmm(s, x)),
        "sparse.mm": (lambda s, x: cr.sparse.mm(s, x), lambda s, x: torch.sparse.mm(s, x)),
        "mm": (lambda s, x: cr.mm(s, x), lambda s, x: torch.mm(s, x)),
        "matmul": (lambda s, x: cr.matmul(s, x), lambda s, x: torch.matmul(s, x)),
        "@": (lambda s, x: s @ x, lambda s, x: s @ x),
        "dense@sparse": (lambda s, x: x.t() @ s, lambda s, x: x.t() @ s),
        "addmm": (
            lambda s, x: cr.sparse.addmm(cr.ones(3, 2, dtype=cr.float64), s, x, beta=2, alpha=3),
            lambda s, x: torch.sparse.addmm(
                torch.ones(3, 2, dtype=torch.float64), s, x, beta=2, alpha=3
            ),
        ),
    }


@pytest.mark.parametrize("name", list(_products()))
def test_products_and_gradients_match_torch(name):
    rng = np.random.default_rng(1)
    cf, tf = _products()[name]
    cs, ts, cv, tv = _pair(grad=True)
    cx, tx = _dense(rng, 3, 2)
    cy, ty = cf(cs, cx), tf(ts, tx)
    _close(cy, ty)
    w = rng.standard_normal(tuple(ty.shape))
    (cy * cr.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    _close(cv.grad, tv.grad)
    _close(cx.grad, tx.grad)


def test_matrix_vector_product():
    cs, ts, cv, tv = _pair(grad=True)
    cx, tx = _dense(np.random.default_rng(2), 3)
    cy, ty = cr.matmul(cs, cx), torch.matmul(ts, tx)
    _close(cy, ty)
    cy.sum().backward()
    ty.sum().backward()
    _close(cv.grad, tv.grad)
    _close(cx.grad, tx.grad)


def test_double_backward_of_spmm_matches_torch():
    cs, ts, cv, tv = _pair(grad=True)
    cx, tx = _dense(np.random.default_rng(3), 3, 2)
    (cg,) = cr.autograd.grad((cr.spmm(cs, cx) ** 2).sum(), cx, create_graph=True)
    (tg,) = torch.autograd.grad((torch.spmm(ts, tx) ** 2).sum(), tx, create_graph=True)
    _close(cg, tg)
    (cg**2).sum().backward()
    (tg**2).sum().backward()
    _close(cv.grad, tv.grad)
    _close(cx.grad, tx.grad)


def test_gradcheck_and_gradgradcheck_on_tiny_sizes():
    rng = np.random.default_rng(4)
    v = cr.tensor(rng.standard_normal(5), requires_grad=True)
    x = cr.tensor(rng.standard_normal((3, 2)), requires_grad=True)

    def f(v, x):
        s = cr.sparse_coo_tensor(IDX, v, (3, 3))
        return cr.spmm(s, x) + (x.t() @ s.t().coalesce()).t() + s.to_dense()[:, :2]

    assert cr.autograd.gradcheck(f, (v, x))
    assert cr.autograd.gradgradcheck(f, (v, x))

    def g(v):
        s = cr.sparse_coo_tensor(IDX, v, (3, 3))
        return cr.sparse.softmax(s, 1).to_dense() + cr.sparse.sum(s, 0).to_dense()

    assert cr.autograd.gradcheck(g, (v,))


def test_forward_mode_through_spmm():
    rng = np.random.default_rng(5)
    v, tv = cr.tensor(rng.standard_normal(5)), cr.tensor(rng.standard_normal(5))
    x, tx = cr.tensor(rng.standard_normal((3, 2))), cr.tensor(rng.standard_normal((3, 2)))

    def f(v, x):
        return cr.spmm(cr.sparse_coo_tensor(IDX, v, (3, 3)), x)

    _, tangent = cr.func.jvp(f, (v, x), (tv, tx))
    want = f(tv, x) + f(v, tx)
    _close(tangent, torch.tensor(want.numpy()))


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1), -1])
def test_sparse_sum_matches_torch(dim):
    cs, ts, cv, tv = _pair(grad=True)
    cy = cr.sparse.sum(cs) if dim is None else cr.sparse.sum(cs, dim)
    ty = torch.sparse.sum(ts) if dim is None else torch.sparse.sum(ts, dim)
    assert cy.is_sparse == ty.is_sparse
    if ty.is_sparse:
        np.testing.assert_array_equal(cy.indices().numpy(), ty.indices().numpy())
        cy, ty = cy.to_dense(), ty.to_dense()
    _close(cy, ty)
    w = np.arange(1.0, 1.0 + ty.numel()).reshape(tuple(ty.shape))
    (cy * cr.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    _close(cv.grad, tv.grad)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1])
def test_sparse_softmax_matches_torch(name, dim):
    cs, ts, cv, tv = _pair(grad=True)
    cy, ty = getattr(cr.sparse, name)(cs, dim), getattr(torch.sparse, name)(ts, dim)
    np.testing.assert_array_equal(cy.indices().numpy(), ty.coalesce().indices().numpy())
    _close(cy.values(), ty.coalesce().values())
    w = np.arange(1.0, 5.0)
    (cy.values() * cr.tensor(w)).sum().backward()
    (ty.coalesce().values() * torch.tensor(w)).sum().backward()
    _close(cv.grad, tv.grad)


@pytest.mark.parametrize(
    "op",
    [
        lambda s, s2: s.t(),
        lambda s, s2: s.transpose(0, 1),
        lambda s, s2: s * 2.5,
        lambda s, s2: 2.5 * s,
        lambda s, s2: s / 4,
        lambda s, s2: -s,
        lambda s, s2: s + s2,
        lambda s, s2: s - s2,
        lambda s, s2: s.coalesce() + s2.coalesce(),
        lambda s, s2: s.double(),
    ],
)
def test_shape_and_arithmetic_ops_and_their_gradients(op):
    cs, ts, cv, tv = _pair(grad=True)
    c2, t2, cv2, tv2 = _pair([[0, 2], [0, 1]], [1.0, 2.0], grad=True)
    c, t = op(cs, c2), op(ts, t2)
    assert c.is_coalesced() == t.is_coalesced() and c.shape == t.shape
    _close(c.to_dense(), t.to_dense())
    w = np.random.default_rng(6).standard_normal(tuple(t.shape))
    (c.to_dense() * cr.tensor(w)).sum().backward()
    (t.to_dense() * torch.tensor(w)).sum().backward()
    _close(cv.grad, tv.grad)
    if tv2.grad is not None:
        _close(cv2.grad, tv2.grad)


def test_dense_plus_sparse_is_dense():
    cs, ts, _, _ = _pair()
    dense = cr.ones(3, 3, dtype=cr.float64)
    _close(dense + cs, torch.ones(3, 3, dtype=torch.float64) + ts)


def test_conversions_detach_clone_and_requires_grad():
    cs, _, cv, _ = _pair(grad=True)
    assert cs.requires_grad and not cs.is_leaf and cs.grad is None
    d = cs.detach()
    assert not d.requires_grad and d.is_leaf and d._values().requires_grad is False
    f = cs.float()
    assert f.dtype == cr.float32 and f.requires_grad
    assert cs.to(cr.float64) is cs and cs.cpu() is cs and cs.to("cpu") is cs
    assert copy.deepcopy(d).to_dense().equal(d.to_dense())
    assert cs.clone().to_dense().equal(cs.to_dense())
    f.to_dense().sum().backward()
    np.testing.assert_array_equal(cv.grad.numpy(), np.ones(5))


def test_legacy_constructors_warn_and_test_dtype(monkeypatch):
    monkeypatch.setattr(_user_warnings, "_issued", set())  # once per process: as in a fresh one
    i = cr.tensor([[0, 1], [1, 0]])
    with pytest.warns(UserWarning, match="deprecated"):
        s = cr.sparse.FloatTensor(i, cr.tensor([1.0, 2.0]), (2, 2))
    assert isinstance(s, cr.sparse.FloatTensor) and not isinstance(s, cr.sparse.DoubleTensor)
    assert not isinstance(cr.ones(2), cr.sparse.FloatTensor)
    with pytest.warns(UserWarning, match="deprecated"):
        e = cr.sparse.DoubleTensor(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.sparse.DoubleTensor(2, 3)
    assert e.shape == t.shape and e.dtype == cr.float64 and e._nnz() == 0


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("indices", "values", "size", "match"),
    [
        ([[0, 3]], [1.0, 2.0], (3,), "found index 3"),
        ([[0, -1]], [1.0, 2.0], (3,), "negative index -1"),
        ([[0, 1]], [1.0], (3,), "same nnz"),
        ([[0, 1], [0, 1]], [1.0, 2.0], (3,), "len\\(size\\)"),
    ],
)
def test_invalid_construction_raises_like_torch(indices, values, size, match):
    with pytest.raises(RuntimeError, match=match):
        cr.sparse_coo_tensor(indices, values, size, check_invariants=True)
    with pytest.raises(RuntimeError, match=match):
        torch.sparse_coo_tensor(indices, values, size, check_invariants=True)


def test_unsupported_constructions_raise_not_implemented():
    # hybrid tensors (values of more than one dim) are supported since session 34
    # (test_sparse_leftovers_session34.py); this one is valid, as in torch
    hybrid = cr.sparse_coo_tensor([[0, 1]], cr.ones(2, 2), (2, 2))
    expected = torch.sparse_coo_tensor([[0, 1]], torch.ones(2, 2), (2, 2)).to_dense()
    np.testing.assert_array_equal(hybrid.to_dense().numpy(), expected.numpy())
    with pytest.raises(NotImplementedError, match="values"):
        cr.sparse_coo_tensor([[0]], [1.0], (2,), requires_grad=True)
    with pytest.raises(RuntimeError, match="uncoalesced"):
        cr.sparse_coo_tensor([[1, 1]], [1.0, 2.0], (2,), is_coalesced=True)
    cs = _pair()[0]
    with pytest.raises(NotImplementedError, match="values"):
        cs.requires_grad_()


def test_product_operand_errors():
    cs = _pair()[0]
    with pytest.raises(RuntimeError, match="dtype"):
        cr.spmm(cs, cr.ones(3, 2, dtype=cr.float32))
    with pytest.raises(RuntimeError, match="aligned"):
        cr.spmm(cs, cr.ones(2, 2, dtype=cr.float64))
    assert (cs @ cs).layout == cr.sparse_coo  # sparse @ sparse: test_sparse_spgemm_session35


@pytest.mark.parametrize(
    "op",
    [
        lambda s: cr.exp(s),
        lambda s: s.exp(),
        lambda s: cr.cumsum(s, 0),  # (cr.sum(s) is the sparse sum, as torch.sum)
        lambda s: cr.ones(3, 3, dtype=cr.float64) / s,
        lambda s: s.numpy(),
        lambda s: np.asarray(s),
        lambda s: s.view(9),
        lambda s: s == s,
        lambda s: 2**s,
        lambda s: s.backward(),
    ],
)
def test_dense_ops_on_a_sparse_tensor_say_to_dense(op):
    with pytest.raises(NotImplementedError, match=r"call \.to_dense\(\) first"):
        op(_pair()[0])


# ------------------------------------------------------------------ property test
def test_spmm_property_random_shapes():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=25, deadline=None)
    @hypothesis.given(
        m=st.integers(1, 5), k=st.integers(1, 5), n=st.integers(1, 3),
        nnz=st.integers(0, 12), seed=st.integers(0, 2**16),
    )  # fmt: skip
    def check(m, k, n, nnz, seed):
        rng = np.random.default_rng(seed)
        idx = np.stack([rng.integers(0, m, nnz), rng.integers(0, k, nnz)])
        vals = rng.standard_normal(nnz)
        cv = cr.tensor(vals, requires_grad=True)
        cx, tx = _dense(rng, k, n)
        tv = torch.tensor(vals, requires_grad=True)
        cy = cr.spmm(cr.sparse_coo_tensor(idx, cv, (m, k)), cx)
        ts = torch.sparse_coo_tensor(torch.tensor(idx), tv, (m, k), check_invariants=True)
        ty = torch.spmm(ts, tx)
        _close(cy, ty)
        w = rng.standard_normal((m, n))
        (cy * cr.tensor(w)).sum().backward()
        (ty * torch.tensor(w)).sum().backward()
        _close(cx.grad, tx.grad)
        if nnz:
            _close(cv.grad, tv.grad)

    check()


def test_numpy_product_without_scipy_matches_scipys(monkeypatch):
    from chainrule.ops import sparse_pattern

    rng = np.random.default_rng(7)
    idx = np.array([[3, 0, 3, 1, 3], [0, 2, 1, 2, 0]])  # row 2 empty, (3, 0) twice
    s = cr.sparse_coo_tensor(idx, rng.standard_normal(5), (4, 3))
    x = cr.tensor(rng.standard_normal((3, 2)))
    want = cr.spmm(s, x).numpy()
    monkeypatch.setattr(sparse_pattern, "_scipy_sparse", lambda xp: None)
    np.testing.assert_allclose(cr.spmm(s, x).numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(want, s.to_dense().numpy() @ x.numpy(), rtol=1e-12)
    si = cr.sparse_coo_tensor(idx, [1, 2, 3, 4, 5], (4, 3))
    ti = torch.sparse_coo_tensor(
        torch.tensor(idx), torch.tensor([1, 2, 3, 4, 5]), (4, 3), check_invariants=True
    )
    xi = np.arange(6).reshape(3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want_i = torch.spmm(ti, torch.tensor(xi)).numpy()
    np.testing.assert_array_equal(cr.spmm(si, cr.tensor(xi)).numpy(), want_i)


def test_legacy_type_names_and_requires_grad_rules():
    cs, ts, _, _ = _pair(grad=True)
    assert cs.type() == ts.type() == "torch.sparse.DoubleTensor"
    assert cs.detach().type("torch.sparse.FloatTensor").dtype == cr.float32
    with pytest.raises(RuntimeError, match="detach"):
        cs.requires_grad_(False)
    assert cs.detach().requires_grad_(False).requires_grad is False


def test_check_sparse_tensor_invariants_switch_mirrors_torch():
    for mod in (cr, torch):
        switch = mod.sparse.check_sparse_tensor_invariants
        assert switch.is_enabled() is False
        with switch():
            assert switch.is_enabled() is True
        assert switch.is_enabled() is False
        with switch(enable=False):
            assert switch.is_enabled() is False


def test_like_constructors_and_saving_as_torch():
    i, v = [[0, 1], [1, 0]], [1.0, 2.0]
    s, ts = (
        cr.sparse_coo_tensor(i, v, (2, 3)),
        torch.sparse_coo_tensor(i, v, (2, 3), check_invariants=True),
    )
    for name in ("zeros_like", "empty_like"):
        got, want = getattr(cr, name)(s), getattr(torch, name)(ts)
        assert got.is_sparse and want.is_sparse
        assert (got._nnz(), tuple(got.shape)) == (want._nnz(), tuple(want.shape)) == (0, (2, 3))
        np.testing.assert_array_equal(got.to_dense().numpy(), want.to_dense().numpy())
    for name in ("ones_like", "rand_like", "randn_like"):
        with pytest.raises(NotImplementedError):
            getattr(torch, name)(ts)
        with pytest.raises(NotImplementedError, match=f"{name}: .*to_dense"):
            getattr(cr, name)(s)
    with pytest.raises(NotImplementedError, match="cr.save: sparse COO"):
        cr.save({"adj": s}, io.BytesIO())


def test_dense_tensors_answer_the_sparse_dimension_queries_as_torch():
    for lib in (torch, cr):
        x = lib.ones(2, 3)
        assert (x.dense_dim(), x.sparse_dim(), x.is_sparse) == (2, 0, False)
        s = x.to_sparse()
        assert (s.dense_dim(), s.sparse_dim(), s.is_sparse) == (0, 2, True)
