"""More quantization-aware training against PyTorch (x86 engine): the QAT ``Conv1d`` /
``Conv3d`` and the quantized ``Conv1d`` / ``Conv3d`` they convert to, ``LinearBn1d`` (batch
norm folded into the fake-quantized linear weight) and ``_LearnableFakeQuantize``.

Fake quantization, the folded weights and ``convert`` of the same trained state match torch
bit for bit; after float layers (whose last bits differ from torch's) outputs and gradients
agree to a stated tolerance."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch.ao.quantization._learnable_fake_quantize import _LearnableFakeQuantize as _TorchLFQ

import chainrule as cr
from chainrule.ao.quantization._learnable_fake_quantize import (
    _LearnableFakeQuantize as _ChainruleLFQ,
)

tq, cq = torch.ao.quantization, cr.ao.quantization
F32 = np.float32


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def _load(cm, tm):
    """``cm`` loaded with ``tm``'s state dict."""
    cm.load_state_dict({k: cr.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return cm


def _qconfigs(version=1):
    return tq.get_default_qat_qconfig("x86", version), cq.get_default_qat_qconfig("x86", version)


# ---------------------------------------------------------------- quantized Conv1d / Conv3d
@pytest.mark.parametrize("nd", [1, 3])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("per_channel", [False, True])
def test_quantized_conv1d_conv3d_bit_exact(nd, relu, per_channel):
    rng = np.random.default_rng(nd * 10 + relu * 2 + per_channel)
    if relu:
        t_cls = getattr(torch.ao.nn.intrinsic.quantized, f"ConvReLU{nd}d")
        c_cls = getattr(cr.ao.nn.intrinsic.quantized, f"ConvReLU{nd}d")
    else:
        t_cls = getattr(torch.ao.nn.quantized, f"Conv{nd}d")
        c_cls = getattr(cr.ao.nn.quantized, f"Conv{nd}d")
    kernel, stride, padding, dilation = (3, 2, 1, 2) if nd == 1 else ((1, 2, 3), (1, 2, 1), 1, 1)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=2)
    tm, cm = t_cls(4, 6, kernel, **kw), c_cls(4, 6, kernel, **kw)
    assert repr(cm) == repr(tm)
    w = rng.standard_normal(tuple(tm.weight().shape)).astype(F32)
    b = rng.standard_normal(6).astype(F32)
    if per_channel:
        scales = rng.uniform(0.005, 0.02, 6)
        zps = np.zeros(6, np.int64)
        tw = torch.quantize_per_channel(
            torch.tensor(w), torch.tensor(scales), torch.tensor(zps), 0, torch.qint8
        )
        cw = cr.quantize_per_channel(cr.tensor(w), cr.tensor(scales), cr.tensor(zps), 0, cr.qint8)
    else:
        tw = torch.quantize_per_tensor(torch.tensor(w), 0.01, 0, torch.qint8)
        cw = cr.quantize_per_tensor(cr.tensor(w), 0.01, 0, cr.qint8)
    tm.set_weight_bias(tw, torch.tensor(b))
    cm.set_weight_bias(cw, cr.tensor(b))
    tm.scale = cm.scale = 0.04
    tm.zero_point = cm.zero_point = 60
    assert list(cm.state_dict()) == list(tm.state_dict())
    assert cm.state_dict()._metadata[""]["version"] == tm.state_dict()._metadata[""]["version"]
    shape = (2, 4, 11) if nd == 1 else (2, 4, 3, 6, 5)
    x = rng.standard_normal(shape).astype(F32) * 2
    xt = torch.quantize_per_tensor(torch.tensor(x), 0.03, 70, torch.quint8)
    xc = cr.quantize_per_tensor(cr.tensor(x), 0.03, 70, cr.quint8)
    yt, yc = tm(xt), cm(xc)
    assert yc.shape == tuple(yt.shape)
    np.testing.assert_array_equal(yc.int_repr().numpy(), yt.int_repr().numpy())
    assert np.unique(yt.int_repr().numpy()).size > 10
    with pytest.raises(ValueError, match="Input shape must be"):
        cm(cr.quantize_per_tensor(cr.randn(2, 4, 3, 3), 0.1, 10, cr.quint8))


def test_quantized_conv_unsupported_arguments():
    with pytest.raises(NotImplementedError, match="Conv1d: padding_mode='reflect'"):
        cr.ao.nn.quantized.Conv1d(4, 6, 3, padding_mode="reflect")
    with pytest.raises(NotImplementedError, match="Conv3d: padding='same'"):
        cr.ao.nn.quantized.Conv3d(4, 6, 3, padding="same")
    m = cr.ao.nn.quantized.Conv1d(4, 6, 3)
    with pytest.raises(NotImplementedError, match="quantized::conv1d"):
        m(cr.randn(2, 4, 9))


# ---------------------------------------------------------------- qat.Conv1d / qat.Conv3d
@pytest.mark.parametrize("nd", [1, 3])
def test_qat_conv_from_float_to_float_forward(nd):
    tqc, cqc = _qconfigs()
    t_cls, c_cls = getattr(torch.ao.nn.qat, f"Conv{nd}d"), getattr(cr.ao.nn.qat, f"Conv{nd}d")
    torch.manual_seed(3)
    tf = getattr(torch.nn, f"Conv{nd}d")(3, 4, 3, stride=2, padding=1)
    cf = _load(getattr(cr.nn, f"Conv{nd}d")(3, 4, 3, stride=2, padding=1), tf)
    tf.qconfig, cf.qconfig = tqc, cqc
    tm, cm = t_cls.from_float(tf), c_cls.from_float(cf)
    assert cm.weight is cf.weight and cm.bias is cf.bias and cm.qconfig is cqc
    assert repr(cm) == repr(tm)
    assert list(cm.state_dict()) == list(tm.state_dict())
    shape = (2, 3, 9) if nd == 1 else (2, 3, 4, 5, 6)
    x = np.random.default_rng(4).standard_normal(shape).astype(F32)
    xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    yt, yc = tm(xt), cm(xc)
    # the fake-quantized weight (what the quantized model will hold) is torch's bit for bit
    for key, value in tm.weight_fake_quant.state_dict().items():
        np.testing.assert_array_equal(
            cm.weight_fake_quant.state_dict()[key].numpy(), value.numpy(), err_msg=key
        )
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    yt.square().sum().backward()
    yc.square().sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(cm.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-4)
    back = cm.to_float()
    assert type(back) is getattr(cr.nn, f"Conv{nd}d") and back.training
    assert back.weight is not cm.weight and not hasattr(back, "qconfig")
    np.testing.assert_array_equal(back.weight.detach().numpy(), cm.weight.detach().numpy())
    assert repr(back) == repr(tm.to_float())
    other = cr.nn.Linear(3, 4)
    other.qconfig = cqc
    with pytest.raises(AssertionError, match=f"Conv{nd}d.from_float only works for Conv{nd}d, got"):
        c_cls.from_float(other)
    with pytest.raises(AssertionError, match="qconfig must be provided"):
        c_cls(3, 4, 3)


def test_qat_linear_and_conv2d_to_float():
    tqc, cqc = _qconfigs()
    for t_cls, c_cls, args in [
        (torch.ao.nn.qat.Linear, cr.ao.nn.qat.Linear, (3, 4)),
        (torch.ao.nn.qat.Conv2d, cr.ao.nn.qat.Conv2d, (3, 4, 3)),
    ]:
        tm, cm = t_cls(*args, qconfig=tqc), c_cls(*args, qconfig=cqc)
        _load(cm, tm)
        tb, cb = tm.to_float(), cm.to_float()
        assert repr(cb) == repr(tb) and type(cb).__name__ == type(tb).__name__
        np.testing.assert_array_equal(cb.weight.detach().numpy(), tb.weight.detach().numpy())


def _conv_models(lib, q):
    nn = lib.nn
    one = nn.Sequential(
        q.QuantStub(), nn.Conv1d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv1d(6, 4, 2, stride=2),
        q.DeQuantStub(),
    )  # fmt: skip
    three = nn.Sequential(
        q.QuantStub(), nn.Conv3d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv3d(6, 4, (1, 2, 2)),
        q.DeQuantStub(),
    )  # fmt: skip
    return one, three


def _prepared_convs(version):
    torch.manual_seed(5)
    tms, cms = _conv_models(torch, tq), _conv_models(cr, cq)
    tqc, cqc = _qconfigs(version)
    out = []
    for tm, cm in zip(tms, cms, strict=True):
        _load(cm, tm)
        tm, cm = tq.fuse_modules_qat(tm, [["1", "2"]]), cq.fuse_modules_qat(cm, [["1", "2"]])
        tm.qconfig, cm.qconfig = tqc, cqc
        out.append((tq.prepare_qat(tm.train()), cq.prepare_qat(cm.train())))
    return out


def _shape(nd, batch=4):
    return (batch, 3, 10) if nd == 1 else (batch, 3, 4, 5, 6)


@pytest.mark.parametrize("version", [0, 1])
def test_prepare_qat_conv1d_conv3d_and_convert_bit_exact(version):
    """``prepare_qat`` maps ``Conv3d`` (and the fused ``ConvReLU3d``) to QAT modules and, as
    torch, leaves ``Conv1d`` / ``ConvReLU1d`` in float with an output fake quantizer;
    ``convert`` of torch's trained state gives torch's quantized model bit for bit."""
    for nd, (tp, cp) in zip((1, 3), _prepared_convs(version), strict=True):
        assert repr(cp) == repr(tp)
        assert list(cp.state_dict()) == list(tp.state_dict())
        if nd == 1:
            assert type(cp[1]) is cr.ao.nn.intrinsic.ConvReLU1d and type(cp[3]) is cr.nn.Conv1d
        else:
            assert type(cp[1]) is cr.ao.nn.intrinsic.qat.ConvReLU3d
            assert type(cp[3]) is cr.ao.nn.qat.Conv3d
        rng = np.random.default_rng(6 + nd)
        opt = torch.optim.SGD(tp.parameters(), lr=0.05)
        for _ in range(3):
            loss = tp(torch.tensor(rng.standard_normal(_shape(nd)).astype(F32))).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        _load(cp, tp)
        tc, cc = tq.convert(tp.eval()), cq.convert(cp.eval())
        assert repr(cc) == repr(tc)
        assert list(cc.state_dict()) == list(tc.state_dict())
        for i in (1, 3):
            np.testing.assert_array_equal(
                cc[i].weight().int_repr().numpy(), tc[i].weight().int_repr().numpy()
            )
        x = rng.standard_normal(_shape(nd)).astype(F32)
        out_t, out_c = tc(torch.tensor(x)), cc(cr.tensor(x))
        np.testing.assert_array_equal(out_c.numpy(), out_t.numpy())
        assert np.unique(out_t.numpy()).size > 8


def test_qat_conv1d_conv3d_training_matches_torch():
    """A few SGD steps from the same weights and inputs: the float convolutions differ
    from torch's in last bits, which a fake quantizer can turn into one step, so weights
    and outputs agree to a tolerance."""
    for nd, (tp, cp) in zip((1, 3), _prepared_convs(1), strict=True):
        rng = np.random.default_rng(8 + nd)
        t_opt = torch.optim.SGD(tp.parameters(), lr=0.02, momentum=0.9)
        c_opt = cr.optim.SGD(cp.parameters(), lr=0.02, momentum=0.9)
        for _ in range(4):
            x = rng.standard_normal(_shape(nd)).astype(F32)
            for model, opt, lib in ((tp, t_opt, torch), (cp, c_opt, cr)):
                loss = model(lib.tensor(x)).square().mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        ts, cs = tp.state_dict(), cp.state_dict()
        for key, value in ts.items():
            if value.dtype.is_floating_point:
                np.testing.assert_allclose(
                    cs[key].numpy(), value.numpy(), rtol=0.01, atol=0.01, err_msg=key
                )
        x = rng.standard_normal(_shape(nd)).astype(F32)
        np.testing.assert_allclose(
            cp(cr.tensor(x)).detach().numpy(), tp(torch.tensor(x)).detach().numpy(), atol=0.05
        )


def test_post_training_static_conv1d_conv3d():
    """``prepare`` / ``convert`` (no QAT) of Conv1d and Conv3d now quantize them; with
    torch's calibrated observers loaded the result is torch's bit for bit."""
    torch.manual_seed(9)
    for nd, (tm, cm) in zip(
        (1, 3), zip(*(_conv_models(torch, tq), _conv_models(cr, cq))), strict=True
    ):
        _load(cm, tm)
        tm.qconfig, cm.qconfig = tq.get_default_qconfig("x86"), cq.get_default_qconfig("x86")
        tp, cp = tq.prepare(tm.eval()), cq.prepare(cm.eval())
        x = np.random.default_rng(nd).standard_normal(_shape(nd, 8)).astype(F32)
        tp(torch.tensor(x))
        _load(cp, tp)
        tc, cc = tq.convert(tp), cq.convert(cp)
        assert repr(cc) == repr(tc)
        np.testing.assert_array_equal(cc(cr.tensor(x)).numpy(), tc(torch.tensor(x)).numpy())


# ---------------------------------------------------------------- LinearBn1d
def _linear_bn(lib, q):
    nn = lib.nn
    return nn.Sequential(
        q.QuantStub(), nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 4, bias=False),
        nn.BatchNorm1d(4), q.DeQuantStub(),
    )  # fmt: skip


