"""Sparse breadth against torch 2.13 (float64): the zero-preserving unary ops and ``pow`` of
COO and CSR tensors (method and root forms; values, entries, coalescing, gradients of the
values), ``sparse * dense`` / ``dense * sparse`` / ``sparse * sparse``,
``Tensor.sparse_mask``, ``cr.sparse.sampled_addmm`` / ``spdiags`` / ``spsolve`` /
``as_sparse_gradcheck``, and the sparse tensor's ``grad_fn`` (its name and the repr).
tests/ops/op_specs_sparse.py checks the differentiable compositions with gradcheck,
gradgradcheck and forward mode."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops.sparse_pointwise import UNARY

IDX = [[0, 1, 1, 0, 2], [2, 0, 2, 2, 1]]  # unsorted, (0, 2) twice
VALS = [0.25, -0.5, 0.75, 0.125, -0.0625]  # in (-1, 1): asin/atanh/erfinv defined
DENSE = np.arange(1.0, 10.0).reshape(3, 3) / 4


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():  # CSR's beta warning, torch's invariant-check warning
        warnings.simplefilter("ignore", UserWarning)
        yield


def _make(lib, layout="coo", grad=False, values=VALS):
    v = lib.tensor(values, dtype=lib.float64, requires_grad=grad)
    s = lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 3))
    return (s.coalesce().to_sparse_csr() if layout == "csr" else s), v


def _np(t):
    return t.detach().numpy()


def _same_sparse(c, t):
    assert str(c.layout) == str(t.layout) and tuple(c.shape) == tuple(t.shape)
    assert str(c.dtype) == str(t.dtype) and c._nnz() == t._nnz()
    if t.layout == torch.sparse_coo:
        assert c.is_coalesced() == t.is_coalesced()
        np.testing.assert_array_equal(_np(c._indices()), _np(t._indices()))
        vc, vt = c._values(), t._values()
    else:
        np.testing.assert_array_equal(_np(c.crow_indices()), _np(t.crow_indices()))
        np.testing.assert_array_equal(_np(c.col_indices()), _np(t.col_indices()))
        vc, vt = c.values(), t.values()
    np.testing.assert_allclose(_np(vc), _np(vt), rtol=1e-12, atol=1e-12)


# torch's backward through these fails (a dense op of a sparse gradient); chainrule's
# gradient is that of the values, checked against the dense composition instead
_NO_TORCH_GRAD = set(
    "sin tan tanh sqrt expm1 asin arcsin atan arctan sinh asinh arcsinh atanh arctanh erf "
    "erfinv sgn nan_to_num".split()
)
_BOOL = {"isnan", "isinf", "isposinf", "isneginf", "signbit"}
_CSR_NONE = {"square", "nan_to_num"}  # no CSR kernel in torch: refused as torch (session 46)


def _refused_as_torch(call):
    """``call(lib)`` raises in both, chainrule with torch's class and first line (up to a
    dispatcher error's list of backends)."""
    with pytest.raises(RuntimeError) as want:
        call(torch)
    with pytest.raises(type(want.value)) as got:
        call(cr)
    first = [str(e.value).split(" This could be")[0].splitlines()[0] for e in (got, want)]
    assert first[0] == first[1]


@pytest.mark.parametrize("layout", ["coo", "csr"])
@pytest.mark.parametrize("name", UNARY + ["positive", "conj", "negative", "neg"])
def test_unary_ops_stay_sparse(name, layout):
    c, _ = _make(cr, layout)
    if layout == "csr" and name in _CSR_NONE:
        _refused_as_torch(lambda lib: getattr(_make(lib, layout)[0], name)())
        _refused_as_torch(lambda lib: getattr(lib, name)(_make(lib, layout)[0]))
        return
    t, _ = _make(torch, layout)
    for form in (lambda lib, s: getattr(s, name)(), lambda lib, s: getattr(lib, name)(s)):
        _same_sparse(form(cr, c), form(torch, t))


