"""KL divergences of the part-A families against PyTorch (values and gradients wrt both
distributions' parameters, in float64), and ``register_kl``/``kl_divergence`` dispatch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.distributions as td

import chainrule as cr
import chainrule.distributions as crd
from chainrule.distributions import _kl_pairs_a

from ._helpers import assert_close, to_np

pytestmark = pytest.mark.filterwarnings(
    "ignore:(divide by zero|invalid value|overflow) encountered:RuntimeWarning"
)

rng = np.random.default_rng(5)
R = rng.standard_normal


def _pos(*shape: int) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def _probs(*shape: int) -> np.ndarray:
    return rng.uniform(0.1, 1.0, shape)


# name -> (make p, p params, make q, q params)
PAIRS: dict[str, tuple[Any, dict, Any, dict]] = {
    "normal_normal": (
        lambda D, a: D.Normal(a["loc"], a["scale"]),
        {"loc": R(3), "scale": _pos(3)},
        lambda D, a: D.Normal(a["loc"], a["scale"]),
        {"loc": R(3), "scale": _pos(3)},
    ),
    "bernoulli_bernoulli": (
        lambda D, a: D.Bernoulli(probs=a["p"]),
        {"p": np.array([0.0, 0.3, 1.0, 0.6])},
        lambda D, a: D.Bernoulli(probs=a["p"]),
        {"p": np.array([0.5, 0.0, 0.4, 1.0])},
    ),
    "bernoulli_logits": (
        lambda D, a: D.Bernoulli(logits=a["l"]),
        {"l": R(3)},
        lambda D, a: D.Bernoulli(logits=a["l"]),
        {"l": R(3)},
    ),
    "categorical_categorical": (
        lambda D, a: D.Categorical(probs=a["p"]),
        {"p": _probs(2, 4)},
        lambda D, a: D.Categorical(logits=a["l"]),
        {"l": R((2, 4))},
    ),
    "categorical_zero_probs": (
        lambda D, a: D.Categorical(probs=a["p"]),
        {"p": np.array([[0.0, 0.5, 0.5], [0.2, 0.8, 0.0]])},
        lambda D, a: D.Categorical(probs=a["p"]),
        {"p": np.array([[0.3, 0.3, 0.4], [0.5, 0.0, 0.5]])},
    ),
    "onehot_onehot": (
        lambda D, a: D.OneHotCategorical(probs=a["p"]),
        {"p": _probs(3)},
        lambda D, a: D.OneHotCategorical(probs=a["p"]),
        {"p": _probs(3)},
    ),
    "uniform_uniform": (
        lambda D, a: D.Uniform(a["lo"], a["hi"]),
        {"lo": np.array([0.0, -1.0, 0.5]), "hi": np.array([1.0, 1.0, 2.0])},
        lambda D, a: D.Uniform(a["lo"], a["hi"]),
        {"lo": np.array([-1.0, -0.5, 0.0]), "hi": np.array([2.0, 2.0, 1.0])},
    ),
    "exponential_exponential": (
        lambda D, a: D.Exponential(a["r"]),
        {"r": _pos(3)},
        lambda D, a: D.Exponential(a["r"]),
        {"r": _pos(3)},
    ),
    "laplace_laplace": (
        lambda D, a: D.Laplace(a["loc"], a["s"]),
        {"loc": R(3), "s": _pos(3)},
        lambda D, a: D.Laplace(a["loc"], a["s"]),
        {"loc": R(3), "s": _pos(3)},
    ),
    "cauchy_cauchy": (
        lambda D, a: D.Cauchy(a["loc"], a["s"]),
        {"loc": R(3), "s": _pos(3)},
        lambda D, a: D.Cauchy(a["loc"], a["s"]),
        {"loc": R(3), "s": _pos(3)},
    ),
    "poisson_poisson": (
        lambda D, a: D.Poisson(a["r"]),
        {"r": _pos(3)},
        lambda D, a: D.Poisson(a["r"]),
        {"r": _pos(3)},
    ),
    "geometric_geometric": (
        lambda D, a: D.Geometric(probs=a["p"]),
        {"p": np.array([0.2, 0.5, 0.9])},
        lambda D, a: D.Geometric(probs=a["p"]),
        {"p": np.array([0.4, 0.3, 0.6])},
    ),
    "binomial_binomial": (
        lambda D, a: D.Binomial(a["n"], probs=a["p"]),
        {"n": np.array([5.0, 6.0]), "p": np.array([0.3, 0.6])},
        lambda D, a: D.Binomial(a["n"], probs=a["p"]),
        {"n": np.array([5.0, 4.0]), "p": np.array([0.5, 0.2])},
    ),
    "independent_independent": (
        lambda D, a: D.Independent(D.Normal(a["loc"], a["s"]), 1),
        {"loc": R((2, 3)), "s": _pos(2, 3)},
        lambda D, a: D.Independent(D.Normal(a["loc"], a["s"]), 1),
        {"loc": R((2, 3)), "s": _pos(2, 3)},
    ),
    "bernoulli_poisson": (
        lambda D, a: D.Bernoulli(probs=a["p"]),
        {"p": np.array([0.2, 0.7])},
        lambda D, a: D.Poisson(a["r"]),
        {"r": _pos(2)},
    ),
    "exponential_normal": (
        lambda D, a: D.Exponential(a["r"]),
        {"r": _pos(3)},
        lambda D, a: D.Normal(a["loc"], a["s"]),
        {"loc": R(3), "s": _pos(3)},
    ),
    "exponential_uniform": (
        lambda D, a: D.Exponential(a["r"]),
        {"r": _pos(3)},
        lambda D, a: D.Uniform(a["lo"], a["hi"]),
        {"lo": np.zeros(3), "hi": np.ones(3)},
    ),
    "laplace_normal": (
        lambda D, a: D.Laplace(a["loc"], a["s"]),
        {"loc": R(3), "s": _pos(3)},
        lambda D, a: D.Normal(a["loc"], a["s"]),
        {"loc": R(3), "s": _pos(3)},
    ),
    "laplace_exponential": (
        lambda D, a: D.Laplace(a["loc"], a["s"]),
        {"loc": R(2), "s": _pos(2)},
        lambda D, a: D.Exponential(a["r"]),
        {"r": _pos(2)},
    ),
    "laplace_uniform": (
        lambda D, a: D.Laplace(a["loc"], a["s"]),
        {"loc": R(2), "s": _pos(2)},
        lambda D, a: D.Uniform(a["lo"], a["hi"]),
        {"lo": np.zeros(2), "hi": np.ones(2)},
    ),
    "normal_laplace": (
        lambda D, a: D.Normal(a["loc"], a["s"]),
        {"loc": R(3), "s": _pos(3)},
        lambda D, a: D.Laplace(a["loc"], a["s"]),
        {"loc": R(3), "s": _pos(3)},
    ),
    "normal_exponential": (
        lambda D, a: D.Normal(a["loc"], a["s"]),
        {"loc": R(2), "s": _pos(2)},
        lambda D, a: D.Exponential(a["r"]),
        {"r": _pos(2)},
    ),
    "normal_uniform": (
        lambda D, a: D.Normal(a["loc"], a["s"]),
        {"loc": R(2), "s": _pos(2)},
        lambda D, a: D.Uniform(a["lo"], a["hi"]),
        {"lo": np.zeros(2), "hi": np.ones(2)},
    ),
    "poisson_bernoulli": (
        lambda D, a: D.Poisson(a["r"]),
        {"r": _pos(2)},
        lambda D, a: D.Bernoulli(probs=a["p"]),
        {"p": np.array([0.2, 0.7])},
    ),
    "poisson_binomial": (
        lambda D, a: D.Poisson(a["r"]),
        {"r": _pos(2)},
        lambda D, a: D.Binomial(a["n"], probs=a["p"]),
        {"n": np.array([3.0, 3.0]), "p": np.array([0.2, 0.7])},
    ),
    "uniform_exponential": (
        lambda D, a: D.Uniform(a["lo"], a["hi"]),
        {"lo": np.array([0.5, -1.0]), "hi": np.array([1.0, 2.0])},
        lambda D, a: D.Exponential(a["r"]),
        {"r": _pos(2)},
    ),
    "uniform_normal": (
        lambda D, a: D.Uniform(a["lo"], a["hi"]),
        {"lo": np.array([0.0, -1.0]), "hi": np.array([1.0, 2.0])},
        lambda D, a: D.Normal(a["loc"], a["s"]),
        {"loc": R(2), "s": _pos(2)},
    ),
}


def _leaves(lib: Any, params: dict) -> dict:
    return {k: lib.tensor(v, requires_grad=True) for k, v in params.items()}


def _both(name: str) -> tuple[Any, Any, list, list]:
    mp, pp, mq, qp = PAIRS[name]
    c_p, c_q = _leaves(cr, pp), _leaves(cr, qp)
    t_p, t_q = _leaves(torch, pp), _leaves(torch, qp)
    c = (mp(crd, c_p), mq(crd, c_q))
    t = (mp(td, t_p), mq(td, t_q))
    return c, t, [*c_p.values(), *c_q.values()], [*t_p.values(), *t_q.values()]


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_kl_matches_torch(name: str) -> None:
    (cp, cq), (tp, tq), c_leaves, t_leaves = _both(name)
    t_kl = td.kl_divergence(tp, tq)
    c_kl = crd.kl_divergence(cp, cq)
    assert c_kl.dtype == cr.float64
    assert_close(c_kl, t_kl, rtol=1e-9, atol=1e-11)
    finite = np.isfinite(to_np(t_kl))
    if not t_kl.requires_grad or not finite.any():
        return
    w = np.where(finite, np.random.default_rng(0).standard_normal(finite.shape), 0.0)
    t_g = torch.autograd.grad(
        torch.where(torch.tensor(finite), t_kl, 0.0).mul(torch.tensor(w)).sum(),
        t_leaves,
        allow_unused=True,
    )
    c_g = cr.autograd.grad(
        cr.where(cr.tensor(finite), c_kl, 0.0).mul(cr.tensor(w)).sum(),
        c_leaves,
        allow_unused=True,
    )
    for tg, cg in zip(t_g, c_g):
        if tg is None:
            assert cg is None or not np.any(to_np(cg))
        else:
            assert_close(cg, tg, rtol=1e-8, atol=1e-10)


def test_binomial_kl_with_larger_q_count_raises_like_torch() -> None:
    p = crd.Binomial(cr.tensor([2.0]), probs=cr.tensor([0.5]))
    q = crd.Binomial(cr.tensor([3.0]), probs=cr.tensor([0.5]))
    with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
        crd.kl_divergence(p, q)


def test_independent_kl_needs_same_reinterpreted_dims() -> None:
    base = crd.Normal(cr.zeros(2, 3), cr.ones(2, 3))
    with pytest.raises(NotImplementedError):
        crd.kl_divergence(crd.Independent(base, 1), crd.Independent(base, 2))


@pytest.mark.parametrize(
    "make",
    [
        lambda D, T: D.Normal(T([0.3, -1.0]), T([1.5, 0.7])),
        lambda D, T: D.Exponential(T([0.3, 2.0])),
        lambda D, T: D.Bernoulli(probs=T([0.3, 0.8])),
        lambda D, T: D.Poisson(T([0.3, 4.0])),
    ],
)
def test_generic_exponential_family_kl_and_entropy_match_torch(make) -> None:
    """The Bregman-divergence forms (not used by dispatch for these families, which have
    closed forms) agree with PyTorch's generic implementations, gradients included."""
    vals = [np.array([0.3, -1.0]), np.array([1.2, 0.4])]
    c_leaf = cr.tensor(vals[0], requires_grad=True)
    t_leaf = torch.tensor(vals[0], requires_grad=True)

    def build(D: Any, T: Any, leaf: Any) -> tuple[Any, Any]:
        return make(D, lambda v: T(v) + 0 * leaf.sum()), make(D, lambda v: T(v) * 1.1)

    cp, cq = build(crd, lambda v: cr.tensor(v, dtype=cr.float64), c_leaf)
    tp, tq = build(td, lambda v: torch.tensor(v, dtype=torch.float64), t_leaf)
    c_kl = _kl_pairs_a._kl_expfamily_expfamily(cp, cq)
    t_kl = td.kl._kl_expfamily_expfamily(tp, tq)
    assert_close(c_kl, t_kl)
    assert_close(c_kl, crd.kl_divergence(cp, cq), rtol=1e-7)
    try:
        t_ent = td.ExponentialFamily.entropy(tp)
    except NotImplementedError:  # Poisson: no _mean_carrier_measure
        with pytest.raises(NotImplementedError):
            crd.ExponentialFamily.entropy(cp)
        return
    assert_close(crd.ExponentialFamily.entropy(cp), t_ent)
    assert_close(crd.ExponentialFamily.entropy(cp), cp.entropy())


