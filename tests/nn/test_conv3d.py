"""3-D convolution and pooling (F.conv3d, F.conv_transpose3d, F.max/avg/adaptive pool3d and
their modules) against PyTorch: values and gradients in float64, module parameters, reprs,
padding modes, float32 outputs and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

from ._helpers import close_rel as close
from ._helpers import copy_params

RNG = np.random.default_rng(0)


def _grads(cr_fn, torch_fn, arrays):
    """Forward values and every input's gradient vs torch for one random upstream gradient."""
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    cs = [cr.tensor(a, requires_grad=True) for a in arrays]
    yt, yc = torch_fn(*ts), cr_fn(*cs)
    assert yc.shape == tuple(yt.shape)
    close(yc.data, yt.detach().numpy())
    gy = RNG.standard_normal(yt.shape)
    gts = torch.autograd.grad(yt, ts, torch.tensor(gy))
    gcs = cr.autograd.grad(yc, cs, cr.tensor(gy))
    for gc, gt in zip(gcs, gts):
        close(gc.data, gt.numpy())


CONV3D = [
    # C, O, k, stride, padding, dilation, groups, (D, H, W)
    (3, 4, 3, 1, 1, 1, 1, (5, 6, 5)),
    (3, 4, 3, 2, 0, 1, 1, (7, 6, 8)),
    (4, 6, (3, 2, 3), (2, 1, 3), (1, 0, 2), (2, 1, 1), 2, (8, 6, 9)),
    (4, 4, 3, 1, 1, 1, 4, (4, 5, 5)),  # depthwise
    (4, 8, 2, 1, 0, 1, 4, (4, 5, 3)),  # depthwise, multiplier 2
    (3, 2, 3, 1, "same", (2, 1, 2), 1, (6, 5, 7)),
    (3, 2, (2, 4, 1), 1, "same", 1, 1, (5, 6, 4)),  # asymmetric 'same'
    (3, 2, 3, 1, "valid", 1, 1, (4, 5, 6)),
    (3, 5, 1, 2, 0, 1, 1, (5, 5, 4)),  # strided 1x1x1
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", CONV3D)
@pytest.mark.parametrize("batched", [True, False])
def test_conv3d_values_and_grads(case, batched):
    c, o, k, s, p, d, g, size = case
    ks = (k,) * 3 if isinstance(k, int) else k
    x = RNG.standard_normal(((2, c) if batched else (c,)) + size)
    w = RNG.standard_normal((o, c // g) + ks)
    b = RNG.standard_normal(o)

    def call(lib):
        return lambda x, w, b: lib.conv3d(x, w, b, s, p, d, g)

    _grads(call(F), call(TF), [x, w, b])


CONVT3D = [
    # Cin, Cout, k, stride, padding, output_padding, groups, dilation, (D, H, W)
    (3, 4, 3, 1, 0, 0, 1, 1, (3, 4, 3)),
    (3, 4, 3, 2, 1, 1, 1, 1, (3, 4, 2)),
    (4, 6, (2, 3, 2), (2, 1, 3), (1, 0, 1), (1, 0, 2), 2, (1, 2, 1), (3, 3, 4)),
    (2, 3, 2, 3, (2, 0, 1), 2, 1, 1, (2, 3, 3)),  # output_padding past the last tap
    (4, 4, 3, 1, 1, 0, 4, 2, (3, 3, 3)),  # depthwise, dilated
    (2, 2, 2, 2, 0, 0, 1, 1, (1, 2, 2)),  # depth 1
]


@pytest.mark.parametrize("case", CONVT3D)
@pytest.mark.parametrize("batched", [True, False])
def test_conv_transpose3d_values_and_grads(case, batched):
    ci, co, k, s, p, op, g, d, size = case
    ks = (k,) * 3 if isinstance(k, int) else k
    x = RNG.standard_normal(((2, ci) if batched else (ci,)) + size)
    w = RNG.standard_normal((ci, co // g) + ks)
    b = RNG.standard_normal(co)

    def call(lib):
        return lambda x, w, b: lib.conv_transpose3d(x, w, b, s, p, op, g, d)

    _grads(call(F), call(TF), [x, w, b])


def test_conv3d_double_backward_matches_torch():
    x, w = RNG.standard_normal((1, 2, 4, 3, 4)), RNG.standard_normal((3, 2, 2, 2, 3))
    xs = [cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)]
    ts = [torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)]
    gc = cr.autograd.grad(
        (F.conv3d(*xs, padding=1, stride=(2, 1, 1)) ** 2).sum(), xs, create_graph=True
    )
    gt = torch.autograd.grad(
        (TF.conv3d(*ts, padding=1, stride=(2, 1, 1)) ** 2).sum(), ts, create_graph=True
    )
    hc = cr.autograd.grad(gc[0].sum() + (gc[1] ** 2).sum(), xs)
    ht = torch.autograd.grad(gt[0].sum() + (gt[1] ** 2).sum(), ts)
    for a, b in zip(hc, ht):
        close(a.data, b.numpy(), 1e-8)


# ----------------------------------------------------------------------------- pooling
POOL = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2, 2), stride=(2, 1, 2), padding=(1, 0, 1), ceil_mode=True),
    dict(kernel_size=(2, 3, 2), stride=2, padding=(1, 1, 0), ceil_mode=True),
    dict(kernel_size=(1, 2, 3), stride=(1, 3, 1)),
]
SHAPES = [(2, 3, 7, 6, 5), (3, 5, 6, 7)]


