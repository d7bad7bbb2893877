"""More layers against PyTorch (float64): the lazy 3-D / transposed convolutions and lazy
norms, the 3-D padding layers, ``CrossMapLRN2d`` and ``NLLLoss2d``."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

from ._helpers import close

LAZY = [
    ("LazyConv3d", (4, 3), dict(padding=1, stride=2), (2, 3, 5, 6, 5)),
    ("LazyConv3d", (4, (3, 2, 2)), dict(groups=2, bias=False), (2, 4, 5, 6, 5)),
    ("LazyConv3d", (2, 2), dict(padding_mode="reflect", padding=1), (3, 4, 4, 4)),
    ("LazyConvTranspose1d", (4, 3), dict(stride=2, output_padding=1), (2, 3, 5)),
    ("LazyConvTranspose2d", (4, 3), dict(stride=2, padding=1, groups=2, dilation=2), (2, 4, 5, 4)),
    ("LazyConvTranspose3d", (2, 2), dict(stride=2, bias=False), (2, 3, 3, 4, 3)),
    ("LazyBatchNorm1d", (), {}, (5, 3)),
    ("LazyBatchNorm1d", (), dict(eps=1e-3), (5, 3, 4)),
    ("LazyBatchNorm2d", (), dict(momentum=None), (5, 3, 4, 2)),
    ("LazyBatchNorm3d", (), dict(bias=False), (5, 3, 4, 2, 2)),
    ("LazyBatchNorm3d", (), dict(track_running_stats=False), (5, 3, 4, 2, 2)),
    ("LazyInstanceNorm1d", (), {}, (5, 3, 4)),
    ("LazyInstanceNorm2d", (), dict(affine=False), (5, 3, 4, 3)),
    ("LazyInstanceNorm3d", (), dict(track_running_stats=False), (2, 3, 4, 3, 3)),
]


@pytest.mark.parametrize("name", sorted({case[0] for case in LAZY}))
def test_lazy_signature_matches_torch(name):
    def params(cls):
        return [
            (p.name, p.default, p.kind) for p in inspect.signature(cls.__init__).parameters.values()
        ]

    assert params(getattr(nn, name)) == params(getattr(torch.nn, name))


@pytest.mark.parametrize("name, args, kw, shape", LAZY)
def test_lazy_materialises_like_torch(name, args, kw, shape):
    mt = getattr(torch.nn, name)(*args, **kw, dtype=torch.float64)
    mc = getattr(nn, name)(*args, **kw, dtype=cr.float64)
    assert repr(mc) == repr(mt)
    assert mc.has_uninitialized_params() == mt.has_uninitialized_params()
    assert (
        any(
            isinstance(v, (nn.UninitializedParameter, nn.UninitializedBuffer))
            for v in [*mc.parameters(), *mc.buffers()]
        )
        == mt.has_uninitialized_params()
    )
    assert list(mc.state_dict()) == list(mt.state_dict())
    a = np.random.default_rng(0).standard_normal(shape)
    mt(torch.tensor(a))
    mc(cr.tensor(a))
    assert type(mc).__name__ == type(mt).__name__ == name[4:]
    assert not any(
        isinstance(v, (nn.UninitializedParameter, nn.UninitializedBuffer))
        for v in [*mc.parameters(), *mc.buffers()]
    )
    assert repr(mc) == repr(mt)
    sdt = mt.state_dict()
    assert list(mc.state_dict()) == list(sdt)
    for k, v in mc.state_dict().items():
        assert tuple(v.shape) == tuple(sdt[k].shape) and v.dtype == sdt[k].numpy().dtype, k
    # copy torch's materialised weights (and statistics), then outputs and gradients agree
    mc.load_state_dict({k: cr.tensor(v.numpy()) for k, v in sdt.items()})
    for mode in ("train", "eval"):
        getattr(mt, mode)()
        getattr(mc, mode)()
        xt, xc = torch.tensor(a, requires_grad=True), cr.tensor(a, requires_grad=True)
        yt, yc = mt(xt), mc(xc)
        close(yc, yt, 1e-9)
        g = np.random.default_rng(1).standard_normal(tuple(yt.shape))
        yt.backward(torch.tensor(g))
        yc.backward(cr.tensor(g))
        close(xc.grad, xt.grad, 1e-9)
        for (kc, pc), (kt, pt) in zip(mc.named_parameters(), mt.named_parameters()):
            assert kc == kt
            close(pc.grad, pt.grad, 1e-9)
        for k, v in mt.state_dict().items():
            close(mc.state_dict()[k].numpy(), v.numpy(), 1e-9)


def test_lazy_placeholders_and_load_state_dict():
    bn = nn.LazyBatchNorm2d()
    with pytest.raises(RuntimeError, match="uninitialized"):
        _ = bn.running_mean.shape
    with pytest.raises(RuntimeError, match="uninitialized"):
        _ = bn.weight.shape
    src = nn.BatchNorm2d(5)
    src.running_mean.data[...] = 0.5
    bn.load_state_dict(src.state_dict())  # materialises from the checkpoint's sizes
    assert bn.num_features == 5 and not bn.has_uninitialized_params()
    np.testing.assert_array_equal(bn.running_mean.numpy(), 0.5)
    bn(cr.randn(2, 5, 3, 3))
    assert type(bn) is nn.BatchNorm2d
    tc = nn.LazyConvTranspose2d(4, 3, groups=2)
    tc.load_state_dict(nn.ConvTranspose2d(6, 4, 3, groups=2).state_dict())
    assert tc.in_channels == 6 and tuple(tc.weight.shape) == (6, 2, 3, 3)


def test_lazy_unbatched_and_bad_inputs():
    inorm = nn.LazyInstanceNorm1d()
    inorm(cr.randn(3, 7))  # unbatched: channels are dim 0 (PyTorch misreads dim 1 here)
    assert inorm.num_features == 3
    conv = nn.LazyConvTranspose1d(2, 3)
    conv(cr.randn(4, 6))
    assert conv.in_channels == 4
    with pytest.raises(RuntimeError, match="Expected 4D \\(unbatched\\) or 5D"):
        nn.LazyConv3d(2, 3)(cr.randn(2, 3))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.LazyConvTranspose2d(4, 3, groups=2)(cr.randn(1, 3, 5, 5))
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        nn.LazyConvTranspose3d(2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="num_features"):
        nn.LazyBatchNorm1d()(cr.randn(4))


# ----------------------------------------------------------------------------- 3-D padding
@pytest.mark.parametrize(
    "name", ["ReflectionPad3d", "ReplicationPad3d", "CircularPad3d", "ZeroPad3d"]
)
@pytest.mark.parametrize("padding", [1, (1, 2, 0, 2, 2, 1)])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5, 6), (3, 4, 5, 6)])
def test_pad3d_matches_torch(name, padding, shape):
    a = np.random.default_rng(2).standard_normal(shape)
    xc, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    mc, mt = getattr(nn, name)(padding), getattr(torch.nn, name)(padding)
    yc, yt = mc(xc), mt(xt)
    close(yc, yt)
    g = np.random.default_rng(3).standard_normal(tuple(yt.shape))
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    close(xc.grad, xt.grad)
    assert repr(mc) == repr(mt) and mc.padding == mt.padding


def test_pad3d_errors_and_zero_pad_any_rank():
    with pytest.raises(RuntimeError, match="less than"):
        nn.ReflectionPad3d(4)(cr.randn(1, 1, 4, 5, 6))
    with pytest.raises(RuntimeError, match="at most"):
        nn.CircularPad3d((0, 0, 0, 0, 5, 0))(cr.randn(1, 1, 4, 5, 6))
    with pytest.raises(NotImplementedError, match="Padding size 6 is not supported"):
        nn.ReplicationPad3d(1)(cr.randn(4, 5, 6))  # F.pad's error, as torch's layer
    with pytest.raises(ValueError, match="6 ints"):
        nn.ReflectionPad3d((1, 1))
    z = nn.ZeroPad3d((1, 0, 0, 1, 1, 1))
    assert isinstance(z, nn.ConstantPad3d)
    close(z(cr.ones(4, 5, 6)), torch.nn.ZeroPad3d((1, 0, 0, 1, 1, 1))(torch.ones(4, 5, 6)))


# ----------------------------------------------------------------------------- CrossMapLRN2d
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("channels", [1, 2, 3, 6])
def test_cross_map_lrn2d_matches_torch_forward_and_gradient(size, channels):
    """The gradient is PyTorch's legacy backward, value for value (not the derivative of
    the forward: tests/test_small_fixes_session29.py); size=1 has no backward in either."""
    a = np.random.default_rng(size * 10 + channels).standard_normal((2, channels, 2, 3))
    xc, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    mc, mt = nn.CrossMapLRN2d(size, 0.3, 0.75, 2.0), torch.nn.CrossMapLRN2d(size, 0.3, 0.75, 2.0)
    assert repr(mc) == repr(mt)
    yc, yt = mc(xc), mt(xt)
    close(yc, yt, 1e-12)
    g = np.random.default_rng(5).standard_normal(a.shape)
    if size == 1:
        with pytest.raises(RuntimeError, match="exceeds dimension size"):
            yt.backward(torch.tensor(g))
        with pytest.raises(RuntimeError, match=r"^start \(1\) \+ length \(\d\) exceeds dimension"):
            yc.backward(cr.tensor(g))
        return
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    close(xc.grad, xt.grad, 1e-9)


def test_cross_map_lrn2d_second_order_and_errors():
    x = cr.randn(1, 4, 2, 2, dtype=cr.float64, requires_grad=True)
    (gx,) = cr.autograd.grad(nn.CrossMapLRN2d(3, 0.5, 0.75, 1.0)(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward"):  # PyTorch's raises too
        gx.sum().backward()
    with pytest.raises(ValueError, match="Expected input to be 4D, got 3D instead"):
        nn.CrossMapLRN2d(3)(cr.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match="floating-point"):
        nn.CrossMapLRN2d(3)(cr.ones(1, 2, 2, 2, dtype=cr.int64))
    with pytest.raises(ZeroDivisionError):
        nn.CrossMapLRN2d(0)(cr.randn(1, 2, 2, 2))


# ----------------------------------------------------------------------------- NLLLoss2d
def test_nllloss2d_warns_and_equals_nllloss():
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        mc = nn.NLLLoss2d(ignore_index=1, reduction="sum")
        mt = torch.nn.NLLLoss2d(ignore_index=1, reduction="sum")
    cats = [w.category for w in got]
    assert cats == [FutureWarning, FutureWarning] and got[0].filename == __file__
    assert str(got[0].message) == str(got[1].message)
    assert isinstance(mc, nn.NLLLoss) and mc.ignore_index == 1 and mc.reduction == "sum"
    rng = np.random.default_rng(6)
    a = np.log(rng.dirichlet(np.ones(3), size=(2, 4, 5))).transpose(0, 3, 1, 2).copy()
    target = rng.integers(0, 3, (2, 4, 5))
    xc, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    lc, lt = mc(xc, cr.tensor(target)), mt(xt, torch.tensor(target))
    close(lc, lt)
    lc.backward()
    lt.backward()
    close(xc.grad, xt.grad)
