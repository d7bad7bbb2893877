"""The distributions base: constraints, utils, the ``Distribution`` class (validation,
defaults, expand checks, repr) and parameter/value validation errors, against PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.distributions as td
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.distributions as crd
from chainrule.distributions import constraints as C
from chainrule.distributions import utils as U

from ._helpers import assert_close

pytestmark = pytest.mark.filterwarnings(
    "ignore:(divide by zero|invalid value|overflow) encountered:RuntimeWarning"
)
TC = td.constraints

# (chainrule constraint, torch constraint, test values (numpy))
_VALUES = np.array([-np.inf, -2.0, -0.0, 0.0, 0.3, 1.0, 1.5, 2.0, np.inf, np.nan])
_SCALAR_CONSTRAINTS = [
    (C.real, TC.real),
    (C.positive, TC.positive),
    (C.nonnegative, TC.nonnegative),
    (C.boolean, TC.boolean),
    (C.unit_interval, TC.unit_interval),
    (C.interval(-1.0, 1.5), TC.interval(-1.0, 1.5)),
    (C.half_open_interval(-1.0, 1.5), TC.half_open_interval(-1.0, 1.5)),
    (C.greater_than(0.3), TC.greater_than(0.3)),
    (C.greater_than_eq(0.3), TC.greater_than_eq(0.3)),
    (C.less_than(1.0), TC.less_than(1.0)),
    (C.integer_interval(0, 2), TC.integer_interval(0, 2)),
    (C.nonnegative_integer, TC.nonnegative_integer),
    (C.positive_integer, TC.positive_integer),
]


@pytest.mark.parametrize("pair", _SCALAR_CONSTRAINTS, ids=lambda p: repr(p[1]))
def test_scalar_constraints_match_torch(pair) -> None:
    c, t = pair
    assert repr(c) == repr(t)
    assert c.is_discrete == t.is_discrete and c.event_dim == t.event_dim
    got = c.check(cr.tensor(_VALUES))
    assert got.dtype == cr.bool
    assert_close(got, t.check(torch.tensor(_VALUES)))


def _matrices() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 3))
    spd = a @ a.T + 3 * np.eye(3)
    lower = np.tril(a)
    chol = np.linalg.cholesky(spd)
    corr = chol / np.linalg.norm(chol, axis=-1, keepdims=True)
    return [a, spd, lower, chol, corr, -spd, np.zeros((3, 3)), np.eye(3), np.ones((2, 3))]


_MATRIX_CONSTRAINTS = [
    (C.lower_triangular, TC.lower_triangular),
    (C.lower_cholesky, TC.lower_cholesky),
    (C.corr_cholesky, TC.corr_cholesky),
    (C.square, TC.square),
    (C.symmetric, TC.symmetric),
    (C.positive_semidefinite, TC.positive_semidefinite),
    (C.positive_definite, TC.positive_definite),
]


@pytest.mark.parametrize("pair", _MATRIX_CONSTRAINTS, ids=lambda p: repr(p[1]))
def test_matrix_constraints_match_torch(pair) -> None:
    c, t = pair
    assert repr(c) == repr(t) and c.event_dim == t.event_dim == 2
    mats = _matrices()
    for m in mats:
        if m.shape[0] != m.shape[1] and t is not TC.square:
            continue
        assert_close(c.check(cr.tensor(m)), t.check(torch.tensor(m)))
    batch = np.stack(mats[:5])
    assert_close(c.check(cr.tensor(batch)), t.check(torch.tensor(batch)))


def test_vector_constraints_match_torch() -> None:
    vals = np.array([[0.2, 0.8, 0.0], [0.5, 0.6, -0.1], [1.0, 0.0, 0.0], [0.0, 2.0, 1.0]])
    for c, t in [
        (C.simplex, TC.simplex),
        (C.one_hot, TC.one_hot),
        (C.real_vector, TC.real_vector),
        (C.multinomial(3), TC.multinomial(3)),
        (C.independent(C.positive, 1), TC.independent(TC.positive, 1)),
        (C.independent(C.real, 2), TC.independent(TC.real, 2)),
    ]:
        assert repr(c) == repr(t), (c, t)
        assert c.event_dim == t.event_dim and c.is_discrete == t.is_discrete
        assert_close(c.check(cr.tensor(vals)), t.check(torch.tensor(vals)))
    with pytest.raises(ValueError, match="Expected value.dim"):
        C.independent(C.real, 2).check(cr.tensor([1.0]))
    with pytest.raises(AssertionError):
        C.independent(C.real, -1)


def test_cat_stack_constraints_match_torch() -> None:
    x = np.array([[-1.0, 0.5, 2.0], [1.0, -0.5, 0.0]])
    c = C.cat([C.real, C.positive, C.unit_interval], dim=1, lengths=[1, 1, 1])
    t = TC.cat([TC.real, TC.positive, TC.unit_interval], dim=1, lengths=[1, 1, 1])
    assert_close(c.check(cr.tensor(x)), t.check(torch.tensor(x)))
    c = C.stack([C.real, C.positive], dim=0)
    t = TC.stack([TC.real, TC.positive], dim=0)
    assert_close(c.check(cr.tensor(x)), t.check(torch.tensor(x)))
    assert c.event_dim == t.event_dim and c.is_discrete == t.is_discrete
    c2 = C.stack([C.real, C.positive_integer], dim=-1)
    assert c2.is_discrete and c2.event_dim == TC.stack([TC.real, TC.positive_integer], -1).event_dim
    with pytest.raises(AssertionError, match="out of range"):
        c.check(cr.tensor(1.0))


def test_mixture_same_family_constraint_matches_torch() -> None:
    x = np.array([[0.5, -1.0], [2.0, 3.0]])
    c = C.MixtureSameFamilyConstraint(C.positive)
    t = TC.MixtureSameFamilyConstraint(TC.positive)
    assert repr(c) == repr(t)
    assert_close(c.check(cr.tensor(x)), t.check(torch.tensor(x)))


def test_dependent_constraints() -> None:
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    with pytest.raises(ValueError, match="Cannot determine validity"):
        C.dependent.check(cr.tensor(1.0))
    with pytest.raises(NotImplementedError, match="is_discrete"):
        _ = C.dependent.is_discrete
    d = C.dependent(is_discrete=True, event_dim=1)
    assert d.is_discrete and d.event_dim == 1
    # dependent_property: a constraint on the class, a property on the instance
    assert C.is_dependent(crd.Uniform.support)
    assert crd.Uniform.support.event_dim == 0 and not crd.Uniform.support.is_discrete
    assert crd.Categorical.support.is_discrete
    u = crd.Uniform(cr.tensor(0.0), cr.tensor(2.0))
    assert repr(u.support) == repr(td.Uniform(torch.tensor(0.0), torch.tensor(2.0)).support)


# ---- utils ----------------------------------------------------------------------------


def test_broadcast_all_matches_torch() -> None:
    a = np.arange(3.0)
    outs = U.broadcast_all(cr.tensor(a, dtype=cr.float64), 2.0, cr.tensor([[1.0]]))
    touts = td.utils.broadcast_all(torch.tensor(a), 2.0, torch.tensor([[1.0]]))
    for o, t in zip(outs, touts):
        assert tuple(o.shape) == tuple(t.shape)
        assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        assert_close(o, t)
    (s,) = U.broadcast_all(1.5)
    assert s.dtype == cr.get_default_dtype() and s.shape == ()
    with pytest.raises(ValueError, match="Input arguments must all be instances of Number"):
        U.broadcast_all(cr.tensor(1.0), "a")


def test_probs_logits_conversions_match_torch() -> None:
    p = np.array([[0.0, 0.25, 0.75], [1.0, 0.5, 1e-30]])
    x = np.random.default_rng(0).standard_normal((2, 3))
    for binary in (True, False):
        assert_close(
            U.probs_to_logits(cr.tensor(p), binary),
            td.utils.probs_to_logits(torch.tensor(p), binary),
        )
        assert_close(
            U.logits_to_probs(cr.tensor(x), binary),
            td.utils.logits_to_probs(torch.tensor(x), binary),
        )
    for dt, tdt in [(cr.float32, torch.float32), (cr.float64, torch.float64)]:
        got = U.clamp_probs(cr.tensor(p, dtype=dt))
        assert got.dtype == dt
        assert_close(got, td.utils.clamp_probs(torch.tensor(p, dtype=tdt)))


@pytest.mark.parametrize("diag", [-1, 0, 1])
def test_tril_vec_round_trip_matches_torch(diag: int) -> None:
    m = np.arange(2 * 16, dtype=np.float64).reshape(2, 4, 4)
    v = U.tril_matrix_to_vec(cr.tensor(m), diag)
    tv = td.utils.tril_matrix_to_vec(torch.tensor(m), diag)
    assert_close(v, tv)
    w = cr.tensor(v.detach().numpy(), requires_grad=True)
    back = U.vec_to_tril_matrix(w, diag)
    assert_close(back, td.utils.vec_to_tril_matrix(tv, diag))
    (back * cr.tensor(m)).sum().backward()
    assert_close(w.grad, tv)  # d/dvec of sum(tril(vec) * m) is m's tril entries
    with pytest.raises(ValueError, match="outside"):
        U.tril_matrix_to_vec(cr.tensor(m), 4)
    with pytest.raises(ValueError, match="cannot be expressed"):
        U.vec_to_tril_matrix(cr.zeros(5), 0)


def test_lazy_property_caches_with_grad_enabled() -> None:
    logits = cr.tensor([0.2, -1.0], requires_grad=True)
    d = crd.Bernoulli(logits=logits)
    with cr.no_grad():
        p = d.probs  # computed with grad enabled all the same (PyTorch's lazy_property)
    assert p.requires_grad and d.probs is p
    assert isinstance(crd.Bernoulli.probs, property)


# ---- Distribution base -----------------------------------------------------------------


def test_base_class_defaults_match_torch() -> None:
    d = crd.Distribution(cr.Size([2]), cr.Size([3]), validate_args=False)
    assert d.batch_shape == cr.Size([2]) and d.event_shape == cr.Size([3])
    assert d._extended_shape((4,)) == cr.Size([4, 2, 3])
    assert isinstance(d._extended_shape((4,)), cr.Size)
    for name in ["arg_constraints", "support", "mean", "variance", "stddev"]:
        with pytest.raises(NotImplementedError):
            getattr(d, name)
    with pytest.raises(NotImplementedError, match="does not implement mode"):
        _ = d.mode
    for method in ["rsample", "sample", "entropy", "perplexity", "enumerate_support"]:
        with pytest.raises(NotImplementedError):
            getattr(d, method)()
    for method in ["log_prob", "cdf", "icdf"]:
        with pytest.raises(NotImplementedError):
            getattr(d, method)(cr.tensor(0.0))
    with pytest.raises(NotImplementedError):
        d.expand((2,))
    assert crd.Distribution._validate_args is True  # on unless python -O, as in torch


def test_missing_arg_constraints_warns_like_torch() -> None:
    class NoConstraints(crd.Distribution):
        pass

    with pytest.warns(UserWarning, match="does not define `arg_constraints`"):
        NoConstraints()


def test_set_default_validate_args() -> None:
    with pytest.raises(ValueError):
        crd.Distribution.set_default_validate_args("yes")
    try:
        crd.Distribution.set_default_validate_args(False)
        crd.Normal(cr.tensor(0.0), cr.tensor(-1.0))  # not validated
    finally:
        crd.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        crd.Normal(cr.tensor(0.0), cr.tensor(-1.0))


def test_get_checked_instance_requires_custom_expand() -> None:
    class MyNormal(crd.Normal):
        def __init__(self, loc, scale):
            super().__init__(loc, scale)

    with pytest.raises(NotImplementedError, match="must also define a custom .expand"):
        MyNormal(cr.zeros(2), cr.ones(2)).expand((3, 2))

    class PlainSub(crd.Normal):
        pass

    e = PlainSub(cr.zeros(2), cr.ones(2)).expand((3, 2))
    assert type(e) is PlainSub and e.batch_shape == cr.Size([3, 2])


def test_sample_n_is_deprecated() -> None:
    d = crd.Normal(cr.zeros(2), cr.ones(2))
    with pytest.warns(FutureWarning, match="sample_n"):
        s = d.sample_n(5)
    assert s.shape == (5, 2)


# bad parameters: (constructor over a module, kwargs as numpy)
_BAD_PARAMS = [
    ("Normal", lambda D, T: D.Normal(T([0.0, 1.0]), T([1.0, -1.0]))),
    ("Normal_nan_loc", lambda D, T: D.Normal(T([float("nan")]), T([1.0]))),
    ("Bernoulli", lambda D, T: D.Bernoulli(probs=T([0.5, 1.5]))),
    ("Categorical", lambda D, T: D.Categorical(probs=T([0.5, -0.5, 1.0]))),
    ("Categorical_nan", lambda D, T: D.Categorical(logits=T([0.5, float("nan")]))),
    ("OneHot", lambda D, T: D.OneHotCategorical(probs=T([-0.5, 1.5]))),
    ("Uniform", lambda D, T: D.Uniform(T([0.0, 2.0]), T([1.0, 1.0]))),
    ("Exponential", lambda D, T: D.Exponential(T([0.0]))),
    ("Laplace", lambda D, T: D.Laplace(T([0.0]), T([0.0]))),
    ("Cauchy", lambda D, T: D.Cauchy(T([0.0]), T([-2.0]))),
    ("Geometric_zero", lambda D, T: D.Geometric(probs=T([0.0, 0.5]))),
    ("Geometric_big", lambda D, T: D.Geometric(probs=T([1.5]))),
    ("Poisson", lambda D, T: D.Poisson(T([-1.0]))),
    ("Binomial_count", lambda D, T: D.Binomial(T([2.5]), probs=T([0.5]))),
    ("Binomial_probs", lambda D, T: D.Binomial(T([2.0]), probs=T([1.5]))),
    ("Multinomial", lambda D, T: D.Multinomial(3, probs=T([0.5, -0.5]))),
]


def _first_line_until_tensor(msg: str) -> str:
    return msg.split("of distribution")[0]


@pytest.mark.parametrize("case", _BAD_PARAMS, ids=lambda c: c[0])
def test_bad_parameters_raise_like_torch(case) -> None:
    _, make = case
    with pytest.raises(ValueError) as t_err:
        make(td, lambda v: torch.tensor(v, dtype=torch.float64))
    with pytest.raises(ValueError) as c_err:
        make(crd, lambda v: cr.tensor(v, dtype=cr.float64))
    assert _first_line_until_tensor(str(c_err.value)) == _first_line_until_tensor(str(t_err.value))
    t_tail = str(t_err.value).split("to satisfy the constraint")[-1].split(",")[0]
    assert t_tail in str(c_err.value)
    try:
        crd.Distribution.set_default_validate_args(False)
        make(crd, lambda v: cr.tensor(v, dtype=cr.float64))  # not validated
    finally:
        crd.Distribution.set_default_validate_args(True)


# bad values: (constructor, value) -> both libraries raise ValueError from log_prob
_BAD_VALUES = [
    ("Normal_nan", lambda D, T: D.Normal(T([0.0]), T([1.0])), [float("nan")]),
    ("Bernoulli_half", lambda D, T: D.Bernoulli(probs=T([0.3])), [0.5]),
    ("Categorical_big", lambda D, T: D.Categorical(probs=T([0.5, 0.5])), [2.0]),
    ("Categorical_frac", lambda D, T: D.Categorical(probs=T([0.5, 0.5])), [0.5]),
    ("OneHot", lambda D, T: D.OneHotCategorical(probs=T([0.5, 0.5])), [[1.0, 1.0]]),
    ("Uniform_out", lambda D, T: D.Uniform(T([0.0]), T([1.0])), [1.5]),
    ("Exponential_neg", lambda D, T: D.Exponential(T([1.0])), [-1.0]),
    ("Geometric_frac", lambda D, T: D.Geometric(probs=T([0.5])), [1.5]),
    ("Poisson_neg", lambda D, T: D.Poisson(T([1.0])), [-1.0]),
    ("Binomial_big", lambda D, T: D.Binomial(T([3.0]), probs=T([0.5])), [4.0]),
    ("Multinomial_neg", lambda D, T: D.Multinomial(2, probs=T([0.5, 0.5])), [[3.0, -1.0]]),
    ("shape_event", lambda D, T: D.OneHotCategorical(probs=T([0.5, 0.5])), [1.0, 0.0, 0.0]),
    ("shape_batch", lambda D, T: D.Normal(T([0.0, 1.0]), T([1.0, 1.0])), [1.0, 0.0, 0.0]),
    ("indep", lambda D, T: D.Independent(D.Exponential(T([1.0, 2.0])), 1), [1.0, -1.0]),
]


@pytest.mark.parametrize("case", _BAD_VALUES, ids=lambda c: c[0])
def test_values_outside_support_raise_like_torch(case) -> None:
    _, make, value = case
    T_t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    T_c = lambda v: cr.tensor(v, dtype=cr.float64)  # noqa: E731
    with pytest.raises(ValueError) as t_err:
        make(td, T_t).log_prob(T_t(value))
    with pytest.raises(ValueError) as c_err:
        make(crd, T_c).log_prob(T_c(value))
    head = str(t_err.value).split("(")[0]
    assert str(c_err.value).startswith(head)
    # not validated when validate_args=False: whatever torch then does, chainrule does too
    try:
        crd.Distribution.set_default_validate_args(False)
        td.Distribution.set_default_validate_args(False)
        d, t = make(crd, T_c), make(td, T_t)
        try:
            t_out = t.log_prob(T_t(value))
        except (RuntimeError, IndexError):
            with pytest.raises((RuntimeError, IndexError)):
                d.log_prob(T_c(value))
            return
        assert_close(d.log_prob(T_c(value)), t_out)
    finally:
        crd.Distribution.set_default_validate_args(True)
        td.Distribution.set_default_validate_args(True)


def test_log_prob_of_non_tensor_raises_like_torch() -> None:
    with pytest.raises(ValueError, match="must be a Tensor"):
        crd.Normal(cr.tensor(0.0), cr.tensor(1.0)).log_prob(0.5)


@settings(max_examples=25, deadline=None)
@given(
    batch=st.lists(st.integers(1, 3), max_size=3),
    sample=st.lists(st.integers(1, 3), max_size=2),
    k=st.integers(2, 4),
)
def test_sample_shapes_match_torch_for_any_batch(batch, sample, k) -> None:
    batch, sample = tuple(batch), tuple(sample)
    rng = np.random.default_rng(0)
    loc, prob = rng.standard_normal(batch), rng.uniform(0.1, 0.9, batch)
    probs = rng.uniform(0.1, 1.0, (*batch, k))
    makers = [
        lambda D, T: D.Normal(T(loc), T(np.abs(loc) + 1)),
        lambda D, T: D.Bernoulli(probs=T(prob)),
        lambda D, T: D.Categorical(probs=T(probs)),
        lambda D, T: D.OneHotCategorical(probs=T(probs)),
        lambda D, T: D.Multinomial(3, probs=T(probs)),
        lambda D, T: D.Exponential(T(prob)),
        lambda D, T: D.Geometric(probs=T(prob)),
        lambda D, T: D.Poisson(T(prob)),
        lambda D, T: D.Binomial(T(np.full(batch, 4.0)), probs=T(prob)),
        lambda D, T: D.Laplace(T(loc), T(prob)),
        lambda D, T: D.Uniform(T(loc), T(loc + 1)),
    ]
    if batch:
        makers.append(lambda D, T: D.Independent(D.Normal(T(loc), T(prob)), len(batch)))
    for make in makers:
        c = make(crd, lambda v: cr.tensor(v, dtype=cr.float64))
        t = make(td, lambda v: torch.tensor(v, dtype=torch.float64))
        assert tuple(c.batch_shape) == tuple(t.batch_shape)
        assert tuple(c.event_shape) == tuple(t.event_shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = c.sample(sample)
        assert tuple(s.shape) == tuple(t.sample(sample).shape)
        assert tuple(c.log_prob(s).shape) == tuple(t.log_prob(torch.tensor(s.numpy())).shape)
        if t.has_rsample:
            assert tuple(c.rsample(sample).shape) == tuple(t.rsample(sample).shape)
