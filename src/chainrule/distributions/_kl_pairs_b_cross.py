"""Cross-family KL divergences with a part-B family (Beta, ContinuousBernoulli, Gamma, Gumbel,
Pareto) on at least one side, for every such pair ``torch.distributions.kl`` registers.
Imported (and so registered) by ``kl_more``.

Every closed form here is written as

    KL(p || q) = -H(p) + H(p, q),     H(p, q) = -E_p[log q(X)],

where the cross-entropy ``H(p, q)`` depends on ``p`` only through a few expectations (the mean,
second moment, ``E[log X]``, a Laplace transform, ...). The ``_xent_*`` helpers below hold each
target family's log-density once, and each pair supplies the expectations of its ``p``. Where
``p`` puts mass outside the support of ``q`` the divergence is ``+inf``: always, for the pairs
registered through :func:`_register_infinite`, and elementwise (through a mask) for pairs whose
supports nest for some parameter values only. Pairs without a closed form (e.g. Beta-Laplace,
ContinuousBernoulli-Gamma) are not registered, as in PyTorch.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr

from .beta import Beta
from .continuous_bernoulli import ContinuousBernoulli
from .exponential import Exponential
from .gamma import Gamma
from .gumbel import Gumbel
from .kl import _infinite_like, _x_log_x, register_kl
from .laplace import Laplace
from .normal import Normal
from .pareto import Pareto
from .uniform import Uniform
from .utils import euler_constant

__all__: list[str] = []

Tensor = cr.Tensor
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _inf_where(mask: Tensor, kl: Tensor) -> Tensor:
    """``kl`` with ``+inf`` wherever ``mask`` holds (there ``p`` leaves ``q``'s support)."""
    return cr.where(mask, cr.full_like(kl, math.inf), kl)


# ------------------------------------------------------------------ cross-entropies H(p, q)
def _xent_exponential(q: Any, mean: Tensor) -> Tensor:
    """``-E[log q(X)]`` for ``q = Exponential(r)``: ``r E[X] - log r``."""
    return q.rate * mean - q.rate.log()


def _xent_gamma(q: Any, mean: Tensor, mean_log: Tensor) -> Tensor:
    """``-E[log q(X)]`` for ``q = Gamma(a, b)``:
    ``log Gamma(a) - a log b - (a - 1) E[log X] + b E[X]``."""
    a, b = q.concentration, q.rate
    return a.lgamma() - a * b.log() - (a - 1) * mean_log + b * mean


def _xent_normal(q: Any, mean: Tensor, var: Tensor) -> Tensor:
    """``-E[log q(X)]`` for ``q = Normal(mu, s)``:
    ``log(s sqrt(2 pi)) + (Var X + (E[X] - mu)^2) / (2 s^2)``."""
    spread = var + (mean - q.loc).square()
    return _HALF_LOG_2PI + q.scale.log() + spread / (2 * q.scale.square())


def _xent_gumbel(q: Any, mean: Tensor, tail: Tensor) -> Tensor:
    """``-E[log q(X)]`` for ``q = Gumbel(mu, b)``, whose log-density is
    ``-log b - (x - mu) / b - exp(-(x - mu) / b)``; ``tail`` is ``E[exp(-(X - mu) / b)]``
    (a Laplace transform of ``p``, supplied by the caller)."""
    return q.scale.log() + (mean - q.loc) / q.scale + tail


def _xent_cont_bernoulli(q: Any, mean: Tensor) -> Tensor:
    """``-E[log q(X)]`` for a continuous Bernoulli with parameter ``lam``:
    ``log q(x) = x logit(lam) + log(1 - lam) + log C(lam)`` is linear in ``x``."""
    return -(mean * q.logits + cr.log1p(-q.probs) + q._cont_bern_log_norm())


def _xent_beta(q: Any, mean_log: Tensor, mean_log1m: Tensor) -> Tensor:
    """``-E[log q(X)]`` for ``q = Beta(a1, a0)``:
    ``log B(a1, a0) - (a1 - 1) E[log X] - (a0 - 1) E[log(1 - X)]``."""
    a1, a0 = q.concentration1, q.concentration0
    log_beta_fn = a1.lgamma() + a0.lgamma() - (a1 + a0).lgamma()
    return log_beta_fn - (a1 - 1) * mean_log - (a0 - 1) * mean_log1m


def _xent_pareto(q: Any, mean_log: Tensor) -> Tensor:
    """``-E[log q(X)]`` for ``q = Pareto(s, alpha)`` on ``x >= s``:
    ``(alpha + 1) E[log X] - log alpha - alpha log s``."""
    return (q.alpha + 1) * mean_log - q.alpha.log() - q.alpha * q.scale.log()


# ------------------------------------------------------------------ moments of p
def _uniform_mean_log(low: Tensor, high: Tensor) -> Tensor:
    """``E[log X]`` for ``X ~ Uniform(low, high)``, ``low >= 0``: the antiderivative of
    ``log x`` is ``x log x - x``."""
    width = high - low
    return (_x_log_x(high) - _x_log_x(low) - width) / width


def _beta_moments(p: Any) -> tuple[Tensor, Tensor, Tensor]:
    """``(E[X], Var X, a1 + a0)`` of ``p = Beta(a1, a0)``."""
    total = p.concentration1 + p.concentration0
    mean = p.concentration1 / total
    return mean, mean * (1 - mean) / (total + 1), total


def _pareto_mean(p: Any) -> Tensor:
    """``E[X] = alpha s / (alpha - 1)`` (finite for ``alpha > 1`` only; masked elsewhere)."""
    return p.alpha * p.scale / (p.alpha - 1)


# ------------------------------------------------------------------ always infinite
def _register_infinite(p_type: type, attr: str, *q_types: type) -> None:
    """Register one ``+inf`` KL (shaped like ``p.<attr>``) for ``p_type`` against every type
    in ``q_types``: ``p``'s support is never inside theirs."""

    def kl(p: Any, q: Any) -> Tensor:
        return _infinite_like(getattr(p, attr))

    kl.__name__ = f"_kl_{p_type.__name__.lower()}_infinity"
    kl.__doc__ = f"KL({p_type.__name__} || q) = +inf: the supports do not nest."
    for q_type in q_types:
        register_kl(p_type, q_type)(kl)


_register_infinite(Beta, "concentration1", Pareto)
_register_infinite(ContinuousBernoulli, "probs", Pareto)
_register_infinite(Exponential, "rate", Beta, ContinuousBernoulli, Pareto)
_register_infinite(Gamma, "concentration", Beta, ContinuousBernoulli, Pareto, Uniform)
_register_infinite(Gumbel, "loc", Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform)
_register_infinite(Laplace, "loc", Beta, ContinuousBernoulli, Gamma, Pareto)
_register_infinite(Normal, "loc", Beta, ContinuousBernoulli, Gamma, Pareto)
_register_infinite(Pareto, "scale", Beta, ContinuousBernoulli, Uniform)


# ------------------------------------------------------------------ p = Beta
@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_continuous_bernoulli(p: Any, q: Any) -> Tensor:
    return -p.entropy() + _xent_cont_bernoulli(q, p.mean)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p: Any, q: Any) -> Tensor:
    mean, _, _ = _beta_moments(p)
    return -p.entropy() + _xent_exponential(q, mean)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p: Any, q: Any) -> Tensor:
    mean, _, total = _beta_moments(p)
    mean_log = p.concentration1.digamma() - total.digamma()
    return -p.entropy() + _xent_gamma(q, mean, mean_log)


