"""Differentiable F.pad modes and Conv1d/Conv2d ``padding_mode`` against PyTorch (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F

from ._helpers import copy_params

MODES = ["reflect", "replicate", "circular"]
PADS = [
    ((2, 3, 5), (2, 3)),
    ((1, 2, 4, 5), (1, 2, 3, 0)),
    ((1, 2, 4, 5), (4, 2, 3, 1)),
    ((2, 1, 3, 4, 2), (1, 1, 2, 1, 0, 1)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape, p", PADS)
def test_pad_values_and_grads(mode, shape, p):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    xt, xc = torch.tensor(a, requires_grad=True), cr.tensor(a, requires_grad=True)
    yt = torch.nn.functional.pad(xt, p, mode=mode)
    yc = F.pad(xc, p, mode=mode)
    np.testing.assert_array_equal(yc.data, yt.detach().numpy())
    g = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(g))
    yc.backward(cr.tensor(g))
    np.testing.assert_allclose(xc.grad.data, xt.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_pad_gradcheck(mode):
    x = cr.tensor(np.random.default_rng(1).standard_normal((1, 1, 3, 3)), requires_grad=True)

    def fn(t):
        return F.pad(t, (2, 1, 1, 2), mode=mode) ** 2

    assert cr.autograd.gradcheck(fn, (x,))
    assert cr.autograd.gradgradcheck(fn, (x,))


def test_pad_width_errors():
    with pytest.raises(RuntimeError, match="less than"):
        F.pad(cr.randn(1, 1, 3), (3, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="at most"):
        F.pad(cr.randn(1, 1, 3), (4, 0), mode="circular")
    with pytest.raises(NotImplementedError, match="^Unrecognised padding mode mirror$"):
        F.pad(cr.randn(1, 1, 3), (1, 0), mode="mirror")


CONVS = [
    ("Conv1d", (2, 3, 7), dict(kernel_size=3, padding=2)),
    ("Conv1d", (3, 7), dict(kernel_size=4, padding="same", dilation=2)),
    ("Conv2d", (2, 3, 6, 5), dict(kernel_size=3, padding=1, stride=2)),
    ("Conv2d", (1, 3, 6, 5), dict(kernel_size=(3, 2), padding=(2, 1), groups=3)),
    ("Conv2d", (1, 3, 5, 6), dict(kernel_size=(2, 3), padding="same")),
    ("Conv2d", (1, 3, 5, 6), dict(kernel_size=3, padding="valid")),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, shape, kw", CONVS)
def test_conv_padding_mode_matches_torch(mode, name, shape, kw):
    torch.manual_seed(0)
    mt = getattr(torch.nn, name)(3, 6, padding_mode=mode, **kw).double()
    mc = getattr(cr.nn, name)(3, 6, padding_mode=mode, dtype=cr.float64, **kw)
    copy_params(mc, mt)
    rng = np.random.default_rng(2)
    a = rng.standard_normal(shape)
    xt, xc = torch.tensor(a, requires_grad=True), cr.tensor(a, requires_grad=True)
    yt, yc = mt(xt), mc(xc)
    np.testing.assert_allclose(yc.data, yt.detach().numpy(), atol=1e-10)
    g = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(g))
    yc.backward(cr.tensor(g))
    np.testing.assert_allclose(xc.grad.data, xt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(mc.weight.grad.data, mt.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(mc.bias.grad.data, mt.bias.grad.numpy(), atol=1e-10)
    assert repr(mc) == repr(mt)


def test_conv_padding_mode_errors_match_torch():
    for mod in (torch.nn, cr.nn):
        with pytest.raises(ValueError, match="padding_mode"):
            mod.Conv2d(1, 1, 3, padding_mode="mirror")
        with pytest.raises(ValueError, match="zeros"):
            mod.ConvTranspose2d(1, 1, 3, padding_mode="reflect")
