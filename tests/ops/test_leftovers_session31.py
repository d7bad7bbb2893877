"""Session 31 leftovers, each checked against torch 2.13: node names of avg pooling, the
tanh GELU and prod(dim); sort's result layouts; linalg.cross's ``axis=``."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as CF

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _names(f, shape):
    a = np.random.RandomState(0).randn(*shape).astype(np.float32)
    out = []
    for lib, F in ((torch, TF), (cr, CF)):
        x = lib.tensor(a, requires_grad=True)
        y = f(lib, F, x)
        g = lib.ones_like(y, requires_grad=True)
        (gx,) = lib.autograd.grad(y, x, g, create_graph=True)
        out.append((type(y.grad_fn).__name__, y.grad_fn.name(), gx.grad_fn.name()))
    return out


@pytest.mark.parametrize(
    "f, shape",
    [
        (lambda lib, F, x: F.avg_pool2d(x, 2), (1, 1, 4, 4)),
        (lambda lib, F, x: F.max_pool2d(x, 2), (1, 1, 4, 4)),
    ],
)
def test_node_and_gradient_node_names(f, shape):
    t, c = _names(f, shape)
    assert c == t


@pytest.mark.parametrize(
    "f, shape",
    [
        (lambda lib, F, x: F.avg_pool1d(x, 2), (1, 1, 4)),
        (lambda lib, F, x: x.prod(0), (3, 2)),
        (lambda lib, F, x: x.prod(dim=1, keepdim=True), (3, 2)),
        (lambda lib, F, x: lib.prod(x, 1), (3, 2)),
        (lambda lib, F, x: F.gelu(x, approximate="tanh"), (3,)),
        (lambda lib, F, x: x.prod(), (3, 2)),
        (lambda lib, F, x: x.prod(0), ()),
    ],
)
def test_node_names(f, shape):
    a = np.asarray(np.random.RandomState(0).randn(*shape), dtype=np.float32)
    got = []
    for lib, F in ((torch, TF), (cr, CF)):
        y = f(lib, F, lib.tensor(a, requires_grad=True))
        nexts = [type(n[0]).__name__ for n in y.grad_fn.next_functions]
        got.append((type(y.grad_fn).__name__, nexts))
    assert got[1] == got[0]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_gelu_tanh_values_and_grad(dtype):
    a = np.random.RandomState(1).randn(64).astype(np.float32) * 3
    t = torch.tensor(a).to(getattr(torch, dtype)).requires_grad_()
    c = cr.tensor(a).to(getattr(cr, dtype)).requires_grad_()
    yt, yc = TF.gelu(t, approximate="tanh"), CF.gelu(c, approximate="tanh")
    yt.sum().backward()
    yc.sum().backward()
    tol = {"float32": 5e-6, "float64": 1e-12, "float16": 1e-3, "bfloat16": 1e-2}[dtype]
    np.testing.assert_allclose(yc.detach().float().numpy(), yt.detach().float().numpy(), atol=tol)
    np.testing.assert_allclose(c.grad.float().numpy(), t.grad.float().numpy(), atol=tol)
    assert yc.dtype == c.dtype
    assert yc.grad_fn._saved_approximate == "tanh"


def test_gelu_tanh_gradgradcheck():
    x = cr.randn(6, dtype=cr.float64, requires_grad=True)
    f = lambda v: CF.gelu(v, approximate="tanh")  # noqa: E731
    assert cr.autograd.gradcheck(f, (x,))
    assert cr.autograd.gradgradcheck(f, (x,))


@pytest.mark.parametrize(
    "shape, strides, dim",
    [
        ((2, 1, 3), (6, 7, 2), -1),
        ((2, 1, 3), (6, 7, 2), 0),
        ((2, 1, 3), (6, 7, 2), 1),
        ((2, 1, 3), (3, 5, 1), -1),
        ((2, 1, 3), (3, 5, 1), 0),
        ((2, 1, 3), (1, 9, 2), -1),
        ((1, 2, 3), (40, 3, 1), 1),
        ((2, 1, 3), (1, 1, 2), -1),
        ((2, 0, 3), (3, 3, 1), -1),
        ((0, 2), (5, 1), 1),
        ((3, 1), (1, 1), 0),
    ],
)
@pytest.mark.parametrize("requires_grad", [False, True])
def test_sort_layouts(shape, strides, dim, requires_grad):
    base = np.random.RandomState(0).permutation(64).astype(np.float32)
    got = []
    for lib in (torch, cr):
        x = lib.tensor(base).as_strided(shape, strides)
        if requires_grad:
            x = x.detach().requires_grad_()
        v, i = lib.sort(x, dim=dim)
        vs, is_ = lib.sort(x, dim=dim, descending=True, stable=True)
        got.append(
            (v.stride(), i.stride(), vs.stride(), is_.stride(), lib.argsort(x, dim=dim).stride())
        )
        got.append((v.detach().numpy().tolist(), i.numpy().tolist()))
    assert got[2:] == got[:2]


def test_sort_gradient_on_non_dense_input():
    base = np.random.RandomState(0).randn(64)
    grads = []
    for lib in (torch, cr):
        b = lib.tensor(base, requires_grad=True)
        v, _ = lib.sort(b.as_strided((2, 1, 3), (6, 7, 2)), dim=-1)
        (v * lib.arange(6.0, dtype=v.dtype).reshape(2, 1, 3)).sum().backward()
        grads.append(b.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


def test_linalg_cross_axis_keyword():
    rs = np.random.RandomState(0)
    a, b = rs.randn(2, 3), rs.randn(2, 3)
    want = torch.linalg.cross(torch.tensor(a), torch.tensor(b), axis=1).numpy()
    got = cr.linalg.cross(cr.tensor(a), cr.tensor(b), axis=1).numpy()
    np.testing.assert_allclose(got, want)
    a3, b3 = rs.randn(3, 2), rs.randn(3, 2)
    want = torch.linalg.cross(torch.tensor(a3), torch.tensor(b3), axis=0).numpy()
    np.testing.assert_allclose(cr.linalg.cross(cr.tensor(a3), cr.tensor(b3), axis=0).numpy(), want)
    out = cr.empty(2, 3, dtype=cr.float64)
    cr.linalg.cross(cr.tensor(a), cr.tensor(b), axis=-1, out=out)
    np.testing.assert_allclose(out.numpy(), np.cross(a, b))
    with pytest.raises(TypeError):
        cr.linalg.cross(cr.tensor(a), cr.tensor(b), 1)  # dim is keyword-only, as in PyTorch