LB_FUSE = [["1", "2"], ["4", "5"]]


def _prepared_linear_bn(version=1):
    torch.manual_seed(10)
    tm, cm = _linear_bn(torch, tq), _linear_bn(cr, cq)
    _load(cm, tm)
    tf, cf = tq.fuse_modules_qat(tm.train(), LB_FUSE), cq.fuse_modules_qat(cm.train(), LB_FUSE)
    assert repr(cf) == repr(tf)
    assert type(cf[1]) is cr.ao.nn.intrinsic.LinearBn1d and type(cf[2]) is cr.nn.Identity
    tf.qconfig, cf.qconfig = _qconfigs(version)
    return tq.prepare_qat(tf), cq.prepare_qat(cf)


def test_fuse_modules_qat_linear_bn_errors():
    nn = cr.nn
    for bad, msg in [
        ((nn.Linear(4, 3), nn.BatchNorm1d(4)), "Output features of Linear must match"),
        ((nn.Linear(4, 3), nn.BatchNorm1d(3, affine=False)), "affine set to True"),
        ((nn.Linear(4, 3), nn.BatchNorm1d(3, track_running_stats=False)), "tracking_running"),
        ((nn.Linear(4, 3).eval(), nn.BatchNorm1d(3)), "same mode"),
    ]:
        with pytest.raises(AssertionError, match=msg):
            cq.fuse_modules_qat(nn.Sequential(*bad), [["0", "1"]])
    fused = cq.fuse_modules(nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).eval(), ["0", "1"])
    assert type(fused[0]) is nn.Linear  # evaluation-mode fusion still folds


