"""Part-B families (Gamma, Chi2, Beta, Dirichlet, LogNormal, Gumbel, Weibull, Pareto,
HalfNormal, HalfCauchy, StudentT, FisherSnedecor, Kumaraswamy, LogisticNormal,
RelaxedBernoulli, RelaxedOneHotCategorical, ContinuousBernoulli, MultivariateNormal,
LowRankMultivariateNormal, MixtureSameFamily, VonMises) against PyTorch in float64:
log_prob/cdf/icdf/entropy/moments (values and gradients wrt parameters and value), expand,
shapes, supports, sample statistics, reparameterised gradients and validation errors."""

from __future__ import annotations

import types
from typing import Any

import numpy as np
import pytest
import torch
import torch.distributions as td

import chainrule as cr
import chainrule.distributions as crd
from chainrule.distributions.beta import Beta
from chainrule.distributions.dirichlet import Dirichlet
from chainrule.distributions.gamma import Gamma
from chainrule.distributions.kumaraswamy import Kumaraswamy
from chainrule.distributions.lowrank_multivariate_normal import LowRankMultivariateNormal
from chainrule.distributions.mixture_same_family import MixtureSameFamily
from chainrule.distributions.multivariate_normal import MultivariateNormal
from chainrule.distributions.pareto import Pareto
from chainrule.distributions.relaxed_bernoulli import LogitRelaxedBernoulli, RelaxedBernoulli
from chainrule.distributions.relaxed_categorical import (
    ExpRelaxedCategorical,
    RelaxedOneHotCategorical,
)
from chainrule.distributions.von_mises import VonMises
from chainrule.distributions.weibull import Weibull

from ._helpers import assert_close, build, compare_method, to_np

# chainrule.distributions plus the two relaxed base classes torch does not export
B = types.SimpleNamespace(
    **{k: getattr(crd, k) for k in dir(crd) if not k.startswith("_")},
    ExpRelaxedCategorical=ExpRelaxedCategorical,
    LogitRelaxedBernoulli=LogitRelaxedBernoulli,
)

rng = np.random.default_rng(0)
R = rng.standard_normal
U = rng.uniform


def _mk(ctor: Any) -> Any:
    """A builder for ``_helpers.build``: ``ctor(D, params)`` with D the part-B namespace for
    chainrule and ``torch.distributions`` for torch."""
    return lambda D, p: ctor(td if D is td else B, p)


def _simplex(shape: tuple[int, ...]) -> np.ndarray:
    x = U(0.1, 1.0, shape)
    return x / x.sum(-1, keepdims=True)


