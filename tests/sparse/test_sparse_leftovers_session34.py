"""Session 34's sparse leftovers against torch live: ``smm``/``sspaddmm``/``saddmm``/
``hspmm``/``dsmm``, the gradient a dense source of a sparse operand gets from products,
and the once-per-process "Sparse invariant checks are implicitly disabled" warning.
(Hybrid COO tensors: test_sparse_hybrid_session34.py.)"""

# ruff: noqa: E501 - the case tables stay one per line

from __future__ import annotations

import json
import textwrap
import warnings

import numpy as np
import pytest
from _forked import run_forked

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse .* tensor support is in beta"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled"),
]


def _desc(r):
    """What a result is, comparable across the two libraries (a sparse tensor: layout,
    size, dtype, coalesced flag, indices and values as stored)."""
    if isinstance(r, (tuple, int)):
        return r
    dtype = str(r.dtype).split(".")[-1]
    if str(r.layout) == "torch.strided":
        return ("dense", tuple(r.shape), dtype, np.asarray(r.detach().tolist()).round(4).tolist())
    values = np.asarray(r._values().tolist()).round(4).tolist()
    return (
        str(r.layout),
        tuple(r.shape),
        dtype,
        r.is_coalesced(),
        r._indices().tolist(),
        values,
        r.requires_grad,
    )


def _outcome(fn):
    try:
        return _desc(fn())
    except Exception as e:  # noqa: BLE001 - the class is compared
        return ("raises", type(e))


def _operands(L):
    s = L.sparse_coo_tensor([[1, 0, 1], [2, 0, 0]], L.tensor([3.0, 4.0, 5.0]), (3, 3))
    m = L.sparse_coo_tensor([[2, 0, 2], [1, 1, 1]], L.tensor([10.0, 20.0, 30.0]), (3, 2))
    d = L.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, -1.0]])
    return s, m, d


def _empty(L, *size):
    return L.sparse_coo_tensor(L.zeros(2, 0, dtype=L.long), L.zeros(0), size)


