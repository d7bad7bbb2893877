"""Evaluation-mode batch norm as one per-channel affine pass (ops/batch_norm_eval.py), and
the composed path it leaves for a weight or bias that needs a gradient, against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule._kernels import jit
from chainrule.ops.batch_norm_eval import BatchNormEvalFn

RNG = np.random.default_rng(5)


def _args(dtype, c=3, shape=(4, 3, 5, 6)):
    x = RNG.standard_normal(shape).astype(dtype)
    stats = (RNG.standard_normal(c).astype(dtype), RNG.uniform(0.5, 2, c).astype(dtype))
    params = (RNG.standard_normal(c).astype(dtype), RNG.standard_normal(c).astype(dtype))
    return x, stats, params


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("layout", ["nchw", "cnhw", "2d"])
def test_eval_batch_norm_matches_torch(backend, dtype, affine, layout, monkeypatch):
    if backend == "numba" and not jit.numba_available():
        pytest.skip("numba is not installed")
    monkeypatch.setattr(jit, "MIN_PARALLEL_SIZE", 1)
    x, (rm, rv), (w, b) = _args(dtype, shape=(4, 3) if layout == "2d" else (4, 3, 5, 6))
    if layout == "cnhw":  # a conv output's memory
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    targs = [torch.tensor(a) for a in (rm, rv)] + [
        torch.tensor(a) if affine else None for a in (w, b)
    ]
    cargs = [cr.tensor(a) for a in (rm, rv)] + [cr.tensor(a) if affine else None for a in (w, b)]
    with jit.use_backend(backend):
        yc = F.batch_norm(cx, *cargs, training=False, eps=1e-3)
        yt = TF.batch_norm(tx, *targs, training=False, eps=1e-3)
        assert yc.grad_fn._forward_cls is BatchNormEvalFn
        tol = dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), **tol)
        if layout == "cnhw":  # chainrule's convolution layout is kept (memory_format.py
            assert yc._data.strides == cx._data.strides  # _channel_major), unlike torch
        else:
            assert yc.stride() == yt.stride()  # PyTorch's: x.suggest_memory_format()
        g = RNG.standard_normal(x.shape).astype(dtype)
        yc.backward(cr.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), **tol)


def test_eval_batch_norm_gradcheck_and_forward_mode():
    x, (rm, rv), (w, b) = _args(np.float64)
    cx = cr.tensor(x, requires_grad=True)
    stats = [cr.tensor(rm), cr.tensor(rv), cr.tensor(w), cr.tensor(b)]

    def fn(a):
        return F.batch_norm(a, *stats, training=False)

    assert cr.autograd.gradcheck(fn, (cx,))
    assert cr.autograd.gradgradcheck(fn, (cx,))
    t = RNG.standard_normal(x.shape)
    _, tangent = cr.func.jvp(fn, (cr.tensor(x),), (cr.tensor(t),))
    _, want = torch.func.jvp(
        lambda a: TF.batch_norm(a, *[torch.tensor(v) for v in (rm, rv, w, b)], training=False),
        (torch.tensor(x),),
        (torch.tensor(t),),
    )
    np.testing.assert_allclose(tangent.numpy(), want.numpy(), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("grad_of", ["weight", "bias"])
def test_parameters_needing_gradients_take_the_composed_path(grad_of):
    x, (rm, rv), (w, b) = _args(np.float64)
    cw, cb = cr.tensor(w, requires_grad=grad_of == "weight"), cr.tensor(b, requires_grad=True)
    tw, tb = torch.tensor(w, requires_grad=grad_of == "weight"), torch.tensor(b, requires_grad=True)
    if grad_of == "weight":
        cb, tb = cr.tensor(b), torch.tensor(b)
    yc = F.batch_norm(cr.tensor(x), cr.tensor(rm), cr.tensor(rv), cw, cb, training=False)
    yt = TF.batch_norm(torch.tensor(x), torch.tensor(rm), torch.tensor(rv), tw, tb, training=False)
    assert yc.grad_fn is not None and yc.grad_fn._forward_cls is not BatchNormEvalFn
    (yc * yc).sum().backward()
    (yt * yt).sum().backward()
    c_param, t_param = (cw, tw) if grad_of == "weight" else (cb, tb)
    np.testing.assert_allclose(c_param.grad.numpy(), t_param.grad.numpy(), rtol=1e-12)


def test_no_grad_eval_batch_norm_records_nothing():
    x, (rm, rv), (w, b) = _args(np.float32)
    cx = cr.tensor(x, requires_grad=True)
    with cr.no_grad():
        y = F.batch_norm(cx, *[cr.tensor(a) for a in (rm, rv, w, b)], training=False)
    assert y.grad_fn is None and not y.requires_grad