def _distinct(shape):
    """Values without ties (max pooling's gradient is then unique)."""
    return RNG.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 3.0


@pytest.mark.parametrize("kw", POOL)
@pytest.mark.parametrize("shape", SHAPES)
def test_max_pool3d(kw, shape):
    x = _distinct(shape)
    _grads(lambda a: F.max_pool3d(a, **kw), lambda a: TF.max_pool3d(a, **kw), [x])
    dil = dict(kw, dilation=(2, 1, 2))
    _grads(lambda a: F.max_pool3d(a, **dil), lambda a: TF.max_pool3d(a, **dil), [x])
    yc, ic = F.max_pool3d(cr.tensor(x), return_indices=True, **kw)
    yt, it = TF.max_pool3d(torch.tensor(x), return_indices=True, **kw)
    close(yc.data, yt.numpy())
    assert ic.dtype == cr.int64
    np.testing.assert_array_equal(ic.numpy(), it.numpy())


def test_max_pool3d_ties_pick_the_first_in_scan_order():
    x = np.zeros((1, 1, 4, 4, 4))
    x[0, 0, 1:3, 1:3, 1:3] = 1.0  # every 2x2x2 window holds ties
    _, ic = F.max_pool3d(cr.tensor(x), 2, 1, return_indices=True)
    _, it = TF.max_pool3d(torch.tensor(x), 2, 1, return_indices=True)
    np.testing.assert_array_equal(ic.numpy(), it.numpy())


@pytest.mark.parametrize("kw", POOL)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool3d(kw, shape, count_include_pad):
    x = RNG.standard_normal(shape)
    kw = dict(kw, count_include_pad=count_include_pad)
    _grads(lambda a: F.avg_pool3d(a, **kw), lambda a: TF.avg_pool3d(a, **kw), [x])
    dv = dict(kw, divisor_override=5)
    _grads(lambda a: F.avg_pool3d(a, **dv), lambda a: TF.avg_pool3d(a, **dv), [x])


def test_avg_pool3d_integer_input_divides_toward_zero():
    x = np.arange(-60, 60).reshape(1, 2, 3, 4, 5)
    for kw in (dict(kernel_size=2, ceil_mode=True, padding=1), dict(kernel_size=(3, 2, 2))):
        yc = F.avg_pool3d(cr.tensor(x), **kw)
        yt = TF.avg_pool3d(torch.tensor(x), **kw)
        assert yc.dtype == cr.int64
        np.testing.assert_array_equal(yc.numpy(), yt.numpy())


@pytest.mark.parametrize("out", [1, (3, 2, 4), (None, 3, 2), (4, 3, 3), (7, 6, 5)])
@pytest.mark.parametrize("shape", SHAPES)
def test_adaptive_pool3d(out, shape):
    x = _distinct(shape)
    _grads(lambda a: F.adaptive_avg_pool3d(a, out), lambda a: TF.adaptive_avg_pool3d(a, out), [x])
    _grads(lambda a: F.adaptive_max_pool3d(a, out), lambda a: TF.adaptive_max_pool3d(a, out), [x])