@pytest.mark.parametrize("layout", ["coo", "csr"])
@pytest.mark.parametrize("name", sorted(set(UNARY) - _BOOL) + ["positive", "conj", "neg"])
def test_unary_gradients_of_the_values(name, layout):
    if layout == "csr" and name in _CSR_NONE:
        return  # (refused, as torch: test_unary_ops_stay_sparse)
    c, cv = _make(cr, layout, grad=True)
    out = getattr(c, name)()
    assert out.requires_grad and out.grad_fn is not None
    (out.to_dense() * cr.tensor(DENSE)).sum().backward()
    if name in _NO_TORCH_GRAD:
        # the dense composition: the op of the coalesced values, read at the entries
        dv = torch.tensor(VALS, dtype=torch.float64, requires_grad=True)
        s = torch.sparse_coo_tensor(torch.tensor(IDX), dv, (3, 3)).coalesce()
        vals = getattr(torch, name)(s.values())  # a dense op of the values
        dense = torch.sparse_coo_tensor(s.indices(), vals, (3, 3)).to_dense()
        (dense * torch.tensor(DENSE)).sum().backward()
        want = dv.grad
    else:
        t, tv = _make(torch, layout, grad=True)
        tout = getattr(t, name)()
        # PyTorch's node name, but where chainrule's dense op records another (deg2rad,
        # rad2deg and square record their dense composition's Mul/Pow node, sparse or not)
        if name in ("deg2rad", "rad2deg", "square"):
            dense = getattr(cr, name)(cr.tensor([0.5], requires_grad=True))
            assert out.grad_fn.name() == dense.grad_fn.name()
        else:
            assert out.grad_fn.name() == tout.grad_fn.name()
        (tout.to_dense() * torch.tensor(DENSE)).sum().backward()
        want = tv.grad
    np.testing.assert_allclose(_np(cv.grad), want.numpy(), rtol=1e-12, atol=1e-12)


def test_unary_dtypes_and_arguments():
    def make(lib):
        i = lib.tensor(IDX)
        return lib.sparse_coo_tensor(i, lib.tensor([1, -2, 3, 4, -5]), (3, 3))

    c, t = make(cr), make(torch)
    for fn in (
        lambda s: s.sin(),  # int64 -> float32, as the dense op
        lambda s: s.abs(),
        lambda s: s.sign(),
        lambda s: s.square(),
        lambda s: (s.double() / 3).nan_to_num(nan=0.0, posinf=1.0),
        lambda s: s.float().isinf(),
    ):
        _same_sparse(fn(c), fn(t))
    with pytest.raises(NotImplementedError):
        c.sin(out=cr.zeros(3))
    _same_sparse(cr.abs(input=c), torch.abs(input=t))
    # torch has no sparse round(decimals=); chainrule rounds the values
    r = (c.double() / 3).round(decimals=1)
    np.testing.assert_allclose(_np(r.to_dense()), np.round(_np(c.to_dense()) / 3, 1))


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_pow(layout):
    (c, cv), (t, tv) = _make(cr, layout, grad=True), _make(torch, "coo", grad=True)
    if layout == "csr":  # torch has no CSR pow: refused in its words (session 46)
        for p in (2, -1, 0.5):
            _refused_as_torch(lambda lib, p=p: lib.pow(_make(lib, layout)[0].abs(), p))
            _refused_as_torch(lambda lib, p=p: _make(lib, layout)[0] ** p)
        return
    for p in (2, 3.0, -1, 0.5):
        _same_sparse(c.abs().pow(p), t.abs().pow(p))
        _same_sparse(cr.pow(c.abs(), p), torch.pow(t.abs(), p))
    _same_sparse(c**2, t**2)
    (c**2).to_dense().sum().backward()
    (t**2).to_dense().sum().backward()
    np.testing.assert_allclose(_np(cv.grad), _np(tv.grad))
    with pytest.raises(RuntimeError) as want:
        t.pow(0)
    with pytest.raises(RuntimeError) as got:
        c.pow(0)
    assert str(got.value) == str(want.value)
    with pytest.raises(NotImplementedError):
        c.pow(cr.ones(3, 3, dtype=cr.float64))


# ----------------------------------------------------------------- products with dense
_OPERANDS = [
    lambda lib, s, d: s * d,
    lambda lib, s, d: d * s,
    lambda lib, s, d: lib.mul(s, d),
    lambda lib, s, d: lib.mul(d, s),
    lambda lib, s, d: s.mul(d),
    lambda lib, s, d: s * d[1],  # broadcast to the sparse size
    lambda lib, s, d: s * d[:, :1],
    lambda lib, s, d: s * d[0, 0],
    lambda lib, s, d: s * s,
    lambda lib, s, d: s.coalesce() * (s.coalesce() * 2),
    lambda lib, s, d: s * d.long(),
]


