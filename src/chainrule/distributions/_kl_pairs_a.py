"""Closed-form KL divergences ``KL(p || q)`` for the part-A families.

Each function below is registered with :func:`chainrule.distributions.kl.register_kl` when
this module is imported. Values follow the textbook formulas; where a pair of supports makes
the divergence infinite (q puts zero mass where p does not), the result is ``+inf``.
Entries that must be overridden (``0 * log 0`` conventions, support violations) are selected
with ``cr.where`` so the overridden entries carry a zero gradient.
"""

from __future__ import annotations

import math

import chainrule as cr
import chainrule.nn.functional as F

from .bernoulli import Bernoulli
from .binomial import Binomial
from .categorical import Categorical
from .cauchy import Cauchy
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .geometric import Geometric
from .independent import Independent
from .kl import _infinite_like, kl_divergence, register_kl
from .laplace import Laplace
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .poisson import Poisson
from .uniform import Uniform
from .utils import _sum_rightmost

__all__: list[str] = []

_POS_INF = math.inf


def _override(where: cr.Tensor, value: float, x: cr.Tensor) -> cr.Tensor:
    """Replace the entries of ``x`` selected by ``where`` with the constant ``value``."""
    return cr.where(where, cr.full_like(x, value), x)


def _bernoulli_term(
    weight: cr.Tensor, log_ratio: cr.Tensor, w_zero: cr.Tensor, q_zero: cr.Tensor
) -> cr.Tensor:
    """``weight * log_ratio`` with the conventions 0·log(0/x) = 0 and w·log(w/0) = +inf."""
    term = _override(q_zero, _POS_INF, weight * log_ratio)
    return _override(w_zero, 0.0, term)


# ---------------------------------------------------------------------------------------
# Both arguments from the same family
# ---------------------------------------------------------------------------------------


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> cr.Tensor:
    # log(p) = -softplus(-logit) and log(1 - p) = -softplus(logit): stable in logit space.
    log_ratio_one = F.softplus(-q.logits) - F.softplus(-p.logits)
    log_ratio_zero = F.softplus(q.logits) - F.softplus(p.logits)
    success = _bernoulli_term(p.probs, log_ratio_one, p.probs == 0, q.probs == 0)
    failure = _bernoulli_term(1 - p.probs, log_ratio_zero, p.probs == 1, q.probs == 1)
    return success + failure


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p: Binomial, q: Binomial) -> cr.Tensor:
    # With equal counts n: KL = n * KL(Bern(p) || Bern(q)). When p has more trials than q,
    # p reaches values q cannot: +inf. The reverse case has no closed form.
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError(
            "KL between Binomials where q.total_count > p.total_count is not implemented"
        )
    log_fail_p = (-p.probs).log1p()
    log_fail_q = (-q.probs).log1p()
    per_trial = p.probs * (p.logits - q.logits) + log_fail_p - log_fail_q
    return _override(p.total_count > q.total_count, _POS_INF, p.total_count * per_trial)


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> cr.Tensor:
    # Sum over categories of p_k (log p_k - log q_k), with 0 log 0 = 0 and p_k log(p_k/0) = inf.
    summand = p.probs * (p.logits - q.logits)
    summand = _override((q.probs == 0).expand_as(summand), _POS_INF, summand)
    summand = _override((p.probs == 0).expand_as(summand), 0.0, summand)
    return summand.sum(-1)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p: Exponential, q: Exponential) -> cr.Tensor:
    # r = rate_q / rate_p; KL = r - log r - 1.
    r = q.rate / p.rate
    return r - r.log() - 1


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p: ExponentialFamily, q: ExponentialFamily) -> cr.Tensor:
    """Generic KL within one exponential family as a Bregman divergence of the log normaliser A:

    ``KL = A(eta_q) - A(eta_p) - <eta_q - eta_p, grad A(eta_p)>``.

    The gradient of A is taken with autograd (graph kept, so the result stays differentiable).
    """
    if type(p) is not type(q):
        raise NotImplementedError(
            "The cross KL-divergence between different exponential families cannot "
            "be computed using Bregman divergences"
        )
    eta_p = [eta.detach().requires_grad_() for eta in p._natural_params]
    eta_q = q._natural_params
    with cr.enable_grad():
        a_p = p._log_normalizer(*eta_p)
        grad_a_p = cr.autograd.grad(a_p.sum(), eta_p, create_graph=True)
    event_dims = len(q.event_shape)
    kl = q._log_normalizer(*eta_q) - a_p
    for e_p, e_q, g in zip(eta_p, eta_q, grad_a_p):
        kl = kl - _sum_rightmost((e_q - e_p) * g, event_dims)
    return kl


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p: Geometric, q: Geometric) -> cr.Tensor:
    # E_p[log q(k)] = E[k] log(1 - q) + log q with E[k] = (1 - p)/p; logits = log q - log(1 - q).
    cross_entropy = -(cr.log1p(-q.probs) / p.probs + q.logits)
    return cross_entropy - p.entropy()


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p: Laplace, q: Laplace) -> cr.Tensor:
    # KL = log(b_q / b_p) + |mu_p - mu_q| / b_q + (b_p / b_q) exp(-|mu_p - mu_q| / b_p) - 1.
    ratio = p.scale / q.scale
    gap = (p.loc - q.loc).abs()
    return gap / q.scale - ratio.log() + ratio * cr.exp(-gap / p.scale) - 1


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> cr.Tensor:
    # KL = 1/2 (s^2 + z^2 - 1 - log s^2) with s = sigma_p / sigma_q, z = (mu_p - mu_q)/sigma_q.
    s2 = (p.scale / q.scale).pow(2)
    z2 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (s2 + z2 - 1 - s2.log())


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehotcategorical_onehotcategorical(
    p: OneHotCategorical, q: OneHotCategorical
) -> cr.Tensor:
    # Same law as the underlying categorical; only the sample encoding differs.
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p: Poisson, q: Poisson) -> cr.Tensor:
    # KL = l_p log(l_p / l_q) - l_p + l_q.
    lam_p, lam_q = p.rate, q.rate
    return lam_p * (lam_p.log() - lam_q.log()) + lam_q - lam_p


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> cr.Tensor:
    # log(width_q / width_p) when [a_p, b_p] lies inside [a_q, b_q], otherwise +inf.
    width_ratio = (q.high - q.low) / (p.high - p.low)
    outside = (p.low < q.low) | (p.high > q.high)
    return _override(outside, _POS_INF, width_ratio.log())


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p: Cauchy, q: Cauchy) -> cr.Tensor:
    # Closed form: log(((g_p + g_q)^2 + (x_p - x_q)^2) / (4 g_p g_q)).
    numerator = (p.scale + q.scale).pow(2) + (p.loc - q.loc).pow(2)
    return numerator.log() - (4 * p.scale * q.scale).log()


