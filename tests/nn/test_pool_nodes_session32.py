"""Pooling as PyTorch records it (session 32): ``avg_pool3d`` is one ``AvgPool3DBackward0``
node, ``max_pool3d`` one ``MaxPool3DWithIndicesBackward0``, adaptive max pooling one
``AdaptiveMaxPool2D/3DBackward0`` (1-d: Unsqueeze -> AdaptiveMaxPool2D -> Squeeze, as
PyTorch), and unbatched inputs of every pooling op give PyTorch's graph (no extra
Squeeze/Unsqueeze nodes around the pool); max_pool2d always shows ``_saved_self``.

Values, gradients, gradgradcheck and forward-vs-reverse of these ops are in the op-spec
table too (tests/ops/op_specs_pool_extra.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(32)


def F(lib):
    return lib.nn.functional


def _graph(fn) -> list:
    """Node names along next_functions, depth first (a node seen twice is not re-walked)."""
    out, seen = [], set()

    def walk(f, depth):
        if f is None:
            return
        out.append((depth, f.name() if hasattr(f, "name") else type(f).__name__))
        if id(f) in seen:
            return
        seen.add(id(f))
        for nf, _ in f.next_functions:
            walk(nf, depth + 1)

    walk(fn, 0)
    return out


def _norm(name):
    # a leaf's AccumulateGrad: torch::autograd::AccumulateGrad in both
    return name.replace("torch::autograd::", "")


def _both(call, shape, dtype=np.float64):
    a = RNG.standard_normal(shape).astype(dtype)
    tx = torch.tensor(a, requires_grad=True)
    cx = cr.tensor(a, requires_grad=True)
    return a, (tx, call(torch, tx)), (cx, call(cr, cx))


GRAPH_CASES = [
    ("avg_pool3d", lambda L, x: F(L).avg_pool3d(x, 2), (1, 2, 4, 4, 4)),
    ("avg_pool3d_unbatched", lambda L, x: F(L).avg_pool3d(x, 3, 2, 1), (2, 5, 4, 4)),
    ("AvgPool3d", lambda L, x: L.nn.AvgPool3d(2, ceil_mode=True)(x), (1, 2, 5, 4, 4)),
    ("max_pool3d", lambda L, x: F(L).max_pool3d(x, 2), (1, 2, 4, 4, 4)),
    ("max_pool3d_unbatched", lambda L, x: F(L).max_pool3d(x, 3, 1, 1), (2, 4, 4, 4)),
    ("MaxPool3d", lambda L, x: L.nn.MaxPool3d(2)(x), (2, 4, 4, 4)),
    ("max_pool3d_idx", lambda L, x: F(L).max_pool3d(x, 2, return_indices=True)[0], (2, 4, 4, 4)),
    ("adaptive_avg_pool3d", lambda L, x: F(L).adaptive_avg_pool3d(x, 2), (2, 4, 4, 4)),
    ("adaptive_max_pool3d", lambda L, x: F(L).adaptive_max_pool3d(x, 2), (1, 2, 4, 4, 4)),
    ("adaptive_max_pool3d_uneven", lambda L, x: F(L).adaptive_max_pool3d(x, 3), (2, 4, 5, 4)),
    ("avg_pool2d_unbatched", lambda L, x: F(L).avg_pool2d(x, 2), (2, 4, 4)),
    ("max_pool2d_unbatched", lambda L, x: F(L).max_pool2d(x, 2), (2, 4, 4)),
    (
        "max_pool2d_unbatched_idx",
        lambda L, x: F(L).max_pool2d(x, 3, 1, 1, return_indices=True)[0],
        (2, 5, 5),
    ),
    ("AvgPool2d_unbatched", lambda L, x: L.nn.AvgPool2d(2)(x), (2, 4, 4)),
    ("MaxPool2d_unbatched", lambda L, x: L.nn.MaxPool2d(2)(x), (2, 4, 4)),
    ("avg_pool1d", lambda L, x: F(L).avg_pool1d(x, 2), (1, 2, 4)),
    ("avg_pool1d_unbatched", lambda L, x: F(L).avg_pool1d(x, 2), (2, 4)),
    ("max_pool1d_unbatched", lambda L, x: F(L).max_pool1d(x, 2), (2, 4)),
    (
        "max_pool1d_unbatched_idx",
        lambda L, x: F(L).max_pool1d(x, 2, return_indices=True)[0],
        (2, 4),
    ),
    ("adaptive_avg_pool2d_unbatched", lambda L, x: F(L).adaptive_avg_pool2d(x, 3), (2, 5, 5)),
    ("adaptive_avg_pool1d_unbatched", lambda L, x: F(L).adaptive_avg_pool1d(x, 3), (2, 5)),
    ("adaptive_max_pool2d", lambda L, x: F(L).adaptive_max_pool2d(x, 2), (1, 2, 4, 4)),
    ("adaptive_max_pool2d_uneven", lambda L, x: F(L).adaptive_max_pool2d(x, 3), (1, 2, 5, 5)),
    ("adaptive_max_pool2d_unbatched", lambda L, x: F(L).adaptive_max_pool2d(x, 2), (2, 4, 4)),
    (
        "AdaptiveMaxPool2d_unbatched_uneven",
        lambda L, x: L.nn.AdaptiveMaxPool2d((3, 2))(x),
        (2, 5, 5),
    ),
    ("lp_pool2d_inf", lambda L, x: F(L).lp_pool2d(x, float("inf"), 2), (1, 2, 4, 4)),
    ("lp_pool1d", lambda L, x: F(L).lp_pool1d(x, 2, 2), (1, 2, 4)),
    ("lp_pool1d_unbatched", lambda L, x: F(L).lp_pool1d(x, 3, 2), (2, 4)),
    ("lp_pool2d_unbatched", lambda L, x: F(L).lp_pool2d(x, 2, 2), (2, 4, 4)),
    ("lp_pool3d", lambda L, x: F(L).lp_pool3d(x, 2, 2), (1, 2, 4, 4, 4)),
    ("lp_pool3d_unbatched", lambda L, x: F(L).lp_pool3d(x, 1.5, 2), (2, 4, 4, 4)),
    ("adaptive_max_pool1d", lambda L, x: F(L).adaptive_max_pool1d(x, 3), (1, 2, 7)),
    ("adaptive_max_pool1d_unbatched", lambda L, x: F(L).adaptive_max_pool1d(x, 2), (2, 6)),
    (
        "adaptive_max_pool2d_with_indices",
        lambda L, x: F(L).adaptive_max_pool2d_with_indices(x, (2, 3))[0],
        (2, 5, 7),
    ),
]


@pytest.mark.parametrize(
    "call,shape", [c[1:] for c in GRAPH_CASES], ids=[c[0] for c in GRAPH_CASES]
)
def test_graph_is_torchs(call, shape):
    _, (_, ty), (_, cy) = _both(call, shape)
    want = [(d, _norm(n)) for d, n in _graph(ty.grad_fn)]
    got = [(d, _norm(n)) for d, n in _graph(cy.grad_fn)]
    assert got == want


@pytest.mark.parametrize(
    "call,shape",
    [
        (lambda L, x: F(L).avg_pool3d(x, 2), (1, 2, 4, 4, 4)),
        (lambda L, x: F(L).avg_pool3d(x, 2), (2, 4, 4, 4)),
        (lambda L, x: F(L).max_pool3d(x, 2), (1, 2, 4, 4, 4)),
        (lambda L, x: F(L).max_pool3d(x, 3, 1, 1), (2, 4, 4, 4)),
        (lambda L, x: F(L).adaptive_max_pool3d(x, 3), (1, 2, 4, 5, 4)),
        (lambda L, x: F(L).adaptive_max_pool2d(x, 3), (2, 5, 5)),
        (lambda L, x: F(L).adaptive_max_pool2d(x, 2), (1, 2, 4, 4)),
        (lambda L, x: F(L).avg_pool2d(x, 2), (2, 4, 4)),
        (lambda L, x: F(L).max_pool2d(x, 2), (2, 4, 4)),
    ],
)
def test_double_backward_nodes_and_values_as_torch(call, shape):
    """The gradient's node (``...BackwardBackward0``) and the second-order gradients."""
    results = []
    pairs = _both(call, shape)[1:]
    v0 = RNG.standard_normal(tuple(pairs[0][1].shape))
    for lib, (x, y) in zip((torch, cr), pairs):
        v = lib.tensor(v0, requires_grad=True)
        (g,) = lib.autograd.grad(y, x, v, create_graph=True)
        u = lib.tensor(np.linspace(-1.0, 1.0, g.numel()).reshape(tuple(g.shape)))
        (gv,) = lib.autograd.grad((g * u).sum(), v)
        results.append((g.grad_fn.name(), g.detach().numpy(), gv.numpy()))
    (tn, tg, tgv), (cn, cg, cgv) = results
    assert cn == tn
    np.testing.assert_allclose(cg, tg, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cgv, tgv, rtol=1e-12, atol=1e-12)