def test_expfamily_kl_of_different_families_raises() -> None:
    with pytest.raises(NotImplementedError, match="different exponential families"):
        _kl_pairs_a._kl_expfamily_expfamily(
            crd.Normal(cr.tensor(0.0), cr.tensor(1.0)), crd.Poisson(cr.tensor(1.0))
        )


def test_expfamily_kl_gradients_match_torch() -> None:
    loc, scale = np.array([0.2, -0.4]), np.array([0.8, 1.3])
    c_l, c_s = cr.tensor(loc, requires_grad=True), cr.tensor(scale, requires_grad=True)
    t_l, t_s = torch.tensor(loc, requires_grad=True), torch.tensor(scale, requires_grad=True)
    c_kl = _kl_pairs_a._kl_expfamily_expfamily(
        crd.Normal(cr.zeros(2, dtype=cr.float64), cr.ones(2, dtype=cr.float64)),
        crd.Normal(c_l, c_s),
    )
    t_kl = td.kl._kl_expfamily_expfamily(
        td.Normal(torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)),
        td.Normal(t_l, t_s),
    )
    c_kl.sum().backward()
    t_kl.sum().backward()
    assert_close(c_l.grad, t_l.grad)
    assert_close(c_s.grad, t_s.grad)


def test_unregistered_pair_raises_not_implemented() -> None:
    with pytest.raises(
        NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type"
    ):
        crd.kl_divergence(crd.Categorical(probs=cr.tensor([0.5, 0.5])), crd.Normal(0.0, 1.0))


