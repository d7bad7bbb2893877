"""Eager-mode post-training static quantization against PyTorch (x86 engine): ``prepare``
(observers where torch puts them, reprs, state-dict keys, hooks), calibration (observers'
qparams), ``convert`` (the swapped modules, their qparams, weights and state dicts) and the
converted model's outputs, bit for bit, on a small CNN (Conv-BN-ReLU fused, a
``FloatFunctional`` skip connection, ``ReLU6``, a Linear head) and an MLP; ``quantize``;
the stubs; the errors for what chainrule does not implement."""

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
    # both frameworks warn that quantization is deprecated (DeprecationWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def _cnn(lib, q, nnq):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.quant = q.QuantStub()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
            self.bn1, self.relu1 = nn.BatchNorm2d(8), nn.ReLU()
            self.conv2 = nn.Conv2d(8, 8, 3, padding=1, groups=2)
            self.bn2, self.relu2 = nn.BatchNorm2d(8), nn.ReLU()
            self.skip = nnq.FloatFunctional()
            self.conv3, self.relu6 = nn.Conv2d(8, 4, 3, stride=2), nn.ReLU6()
            self.fc = nn.Linear(36, 10)
            self.dequant = q.DeQuantStub()

        def forward(self, x):
            x = self.quant(x)
            y = self.relu1(self.bn1(self.conv1(x)))
            z = self.relu2(self.bn2(self.conv2(y)))
            z = self.relu6(self.conv3(self.skip.add(y, z)))
            return self.dequant(self.fc(z.reshape(z.shape[0], -1)))

    return Net()  # fmt: skip


FUSE = [["conv1", "bn1", "relu1"], ["conv2", "bn2", "relu2"]]


