"""Ops that use compiled kernels, pinned against PyTorch under both kernel paths.

The ``kernel_backend`` fixture runs each test with the NumPy fallback and with Numba taking
every array (MIN_PARALLEL_SIZE = 1), so forward, backward and double backward below all go
through the compiled kernels on the Numba run.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule._kernels import dispatch, jit

TOL = {"float32": dict(rtol=2e-6, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-12)}

OPS = {
    "relu": (lambda m, x: m.relu(x)),
    "sigmoid": (lambda m, x: m.sigmoid(x)),
    "tanh": (lambda m, x: m.tanh(x)),
    "softmax_last": (lambda m, x: m.softmax(x, -1)),
    "softmax_dim0": (lambda m, x: m.softmax(x, 0)),  # not the last dim: the NumPy path
    "relu_chain": (lambda m, x: m.relu(x * 2 - 1).sigmoid() * m.tanh(x)),
}


def _pair(arr):
    return cr.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    x.reshape(-1)[:3] = [0.0, -0.0, 1e-8]
    return x


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(OPS))
def test_forward_backward_vs_torch(kernel_backend, name, dtype):
    fn = OPS[name]
    x, tx = _pair(_data((7, 33), dtype))
    g = _data((7, 33), dtype, seed=1)
    y, ty = fn(cr, x), fn(torch, tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    assert x.grad.dtype == cr.float32 if dtype == "float32" else cr.float64
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("name", sorted(OPS))
def test_double_backward_vs_torch(kernel_backend, name):
    fn = OPS[name]
    x, tx = _pair(_data((5, 9), "float64", seed=2))
    v, tv = _pair(_data((5, 9), "float64", seed=3))
    (gx,) = cr.autograd.grad(fn(cr, x), x, v, create_graph=True)
    (tgx,) = torch.autograd.grad(fn(torch, tx), tx, tv, create_graph=True)
    np.testing.assert_allclose(gx.detach().numpy(), tgx.detach().numpy(), **TOL["float64"])
    w = _data((5, 9), "float64", seed=4)
    grads = cr.autograd.grad((gx * gx * cr.tensor(w)).sum(), (x, v), allow_unused=True)
    tgrads = torch.autograd.grad(
        (tgx * tgx * torch.tensor(w)).sum(), (tx, tv), allow_unused=True, materialize_grads=True
    )
    for g, tg in zip(grads, tgrads):  # None: does not depend on it (relu's mask), as zeros
        got = np.zeros(tg.shape) if g is None else g.numpy()
        np.testing.assert_allclose(got, tg.numpy(), **TOL["float64"])


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax_last"])
def test_gradcheck_and_gradgradcheck(kernel_backend, name):
    fn = OPS[name]
    x = cr.tensor(_data((3, 5), "float64", seed=4) + 0.05, requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: fn(cr, t), (x,))
    assert cr.autograd.gradgradcheck(lambda t: fn(cr, t), (x,))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax_last"])
def test_non_contiguous_input(kernel_backend, name):
    """A transposed view (not C-contiguous) takes the NumPy path with equal results."""
    fn = OPS[name]
    base = _data((33, 7), "float32", seed=5)
    x, tx = _pair(base)
    y, ty = fn(cr, x.transpose(0, 1)), fn(torch, tx.transpose(0, 1))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **TOL["float32"])
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL["float32"])


def test_special_values_vs_torch(kernel_backend):
    vals = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 100.0, -100.0, 89.0, -104.0], np.float32)
    for name in ("relu", "sigmoid", "tanh"):
        y = OPS[name](cr, cr.tensor(vals)).numpy()
        ty = OPS[name](torch, torch.tensor(vals)).numpy()
        np.testing.assert_allclose(y, ty, rtol=2e-6, atol=1e-38, equal_nan=True)
    rows = np.array([[1e4, 1e4, -1e4], [np.nan, 0.0, 1.0], [-np.inf, 0.0, 1.0]], np.float32)
    np.testing.assert_allclose(
        cr.softmax(cr.tensor(rows), -1).numpy(),
        torch.softmax(torch.tensor(rows), -1).numpy(),
        rtol=2e-6,
        atol=1e-30,
        equal_nan=True,
    )


def test_dispatch_takes_the_compiled_path_only_under_numba(kernel_backend):
    from chainrule._kernels import dispatch

    x = _data((4, 6), "float32")
    got = [
        dispatch.relu(x),
        dispatch.sigmoid(x),
        dispatch.softmax_last(x, 1),
        dispatch.relu_grad(x, x),
        dispatch.tanh_grad(x, x),
        dispatch.sigmoid_grad(x, x),
        dispatch.softmax_last_grad(x, x, 1),
    ]
    if kernel_backend == "numba":
        assert all(isinstance(a, np.ndarray) and a.shape == x.shape for a in got)
        assert dispatch.softmax_last(x, 0) is None  # not the last dim
        assert dispatch.sigmoid(x.astype(np.float64)) is None  # float32 only
    else:
        assert all(a is None for a in got)


@pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")
@pytest.mark.parametrize("g_layout", ["same", "nchw", "broadcast"])
def test_activation_gradients_take_the_kernel_in_conv_layout(g_layout, monkeypatch):
    """A conv output lives in (C, N, H, W) memory behind its (N, C, H, W) shape: the ReLU,
    tanh and sigmoid gradient kernels take it (and a gradient laid out otherwise, copied
    into y's layout) instead of NumPy's masked where, with the values of torch."""
    monkeypatch.setattr(jit, "MIN_PARALLEL_SIZE", 1)
    rng = np.random.default_rng(3)
    y = rng.standard_normal((5, 3, 4, 6)).astype(np.float32)
    y_cnhw = np.ascontiguousarray(y.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    g = rng.standard_normal(y.shape).astype(np.float32)
    if g_layout == "same":
        g = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    elif g_layout == "broadcast":
        g = np.broadcast_to(g[:, :, :1, :1], y.shape)
    ty, tg = torch.tensor(y), torch.tensor(np.ascontiguousarray(g))
    expected = {
        "relu_grad": torch.ops.aten.threshold_backward(tg, ty, 0.0),
        "tanh_grad": torch.ops.aten.tanh_backward(tg, ty),
        "sigmoid_grad": torch.ops.aten.sigmoid_backward(tg, ty),
    }
    with jit.use_backend("numba"):
        for name, want in expected.items():
            got = getattr(dispatch, name)(g, y_cnhw)
            assert got is not None, name
            assert got.strides == y_cnhw.strides, name  # y's layout, carried upstream
            np.testing.assert_allclose(got, want.numpy(), rtol=2e-6, atol=1e-6, err_msg=name)


@pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")
@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(OPS))
def test_blocks_on_the_compiled_pool_vs_torch(name, dtype, threads, monkeypatch):
    """Large arrays run the kernels cut into blocks on the compiled pool (the threshold
    patched down, odd sizes so the blocks are unequal), with torch's values and gradients."""
    monkeypatch.setattr(jit, "MIN_PARALLEL_SIZE", 1)
    monkeypatch.setattr(jit, "POOL_MIN_ELEMENTS", 1)
    calls = []
    real = dispatch._on_pool
    monkeypatch.setattr(dispatch, "_on_pool", lambda *a: calls.append(real(*a)) or calls[-1])
    before = cr.get_num_threads()
    cr.set_num_threads(threads)
    try:
        with jit.use_backend("numba"):
            fn = OPS[name]
            x, tx = _pair(_data((7, 33), dtype))
            g = _data((7, 33), dtype, seed=1)
            y, ty = fn(cr, x), fn(torch, tx)
            np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
            y.backward(cr.tensor(g))
            ty.backward(torch.tensor(g))
            np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL[dtype])
    finally:
        cr.set_num_threads(before)
    if name != "softmax_dim0":  # not the last dim: NumPy's path
        assert any(calls)  # the blocks ran on the pool
