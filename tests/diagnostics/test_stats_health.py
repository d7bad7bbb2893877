"""record(), check_health() on constructed networks whose problems are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn


def _dead_relu_net():
    """Linear with zero weights and a negative bias: every pre-activation is -1."""
    lin = nn.Linear(8, 16)
    lin.weight.data[...] = 0.0
    lin.bias.data[...] = -1.0
    return nn.Sequential(lin, nn.ReLU(), nn.Linear(16, 4))


def test_record_dead_relu_and_hooks_removed():
    cr.manual_seed(0)
    model = _dead_relu_net()
    x = cr.randn(32, 8)
    with cr.diagnostics.record(model) as rec:
        F.cross_entropy(model(x), cr.randint(0, 4, (32,))).backward()
    relu = rec.layers["1"]
    assert relu.activation == "relu"
    assert relu.frac_dead == 1.0 and relu.frac_zero == 1.0
    assert relu.max == 0.0
    assert rec.layers["0"].mean == pytest.approx(-1.0)
    assert rec.layers["0"].grad_norm == 0.0  # nothing flows back through a dead ReLU
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())
    text = rec.table(print_it=False)
    assert "100.0" in text and "0.weight" in text


def test_record_saturation_and_stats_match_numpy():
    cr.manual_seed(0)
    lin = nn.Linear(10, 50)
    lin.weight.data[...] *= 30.0
    model = nn.Sequential(lin, nn.Tanh(), nn.Linear(50, 3), nn.Sigmoid())
    x = cr.randn(64, 10)
    with cr.diagnostics.record(model) as rec:
        out = model(x)
        out.sum().backward()
    h = np.tanh(x.numpy() @ lin.weight.detach().numpy().T + lin.bias.detach().numpy())
    st = rec.layers["1"]
    assert st.mean == pytest.approx(h.mean(), abs=1e-5)
    assert st.std == pytest.approx(h.std(), abs=1e-5)
    assert st.frac_saturated == pytest.approx((np.abs(h) > 0.99).mean())
    assert st.frac_saturated > 0.5
    o = out.detach().numpy()
    assert rec.layers["3"].frac_saturated == pytest.approx(((o < 0.01) | (o > 0.99)).mean())
    ps = rec.param_stats()
    g = lin.weight.grad.numpy()
    assert ps["0.weight"]["grad_norm"] == pytest.approx(np.linalg.norm(g), rel=1e-5)


def test_update_ratio_and_plots(tmp_path):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    with cr.diagnostics.record(model) as rec:
        before = model[0].weight.detach().numpy().copy()
        F.cross_entropy(model(cr.randn(16, 4)), cr.randint(0, 2, (16,))).backward()
        g = model[0].weight.grad.numpy().copy()
        ratios = rec.update_ratios(opt)
    expect = np.linalg.norm(0.1 * g) / np.linalg.norm(before)
    assert ratios["0.weight"] == pytest.approx(expect, rel=1e-4)
    assert rec.update_ratios() == ratios
    rec.plot_activations(str(tmp_path / "act.png"))
    rec.plot_gradients(str(tmp_path / "grad.png"))
    for name in ("act.png", "grad.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


def test_health_dead_relu():
    cr.manual_seed(0)
    rep = cr.diagnostics.check_health(
        _dead_relu_net(), (cr.randn(32, 8), cr.randint(0, 4, (32,))), F.cross_entropy
    )
    dead = [f for f in rep if f.kind == "dead_relu"]
    assert dead and dead[0].layer == "1" and dead[0].severity == "error"
    assert "100%" in dead[0].message
    assert "zero_gradients" in rep.kinds()  # the first Linear gets no gradient at all


def test_health_vanishing_sigmoid():
    cr.manual_seed(0)
    layers = []
    for _ in range(10):
        layers += [nn.Linear(32, 32), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(32, 10))
    rep = cr.diagnostics.check_health(
        model, (cr.randn(64, 32), cr.randint(0, 10, (64,))), F.cross_entropy
    )
    assert "vanishing_gradients" in rep.kinds()
    f = next(f for f in rep if f.kind == "vanishing_gradients")
    assert f.layer == "0.weight" and "ReLU" in f.message
    init = next(f for f in rep if f.kind == "init")
    assert "Xavier" in init.message


def test_health_relu_collapse_suggests_kaiming_and_bad_initial_loss():
    cr.manual_seed(0)
    layers = []
    for _ in range(6):
        lin = nn.Linear(64, 64)
        lin.weight.data[...] = np.random.default_rng(0).standard_normal((64, 64)) * 0.01
        lin.bias.data[...] = 0
        layers += [lin, nn.ReLU()]
    head = nn.Linear(64, 10)
    head.weight.data[...] *= 1000.0
    head.bias.data[...] = np.arange(10) * 50.0
    model = nn.Sequential(*layers, head)
    rep = cr.diagnostics.check_health(
        model, (cr.randn(32, 64), cr.randint(0, 10, (32,))), F.cross_entropy
    )
    kinds = rep.kinds()
    assert "activations_collapse" in kinds
    assert "Kaiming" in next(f for f in rep if f.kind == "init").message
    loss_f = next(f for f in rep if f.kind == "initial_loss")
    assert loss_f.severity == "warning" and "ln(10)" in loss_f.message


def test_health_good_net_is_quiet():
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 5)
    )
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    model[-1].weight.data[...] *= 0.01
    rep = cr.diagnostics.check_health(
        model, (cr.randn(64, 20), cr.randint(0, 5, (64,))), F.cross_entropy
    )
    assert [f for f in rep if f.severity != "info"] == []
    assert abs(rep.loss - math.log(5)) < 0.1
