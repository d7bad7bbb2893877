"""``quantize_dynamic`` on ``nn.Linear`` and the observers/qconfigs behind it, against
PyTorch: the swapped modules' reprs, weights, biases, state-dict keys and outputs (bit for
bit), the spec forms, and ``calculate_qparams``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

tq = torch.ao.quantization
cq = cr.ao.quantization


@pytest.fixture(autouse=True)
def _quiet():
    # both frameworks warn that quantization is deprecated (DeprecationWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def _names(text: str) -> str:
    """torch's module paths as chainrule's (dtypes and schemes print alike)."""
    return text.replace("torch.ao.", "chainrule.ao.")


def _pair(make, seed: int = 0):
    """The same float model in both frameworks (torch's initial weights copied)."""
    torch.manual_seed(seed)
    tm = make(torch.nn)
    cm = make(cr.nn)
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, cm


def _mlp(nn):
    return nn.Sequential(nn.Linear(7, 16), nn.ReLU(), nn.Linear(16, 5, bias=False), nn.Hardtanh(),
                         nn.Linear(5, 3))  # fmt: skip


def test_quantize_dynamic_linear_matches_torch() -> None:
    tm, cm = _pair(_mlp)
    tqm = tq.quantize_dynamic(tm, {torch.nn.Linear}, dtype=torch.qint8)
    cqm = cq.quantize_dynamic(cm, {cr.nn.Linear}, dtype=cr.qint8)
    assert repr(cqm) == _names(repr(tqm))
    assert type(cqm[0]) is cr.ao.nn.quantized.dynamic.Linear
    assert cr.nn.quantized.dynamic.Linear is cr.ao.nn.quantized.dynamic.Linear
    for i in (0, 2, 4):
        tw, cw = tqm[i].weight(), cqm[i].weight()
        np.testing.assert_array_equal(cw.int_repr().numpy(), tw.int_repr().numpy())
        assert cw.q_scale() == tw.q_scale() and cw.q_zero_point() == tw.q_zero_point()
        assert (cqm[i].bias() is None) == (tqm[i].bias() is None)
        if tqm[i].bias() is not None:
            np.testing.assert_array_equal(
                cqm[i].bias().detach().numpy(), tqm[i].bias().detach().numpy()
            )
    assert list(cqm.state_dict()) == list(tqm.state_dict())
    rng = np.random.default_rng(0)
    for shape, shift in [((4, 7), 0.0), ((1, 7), 0.5), ((2, 3, 7), -0.3), ((5, 7), 3.0)]:
        x = (rng.standard_normal(shape) * 2 + shift).astype(np.float32)
        want = tqm(torch.from_numpy(x)).numpy()
        got = cqm(cr.tensor(x)).numpy()
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("seed", range(6))
def test_dynamic_linear_outputs_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_in, n_out = int(rng.integers(1, 60)), int(rng.integers(1, 30))
    bias = bool(seed % 2)
    tm, cm = _pair(lambda nn: nn.Sequential(nn.Linear(n_in, n_out, bias=bias)), seed)
    tqm = tq.quantize_dynamic(tm)
    cqm = cq.quantize_dynamic(cm)
    for scale, shift in [(1.0, 0.0), (0.01, 0.0), (5.0, 1.0), (1.0, -2.0)]:
        x = (rng.standard_normal((int(rng.integers(1, 9)), n_in)) * scale + shift).astype(
            np.float32
        )
        if seed == 3:
            x = np.abs(x)  # all positive: the zero point sits at 0
        np.testing.assert_array_equal(cqm(cr.tensor(x)).numpy(), tqm(torch.from_numpy(x)).numpy())
    zeros = np.zeros((2, n_in), np.float32)  # a zero range: PyTorch's scale 0.1
    np.testing.assert_array_equal(
        cqm(cr.tensor(zeros)).numpy(), tqm(torch.from_numpy(zeros)).numpy()
    )


def test_per_channel_qconfig_matches_torch() -> None:
    tm, cm = _pair(_mlp, 3)
    tqm = tq.quantize_dynamic(tm, {torch.nn.Linear: tq.per_channel_dynamic_qconfig})
    cqm = cq.quantize_dynamic(cm, {cr.nn.Linear: cq.per_channel_dynamic_qconfig})
    assert repr(cqm) == _names(repr(tqm))
    tw, cw = tqm[0].weight(), cqm[0].weight()
    np.testing.assert_array_equal(cw.int_repr().numpy(), tw.int_repr().numpy())
    np.testing.assert_array_equal(
        cw.q_per_channel_scales().numpy(), tw.q_per_channel_scales().numpy()
    )
    x = np.random.default_rng(1).standard_normal((6, 7)).astype(np.float32)
    np.testing.assert_array_equal(cqm(cr.tensor(x)).numpy(), tqm(torch.from_numpy(x)).numpy())


def _nested(nn):
    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 3)
            self.sub = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
            self.conv = nn.Conv2d(1, 1, 1)

        def forward(self, x):
            return self.sub(self.fc(x))

    return M()


