"""Eager-mode quantization-aware training against PyTorch (x86 engine): fake quantization
(forward bit for bit, straight-through gradients), the fake quantizers and moving-average
observers, the QAT qconfigs, ``fuse_modules_qat``, ``prepare_qat`` (the swapped modules,
reprs, state-dict keys), training with batch norm folded into the fake-quantized weight,
the observer / fake-quant / batch-norm switches, and ``convert`` of the trained model."""

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


# ---------------------------------------------------------------- fake quantization ops
def _ties(scale, n=2000, seed=0):
    """Values on, and one float32 step either side of, the rounding boundaries."""
    k = np.random.default_rng(seed).integers(-300, 300, n)
    x = ((k + 0.5) * scale).astype(F32)
    return np.concatenate([x, np.nextafter(x, F32(np.inf)), np.nextafter(x, F32(-np.inf))])


@pytest.mark.parametrize(
    "scale,zp,qmin,qmax",
    [(0.05, 100, 0, 255), (0.0371, 37, 0, 127), (0.3, 5, 0, 255), (0.017, 0, -128, 127)],
)
@pytest.mark.parametrize("tensor_qparams", [False, True])
def test_fake_quantize_per_tensor_forward_and_gradient(scale, zp, qmin, qmax, tensor_qparams):
    x = np.concatenate(
        [_ties(scale), np.random.default_rng(1).standard_normal(3000).astype(F32) * 20,
         np.array([np.nan, np.inf, -np.inf], F32)]
    )  # fmt: skip
    xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    if tensor_qparams:
        st, zt = torch.tensor([scale]), torch.tensor([zp], dtype=torch.int32)
        sc, zc = cr.tensor([scale]), cr.tensor(np.array([zp], np.int32))
    else:
        st = sc = scale
        zt = zc = zp
    yt = torch.fake_quantize_per_tensor_affine(xt, st, zt, qmin, qmax)
    yc = cr.fake_quantize_per_tensor_affine(xc, sc, zc, qmin, qmax)
    np.testing.assert_array_equal(yc.detach().numpy(), yt.detach().numpy())
    assert yc.grad_fn.name() == yt.grad_fn.name()
    g = np.random.default_rng(2).standard_normal(x.shape).astype(F32)
    yt.backward(torch.tensor(g))
    yc.backward(cr.tensor(g))
    np.testing.assert_array_equal(xc.grad.numpy(), xt.grad.numpy())
    assert (xc.grad.numpy() == 0).sum() > 100  # the clamped values get no gradient


def test_fake_quantize_per_channel_forward_and_gradient():
    scales = np.array([0.1, 0.05, 0.3], F32)
    zps = np.array([0, 3, -2], np.int32)
    x = np.random.default_rng(3).standard_normal((40, 3, 5)).astype(F32) * 10
    x[:20] = (np.random.default_rng(4).integers(-99, 99, (20, 3, 5)) + 0.5) * scales[:, None]
    xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    yt = torch.fake_quantize_per_channel_affine(
        xt, torch.tensor(scales), torch.tensor(zps), 1, -128, 127
    )
    yc = cr.fake_quantize_per_channel_affine(xc, cr.tensor(scales), cr.tensor(zps), 1, -128, 127)
    np.testing.assert_array_equal(yc.detach().numpy(), yt.detach().numpy())
    assert yc.grad_fn.name() == yt.grad_fn.name()
    assert yt.grad_fn.name() == "FakeQuantizePerChannelAffineCachemaskBackward0"
    yt.sum().backward()
    yc.sum().backward()
    np.testing.assert_array_equal(xc.grad.numpy(), xt.grad.numpy())
    assert 0 < (xc.grad.numpy() == 0).sum() < x.size


def test_fake_quantize_errors():
    x = cr.randn(3, 4)
    with pytest.raises(RuntimeError, match="quant_min"):
        cr.fake_quantize_per_tensor_affine(x, 0.1, 0, 10, 5)
    with pytest.raises(RuntimeError, match="zero_point"):
        cr.fake_quantize_per_tensor_affine(x, 0.1, 300, 0, 255)
    z = cr.tensor(np.zeros(4, np.int32))
    with pytest.raises(RuntimeError, match="Long"):
        cr.fake_quantize_per_channel_affine(x, cr.ones(4), z.long(), 1, -128, 127)
    with pytest.raises(RuntimeError, match="not consistent"):
        cr.fake_quantize_per_channel_affine(x, cr.ones(4), z, 0, -128, 127)
    with pytest.raises(IndexError):
        cr.fake_quantize_per_channel_affine(x, cr.ones(4), z, 2, -128, 127)
    with pytest.raises(NotImplementedError, match="float64"):
        cr.fake_quantize_per_tensor_affine(x.half(), 0.1, 0, 0, 255)


