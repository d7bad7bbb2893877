"""Sparse CSC/BSR/BSC layouts and session 34's sparse gaps, against torch live."""

# ruff: noqa: B023, E501 - the loops' lambdas run at once; the case tables stay one per line

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse .* tensor support is in beta"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled"),
]

BLOCKED = {"csc": None, "bsr": (2, 3), "bsc": (2, 1)}


def _dense(seed: int, shape=(4, 6)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    block = rng.standard_normal(shape) * (rng.random(shape) < 0.4)
    block[:2, :3] = 0.0  # one empty 2x3 block
    return block


def _convert(lib, arr, kind):
    d = lib.tensor(arr)
    return d.to_sparse_csc() if kind == "csc" else getattr(d, f"to_sparse_{kind}")(BLOCKED[kind])


def _same(a, b) -> None:
    assert str(a.layout) == str(b.layout)
    np.testing.assert_allclose(
        a.to_dense().detach().numpy(), b.to_dense().detach().numpy(), 1e-5, 1e-6
    )


def _indices(t):
    rows = str(t.layout) in ("torch.sparse_csr", "torch.sparse_bsr")
    names = ("crow_indices", "col_indices") if rows else ("ccol_indices", "row_indices")
    return [getattr(t, n)().numpy().tolist() for n in names]


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the class and message are compared
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("kind", ["csc", "bsr", "bsc"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conversion_indices_values_repr(kind, seed):
    arr = _dense(seed)
    t, c = _convert(torch, arr, kind), _convert(cr, arr, kind)
    assert _indices(t) == _indices(c)
    assert tuple(t.values().shape) == tuple(c.values().shape)
    np.testing.assert_allclose(t.values().numpy(), c.values().numpy())
    assert t._nnz() == c._nnz() and repr(t) == repr(c)
    _same(t, c)
    for other in ("to_sparse", "to_sparse_csr", "to_sparse_csc", "t"):
        assert _error(getattr(t, other)) == _error(getattr(c, other))
        if _error(getattr(t, other)) is None:
            _same(getattr(t, other)(), getattr(c, other)())
    for lay, bs in (("bsr", (2, 3)), ("bsc", (2, 3)), ("bsr", (1, 1))):
        f = lambda s: getattr(s, f"to_sparse_{lay}")(bs)  # noqa: E731
        assert _error(lambda: f(t)) == _error(lambda: f(c))
        if _error(lambda: f(t)) is None:
            assert _indices(f(t)) == _indices(f(c))
            _same(f(t), f(c))


@pytest.mark.parametrize("kind", ["csr", "csc", "bsr", "bsc"])
def test_constructors_and_copies(kind):
    arr = _dense(3)
    t = getattr(torch.tensor(arr), f"to_sparse_{kind}")(
        *([BLOCKED.get(kind)] if kind[0] == "b" else [])
    )
    ci, pi = (x.numpy().tolist() for x in (_indices(t) and [torch.tensor(v) for v in _indices(t)]))
    layout = getattr(torch, f"sparse_{kind}")
    made = torch.sparse_compressed_tensor(
        torch.tensor(ci), torch.tensor(pi), t.values(), arr.shape, layout=layout
    )
    mine = cr.sparse_compressed_tensor(cr.tensor(ci), cr.tensor(pi), cr.tensor(t.values().numpy()), arr.shape, layout=getattr(cr, f"sparse_{kind}"))  # fmt: skip
    assert repr(made) == repr(mine)
    own = getattr(cr, f"sparse_{kind}_tensor")(ci, pi, cr.tensor(t.values().numpy()))
    ref = getattr(torch, f"sparse_{kind}_tensor")(ci, pi, t.values())
    assert tuple(own.shape) == tuple(ref.shape)
    for name in ("crow_indices_copy", "col_indices_copy", "ccol_indices_copy", "row_indices_copy"):
        assert _error(lambda: getattr(torch, name)(made)) == _error(lambda: getattr(cr, name)(mine))
        if _error(lambda: getattr(torch, name)(made)) is None:
            assert getattr(torch, name)(made).tolist() == getattr(cr, name)(mine).tolist()
    assert _error(lambda: torch.row_indices_copy(torch.ones(2, 2))) == _error(
        lambda: cr.row_indices_copy(cr.ones(2, 2))
    )


INVALID = [
    ("csc", [0, 1, 3], [0, 1], [1.0, 2.0], (2, 2)),
    ("csc", [1, 1, 2], [0, 1], [1.0, 2.0], (2, 2)),
    ("csc", [0, 2, 2], [1, 0], [1.0, 2.0], (2, 2)),
    ("csc", [0, 2, 2], [0, 5], [1.0, 2.0], (2, 2)),
    ("csc", [0, 2], [0, 1], [1.0, 2.0], (2, 2)),
    ("csc", [0, 1, 2], [0], [1.0, 2.0], (2, 2)),
    ("csc", [0, 1, 2], [0, 1], [1.0, 2.0], (2, 2, 2)),
    ("csc", [0, 2, 1, 2], [0, 1], [1.0, 2.0], (2, 3)),
    ("bsr", [0, 1], [1], np.ones((1, 2, 2)), (2, 2)),
    ("bsr", [0, 1], [0], np.ones((1, 2, 3)), (2, 2)),
    ("bsr", [0, 1], [0], np.ones((1, 2, 2)), (3, 2)),
    ("bsr", [0, 1], [0], np.ones((1, 2, 2)), (4, 2)),
    ("bsr", [0, 1], [0], np.ones((1, 2)), (2, 2)),
    ("bsc", [0, 2], [1, 0], np.ones((2, 1, 1)), (3, 1)),
    ("bsc", [0, 1], [5], np.ones((1, 1, 1)), (3, 1)),
]


@pytest.mark.parametrize("case", INVALID)
def test_invariants_as_torch(case):
    kind, ci, pi, vals, size = case
    ref = _error(lambda: getattr(torch, f"sparse_{kind}_tensor")(ci, pi, torch.tensor(vals, dtype=torch.float32), size, check_invariants=True))  # fmt: skip
    got = _error(lambda: getattr(cr, f"sparse_{kind}_tensor")(ci, pi, cr.tensor(np.asarray(vals, np.float32)), size))  # fmt: skip
    assert ref is not None and ref == got


@pytest.mark.parametrize("kind", ["csc", "bsr", "bsc"])
def test_products_as_torch(kind):
    arr = _dense(4).astype(np.float32)
    BLOCKED.update(bsr=(2, 2), bsc=(2, 2))  # square blocks: PyTorch's products refuse others
    x = np.random.default_rng(5).standard_normal((6, 3)).astype(np.float32)
    y = np.random.default_rng(6).standard_normal((2, 4)).astype(np.float32)
    v = np.ones(6, np.float32)
    t = _convert(torch, arr, "bsr") if kind == "bsr" else None
    if t is not None:  # non-square blocks: PyTorch's error
        c, x_ = _convert(cr, arr, "bsr"), np.ones((6, 1), np.float32)
        BLOCKED.update(bsr=(2, 3))
        t, c = _convert(torch, arr, "bsr"), _convert(cr, arr, "bsr")
        assert _error(lambda: t @ torch.tensor(x_)) == _error(lambda: c @ cr.tensor(x_))
        BLOCKED.update(bsr=(2, 2))
    cases = [
        lambda L, s: s @ L.tensor(x),
        lambda L, s: L.mm(s, L.tensor(x)),
        lambda L, s: L.addmm(L.ones(4, 3), s, L.tensor(x)),
        lambda L, s: s.mv(L.tensor(v)),
        lambda L, s: L.tensor(y) @ s,
        lambda L, s: L.ones(4) @ s,
        lambda L, s: s.sum(),
        lambda L, s: s.sum(0),
    ]
    for case in cases:
        t, c = _convert(torch, arr, kind), _convert(cr, arr, kind)
        err = _error(lambda: case(torch, t))
        assert err == _error(lambda: case(cr, c))
        if err is None:
            np.testing.assert_allclose(
                case(torch, t).numpy(), case(cr, c).numpy(), rtol=1e-5, atol=1e-5
            )
    BLOCKED.update(bsr=(2, 3), bsc=(2, 1))


@pytest.mark.parametrize("kind", ["csc", "bsr", "bsc"])
def test_arithmetic_and_unary(kind):
    arr = _dense(7).astype(np.float32)
    for op in (lambda s: s * 2, lambda s: -s, lambda s: s + s, lambda s: s.abs(), lambda s: s.sin(), lambda s: s / 2, lambda s: s.relu(), lambda s: F.relu(s) if hasattr(s, "_sp_values") else TF.relu(s)):  # fmt: skip
        t, c = _convert(torch, arr, kind), _convert(cr, arr, kind)
        err = _error(lambda: op(t))
        assert err == _error(lambda: op(c))
        if err is None:
            _same(op(t), op(c))


@pytest.mark.parametrize("kind", ["csc", "bsr", "bsc"])
def test_gradients_through_values(kind):
    arr = _dense(8).astype(np.float32)
    x = np.random.default_rng(9).standard_normal((6, 2)).astype(np.float32)
    grads = []
    for L in (torch, cr):
        d = L.tensor(arr, requires_grad=True)
        s = d.to_sparse_csc() if kind == "csc" else getattr(d, f"to_sparse_{kind}")(BLOCKED[kind])
        assert s.grad_fn.name() == f"ToSparse{kind.capitalize()}Backward0"
        (s.to_dense() * L.tensor(arr)).sum().backward()
        grads.append(d.grad.numpy())
        # through the values of a constructed matrix, also of a product (PyTorch's gradient
        # of a dense source through a product is dense: chainrule's stays on the entries)
        v = L.tensor(s.values().detach().numpy(), requires_grad=True)
        idx = _indices(s)
        m = getattr(L, f"sparse_{kind}_tensor")(idx[0], idx[1], v, arr.shape)
        out = (m.to_dense() ** 2).sum()
        if kind == "csc":  # (BSR products need square blocks, BSC ones a dense left side)
            out = out + (m @ L.tensor(x)).sum()
        out.backward()
        grads.append(v.grad.numpy())
    for a, b in zip(grads[:2], grads[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    blocks = np.random.default_rng(10).standard_normal((2, 2, 3)).astype(np.float32)
    got = []
    for L in (torch, cr):
        v = L.tensor(blocks, requires_grad=True)
        s = L.sparse_bsr_tensor([0, 1, 2], [0, 1], v, (4, 6))
        (s.to_dense() ** 2).sum().backward()
        got.append(v.grad.numpy())
    np.testing.assert_allclose(got[0], got[1], rtol=1e-5, atol=1e-6)


def test_to_sparse_layout_errors():
    arr = _dense(11)
    for code in (
        "d.to_sparse(layout=L.sparse_bsr)",
        "d.to_sparse(layout=L.sparse_csc, blocksize=(2, 2))",
        "d.to_sparse(blocksize=(2, 2))",
        "d.to_sparse_bsr((3, 2))",
        "d.to_sparse_bsr((0, 2))",
        "d.to_sparse_bsr((2, 2, 2))",
        "d.to_sparse_csc(dense_dim=1)",
        "d.to_sparse_bsr((2, 3)).to_sparse_bsr((1, 1))",
        "d.to_sparse_bsc((2, 3)).to_sparse_bsr((1, 1))",
        "d.to_sparse_bsr((2, 3)).to_sparse(layout=L.sparse_bsc)",
        "d.coalesce()",
        "d.is_coalesced()",
        "d.to_sparse_csc().indices()",
        "d.to_sparse_bsr((2, 3)).coalesce()",
        "L.sparse_compressed_tensor(L.tensor([0, 1]), L.tensor([0]), L.ones(1), (1, 1))",
    ):
        ref = _error(lambda: eval(code, {"d": torch.tensor(arr), "L": torch}))
        assert ref is not None and ref == _error(lambda: eval(code, {"d": cr.tensor(arr), "L": cr}))
    for L in (torch, cr):
        s = L.tensor(arr).to_sparse(layout=L.sparse_bsc, blocksize=(2, 3))
        assert _indices(s) == _indices(torch.tensor(arr).to_sparse_bsc((2, 3)))


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_inplace_unary_and_functional(layout):
    arr = _dense(12).astype(np.float32)
    names = ["abs_", "neg_", "sqrt_", "sin_", "relu_", "floor_", "expm1_", "tanh_", "square_", "exp_", "zero_", "nan_to_num_"]  # fmt: skip
    calls = [lambda s, n=n: getattr(s, n)() for n in names]
    calls += [lambda s: s.mul_(2), lambda s: s.div_(2), lambda s: s.add_(s), lambda s: s.sub_(s), lambda s: s.pow_(2)]  # fmt: skip
    for call in calls:
        outs = []
        for L in (torch, cr):
            d = L.tensor(arr)
            s = d.to_sparse() if layout == "coo" else d.to_sparse_csr()
            err = _error(lambda s=s, call=call: call(s))
            outs.append((err and err[0], None if err else (s._version, s.to_dense().numpy())))
        assert outs[0][0] == outs[1][0], call
        if outs[0][1] is not None:
            assert outs[0][1][0] == outs[1][1][0]
            np.testing.assert_allclose(
                outs[0][1][1], outs[1][1][1], equal_nan=True, rtol=1e-5, atol=1e-6
            )
    for fn in ("relu", "tanhshrink"):
        ref = _error(lambda fn=fn: getattr(TF, fn)(torch.tensor(arr).to_sparse()))
        assert ref is None
        _same(
            getattr(TF, fn)(torch.tensor(arr).to_sparse()),
            getattr(F, fn)(cr.tensor(arr).to_sparse()),
        )


def test_uncoalesced_self_add_keeps_entries():
    idx, vals = [[0, 1, 0, 2], [1, 0, 1, 2]], [1.0, 2.0, 3.0, 4.0]
    other = ([[0, 0], [1, 1]], [5.0, 6.0])
    for build in (lambda L: L.sparse_coo_tensor(idx, vals, (3, 3)),):
        t, c = build(torch), build(cr)
        for f in (
            lambda s, L: s + s,
            lambda s, L: s + s.coalesce(),
            lambda s, L: s - L.sparse_coo_tensor(*other, (3, 3)),
        ):
            a, b = f(t, torch), f(c, cr)
            assert a._nnz() == b._nnz() and a.is_coalesced() == b.is_coalesced()
            assert a._indices().tolist() == b._indices().tolist()
            np.testing.assert_allclose(a._values().numpy(), b._values().numpy())