@pytest.mark.parametrize(
    "spec",
    [None, "set_name", "dict_name", "conv_only", "dict_type", "sub_type"],
)
def test_spec_forms_swap_the_same_modules(spec: str | None) -> None:
    tm, cm = _pair(_nested)

    def make(fw, q):
        return {
            None: None,
            "set_name": {"sub"},
            "dict_name": {"sub.0": q.default_dynamic_qconfig},
            "conv_only": {fw.nn.Conv2d},
            "dict_type": {fw.nn.Linear: q.default_dynamic_qconfig},
            "sub_type": {fw.nn.Sequential},
        }[spec]

    tqm = tq.quantize_dynamic(tm, make(torch, tq))
    cqm = cq.quantize_dynamic(cm, make(cr, cq))
    assert repr(cqm) == _names(repr(tqm))
    assert cqm.training is tqm.training is False
    assert not hasattr(cqm.sub[1], "qconfig") and not hasattr(cqm, "qconfig")
    assert cm.fc.__class__ is cr.nn.Linear  # not in place: the float model is untouched
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(
        cqm(cr.tensor(x)).detach().numpy(), tqm(torch.from_numpy(x)).detach().numpy()
    )


def test_inplace_and_errors() -> None:
    tm, cm = _pair(_mlp)
    assert cq.quantize_dynamic(cm, inplace=True) is cm
    assert type(cm[0]).__name__ == "Linear" and cm[0]._get_name() == "DynamicQuantizedLinear"
    with pytest.raises(RuntimeError, match="The dimension of input tensor should be larger"):
        tq.quantize_dynamic(tm)(torch.ones(7))
    with pytest.raises(RuntimeError, match="The dimension of input tensor should be larger"):
        cm(cr.ones(7))
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        tq.quantize_dynamic(tm)(torch.ones(1, 7, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        cm(cr.ones(1, 7, dtype=cr.float64))
    with pytest.raises(ValueError, match="Don't know how to quantize"):
        tq.quantize_dynamic(tm, dtype=torch.qint32)
    with pytest.raises(ValueError, match="Don't know how to quantize"):
        cq.quantize_dynamic(_pair(_mlp)[1], dtype=cr.qint32)


def test_unimplemented_layer_types_raise_naming_them() -> None:
    cells = cr.nn.Sequential(cr.nn.GRUCell(3, 4))
    with pytest.raises(NotImplementedError, match="GRUCell"):
        cq.quantize_dynamic(cells, {cr.nn.GRUCell, cr.nn.Linear}, dtype=cr.qint8)
    emb = cr.nn.Sequential(cr.nn.Embedding(3, 4))
    with pytest.raises(NotImplementedError, match="Embedding|quint8"):
        cq.quantize_dynamic(emb, {cr.nn.Embedding}, dtype=cr.quint8)
    # a spec naming a type the model does not have is fine, as in torch
    _, cm = _pair(_mlp)
    q = cq.quantize_dynamic(cm, {cr.nn.GRUCell, cr.nn.Linear}, dtype=cr.qint8)
    assert q[0]._get_name() == "DynamicQuantizedLinear"


def test_state_dict_round_trip_and_fresh_module() -> None:
    tm, cm = _pair(_mlp)
    cqm = cq.quantize_dynamic(cm)
    fresh = cq.quantize_dynamic(_pair(_mlp, 5)[1])
    fresh.load_state_dict(cqm.state_dict())
    x = cr.randn(3, 7)
    np.testing.assert_array_equal(fresh(x).numpy(), cqm(x).numpy())
    t = torch.ao.nn.quantized.dynamic.Linear(3, 2)
    c = cr.ao.nn.quantized.dynamic.Linear(3, 2)
    assert repr(c) == _names(repr(t))
    assert list(c.state_dict()) == list(t.state_dict())
    assert float(c.state_dict()["scale"]) == float(t.state_dict()["scale"]) == 1.0
    assert c.state_dict()["zero_point"].dtype == cr.int64
    np.testing.assert_array_equal(c.bias().detach().numpy(), t.bias().detach().numpy())


def test_qconfigs_print_as_torchs() -> None:
    for name in ("default_dynamic_qconfig", "per_channel_dynamic_qconfig",
                 "float_qparams_weight_only_qconfig", "float16_dynamic_qconfig"):  # fmt: skip
        want = _names(repr(getattr(tq, name))).replace("chainrule.float16", "float16")
        assert repr(getattr(cq, name)) == want
    assert cr.quantization is cr.ao.quantization
    assert cr.quantization.quantize_dynamic is cq.quantize_dynamic


OBSERVER_CASES = [
    {},
    {"dtype": "qint8", "qscheme": "per_tensor_symmetric"},
    {"qscheme": "per_tensor_symmetric"},
    {"dtype": "qint8"},
    {"reduce_range": True},
    {"dtype": "qint8", "reduce_range": True},
    {"quant_min": 0, "quant_max": 15},
    {"qscheme": "per_tensor_symmetric", "quant_min": 0, "quant_max": 15},
    {"dtype": "qint32"},
]


def _kw(fw, kw: dict) -> dict:
    return {k: getattr(fw, v) if k in ("dtype", "qscheme") else v for k, v in kw.items()}


@pytest.mark.parametrize("kw", OBSERVER_CASES)
def test_minmax_observer_qparams(kw: dict) -> None:
    rng = np.random.default_rng(0)
    t, c = tq.MinMaxObserver(**_kw(torch, kw)), cq.MinMaxObserver(**_kw(cr, kw))
    assert (c.quant_min, c.quant_max) == (t.quant_min, t.quant_max)
    for shift in (0.0, 2.0, -5.0):
        x = (rng.standard_normal((4, 5)) + shift).astype(np.float32)
        assert t(torch.from_numpy(x)) is not None and c(cr.tensor(x)) is not None
        ts, tz = t.calculate_qparams()
        cs, cz = c.calculate_qparams()
        np.testing.assert_array_equal(cs.numpy(), ts.numpy())
        np.testing.assert_array_equal(cz.numpy(), tz.numpy())
        assert cz.numpy().dtype == tz.numpy().dtype and cs.numpy().dtype == np.float32
    assert repr(c) == repr(t)
    assert list(c.state_dict()) == list(t.state_dict())


@pytest.mark.parametrize("kw", [{}, {"dtype": "qint8", "qscheme": "per_channel_symmetric"},
                                {"ch_axis": 1, "dtype": "qint8"}])  # fmt: skip
def test_per_channel_observer_qparams(kw: dict) -> None:
    x = (np.random.default_rng(1).standard_normal((4, 6)) * 3).astype(np.float32)
    t = tq.PerChannelMinMaxObserver(**_kw(torch, kw))
    c = cq.PerChannelMinMaxObserver(**_kw(cr, kw))
    t(torch.from_numpy(x))
    c(cr.tensor(x))
    t(torch.from_numpy(x[::-1].copy() * 2))
    c(cr.tensor(x[::-1].copy() * 2))
    for a, b in zip(c.calculate_qparams(), t.calculate_qparams(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert a.numpy().dtype == b.numpy().dtype
    assert repr(c) == repr(t)


def test_observer_edge_cases() -> None:
    t, c = tq.MinMaxObserver(), cq.MinMaxObserver()
    assert repr(c) == repr(t)
    for a, b in zip(c.calculate_qparams(), t.calculate_qparams(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    x = torch.randn(3)
    assert t(x) is x
    cx = cr.tensor(x.numpy())
    assert c(cx) is cx
    with pytest.raises(NotImplementedError):
        tq.MinMaxObserver(qscheme=torch.per_channel_affine)
    with pytest.raises(NotImplementedError):
        cq.MinMaxObserver(qscheme=cr.per_channel_affine)
    with pytest.raises(NotImplementedError, match="Cannot reduce range"):
        tq.MinMaxObserver(qscheme=torch.per_tensor_symmetric, reduce_range=True)
    with pytest.raises(NotImplementedError, match="Cannot reduce range"):
        cq.MinMaxObserver(qscheme=cr.per_tensor_symmetric, reduce_range=True)