# ---------------------------------------------------------------- fake quantizer modules
@pytest.mark.parametrize("backend", ["x86", "qnnpack", "onednn"])
@pytest.mark.parametrize("version", [0, 1])
def test_qat_qconfig_fake_quantizers_match_torch(backend, version):
    tqc, cqc = (
        tq.get_default_qat_qconfig(backend, version),
        cq.get_default_qat_qconfig(backend, version),
    )
    pairs = [(tqc.activation(), cqc.activation()), (tqc.weight(), cqc.weight())]
    for t_fq, c_fq in pairs:
        assert repr(c_fq) == repr(t_fq)
        assert list(c_fq.state_dict()) == list(t_fq.state_dict())
    rng = np.random.default_rng(5)
    for step in range(6):
        if step == 4:  # a frozen range: the qparams stay, values are still fake-quantized
            for t_fq, c_fq in pairs:
                t_fq.disable_observer()
                c_fq.apply(cq.disable_observer)
        x = (rng.standard_normal((4, 6)) * (step + 1) + (step % 3 - 1)).astype(F32)
        for t_fq, c_fq in pairs:
            xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
            yt, yc = t_fq(xt), c_fq(xc)
            np.testing.assert_array_equal(yc.detach().numpy(), yt.detach().numpy())
            assert yc.grad_fn.name() == yt.grad_fn.name()
            yt.sum().backward()
            yc.sum().backward()
            np.testing.assert_array_equal(xc.grad.numpy(), xt.grad.numpy())
            for key, value in t_fq.state_dict().items():
                np.testing.assert_array_equal(c_fq.state_dict()[key].numpy(), value.numpy())
    for t_fq, c_fq in pairs:
        assert repr(c_fq) == repr(t_fq)
        t_fq.disable_fake_quant()
        c_fq.apply(cq.disable_fake_quant)
        x = rng.standard_normal((4, 6)).astype(F32)
        np.testing.assert_array_equal(c_fq(cr.tensor(x)).numpy(), t_fq(torch.tensor(x)).numpy())
        c_fq.apply(cq.enable_fake_quant)
        c_fq.apply(cq.enable_observer)
        assert int(c_fq.fake_quant_enabled[0]) == int(c_fq.observer_enabled[0]) == 1


