"""cr.nn.init: formulas (bounds/std vs torch's), fans for conv weights, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn import init


def test_calculate_gain_matches_torch():
    for name, param in [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("selu", None),
    ]:
        assert init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param)
        )
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swishy")


@pytest.mark.parametrize("shape", [(300, 200), (64, 8, 3, 3), (32, 4, 5)])
def test_fans_match_torch(shape):
    t = torch.empty(shape)
    assert init._calculate_fan_in_and_fan_out(
        cr.empty(*shape)
    ) == torch.nn.init._calculate_fan_in_and_fan_out(t)


def _stats(fn, shape=(256, 64, 3, 3), **kw):
    t = cr.empty(*shape, dtype=cr.float64)
    out = fn(t, **kw)
    assert out is t
    return t.data


def test_uniform_family_bounds():
    fan_in, fan_out = 64 * 9, 256 * 9
    d = _stats(init.xavier_uniform_, gain=2.0)
    a = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(d).max() <= a and np.abs(d).max() > 0.99 * a
    d = _stats(init.kaiming_uniform_, a=math.sqrt(5))
    b = math.sqrt(3) * math.sqrt(2 / (1 + 5)) / math.sqrt(fan_in)
    assert np.abs(d).max() <= b and np.abs(d).max() > 0.99 * b
    d = _stats(init.kaiming_uniform_, mode="fan_out", nonlinearity="relu")
    b = math.sqrt(3) * math.sqrt(2) / math.sqrt(fan_out)
    assert np.abs(d).max() <= b and abs(d.std() - b / math.sqrt(3)) < 0.01 * b
    d = _stats(init.uniform_, a=-0.5, b=2.0)
    assert d.min() >= -0.5 and d.max() < 2.0 and abs(d.mean() - 0.75) < 0.01


def test_normal_family_std():
    fan_in, fan_out = 64 * 9, 256 * 9
    d = _stats(init.kaiming_normal_, nonlinearity="relu")
    assert abs(d.std() / (math.sqrt(2 / fan_in)) - 1) < 0.01 and abs(d.mean()) < 1e-3
    d = _stats(init.xavier_normal_)
    assert abs(d.std() / math.sqrt(2 / (fan_in + fan_out)) - 1) < 0.01
    d = _stats(init.normal_, mean=3.0, std=0.5)
    assert abs(d.mean() - 3) < 0.01 and abs(d.std() - 0.5) < 0.01
    d = _stats(init.trunc_normal_, std=1.0, a=-0.5, b=1.0)
    assert d.min() >= -0.5 and d.max() <= 1.0
    ref = torch.nn.init.trunc_normal_(
        torch.empty(200000, dtype=torch.float64), std=1.0, a=-0.5, b=1.0
    )
    assert abs(d.mean() - ref.mean().item()) < 0.01 and abs(d.std() - ref.std().item()) < 0.01


def test_constant_eye_dirac_orthogonal():
    assert (_stats(init.constant_, shape=(3, 4), val=2.5) == 2.5).all()
    assert (_stats(init.zeros_, shape=(3,)) == 0).all()
    assert (_stats(init.ones_, shape=(3,)) == 1).all()
    np.testing.assert_array_equal(_stats(init.eye_, shape=(3, 4)), np.eye(3, 4))
    w = cr.empty(4, 2, 3, 3)
    init.dirac_(w, groups=2)
    tw = torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), groups=2)
    np.testing.assert_array_equal(w.data, tw.numpy())
    q = _stats(init.orthogonal_, shape=(6, 10), gain=2.0)
    np.testing.assert_allclose(q @ q.T, 4 * np.eye(6), atol=1e-10)
    with pytest.raises(ValueError, match="fewer than 2"):
        init.xavier_uniform_(cr.empty(5))


def test_init_is_reproducible_and_untracked():
    cr.manual_seed(7)
    a = cr.nn.Linear(5, 4)
    cr.manual_seed(7)
    b = cr.nn.Linear(5, 4)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    g = cr.Generator().manual_seed(3)
    w1 = init.normal_(cr.empty(10), generator=g).data.numpy().copy()
    g.manual_seed(3)
    np.testing.assert_array_equal(w1, init.normal_(cr.empty(10), generator=g).data)
    p = cr.nn.Parameter(cr.zeros(3))
    init.uniform_(p)
    assert p.grad_fn is None and p.requires_grad
