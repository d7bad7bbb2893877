"""Part-C families (NegativeBinomial, InverseGamma, GeneralizedPareto, Wishart, LKJCholesky)
against PyTorch in float64: log_prob/cdf/icdf/entropy/moments (values and gradients wrt
parameters and value), expand, shapes, supports, sample statistics, reparameterised
gradients and validation errors."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch
import torch.distributions as td

import chainrule as cr
import chainrule.distributions as crd
from chainrule.distributions.lkj_cholesky import LKJCholesky
from chainrule.distributions.negative_binomial import NegativeBinomial
from chainrule.distributions.wishart import Wishart

from ._helpers import assert_close, build, compare_method, to_np

C = crd  # the part-C families are exported by chainrule.distributions

# NegativeBinomial.log_prob at total_count == value == 0 forms -inf + inf before masking it
# (as PyTorch does); NumPy reports that
pytestmark = pytest.mark.filterwarnings(
    "ignore:(divide by zero|invalid value|overflow) encountered:RuntimeWarning"
)

rng = np.random.default_rng(0)
R = rng.standard_normal
U = rng.uniform


@pytest.fixture
def torch_f64() -> Any:
    """PyTorch 2.13's GeneralizedPareto.log_prob/cdf compare the concentration with
    ``torch.tensor(0.0)``, which raises for float64 parameters unless the default dtype is
    float64 (see test_generalized_pareto_works_in_float64_unlike_torch)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _mk(ctor: Any) -> Any:
    """A builder for ``_helpers.build``: ``ctor(D, params)`` with D the part-C namespace for
    chainrule and ``torch.distributions`` for torch."""
    return lambda D, p: ctor(td if D is td else C, p)