def test_adaptive_max_pool3d_indices():
    x = _distinct((2, 3, 6, 4, 6))
    yc, ic = F.adaptive_max_pool3d(cr.tensor(x), (3, 2, 1), return_indices=True)
    yt, it = TF.adaptive_max_pool3d(torch.tensor(x), (3, 2, 1), return_indices=True)
    close(yc.data, yt.numpy())
    np.testing.assert_array_equal(ic.numpy(), it.numpy())
    for out in ((4, 3, 5), (3, 2, 1), 1):
        yc, ic = F.adaptive_max_pool3d(cr.tensor(x), out, return_indices=True)
        yt, it = TF.adaptive_max_pool3d(torch.tensor(x), out, return_indices=True)
        close(yc.data, yt.numpy())
        np.testing.assert_array_equal(ic.numpy(), it.numpy())
    x = np.zeros((1, 2, 5, 4, 3))
    x[:, :, 1:4, 1:3, 1:] = 1.0  # ties: the first in scan order wins
    yc, ic = F.adaptive_max_pool3d(cr.tensor(x[0]), (2, 3, 2), return_indices=True)
    yt, it = TF.adaptive_max_pool3d(torch.tensor(x[0]), (2, 3, 2), return_indices=True)
    np.testing.assert_array_equal(ic.numpy(), it.numpy())


def test_pool3d_empty_batch():
    x = np.zeros((0, 2, 4, 4, 4))
    for name, args in (("max_pool3d", (2,)), ("avg_pool3d", (2,)), ("adaptive_avg_pool3d", (3,))):
        yc, yt = getattr(F, name)(cr.tensor(x), *args), getattr(TF, name)(torch.tensor(x), *args)
        assert yc.shape == tuple(yt.shape)


# ----------------------------------------------------------------------------- modules
def test_conv3d_module_parameters_and_init():
    m = nn.Conv3d(4, 6, (3, 2, 1), groups=2)
    assert dict(m.named_parameters()).keys() == {"weight", "bias"}
    assert m.weight.shape == (6, 2, 3, 2, 1) and m.bias.shape == (6,)
    bound = 1 / np.sqrt(2 * 3 * 2 * 1)
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.bias.data).max() <= bound
    assert np.abs(m.weight.data).max() > bound / 2  # drawn over the whole range
    assert nn.Conv3d(2, 3, 2, bias=False).bias is None
    assert nn.Conv3d(2, 3, 2, dtype=cr.float64).weight.dtype == cr.float64
    t = nn.ConvTranspose3d(4, 6, 3, groups=2)
    assert t.weight.shape == (4, 3, 3, 3, 3) and t.bias.shape == (6,)


REPRS = [
    ("Conv3d", (4, 6, 3), dict(padding="same", padding_mode="reflect", groups=2, bias=False)),
    ("Conv3d", (4, 6, (1, 2, 3)), dict(stride=2, dilation=(1, 2, 1))),
    ("ConvTranspose3d", (4, 6, 3), dict(stride=2, output_padding=1, groups=2)),
    ("MaxPool3d", (2,), dict()),
    ("MaxPool3d", ((2, 1, 2),), dict(stride=1, padding=(1, 0, 1), dilation=2, ceil_mode=True)),
    ("AvgPool3d", (2,), dict(padding=1)),
    ("AdaptiveAvgPool3d", ((1, None, 2),), dict()),
    ("AdaptiveMaxPool3d", (2, True), dict()),
]


@pytest.mark.parametrize("name,args,kw", REPRS)
def test_module_repr_matches_torch(name, args, kw):
    assert repr(getattr(nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 0, 1), "same", "valid"])
def test_conv3d_module_padding_modes_float32(mode, padding):
    tm = torch.nn.Conv3d(4, 6, (3, 2, 3), padding=padding, padding_mode=mode, groups=2)
    cm = nn.Conv3d(4, 6, (3, 2, 3), padding=padding, padding_mode=mode, groups=2)
    copy_params(cm, tm)
    x = RNG.standard_normal((2, 4, 5, 4, 6)).astype(np.float32)
    yc, yt = cm(cr.tensor(x)), tm(torch.tensor(x))
    assert yc.dtype == cr.float32
    close(yc.data, yt.detach().numpy(), 1e-5)
    assert cm(cr.tensor(x[0])).shape == tuple(tm(torch.tensor(x[0])).shape)


def test_conv_transpose3d_module_float32_and_output_size():
    tm = torch.nn.ConvTranspose3d(4, 6, 3, stride=2, padding=1, groups=2)
    cm = nn.ConvTranspose3d(4, 6, 3, stride=2, padding=1, groups=2)
    copy_params(cm, tm)
    x = RNG.standard_normal((2, 4, 3, 4, 2)).astype(np.float32)
    close(cm(cr.tensor(x)).data, tm(torch.tensor(x)).detach().numpy(), 1e-5)
    for size in ((6, 7, 4), (2, 6, 5, 8, 3)):
        yc = cm(cr.tensor(x), output_size=size)
        yt = tm(torch.tensor(x), output_size=size)
        close(yc.data, yt.detach().numpy(), 1e-5)
    with pytest.raises(ValueError, match="output size"):
        cm(cr.tensor(x), output_size=(9, 7, 4))