SMM_CASES = {
    "smm": lambda L, s, m, d: L.smm(s, d),
    "smm_coalesced": lambda L, s, m, d: L.smm(s.coalesce(), d),
    "smm_method": lambda L, s, m, d: s.smm(d),
    "smm_int": lambda L, s, m, d: L.smm(s.long(), d.long()),
    "smm_complex": lambda L, s, m, d: L.smm(s.to(L.complex64), d.to(L.complex64)),
    "smm_empty": lambda L, s, m, d: L.smm(_empty(L, 3, 3), d),
    "smm_zero_dense": lambda L, s, m, d: L.smm(s, L.zeros(3, 2)),
    "hspmm": lambda L, s, m, d: L.hspmm(s, d),
    "hspmm_coalesced": lambda L, s, m, d: L.hspmm(s.coalesce(), d),
    "hspmm_double": lambda L, s, m, d: L.hspmm(s.double(), d.double()),
    "hspmm_int": lambda L, s, m, d: L.hspmm(s.long(), d.long()),
    "hspmm_empty": lambda L, s, m, d: L.hspmm(_empty(L, 3, 3), d),
    "hspmm_one_row": lambda L, s, m, d: L.hspmm(
        L.sparse_coo_tensor([[1], [2]], L.tensor([3.0]), (3, 3)), d
    ),
    "hspmm_duplicates": lambda L, s, m, d: L.hspmm(
        L.sparse_coo_tensor([[1, 1], [2, 2]], L.tensor([3.0, 4.0]), (3, 3)), d
    ),
    "hspmm_no_columns": lambda L, s, m, d: L.hspmm(s, L.zeros(3, 0)),
    "sspaddmm": lambda L, s, m, d: L.sspaddmm(m, s, d),
    "sspaddmm_beta_alpha": lambda L, s, m, d: L.sspaddmm(m, s, d, beta=2, alpha=3),
    "sspaddmm_input_coalesced": lambda L, s, m, d: L.sspaddmm(m.coalesce(), s, d),
    "sspaddmm_beta0": lambda L, s, m, d: L.sspaddmm(m, s, d, beta=0),
    "sspaddmm_alpha0": lambda L, s, m, d: L.sspaddmm(m, s, d, alpha=0),
    "sspaddmm_empty_product": lambda L, s, m, d: L.sspaddmm(
        L.sparse_coo_tensor([[0], [1]], L.tensor([1.0]), (3, 2)), _empty(L, 3, 3), d
    ),
    "sspaddmm_int_alpha_truncated": lambda L, s, m, d: L.sspaddmm(
        _empty(L, 3, 2).long(), s.long(), d.long(), alpha=2.7
    ),
    "sspaddmm_method": lambda L, s, m, d: m.sspaddmm(s, d, beta=0.5),
    "saddmm": lambda L, s, m, d: L.saddmm(m, s, d),
    "dsmm": lambda L, s, m, d: L.dsmm(s, d),
    "dsmm_dense": lambda L, s, m, d: L.dsmm(d.t(), d),
    # errors: the class is compared (the messages say the same in chainrule's words)
    "smm_dense_input": lambda L, s, m, d: L.smm(d.t(), d),
    "smm_sparse_mat2": lambda L, s, m, d: L.smm(s, s),
    "smm_shape": lambda L, s, m, d: L.smm(s, d[:2]),
    "smm_vector": lambda L, s, m, d: L.smm(s, d[:, 0]),
    "smm_dtypes": lambda L, s, m, d: L.smm(s, d.double()),
    "smm_csr": lambda L, s, m, d: L.smm(s.to_sparse_csr(), d),
    "hspmm_dense_input": lambda L, s, m, d: L.hspmm(d.t(), d),
    "hspmm_csr": lambda L, s, m, d: L.hspmm(s.to_sparse_csr(), d),
    "hspmm_shape": lambda L, s, m, d: L.hspmm(s, d[:2]),
    "hspmm_vector": lambda L, s, m, d: L.hspmm(s, d[:, 0]),
    "hspmm_dtypes": lambda L, s, m, d: L.hspmm(s, d.double()),
    "hspmm_sparse_mat2": lambda L, s, m, d: L.hspmm(s, s),
    "sspaddmm_dense_input": lambda L, s, m, d: L.sspaddmm(L.zeros(3, 2), s, d),
    "sspaddmm_input_shape": lambda L, s, m, d: L.sspaddmm(_empty(L, 2, 2), s, d),
    "sspaddmm_dense_mat1": lambda L, s, m, d: L.sspaddmm(m, d.t(), d),
    "sspaddmm_3d_mat1": lambda L, s, m, d: L.sspaddmm(
        m, L.sparse_coo_tensor(L.zeros(3, 1, dtype=L.long), L.tensor([1.0]), (1, 3, 3)), d
    ),
    "sspaddmm_int_float_beta": lambda L, s, m, d: L.sspaddmm(
        m.long(), s.long(), d.long(), beta=0.5
    ),
    "sspaddmm_input_dtype": lambda L, s, m, d: L.sspaddmm(m.double(), s, d),
    "dsmm_vector": lambda L, s, m, d: L.dsmm(s, d[:, 0]),
}


@pytest.mark.parametrize("case", list(SMM_CASES))
def test_sparse_result_products_match_torch(case):
    fn = SMM_CASES[case]
    want = _outcome(lambda: fn(torch, *_operands(torch)))
    got = _outcome(lambda: fn(cr, *_operands(cr)))
    if want[0] == "raises":  # chainrule's class or a subclass of it (RankError: IndexError)
        assert got[0] == "raises" and issubclass(got[1], want[1]), (got, want)
    else:
        assert got == want


def test_saddmm_is_sspaddmm_and_names_are_exported():
    assert cr.saddmm is cr.sspaddmm
    for name in ("smm", "sspaddmm", "saddmm", "hspmm", "dsmm"):
        assert hasattr(torch, name) and name in dir(cr)
    s = _operands(cr)[0]
    assert callable(s.smm) and callable(s.sspaddmm)


def _grads(L, fn):
    v = L.tensor([3.0, 4.0, 5.0], requires_grad=True)
    d = L.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, -1.0]], requires_grad=True)
    s = L.sparse_coo_tensor([[1, 0, 1], [2, 0, 0]], v, (3, 3))
    try:
        r = fn(L, s, d)
        requires_grad = r.requires_grad
        r = r.to_dense() if str(r.layout) != "torch.strided" else r
        (r * L.arange(float(r.numel())).reshape(r.shape)).sum().backward()
        return requires_grad, v.grad.tolist(), d.grad.tolist()
    except Exception as e:  # noqa: BLE001 - the class and message are compared
        return type(e).__name__, str(e)