def _spd(n: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    a = R((*batch, n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _corr_cholesky(n: int, batch: tuple[int, ...]) -> np.ndarray:
    s = _spd(n, batch)
    d = 1 / np.sqrt(np.diagonal(s, axis1=-2, axis2=-1))
    return np.linalg.cholesky(s * d[..., :, None] * d[..., None, :])


_GP_CONC = np.array([-0.4, 0.0, 1e-10, 0.3, 0.7])  # 1e-10 is isclose to 0: the exponential
_GP_SCALE = U(0.5, 2, 5)
_GP_LOC = R(5)
# values inside the support: loc + z * scale, z below scale / -concentration for c < 0
_GP_VALUES = [_GP_LOC + U(0.05, 2.0, (2, 5)) * _GP_SCALE, _GP_LOC + 0.3 * _GP_SCALE]

# name -> (constructor over a distributions namespace, params, values to score)
CASES: dict[str, tuple[Any, dict, list[np.ndarray]]] = {
    "negative_binomial": (
        lambda D, p: D.NegativeBinomial(p["n"], probs=p["p"]),
        {"n": U(0.5, 5, 3), "p": U(0.1, 0.9, 3)},
        [np.array([[0.0, 1.0, 5.0], [2.0, 3.0, 0.0]]), np.array([4.0, 0.0, 7.0])],
    ),
    "negative_binomial_logits": (
        lambda D, p: D.NegativeBinomial(p["n"], logits=p["l"]),
        {"n": np.array([0.0, 2.0, 3.5]), "l": R(3)},  # total_count 0: mass 1 at 0
        [np.array([[0.0, 1.0, 5.0], [2.0, 0.0, 0.0]])],
    ),
    "inverse_gamma": (
        lambda D, p: D.InverseGamma(p["c"], p["r"]),
        {"c": np.array([0.7, 1.5, 3.0]), "r": U(0.5, 2, 3)},  # infinite mean / variance too
        [U(0.1, 5, (2, 3)), U(0.1, 5, 3)],
    ),
    "generalized_pareto": (
        lambda D, p: D.GeneralizedPareto(p["loc"], p["scale"], p["c"]),
        {"loc": _GP_LOC, "scale": _GP_SCALE, "c": _GP_CONC},
        _GP_VALUES,
    ),
    "wishart_cov": (
        lambda D, p: D.Wishart(p["df"], covariance_matrix=p["S"]),
        {"df": np.array([3.5, 6.0]), "S": _spd(3)},  # mode is NaN for df <= p + 1
        [_spd(3, (2,)), _spd(3, (4, 1))],
    ),
    "wishart_tril": (
        lambda D, p: D.Wishart(p["df"], scale_tril=p["L"].tril()),
        {"df": np.array(4.5), "L": np.linalg.cholesky(_spd(2, (3,)))},
        [_spd(2, (3,))],
        # (scored through tril(L): PyTorch's cholesky_solve backward puts a gradient on the
        # strictly upper entries of L, which it never reads; chainrule's is zero there)
    ),
    "wishart_precision": (
        lambda D, p: D.Wishart(p["df"], precision_matrix=p["P"]),
        {"df": U(3, 6, (2, 1)), "P": _spd(3, (3,))},
        [_spd(3, (2, 3))],
    ),
    "lkj": (
        lambda D, p: D.LKJCholesky(3, p["c"]),
        {"c": np.array([0.5, 1.0, 2.5])},
        [_corr_cholesky(3, (2, 3)), _corr_cholesky(3, (3,))],
    ),
    "lkj_dim2": (
        lambda D, p: D.LKJCholesky(2, p["c"]),
        {"c": np.array(1.7)},
        [_corr_cholesky(2, (4,))],
    ),
}

PROPERTIES = ["mean", "mode", "variance", "stddev", "entropy"]
EXTRA_PROPERTIES = {
    "negative": ["probs", "logits"],
    "inverse": ["concentration", "rate"],
    "wishart": ["covariance_matrix", "precision_matrix", "scale_tril", "df"],
}
# PyTorch's trigamma (in the gradients of digamma terms) is accurate to ~1e-10 only
RTOL = {"inverse_gamma": 1e-8, "wishart_cov": 1e-8, "wishart_precision": 1e-8}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.usefixtures("torch_f64")
def test_log_prob_matches_torch(case: str) -> None:
    make, params, values = CASES[case]
    pair = build(_mk(make), **params)
    for v in values:
        compare_method(pair, "log_prob", v, rtol=RTOL.get(case, 1e-9))


@pytest.mark.parametrize("case", sorted(CASES))
def test_properties_match_torch(case: str) -> None:
    make, params, _ = CASES[case]
    pair = build(_mk(make), **params)
    extra = EXTRA_PROPERTIES.get(case.split("_")[0], [])
    for prop in PROPERTIES + extra:  # raising NotImplementedError where torch does
        compare_method(pair, prop, rtol=RTOL.get(case, 1e-9))
    if case.startswith("negative"):
        assert tuple(pair.cr.param_shape) == tuple(pair.t.param_shape)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.usefixtures("torch_f64")
def test_cdf_icdf_match_torch(case: str) -> None:
    make, params, values = CASES[case]
    pair = build(_mk(make), **params)
    if case == "inverse_gamma":  # torch has no gradient of igamma wrt its first argument
        for p in (*pair.cr_params.values(), *pair.t_params.values()):
            p.requires_grad_(False)
        pair.cr = _mk(make)(C, pair.cr_params)
        pair.t = _mk(make)(td, pair.t_params)
    for v in values:
        compare_method(pair, "cdf", v)
    compare_method(pair, "icdf", U(0.05, 0.95, tuple(pair.t.batch_shape)))


@pytest.mark.usefixtures("torch_f64")
def test_generalized_pareto_log_cdf_and_survival_match_torch() -> None:
    make, params, values = CASES["generalized_pareto"]
    pair = build(_mk(make), **params)
    for v in values:
        compare_method(pair, "log_cdf", v)
        compare_method(pair, "log_survival_function", v)


@pytest.mark.parametrize("case", sorted(CASES))
def test_shapes_support_and_flags_match_torch(case: str) -> None:
    make, params, _ = CASES[case]
    pair = build(_mk(make), **params)
    c, t = pair.cr, pair.t
    assert tuple(c.batch_shape) == tuple(t.batch_shape)
    assert tuple(c.event_shape) == tuple(t.event_shape)
    assert c.has_rsample == t.has_rsample
    assert c.has_enumerate_support == t.has_enumerate_support
    assert type(c.support).__name__ == type(t.support).__name__
    if hasattr(t.support, "upper_bound"):  # tensor bounds: compare them, not their reprs
        assert_close(c.support.lower_bound, t.support.lower_bound)
        assert_close(c.support.upper_bound, t.support.upper_bound)
    else:
        assert repr(c.support) == repr(t.support)
    assert c.support.event_dim == t.support.event_dim
    assert c.support.is_discrete == t.support.is_discrete
    assert set(c.arg_constraints) == set(t.arg_constraints)
    for sample_shape in [(), (5,), (2, 3)]:
        s = c.sample(sample_shape)
        assert tuple(s.shape) == tuple(t.sample(sample_shape).shape)
        assert s.dtype == cr.float64 and not s.requires_grad
        assert bool(c.support.check(s).all()), case
        if c.has_rsample:
            r = c.rsample(sample_shape)
            assert tuple(r.shape) == tuple(s.shape) and r.requires_grad
        else:
            with pytest.raises(NotImplementedError):
                c.rsample(sample_shape)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.usefixtures("torch_f64")
def test_expand_matches_torch(case: str) -> None:
    make, params, _ = CASES[case]
    pair = build(_mk(make), **params)
    new_batch = (2, *pair.t.batch_shape)
    c, t = pair.cr.expand(new_batch), pair.t.expand(new_batch)
    assert type(c) is type(pair.cr)
    assert tuple(c.batch_shape) == tuple(t.batch_shape) == new_batch
    assert tuple(c.event_shape) == tuple(t.event_shape)
    v = to_np(t.sample((2,)))
    assert_close(c.log_prob(cr.tensor(v)), t.log_prob(torch.tensor(v)), rtol=1e-9)
    assert tuple(c.sample((3,)).shape) == tuple(t.sample((3,)).shape)
    if c.has_rsample:
        with warnings.catch_warnings():  # torch's Wishart warns on every rsample
            warnings.simplefilter("ignore")
            t_shape = tuple(t.rsample((3,)).shape)
        assert tuple(c.rsample((3,)).shape) == t_shape


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_parameters_keep_float32(case: str) -> None:
    make, params, values = CASES[case]
    d = make(C, {k: cr.tensor(v, dtype=cr.float32) for k, v in params.items()})
    assert d.sample((2,)).dtype == cr.float32
    assert d.log_prob(cr.tensor(values[0], dtype=cr.float32)).dtype == cr.float32
    if d.has_rsample:
        assert d.rsample().dtype == cr.float32


# ------------------------------------------------------------------ sample statistics
STAT_CASES: dict[str, tuple[Any, dict]] = {
    "negative_binomial": (CASES["negative_binomial"][0], {"n": [0.7, 4.0], "p": [0.3, 0.6]}),
    "negative_binomial_logits": (
        CASES["negative_binomial_logits"][0],
        {"n": [0.0, 2.5], "l": [0.4, -1.0]},
    ),
    "inverse_gamma": (CASES["inverse_gamma"][0], {"c": [5.0, 7.0], "r": [1.0, 2.5]}),
    "generalized_pareto": (
        CASES["generalized_pareto"][0],
        {"loc": [0.5, -1.0, 0.0], "scale": [1.0, 2.0, 0.5], "c": [-0.3, 0.0, 0.1]},
    ),
    "wishart": (CASES["wishart_cov"][0], {"df": [4.0, 7.0], "S": _spd(3)}),
}


@pytest.mark.parametrize("case", sorted(STAT_CASES))
def test_sample_mean_and_variance(case: str) -> None:
    make, params = STAT_CASES[case]
    pair = build(_mk(make), **{k: np.asarray(v, dtype=np.float64) for k, v in params.items()})
    cr.manual_seed(11)
    n = 20000 if case == "wishart" else 40000
    s = to_np(pair.cr.sample((n,)))
    mean, var = to_np(pair.t.mean), to_np(pair.t.variance)
    se = np.sqrt(var / n)
    assert np.all(np.abs(s.mean(0) - mean) < 5 * se + 1e-12), case
    np.testing.assert_allclose(s.var(0), var, rtol=0.08, atol=1e-12)


def test_seeded_sampling_is_reproducible() -> None:
    for make, params, _ in CASES.values():
        d = make(C, {k: cr.tensor(v) for k, v in params.items()})
        cr.manual_seed(3)
        a = to_np(d.sample((4,)))
        cr.manual_seed(3)
        np.testing.assert_array_equal(a, to_np(d.sample((4,))))


def test_negative_binomial_samples_follow_the_pmf() -> None:
    d = NegativeBinomial(cr.tensor(2.5, dtype=cr.float64), probs=cr.tensor(0.4, dtype=cr.float64))
    cr.manual_seed(4)
    s = to_np(d.sample((40000,)))
    assert np.array_equal(s, np.round(s)) and s.min() >= 0
    k = np.arange(6)
    freq = np.array([(s == i).mean() for i in k])
    want = np.exp(to_np(d.log_prob(cr.tensor(k.astype(np.float64)))))
    np.testing.assert_allclose(freq, want, atol=0.01)


def _lkj_correlations(L: np.ndarray) -> np.ndarray:
    corr = L @ np.swapaxes(L, -1, -2)
    i, j = np.tril_indices(L.shape[-1], -1)
    return corr[..., i, j]


def test_lkj_samples_are_correlation_factors_distributed_as_torch_draws() -> None:
    # PyTorch's onion-method sampler (mirrored here) does not reproduce the LKJ marginals
    # (r_ij ~ 2 Beta(b, b) - 1, b = eta - 1 + d / 2) beyond the first column: so compare
    # the law of the draws with PyTorch's own draws, and its first column with the theory
    eta = np.array([0.5, 1.0, 4.0])
    d = LKJCholesky(4, cr.tensor(eta))
    cr.manual_seed(6)
    L = to_np(d.sample((20000,)))
    assert np.allclose(np.triu(L, 1), 0.0) and (np.diagonal(L, axis1=-2, axis2=-1) > 0).all()
    corr = L @ np.swapaxes(L, -1, -2)
    np.testing.assert_allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0, rtol=1e-12)
    r = _lkj_correlations(L)  # (n, 3, 6)
    torch.manual_seed(6)
    r_t = _lkj_correlations(td.LKJCholesky(4, torch.tensor(eta)).sample((20000,)).numpy())
    np.testing.assert_allclose(r.mean(0), 0.0, atol=0.03)
    np.testing.assert_allclose(r.var(0), r_t.var(0), rtol=0.06)
    np.testing.assert_allclose(np.abs(r).mean(0), np.abs(r_t).mean(0), rtol=0.04)
    np.testing.assert_allclose(r[:, :, 0].var(0), 1 / (2 * eta + 4 - 1), rtol=0.06)


@pytest.mark.usefixtures("torch_f64")
def test_generalized_pareto_works_in_float64_unlike_torch() -> None:
    # a deliberate difference: with torch's default dtype float32, PyTorch 2.13 raises
    # "Double did not match Float" in log_prob/cdf for float64 parameters; chainrule does not
    make, params, values = CASES["generalized_pareto"]
    pair = build(_mk(make), **params)
    v = values[0]
    want_lp = to_np(pair.t.log_prob(torch.tensor(v)))  # default float64 here (the fixture)
    want_cdf = to_np(pair.t.cdf(torch.tensor(v)))
    torch.set_default_dtype(torch.float32)
    with pytest.raises(RuntimeError, match="did not match"):
        pair.t.log_prob(torch.tensor(v))
    assert cr.get_default_dtype() == cr.float32
    assert_close(pair.cr.log_prob(cr.tensor(v)), want_lp, rtol=1e-12)
    assert_close(pair.cr.cdf(cr.tensor(v)), want_cdf, rtol=1e-12)


# ------------------------------------------------------------------ KL divergences
def test_wishart_kl_and_entropy_through_the_exponential_family_match_torch() -> None:
    # torch registers no KL pair for these families; Wishart is an ExponentialFamily, so
    # kl_divergence(Wishart, Wishart) is the Bregman divergence of its log-normalizer
    def make(D: Any, p: dict) -> Any:
        return D.Wishart(p["df"], covariance_matrix=p["S"])

    p1 = {"df": np.array([3.0, 5.0]), "S": _spd(2)}
    p2 = {"df": np.array(4.0), "S": _spd(2, (2,))}
    a, b = build(_mk(make), **p1), build(_mk(make), **p2)
    c_kl = crd.kl_divergence(a.cr, b.cr)
    t_kl = td.kl_divergence(a.t, b.t)
    assert_close(c_kl, t_kl, rtol=1e-8)
    leaves_c = [*a.cr_params.values(), *b.cr_params.values()]
    leaves_t = [*a.t_params.values(), *b.t_params.values()]
    # (the Bregman form detaches p's natural parameters: no gradient reaches p's)
    grads_c = cr.autograd.grad(c_kl.sum(), leaves_c, allow_unused=True)
    grads_t = torch.autograd.grad(t_kl.sum(), leaves_t, allow_unused=True)
    assert [g is None for g in grads_c] == [g is None for g in grads_t] == [1, 1, 0, 0]
    for gc, gt in zip(grads_c[2:], grads_t[2:]):
        assert_close(gc, gt, rtol=1e-7)
    assert_close(crd.ExponentialFamily.entropy(a.cr), a.cr.entropy(), rtol=1e-10)


def test_inverse_gamma_kl_through_the_transformed_pair_matches_torch() -> None:
    # torch's (TransformedDistribution, TransformedDistribution) pair: equal transforms
    # (PowerTransform(-1)) reduce it to the Gamma-Gamma KL of the base distributions
    make = CASES["inverse_gamma"][0]
    a = build(_mk(make), c=np.array([0.7, 2.0, 3.0]), r=np.array([1.0, 0.5, 2.0]))
    b = build(_mk(make), c=np.array([1.5, 1.0, 4.0]), r=np.array([2.0, 1.5, 0.3]))
    c_kl = crd.kl_divergence(a.cr, b.cr)
    t_kl = td.kl_divergence(a.t, b.t)
    assert_close(c_kl, t_kl, rtol=1e-9)
    leaves_c = [*a.cr_params.values(), *b.cr_params.values()]
    leaves_t = [*a.t_params.values(), *b.t_params.values()]
    grads_c = cr.autograd.grad(c_kl.sum(), leaves_c)
    grads_t = torch.autograd.grad(t_kl.sum(), leaves_t)
    for gc, gt in zip(grads_c, grads_t):
        assert_close(gc, gt, rtol=1e-8)


@pytest.mark.parametrize("case", ["negative_binomial", "generalized_pareto", "lkj"])
def test_kl_not_implemented_like_torch(case: str) -> None:
    make, params, _ = CASES[case]
    pair = build(_mk(make), **params)
    with pytest.raises(NotImplementedError):
        td.kl_divergence(pair.t, pair.t)
    with pytest.raises(NotImplementedError):
        crd.kl_divergence(pair.cr, pair.cr)


# ---------------------------------------------------------- reparameterised gradients
def _grad_of_mean(make: Any, params: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    leaves = {k: cr.tensor(v, requires_grad=True) for k, v in params.items()}
    cr.manual_seed(21)
    make(C, leaves).rsample((n,)).mean(0).sum().backward()
    return {k: to_np(v.grad) for k, v in leaves.items()}


def _analytic_grad_of_mean(make: Any, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    make(td, leaves).mean.sum().backward()
    return {k: v.grad.numpy() for k, v in leaves.items()}


@pytest.mark.parametrize(
    "case, params, n",
    [
        ("inverse_gamma", {"c": np.array([4.0, 6.0]), "r": np.array([1.0, 2.0])}, 40000),
        (
            "generalized_pareto",
            # not c == 0: there icdf (so rsample) is constant in c, in torch as here
            {"loc": R(3), "scale": np.array([1.0, 2.0, 0.5]), "c": np.array([-0.3, 0.05, 0.1])},
            40000,
        ),
        ("wishart_tril", {"df": np.array(4.5), "L": np.linalg.cholesky(_spd(2, (2,)))}, 20000),
    ],
)
def test_rsample_gradient_of_mean_matches_analytic(case: str, params: dict, n: int) -> None:
    make = CASES[case][0]
    got = _grad_of_mean(make, params, n)
    want = _analytic_grad_of_mean(make, params)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], atol=0.05, rtol=0.05, err_msg=f"{case}:{k}")


def test_generalized_pareto_rsample_is_icdf_of_seeded_uniforms() -> None:
    make, params, _ = CASES["generalized_pareto"]
    pair = build(_mk(make), **params)
    cr.manual_seed(8)
    u = cr.rand(3, 5, dtype=cr.float64)
    cr.manual_seed(8)
    x = pair.cr.rsample((3,))
    assert_close(x, pair.t.icdf(torch.tensor(to_np(u))), rtol=1e-12)
    # its gradient is the icdf's, which matches torch (test_cdf_icdf_match_torch)
    compare_method(pair, "icdf", to_np(u))


# --------------------------------------------------------------------- validation
def _t(D: Any, v: Any) -> Any:
    return torch.tensor(v, dtype=torch.float64) if D is td else cr.tensor(v, dtype=cr.float64)


@pytest.mark.parametrize(
    "ctor",
    [
        lambda D: D.NegativeBinomial(_t(D, [-1.0]), probs=_t(D, [0.5])),
        lambda D: D.NegativeBinomial(_t(D, [1.0]), probs=_t(D, [1.0])),
        lambda D: D.InverseGamma(_t(D, [-1.0]), 1.0),
        lambda D: D.InverseGamma(1.0, 0.0),
        lambda D: D.GeneralizedPareto(0.0, 0.0, 0.5),
        lambda D: D.Wishart(3.0, covariance_matrix=-_t(D, np.eye(2))),
        lambda D: D.Wishart(3.0, scale_tril=_t(D, [[1.0, 1.0], [0.0, 1.0]])),
        lambda D: D.LKJCholesky(3, 0.0),
    ],
)
def test_invalid_parameters_raise_like_torch(ctor: Any) -> None:
    with pytest.raises(ValueError):
        ctor(td)
    with pytest.raises(ValueError, match="Expected parameter"):
        ctor(C)


@pytest.mark.parametrize(
    "ctor, value",
    [
        (lambda D: D.NegativeBinomial(_t(D, 2.0), probs=_t(D, 0.3)), -1.0),
        (lambda D: D.NegativeBinomial(_t(D, 2.0), probs=_t(D, 0.3)), 1.5),
        (lambda D: D.InverseGamma(_t(D, 2.0), _t(D, 1.0)), -0.5),
        (lambda D: D.GeneralizedPareto(_t(D, 1.0), _t(D, 1.0), _t(D, 0.5)), 0.5),
        (lambda D: D.GeneralizedPareto(_t(D, 0.0), _t(D, 1.0), _t(D, -0.5)), 2.5),
        (lambda D: D.Wishart(_t(D, 3.0), covariance_matrix=_t(D, np.eye(2))), -np.eye(2)),
        (lambda D: D.LKJCholesky(2, _t(D, 1.0)), [[1.0, 0.0], [0.5, 0.5]]),
    ],
)
def test_invalid_values_raise_like_torch(ctor: Any, value: Any) -> None:
    with pytest.raises(ValueError, match="support"):
        ctor(td).log_prob(_t(td, value))
    with pytest.raises(ValueError, match="support"):
        ctor(C).log_prob(_t(C, value))


def test_constructor_errors_like_torch() -> None:
    eye = cr.eye(2, dtype=cr.float64)
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        NegativeBinomial(1.0)
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        NegativeBinomial(1.0, probs=cr.tensor(0.5), logits=cr.tensor(0.0))
    with pytest.raises(AssertionError, match="Exactly one of"):
        Wishart(3.0)
    with pytest.raises(AssertionError, match="Exactly one of"):
        Wishart(3.0, covariance_matrix=eye, scale_tril=eye)
    with pytest.raises(ValueError, match="at least two-dimensional"):
        Wishart(3.0, covariance_matrix=cr.ones(2))
    with pytest.raises(ValueError, match="greater than ndim - 1"):  # even unvalidated
        Wishart(cr.tensor([3.0, 1.0]), covariance_matrix=eye, validate_args=False)
    with pytest.warns(UserWarning, match="Low df values"):
        Wishart(1.5, covariance_matrix=eye)
    with pytest.raises(ValueError, match="dim greater than or equal to 2|greater than or"):
        LKJCholesky(1)
    for D in (td, C):
        with pytest.raises(ValueError):
            D.LKJCholesky(1)


def test_wishart_warns_only_for_singular_draws() -> None:
    # a deliberate difference: PyTorch 2.13 warns "Singular sample detected." (and redraws)
    # on every rsample, as it tests support.check(sample) -- true for a valid draw -- as the
    # singular case; here a valid draw raises no warning (warnings are errors in this suite)
    d = Wishart(cr.tensor([4.0, 6.0]), covariance_matrix=cr.tensor(_spd(3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = d.rsample((50,))
    assert bool(d.support.check(s).all())
    # a zero scale makes every draw singular: it warns, redraws max_try_correction times and
    # returns the (still singular) draw
    z = Wishart(cr.tensor(3.0), scale_tril=cr.zeros(2, 2, dtype=cr.float64), validate_args=False)
    with pytest.warns(UserWarning, match="Singular sample detected"):
        s = z.rsample((4,), max_try_correction=2)
    assert tuple(s.shape) == (4, 2, 2) and not bool(z.support.check(s).any())