@pytest.mark.parametrize("case", range(len(_OPERANDS)))
def test_coo_times_dense_is_sparse(case):
    fn = _OPERANDS[case]
    (c, cv), (t, tv) = _make(cr, grad=True), _make(torch, grad=True)
    cd = cr.tensor(DENSE, requires_grad=True)
    td = torch.tensor(DENSE, requires_grad=True)
    got, want = fn(cr, c, cd), fn(torch, t, td)
    assert got.is_sparse and got.layout == cr.sparse_coo
    _same_sparse(got, want)  # s * s: both keep the uncoalesced entries (session 35)
    got.to_dense().sum().backward()
    if case in (0, 4, 9):  # torch's backward of the other forms fails
        want.to_dense().sum().backward()
        np.testing.assert_allclose(_np(cv.grad), _np(tv.grad), rtol=1e-12)
        if td.grad is not None:
            np.testing.assert_allclose(_np(cd.grad), _np(td.grad.to_dense()), rtol=1e-12)


def test_csr_times_dense_and_errors():
    (c, _), (t, _) = _make(cr, "csr"), _make(torch, "csr")
    d = np.arange(9.0).reshape(3, 3)
    _same_sparse(c * cr.tensor(d), t * torch.tensor(d))
    _same_sparse(cr.tensor(d) * c, torch.tensor(d) * t)
    _same_sparse(c * c, t * t)
    s, _ = _make(cr)
    with pytest.raises(RuntimeError, match="broadcast"):
        s * cr.ones(2, 3, dtype=cr.float64)
    with pytest.raises(RuntimeError, match="same size"):
        s * cr.sparse_coo_tensor([[0], [0]], [1.0], (3, 4)).double()


@pytest.mark.parametrize("coalesced", [False, True])
def test_sparse_mask(coalesced):
    (cm, _), (tm, _) = _make(cr), _make(torch)
    if coalesced:
        cm, tm = cm.coalesce(), tm.coalesce()
    cd = cr.tensor(DENSE, requires_grad=True)
    td = torch.tensor(DENSE, requires_grad=True)
    got, want = cd.sparse_mask(cm), td.sparse_mask(tm)
    _same_sparse(got, want)
    assert got.grad_fn.name() == want.grad_fn.name() == "SparseMaskBackward0"
    got.to_dense().sum().backward()
    want.to_dense().sum().backward()
    np.testing.assert_array_equal(_np(cd.grad), _np(td.grad))
    # a CSR mask gives a CSR result; a sparse self is read as its dense form
    (cc, _), (tc, _) = _make(cr, "csr"), _make(torch, "csr")
    _same_sparse(cr.tensor(DENSE).sparse_mask(cc), torch.tensor(DENSE).sparse_mask(tc))
    if coalesced:  # (torch reads an uncoalesced sparse self entry by entry)
        _same_sparse(cm.sparse_mask(cm), tm.sparse_mask(tm))
    with pytest.raises(RuntimeError) as want_err:
        torch.zeros(2, 3).sparse_mask(tm)
    with pytest.raises(RuntimeError) as got_err:
        cr.zeros(2, 3).sparse_mask(cm)
    assert str(got_err.value) == str(want_err.value)


# ------------------------------------------------------------------- torch.sparse names
@pytest.mark.parametrize("beta,alpha", [(1.0, 1.0), (0.5, 2.0), (0.0, -1.0)])
def test_sampled_addmm(beta, alpha):
    def run(lib):
        s, v = _make(lib, "csr", grad=True)
        a = lib.tensor(np.arange(6.0).reshape(3, 2) / 3, dtype=lib.float64, requires_grad=True)
        b = lib.tensor(np.arange(6.0).reshape(2, 3) / 5, dtype=lib.float64, requires_grad=True)
        out = lib.sparse.sampled_addmm(s, a, b, beta=beta, alpha=alpha)
        (out.values() * lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)).sum().backward()
        return out, v.grad, a.grad, b.grad

    got, want = run(cr), run(torch)
    _same_sparse(got[0], want[0])
    for g, w in zip(got[1:], want[1:]):
        if g is None or w is None:  # beta=0: torch's gradient of the input is zeros
            assert not np.any(_np(w if g is None else g))
        else:
            np.testing.assert_allclose(_np(g), _np(w), rtol=1e-12, atol=1e-12)


def test_sampled_addmm_errors():
    s, _ = _make(cr)
    with pytest.raises(NotImplementedError):
        cr.sparse.sampled_addmm(s, cr.ones(3, 2, dtype=cr.float64), cr.ones(2, 3, dtype=cr.float64))
    c, _ = _make(cr, "csr")
    with pytest.raises(RuntimeError):
        cr.sparse.sampled_addmm(c, cr.ones(3, 2, dtype=cr.float64), cr.ones(3, 3, dtype=cr.float64))