AVG3D_ARGS = list(
    itertools.product([2, (3, 2, 1)], [None, 1, (1, 2, 3)], [0, (1, 1, 0)], [False, True])
)


@pytest.mark.parametrize("shape", [(2, 3, 5, 6, 7), (3, 5, 6, 7)])
@pytest.mark.parametrize("k,s,p,ceil", AVG3D_ARGS)
def test_avg_pool3d_values_gradients_and_saved_fields(shape, k, s, p, ceil):
    a = RNG.standard_normal(shape)
    for cip, dv in ((True, None), (False, None), (False, 3)):
        kw = dict(
            kernel_size=k,
            stride=s,
            padding=p,
            ceil_mode=ceil,
            count_include_pad=cip,
            divisor_override=dv,
        )
        tx, cx = torch.tensor(a, requires_grad=True), cr.tensor(a, requires_grad=True)
        ty, cy = F(torch).avg_pool3d(tx, **kw), F(cr).avg_pool3d(cx, **kw)
        tn, cn = ty.grad_fn, cy.grad_fn
        assert cn._saved_self is cx
        assert cn.name() == tn.name() == "AvgPool3DBackward0"
        for field in (
            "ceil_mode",
            "count_include_pad",
            "divisor_override",
            "kernel_size",
            "padding",
            "stride",
        ):
            assert getattr(cn, f"_saved_{field}") == getattr(tn, f"_saved_{field}"), field
        g = RNG.standard_normal(tuple(ty.shape))
        ty.backward(torch.tensor(g))
        cy.backward(cr.tensor(g))
        np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_avg_pool3d_dtypes_as_torch():
    x = np.arange(-60, 60).reshape(1, 2, 3, 4, 5)
    yc = F(cr).avg_pool3d(cr.tensor(x), 2, padding=1, ceil_mode=True)
    yt = F(torch).avg_pool3d(torch.tensor(x), 2, padding=1, ceil_mode=True)
    assert yc.dtype == cr.int64
    np.testing.assert_array_equal(yc.numpy(), yt.numpy())
    a = RNG.standard_normal((2, 3, 4, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(
        F(cr).avg_pool3d(cr.tensor(a), 3, 1, 1).numpy(),
        F(torch).avg_pool3d(torch.tensor(a), 3, 1, 1).numpy(),
        rtol=1e-6,
        atol=1e-7,
    )
    for dtype in ("float16", "int32", "bool"):
        with pytest.raises(NotImplementedError, match="not implemented for"):
            F(cr).avg_pool3d(cr.tensor(a).to(getattr(cr, dtype)), 2)
        with pytest.raises(NotImplementedError, match="not implemented for"):
            F(torch).avg_pool3d(torch.tensor(a).to(getattr(torch, dtype)), 2)


def test_avg_pool3d_forward_mode_as_torch():
    a, v = RNG.standard_normal((2, 3, 5, 4, 4)), RNG.standard_normal((2, 3, 5, 4, 4))
    kw = dict(kernel_size=(3, 2, 2), stride=(2, 1, 2), padding=1, count_include_pad=False)
    _, jt = torch.func.jvp(
        lambda x: F(torch).avg_pool3d(x, **kw), (torch.tensor(a),), (torch.tensor(v),)
    )
    _, jc = cr.func.jvp(lambda x: F(cr).avg_pool3d(x, **kw), (cr.tensor(a),), (cr.tensor(v),))
    np.testing.assert_allclose(jc.numpy(), jt.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda L, x: F(L).max_pool3d(x, 2, return_indices=True),
        lambda L, x: F(L).max_pool3d(x, 3, 1, 1, return_indices=True),
        lambda L, x: F(L).max_pool3d(x, 2, 1, 0, 2, True, return_indices=True),
        lambda L, x: F(L).adaptive_max_pool3d(x, (3, 2, 3), return_indices=True),
        lambda L, x: F(L).adaptive_max_pool3d(x[:, :, :4], 2, return_indices=True),
    ],
)
@pytest.mark.parametrize("batched", [True, False])
def test_max_pool3d_special_values_indices_and_grads(call, batched):
    a = RNG.standard_normal((2, 2, 5, 4, 5))
    a[0, 0, :2, :2, :2] = np.nan
    a[0, 1, :3] = -np.inf
    a[1, 0, 1, 1, 1] = np.nan
    a[1, 1, :2, :2, :2] = 1.0  # ties: the first in scan order
    a = a if batched else a[0]
    tx, cx = torch.tensor(a, requires_grad=True), cr.tensor(a, requires_grad=True)
    (ty, ti), (cy, ci) = call(torch, tx), call(cr, cx)
    np.testing.assert_array_equal(ci.numpy(), ti.numpy())
    np.testing.assert_array_equal(cy.detach().numpy(), ty.detach().numpy())
    assert cy.grad_fn.name() == ty.grad_fn.name()
    np.testing.assert_array_equal(cy.grad_fn._saved_result1.numpy(), ci.numpy())
    g = RNG.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    cy.backward(cr.tensor(g))
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_max_pool3d_saved_fields_as_torch():
    a = RNG.standard_normal((2, 3, 5, 6, 7))
    for kw in (dict(kernel_size=2), dict(kernel_size=(2, 1, 2), stride=1, dilation=(1, 2, 1))):
        tx, cx = torch.tensor(a, requires_grad=True), cr.tensor(a, requires_grad=True)
        tn, cn = F(torch).max_pool3d(tx * 1, **kw).grad_fn, F(cr).max_pool3d(cx * 1, **kw).grad_fn
        for field in ("ceil_mode", "dilation", "kernel_size", "padding", "stride"):
            assert getattr(cn, f"_saved_{field}") == getattr(tn, f"_saved_{field}"), field
        np.testing.assert_array_equal(
            cn._saved_self.detach().numpy(), tn._saved_self.detach().numpy()
        )


@pytest.mark.parametrize("shape", [(1, 2, 4, 4), (2, 4, 4)])
def test_max_pool2d_saves_self(shape):
    """``_saved_self`` is always there (a reference to the input), and modifying the input
    in place after forward makes backward raise, as in PyTorch."""
    a = RNG.standard_normal(shape)
    leaf = cr.tensor(a, requires_grad=True)
    x = leaf * 1.0
    y = F(cr).max_pool2d(x, 2)
    assert y.grad_fn._saved_self is x
    x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
        y.sum().backward()
    for L in (torch, cr):  # the avg pools, max_pool3d and adaptive max pooling alike
        for pool in (
            lambda t, L=L: F(L).avg_pool2d(t, 2),
            lambda t, L=L: F(L).avg_pool3d(t[None], (1, 2, 2)),
            lambda t, L=L: F(L).max_pool3d(t[None], (1, 2, 2)),
            lambda t, L=L: F(L).adaptive_max_pool2d(t, 3),
        ):
            x = L.tensor(a, requires_grad=True) * 1.0
            y = pool(x)
            x.mul_(2)
            with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
                y.sum().backward()


@pytest.mark.parametrize(
    "call,shape",
    [
        (lambda L, x: F(L).max_pool2d(x, 2), (2, 0, 4, 4)),
        (lambda L, x: F(L).avg_pool2d(x, 2), (0, 4, 4)),
        (lambda L, x: F(L).max_pool1d(x, 2), (0, 4)),
        (lambda L, x: F(L).avg_pool1d(x, 2), (2, 0, 4)),
        (lambda L, x: F(L).adaptive_max_pool2d(x, 2), (2, 0, 4, 4)),
    ],
)
def test_only_the_batch_may_be_empty(call, shape):
    with pytest.raises(RuntimeError, match="Expected"):
        call(torch, torch.ones(shape))
    with pytest.raises(RuntimeError, match="Expected"):
        call(cr, cr.ones(shape))


@pytest.mark.parametrize(
    "call,shape",
    [
        (lambda L, x: F(L).max_pool3d(x, 2), (0, 2, 4, 4, 4)),
        (lambda L, x: F(L).avg_pool3d(x, 2), (0, 2, 4, 4, 4)),
        (lambda L, x: F(L).adaptive_max_pool3d(x, 3), (0, 2, 4, 4, 4)),
        (lambda L, x: F(L).adaptive_max_pool2d(x, 4), (0, 2, 6, 6)),
        (lambda L, x: F(L).max_pool2d(x, 2), (0, 2, 4, 4)),
    ],
)
def test_empty_batch_runs_forward_and_backward(call, shape):
    for L in (torch, cr):
        x = L.ones(shape, dtype=L.float64, requires_grad=True)
        y = call(L, x)
        y.sum().backward()
        assert tuple(x.grad.shape) == shape
    assert tuple(call(cr, cr.ones(shape)).shape) == tuple(call(torch, torch.ones(shape)).shape)


def test_integer_max_pooling_errors_as_torch():
    ints = np.arange(2 * 2 * 6).reshape(2, 2, 6)
    for L in (torch, cr):
        with pytest.raises(NotImplementedError, match="max_pool1d_impl"):
            F(L).max_pool1d(L.tensor(ints), 2)
        with pytest.raises(NotImplementedError, match="adaptive_max_pool2d"):
            F(L).adaptive_max_pool2d(L.tensor(ints), 2)
    yt, it = F(torch).max_pool1d(torch.tensor(ints), 2, return_indices=True)
    yc, ic = F(cr).max_pool1d(cr.tensor(ints), 2, return_indices=True)
    np.testing.assert_array_equal(yc.numpy(), yt.numpy())
    np.testing.assert_array_equal(ic.numpy(), it.numpy())


@pytest.mark.parametrize("p", [2, 3, 1.5, -1.0])
def test_lp_pool_edge_windows_as_torch(p):
    """Zero, negative and mixed windows: PyTorch's sign * relu(|avg|) form, values and
    gradients (a zero window: 0 ** (1 / p), gradient 0)."""
    a = np.array([[[0.0, 0.0, 1.0, -1.0, 2.0, 3.0, 0.5, 0.25, -2.0, -3.0]]])
    got = []
    for L in (torch, cr):
        x = L.tensor(a, requires_grad=True)
        y = F(L).lp_pool1d(x, p, 2)
        y.sum().backward()
        got.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(got[1][0], got[0][0], rtol=1e-12)
    np.testing.assert_allclose(got[1][1], got[0][1], rtol=1e-12)


_COMPLEX_POOLS = [
    ("max_pool1d", 3, (2,)),
    ("avg_pool1d", 3, (2,)),
    ("avg_pool2d", 4, (2,)),
    ("max_pool2d", 4, (2,)),
    ("avg_pool3d", 5, (2,)),
    ("max_pool3d", 5, (2,)),
    ("adaptive_avg_pool1d", 3, (3,)),
    ("adaptive_avg_pool2d", 4, (3,)),
    ("adaptive_avg_pool3d", 5, (2,)),
    ("adaptive_max_pool1d", 3, (3,)),
    ("adaptive_max_pool2d", 4, (3,)),
    ("adaptive_max_pool3d", 5, (2,)),
    ("lp_pool1d", 3, (2.0, 2)),
    ("lp_pool2d", 4, (2.0, 2)),
    ("local_response_norm", 4, (2,)),
]


@pytest.mark.parametrize("name, ndim, args", _COMPLEX_POOLS, ids=[c[0] for c in _COMPLEX_POOLS])
def test_complex_input_is_refused_as_torch(name, ndim, args):
    """PyTorch's CPU pooling kernels have no complex version (NotImplementedError); chainrule
    compared or averaged the NumPy complex values instead."""
    shape = (2, 3, 4, 4, 4)[:ndim]
    a = np.random.default_rng(0).standard_normal(shape) * (1 + 1j)
    with pytest.raises(NotImplementedError, match="not implemented for 'ComplexDouble'"):
        getattr(torch.nn.functional, name)(torch.tensor(a), *args)
    with pytest.raises(NotImplementedError, match="not implemented for"):
        getattr(cr.nn.functional, name)(cr.tensor(a), *args)
