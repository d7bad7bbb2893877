"""The statically quantized modules and the histogram observer against PyTorch (x86 engine),
bit for bit: quantized ``Linear``/``Conv2d`` (and their fused ReLU forms) on the same
quantized inputs, weights and output qparams, including qparams whose 8-bit products
saturate the 16-bit pair sums; ``QFunctional``'s ops; ``ReLU``/``ReLU6`` on quantized
tensors; ``HistogramObserver``'s histogram and qparams."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ao.nn.quantized import _static_kernels

tnnq, cnnq = torch.ao.nn.quantized, cr.ao.nn.quantized
tniq, cniq = torch.ao.nn.intrinsic.quantized, cr.ao.nn.intrinsic.quantized
F32 = np.float32


@pytest.fixture(autouse=True)
def _quiet():
    # both frameworks warn that quantized tensors are deprecated
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def _q(x: np.ndarray, scale: float, zp: int):
    """The same quint8 tensor in both frameworks."""
    return (
        torch.quantize_per_tensor(torch.tensor(x), scale, zp, torch.quint8),
        cr.quantize_per_tensor(cr.tensor(x), scale, zp, cr.quint8),
    )


def _qweight(w: np.ndarray, per_channel: bool):
    if per_channel:
        scales = (np.abs(w).reshape(w.shape[0], -1).max(1) / 127.5).astype(F32).astype(np.float64)
        zps = np.zeros(w.shape[0], np.int64)
        return (
            torch.quantize_per_channel(
                torch.tensor(w), torch.tensor(scales), torch.tensor(zps), 0, torch.qint8
            ),
            cr.quantize_per_channel(cr.tensor(w), cr.tensor(scales), cr.tensor(zps), 0, cr.qint8),
        )
    scale = float(F32(np.abs(w).max() / 127.5))
    return (
        torch.quantize_per_tensor(torch.tensor(w), scale, 0, torch.qint8),
        cr.quantize_per_tensor(cr.tensor(w), scale, 0, cr.qint8),
    )


def _same(t, c) -> None:
    assert c.dtype is cr.quint8
    assert c.q_scale() == t.q_scale() and c.q_zero_point() == t.q_zero_point()
    np.testing.assert_array_equal(c.int_repr().numpy(), t.int_repr().numpy())


# zx=61 with the full [0, 255] range lets pair sums saturate; zx=0 over [0, 127] cannot
@pytest.mark.parametrize("zx,spread", [(61, 3.0), (0, 1.0)])
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("fused", [False, True])
def test_quantized_linear_matches_torch(zx, spread, per_channel, fused) -> None:
    rng = np.random.default_rng(zx + per_channel)
    x = (rng.standard_normal((3, 40, 37)) * spread).astype(F32)
    w = rng.standard_normal((23, 37)).astype(F32)
    b = (rng.standard_normal(23) * 2).astype(F32)
    tx, cx = _q(x, float(F32(0.0473)), zx)
    tw, cw = _qweight(w, per_channel)
    tcls, ccls = (tniq.LinearReLU, cniq.LinearReLU) if fused else (tnnq.Linear, cnnq.Linear)
    tl, cl = tcls(37, 23), ccls(37, 23)
    tl.set_weight_bias(tw, torch.tensor(b))
    cl.set_weight_bias(cw, cr.tensor(b))
    for m in (tl, cl):
        m.scale, m.zero_point = float(F32(0.0912)), 70
    _same(tl(tx), cl(cx))
    assert repr(cl) == repr(tl)
    assert list(cl.state_dict()) == list(tl.state_dict())
    np.testing.assert_array_equal(cl.bias().numpy(), tl.bias().detach().numpy())


CONV_CASES = [
    {},
    {"stride": 2, "padding": 0},
    {"dilation": 2, "padding": 2},
    {"groups": 2},
    {"in_ch": 4, "out_ch": 4, "groups": 4},
    {"kernel": 1, "padding": 0, "bias": False},
    {"kernel": (3, 1), "stride": (2, 1), "padding": (1, 0)},
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("zx,spread", [(61, 3.0), (0, 1.0)])
def test_quantized_conv2d_matches_torch(case, zx, spread) -> None:
    case = dict(case)
    in_ch, out_ch = case.pop("in_ch", 4), case.pop("out_ch", 6)
    kernel, bias = case.pop("kernel", 3), case.pop("bias", True)
    groups = case.get("groups", 1)
    case.setdefault("padding", 1)
    rng = np.random.default_rng(len(CONV_CASES) + zx)
    x = (rng.standard_normal((2, in_ch, 7, 8)) * spread).astype(F32)
    ks = (kernel, kernel) if isinstance(kernel, int) else kernel
    w = rng.standard_normal((out_ch, in_ch // groups, *ks)).astype(F32)
    b = rng.standard_normal(out_ch).astype(F32)
    tx, cx = _q(x, float(F32(0.0473)), zx)
    tw, cw = _qweight(w, True)
    for tcls, ccls in ((tnnq.Conv2d, cnnq.Conv2d), (tniq.ConvReLU2d, cniq.ConvReLU2d)):
        tc = tcls(in_ch, out_ch, kernel, bias=bias, **case)
        cc = ccls(in_ch, out_ch, kernel, bias=bias, **case)
        tc.set_weight_bias(tw, torch.tensor(b) if bias else None)
        cc.set_weight_bias(cw, cr.tensor(b) if bias else None)
        for m in (tc, cc):
            m.scale, m.zero_point = float(F32(0.15)), 64
        _same(tc(tx), cc(cx))
        assert repr(cc) == repr(tc)
        assert list(cc.state_dict()) == list(tc.state_dict())


def test_qfunctional_matches_torch() -> None:
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((50, 40)) * 3).astype(F32)
    b = (rng.standard_normal((50, 40)) * 2).astype(F32)
    ta, ca = _q(a, float(F32(0.0473)), 61)
    tb, cb = _q(b, float(F32(0.0391)), 120)
    tf, cf = tnnq.QFunctional(), cnnq.QFunctional()
    for m in (tf, cf):
        m.scale, m.zero_point = float(F32(0.0712)), 77
    assert repr(cf) == repr(tf)
    _same(tf.add(ta, tb), cf.add(ca, cb))
    _same(tf.add_relu(ta, tb), cf.add_relu(ca, cb))
    _same(tf.mul(ta, tb), cf.mul(ca, cb))
    _same(tf.cat([ta, tb], 1), cf.cat([ca, cb], 1))
    for c in (0.5, 1.3, -2.0):
        _same(tf.add_scalar(ta, c), cf.add_scalar(ca, c))
    for c in (0.5, -2.0):
        _same(tf.mul_scalar(ta, c), cf.mul_scalar(ca, c))
    assert {k: float(v) for k, v in cf.state_dict().items()} == {
        k: float(v) for k, v in tf.state_dict().items()
    }
    with pytest.raises(NotImplementedError, match="add_scalar"):
        cf.add_scalar(ca, 10.0)
    with pytest.raises(RuntimeError, match="not intended to use the 'forward'"):
        cf(ca)
    with pytest.raises(RuntimeError, match="FloatFunctional is not intended"):
        cnnq.FloatFunctional()(cr.ones(2))


def test_relu_relu6_reshape_on_quantized() -> None:
    x = np.linspace(-8, 8, 24, dtype=F32).reshape(2, 3, 4)
    tx, cx = _q(x, 0.07, 100)
    _same(torch.nn.functional.relu(tx), cr.nn.functional.relu(cx))
    _same(torch.nn.ReLU()(tx), cr.nn.ReLU()(cx))
    _same(tnnq.ReLU6()(tx), cnnq.ReLU6()(cx))
    assert repr(cnnq.ReLU6(inplace=True)) == repr(tnnq.ReLU6(inplace=True))
    _same(tx.reshape(6, 4), cx.reshape(6, 4))
    _same(tx.flatten(1), cx.flatten(1))
    _same(tx.view(-1), cx.view(-1))
    rng = np.random.default_rng(5)
    y = (rng.standard_normal((4, 16, 7, 5)) * 2).astype(F32)
    ty, cy = _q(y, 0.037, 93)
    for dims, keep in (([2, 3], False), ([2, 3], True), (1, False), (None, False)):
        want = ty.mean(dims, keepdim=keep) if dims is not None else ty.mean()
        _same(want, cy.mean(dims, keepdim=keep))
    assert isinstance(cnnq.ReLU6(), cr.nn.ReLU)
    assert repr(cnnq.Dropout(0.3)) == repr(tnnq.Dropout(0.3))
    assert cnnq.Dropout(0.3)(cx) is cx
    with pytest.raises(NotImplementedError, match="not a quantized tensor"):
        cnnq.Linear(4, 2)(cr.ones(3, 4))


def _hist_pair(batches, **kwargs):
    t = torch.ao.quantization.HistogramObserver(**kwargs)
    c = cr.ao.quantization.HistogramObserver(**kwargs)
    for batch in batches:
        t(torch.tensor(batch))
        c(cr.tensor(batch))
        np.testing.assert_array_equal(c.histogram.numpy(), t.histogram.numpy())
        assert float(c.min_val) == float(t.min_val) and float(c.max_val) == float(t.max_val)
    return t, c


HIST_CASES = {
    "one": lambda r: [r.standard_normal(5000) * 3],
    "narrower": lambda r: [r.standard_normal(5000), r.standard_normal(5000) * 0.5],
    "widening": lambda r: [
        r.standard_normal(3000),
        r.standard_normal(3000) * 2,
        r.standard_normal(3000) * 4 + 1,
    ],  # fmt: skip
    "relu": lambda r: [np.maximum(r.standard_normal((8, 16, 6, 6)), 0) for _ in range(4)],
    "skewed": lambda r: [r.exponential(size=4000) - 0.3 for _ in range(3)],
    "constant first": lambda r: [np.full(10, 2.0), r.standard_normal(100)],
    "heavy tails": lambda r: [r.standard_t(2, size=20000) for _ in range(2)],
}


@pytest.mark.parametrize("case", sorted(HIST_CASES))
@pytest.mark.parametrize("reduce_range", [True, False])
def test_histogram_observer_matches_torch(case, reduce_range) -> None:
    rng = np.random.default_rng(len(case))
    batches = [np.asarray(b, F32) for b in HIST_CASES[case](rng)]
    t, c = _hist_pair(batches, reduce_range=reduce_range)
    ts, tz = t.calculate_qparams()
    cs, cz = c.calculate_qparams()
    np.testing.assert_array_equal(cs.numpy(), ts.numpy())
    np.testing.assert_array_equal(cz.numpy(), tz.numpy())
    assert cz.dtype == cr.int32 and cs.dtype == cr.float32
    assert repr(c) == repr(t)
    assert list(c.state_dict()) == list(t.state_dict())


def test_histogram_observer_unobserved_warns() -> None:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        tq = torch.ao.quantization.HistogramObserver().calculate_qparams()
        cq = cr.ao.quantization.HistogramObserver().calculate_qparams()
    assert [str(w.message) for w in got[1:]] == [str(w.message) for w in got[:1]]
    assert float(cq[0]) == float(tq[0]) and int(cq[1]) == int(tq[1])


@pytest.mark.parametrize("saturate", [True, False])
def test_pair_sums_follow_the_processor_rule(monkeypatch, saturate) -> None:
    """fbgemm saturates pairs of neighbouring products to int16 on AVX2 (``vpmaddubsw``) and
    not on AVX512-VNNI (``vpdpbusd``); both rules are computed whatever this machine has."""
    monkeypatch.setattr(_static_kernels, "pair_sums_saturate", lambda: saturate)
    x = np.array([[255, 255, 1]], np.int64)
    w = np.array([[127, 127, 5], [-128, -128, 0]], np.int64)
    got = _static_kernels._saturating_matmul(x, w)
    exact = x @ w.T
    if saturate:  # 255*127*2 = 64770 -> 32767; -65280 -> -32768
        np.testing.assert_array_equal(got, [[32767 + 5, -32768]])
    else:
        np.testing.assert_array_equal(got, exact)
    assert isinstance(_static_kernels.pair_sums_saturate(), bool)