@register_kl(Independent, Independent)
def _kl_independent_independent(p: Independent, q: Independent) -> cr.Tensor:
    # The KL of a product is the sum of the KLs over the reinterpreted dimensions.
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    base_kl = kl_divergence(p.base_dist, q.base_dist)
    return _sum_rightmost(base_kl, p.reinterpreted_batch_ndims)


# ---------------------------------------------------------------------------------------
# Arguments from different families
# ---------------------------------------------------------------------------------------


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p: Bernoulli, q: Poisson) -> cr.Tensor:
    # On {0, 1}: log q(k) = k log l - l (log k! = 0), so the cross entropy is l - p log l.
    return q.rate - p.probs * q.rate.log() - p.entropy()


@register_kl(Exponential, Uniform)
def _kl_exponential_infinity(p: Exponential, q: object) -> cr.Tensor:
    """``+inf``: an Exponential has mass on all of (0, inf), which a bounded q does not cover.

    Part B registers this same function for the other bounded-support families."""
    return _infinite_like(p.rate)


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p: Exponential, q: Normal) -> cr.Tensor:
    # With X ~ Exp(l): E[X] = 1/l, E[X^2] = 2/l^2, entropy 1 - log l. The cross entropy against
    # N(m, s^2) is 1/2 log(2 pi s^2) + (2/l^2 - 2m/l + m^2) / (2 s^2).
    var = q.scale.pow(2)
    lam2 = p.rate.pow(2)
    quad = lam2.reciprocal() - q.loc / p.rate + 0.5 * q.loc.pow(2)
    return 0.5 * cr.log(lam2 * var * 2 * math.pi) + quad / var - 1


@register_kl(Laplace, Exponential)
@register_kl(Laplace, Uniform)
def _kl_laplace_infinity(p: Laplace, q: object) -> cr.Tensor:
    """``+inf``: a Laplace has mass on the whole real line."""
    return _infinite_like(p.loc)


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p: Laplace, q: Normal) -> cr.Tensor:
    # E[X^2] = mu^2 + 2 b^2 for X ~ Laplace(mu, b); the Laplace entropy is 1 + log(2b).
    var = q.scale.pow(2)
    r = p.scale.pow(2) / var
    quad = 0.5 * p.loc.pow(2) - p.loc * q.loc + 0.5 * q.loc.pow(2)
    log_term = 0.5 * cr.log(2 * r / math.pi)
    return r + quad / var - log_term - 1


@register_kl(Normal, Exponential)
@register_kl(Normal, Uniform)
def _kl_normal_infinity(p: Normal, q: object) -> cr.Tensor:
    """``+inf``: a Normal has mass on the whole real line."""
    return _infinite_like(p.loc)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p: Normal, q: Laplace) -> cr.Tensor:
    # E|X - m| for X ~ N(mu, s^2) is s sqrt(2/pi) exp(-d^2 / (2 s^2)) + d erf(d / (s sqrt 2)),
    # d = mu - m. Cross entropy: log(2b) + E|X - m| / b; Normal entropy: 1/2 log(2 pi e s^2).
    d = p.loc - q.loc
    z = d / p.scale
    mean_abs = math.sqrt(2 / math.pi) * p.scale * cr.exp(-0.5 * z.pow(2))
    mean_abs = mean_abs + d * cr.erf(math.sqrt(0.5) * z)
    const = 0.5 * (1 + math.log(0.5 * math.pi))
    return mean_abs / q.scale - cr.log(p.scale / q.scale) - const


@register_kl(Poisson, Bernoulli)
@register_kl(Poisson, Binomial)
def _kl_poisson_infinity(p: Poisson, q: object) -> cr.Tensor:
    """``+inf``: a Poisson puts mass on every count, a bounded-count q does not."""
    return _infinite_like(p.rate)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponetial(p: Uniform, q: Exponential) -> cr.Tensor:
    # -H(p) = -log(w), cross entropy = l E[X] - log l with E[X] = (a + b)/2; inf if a < 0.
    width = p.high - p.low
    kl = 0.5 * q.rate * (p.high + p.low) - (width * q.rate).log()
    return _override(p.low < q.support.lower_bound, _POS_INF, kl)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p: Uniform, q: Normal) -> cr.Tensor:
    # E[(X - m)^2] = w^2/12 + (midpoint - m)^2 for X ~ U(a, b) with width w.
    width = p.high - p.low
    offset = 0.5 * (p.high + p.low) - q.loc
    second_moment = width.pow(2) / 12 + offset.pow(2)
    return (math.sqrt(2 * math.pi) * q.scale / width).log() + 0.5 * second_moment / q.scale.pow(2)