def test_linear_bn1d_prepare_forward_and_switches():
    tp, cp = _prepared_linear_bn()
    assert repr(cp) == repr(tp)
    assert list(cp.state_dict()) == list(tp.state_dict())
    assert type(cp[1]) is cr.ao.nn.intrinsic.qat.LinearBn1d
    rng = np.random.default_rng(11)
    for phase in ("train", "frozen", "eval"):
        if phase == "frozen":
            tp[1].freeze_bn_stats()
            cp[1].freeze_bn_stats()
        if phase == "eval":
            tp.eval()
            cp.eval()
        for m in (1, 4):
            assert (cp[m].freeze_bn, cp[m].bn.training, cp[m].training) == (
                tp[m].freeze_bn, tp[m].bn.training, tp[m].training,
            )  # fmt: skip
        x = rng.standard_normal((16, 6)).astype(F32)
        xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
        yt, yc = tp(xt), cp(xc)
        np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=0.05)
        if phase != "eval":
            yt.square().sum().backward()
            yc.square().sum().backward()
            np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=0.02, atol=0.02)
        ts, cs = tp.state_dict(), cp.state_dict()
        for key in ("1.bn.running_mean", "1.bn.running_var", "4.bn.running_var"):
            np.testing.assert_allclose(cs[key].numpy(), ts[key].numpy(), rtol=1e-5, err_msg=key)
        # the folded weight the fake quantizer saw (scale from its range) is torch's bits
        for key in ("1.weight_fake_quant.scale", "4.weight_fake_quant.scale"):
            np.testing.assert_array_equal(cs[key].numpy(), ts[key].numpy(), err_msg=key)
    # torch's module-level switches (for model.apply) leave LinearBn1d alone
    tp.train()
    cp.train()
    tp.apply(torch.ao.nn.intrinsic.qat.freeze_bn_stats)
    cp.apply(cr.ao.nn.intrinsic.qat.freeze_bn_stats)
    assert cp[4].freeze_bn is tp[4].freeze_bn
    cp[4].freeze_bn_stats()
    tp[4].freeze_bn_stats()
    cp.train()
    tp.train()
    assert cp[4].bn.training is tp[4].bn.training is False
    cp[4].eval().update_bn_stats()
    tp[4].eval().update_bn_stats()
    assert (cp[4].freeze_bn, cp[4].bn.training) == (tp[4].freeze_bn, tp[4].bn.training)
    qc = cq.get_default_qat_qconfig("x86")
    conv_bn = cr.ao.nn.intrinsic.qat.ConvBn2d(3, 4, 3, qconfig=qc).eval()
    conv_bn.update_bn_stats()  # torch's too: bn back in training mode
    assert not conv_bn.freeze_bn and conv_bn.bn.training and not conv_bn.training