GRAD_CASES = {
    "dsmm": lambda L, s, d: L.dsmm(s, d),
    "hspmm": lambda L, s, d: L.hspmm(s, d),
    "smm": lambda L, s, d: L.smm(s, d),
    "sspaddmm": lambda L, s, d: L.sspaddmm(
        L.sparse_coo_tensor([[0], [1]], L.tensor([1.0]), (3, 2)), s, d
    ),
    "hspmm_dense_operand_only": lambda L, s, d: L.hspmm(s.detach(), d),
}


@pytest.mark.parametrize("case", list(GRAD_CASES))
def test_product_gradients_or_their_absence_match_torch(case):
    """torch has no derivative for hspmm / sspaddmm (smm): the result requires grad and its
    backward raises "derivative for aten::... is not implemented"; dsmm is mm."""
    want = _grads(torch, GRAD_CASES[case])
    assert _grads(cr, GRAD_CASES[case]) == want


def test_no_grad_results_do_not_require_grad():
    for L in (torch, cr):
        with L.no_grad():
            s = L.ones(1, 1).to_sparse()
            assert L.hspmm(s, L.ones(1, 1, requires_grad=True)).requires_grad is False


# ----------------------------------------------------------------- dense sources
DN = np.array(
    [[1.0, 0.0, 2.0, 0.0], [0.0, 3.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]],
    np.float32,
)
XN = np.arange(8, dtype=np.float32).reshape(4, 2)

SOURCE_CASES = {
    "mm": lambda L, D, X: L.mm(D.to_sparse(), X),
    "matmul": lambda L, D, X: D.to_sparse() @ X,
    "spmm": lambda L, D, X: L.spmm(D.to_sparse(), X),
    "addmm": lambda L, D, X: L.addmm(L.ones(4, 2), D.to_sparse(), X),
    "dsmm": lambda L, D, X: L.dsmm(D.to_sparse(), X),
    "method_mm": lambda L, D, X: D.to_sparse().mm(X),
    "dense_at_sparse": lambda L, D, X: X.t() @ D.to_sparse(),
    "matmul_vector": lambda L, D, X: D.to_sparse() @ X[:, 0],
    "mv": lambda L, D, X: L.mv(D.to_sparse(), X[:, 0]),
    "bmm": lambda L, D, X: L.bmm(D.unsqueeze(0).to_sparse(), X.unsqueeze(0)),
    "t": lambda L, D, X: L.mm(D.to_sparse().t(), X),
    "transpose": lambda L, D, X: L.mm(D.to_sparse().transpose(0, 1), X),
    "scaled": lambda L, D, X: L.mm(D.to_sparse() * 2, X),
    "divided": lambda L, D, X: L.mm(D.to_sparse() / 2, X),
    "negated": lambda L, D, X: L.mm(-D.to_sparse(), X),
    "scaled_in_place": lambda L, D, X: L.mm(D.to_sparse().mul_(3), X),
    "added_in_place": lambda L, D, X: L.mm(D.to_sparse().add_(L.eye(4).to_sparse()), X),
    "coalesced": lambda L, D, X: L.mm(D.to_sparse().coalesce(), X),
    "cloned": lambda L, D, X: L.mm(D.to_sparse().clone(), X),
    "sum_of_two": lambda L, D, X: L.mm(D.to_sparse() + D.to_sparse(), X),
    "plus_constant": lambda L, D, X: L.mm(D.to_sparse() + L.eye(4).to_sparse(), X),
    "minus_constant": lambda L, D, X: L.mm(D.to_sparse() - L.ones(4, 4).to_sparse(), X),
    "to_sparse_dim": lambda L, D, X: L.mm(D.to_sparse(2), X),
    "csr_mm": lambda L, D, X: L.mm(D.to_sparse_csr(), X),
    "csr_matmul": lambda L, D, X: D.to_sparse_csr() @ X,
    "csr_addmm": lambda L, D, X: L.addmm(L.zeros(4, 2), D.to_sparse_csr(), X),
    "csr_mv": lambda L, D, X: L.mv(D.to_sparse_csr(), X[:, 0]),
    "dense_at_csr": lambda L, D, X: X.t() @ D.to_sparse_csr(),
    "csr_t": lambda L, D, X: L.mm(D.to_sparse_csr().t(), X),
    "csr_scaled": lambda L, D, X: L.mm(D.to_sparse_csr() * 2, X),
    "coo_to_csr": lambda L, D, X: L.mm(D.to_sparse().to_sparse_csr(), X),
    "csr_to_coo": lambda L, D, X: L.mm(D.to_sparse_csr().to_sparse(), X),
    "csc": lambda L, D, X: L.mm(D.to_sparse_csc(), X),
    "bsr": lambda L, D, X: L.mm(D.to_sparse_bsr((2, 2)), X),
    # the masked ones: torch.sparse.mm / addmm and anything read off the pattern
    "sparse_mm": lambda L, D, X: L.sparse.mm(D.to_sparse(), X),
    "sparse_mm_dense_first": lambda L, D, X: L.sparse.mm(X.t(), D.to_sparse()),
    "sparse_addmm": lambda L, D, X: L.sparse.addmm(L.ones(4, 2), D.to_sparse(), X),
    "sparse_mm_csr": lambda L, D, X: L.sparse.mm(D.to_sparse_csr(), X),
    "to_dense": lambda L, D, X: D.to_sparse().to_dense(),
    "sparse_sum": lambda L, D, X: L.sparse.sum(D.to_sparse(), 0),
    "values_rebuilt": lambda L, D, X: L.mm(
        L.sparse_coo_tensor(D.to_sparse().indices(), D.to_sparse().values(), (4, 4)), X
    ),
}


