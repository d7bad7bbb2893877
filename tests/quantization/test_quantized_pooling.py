"""Pooling and shape ops on quantized tensors against PyTorch (x86 engine): max pooling,
adaptive average pooling (torch's rounding), flatten/reshape/cat, the shape queries,
``nn.Flatten``/``nn.Identity``, and a ResNet-style block converted by eager-mode static
quantization, bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

tq, cq = torch.ao.quantization, cr.ao.quantization
F32 = np.float32


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def _pair(x, scale=0.05, zp=100, dtype="quint8"):
    t = torch.quantize_per_tensor(torch.tensor(x), scale, zp, getattr(torch, dtype))
    c = cr.quantize_per_tensor(cr.tensor(x), scale, zp, getattr(cr, dtype))
    return t, c


def _same(c, t) -> None:
    assert c.dtype.name == str(t.dtype).split(".")[1]
    assert tuple(c.shape) == tuple(t.shape)
    assert c.q_scale() == t.q_scale() and c.q_zero_point() == t.q_zero_point()
    np.testing.assert_array_equal(c.int_repr().numpy(), t.int_repr().numpy())


@pytest.mark.parametrize(
    "args",
    [
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=2),
        dict(kernel_size=2, ceil_mode=True),
        dict(kernel_size=2, stride=1, dilation=2),
        dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0)),
    ],
)
@pytest.mark.parametrize("dtype,zp", [("quint8", 100), ("qint8", -3)])
def test_max_pool2d(args, dtype, zp) -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 7)).astype(F32) * 3
    t, c = _pair(x, 0.05, zp, dtype)
    _same(cr.nn.functional.max_pool2d(c, **args), torch.nn.functional.max_pool2d(t, **args))
    _same(cr.nn.MaxPool2d(**args)(c), torch.nn.MaxPool2d(**args)(t))
    _same(
        cr.nn.functional.max_pool2d(c.reshape(6, 7, 7), **args),
        torch.nn.functional.max_pool2d(t.reshape(6, 7, 7), **args),
    )


def test_max_pool2d_refusals() -> None:
    x = np.ones((1, 2, 4, 4), F32)
    _, c = _pair(x)
    with pytest.raises(NotImplementedError, match="max_pool2d_with_indices"):
        cr.nn.functional.max_pool2d(c, 2, return_indices=True)
    pc = cr.quantize_per_channel(
        cr.tensor(x), cr.tensor([0.1, 0.2]), cr.tensor([0, 0]), 1, cr.quint8
    )
    with pytest.raises(RuntimeError, match="kPerTensorAffine"):
        cr.nn.functional.max_pool2d(pc, 2)


@pytest.mark.parametrize(
    "shape,out",
    [
        ((4, 8, 7, 7), 1),
        ((4, 8, 7, 7), (3, 2)),
        ((4, 8, 6, 6), (3, 3)),
        ((2, 16, 30, 30), (7, 7)),  # bins of 20, 24, 30 elements: float32(1/n) matters
        ((2, 8, 17, 13), (5, 3)),
        ((3, 5, 9), (2, 4)),
        ((2, 4, 5, 5), (None, 2)),
    ],
)
@pytest.mark.parametrize("dtype,zp", [("quint8", 100), ("quint8", 0), ("qint8", 5)])
def test_adaptive_avg_pool2d_rounding(shape, out, dtype, zp) -> None:
    x = np.random.default_rng(1).uniform(-8, 8, shape).astype(F32)
    t, c = _pair(x, 0.05, zp, dtype)
    _same(
        cr.nn.functional.adaptive_avg_pool2d(c, out),
        torch.nn.functional.adaptive_avg_pool2d(t, out),
    )
    _same(cr.nn.AdaptiveAvgPool2d(out)(c), torch.nn.AdaptiveAvgPool2d(out)(t))


def test_shape_ops_and_queries() -> None:
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5)).astype(F32)
    t, c = _pair(x)
    assert c.size() == t.size() and c.shape == t.shape and c.dim() == t.dim() == 4
    assert c.size(1) == t.size(1) == 3
    _same(cr.flatten(c, 1), torch.flatten(t, 1))
    _same(cr.flatten(c), torch.flatten(t))
    _same(cr.reshape(c, (6, -1)), torch.reshape(t, (6, -1)))
    _same(c.view(2, -1), t.view(2, -1))
    _same(cr.nn.Flatten()(c), torch.nn.Flatten()(t))
    assert cr.nn.Identity()(c) is c
    _same(c.unsqueeze(0).squeeze(0), t.unsqueeze(0).squeeze(0))
    _same(cr.flatten(c, 2).unsqueeze(-1), torch.flatten(t, 2).unsqueeze(-1))
    with pytest.raises(RuntimeError, match="invalid for input of size 120"):
        cr.reshape(c, (7, -1))


def test_cat() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((2, 3, 4)).astype(F32), rng.standard_normal((2, 2, 4)) * 3
    ta, ca = _pair(x)
    tb, cb = _pair(y.astype(F32), 0.1, 90)
    _same(cr.cat([ca, ca], 1), torch.cat([ta, ta], 1))
    _same(cr.cat([ca, cb], 1), torch.cat([ta, tb], 1))  # the second requantized
    _same(cr.cat([cb, ca], -2), torch.cat([tb, ta], -2))
    _, c8 = _pair(x, 0.05, 0, "qint8")
    with pytest.raises(RuntimeError, match="All dtypes must be the same"):
        cr.cat([ca, c8])
    with pytest.raises(NotImplementedError):
        cr.cat([ca, cr.tensor(x)])


def _block(lib, q, nnq):
    nn = lib.nn

    class Block(nn.Module):
        """Stem conv-bn-relu, max pool, a residual pair with a FloatFunctional add,
        adaptive average pool, flatten, linear."""

        def __init__(self) -> None:
            super().__init__()
            self.quant = q.QuantStub()
            self.conv1, self.bn1, self.relu1 = (
                nn.Conv2d(3, 8, 3, padding=1),
                nn.BatchNorm2d(8),
                nn.ReLU(),
            )
            self.pool = nn.MaxPool2d(3, 2, 1)
            self.conv2, self.bn2, self.relu2 = (
                nn.Conv2d(8, 8, 3, padding=1),
                nn.BatchNorm2d(8),
                nn.ReLU(),
            )
            self.conv3, self.bn3 = nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8)
            self.add = nnq.FloatFunctional()
            self.relu3 = nn.ReLU()
            self.avg = nn.AdaptiveAvgPool2d((1, 1))
            self.flat = nn.Flatten()
            self.fc = nn.Linear(8, 5)
            self.dequant = q.DeQuantStub()

        def forward(self, x):
            x = self.pool(self.relu1(self.bn1(self.conv1(self.quant(x)))))
            y = self.bn3(self.conv3(self.relu2(self.bn2(self.conv2(x)))))
            y = self.relu3(self.add.add(x, y))
            return self.dequant(self.fc(self.flat(self.avg(y))))

    return Block()


FUSE = [["conv1", "bn1", "relu1"], ["conv2", "bn2", "relu2"], ["conv3", "bn3"]]


@pytest.mark.parametrize("qconfig", ["x86", "default"])
def test_resnet_block_static_quantization_bit_exact(qconfig) -> None:
    torch.manual_seed(0)
    tm = _block(torch, tq, torch.ao.nn.quantized)
    with torch.no_grad():
        for m in tm.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    cm = _block(cr, cq, cr.ao.nn.quantized)
    cm.load_state_dict({k: cr.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    tm.eval()
    cm.eval()
    tf, cf = tq.fuse_modules(tm, FUSE), cq.fuse_modules(cm, FUSE)
    tf.qconfig = tq.get_default_qconfig("x86") if qconfig == "x86" else tq.default_qconfig
    cf.qconfig = cq.get_default_qconfig("x86") if qconfig == "x86" else cq.default_qconfig
    tp, cp = tq.prepare(tf), cq.prepare(cf)
    assert repr(cp) == repr(tp)
    rng = np.random.default_rng(4)
    for _ in range(2):
        x = rng.standard_normal((4, 3, 14, 14)).astype(F32)
        tp(torch.tensor(x))
        cp(cr.tensor(x))
    # torch's calibration state, so that the comparison is of the quantized arithmetic
    cp.load_state_dict({k: cr.tensor(v.numpy()) for k, v in tp.state_dict().items()})
    tc, cc = tq.convert(tp), cq.convert(cp)
    assert repr(cc) == repr(tc)
    x = rng.standard_normal((6, 3, 14, 14)).astype(F32)
    out_t, out_c = tc(torch.tensor(x)), cc(cr.tensor(x))
    np.testing.assert_array_equal(out_c.numpy(), out_t.numpy())
    assert np.unique(out_t.numpy()).size > 10  # not a degenerate (constant) output


@pytest.mark.parametrize("zp", [0, 3, 100])
def test_adaptive_avg_pool2d_after_quantized_conv(zp) -> None:
    """torch's quantized convolutions output channels-last tensors, whose adaptive average
    pooling rounds exact halves by another rule (bins of 20, 24, 30, 36 elements); ReLU,
    max pooling and adds keep that layout, ``contiguous()`` ends it."""
    rng = np.random.default_rng(5)
    w = rng.uniform(-1, 1, (16, 4, 1, 1)).astype(F32)
    b = rng.uniform(-0.5, 0.5, 16).astype(F32)
    x = rng.uniform(-1, 1, (2, 4, 30, 30)).astype(F32)
    tconv, cconv = torch.ao.nn.quantized.Conv2d(4, 16, 1), cr.ao.nn.quantized.Conv2d(4, 16, 1)
    tconv.set_weight_bias(torch.quantize_per_tensor(torch.tensor(w), 0.01, 0, torch.qint8),
                          torch.tensor(b))  # fmt: skip
    cconv.set_weight_bias(cr.quantize_per_tensor(cr.tensor(w), 0.01, 0, cr.qint8), cr.tensor(b))
    for m in (tconv, cconv):
        m.scale, m.zero_point = 0.02, zp
    t, c = _pair(x, 0.01, 128)
    to, co = tconv(t), cconv(c)
    _same(co, to)
    ttf = torch.ao.nn.quantized.QFunctional()
    ctf = cr.ao.nn.quantized.QFunctional()
    ttf.scale = ctf.scale = 0.03
    ttf.zero_point = ctf.zero_point = zp
    for out in [(7, 7), (5, 3), (1, 1)]:
        F_t, F_c = torch.nn.functional, cr.nn.functional
        _same(F_c.adaptive_avg_pool2d(co, out), F_t.adaptive_avg_pool2d(to, out))
        _same(F_c.adaptive_avg_pool2d(co.contiguous(), out),
              F_t.adaptive_avg_pool2d(to.contiguous(), out))  # fmt: skip
        _same(F_c.adaptive_avg_pool2d(F_c.relu(F_c.max_pool2d(co, 5)), 1),
              F_t.adaptive_avg_pool2d(F_t.relu(F_t.max_pool2d(to, 5)), 1))  # fmt: skip
        _same(F_c.adaptive_avg_pool2d(ctf.add(co, co), out),
              F_t.adaptive_avg_pool2d(ttf.add(to, to), out))  # fmt: skip
