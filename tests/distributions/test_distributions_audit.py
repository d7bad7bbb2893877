"""Audit of ``chainrule.distributions`` against ``torch.distributions``: every family in
float32 and float64 over scalar, batched and broadcast parameters (log_prob/cdf/icdf,
moments, entropy, gradients, sample shapes, expand), edge values at support boundaries,
validation errors for non-finite matrix parameters, KL pairs, and the fixes the audit made
(NaN/inf pivots in Cholesky, a plain-number temperature in the relaxed distributions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.distributions as td

import chainrule as cr
import chainrule.distributions as crd

from ._helpers import assert_close, build, compare_method, to_np

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:(divide by zero|invalid value|overflow) encountered:RuntimeWarning"
    ),
    # torch's Wishart sampler warns when a draw is close to singular (values come from it)
    pytest.mark.filterwarnings("ignore:Singular sample detected:UserWarning"),
]


def _gen(seed: int, dtype: Any) -> Any:
    rng = np.random.default_rng(seed)

    class G:
        def real(self, s: tuple) -> np.ndarray:
            return rng.standard_normal(s).astype(dtype)

        def pos(self, s: tuple, lo: float = 0.5, hi: float = 2.5) -> np.ndarray:
            return rng.uniform(lo, hi, s).astype(dtype)

        def prob(self, s: tuple) -> np.ndarray:
            return rng.uniform(0.1, 0.9, s).astype(dtype)

        def simplex(self, s: tuple) -> np.ndarray:
            p = rng.uniform(0.1, 1, s)
            return (p / p.sum(-1, keepdims=True)).astype(dtype)

        def spd(self, s: tuple, n: int) -> np.ndarray:
            a = rng.standard_normal(tuple(s) + (n, n))
            return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dtype)

    return G()


def _ev(b: tuple, *event: int) -> tuple:
    return tuple(b) + event


# name -> (constructor over a distributions module, params(g, b, c), discrete support)
# b is the shape of the first parameter's batch part, c that of the others ((2, 1) vs (3,)
# broadcasts).
SPECS: dict[str, tuple[Any, Any, bool]] = {
    "Normal": (
        lambda D, p: D.Normal(p["loc"], p["scale"]),
        lambda g, b, c: {"loc": g.real(b), "scale": g.pos(c)},
        False,
    ),
    "Bernoulli": (
        lambda D, p: D.Bernoulli(probs=p["probs"]),
        lambda g, b, c: {"probs": g.prob(b)},
        True,
    ),
    "Beta": (
        lambda D, p: D.Beta(p["a"], p["b"]),
        lambda g, b, c: {"a": g.pos(b), "b": g.pos(c)},
        False,
    ),
    "Binomial": (
        lambda D, p: D.Binomial(10, logits=p["logits"]),
        lambda g, b, c: {"logits": g.real(b)},
        True,
    ),
    "Categorical": (
        lambda D, p: D.Categorical(logits=p["logits"]),
        lambda g, b, c: {"logits": g.real(_ev(b, 4))},
        True,
    ),
    "Cauchy": (
        lambda D, p: D.Cauchy(p["loc"], p["scale"]),
        lambda g, b, c: {"loc": g.real(b), "scale": g.pos(c)},
        False,
    ),
    "ContinuousBernoulli": (
        lambda D, p: D.ContinuousBernoulli(logits=p["logits"]),
        # away from logit 0 (probs 1/2), where float32 closed forms lose digits in both
        lambda g, b, c: {"logits": g.pos(b, 0.5, 3.0)},
        False,
    ),
    "Dirichlet": (
        lambda D, p: D.Dirichlet(p["c"]),
        lambda g, b, c: {"c": g.pos(_ev(b, 4))},
        False,
    ),
    "Exponential": (
        lambda D, p: D.Exponential(p["rate"]),
        lambda g, b, c: {"rate": g.pos(b)},
        False,
    ),
    "FisherSnedecor": (
        lambda D, p: D.FisherSnedecor(p["d1"], p["d2"]),
        lambda g, b, c: {"d1": g.pos(b, 1, 6), "d2": g.pos(c, 5, 9)},
        False,
    ),
    "Gamma": (
        lambda D, p: D.Gamma(p["a"], p["rate"]),
        lambda g, b, c: {"a": g.pos(b), "rate": g.pos(c)},
        False,
    ),
    "Geometric": (
        lambda D, p: D.Geometric(probs=p["probs"]),
        lambda g, b, c: {"probs": g.prob(b)},
        True,
    ),
    "Gumbel": (
        lambda D, p: D.Gumbel(p["loc"], p["scale"]),
        lambda g, b, c: {"loc": g.real(b), "scale": g.pos(c)},
        False,
    ),
    "HalfNormal": (
        lambda D, p: D.HalfNormal(p["scale"]),
        lambda g, b, c: {"scale": g.pos(b)},
        False,
    ),
    "InverseGamma": (
        lambda D, p: D.InverseGamma(p["a"], p["rate"]),
        lambda g, b, c: {"a": g.pos(b, 2.5, 4), "rate": g.pos(c)},
        False,
    ),
    "Kumaraswamy": (
        lambda D, p: D.Kumaraswamy(p["a"], p["b"]),
        lambda g, b, c: {"a": g.pos(b), "b": g.pos(c)},
        False,
    ),
    "Laplace": (
        lambda D, p: D.Laplace(p["loc"], p["scale"]),
        lambda g, b, c: {"loc": g.real(b), "scale": g.pos(c)},
        False,
    ),
    "LogNormal": (
        lambda D, p: D.LogNormal(p["loc"], p["scale"]),
        lambda g, b, c: {"loc": g.real(b), "scale": g.pos(c)},
        False,
    ),
    "LowRankMVN": (
        lambda D, p: D.LowRankMultivariateNormal(p["loc"], p["cf"], p["cd"]),
        lambda g, b, c: {
            "loc": g.real(_ev(b, 3)),
            "cf": g.real(_ev(c, 3, 2)),
            "cd": g.pos(_ev(c, 3)),
        },
        False,
    ),
    "MixtureSameFamily": (
        lambda D, p: D.MixtureSameFamily(
            D.Categorical(logits=p["lg"]), D.Normal(p["loc"], p["scale"])
        ),
        lambda g, b, c: {
            "lg": g.real(_ev(c, 3)),
            "loc": g.real(_ev(c, 3)),
            "scale": g.pos(_ev(c, 3)),
        },
        False,
    ),
    "Multinomial": (
        lambda D, p: D.Multinomial(6, probs=p["probs"]),
        lambda g, b, c: {"probs": g.simplex(_ev(b, 4))},
        True,
    ),
    "MultivariateNormal": (
        lambda D, p: D.MultivariateNormal(p["loc"], covariance_matrix=p["S"]),
        lambda g, b, c: {"loc": g.real(_ev(b, 3)), "S": g.spd(c, 3)},
        False,
    ),
    "NegativeBinomial": (
        lambda D, p: D.NegativeBinomial(p["n"], logits=p["logits"]),
        lambda g, b, c: {"n": g.pos(b, 1, 5), "logits": g.real(c)},
        True,
    ),
    "Pareto": (
        lambda D, p: D.Pareto(p["scale"], p["alpha"]),
        lambda g, b, c: {"scale": g.pos(b), "alpha": g.pos(c, 2.5, 4)},
        False,
    ),
    "Poisson": (
        lambda D, p: D.Poisson(p["rate"]),
        lambda g, b, c: {"rate": g.pos(b, 0.5, 6)},
        True,
    ),
    "StudentT": (
        lambda D, p: D.StudentT(p["df"], p["loc"], p["scale"]),
        lambda g, b, c: {"df": g.pos(b, 2.5, 6), "loc": g.real(c), "scale": g.pos(c)},
        False,
    ),
    "Uniform": (
        lambda D, p: D.Uniform(p["low"], p["high"]),
        lambda g, b, c: {"low": g.real(b) - 3, "high": g.pos(c) + 3},
        False,
    ),
    "VonMises": (
        lambda D, p: D.VonMises(p["loc"], p["k"]),
        lambda g, b, c: {"loc": g.real(b), "k": g.pos(c)},
        False,
    ),
    "Weibull": (
        lambda D, p: D.Weibull(p["scale"], p["k"]),
        lambda g, b, c: {"scale": g.pos(b), "k": g.pos(c)},
        False,
    ),
    "Wishart": (
        lambda D, p: D.Wishart(p["df"], covariance_matrix=p["S"]),
        lambda g, b, c: {"df": g.pos(b, 3.5, 6), "S": g.spd(c, 3)},
        False,
    ),
}

SHAPES = {"scalar": ((), ()), "batch": ((2, 3), (2, 3)), "broadcast": ((2, 1), (3,))}
DTYPES = {"float64": (np.float64, 1e-7, 1e-9), "float32": (np.float32, 2e-4, 2e-5)}
# (dtype, shape) combinations run per family (the batch shape is covered by the icdf and KL
# tests; the audit ran every combination)
VARIANTS = [("float64", "broadcast"), ("float32", "scalar")]


def _pair(name: str, dtype: str, shape: str) -> Any:
    make, gen, _ = SPECS[name]
    b, c = SHAPES[shape]
    params = gen(_gen(0, DTYPES[dtype][0]), b, c)
    return build(make, **params)


@pytest.mark.parametrize(("dtype", "shape"), VARIANTS)
@pytest.mark.parametrize("name", sorted(SPECS))
def test_family_matches_torch(name: str, dtype: str, shape: str) -> None:
    """Values, dtypes, shapes and parameter gradients of the densities and moments, for
    values drawn from torch's sampler; chainrule's sample shapes and expand."""
    pair = _pair(name, dtype, shape)
    _, rtol, atol = DTYPES[dtype]
    discrete = SPECS[name][2]
    assert tuple(pair.cr.batch_shape) == tuple(pair.t.batch_shape)
    assert tuple(pair.cr.event_shape) == tuple(pair.t.event_shape)
    assert pair.cr.has_rsample == pair.t.has_rsample
    torch.manual_seed(0)
    values = [to_np(pair.t.sample((2,))), to_np(pair.t.sample())]
    for v in values:
        compare_method(pair, "log_prob", v, value_grad=not discrete, rtol=rtol, atol=atol)
    # (where torch has no cdf chainrule must raise NotImplementedError too; torch's Gamma cdf
    # has no derivative in the concentration, so its gradient cannot be compared)
    if not pair.t.event_shape and name not in ("Gamma", "InverseGamma"):
        compare_method(pair, "cdf", values[0], value_grad=not discrete, rtol=rtol, atol=atol)
    for prop in ("mean", "variance", "entropy"):
        if name in ("MixtureSameFamily",) and prop == "entropy":
            continue
        compare_method(pair, prop, rtol=rtol, atol=atol)
    for sample_shape in ((), (4,), (2, 3)):
        draw = pair.cr.sample(sample_shape)
        assert tuple(draw.shape) == tuple(pair.t.sample(sample_shape).shape)
        assert str(draw.dtype) == str(pair.t.sample().dtype)
        assert bool(pair.cr.support.check(draw).all())
    big = (5, *pair.t.batch_shape)
    assert_close(pair.cr.expand(big).mean, pair.t.expand(big).mean, rtol, atol)


ICDF_FAMILIES = ["Cauchy", "ContinuousBernoulli", "Exponential", "Gumbel", "HalfNormal"]
ICDF_FAMILIES += ["Kumaraswamy", "Laplace", "LogNormal", "Normal", "Pareto", "Uniform"]
ICDF_FAMILIES += ["Weibull"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ICDF_FAMILIES)
def test_icdf_matches_torch(name: str, dtype: str) -> None:
    pair = _pair(name, dtype, "batch")
    q = np.array([0.05, 0.5, 0.95], dtype=DTYPES[dtype][0]).reshape(3, 1, 1)
    _, rtol, atol = DTYPES[dtype]
    compare_method(pair, "icdf", np.broadcast_to(q, (3, 2, 3)).copy(), rtol=rtol, atol=atol)


# -- edge values: parameters and values on the support's boundary ------------------------

A = np.array
EDGES: dict[str, tuple[Any, dict, list, bool]] = {
    "bernoulli_p01": (
        lambda D, p: D.Bernoulli(probs=p["p"]),
        {"p": A([0.0, 1.0, 0.5, 1e-12])},
        [A([0.0, 1.0, 1.0, 0.0]), A([1.0, 0.0, 0.0, 1.0])],
        False,
    ),
    "bernoulli_big_logits": (
        lambda D, p: D.Bernoulli(logits=p["l"]),
        {"l": A([-100.0, 100.0, 0.0, 40.0])},
        [A([0.0, 1.0, 1.0, 0.0]), A([1.0, 0.0, 0.0, 1.0])],
        False,
    ),
    "beta_at_0_and_1": (
        lambda D, p: D.Beta(p["a"], p["b"]),
        {"a": A([1.0, 1.0, 0.5, 2.0]), "b": A([1.0, 2.0, 1.0, 0.5])},
        [A([0.0, 1.0, 0.0, 1.0]), A([1.0, 0.0, 1.0, 0.0])],
        False,
    ),
    "gamma_at_0": (
        lambda D, p: D.Gamma(p["a"], p["b"]),
        {"a": A([1.0, 0.5, 2.0]), "b": A([1.0, 2.0, 1.0])},
        [A([0.0, 0.0, 0.0])],
        False,
    ),
    "exponential_at_0": (
        lambda D, p: D.Exponential(p["r"]),
        {"r": A([1.0, 1e-10, 1e10])},
        [A([0.0, 0.0, 0.0])],
        True,
    ),
    "poisson_rate_0": (
        lambda D, p: D.Poisson(p["r"]),
        {"r": A([0.0, 1e-10, 1e6])},
        [A([0.0, 0.0, 1e6]), A([1.0, 3.0, 0.0])],
        False,
    ),
    "geometric_p1": (
        lambda D, p: D.Geometric(probs=p["p"]),
        {"p": A([1.0, 1e-8, 0.5])},
        [A([0.0, 0.0, 3.0])],
        False,
    ),
    "binomial_n0_p01": (
        lambda D, p: D.Binomial(p["n"], probs=p["p"]),
        {"n": A([0.0, 5.0, 5.0, 5.0]), "p": A([0.3, 0.0, 1.0, 0.5])},
        [A([0.0, 0.0, 5.0, 5.0])],
        False,
    ),
    "categorical_zero_prob": (
        lambda D, p: D.Categorical(probs=p["p"]),
        {"p": A([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])},
        [A([1, 0])],
        False,
    ),
    "categorical_masked_logits": (
        lambda D, p: D.Categorical(logits=p["l"]),
        {"l": A([[-np.inf, 0.0, 1.0], [2.0, -np.inf, -np.inf]])},
        [A([1, 0]), A([2, 0])],
        False,
    ),
    "uniform_low_end": (
        lambda D, p: D.Uniform(p["lo"], p["hi"]),
        {"lo": A([0.0, -1.0]), "hi": A([1.0, 1.0])},
        [A([0.0, -1.0]), A([0.999, 0.0])],
        True,
    ),
    "normal_cdf_tails": (
        lambda D, p: D.Normal(p["m"], p["s"]),
        {"m": A([0.0, 0.0, 0.0]), "s": A([1.0, 1.0, 1.0])},
        [A([-40.0, 40.0, -8.0]), A([-np.inf, np.inf, 0.0])],
        True,
    ),
    "dirichlet_zero_coordinate": (
        lambda D, p: D.Dirichlet(p["c"]),
        {"c": A([[1.0, 2.0, 3.0], [0.5, 0.5, 1.0]])},
        [A([[0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])],
        False,
    ),
    "continuous_bernoulli_near_half": (
        lambda D, p: D.ContinuousBernoulli(probs=p["p"]),
        {"p": A([0.0, 1.0, 0.5, 0.4999, 0.2])},
        [A([0.0, 1.0, 0.0, 1.0, 0.5])],
        False,
    ),
    "vonmises_concentrations": (
        lambda D, p: D.VonMises(p["m"], p["k"]),
        {"m": A([0.0, 3.0, -3.0]), "k": A([1e-8, 500.0, 1e4])},
        [A([0.0, 3.1, -3.1]), A([3.14, -3.14, 0.0])],
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(EDGES))
def test_edge_values_match_torch(case: str) -> None:
    make, params, values, with_cdf = EDGES[case]
    pair = build(make, **params)
    for v in values:
        compare_method(pair, "log_prob", v, value_grad=False)
        if with_cdf:
            compare_method(pair, "cdf", v, value_grad=False)
    for prop in ("mean", "variance", "entropy"):
        compare_method(pair, prop)


# -- validation: non-finite matrices are not positive-definite ----------------------------

NONFINITE = {
    "all_inf": np.full((2, 2), np.inf),
    "all_nan": np.full((2, 2), np.nan),
    "nan_offdiag": A([[1.0, np.nan], [np.nan, 1.0]]),
    "inf_3x3": np.full((3, 3), np.inf),
    "inf_diag_ok": A([[np.inf, 0.0], [0.0, 1.0]]),  # every pivot positive: accepted
    "inf_last_pivot_ok": A([[4.0, 1.0], [1.0, np.inf]]),
    "batch_nan_and_indefinite": np.stack(  # NumPy raises for one, not for the NaN one
        [np.full((3, 3), np.nan), A([[1, 2, 0], [2, 1, 0], [0, 0, 1.0]]), np.eye(3)]
    ),
    "batch_nan_pivot3": np.stack([A([[4, 1, 0], [1, 3, np.nan], [0, np.nan, 2.0]]), np.eye(3)]),
}


@pytest.mark.parametrize("case", sorted(NONFINITE))
def test_cholesky_rejects_nan_pivots_as_torch(case: str) -> None:
    """NumPy's cholesky returns NaNs for inf/NaN input; LAPACK (PyTorch) rejects the first
    NaN pivot: ``cholesky_ex.info``, ``linalg.cholesky`` and ``positive_definite`` agree."""
    m = NONFINITE[case]
    t_info = torch.linalg.cholesky_ex(torch.tensor(m)).info
    c_info = cr.linalg.cholesky_ex(cr.tensor(m)).info
    np.testing.assert_array_equal(to_np(c_info), to_np(t_info))
    np.testing.assert_array_equal(
        to_np(crd.constraints.positive_definite.check(cr.tensor(m))),
        to_np(td.constraints.positive_definite.check(torch.tensor(m))),
    )
    if bool((t_info != 0).any()):
        with pytest.raises(RuntimeError, match="positive-definite"):
            cr.linalg.cholesky(cr.tensor(m))
    else:
        assert_close(cr.linalg.cholesky(cr.tensor(m)), torch.linalg.cholesky(torch.tensor(m)))


@pytest.mark.parametrize("bad", [np.inf, np.nan, -1.0])
@pytest.mark.parametrize("family", ["mvn_cov", "mvn_prec", "wishart_cov", "wishart_prec"])
def test_matrix_parameter_validation_matches_torch(family: str, bad: float) -> None:
    def make(D: Any, L: Any) -> Any:
        m = L.tensor(np.full((3, 3, 3), bad))
        if family == "mvn_cov":
            return D.MultivariateNormal(L.zeros(3, 3), covariance_matrix=m)
        if family == "mvn_prec":
            return D.MultivariateNormal(L.zeros(3, 3), precision_matrix=m)
        if family == "wishart_cov":
            return D.Wishart(L.tensor(4.0), covariance_matrix=m)
        return D.Wishart(L.tensor(4.0), precision_matrix=m)

    with pytest.raises(ValueError):
        make(td, torch)
    with pytest.raises(ValueError, match="to satisfy the constraint PositiveDefinite"):
        make(crd, cr)


def test_low_rank_mvn_infinite_factor_raises_like_torch() -> None:
    cf = np.full((3, 2), np.inf)
    with pytest.raises(RuntimeError):
        td.LowRankMultivariateNormal(torch.zeros(3), torch.tensor(cf), torch.ones(3))
    with pytest.raises(RuntimeError, match="positive-definite"):
        crd.LowRankMultivariateNormal(cr.zeros(3), cr.tensor(cf), cr.ones(3))


# -- relaxed distributions with a plain-number temperature --------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("family", ["bernoulli", "one_hot"])
def test_relaxed_log_prob_with_number_temperature(family: str, dtype: str) -> None:
    """PyTorch documents a Tensor temperature (its log_prob fails on a number); chainrule
    accepts a number, with the result torch gives for the same temperature as a tensor."""
    probs = np.array([[0.3, 0.6, 0.1], [0.2, 0.2, 0.6]], dtype=dtype)
    value = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]], dtype=dtype)
    t_temp = torch.tensor(0.7, dtype=getattr(torch, dtype))
    if family == "bernoulli":
        t_dist = td.RelaxedBernoulli(t_temp, probs=torch.tensor(probs))
        c_dist = crd.RelaxedBernoulli(0.7, probs=cr.tensor(probs, requires_grad=True))
    else:
        t_dist = td.RelaxedOneHotCategorical(t_temp, probs=torch.tensor(probs))
        c_dist = crd.RelaxedOneHotCategorical(0.7, probs=cr.tensor(probs, requires_grad=True))
    want = t_dist.log_prob(torch.tensor(value))
    got = c_dist.log_prob(cr.tensor(value))
    assert str(got.dtype) == str(want.dtype)
    rtol = 1e-9 if dtype == "float64" else 1e-5
    assert_close(got, want, rtol=rtol, atol=1e-6)
    assert got.requires_grad
    with pytest.raises(AttributeError):  # still torch's behaviour to document the difference
        td.RelaxedBernoulli(0.7, probs=torch.tensor(probs)).log_prob(torch.tensor(value))


# -- KL divergences between families -------------------------------------------------------

KL_PAIRS = [
    ("Normal", "Normal"),
    ("Beta", "Beta"),
    ("Gamma", "Gamma"),
    ("Dirichlet", "Dirichlet"),
    ("Bernoulli", "Bernoulli"),
    ("Categorical", "Categorical"),
    ("Poisson", "Poisson"),
    ("Geometric", "Geometric"),
    ("Exponential", "Gamma"),
    ("Laplace", "Normal"),
    ("Uniform", "Normal"),
    ("MultivariateNormal", "MultivariateNormal"),
    ("LowRankMVN", "MultivariateNormal"),
    ("ContinuousBernoulli", "ContinuousBernoulli"),
    ("Pareto", "Exponential"),
    ("Kumaraswamy", "Beta"),  # not registered: NotImplementedError in both
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("p_name", "q_name"), KL_PAIRS)
def test_kl_divergence_matches_torch(p_name: str, q_name: str, dtype: str) -> None:
    np_dtype, rtol, atol = DTYPES[dtype]
    b, c = SHAPES["batch"]
    mp, gp, _ = SPECS[p_name]
    mq, gq, _ = SPECS[q_name]
    pp, qp = gp(_gen(1, np_dtype), b, c), gq(_gen(2, np_dtype), b, c)
    t_leaves = {k: torch.tensor(v, requires_grad=True) for k, v in pp.items()}
    c_leaves = {k: cr.tensor(v, requires_grad=True) for k, v in pp.items()}
    try:
        want = td.kl_divergence(
            mp(td, t_leaves), mq(td, {k: torch.tensor(v) for k, v in qp.items()})
        )
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            crd.kl_divergence(mp(crd, c_leaves), mq(crd, {k: cr.tensor(v) for k, v in qp.items()}))
        return
    got = crd.kl_divergence(mp(crd, c_leaves), mq(crd, {k: cr.tensor(v) for k, v in qp.items()}))
    assert str(got.dtype) == str(want.dtype)
    assert_close(got, want, rtol=rtol, atol=atol)
    w = np.random.default_rng(3).standard_normal(tuple(want.shape)).astype(np_dtype)
    t_grads = torch.autograd.grad((want * torch.tensor(w)).sum(), list(t_leaves.values()))
    c_grads = cr.autograd.grad((got * cr.tensor(w)).sum(), list(c_leaves.values()))
    for tg, cg in zip(t_grads, c_grads):
        assert_close(cg, tg, rtol=max(rtol, 1e-6) * 10, atol=max(atol, 1e-8) * 10)


# -- transforms ------------------------------------------------------------------------------

X = np.random.default_rng(5).standard_normal((2, 3))
TRANSFORMS: dict[str, tuple[Any, np.ndarray]] = {
    "exp": (lambda T, L: T.ExpTransform(), X),
    "sigmoid": (lambda T, L: T.SigmoidTransform(), X),
    "softplus": (lambda T, L: T.SoftplusTransform(), X),
    "tanh": (lambda T, L: T.TanhTransform(), 0.5 * X),
    "affine_event1": (
        lambda T, L: T.AffineTransform(0.5, L.tensor([0.5, -1.0, 2.0], dtype=L.float64), 1),
        X,
    ),
    "power": (lambda T, L: T.PowerTransform(L.tensor(2.5, dtype=L.float64)), np.abs(X) + 0.1),
    "stick_breaking": (lambda T, L: T.StickBreakingTransform(), X),
    "corr_cholesky": (lambda T, L: T.CorrCholeskyTransform(), X),
    "compose": (
        lambda T, L: T.ComposeTransform([T.AffineTransform(0.3, 2.0), T.ExpTransform()]),
        X,
    ),
    "cat": (
        lambda T, L: T.CatTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)], 1, [1, 2]),
        X,
    ),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_matches_torch(name: str) -> None:
    make, x = TRANSFORMS[name]
    t_tf, c_tf = make(td.transforms, torch), make(crd.transforms, cr)
    xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    yt, yc = t_tf(xt), c_tf(xc)
    assert_close(yc, yt)
    assert_close(c_tf.inv(cr.tensor(to_np(yt))), t_tf.inv(torch.tensor(to_np(yt))), 1e-7, 1e-9)
    lt, lc = t_tf.log_abs_det_jacobian(xt, yt), c_tf.log_abs_det_jacobian(xc, yc)
    assert_close(lc, lt, 1e-9, 1e-10)
    (gt,) = torch.autograd.grad(lt.sum() + yt.sum(), [xt])
    (gc,) = cr.autograd.grad(lc.sum() + yc.sum(), [xc])
    assert_close(gc, gt, 1e-8, 1e-10)
    assert tuple(c_tf.forward_shape((4, 2, 3))) == tuple(t_tf.forward_shape((4, 2, 3)))
    t_cached, c_cached = t_tf.with_cache(1), c_tf.with_cache(1)
    t_hit = t_cached.inv(t_cached(xt)) is xt
    assert (c_cached.inv(c_cached(xc)) is xc) == t_hit