def _source_grad(L, fn):
    D = L.tensor(DN, requires_grad=True)
    r = fn(L, D, L.tensor(XN))
    r = r.to_dense() if str(r.layout) != "torch.strided" else r
    (r * L.arange(float(r.numel())).reshape(r.shape)).sum().backward()
    return np.asarray(D.grad.tolist()), np.asarray(r.detach().tolist())


@pytest.mark.parametrize("case", list(SOURCE_CASES))
def test_dense_source_gradient_of_products_matches_torch(case):
    """torch's mm/@/addmm/mv/bmm give a dense tensor converted by to_sparse() (or to a
    compressed layout) the full gradient G @ Xᵀ; torch.sparse.mm/addmm only its entries on
    the pattern. Before session 34 chainrule gave the masked one everywhere."""
    want_grad, want = _source_grad(torch, SOURCE_CASES[case])
    got_grad, got = _source_grad(cr, SOURCE_CASES[case])
    np.testing.assert_allclose(got, want, 1e-6, 1e-6)
    np.testing.assert_allclose(got_grad, want_grad, 1e-6, 1e-6)


def test_dense_source_second_order_and_values_leaf():
    """The full gradient is differentiable again; a values leaf still gets its entries."""
    for L in (torch, cr):
        D = L.tensor(DN, requires_grad=True)
        X = L.tensor(XN, requires_grad=True)
        out = L.mm(D.to_sparse(), X)
        (g,) = L.autograd.grad((out * out).sum(), D, create_graph=True)
        (gx,) = L.autograd.grad(g.sum(), X)
        if L is torch:
            want_g, want_gx = g.detach().numpy(), gx.numpy()
    np.testing.assert_allclose(g.detach().numpy(), want_g, 1e-5)
    np.testing.assert_allclose(gx.numpy(), want_gx, 1e-5)