@pytest.mark.parametrize(
    "offsets,shape", [([0, -1], (3, 3)), ([0, 1], (3, 4)), ([1, -2, 0], (4, 3)), ([2], (3, 3))]
)
@pytest.mark.parametrize("layout", [None, "sparse_csr"])
def test_spdiags(offsets, shape, layout):
    diags = np.arange(1.0, 1.0 + 3 * len(offsets)).reshape(len(offsets), 3)

    def run(lib):
        kw = {} if layout is None else {"layout": getattr(lib, layout)}
        return lib.sparse.spdiags(lib.tensor(diags), lib.tensor(offsets), shape, **kw)

    got, want = run(cr), run(torch)
    _same_sparse(got, want)
    d = cr.tensor(diags, requires_grad=True)
    cr.sparse.spdiags(d, cr.tensor(offsets), shape).to_dense().sum().backward()
    assert d.grad.sum().item() == want._nnz()  # torch has no derivative for spdiags


def test_spdiags_errors_and_spsolve():
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="duplicate"):
            lib.sparse.spdiags(lib.ones(2, 3), lib.tensor([0, 0]), (3, 3))
    a = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.0], [0.0, 0.0, 2.0]])
    for lib in (torch, cr):  # torch's CPU build has no kernel
        with pytest.raises(NotImplementedError):
            lib.sparse.spsolve(lib.tensor(a).to_sparse_csr(), lib.ones(3, dtype=lib.float64))


def test_as_sparse_gradcheck():
    def fn(s):
        return (s * 3).sin()

    v = cr.tensor(VALS, dtype=cr.float64, requires_grad=True)
    s = cr.sparse_coo_tensor(IDX, v, (3, 3))
    assert cr.sparse.as_sparse_gradcheck(cr.autograd.gradcheck)(fn, (s,))
    c = s.coalesce().to_sparse_csr()
    assert cr.sparse.as_sparse_gradcheck(cr.autograd.gradgradcheck)(lambda m: m.abs() * 2, c)


def test_torch_sparse_names_are_there():
    out_of_scope = {  # semi-structured (2:4 CUDA kernels), typing names
        "SparseSemiStructuredTensor", "SparseSemiStructuredTensorCUSPARSELT",
        "SparseSemiStructuredTensorCUTLASS", "semi_structured", "to_sparse_semi_structured",
        "BFloat16Tensor", "Any", "DType", "DimOrDims", "TYPE_CHECKING", "Tensor",
    }  # fmt: skip
    names = {n for n in dir(torch.sparse) if not n.startswith("_")} - out_of_scope
    assert names - set(dir(cr.sparse)) == set()


# ----------------------------------------------------------------------- grad_fn
_MADE = [
    lambda lib, v: lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 3)),
    lambda lib, v: lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 3)).coalesce(),
    lambda lib, v: lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 3)) * 2,
    lambda lib, v: -lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 3)),
    lambda lib, v: lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 3)).abs(),
    lambda lib, v: lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 3)).t(),
    lambda lib, v: lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 3)).transpose(1, 0),
    lambda lib, v: lib.sparse.softmax(lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 3)), 1),
    lambda lib, v: lib.sparse.log_softmax(lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 3)), 0),
    lambda lib, v: lib.sparse.sum(lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 3)), 1),
    lambda lib, v: (lambda s: s + s)(lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 3)).coalesce()),
    lambda lib, v: (lambda s: s - s * 2)(
        lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 3)).coalesce()
    ),
    lambda lib, v: (v[:3] * 1).reshape(1, 3).to_sparse(),
    lambda lib, v: (v[:4] * 1).reshape(2, 2).to_sparse(2),
    lambda lib, v: (v[:4] * 1).reshape(2, 2).to_sparse_csr(),
    # (with a size: torch's node without one is "NotImplemented", chainrule's is the same)
    lambda lib, v: lib.sparse_csr_tensor(lib.tensor([0, 1, 2]), lib.tensor([0, 1]), v, (2, 2)),
    lambda lib, v: lib.sparse_csr_tensor(lib.tensor([0, 1, 2]), lib.tensor([0, 1]), v).abs(),
]


@pytest.mark.parametrize("case", range(len(_MADE)))
def test_grad_fn_name_and_repr(case):
    vals = (
        VALS[:2] if case >= len(_MADE) - 2 else VALS
    )  # a leaf (torch names a slice's node otherwise)
    cv = cr.tensor(vals, requires_grad=True)
    tv = torch.tensor(vals, requires_grad=True)
    got, want = _MADE[case](cr, cv), _MADE[case](torch, tv)
    assert got.grad_fn.name() == want.grad_fn.name()
    assert repr(got) == repr(want)
    assert not got.is_leaf and got.requires_grad
    assert repr(got.detach()) == repr(want.detach()) and got.detach().grad_fn is None