def test_pool3d_modules_float32():
    x = _distinct((2, 3, 6, 5, 7)).astype(np.float32)
    for name, args, kw in REPRS[3:]:
        cm, tm = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
        yc, yt = cm(cr.tensor(x)), tm(torch.tensor(x))
        if isinstance(yt, tuple):
            np.testing.assert_array_equal(yc[1].numpy(), yt[1].numpy())
            yc, yt = yc[0], yt[0]
        assert yc.dtype == cr.float32
        close(yc.data, yt.numpy(), 1e-6)
    cm, tm = nn.AvgPool3d(3, 2, 1, True, False, 4), torch.nn.AvgPool3d(3, 2, 1, True, False, 4)
    close(cm(cr.tensor(x)).data, tm(torch.tensor(x)).numpy(), 1e-6)


@pytest.mark.parametrize("name", ["Conv3d", "ConvTranspose3d"])
def test_conv_module_signature_matches_torch(name):
    import inspect

    mine = list(inspect.signature(getattr(nn, name)).parameters)
    assert mine == list(inspect.signature(getattr(torch.nn, name)).parameters)
    t = nn.ConvTranspose3d(2, 4, 3, 2, 1, 1, 2, False, 1)  # torch's positional order
    assert (t.output_padding, t.groups, t.bias, t.dilation) == ((1, 1, 1), 2, None, (1, 1, 1))


def test_module_paths():
    from chainrule.nn.modules.conv import Conv3d, ConvTranspose3d
    from chainrule.nn.modules.pooling import (
        AdaptiveAvgPool3d,
        AdaptiveMaxPool3d,
        AvgPool3d,
        MaxPool3d,
    )

    assert Conv3d is nn.Conv3d and ConvTranspose3d is nn.ConvTranspose3d
    assert MaxPool3d is nn.MaxPool3d and AvgPool3d is nn.AvgPool3d
    assert AdaptiveAvgPool3d is nn.AdaptiveAvgPool3d
    assert AdaptiveMaxPool3d is nn.AdaptiveMaxPool3d


# ----------------------------------------------------------------------------- bad inputs
X5 = np.zeros((1, 4, 4, 4, 4))
W5 = np.zeros((2, 4, 2, 2, 2))
BAD = [
    (lambda m, x, w: m.conv3d(x[0, 0], w), RuntimeError),  # 3-d input
    (lambda m, x, w: m.conv3d(x, w[:, :2]), RuntimeError),  # channels
    (lambda m, x, w: m.conv3d(x, w, padding="full"), RuntimeError),
    (lambda m, x, w: m.conv3d(x, w, stride=2, padding="same"), RuntimeError),
    (lambda m, x, w: m.conv3d(x, w, dilation=4), RuntimeError),  # kernel too big
    (lambda m, x, w: m.conv3d(x, w, groups=3), RuntimeError),
    (lambda m, x, w: m.conv_transpose3d(x, w.swapaxes(0, 1), output_padding=1), RuntimeError),
    (lambda m, x, w: m.max_pool3d(x, 2, padding=2), RuntimeError),
    (lambda m, x, w: m.max_pool3d(x, 5), RuntimeError),
    (lambda m, x, w: m.max_pool3d(x[0, 0], 2), RuntimeError),  # 3-d input
    (lambda m, x, w: m.avg_pool3d(x, 2, divisor_override=0), RuntimeError),
    (lambda m, x, w: m.avg_pool3d(x[:, :0], 2), RuntimeError),  # empty channels
    (lambda m, x, w: m.adaptive_avg_pool3d(x, (2, 2)), (ValueError, RuntimeError)),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_inputs_raise_like_torch(i):
    call, err = BAD[i]
    with pytest.raises(err):
        call(TF, torch.tensor(X5), torch.tensor(W5))
    with pytest.raises(err):
        call(F, cr.tensor(X5), cr.tensor(W5))


def test_bad_module_arguments():
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv3d(4, 6, 3, padding_mode="foo")
    with pytest.raises(ValueError, match="groups"):
        nn.Conv3d(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="zeros"):
        nn.ConvTranspose3d(4, 6, 3, padding_mode="reflect")