def _cnn_pair():
    torch.manual_seed(0)
    tm = _cnn(torch, tq, torch.ao.nn.quantized)
    with torch.no_grad():
        for m in tm.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    cm = _cnn(cr, cq, cr.ao.nn.quantized)
    cm.load_state_dict({k: cr.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    tm.eval()
    cm.eval()
    return tq.fuse_modules(tm, FUSE), cq.fuse_modules(cm, FUSE)


def _qconfigs(name):
    if name == "default":
        return tq.default_qconfig, cq.default_qconfig
    return tq.get_default_qconfig(name), cq.get_default_qconfig(name)


def _qparams(model):
    """Each observer's (scale, zero point) after calibration, by module name."""
    out = {}
    for name, m in model.named_modules():
        if hasattr(m, "calculate_qparams"):
            s, z = m.calculate_qparams()
            out[name] = (np.asarray(s).tolist(), np.asarray(z).tolist())
    return out


@pytest.mark.parametrize("qconfig", ["default", "x86", "fbgemm"])
def test_cnn_static_quantization_matches_torch(qconfig) -> None:
    tf, cf = _cnn_pair()
    tf.qconfig, cf.qconfig = _qconfigs(qconfig)
    tp, cp = tq.prepare(tf), cq.prepare(cf)
    assert repr(cp) == repr(tp)
    assert list(cp.state_dict()) == list(tp.state_dict())
    assert hasattr(cf, "qconfig") and not hasattr(cf.conv1, "activation_post_process")
    assert len(cp.conv1._forward_hooks) == 1 and len(cp.relu6._forward_hooks) == 1
    assert not hasattr(cp.dequant, "activation_post_process")
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.standard_normal((4, 3, 7, 7)).astype(F32)
        tp(torch.tensor(x))
        cp(cr.tensor(x))
    # the stub sees the same floats: its observer agrees exactly; the float convolutions'
    # last bits differ between the frameworks, so the inner observers agree to a few ulps
    tqp, cqp = _qparams(tp), _qparams(cp)
    assert cqp["quant.activation_post_process"] == tqp["quant.activation_post_process"]
    for name, (scale, zp) in tqp.items():
        np.testing.assert_allclose(cqp[name][0], scale, rtol=1e-5)
        np.testing.assert_allclose(cqp[name][1], zp, atol=1)
    # with torch's calibration state, convert gives the same model and the same outputs
    cp.load_state_dict({k: cr.tensor(v.numpy()) for k, v in tp.state_dict().items()})
    tc, cc = tq.convert(tp), cq.convert(cp)
    assert repr(cc) == repr(tc)
    assert list(cc.state_dict()) == list(tc.state_dict())
    assert not any(hasattr(m, "qconfig") for m in cc.modules())
    assert type(cc.conv1) is cr.ao.nn.intrinsic.quantized.ConvReLU2d
    assert type(cc.skip) is cr.ao.nn.quantized.QFunctional
    tw, cw = tc.fc.weight(), cc.fc.weight()
    np.testing.assert_array_equal(cw.int_repr().numpy(), tw.int_repr().numpy())
    assert repr(cw.qscheme()) == repr(tw.qscheme())
    x = rng.standard_normal((5, 3, 7, 7)).astype(F32)
    np.testing.assert_array_equal(cc(cr.tensor(x)).numpy(), tc(torch.tensor(x)).numpy())


def _mlp(nn, q):
    return nn.Sequential(
        q.QuantStub(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU6(),
        nn.Linear(32, 4), q.DeQuantStub(),
    )  # fmt: skip


def _dyadic_pair():
    """An MLP whose float forward is exact in both frameworks (weights and inputs on a
    coarse binary grid), so calibration sees identical values."""
    rng = np.random.default_rng(3)
    tm, cm = _mlp(torch.nn, tq), _mlp(cr.nn, cq)
    state = {
        k: (np.round(rng.uniform(-1, 1, v.shape) * 8) / 8).astype(F32)
        for k, v in tm.state_dict().items()
    }
    tm.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    cm.load_state_dict({k: cr.tensor(v) for k, v in state.items()})
    data = [(np.round(rng.standard_normal((8, 16)) * 4) / 4).astype(F32) for _ in range(3)]
    return tm.eval(), cm.eval(), data


@pytest.mark.parametrize("qconfig", ["default", "x86"])
def test_mlp_quantize_end_to_end_bit_exact(qconfig) -> None:
    tm, cm, data = _dyadic_pair()
    tm.qconfig, cm.qconfig = _qconfigs(qconfig)

    def run(model, batches, lib):
        for b in batches:
            model(lib.tensor(b))

    tp, cp = tq.prepare(tm), cq.prepare(cm)
    run(tp, data, torch)
    run(cp, data, cr)
    assert _qparams(cp) == _qparams(tp)
    tc, cc = tq.quantize(tm, run, [data, torch]), cq.quantize(cm, run, [data, cr])
    assert cm.training is False and not hasattr(cm[1], "activation_post_process")
    assert repr(cc) == repr(tc)
    x = np.random.default_rng(9).standard_normal((6, 16)).astype(F32)
    np.testing.assert_array_equal(cc(cr.tensor(x)).numpy(), tc(torch.tensor(x)).numpy())
    # a converted state dict loads into a freshly converted model
    fresh = cq.convert(cq.prepare(cm))
    fresh.load_state_dict(cc.state_dict())
    np.testing.assert_array_equal(fresh(cr.tensor(x)).numpy(), cc(cr.tensor(x)).numpy())


def test_stubs_and_wrapper() -> None:
    lin = cr.nn.Linear(2, 3)
    lin.qconfig = cq.default_qconfig
    w = cq.QuantWrapper(lin)
    torch_w = tq.QuantWrapper(torch.nn.Linear(2, 3))
    assert repr(w) == repr(torch_w)
    assert w.quant.qconfig is cq.default_qconfig and w.dequant.qconfig is cq.default_qconfig
    x = cr.randn(4, 2)
    np.testing.assert_array_equal(w(x).detach().numpy(), lin(x).detach().numpy())
    assert not hasattr(cq.QuantStub(), "qconfig")
    converted = cq.convert(cq.prepare(w), inplace=False)
    assert type(converted.quant) is cr.ao.nn.quantized.Quantize
    assert cr.nn.quantized.Quantize is cr.ao.nn.quantized.Quantize
    assert cr.quantization.prepare is cq.prepare


def test_prepare_root_leaf_and_custom_mapping() -> None:
    lin = cr.nn.Linear(3, 3)
    lin.qconfig = cq.default_qconfig
    assert repr(cq.prepare(lin)) == (
        "Linear(\n  in_features=3, out_features=3, bias=True\n"
        "  (activation_post_process): MinMaxObserver(min_val=inf, max_val=-inf)\n)"
    )
    # a module the mapping leaves in float loses its observer and hook
    m = cr.nn.Sequential(cq.QuantStub(), cr.nn.Linear(3, 3), cq.DeQuantStub())
    m.qconfig = cq.default_qconfig
    p = cq.prepare(m)
    p(cr.randn(4, 3))
    c = cq.convert(p, mapping={cr.nn.Linear: cr.ao.nn.quantized.Linear})
    assert type(c[0]) is cq.QuantStub and not hasattr(c[0], "activation_post_process")
    assert len(c[0]._forward_hooks) == 0


def test_errors_and_warnings() -> None:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        cq.prepare(cr.nn.Linear(2, 2))
    assert any("None of the submodule got qconfig applied" in str(w.message) for w in got)
    assert any(issubclass(w.category, DeprecationWarning) for w in got)
    with pytest.raises(AssertionError, match="prepare_qat only works on models in training"):
        cq.prepare_qat(cr.nn.Linear(2, 2).eval())
    m = cr.nn.Sequential(cr.nn.Linear(2, 2), cr.nn.LayerNorm(2))
    m.qconfig = cq.default_qconfig
    with pytest.raises(NotImplementedError, match="LayerNorm"):
        cq.prepare(m)
    with pytest.raises(AssertionError, match="backend: foo not supported"):
        cq.get_default_qconfig("foo")
    assert repr(cq.get_default_qconfig("x86")) == repr(tq.get_default_qconfig("x86")).replace(
        "torch.ao.", "chainrule.ao."
    )
    with pytest.raises(AssertionError, match="must have qconfig"):
        cr.ao.nn.quantized.Linear.from_float(cr.nn.Linear(2, 2))


def test_save_load_quantized_tensors_and_converted_state_dict(tmp_path) -> None:
    tm, cm, data = _dyadic_pair()
    tm.qconfig, cm.qconfig = _qconfigs("x86")
    tc = tq.quantize(tm, lambda m: [m(torch.tensor(b)) for b in data], [])
    cc = cq.quantize(cm, lambda m: [m(cr.tensor(b)) for b in data], [])
    x = np.random.default_rng(4).standard_normal((6, 16)).astype(F32)
    # chainrule's checkpoint loads into torch's converted model (weights_only) and back
    path = tmp_path / "q.pt"
    cr.save(cc.state_dict(), path)
    state = torch.load(path, weights_only=True)
    assert state["1._packed_params.dtype"] is torch.qint8
    fresh_t = tq.quantize(tm, lambda m: [m(torch.tensor(b)) for b in data[:1]], [])
    fresh_t.load_state_dict(state)
    np.testing.assert_array_equal(fresh_t(torch.tensor(x)).numpy(), tc(torch.tensor(x)).numpy())
    loaded = cr.load(path)
    assert loaded["1._packed_params.dtype"] is cr.qint8
    # torch's checkpoint of its converted model loads into chainrule's
    torch.save(tc.state_dict(), tmp_path / "t.pt")
    fresh_c = cq.quantize(cm, lambda m: [m(cr.tensor(b)) for b in data[:1]], [])
    fresh_c.load_state_dict(cr.load(tmp_path / "t.pt"))
    np.testing.assert_array_equal(fresh_c(cr.tensor(x)).numpy(), tc(torch.tensor(x)).numpy())
    w = loaded["1._packed_params._packed_params"][0]
    assert repr(w.qscheme()) == "torch.per_channel_affine"
    np.testing.assert_array_equal(w.int_repr().numpy(), cc[1].weight().int_repr().numpy())


def test_quantized_engine_switch() -> None:
    q = cr.backends.quantized
    assert q.engine == torch.backends.quantized.engine == "x86"
    assert set(q.supported_engines) <= set(torch.backends.quantized.supported_engines)
    q.engine = "fbgemm"
    assert q.engine == "fbgemm"
    q.engine = "x86"
    with pytest.raises(NotImplementedError, match="qnnpack"):
        q.engine = "qnnpack"
    with pytest.raises(RuntimeError, match="foo is not a valid value for quantized engine"):
        q.engine = "foo"
    assert q.engine == "x86"