@register_kl(Beta, Normal)
def _kl_beta_normal(p: Any, q: Any) -> Tensor:
    mean, var, _ = _beta_moments(p)
    return -p.entropy() + _xent_normal(q, mean, var)


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p: Any, q: Any) -> Tensor:
    kl = -p.entropy() + (q.high - q.low).log()
    outside = (q.low > p.support.lower_bound) | (q.high < p.support.upper_bound)
    return _inf_where(outside, kl)


# ------------------------------------------------------------------ p = ContinuousBernoulli
@register_kl(ContinuousBernoulli, Exponential)
def _kl_continuous_bernoulli_exponential(p: Any, q: Any) -> Tensor:
    return -p.entropy() + _xent_exponential(q, p.mean)


@register_kl(ContinuousBernoulli, Normal)
def _kl_continuous_bernoulli_normal(p: Any, q: Any) -> Tensor:
    return -p.entropy() + _xent_normal(q, p.mean, p.variance)


@register_kl(ContinuousBernoulli, Uniform)
def _kl_continuous_bernoulli_uniform(p: Any, q: Any) -> Tensor:
    kl = -p.entropy() + (q.high - q.low).log()
    # PyTorch's (inclusive) test: +inf unless low < 0 and high > 1
    flagged = (q.low >= p.support.lower_bound) | (q.high <= p.support.upper_bound)
    return _inf_where(flagged, kl)


# ------------------------------------------------------------------ p = Exponential
@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p: Any, q: Any) -> Tensor:
    # E[log X] = -gamma_E - log(rate) for an exponential variable
    mean_log = -euler_constant - p.rate.log()
    return -p.entropy() + _xent_gamma(q, p.rate.reciprocal(), mean_log)


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p: Any, q: Any) -> Tensor:
    # E[exp(-X / b)] = r b / (r b + 1) for X ~ Exponential(r)
    rb = p.rate * q.scale
    tail = (q.loc / q.scale).exp() * rb / (rb + 1)
    return -p.entropy() + _xent_gumbel(q, p.rate.reciprocal(), tail)