def test_moving_average_observers():
    for t_cls, c_cls, kw in [
        (tq.MovingAverageMinMaxObserver, cq.MovingAverageMinMaxObserver, {}),
        (tq.MovingAveragePerChannelMinMaxObserver, cq.MovingAveragePerChannelMinMaxObserver,
         {"ch_axis": 1}),
    ]:  # fmt: skip
        t_obs, c_obs = t_cls(averaging_constant=0.3, **kw), c_cls(averaging_constant=0.3, **kw)
        rng = np.random.default_rng(6)
        for _ in range(4):
            x = rng.standard_normal((5, 3)).astype(F32) * 4
            t_obs(torch.tensor(x))
            c_obs(cr.tensor(x))
        for a, b in zip(c_obs.calculate_qparams(), t_obs.calculate_qparams(), strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert repr(c_obs) == repr(t_obs)


# ---------------------------------------------------------------- prepare_qat / training / convert
def _net(lib, q, nnq):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.quant = q.QuantStub()
            self.conv1, self.bn1, self.relu1 = (
                nn.Conv2d(3, 8, 3, padding=1),
                nn.BatchNorm2d(8),
                nn.ReLU(),
            )
            self.pool = nn.MaxPool2d(2)
            self.conv2, self.bn2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
            self.skip = nnq.FloatFunctional()
            self.conv3 = nn.Conv2d(8, 8, 1)
            self.avg = nn.AdaptiveAvgPool2d(1)
            self.fc1, self.relu2 = nn.Linear(8, 16), nn.ReLU()
            self.fc2 = nn.Linear(16, 4)
            self.dequant = q.DeQuantStub()

        def forward(self, x):
            x = self.pool(self.relu1(self.bn1(self.conv1(self.quant(x)))))
            x = self.skip.add_relu(x, self.bn2(self.conv2(x)))
            x = self.avg(self.conv3(x)).flatten(1)
            return self.dequant(self.fc2(self.relu2(self.fc1(x))))

    return Net()


FUSE = [["conv1", "bn1", "relu1"], ["conv2", "bn2"], ["fc1", "relu2"]]


def _pair(version=1):
    torch.manual_seed(0)
    tm = _net(torch, tq, torch.ao.nn.quantized)
    cm = _net(cr, cq, cr.ao.nn.quantized)
    cm.load_state_dict({k: cr.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    tm.train()
    cm.train()
    tf, cf = tq.fuse_modules_qat(tm, FUSE), cq.fuse_modules_qat(cm, FUSE)
    tf.qconfig = tq.get_default_qat_qconfig("x86", version)
    cf.qconfig = cq.get_default_qat_qconfig("x86", version)
    return tq.prepare_qat(tf), cq.prepare_qat(cf)


def test_fuse_modules_qat():
    tm, cm = _net(torch, tq, torch.ao.nn.quantized), _net(cr, cq, cr.ao.nn.quantized)
    tf, cf = tq.fuse_modules_qat(tm, FUSE), cq.fuse_modules_qat(cm, FUSE)
    assert repr(cf) == repr(tf)
    assert type(cf.conv1) is cr.ao.nn.intrinsic.ConvBnReLU2d and type(cf.bn1) is cr.nn.Identity
    assert type(cf.conv2) is cr.ao.nn.intrinsic.ConvBn2d
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        cq.fuse_modules(cm, FUSE)


def test_prepare_qat_structure():
    tp, cp = _pair()
    assert repr(cp) == repr(tp)
    assert list(cp.state_dict()) == list(tp.state_dict())
    assert type(cp.conv1) is cr.ao.nn.intrinsic.qat.ConvBnReLU2d
    assert type(cp.conv3) is cr.ao.nn.qat.Conv2d and type(cp.fc2) is cr.ao.nn.qat.Linear
    assert cp.conv1.weight is not None and cp.conv1.bn.training
    with pytest.raises(AssertionError, match="training mode"):
        cq.prepare_qat(_net(cr, cq, cr.ao.nn.quantized).eval())


def _train(model, lib, steps, seed, switch_at=None):
    rng = np.random.default_rng(seed)
    opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for step in range(steps):
        if step == switch_at:
            model.apply(tq.disable_observer if lib is torch else cq.disable_observer)
            bn = torch.ao.nn.intrinsic.qat if lib is torch else cr.ao.nn.intrinsic.qat
            model.apply(bn.freeze_bn_stats)
        x = lib.tensor(rng.standard_normal((8, 3, 8, 8)).astype(F32))
        y = lib.tensor(rng.integers(0, 4, 8))
        loss = lib.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def test_qat_training_step_matches_torch():
    """One forward/backward with the same weights: the float layers differ from torch's
    in last bits, and a fake quantizer turns such a difference into a whole quantization
    step where a value sits at a rounding boundary, so the comparison is with tolerances;
    the batch norm folding and the fake quantizers' state are checked closely."""
    tp, cp = _pair()
    x = np.random.default_rng(7).standard_normal((8, 3, 8, 8)).astype(F32)
    yt, yc = tp(torch.tensor(x)), cp(cr.tensor(x))
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=0.05)
    yt.square().sum().backward()
    yc.square().sum().backward()
    for (name, pt), (_, pc) in zip(tp.named_parameters(), cp.named_parameters(), strict=True):
        scale = float(np.abs(pt.grad.numpy()).max()) + 1e-5  # (conv1.bias: ~0 before a bn)
        np.testing.assert_allclose(
            pc.grad.numpy(), pt.grad.numpy(), atol=0.05 * scale, err_msg=name
        )
    ts, cs = tp.state_dict(), cp.state_dict()
    keys = (
        "conv1.bn.running_mean",
        "conv1.bn.running_var",
        "conv1.weight_fake_quant.scale",
        "conv1.activation_post_process.scale",
        "quant.activation_post_process.scale",
    )
    for key in keys:
        np.testing.assert_allclose(cs[key].numpy(), ts[key].numpy(), rtol=1e-4, err_msg=key)
    assert int(cs["conv1.bn.num_batches_tracked"]) == 1


def test_qat_train_freeze_convert_matches_torch():
    """Train both for a few SGD steps from the same weights and inputs, freeze observers
    and batch-norm statistics midway, convert. Float training drifts in last bits between
    the frameworks (and fake quantization can turn that into a quantization step), so the
    trained weights and the converted outputs agree to a tolerance (the bit-for-bit check
    of ``convert`` is the next test, from torch's trained state)."""
    tp, cp = _pair()
    _train(tp, torch, 6, 8, switch_at=4)
    _train(cp, cr, 6, 8, switch_at=4)
    assert not cp.conv1.bn.training and cp.conv1.freeze_bn
    assert int(cp.conv1.weight_fake_quant.observer_enabled[0]) == 0
    ts, cs = tp.state_dict(), cp.state_dict()
    for key, value in ts.items():
        if value.dtype.is_floating_point:
            np.testing.assert_allclose(
                cs[key].numpy(), value.numpy(), rtol=0.02, atol=0.02, err_msg=key
            )
    tp.eval()
    cp.eval()
    x = np.random.default_rng(9).standard_normal((8, 3, 8, 8)).astype(F32)
    assert not cp.conv2.bn.training and not cp.conv2.training
    np.testing.assert_allclose(  # the QAT model in evaluation mode: running statistics
        cp(cr.tensor(x)).detach().numpy(), tp(torch.tensor(x)).detach().numpy(), atol=0.1
    )
    tc = tq.convert(tp)
    cc = cq.convert(cp)
    assert [m._get_name() for m in cc.modules()] == [m._get_name() for m in tc.modules()]
    assert list(cc.state_dict()) == list(tc.state_dict())
    np.testing.assert_allclose(cc(cr.tensor(x)).numpy(), tc(torch.tensor(x)).numpy(), atol=0.1)


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("switch_at", [None, 3])
def test_convert_of_torch_trained_state_is_bit_exact(version, switch_at):
    """chainrule's QAT model loaded with torch's trained state (fake quantizers' ranges,
    batch-norm statistics, weights) converts to torch's quantized model bit for bit: the
    batch norm folded into the weight, the weight fake quantizer observing it once more
    (while its observer is on), the qparams from the observers."""
    tp, cp = _pair(version)
    _train(tp, torch, 5, 10, switch_at=switch_at)
    cp.load_state_dict({k: cr.tensor(v.numpy()) for k, v in tp.state_dict().items()})
    if switch_at is not None:
        cp.apply(cr.ao.nn.intrinsic.qat.freeze_bn_stats)
    tp.eval()
    cp.eval()
    tc, cc = tq.convert(tp), cq.convert(cp)
    assert repr(cc) == repr(tc)
    for name in ("conv1", "conv2", "conv3", "fc1", "fc2"):
        tw, cw = getattr(tc, name).weight(), getattr(cc, name).weight()
        np.testing.assert_array_equal(cw.int_repr().numpy(), tw.int_repr().numpy(), err_msg=name)
        np.testing.assert_array_equal(
            cw.q_per_channel_scales().numpy(), tw.q_per_channel_scales().numpy()
        )
    x = np.random.default_rng(11).standard_normal((8, 3, 8, 8)).astype(F32)
    out_t, out_c = tc(torch.tensor(x)), cc(cr.tensor(x))
    np.testing.assert_array_equal(out_c.numpy(), out_t.numpy())
    assert np.unique(out_t.numpy()).size > 8


@pytest.mark.parametrize(
    "scale,zp,grad_factor",
    [(0.05, 10.0, 1.0), (0.05, 10.7, 0.5), (0.02, -3.0, 1.0), (0.1, 300.0, 2.0)],
)
def test_learnable_fake_quantize_gradients(scale, zp, grad_factor):
    """The learned-step-size form: forward and input gradient bit for bit; the scale's and
    zero point's gradients are sums over the elements, equal up to summation order."""
    rng = np.random.default_rng(12)
    x = (rng.standard_normal(5000) * 3).astype(F32)
    g = rng.standard_normal(5000).astype(F32)
    outs = []
    for lib, fq in ((torch, torch._fake_quantize_learnable_per_tensor_affine),
                    (cr, cr._fake_quantize_learnable_per_tensor_affine)):  # fmt: skip
        xs = lib.tensor(x, requires_grad=True)
        s = lib.tensor(np.array([scale], F32), requires_grad=True)
        z = lib.tensor(np.array([zp], F32), requires_grad=True)
        y = fq(xs, s, z, 0, 255, grad_factor)
        y.backward(lib.tensor(g))
        outs.append((y.detach().numpy(), xs.grad.numpy(), s.grad.numpy(), z.grad.numpy(), y))
    (yt, gxt, gst, gzt, t), (yc, gxc, gsc, gzc, c) = outs
    assert c.grad_fn.name() == t.grad_fn.name()
    np.testing.assert_array_equal(yc, yt)
    np.testing.assert_array_equal(gxc, gxt)
    assert gsc.shape == gst.shape == (1,) and gzc.shape == (1,)
    np.testing.assert_allclose(gsc, gst, rtol=1e-5)
    np.testing.assert_allclose(gzc, gzt, rtol=1e-5)


def test_conv_relu_qat_sequential_bit_exact_convert():
    """``fuse_modules_qat`` of Conv2d + ReLU (no batch norm) gives ``ConvReLU2d``, which
    ``prepare_qat`` makes an ``intrinsic.qat.ConvReLU2d``; one training step each, then
    convert from torch's state."""

    def build(lib, q):
        nn = lib.nn
        return nn.Sequential(
            q.QuantStub(), nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(64, 5),
            q.DeQuantStub(),
        )  # fmt: skip

    torch.manual_seed(1)
    tm, cm = build(torch, tq), build(cr, cq)
    cm.load_state_dict({k: cr.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    tm = tq.fuse_modules_qat(tm, [["1", "2"]])
    cm = cq.fuse_modules_qat(cm, [["1", "2"]])
    tm.qconfig, cm.qconfig = tq.get_default_qat_qconfig("x86"), cq.get_default_qat_qconfig("x86")
    tp, cp = tq.prepare_qat(tm), cq.prepare_qat(cm)
    assert type(cp[1]) is cr.ao.nn.intrinsic.qat.ConvReLU2d
    assert repr(cp) == repr(tp)
    x = np.random.default_rng(13).standard_normal((4, 3, 6, 6)).astype(F32)
    yt, yc = tp(torch.tensor(x)), cp(cr.tensor(x))
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=0.05)
    cp.load_state_dict({k: cr.tensor(v.numpy()) for k, v in tp.state_dict().items()})
    tc, cc = tq.convert(tp.eval()), cq.convert(cp.eval())
    assert type(cc[1]) is cr.ao.nn.intrinsic.quantized.ConvReLU2d
    np.testing.assert_array_equal(cc(cr.tensor(x)).numpy(), tc(torch.tensor(x)).numpy())


def test_quantize_qat():
    def build(lib, q):
        nn = lib.nn
        return nn.Sequential(q.QuantStub(), nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3),
                             q.DeQuantStub())  # fmt: skip

    torch.manual_seed(2)
    tm, cm = build(torch, tq), build(cr, cq)
    cm.load_state_dict({k: cr.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    tm.qconfig, cm.qconfig = tq.get_default_qat_qconfig("x86"), cq.get_default_qat_qconfig("x86")
    x = np.random.default_rng(14).standard_normal((16, 6)).astype(F32)
    seen = []

    def run(model, lib):
        seen.append(type(model[1]).__name__)
        model(lib.tensor(x))

    tc = tq.quantize_qat(tm.eval(), run, [torch])
    cc = cq.quantize_qat(cm.eval(), run, [cr])
    assert seen == ["Linear", "Linear"] and not cm.training  # a copy was trained
    # (the float linear layers' last bits differ: the observed scales agree to an ulp)
    assert [m._get_name() for m in cc.modules()] == [m._get_name() for m in tc.modules()]
    np.testing.assert_allclose(cc[1].scale, tc[1].scale, rtol=1e-6)
    np.testing.assert_allclose(cc(cr.tensor(x)).numpy(), tc(torch.tensor(x)).numpy(), atol=0.05)
