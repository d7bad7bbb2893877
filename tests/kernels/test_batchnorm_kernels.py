"""Training-mode batch norm through the compiled kernels, against PyTorch under both kernel
paths, for NCHW- and channel-major (CNHW) stored inputs, and the kernels against their
NumPy fallbacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule._kernels import batchnorm, jit

TOL = {"float32": dict(rtol=2e-5, atol=2e-5), "float64": dict(rtol=1e-10, atol=1e-10)}


def _input(shape, dtype, channel_major, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    if channel_major:  # the same values stored (C, N, ...), as chainrule's conv output
        x = np.ascontiguousarray(x.swapaxes(0, 1)).swapaxes(0, 1)
    return x


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("channel_major", [False, True])
@pytest.mark.parametrize(
    ("shape", "affine"),
    [((4, 3, 5, 6), True), ((4, 3, 5, 6), False), ((6, 5), True), ((3, 4, 7), True)],
)
def test_batch_norm_vs_torch(kernel_backend, dtype, channel_major, shape, affine):
    xa = _input(shape, dtype, channel_major)
    c = shape[1]
    rng = np.random.default_rng(1)
    wa, ba = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    ga = rng.standard_normal(shape).astype(dtype)
    x, tx = cr.tensor(xa, requires_grad=True), torch.tensor(xa, requires_grad=True)
    w, tw = (
        (cr.tensor(wa, requires_grad=True), torch.tensor(wa, requires_grad=True))
        if affine
        else (None, None)
    )
    b, tb = (
        (cr.tensor(ba, requires_grad=True), torch.tensor(ba, requires_grad=True))
        if affine
        else (None, None)
    )
    cdt, tdt = getattr(cr, dtype), getattr(torch, dtype)
    rm, rv = cr.zeros(c, dtype=cdt), cr.ones(c, dtype=cdt)
    trm, trv = torch.zeros(c, dtype=tdt), torch.ones(c, dtype=tdt)
    y = cr.nn.functional.batch_norm(x, rm, rv, w, b, True, 0.1, 1e-5)
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, True, 0.1, 1e-5)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), **TOL[dtype])
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), **TOL[dtype])
    y.backward(cr.tensor(ga))
    ty.backward(torch.tensor(ga))
    pairs = [(x, tx)] + ([(w, tw), (b, tb)] if affine else [])
    for a, t in pairs:
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), **TOL[dtype])


def test_batch_norm_double_backward_vs_torch(kernel_backend):
    xa = _input((3, 2, 4, 4), "float64", True, seed=2)
    rng = np.random.default_rng(3)
    wa, va = rng.standard_normal(2), rng.standard_normal((3, 2, 4, 4))
    outs = []
    for m in (cr, torch):
        x, w = m.tensor(xa, requires_grad=True), m.tensor(wa, requires_grad=True)
        y = m.nn.functional.batch_norm(x, None, None, w, None, True)
        (gx,) = m.autograd.grad((y * m.tensor(va)).sum(), x, create_graph=True)
        outs.append([g.detach().numpy() for g in m.autograd.grad((gx * gx).sum(), (x, w))])
    for a, t in zip(*outs):
        np.testing.assert_allclose(a, t, **TOL["float64"])


@pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 4, 37), (5, 6, 1), (2, 3, 8)])
def test_kernels_match_fallbacks(dtype, shape):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    xv = np.ascontiguousarray(x.transpose(1, 0, 2))  # (C, N, L)
    c = shape[1]
    w, b = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    res = []
    for fn in (batchnorm.batch_norm_forward.compiled, batchnorm.batch_norm_forward.fallback):
        y, st = np.empty_like(xv), np.empty((3, c))
        fn(xv, w, b, 1e-5, y, st)
        res.append((y, st))
    tol = TOL[np.dtype(dtype).name]
    for a, t in zip(*res):
        np.testing.assert_allclose(a, t, **tol)
    g = rng.standard_normal(xv.shape).astype(dtype)
    k = rng.standard_normal(c)
    back = []
    for fn in (batchnorm.batch_norm_backward.compiled, batchnorm.batch_norm_backward.fallback):
        dx, sums = np.empty_like(g), np.empty((2, c))
        fn(g, xv, res[0][1][0], res[0][1][2], k, dx, sums)
        back.append((dx, sums))
    for a, t in zip(*back):
        np.testing.assert_allclose(a, t, **tol)


def test_dispatch_layouts(kernel_backend):
    from chainrule._kernels import dispatch

    for cm in (False, True):
        x = _input((4, 3, 5, 6), "float32", cm)
        out = dispatch.batch_norm_forward(x, None, None, 1e-5)
        if kernel_backend == "numba":
            y, mean, _var, invstd = out
            assert y.strides == x.strides  # layout kept
            g = np.ones_like(x)
            assert dispatch.batch_norm_backward(g, x, mean, invstd, np.ones(3)) is not None
        else:
            assert out is None
    odd = np.zeros((4, 6, 3, 5), np.float32).transpose(0, 2, 3, 1)  # channels-last: NumPy
    assert dispatch.batch_norm_forward(odd, None, None, 1e-5) is None