def test_register_kl_most_specific_match_and_ambiguity() -> None:
    class P(crd.Normal):
        pass

    class Q(crd.Normal):
        pass

    p, q = P(cr.tensor(0.0), cr.tensor(1.0)), Q(cr.tensor(1.0), cr.tensor(1.0))
    assert float(crd.kl_divergence(p, q)) == pytest.approx(0.5)  # Normal-Normal applies

    @crd.register_kl(P, crd.Normal)
    def _kl_p_normal(a, b):
        return cr.tensor(1.0)

    @crd.register_kl(crd.Normal, Q)
    def _kl_normal_q(a, b):
        return cr.tensor(2.0)

    with pytest.warns(RuntimeWarning, match="Ambiguous kl_divergence"):
        assert float(crd.kl_divergence(p, q)) == 1.0  # left-lexicographic winner

    @crd.register_kl(P, Q)
    def _kl_p_q(a, b):
        return cr.tensor(3.0)

    assert float(crd.kl_divergence(p, q)) == 3.0  # the tie is broken; memo was reset
    assert float(crd.kl_divergence(p, crd.Normal(0.0, 1.0))) == 1.0
    from chainrule.distributions import kl as kl_mod

    for key in [(P, crd.Normal), (crd.Normal, Q), (P, Q)]:
        del kl_mod._KL_REGISTRY[key]
    kl_mod._KL_MEMOIZE.clear()
