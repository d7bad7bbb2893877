"""KL divergences registered by ``kl_more`` (every pair torch.distributions.kl registers
with a part-B family on one side) against PyTorch in float64: values, +inf entries and
gradients wrt every parameter of p and q; plus dispatch details (event-shape errors,
TransformedDistribution pairs, a Monte-Carlo check of one closed form)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.distributions as td

import chainrule as cr
import chainrule.distributions as crd
from chainrule.distributions import kl_more  # noqa: F401  (registers the pairs)
from chainrule.distributions.gamma import Gamma
from chainrule.distributions.log_normal import LogNormal
from chainrule.distributions.lowrank_multivariate_normal import LowRankMultivariateNormal
from chainrule.distributions.multivariate_normal import MultivariateNormal
from chainrule.distributions.transformed_distribution import TransformedDistribution
from chainrule.distributions.transforms import AffineTransform, ExpTransform

from ._helpers import assert_close, to_np

B = crd  # every family is exported by chainrule.distributions


def _tril(rng: np.random.Generator, n: int, batch: tuple[int, ...]) -> np.ndarray:
    a = np.tril(rng.standard_normal((*batch, n, n)) * 0.5)
    idx = np.arange(n)
    a[..., idx, idx] = rng.uniform(0.5, 1.5, (*batch, n))
    return a


# family -> (constructor over a distributions namespace, parameter generator)
FAMILIES: dict[str, tuple[Any, Any]] = {
    "Beta": (
        lambda D, p: D.Beta(p["a"], p["b"]),
        lambda r: {"a": r.uniform(0.5, 3, 4), "b": r.uniform(0.5, 3, 4)},
    ),
    "ContinuousBernoulli": (
        lambda D, p: D.ContinuousBernoulli(probs=p["p"]),
        lambda r: {"p": np.array([0.1, 0.3, 0.5, 0.8])},
    ),
    "Dirichlet": (lambda D, p: D.Dirichlet(p["c"]), lambda r: {"c": r.uniform(0.5, 3, (4, 3))}),
    "Gamma": (
        lambda D, p: D.Gamma(p["c"], p["r"]),
        lambda r: {"c": r.uniform(0.5, 3, 4), "r": r.uniform(0.5, 2, 4)},
    ),
    "Gumbel": (
        lambda D, p: D.Gumbel(p["loc"], p["s"]),
        lambda r: {"loc": r.standard_normal(4), "s": r.uniform(0.5, 2, 4)},
    ),
    "HalfNormal": (lambda D, p: D.HalfNormal(p["s"]), lambda r: {"s": r.uniform(0.5, 2, 4)}),
    "Pareto": (
        lambda D, p: D.Pareto(p["s"], p["a"]),
        lambda r: {"s": r.uniform(0.2, 1.5, 4), "a": r.uniform(1.0, 4, 4)},
    ),
    "MultivariateNormal": (
        lambda D, p: D.MultivariateNormal(p["loc"], scale_tril=p["L"]),
        lambda r: {"loc": r.standard_normal((2, 3)), "L": _tril(r, 3, (2,))},
    ),
    "LowRankMultivariateNormal": (
        lambda D, p: D.LowRankMultivariateNormal(p["loc"], p["W"], p["d"]),
        lambda r: {
            "loc": r.standard_normal((2, 3)),
            "W": r.standard_normal((2, 3, 2)),
            "d": r.uniform(0.5, 2, (2, 3)),
        },
    ),
    "Exponential": (lambda D, p: D.Exponential(p["r"]), lambda r: {"r": r.uniform(0.5, 2, 4)}),
    "Normal": (
        lambda D, p: D.Normal(p["loc"], p["s"]),
        lambda r: {"loc": r.standard_normal(4), "s": r.uniform(0.5, 2, 4)},
    ),
    "Laplace": (
        lambda D, p: D.Laplace(p["loc"], p["s"]),
        lambda r: {"loc": r.standard_normal(4), "s": r.uniform(0.5, 2, 4)},
    ),
    "Uniform": (
        lambda D, p: D.Uniform(p["lo"], p["hi"]),
        lambda r: {"lo": np.array([0.0, 0.1, 1.2, -0.5]), "hi": np.array([1.0, 0.7, 3.0, 0.5])},
    ),
}

PART_B = {
    "Beta",
    "ContinuousBernoulli",
    "Dirichlet",
    "Gamma",
    "Gumbel",
    "HalfNormal",
    "Pareto",
    "MultivariateNormal",
    "LowRankMultivariateNormal",
}

# every pair torch registers with a part-B family on one side
PAIRS = sorted(
    (p.__name__, q.__name__)
    for p, q in td.kl._KL_REGISTRY
    if p.__name__ in FAMILIES
    and q.__name__ in FAMILIES
    and (p.__name__ in PART_B or q.__name__ in PART_B)
)


def _leaves(params: dict[str, np.ndarray], lib: Any) -> dict[str, Any]:
    return {k: lib.tensor(v, requires_grad=True) for k, v in params.items()}


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p[0]}-{p[1]}")
def test_kl_matches_torch(pair: tuple[str, str]) -> None:
    (mp, gp), (mq, gq) = FAMILIES[pair[0]], FAMILIES[pair[1]]
    pp, qp = gp(np.random.default_rng(1)), gq(np.random.default_rng(2))
    cp, cq = _leaves(pp, cr), _leaves(qp, cr)
    tp, tq = _leaves(pp, torch), _leaves(qp, torch)
    c = crd.kl_divergence(mp(B, cp), mq(B, cq))
    t = td.kl_divergence(mp(td, tp), mq(td, tq))
    assert c.dtype == cr.float64
    # PyTorch's trigamma is accurate to ~1e-10 only (it enters through digamma gradients)
    assert_close(c, t, rtol=1e-9)
    finite = np.isfinite(to_np(t))
    w = np.where(finite, np.random.default_rng(3).standard_normal(t.shape), 0.0)
    t_leaves = [*tp.values(), *tq.values()]
    c_leaves = [*cp.values(), *cq.values()]
    if not t.requires_grad:  # an all-infinite result: no graph in torch
        return
    tg = torch.autograd.grad(
        (torch.where(torch.tensor(finite), t, 0.0) * torch.tensor(w)).sum(),
        t_leaves,
        allow_unused=True,
    )
    cg = cr.autograd.grad(
        (cr.where(cr.tensor(finite), c, 0.0) * cr.tensor(w)).sum(), c_leaves, allow_unused=True
    )
    for a, b in zip(cg, tg):
        if b is None:
            assert a is None or not np.any(to_np(a))
            continue
        assert a is not None
        assert_close(a, b, rtol=1e-6, atol=1e-9)


def test_all_torch_pairs_with_part_b_families_are_registered() -> None:
    from chainrule.distributions.kl import _KL_REGISTRY

    names = {(p.__name__, q.__name__) for p, q in _KL_REGISTRY}
    assert set(PAIRS) <= names
    assert ("TransformedDistribution", "TransformedDistribution") in names
    assert len(PAIRS) > 40


def test_kl_transformed_pairs() -> None:
    loc, s = np.array([0.1, -0.4]), np.array([0.8, 1.3])
    loc2, s2 = np.array([0.5, 0.2]), np.array([1.1, 0.6])
    c = crd.kl_divergence(
        LogNormal(cr.tensor(loc), cr.tensor(s)), LogNormal(cr.tensor(loc2), cr.tensor(s2))
    )
    t = td.kl_divergence(
        td.LogNormal(torch.tensor(loc), torch.tensor(s)),
        td.LogNormal(torch.tensor(loc2), torch.tensor(s2)),
    )
    assert_close(c, t)
    # KL is invariant under the same bijection; different transforms are not implemented
    base = crd.Normal(cr.tensor(loc), cr.tensor(s))
    other = crd.Normal(cr.tensor(loc2), cr.tensor(s2))
    aff = AffineTransform(2.0, 3.0)
    assert_close(
        crd.kl_divergence(
            TransformedDistribution(base, [aff]), TransformedDistribution(other, [aff])
        ),
        crd.kl_divergence(base, other),
    )
    with pytest.raises(NotImplementedError):
        crd.kl_divergence(
            TransformedDistribution(base, [ExpTransform()]),
            TransformedDistribution(other, [AffineTransform(0.0, 2.0)]),
        )


def test_kl_mvn_event_shape_mismatch_raises() -> None:
    p = MultivariateNormal(cr.zeros(2), cr.eye(2))
    q = MultivariateNormal(cr.zeros(3), cr.eye(3))
    with pytest.raises(ValueError, match="different event shapes"):
        crd.kl_divergence(p, q)
    lr = LowRankMultivariateNormal(cr.zeros(3), cr.ones(3, 1), cr.ones(3))
    with pytest.raises(ValueError, match="different event shapes"):
        crd.kl_divergence(p, lr)


def test_kl_gamma_gamma_matches_monte_carlo() -> None:
    p = Gamma(cr.tensor([2.0, 0.7], dtype=cr.float64), cr.tensor([1.5, 0.9], dtype=cr.float64))
    q = Gamma(cr.tensor([1.2, 1.4], dtype=cr.float64), cr.tensor([0.8, 2.0], dtype=cr.float64))
    cr.manual_seed(3)
    x = p.sample((100000,))
    mc = to_np((p.log_prob(x) - q.log_prob(x)).mean(0))
    np.testing.assert_allclose(mc, to_np(crd.kl_divergence(p, q)), atol=0.02)
