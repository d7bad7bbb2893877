"""Part-A families (Normal, Bernoulli, Categorical, OneHotCategorical, Uniform, Exponential,
Laplace, Cauchy, Independent, Geometric, Poisson, Binomial, Multinomial) against PyTorch in
float64: log_prob/cdf/icdf/entropy/moments (values and gradients wrt parameters and value),
enumerate_support, expand, shapes, supports, and validation errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.distributions as crd

from ._helpers import assert_close, build, compare_method, to_np

# chainrule silences NumPy's floating-point RuntimeWarnings inside its ops (as PyTorch is
# silent); pytest resets that filter, so restore it here (edge cases such as p == 1 give inf/nan
# gradients in both libraries)
pytestmark = pytest.mark.filterwarnings(
    "ignore:(divide by zero|invalid value|overflow) encountered:RuntimeWarning"
)

rng = np.random.default_rng(0)
R = rng.standard_normal
U = rng.uniform


def _onehot(idx: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[idx]


# name -> (constructor over a distributions module, params, values to score, value_grad)
CASES: dict[str, tuple[Any, dict, list[np.ndarray], bool]] = {
    "normal": (
        lambda D, p: D.Normal(p["loc"], p["scale"]),
        {"loc": R(3), "scale": U(0.5, 2, 3)},
        [R((2, 3)), R(3), R((4, 1))],
        True,
    ),
    "normal_bcast": (
        lambda D, p: D.Normal(p["loc"], p["scale"]),
        {"loc": R((2, 1)), "scale": U(0.5, 2, 3)},
        [R((2, 3))],
        True,
    ),
    "bernoulli_probs": (
        lambda D, p: D.Bernoulli(probs=p["probs"]),
        {"probs": np.array([0.1, 0.5, 0.9, 0.3])},
        [np.array([0.0, 1.0, 1.0, 0.0]), rng.integers(0, 2, (3, 4)).astype(float)],
        True,
    ),
    "bernoulli_logits": (
        lambda D, p: D.Bernoulli(logits=p["logits"]),
        {"logits": R((2, 3))},
        [rng.integers(0, 2, (2, 3)).astype(float)],
        True,
    ),
    "categorical_probs": (
        lambda D, p: D.Categorical(probs=p["probs"]),
        {"probs": U(0.1, 1, (2, 4))},
        [rng.integers(0, 4, (5, 2)), rng.integers(0, 4, (2,))],
        False,
    ),
    "categorical_logits": (
        lambda D, p: D.Categorical(logits=p["logits"]),
        {"logits": R((3, 5))},
        [rng.integers(0, 5, (3,))],
        False,
    ),
    "categorical_1d": (
        lambda D, p: D.Categorical(logits=p["logits"]),
        {"logits": R(4)},
        [rng.integers(0, 4, (6,))],
        False,
    ),
    "onehot": (
        lambda D, p: D.OneHotCategorical(probs=p["probs"]),
        {"probs": U(0.1, 1, (2, 4))},
        [_onehot(rng.integers(0, 4, (3, 2)), 4)],
        False,
    ),
    "onehot_logits": (
        lambda D, p: D.OneHotCategorical(logits=p["logits"]),
        {"logits": R(3)},
        [_onehot(rng.integers(0, 3, (4,)), 3)],
        False,
    ),
    "uniform": (
        lambda D, p: D.Uniform(p["low"], p["high"]),
        {"low": np.array([-1.0, 0.0, 2.0]), "high": np.array([1.0, 3.0, 2.5])},
        [np.array([0.3, 2.9, 2.1]), np.array([[-0.5, 0.0, 2.4]])],
        True,
    ),
    "exponential": (
        lambda D, p: D.Exponential(p["rate"]),
        {"rate": U(0.5, 3, (2, 3))},
        [U(0, 4, (2, 3))],
        True,
    ),
    "laplace": (
        lambda D, p: D.Laplace(p["loc"], p["scale"]),
        {"loc": R(4), "scale": U(0.5, 2, 4)},
        [R((3, 4))],
        True,
    ),
    "cauchy": (
        lambda D, p: D.Cauchy(p["loc"], p["scale"]),
        {"loc": R(4), "scale": U(0.5, 2, 4)},
        [R((3, 4))],
        True,
    ),
    "independent": (
        lambda D, p: D.Independent(D.Normal(p["loc"], p["scale"]), 1),
        {"loc": R((2, 3)), "scale": U(0.5, 2, (2, 3))},
        [R((4, 2, 3))],
        True,
    ),
    "independent_2": (
        lambda D, p: D.Independent(D.Bernoulli(logits=p["logits"]), 2),
        {"logits": R((2, 3))},
        [rng.integers(0, 2, (2, 3)).astype(float)],
        True,
    ),
    "geometric_probs": (
        lambda D, p: D.Geometric(probs=p["probs"]),
        {"probs": np.array([0.2, 0.5, 1.0])},
        [np.array([0.0, 3.0, 0.0]), np.array([[2.0, 1.0, 0.0]])],
        True,
    ),
    "geometric_logits": (
        lambda D, p: D.Geometric(logits=p["logits"]),
        {"logits": R(3)},
        [np.array([1.0, 0.0, 5.0])],
        True,
    ),
    "poisson": (
        lambda D, p: D.Poisson(p["rate"]),
        {"rate": U(0.5, 6, (2, 3))},
        [rng.integers(0, 8, (2, 3)).astype(float)],
        True,
    ),
    "binomial_probs": (
        lambda D, p: D.Binomial(p["total_count"], probs=p["probs"]),
        {"total_count": np.array([5.0, 5.0, 5.0]), "probs": np.array([0.2, 0.5, 0.7])},
        [np.array([0.0, 3.0, 5.0])],
        True,
    ),
    "binomial_logits": (
        lambda D, p: D.Binomial(p["total_count"], logits=p["logits"]),
        {"total_count": np.array([4.0, 7.0]), "logits": np.array([0.3, -0.8])},
        [np.array([[1.0, 7.0], [4.0, 0.0]])],
        True,
    ),
    "multinomial": (
        lambda D, p: D.Multinomial(6, probs=p["probs"]),
        {"probs": U(0.1, 1, (2, 3))},
        [np.array([[1.0, 2.0, 3.0], [6.0, 0.0, 0.0]])],
        True,
    ),
    "multinomial_logits": (
        lambda D, p: D.Multinomial(4, logits=p["logits"]),
        {"logits": R(4)},
        [np.array([[1.0, 1.0, 2.0, 0.0]])],
        True,
    ),
}

PROPERTIES = ["mean", "mode", "variance", "stddev", "entropy", "perplexity"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_log_prob_matches_torch(case: str) -> None:
    make, params, values, value_grad = CASES[case]
    pair = build(make, **params)
    for v in values:
        compare_method(pair, "log_prob", v, value_grad=value_grad)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("prop", PROPERTIES)
def test_properties_match_torch(case: str, prop: str) -> None:
    make, params, _, _ = CASES[case]
    compare_method(build(make, **params), prop)


@pytest.mark.parametrize("case", sorted(CASES))
def test_cdf_icdf_match_torch(case: str) -> None:
    make, params, values, value_grad = CASES[case]
    pair = build(make, **params)
    for v in values:
        compare_method(pair, "cdf", v, value_grad=value_grad)
    probs = U(0.05, 0.95, tuple(pair.t.batch_shape))
    compare_method(pair, "icdf", probs)


@pytest.mark.parametrize("case", sorted(CASES))
def test_shapes_support_and_flags_match_torch(case: str) -> None:
    make, params, _, _ = CASES[case]
    pair = build(make, **params)
    c, t = pair.cr, pair.t
    assert tuple(c.batch_shape) == tuple(t.batch_shape)
    assert tuple(c.event_shape) == tuple(t.event_shape)
    assert isinstance(c.batch_shape, cr.Size)
    assert c.has_rsample == t.has_rsample
    assert c.has_enumerate_support == t.has_enumerate_support
    assert repr(c.support) == repr(t.support)
    assert c.support.is_discrete == t.support.is_discrete
    assert c.support.event_dim == t.support.event_dim
    assert repr(type(c).support) == repr(type(t).support)
    assert sorted(c.arg_constraints) == sorted(t.arg_constraints)
    assert repr(c).split("(")[0] == repr(t).split("(")[0]
    for shape in [(), (2,), (3, 1)]:
        expected = tuple(t._extended_shape(shape))
        s = c.sample(shape)
        assert tuple(s.shape) == expected
        assert not s.requires_grad
        assert s.dtype == getattr(cr, str(t.sample(shape).dtype).replace("torch.", ""))
        assert bool(c.support.check(s).all())
        if t.has_rsample:
            assert tuple(c.rsample(shape).shape) == expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_enumerate_support_matches_torch(case: str) -> None:
    make, params, _, _ = CASES[case]
    pair = build(make, **params)
    for expand in (True, False):
        try:
            t_out = pair.t.enumerate_support(expand)
        except NotImplementedError:
            with pytest.raises(NotImplementedError):
                pair.cr.enumerate_support(expand)
            continue
        c_out = pair.cr.enumerate_support(expand)
        assert str(c_out.dtype).split(".")[-1] == str(t_out.dtype).split(".")[-1]
        assert_close(c_out, t_out)


@pytest.mark.parametrize("case", sorted(CASES))
def test_expand_matches_torch(case: str) -> None:
    make, params, values, _ = CASES[case]
    pair = build(make, **params)
    new_batch = (2, *pair.t.batch_shape)
    c, t = pair.cr.expand(new_batch), pair.t.expand(new_batch)
    assert type(c) is type(pair.cr)
    assert tuple(c.batch_shape) == tuple(t.batch_shape) == new_batch
    assert tuple(c.event_shape) == tuple(t.event_shape)
    assert c._validate_args == pair.cr._validate_args
    tail = tuple(t.batch_shape[1:]) + tuple(t.event_shape)
    v = values[0]
    v = np.broadcast_to(v, np.broadcast_shapes(v.shape, tail)).reshape((-1, *tail))[0]
    v = np.broadcast_to(v, new_batch + tuple(t.event_shape)).copy()
    tv = torch.tensor(v)
    assert_close(c.log_prob(cr.tensor(v)), t.log_prob(tv))
    assert tuple(c.sample((3,)).shape) == tuple(t.sample((3,)).shape)
    # gradient flows back to the unexpanded parameters
    if any(p.requires_grad for p in pair.t_params.values()):
        t.log_prob(tv).sum().backward()
        c.log_prob(cr.tensor(v)).sum().backward()
        for k, tp in pair.t_params.items():
            if tp.grad is not None:
                assert_close(pair.cr_params[k].grad, tp.grad, rtol=1e-8)


def test_scalar_parameters_give_empty_batch_shape_and_default_dtype() -> None:
    n = crd.Normal(0.0, 1.0)
    assert n.batch_shape == cr.Size() and n.loc.dtype == cr.float32
    assert crd.Exponential(2.0).batch_shape == cr.Size()
    assert crd.Bernoulli(0.3).batch_shape == cr.Size()
    assert crd.Uniform(0.0, cr.tensor([1.0, 2.0], dtype=cr.float64)).low.dtype == cr.float64
    assert repr(crd.Normal(0.0, 1.0)) == repr(torch.distributions.Normal(0.0, 1.0))
    assert repr(crd.Normal(cr.zeros(2), cr.ones(2))) == repr(
        torch.distributions.Normal(torch.zeros(2), torch.ones(2))
    )
    i = crd.Independent(crd.Normal(cr.zeros(2), cr.ones(2)), 1)
    ti = torch.distributions.Independent(
        torch.distributions.Normal(torch.zeros(2), torch.ones(2)), 1
    )
    assert repr(i) == repr(ti)


def test_categorical_normalises_and_mode() -> None:
    probs = cr.tensor([[1.0, 3.0], [2.0, 2.0]], dtype=cr.float64)
    d = crd.Categorical(probs=probs)
    assert_close(d.probs, np.array([[0.25, 0.75], [0.5, 0.5]]))
    assert d.mode.dtype == cr.int64
    with pytest.raises(ValueError, match="at least one-dimensional"):
        crd.Categorical(probs=cr.tensor(1.0))
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        crd.Categorical()
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        crd.Bernoulli(probs=cr.tensor(0.5), logits=cr.tensor(0.0))


def test_lazy_probs_logits_conversion_matches_torch() -> None:
    x = R((2, 3))
    c, t = crd.Bernoulli(logits=cr.tensor(x)), torch.distributions.Bernoulli(logits=torch.tensor(x))
    assert "probs" not in c.__dict__
    assert_close(c.probs, t.probs)
    assert "probs" in c.__dict__
    c2 = crd.Categorical(probs=cr.tensor(np.abs(x)))
    t2 = torch.distributions.Categorical(probs=torch.tensor(np.abs(x)))
    assert_close(c2.logits, t2.logits)
    assert_close(
        crd.Geometric(logits=cr.tensor(x)).probs,
        torch.distributions.Geometric(logits=torch.tensor(x)).probs,
    )


def test_binomial_inhomogeneous_total_count_raises_like_torch() -> None:
    c = crd.Binomial(cr.tensor([2.0, 3.0]), probs=cr.tensor([0.5, 0.5]))
    with pytest.raises(NotImplementedError, match="Inhomogeneous"):
        c.enumerate_support()
    with pytest.raises(NotImplementedError, match="Inhomogeneous"):
        c.entropy()
    with pytest.raises(NotImplementedError, match="inhomogeneous total_count"):
        crd.Multinomial(cr.tensor(3), probs=cr.tensor([0.5, 0.5]))


def test_independent_rejects_too_many_dims_and_cartesian_enumeration() -> None:
    base = crd.Bernoulli(cr.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims <="):
        crd.Independent(base, 2)
    ind = crd.Independent(base, 1)
    assert not ind.has_enumerate_support
    with pytest.raises(NotImplementedError, match="cartesian product"):
        ind.enumerate_support()
    assert repr(ind.support) == "IndependentConstraint(Boolean(), 1)"


def test_onehot_straight_through_rsample_gradient() -> None:
    logits = cr.tensor([0.1, 0.7, -0.3], dtype=cr.float64, requires_grad=True)
    d = crd.OneHotCategoricalStraightThrough(logits=logits)
    assert d.has_rsample
    s = d.rsample((4,))
    assert bool(((s == 0) | (s == 1)).all()) and bool((s.sum(-1) == 1).all())
    w = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)
    (s * w).sum().backward()
    tl = torch.tensor([0.1, 0.7, -0.3], dtype=torch.float64, requires_grad=True)
    (
        torch.softmax(tl, -1) * 4 * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    ).sum().backward()
    assert_close(logits.grad, tl.grad)


def test_bernoulli_mode_nan_at_half() -> None:
    m = crd.Bernoulli(cr.tensor([0.2, 0.5, 0.8])).mode
    assert np.isnan(to_np(m)[1]) and to_np(m)[0] == 0 and to_np(m)[2] == 1


def test_binomial_mode_gradient_at_clamp_tie() -> None:
    make = CASES["binomial_logits"][0]
    pair = build(make, total_count=np.array([4.0]), logits=np.array([2.0]))  # 5p > 4: a tie
    compare_method(pair, "mode")


_CLASSES = [
    "Distribution",
    "ExponentialFamily",
    "Normal",
    "Bernoulli",
    "Categorical",
    "OneHotCategorical",
    "OneHotCategoricalStraightThrough",
    "Uniform",
    "Exponential",
    "Laplace",
    "Cauchy",
    "Independent",
    "Geometric",
    "Poisson",
    "Binomial",
    "Multinomial",
]
_METHODS = [
    "__init__",
    "expand",
    "sample",
    "rsample",
    "log_prob",
    "cdf",
    "icdf",
    "entropy",
    "enumerate_support",
    "perplexity",
]


@pytest.mark.parametrize("name", _CLASSES)
def test_signatures_match_torch(name: str) -> None:
    import inspect

    c_cls, t_cls = getattr(crd, name), getattr(torch.distributions, name)
    assert issubclass(c_cls, crd.Distribution)
    assert [b.__name__ for b in c_cls.__mro__] == [
        b.__name__ for b in t_cls.__mro__ if b.__name__ != "Generic"
    ]
    for m in _METHODS:
        cs, ts = inspect.signature(getattr(c_cls, m)), inspect.signature(getattr(t_cls, m))
        c_params = [(p.name, p.kind, p.default) for p in cs.parameters.values()]
        t_params = [(p.name, p.kind, p.default) for p in ts.parameters.values()]
        assert [p[:2] for p in c_params] == [p[:2] for p in t_params], (name, m)
        for (_, _, cd), (_, _, tdef) in zip(c_params, t_params):
            if tdef is inspect.Parameter.empty:
                assert cd is inspect.Parameter.empty
            else:
                assert cd == tdef or (tuple(cd) == tuple(tdef)), (name, m, cd, tdef)


def test_expanded_multinomial_keeps_its_entropy() -> None:
    # PyTorch's Multinomial.expand drops the Binomial its entropy() needs (AttributeError);
    # chainrule carries it over, so the expanded entropy is the original's, repeated
    m = crd.Multinomial(5, probs=cr.tensor([0.2, 0.3, 0.5], dtype=cr.float64))
    expanded = m.expand((2,))
    np.testing.assert_allclose(
        expanded.entropy().numpy(), np.repeat(m.entropy().numpy()[None], 2), rtol=1e-12
    )