def test_linear_bn1d_from_float_to_float():
    tqc, cqc = _qconfigs()
    torch.manual_seed(12)
    tf = tq.fuse_modules_qat(
        torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.BatchNorm1d(3)), ["0", "1"]
    )
    cf = cq.fuse_modules_qat(cr.nn.Sequential(cr.nn.Linear(5, 3), cr.nn.BatchNorm1d(3)), ["0", "1"])
    with torch.no_grad():
        tf[0][1].running_var.uniform_(0.5, 2)
        tf[0][1].running_mean.normal_()
        tf[0][1].weight.uniform_(0.5, 2)
    _load(cf, tf)
    tf[0].qconfig, cf[0].qconfig = tqc, cqc
    tm = torch.ao.nn.intrinsic.qat.LinearBn1d.from_float(tf[0])
    cm = cr.ao.nn.intrinsic.qat.LinearBn1d.from_float(cf[0])
    assert cm.weight is cf[0][0].weight and cm.bn.running_var is cf[0][1].running_var
    assert repr(cm) == repr(tm)
    tb, cb = tm.to_float(), cm.to_float()
    assert repr(cb) == repr(tb)
    np.testing.assert_allclose(cb.weight.detach().numpy(), tb.weight.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(cb.bias.detach().numpy(), tb.bias.detach().numpy(), rtol=1e-6)
    with pytest.raises(AssertionError, match="only works for LinearBn1d"):
        cr.ao.nn.intrinsic.qat.LinearBn1d.from_float(cf[0][0])
    with pytest.raises(AssertionError, match="qconfig must be provided"):
        cr.ao.nn.intrinsic.qat.LinearBn1d(5, 3)


@pytest.mark.parametrize("freeze", [False, True])
def test_linear_bn1d_training_and_convert_bit_exact(freeze):
    """Train both a few steps (weights agree to a tolerance); ``convert`` of torch's
    trained state folds the batch norm into a quantized ``Linear`` bit for bit."""
    tp, cp = _prepared_linear_bn()
    rng = np.random.default_rng(13)
    t_opt = torch.optim.SGD(tp.parameters(), lr=0.05, momentum=0.9)
    c_opt = cr.optim.SGD(cp.parameters(), lr=0.05, momentum=0.9)
    for step in range(5):
        if freeze and step == 3:
            for m in (1, 4):
                tp[m].freeze_bn_stats()
                cp[m].freeze_bn_stats()
        x = rng.standard_normal((16, 6)).astype(F32)
        for model, opt, lib in ((tp, t_opt, torch), (cp, c_opt, cr)):
            loss = model(lib.tensor(x)).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    ts, cs = tp.state_dict(), cp.state_dict()
    for key, value in ts.items():
        if value.dtype.is_floating_point:
            np.testing.assert_allclose(
                cs[key].numpy(), value.numpy(), rtol=0.02, atol=0.02, err_msg=key
            )
    _load(cp, tp)
    tc, cc = tq.convert(tp.eval()), cq.convert(cp.eval())
    assert repr(cc) == repr(tc)
    assert type(cc[1]) is cr.ao.nn.quantized.Linear
    for m in (1, 4):
        np.testing.assert_array_equal(
            cc[m].weight().int_repr().numpy(), tc[m].weight().int_repr().numpy()
        )
        np.testing.assert_array_equal(cc[m].bias().numpy(), tc[m].bias().detach().numpy())
    x = rng.standard_normal((32, 6)).astype(F32)
    out_t, out_c = tc(torch.tensor(x)), cc(cr.tensor(x))
    np.testing.assert_array_equal(out_c.numpy(), out_t.numpy())
    assert np.unique(out_t.numpy()).size > 8


# ---------------------------------------------------------------- _LearnableFakeQuantize
T_LFQ = _TorchLFQ
C_LFQ = _ChainruleLFQ

LFQ_CASES = {
    "per_tensor": dict(
        args=("MovingAverageMinMaxObserver",), kw=dict(quant_min=0, quant_max=255), shape=(6, 7)
    ),
    "per_tensor_symmetric_scaled": dict(
        args=("MovingAverageMinMaxObserver",),
        kw=dict(
            quant_min=-128,
            quant_max=127,
            dtype="qint8",
            qscheme="per_tensor_symmetric",
            use_grad_scaling=True,
            scale=0.5,
            zero_point=3.0,
        ),
        shape=(5, 8),
    ),  # fmt: skip
    "per_channel": dict(
        args=("MovingAveragePerChannelMinMaxObserver",),
        kw=dict(
            quant_min=-128,
            quant_max=127,
            dtype="qint8",
            qscheme="per_channel_affine",
            ch_axis=1,
            channel_len=3,
        ),
        shape=(4, 3, 5),
    ),  # fmt: skip
    "per_channel_symmetric_scaled": dict(
        args=("MovingAveragePerChannelMinMaxObserver",),
        kw=dict(
            quant_min=0,
            quant_max=15,
            qscheme="per_channel_symmetric",
            ch_axis=0,
            channel_len=4,
            use_grad_scaling=True,
        ),
        shape=(4, 9),
    ),  # fmt: skip
}


def _lfq(lib, case):
    q = tq if lib is torch else cq
    kw = dict(case["kw"])
    for key in ("dtype", "qscheme"):
        if key in kw:
            kw[key] = getattr(lib, kw[key])
    cls = T_LFQ if lib is torch else C_LFQ
    return cls(getattr(q, case["args"][0]), **kw)


def _check_lfq_state(c_fq, t_fq):
    assert list(c_fq.state_dict()) == list(t_fq.state_dict())
    for key, value in t_fq.state_dict().items():
        np.testing.assert_array_equal(  # (a clone: torch's buffers must stay resizable)
            c_fq.state_dict()[key].numpy(), value.clone().numpy(), err_msg=key
        )
    for a, b in zip(c_fq.calculate_qparams(), t_fq.calculate_qparams(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert str(a.dtype) == str(b.dtype)


@pytest.mark.parametrize("name", list(LFQ_CASES))
def test_learnable_fake_quantize_matches_torch(name):
    """Static estimation, static observation, parameter learning (SGD on the scale and
    zero point), each step's output and input gradient bit for bit, the qparams'
    gradients to float32 summation order, the state (buffers, Parameters) after each."""
    case = LFQ_CASES[name]
    t_fq, c_fq = _lfq(torch, case), _lfq(cr, case)
    assert repr(c_fq) == repr(t_fq)
    assert [n for n, _ in c_fq.named_parameters()] == ["scale", "zero_point"]
    for attr in ("quant_min", "quant_max", "ch_axis", "bitwidth", "use_grad_scaling"):
        assert getattr(c_fq, attr) == getattr(t_fq, attr), attr
    assert str(c_fq.dtype) == str(t_fq.dtype) and str(c_fq.qscheme) == str(t_fq.qscheme)
    _check_lfq_state(c_fq, t_fq)
    t_opt = torch.optim.SGD([t_fq.scale, t_fq.zero_point], lr=0.01)
    c_opt = cr.optim.SGD([c_fq.scale, c_fq.zero_point], lr=0.01)
    rng = np.random.default_rng(14)
    modes = ["static_estimate", "static_estimate", "static_observation", "param_learning",
             "param_learning", "param_learning", "static_estimate"]  # fmt: skip
    for step, mode in enumerate(modes):
        for fq in (t_fq, c_fq):
            getattr(fq, f"enable_{mode}")()
        assert c_fq.scale.requires_grad is t_fq.scale.requires_grad
        x = (rng.standard_normal(case["shape"]) * (step + 1)).astype(F32)
        xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
        yt, yc = t_fq(xt), c_fq(xc)
        np.testing.assert_array_equal(yc.detach().numpy(), yt.detach().numpy(), err_msg=mode)
        if yt.requires_grad:
            g = rng.standard_normal(case["shape"]).astype(F32)
            for opt in (t_opt, c_opt):
                opt.zero_grad()
            yt.backward(torch.tensor(g))
            yc.backward(cr.tensor(g))
            np.testing.assert_array_equal(xc.grad.numpy(), xt.grad.numpy())
            if mode == "param_learning":
                for pc, pt in ((c_fq.scale, t_fq.scale), (c_fq.zero_point, t_fq.zero_point)):
                    np.testing.assert_allclose(
                        pc.grad.numpy(), pt.grad.numpy(), rtol=1e-4, atol=1e-6
                    )
                    pc.grad = cr.tensor(pt.grad.numpy())  # the same step from here on
                t_opt.step()
                c_opt.step()
                for pc, pt in ((c_fq.scale, t_fq.scale), (c_fq.zero_point, t_fq.zero_point)):
                    # (the optimizers' update rounds differently by an ulp: go on from torch's)
                    np.testing.assert_allclose(pc.detach().numpy(), pt.detach().numpy(), rtol=1e-6)
                    pc.data = cr.tensor(pt.detach().numpy().copy())
        _check_lfq_state(c_fq, t_fq)


def test_learnable_fake_quantize_switches_and_errors():
    t_fq = T_LFQ(tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255)
    c_fq = C_LFQ(cq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255)
    for method, args in [
        ("disable_observer", ()), ("enable_observer", ()), ("disable_fake_quant", ()),
        ("toggle_fake_quant", (True,)), ("toggle_observer_update", (False,)),
        ("toggle_qparam_learning", (True,)), ("toggle_qparam_learning", (False,)),
    ]:  # fmt: skip
        t_out, c_out = getattr(t_fq, method)(*args), getattr(c_fq, method)(*args)
        assert (c_out is c_fq) == (t_out is t_fq), method
        _check_lfq_state(c_fq, t_fq)
        assert c_fq.scale.requires_grad is t_fq.scale.requires_grad
    c_fq.apply(cq.disable_observer)
    assert int(c_fq.static_enabled[0]) == 0 and int(c_fq.observer_enabled[0]) == 1
    # calculate_qparams clamps the scale in place and rounds / clamps the zero point
    for scale, zp in ((-1.0, 3.7), (0.1, 300.7), (0.2, 2.5)):
        with torch.no_grad():
            t_fq.scale.fill_(scale)
            t_fq.zero_point.fill_(zp)
        c_fq.scale.data = cr.tensor(np.array([scale], F32))
        c_fq.zero_point.data = cr.tensor(np.array([zp], F32))
        _check_lfq_state(c_fq, t_fq)
    x = np.random.default_rng(15).standard_normal(20).astype(F32)
    with torch.no_grad():
        t_fq.scale.fill_(-0.5)
    c_fq.scale.data = cr.tensor(np.array([-0.5], F32))
    t_fq.enable_param_learning()
    c_fq.enable_param_learning()
    np.testing.assert_array_equal(
        c_fq(cr.tensor(x)).detach().numpy(), t_fq(torch.tensor(x)).detach().numpy()
    )
    _check_lfq_state(c_fq, t_fq)  # the forward clamped the scale to eps
    obs = cq.MovingAverageMinMaxObserver
    with pytest.raises(AssertionError, match="strictly less"):
        C_LFQ(obs, quant_min=5, quant_max=5)
    with pytest.raises(AssertionError, match="Channel size"):
        C_LFQ(obs, channel_len=0)
    with pytest.raises(AssertionError, match="quant_min out of bound"):
        C_LFQ(obs, quant_min=-1, quant_max=255)
    with pytest.raises(RuntimeError, match="floating point"):
        C_LFQ(obs, zero_point=3)
    per_channel = C_LFQ(cq.MovingAveragePerChannelMinMaxObserver, ch_axis=0)
    with pytest.raises(RuntimeError, match="channel_len"):
        per_channel(cr.randn(3, 4))
    factory = C_LFQ.with_args(observer=obs, quant_min=0, quant_max=15)
    assert factory().bitwidth == 4
