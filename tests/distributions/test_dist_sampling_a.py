"""Sampling of the part-A families: seeded reproducibility through ``cr.manual_seed``,
sample moments against the analytic ones, reparameterised gradients of ``rsample``, and a
REINFORCE (score-function) gradient matching PyTorch's for fixed actions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.distributions as crd
import chainrule.nn as nn

from ._helpers import assert_close, to_np

pytestmark = pytest.mark.filterwarnings(
    "ignore:(divide by zero|invalid value|overflow) encountered:RuntimeWarning"
)


def T(v: Any) -> cr.Tensor:
    return cr.tensor(v, dtype=cr.float64)


# (distribution, relative tolerance on mean and variance for 40000 draws)
MOMENT_CASES = {
    "normal": lambda: crd.Normal(T([0.5, -2.0]), T([1.0, 3.0])),
    "bernoulli": lambda: crd.Bernoulli(T([0.2, 0.7])),
    "uniform": lambda: crd.Uniform(T([0.0, -3.0]), T([1.0, 5.0])),
    "exponential": lambda: crd.Exponential(T([0.5, 3.0])),
    "laplace": lambda: crd.Laplace(T([1.0, -1.0]), T([0.5, 2.0])),
    "geometric": lambda: crd.Geometric(T([0.3, 0.8])),
    "poisson": lambda: crd.Poisson(T([0.7, 6.0])),
    "binomial": lambda: crd.Binomial(T([10.0, 3.0]), T([0.3, 0.9])),
    "onehot": lambda: crd.OneHotCategorical(T([0.2, 0.5, 0.3])),
    "multinomial": lambda: crd.Multinomial(5, T([0.2, 0.5, 0.3])),
    "independent": lambda: crd.Independent(crd.Normal(T([0.5, 1.0]), T([2.0, 0.5])), 1),
}


@pytest.mark.parametrize("name", sorted(MOMENT_CASES))
def test_sample_moments_match_analytic(name: str) -> None:
    cr.manual_seed(123)
    d = MOMENT_CASES[name]()
    n = 40000
    s = to_np(d.sample((n,)))
    mean, var = to_np(d.mean), to_np(d.variance)
    se = np.sqrt(var / n)
    np.testing.assert_array_less(np.abs(s.mean(0) - mean), 5 * se + 1e-12)
    np.testing.assert_allclose(s.var(0), var, rtol=0.05, atol=1e-12)


def test_categorical_frequencies_match_probs() -> None:
    cr.manual_seed(7)
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]])
    s = to_np(crd.Categorical(probs=T(probs)).sample((30000,)))
    assert s.dtype == np.int64 and s.shape == (30000, 2)
    freq = np.stack([(s == k).mean(0) for k in range(3)], -1)
    np.testing.assert_allclose(freq, probs, atol=0.015)


def test_cauchy_sample_quartiles() -> None:
    cr.manual_seed(1)
    s = to_np(crd.Cauchy(T(1.0), T(2.0)).sample((40000,)))
    q = np.quantile(s, [0.25, 0.5, 0.75])
    np.testing.assert_allclose(q, [-1.0, 1.0, 3.0], atol=0.1)


@pytest.mark.parametrize("name", sorted(MOMENT_CASES) + ["categorical", "cauchy"])
def test_manual_seed_makes_samples_reproducible(name: str) -> None:
    makers = {
        **MOMENT_CASES,
        "categorical": lambda: crd.Categorical(T([0.2, 0.8])),
        "cauchy": lambda: crd.Cauchy(T(0.0), T(1.0)),
    }
    d = makers[name]()
    cr.manual_seed(42)
    a = to_np(d.sample((6,)))
    cr.manual_seed(42)
    b = to_np(d.sample((6,)))
    c = to_np(d.sample((6,)))
    np.testing.assert_array_equal(a, b)
    if name not in ("bernoulli", "categorical", "geometric"):  # few outcomes could repeat
        assert not np.array_equal(a, c)
    if d.has_rsample:
        cr.manual_seed(42)
        np.testing.assert_array_equal(to_np(d.rsample((6,))), a)  # sample == rsample draws


def test_sample_has_no_grad_and_rsample_has_grad() -> None:
    loc = cr.tensor([0.0, 1.0], requires_grad=True)
    d = crd.Normal(loc, cr.ones(2))
    assert not d.sample().requires_grad
    assert d.rsample().requires_grad
    assert not crd.Bernoulli(logits=loc).sample().requires_grad


def _leaf(v: Any) -> cr.Tensor:
    return cr.tensor(v, dtype=cr.float64, requires_grad=True)


def test_normal_rsample_gradient_is_reparameterised() -> None:
    loc, scale = _leaf([0.5, -1.0]), _leaf([2.0, 0.3])
    x = crd.Normal(loc, scale).rsample((7,))
    x.sum().backward()
    assert_close(loc.grad, np.full(2, 7.0))
    eps = (to_np(x) - to_np(loc)) / to_np(scale)
    assert_close(scale.grad, eps.sum(0))


@pytest.mark.parametrize(
    "name,make,grads",
    [
        (
            "laplace",
            lambda a, b: crd.Laplace(a, b),
            lambda x, a, b: (np.ones_like(x), (x - a) / b),
        ),
        (
            "cauchy",
            lambda a, b: crd.Cauchy(a, b),
            lambda x, a, b: (np.ones_like(x), (x - a) / b),
        ),
        (
            "uniform",
            lambda a, b: crd.Uniform(a, b),
            lambda x, a, b: (1 - (x - a) / (b - a), (x - a) / (b - a)),
        ),
    ],
)
def test_location_scale_rsample_gradients(name: str, make, grads) -> None:
    a, b = _leaf([0.5, -1.0]), _leaf([2.0, 1.3])
    x = make(a, b).rsample((5,))
    x.sum().backward()
    ga, gb = grads(to_np(x), to_np(a), to_np(b))
    assert_close(a.grad, ga.sum(0))
    assert_close(b.grad, gb.sum(0))


def test_exponential_rsample_gradient() -> None:
    rate = _leaf([0.5, 3.0])
    x = crd.Exponential(rate).rsample((6,))
    x.sum().backward()
    assert_close(rate.grad, (-to_np(x) / to_np(rate)).sum(0))


def test_independent_rsample_is_base_rsample() -> None:
    loc = _leaf([[0.0, 1.0]])
    d = crd.Independent(crd.Normal(loc, T([[1.0, 2.0]])), 1)
    x = d.rsample((3,))
    assert x.shape == (3, 1, 2)
    x.sum().backward()
    assert_close(loc.grad, np.full((1, 2), 3.0))


def test_reinforce_gradient_matches_torch() -> None:
    """Policy gradient: loss = -mean(log_prob(action) * reward) for sampled-then-fixed
    actions, through a linear policy, matches PyTorch's gradients."""
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
    x = rng.standard_normal((5, 4))
    reward = rng.standard_normal(5)

    net = nn.Linear(4, 3).double()
    with cr.no_grad():
        net.weight.copy_(cr.tensor(w))
        net.bias.copy_(cr.tensor(b))
    dist = crd.Categorical(logits=net(cr.tensor(x)))
    cr.manual_seed(0)
    actions = dist.sample()
    assert actions.dtype == cr.int64 and actions.shape == (5,)
    loss = -(dist.log_prob(actions) * cr.tensor(reward)).mean()
    loss.backward()

    t_net = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        t_net.weight.copy_(torch.tensor(w))
        t_net.bias.copy_(torch.tensor(b))
    t_dist = torch.distributions.Categorical(logits=t_net(torch.tensor(x)))
    t_loss = -(t_dist.log_prob(torch.tensor(to_np(actions))) * torch.tensor(reward)).mean()
    t_loss.backward()
    assert_close(loss, t_loss)
    assert_close(net.weight.grad, t_net.weight.grad)
    assert_close(net.bias.grad, t_net.bias.grad)