def _tril(n: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    a = np.tril(R((*batch, n, n)) * 0.5)
    idx = np.arange(n)
    a[..., idx, idx] = U(0.5, 1.5, (*batch, n))
    return a


def _spd(n: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    a = R((*batch, n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


# name -> (constructor over a distributions namespace, params, values to score, value_grad)
CASES: dict[str, tuple[Any, dict, list[np.ndarray], bool]] = {
    "gamma": (
        lambda D, p: D.Gamma(p["c"], p["r"]),
        {"c": U(0.3, 4, 3), "r": U(0.5, 2, 3)},
        [U(0.1, 5, (2, 3)), U(0.1, 5, 3)],
        True,
    ),
    "chi2": (lambda D, p: D.Chi2(p["df"]), {"df": U(0.5, 6, (2, 2))}, [U(0.1, 5, (2, 2))], True),
    "beta": (
        lambda D, p: D.Beta(p["a"], p["b"]),
        {"a": U(0.3, 4, 3), "b": U(0.3, 4, 3)},
        [U(0.05, 0.95, (2, 3))],
        True,
    ),
    "dirichlet": (
        lambda D, p: D.Dirichlet(p["c"]),
        {"c": U(0.3, 4, (2, 4))},
        [_simplex((2, 4)), _simplex((3, 1, 4))],
        True,
    ),
    "log_normal": (
        lambda D, p: D.LogNormal(p["loc"], p["scale"]),
        {"loc": R(3), "scale": U(0.3, 2, 3)},
        [U(0.1, 5, (2, 3))],
        True,
    ),
    "gumbel": (
        lambda D, p: D.Gumbel(p["loc"], p["scale"]),
        {"loc": R(3), "scale": U(0.3, 2, 3)},
        [R((2, 3))],
        True,
    ),
    "weibull": (
        lambda D, p: D.Weibull(p["scale"], p["k"]),
        {"scale": U(0.5, 2, 3), "k": U(1.1, 3, 3)},  # k < 1: see test_weibull_mode_*
        [U(0.1, 4, (2, 3))],
        True,
    ),
    "pareto": (
        lambda D, p: D.Pareto(p["scale"], p["alpha"]),
        {"scale": U(0.5, 1.0, 3), "alpha": U(2.5, 5, 3)},  # alpha <= 2: see test_pareto_*
        [U(1.0, 4, (2, 3))],
        True,
    ),
    "half_normal": (
        lambda D, p: D.HalfNormal(p["s"]),
        {"s": U(0.3, 2, 3)},
        [U(0, 3, (2, 3))],
        True,
    ),
    "half_cauchy": (
        lambda D, p: D.HalfCauchy(p["s"]),
        {"s": U(0.3, 2, 3)},
        [U(0, 3, (2, 3))],
        True,
    ),
    "student_t": (
        lambda D, p: D.StudentT(p["df"], p["loc"], p["scale"]),
        {"df": np.array([0.8, 1.5, 3.0, 7.0]), "loc": R(4), "scale": U(0.3, 2, 4)},
        [R((2, 4))],
        True,
    ),
    "fisher_snedecor": (
        lambda D, p: D.FisherSnedecor(p["d1"], p["d2"]),
        {"d1": U(0.5, 6, 4), "d2": np.array([1.5, 3.0, 5.0, 9.0])},
        [U(0.1, 4, (2, 4))],
        True,
    ),
    "kumaraswamy": (
        lambda D, p: D.Kumaraswamy(p["a"], p["b"]),
        {"a": U(0.5, 3, 3), "b": U(0.5, 3, 3)},
        [U(0.05, 0.95, (2, 3))],
        True,
    ),
    "logistic_normal": (
        lambda D, p: D.LogisticNormal(p["loc"], p["scale"]),
        {"loc": R((2, 3)), "scale": U(0.3, 2, (2, 3))},
        [_simplex((2, 4))],
        True,
    ),
    "relaxed_bernoulli": (
        lambda D, p: D.RelaxedBernoulli(p["t"], probs=p["p"]),
        {"t": np.array(0.7), "p": U(0.1, 0.9, 3)},
        [U(0.05, 0.95, (2, 3))],
        True,
    ),
    "relaxed_bernoulli_logits": (
        lambda D, p: D.RelaxedBernoulli(p["t"], logits=p["l"]),
        {"t": U(0.3, 2, 3), "l": R(3)},
        [U(0.05, 0.95, (2, 3))],
        True,
    ),
    "relaxed_categorical": (
        lambda D, p: D.RelaxedOneHotCategorical(p["t"], probs=p["p"]),
        {"t": np.array(0.6), "p": _simplex((2, 3))},
        [_simplex((2, 3))],
        True,
    ),
    "continuous_bernoulli": (
        lambda D, p: D.ContinuousBernoulli(probs=p["p"]),
        {"p": np.array([0.1, 0.4999, 0.5, 0.52, 0.9])},
        [U(0.05, 0.95, (2, 5))],
        True,
    ),
    "continuous_bernoulli_logits": (
        lambda D, p: D.ContinuousBernoulli(logits=p["l"]),
        {"l": R((2, 3))},
        [U(0.05, 0.95, (2, 3))],
        True,
    ),
    "mvn_scale_tril": (
        lambda D, p: D.MultivariateNormal(p["loc"], scale_tril=p["L"]),
        {"loc": R((2, 3)), "L": _tril(3, (2,))},
        [R((2, 3)), R((4, 1, 3))],
        True,
    ),
    "mvn_cov": (
        lambda D, p: D.MultivariateNormal(p["loc"], covariance_matrix=p["S"]),
        {"loc": R(3), "S": _spd(3)},
        [R((2, 3))],
        True,
    ),
    "mvn_precision": (
        lambda D, p: D.MultivariateNormal(p["loc"], precision_matrix=p["P"]),
        {"loc": R(3), "P": _spd(3, (2,))},
        [R((2, 3))],
        True,
    ),
    "lowrank_mvn": (
        lambda D, p: D.LowRankMultivariateNormal(p["loc"], p["W"], p["d"]),
        {"loc": R((2, 4)), "W": R((2, 4, 2)), "d": U(0.5, 2, (2, 4))},
        [R((2, 4)), R((3, 1, 4))],
        True,
    ),
    "mixture_normal": (
        lambda D, p: D.MixtureSameFamily(
            D.Categorical(logits=p["l"]), D.Normal(p["loc"], p["scale"])
        ),
        {"l": R((2, 3)), "loc": R((2, 3)), "scale": U(0.5, 2, (2, 3))},
        [R((4, 2)), R(2)],
        True,
    ),
    "mixture_mvn": (
        lambda D, p: D.MixtureSameFamily(
            D.Categorical(probs=p["p"]),
            D.Independent(D.Normal(p["loc"], p["scale"]), 1),
        ),
        {"p": _simplex((3,)), "loc": R((3, 2)), "scale": U(0.5, 2, (3, 2))},
        [R((4, 2))],
        True,
    ),
    "von_mises": (
        lambda D, p: D.VonMises(p["loc"], p["k"]),
        {"loc": R(4), "k": np.array([0.01, 0.9, 4.0, 60.0])},
        [U(-3, 3, (2, 4))],
        True,
    ),
}

PROPERTIES = ["mean", "mode", "variance", "stddev", "entropy"]
# PyTorch's trigamma (in the gradients of digamma terms) is accurate to ~1e-10 only
RTOL = {"fisher_snedecor": 1e-8, "von_mises": 1e-8, "beta": 1e-6, "dirichlet": 1e-6}


@pytest.mark.parametrize("case", sorted(CASES))
def test_log_prob_matches_torch(case: str) -> None:
    make, params, values, value_grad = CASES[case]
    pair = build(_mk(make), **params)
    for v in values:
        compare_method(pair, "log_prob", v, value_grad=value_grad, rtol=RTOL.get(case, 1e-9))


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("prop", PROPERTIES)
def test_properties_match_torch(case: str, prop: str) -> None:
    make, params, _, _ = CASES[case]
    if (case, prop) == ("kumaraswamy", "mode"):  # PyTorch's is always NaN: see below
        return
    compare_method(build(_mk(make), **params), prop, rtol=RTOL.get(case, 1e-9))


@pytest.mark.parametrize("case", sorted(CASES))
def test_cdf_icdf_match_torch(case: str) -> None:
    make, params, values, value_grad = CASES[case]
    pair = build(_mk(make), **params)
    if case in ("gamma", "chi2"):  # torch has no gradient of igamma wrt its first argument
        for p in (*pair.cr_params.values(), *pair.t_params.values()):
            p.requires_grad_(False)
        pair.cr = _mk(make)(B, pair.cr_params)
        pair.t = _mk(make)(td, pair.t_params)
    for v in values:
        compare_method(pair, "cdf", v, value_grad=value_grad)
    probs = U(0.05, 0.95, tuple(pair.t.batch_shape))
    compare_method(pair, "icdf", probs)


@pytest.mark.parametrize("case", sorted(CASES))
def test_shapes_support_and_flags_match_torch(case: str) -> None:
    make, params, _, _ = CASES[case]
    pair = build(_mk(make), **params)
    c, t = pair.cr, pair.t
    assert tuple(c.batch_shape) == tuple(t.batch_shape)
    assert tuple(c.event_shape) == tuple(t.event_shape)
    assert c.has_rsample == t.has_rsample
    assert repr(c.support) == repr(t.support)
    assert c.support.event_dim == t.support.event_dim
    for sample_shape in [(), (5,), (2, 3)]:
        s = c.sample(sample_shape)
        assert tuple(s.shape) == tuple(t.sample(sample_shape).shape)
        assert s.dtype == cr.float64 and not s.requires_grad
        assert bool(c.support.check(s).all()), case
        if c.has_rsample:
            r = c.rsample(sample_shape)
            assert tuple(r.shape) == tuple(s.shape) and r.requires_grad


@pytest.mark.parametrize("case", sorted(CASES))
def test_expand_matches_torch(case: str) -> None:
    make, params, values, _ = CASES[case]
    pair = build(_mk(make), **params)
    new_batch = (2, *pair.t.batch_shape)
    c, t = pair.cr.expand(new_batch), pair.t.expand(new_batch)
    assert type(c) is type(pair.cr)
    assert tuple(c.batch_shape) == tuple(t.batch_shape) == new_batch
    assert tuple(c.event_shape) == tuple(t.event_shape)
    v = to_np(t.sample((2,)))
    assert_close(c.log_prob(cr.tensor(v)), t.log_prob(torch.tensor(v)))
    assert tuple(c.sample((3,)).shape) == tuple(t.sample((3,)).shape)


def test_kumaraswamy_mode_is_the_true_mode() -> None:
    # a deliberate difference: PyTorch 2.13's Kumaraswamy.mode is NaN for every parameter
    a = np.array([2.0, 3.0, 1.0, 0.5, 2.0])
    b = np.array([3.0, 1.5, 2.0, 2.0, 0.7])
    m = to_np(Kumaraswamy(cr.tensor(a), cr.tensor(b)).mode)
    valid = (a >= 1) & (b >= 1)
    want = ((a[valid] - 1) / (a[valid] * b[valid] - 1)) ** (1 / a[valid])
    np.testing.assert_allclose(m[valid], want, rtol=1e-12)
    assert np.isnan(m[~valid]).all()
    # the density is largest there
    inner = want > 0.01  # (a = 1 puts the mode on the boundary 0)
    x = cr.tensor(want[inner][:, None] + np.array([-1e-3, 0.0, 1e-3]))
    d = Kumaraswamy(cr.tensor(a[valid][inner][:, None]), cr.tensor(b[valid][inner][:, None]))
    lp = to_np(d.log_prob(x))
    assert (lp[:, 1] > lp[:, 0]).all() and (lp[:, 1] > lp[:, 2]).all()


def test_weibull_mode_and_pareto_variance_outside_the_finite_range() -> None:
    k = np.array([0.5, 0.4, 1 / 3, 0.3, 1.0, 2.0])  # 1/k even, fractional, odd, ...
    c = Weibull(cr.tensor(np.full(6, 1.5)), cr.tensor(k)).mode
    t = td.Weibull(torch.tensor(np.full(6, 1.5)), torch.tensor(k)).mode
    assert_close(c, t)
    alpha = np.array([1.5, 2.0, 3.0])
    c = Pareto(cr.tensor([1.0, 1.0, 1.0]), cr.tensor(alpha)).variance
    t = td.Pareto(torch.tensor([1.0, 1.0, 1.0]), torch.tensor(alpha)).variance
    assert_close(c, t)


# ------------------------------------------------------------------ sample statistics
STAT_CASES = [
    "gamma",
    "chi2",
    "beta",
    "dirichlet",
    "log_normal",
    "gumbel",
    "weibull",
    "half_normal",
    "kumaraswamy",
    "continuous_bernoulli",
    "mvn_scale_tril",
    "mvn_cov",
    "lowrank_mvn",
    "mixture_normal",
    "mixture_mvn",
    "fisher_snedecor",
]


@pytest.mark.parametrize("case", STAT_CASES)
def test_sample_mean_and_variance(case: str) -> None:
    make, params, _, _ = CASES[case]
    if case == "fisher_snedecor":  # a finite variance needs df2 > 4
        params = {"d1": np.array([3.0, 6.0]), "d2": np.array([9.0, 12.0])}
    if case == "log_normal":  # heavy tails: a sample variance settles only for small scales
        params = {"loc": params["loc"], "scale": np.array([0.2, 0.4, 0.5])}
    pair = build(_mk(make), **params)
    cr.manual_seed(11)
    n = 40000
    s = to_np(pair.cr.sample((n,)))
    mean, var = to_np(pair.t.mean), to_np(pair.t.variance)
    se = np.sqrt(var / n)
    assert np.all(np.abs(s.mean(0) - mean) < 5 * se + 1e-12), case
    np.testing.assert_allclose(s.var(0), var, rtol=0.12 if case == "fisher_snedecor" else 0.05)


def test_von_mises_samples_match_torch_distribution() -> None:
    loc = np.array([0.5, -2.0, 3.0])
    k = np.array([0.3, 2.0, 30.0])
    d = VonMises(cr.tensor(loc), cr.tensor(k))
    cr.manual_seed(5)
    s = to_np(d.sample((30000,)))
    assert np.all(s >= -np.pi) and np.all(s < np.pi)
    # circular mean direction and mean resultant length I1(k)/I0(k)
    c, sn = np.cos(s - loc).mean(0), np.sin(s - loc).mean(0)
    r = torch.special.i1e(torch.tensor(k)) / torch.special.i0e(torch.tensor(k))
    np.testing.assert_allclose(c, r.numpy(), atol=0.015)
    np.testing.assert_allclose(sn, 0.0, atol=0.015)


# ---------------------------------------------------------- reparameterised gradients
def _grad_of_mean(make: Any, params: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    leaves = {k: cr.tensor(v, requires_grad=True) for k, v in params.items()}
    cr.manual_seed(21)
    x = make(B, leaves).rsample((n,))
    x.mean(0).sum().backward()
    return {k: to_np(v.grad) if v.grad is not None else 0.0 for k, v in leaves.items()}


def _analytic_grad_of_mean(make: Any, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    make(td, leaves).mean.sum().backward()
    return {
        k: v.grad.numpy() if v.grad is not None else np.zeros(v.shape) for k, v in leaves.items()
    }


@pytest.mark.parametrize(
    "case, n, atol",
    [
        ("gamma", 40000, 0.03),
        ("chi2", 40000, 0.03),
        ("beta", 40000, 0.01),
        ("dirichlet", 40000, 0.01),
        ("log_normal", 40000, 0.08),
        ("weibull", 40000, 0.03),
        ("gumbel", 40000, 0.03),
        ("mvn_scale_tril", 40000, 0.03),
        ("lowrank_mvn", 40000, 0.03),
        ("kumaraswamy", 40000, 0.02),
    ],
)
def test_rsample_gradient_of_mean_matches_analytic(case: str, n: int, atol: float) -> None:
    make, params, _, _ = CASES[case]
    got = _grad_of_mean(make, params, n)
    want = _analytic_grad_of_mean(make, params)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], atol=atol, rtol=0.03, err_msg=f"{case}:{k}")


def test_gamma_rsample_gradient_is_implicit_gradient_like_torch() -> None:
    conc = cr.tensor([0.4, 2.0, 9.0], requires_grad=True)
    rate = cr.tensor([1.5, 0.7, 2.0], requires_grad=True)
    x = Gamma(conc, rate).rsample()
    x.sum().backward()
    xs = to_np(x) * to_np(rate)  # the standard-gamma draw
    want = torch._standard_gamma_grad(torch.tensor(to_np(conc)), torch.tensor(xs)) / torch.tensor(
        to_np(rate)
    )
    np.testing.assert_allclose(to_np(conc.grad), want.numpy(), rtol=2e-3)
    np.testing.assert_allclose(to_np(rate.grad), -to_np(x) / to_np(rate), rtol=1e-12)


# --------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "ctor",
    [
        lambda D: D.Gamma(torch.tensor([-1.0]) if D is td else cr.tensor([-1.0]), 1.0),
        lambda D: D.Beta(1.0, 0.0),
        lambda D: D.Dirichlet(torch.tensor([1.0, -1.0]) if D is td else cr.tensor([1.0, -1.0])),
        lambda D: D.Pareto(1.0, -2.0),
        lambda D: D.StudentT(-1.0),
        lambda D: D.VonMises(0.0, -1.0),
        lambda D: D.HalfNormal(0.0),
        lambda D: D.Weibull(1.0, -1.0),
        lambda D: D.Kumaraswamy(-1.0, 1.0),
        lambda D: D.LowRankMultivariateNormal(
            *(torch if D is td else cr).zeros(2, 3).unbind(0)[:1],
            (torch if D is td else cr).zeros(3, 1),
            -(torch if D is td else cr).ones(3),
        ),
    ],
)
def test_invalid_parameters_raise_like_torch(ctor: Any) -> None:
    with pytest.raises(ValueError):
        ctor(td)
    with pytest.raises(ValueError, match="Expected parameter"):
        ctor(B)


def test_invalid_values_and_constructor_errors_like_torch() -> None:
    with pytest.raises(ValueError, match="support"):
        Gamma(cr.tensor(1.0), cr.tensor(1.0)).log_prob(cr.tensor(-1.0))
    with pytest.raises(ValueError, match="support"):
        Beta(cr.tensor(1.0), cr.tensor(1.0)).log_prob(cr.tensor(1.5))
    with pytest.raises(ValueError, match="at least one-dimensional"):
        Dirichlet(cr.tensor(1.0))
    with pytest.raises(ValueError, match="Exactly one of"):
        MultivariateNormal(cr.zeros(2))
    with pytest.raises(ValueError, match="at least one-dimensional"):
        MultivariateNormal(cr.tensor(0.0), cr.eye(1))
    with pytest.raises(ValueError):
        LowRankMultivariateNormal(cr.zeros(3), cr.zeros(2, 1), cr.ones(3))
    with pytest.raises(ValueError, match="Categorical"):
        MixtureSameFamily(crd.Normal(0.0, 1.0), crd.Normal(cr.zeros(2), cr.ones(2)))


def test_mvn_parametrisations_agree() -> None:
    S = _spd(3)
    loc = cr.tensor(R(3))
    a = MultivariateNormal(loc, covariance_matrix=cr.tensor(S))
    b = MultivariateNormal(loc, precision_matrix=cr.tensor(np.linalg.inv(S)))
    c = MultivariateNormal(loc, scale_tril=cr.tensor(np.linalg.cholesky(S)))
    v = cr.tensor(R((5, 3)))
    for d in (b, c):
        assert_close(d.log_prob(v), a.log_prob(v), rtol=1e-10)
        assert_close(d.covariance_matrix, S, rtol=1e-10)
        assert_close(d.precision_matrix, np.linalg.inv(S), rtol=1e-9)


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_parameters_keep_float32(case: str) -> None:
    make, params, values, _ = CASES[case]
    d = make(B, {k: cr.tensor(v, dtype=cr.float32) for k, v in params.items()})
    s = d.sample((2,))
    assert s.dtype == cr.float32, case
    assert d.log_prob(cr.tensor(values[0], dtype=cr.float32)).dtype == cr.float32
    if d.has_rsample:
        assert d.rsample().dtype == cr.float32


def test_relaxed_rsample_gradients_follow_the_reparameterisation() -> None:
    # LogitRelaxedBernoulli: x = (logit(u) + logits) / T, so dx/dlogits = 1 / T
    logits = cr.tensor([0.3, -1.2, 2.0], dtype=cr.float64, requires_grad=True)
    temp = cr.tensor(0.7, dtype=cr.float64)
    x = LogitRelaxedBernoulli(temp, logits=logits).rsample((5,))
    x.sum().backward()
    np.testing.assert_allclose(to_np(logits.grad), 5 / 0.7, rtol=1e-12)
    # RelaxedBernoulli = sigmoid of it: a value in (0, 1) whose gradient is y (1 - y) / T
    logits.grad = None
    y = RelaxedBernoulli(temp, logits=logits).rsample()
    y.sum().backward()
    yv = to_np(y)
    np.testing.assert_allclose(to_np(logits.grad), yv * (1 - yv) / 0.7, rtol=1e-9)


def test_relaxed_one_hot_concentrates_at_low_temperature() -> None:
    probs = np.array([0.2, 0.5, 0.3])
    cr.manual_seed(9)
    d = RelaxedOneHotCategorical(cr.tensor(0.02, dtype=cr.float64), probs=cr.tensor(probs))
    s = to_np(d.sample((20000,)))
    np.testing.assert_allclose(s.sum(-1), 1.0, rtol=1e-12)
    assert (s.max(-1) > 0.9).mean() > 0.95
    freq = np.bincount(s.argmax(-1), minlength=3) / len(s)
    np.testing.assert_allclose(freq, probs, atol=0.015)
