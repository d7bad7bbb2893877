"""Pooling and spatial layers against PyTorch: forward, backward, double backward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

from ._helpers import close_rel as close

RNG = np.random.default_rng(1)


def _check(cr_fn, torch_fn, shape, x=None):
    x = RNG.standard_normal(shape) if x is None else x
    xt = torch.tensor(x, requires_grad=True)
    xc = cr.tensor(x, requires_grad=True)
    yt, yc = torch_fn(xt), cr_fn(xc)
    if isinstance(yt, tuple):
        np.testing.assert_array_equal(yc[1].data, yt[1].numpy())
        assert yc[1].data.dtype == np.int64
        yt, yc = yt[0], yc[0]
    close(yc.data, yt.detach().numpy())
    gy = RNG.standard_normal(yt.shape)
    gyt = torch.tensor(gy, requires_grad=True)
    gyc = cr.tensor(gy, requires_grad=True)
    (gt,) = torch.autograd.grad(yt, xt, gyt, create_graph=True)
    (gc,) = cr.autograd.grad(yc, xc, gyc, create_graph=True)
    close(gc.data, gt.detach().numpy())
    # double backward: d<dx, v>/d(grad_output)
    v = RNG.standard_normal(x.shape)
    if gt.requires_grad:
        (gt * torch.tensor(v)).sum().backward()
        (gc * cr.tensor(v)).sum().backward()
        close(gyc.grad.data, gyt.grad.numpy())


MAX2D = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 1, "padding": 1},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1), "dilation": (2, 1)},
    {"kernel_size": 2, "dilation": 2},
    {"kernel_size": 2, "return_indices": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "return_indices": True},
]


@pytest.mark.parametrize("kw", MAX2D)
def test_max_pool2d(kw):
    _check(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), (2, 3, 9, 10))


def test_max_pool_ties_route_to_one_element():
    x = np.zeros((1, 1, 4, 4))
    _check(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), None, x)
    _check(lambda x: F.max_pool2d(x, 3, 1), lambda x: TF.max_pool2d(x, 3, 1), None, x)
    xc = cr.tensor(x, requires_grad=True)
    F.max_pool2d(xc, 2).sum().backward()
    assert xc.grad.data.sum() == 4 and set(np.unique(xc.grad.data)) == {0.0, 1.0}


AVG2D = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"kernel_size": (2, 4), "stride": (2, 1), "padding": (1, 2)},
    {"kernel_size": 2, "divisor_override": 3},
]


@pytest.mark.parametrize("kw", AVG2D)
def test_avg_pool2d(kw):
    _check(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), (2, 3, 9, 10))


@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"kernel_size": 3, "stride": 1, "dilation": 2},
    ],
)
def test_max_pool1d(kw):
    _check(lambda x: F.max_pool1d(x, **kw), lambda x: TF.max_pool1d(x, **kw), (2, 3, 11))


@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1},
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    ],
)
def test_avg_pool1d(kw):
    _check(lambda x: F.avg_pool1d(x, **kw), lambda x: TF.avg_pool1d(x, **kw), (2, 3, 11))


@pytest.mark.parametrize("size", [1, (3, 3), (3, 5), (4, 7), (2, None)])
def test_adaptive_pools(size):
    _check(
        lambda x: F.adaptive_avg_pool2d(x, size),
        lambda x: TF.adaptive_avg_pool2d(x, size),
        (2, 3, 9, 10),
    )
    _check(
        lambda x: F.adaptive_max_pool2d(x, size),
        lambda x: TF.adaptive_max_pool2d(x, size),
        (2, 3, 9, 10),
    )


def test_adaptive_avg_pool1d():
    _check(
        lambda x: F.adaptive_avg_pool1d(x, 4), lambda x: TF.adaptive_avg_pool1d(x, 4), (2, 3, 10)
    )


@pytest.mark.parametrize(
    "shape,args",
    [
        ((2, 7, 5, 6), (5, 1e-4, 0.75, 2.0)),
        ((2, 7, 5, 6), (4, 1e-2, 0.5, 1.0)),
        ((2, 6, 9), (3, 1e-3, 0.75, 1.0)),
    ],
)
def test_local_response_norm(shape, args):
    _check(
        lambda x: F.local_response_norm(x, *args), lambda x: TF.local_response_norm(x, *args), shape
    )


@pytest.mark.parametrize(
    "kw",
    [
        {"scale_factor": 2},
        {"size": (7, 9)},
        {"size": 3},
        {"scale_factor": (3, 1)},
        {"scale_factor": 1.5},
    ],
)
def test_interpolate_nearest(kw):
    _check(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), (2, 3, 5, 6))


def test_modules_match_functional():
    x = cr.randn(2, 3, 8, 8)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert nn.AvgPool2d(3, 2, 1)(x).shape == (2, 3, 4, 4)
    assert nn.AdaptiveAvgPool2d((1, 1))(x).shape == (2, 3, 1, 1)
    assert nn.AdaptiveMaxPool2d(2)(x).shape == (2, 3, 2, 2)
    assert nn.MaxPool1d(2)(cr.randn(2, 3, 8)).shape == (2, 3, 4)
    assert nn.AvgPool1d(2)(cr.randn(2, 3, 8)).shape == (2, 3, 4)
    assert nn.AdaptiveAvgPool1d(3)(cr.randn(2, 3, 8)).shape == (2, 3, 3)
    assert nn.Upsample(scale_factor=2)(x).shape == (2, 3, 16, 16)
    out = nn.ZeroPad2d((1, 2, 3, 4))(x)
    assert out.shape == (2, 3, 15, 11) and float(out.data[:, :, :3].sum()) == 0.0
    close(
        nn.LocalResponseNorm(5)(x).data,
        TF.local_response_norm(torch.tensor(x.data), 5).numpy(),
        1e-6,
    )
    _y, idx = nn.MaxPool2d(2, return_indices=True)(x)
    np.testing.assert_array_equal(
        idx.data, TF.max_pool2d(torch.tensor(x.data), 2, return_indices=True)[1].numpy()
    )
    assert "kernel_size=2" in repr(nn.MaxPool2d(2))


def test_pool_errors():
    with pytest.raises(ValueError, match="half the kernel"):
        F.max_pool2d(cr.randn(1, 1, 5, 5), 2, padding=2)
    with pytest.raises(ValueError, match="4-D"):
        F.max_pool2d(cr.randn(5, 5), 2)
    with pytest.raises(ValueError, match="too small"):
        F.avg_pool2d(cr.randn(1, 1, 2, 2), 3)
    with pytest.raises(NotImplementedError, match="valid modes"):
        F.interpolate(cr.randn(1, 1, 2, 2), scale_factor=2, mode="cubic")


def test_unbatched_pooling():
    x = cr.randn(3, 8, 8)
    assert F.max_pool2d(x, 2).shape == (3, 4, 4)
    assert F.avg_pool2d(x, 2).shape == (3, 4, 4)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: F.max_pool2d(x, 3, 2, 1),
        lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
    ],
)
def test_forward_mode_matches_finite_differences(fn):
    x = cr.tensor(RNG.standard_normal((2, 3, 7, 7)))
    t = cr.tensor(RNG.standard_normal(x.shape))
    _, jv = cr.func.jvp(fn, (x,), (t,))
    eps = 1e-6
    fd = (fn(x + eps * t).data - fn(x - eps * t).data) / (2 * eps)
    close(jv.data, fd, 1e-6)
    # and the tangent of the gradient (WindowScatter) is linear in the tangent
    g = cr.tensor(RNG.standard_normal(fn(x).shape))
    x.requires_grad_()  # outside jvp's function, which refuses requires_grad_() (as torch.func)
    _, jg = cr.func.jvp(lambda gg: cr.autograd.grad(fn(x), x, gg, create_graph=True)[0], (g,), (g,))
    close(jg.data, cr.autograd.grad(fn(x), x, g)[0].data)