# ------------------------------------------------------------------ p = Gamma
@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p: Any, q: Any) -> Tensor:
    return -p.entropy() + _xent_exponential(q, p.concentration / p.rate)


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p: Any, q: Any) -> Tensor:
    # E[exp(-X / b)] = (1 + 1 / (r b))^(-a) for X ~ Gamma(a, r)
    laplace = (1 + (p.rate * q.scale).reciprocal()).pow(-p.concentration)
    tail = (q.loc / q.scale).exp() * laplace
    return -p.entropy() + _xent_gumbel(q, p.concentration / p.rate, tail)


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p: Any, q: Any) -> Tensor:
    a, r = p.concentration, p.rate
    return -p.entropy() + _xent_normal(q, a / r, a / r.square())


# ------------------------------------------------------------------ p = Gumbel
@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p: Any, q: Any) -> Tensor:
    mean = p.loc + euler_constant * p.scale
    var = (math.pi**2 / 6) * p.scale.square()
    return -p.entropy() + _xent_normal(q, mean, var)


# ------------------------------------------------------------------ p = Normal
@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p: Any, q: Any) -> Tensor:
    # E[exp(-(X - mu) / b)] = exp((mu - m) / b + s^2 / (2 b^2)) for X ~ Normal(m, s)
    tail = ((q.loc - p.loc) / q.scale + 0.5 * (p.scale / q.scale).square()).exp()
    return -p.entropy() + _xent_gumbel(q, p.loc, tail)


# ------------------------------------------------------------------ p = Pareto
@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p: Any, q: Any) -> Tensor:
    kl = -p.entropy() + _xent_exponential(q, _pareto_mean(p))
    return _inf_where(p.alpha <= 1, kl)  # p has no mean


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p: Any, q: Any) -> Tensor:
    # log(X / s) is Exponential(alpha), so E[log X] = log s + 1 / alpha
    mean_log = p.scale.log() + p.alpha.reciprocal()
    kl = -p.entropy() + _xent_gamma(q, _pareto_mean(p), mean_log)
    return _inf_where(p.alpha <= 1, kl)  # p has no mean


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p: Any, q: Any) -> Tensor:
    a = p.alpha
    var = a * (p.scale / (a - 1)).square() / (a - 2)
    kl = -p.entropy() + _xent_normal(q, _pareto_mean(p), var)
    return _inf_where(a <= 2, kl)  # p has no variance


# ------------------------------------------------------------------ p = Uniform
def _neg_entropy_uniform(p: Any) -> Tensor:
    return -(p.high - p.low).log()


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p: Any, q: Any) -> Tensor:
    # 1 - X is uniform on (1 - high, 1 - low)
    mean_log = _uniform_mean_log(p.low, p.high)
    mean_log1m = _uniform_mean_log(1 - p.high, 1 - p.low)
    kl = _neg_entropy_uniform(p) + _xent_beta(q, mean_log, mean_log1m)
    outside = (p.high > q.support.upper_bound) | (p.low < q.support.lower_bound)
    return _inf_where(outside, kl)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_continuous_bernoulli(p: Any, q: Any) -> Tensor:
    kl = -p.entropy() + _xent_cont_bernoulli(q, p.mean)
    # PyTorch's (inclusive) test: +inf unless 0 < low and high < 1
    flagged = (p.high >= q.support.upper_bound) | (p.low <= q.support.lower_bound)
    return _inf_where(flagged, kl)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p: Any, q: Any) -> Tensor:
    mean = 0.5 * (p.low + p.high)
    kl = _neg_entropy_uniform(p) + _xent_gamma(q, mean, _uniform_mean_log(p.low, p.high))
    return _inf_where(p.low < q.support.lower_bound, kl)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p: Any, q: Any) -> Tensor:
    # E[exp(-(X - mu) / b)] = b (exp(-(low - mu) / b) - exp(-(high - mu) / b)) / width
    b = q.scale
    edge_lo, edge_hi = (p.low - q.loc) / b, (p.high - q.loc) / b
    tail = b * ((-edge_lo).exp() - (-edge_hi).exp()) / (p.high - p.low)
    return _neg_entropy_uniform(p) + _xent_gumbel(q, 0.5 * (p.low + p.high), tail)


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p: Any, q: Any) -> Tensor:
    kl = _neg_entropy_uniform(p) + _xent_pareto(q, _uniform_mean_log(p.low, p.high))
    return _inf_where(p.low < q.support.lower_bound, kl)