# ----------------------------------------------------------------- the warning
_WARNING_SCENARIOS = {  # scenario: (code with L the library, how many warnings torch gives)
    "error_first_then_another": (
        "try:\n    L.sparse_coo_tensor([[5]], [1.0], (2,))\nexcept RuntimeError:\n    pass\n"
        "L.sparse_coo_tensor([[0]], [1.0], (2,)); L.sparse_csr_tensor([0, 1], [0], [1.0], (1, 1))",
        1,
    ),
    "explicit_args_conversions_legacy_then_csr": (
        "L.sparse_coo_tensor([[0]], [1.0], (2,), check_invariants=False)\n"
        "L.ones(2).to_sparse(); L.ones(2, 2).to_sparse_csr()\n"
        "L.sparse.FloatTensor(L.tensor([[0]]), L.tensor([1.0]), (2,))\n"
        "L.sparse_csr_tensor([0, 1], [0], [1.0], (1, 1))",
        1,
    ),
    "context_manager": (
        "with L.sparse.check_sparse_tensor_invariants():\n    pass\n"
        "L.sparse_coo_tensor([[0]], [1.0], (2,)); L.sparse_csc_tensor([0, 1], [0], [1.0], (1, 1))",
        0,
    ),
    "compressed_then_disable": (
        "L.sparse_compressed_tensor([0, 1], [0], [1.0], (1, 1), layout=L.sparse_csr)\n"
        "L.sparse.check_sparse_tensor_invariants.disable()\n"
        "L.sparse_bsc_tensor([0, 1], [0], [[[1.0]]], (1, 1))",
        1,
    ),
}

_PRELUDE = "import json, warnings\nimport torch\nimport chainrule"
_BODY = """
def run(L):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
{body}
    return [(w.category.__name__, str(w.message).split(".")[0], w.filename) for w in caught
            if "invariant" in str(w.message)]
print(json.dumps([run(torch), run(chainrule)]))
"""


def test_implicit_invariant_checks_warning_matches_torch(monkeypatch):
    """torch warns once per process (a UserWarning at the caller's line) when a public
    sparse constructor is called without check_invariants= while the switch was never set
    (even when the constructor then raises); explicit arguments, conversions and legacy
    constructors never warn. A fresh process state per scenario: one interpreter imports
    both libraries, then forks a child per scenario."""
    monkeypatch.setenv("PYTHONWARNINGS", "default")  # the interpreter's start-up filters
    names = list(_WARNING_SCENARIOS)
    bodies = [
        _BODY.format(body=textwrap.indent(_WARNING_SCENARIOS[name][0], " " * 8)) for name in names
    ]
    for name, out in zip(names, run_forked(_PRELUDE, bodies)):
        want, got = json.loads(out.strip().splitlines()[-1])
        assert got == want, name
        assert len(want) == _WARNING_SCENARIOS[name][1], name


CONSTRUCTORS = {
    "sparse_coo_tensor": lambda kw: cr.sparse_coo_tensor([[0]], [1.0], (2,), **kw),
    "sparse_csr_tensor": lambda kw: cr.sparse_csr_tensor([0, 1], [0], [1.0], (1, 1), **kw),
    "sparse_csc_tensor": lambda kw: cr.sparse_csc_tensor([0, 1], [0], [1.0], (1, 1), **kw),
    "sparse_bsr_tensor": lambda kw: cr.sparse_bsr_tensor([0, 1], [0], [[[1.0]]], (1, 1), **kw),
    "sparse_bsc_tensor": lambda kw: cr.sparse_bsc_tensor([0, 1], [0], [[[1.0]]], (1, 1), **kw),
    "sparse_compressed_tensor": lambda kw: cr.sparse_compressed_tensor(
        [0, 1], [0], [1.0], (1, 1), layout=cr.sparse_csc, **kw
    ),
}


@pytest.mark.parametrize("name", list(CONSTRUCTORS))
def test_each_constructor_warns_at_the_users_line(name, monkeypatch):
    """Each of torch's six public constructors warns (probed in fresh torch processes);
    chainrule's too, with torch's first sentence (so one filter silences both), at the
    user's line, and not with check_invariants given."""
    from chainrule import _user_warnings
    from chainrule.ops import sparse_invariants

    monkeypatch.setattr(_user_warnings, "_issued", set())  # as in a fresh process
    monkeypatch.setitem(sparse_invariants.STATE, "explicit", False)
    with pytest.warns(
        UserWarning, match="^Sparse invariant checks are implicitly disabled"
    ) as record:
        CONSTRUCTORS[name]({})
    assert [w.filename for w in record if "invariant" in str(w.message)] == [__file__]
    monkeypatch.setattr(_user_warnings, "_issued", set())
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Sparse invariant")
        CONSTRUCTORS[name]({"check_invariants": True})
