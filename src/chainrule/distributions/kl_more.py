"""Closed-form KL divergences ``KL(p ‖ q)`` for the part-B families, the same pairs
``torch.distributions.kl`` registers: Beta, ContinuousBernoulli, Dirichlet, Gamma, Gumbel,
HalfNormal, Pareto and TransformedDistribution each with itself, and every pairing of
MultivariateNormal and LowRankMultivariateNormal. Importing this module registers them with
:func:`register_kl`; it also imports ``_kl_pairs_b_cross``, which registers the pairs across
families.

Each formula is written with chainrule ops only, so gradients (and higher derivatives) with
respect to every parameter of ``p`` and ``q`` come from autograd.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import _kl_pairs_b_cross  # noqa: F401  (registers the cross-family pairs)
from .beta import Beta
from .continuous_bernoulli import ContinuousBernoulli
from .dirichlet import Dirichlet
from .gamma import Gamma
from .gumbel import Gumbel
from .half_normal import HalfNormal
from .kl import kl_divergence, register_kl
from .lowrank_multivariate_normal import (
    LowRankMultivariateNormal,
    _lowrank_logdet,
    _woodbury_root,
)
from .multivariate_normal import MultivariateNormal, _tril_half_logdet
from .pareto import Pareto
from .transformed_distribution import TransformedDistribution
from .utils import euler_constant as _EULER_GAMMA

__all__: list[str] = []


# ---------------------------------------------------------------- Dirichlet and Beta


def _kl_dirichlet_from_concentrations(a: Tensor, b: Tensor) -> Tensor:
    """KL(Dir(a) ‖ Dir(b)) along the last dim:

    ``log Γ(Σa) - Σ log Γ(a) - log Γ(Σb) + Σ log Γ(b) + Σ (a - b)(ψ(a) - ψ(Σa))``,
    using ``E[log xᵢ] = ψ(aᵢ) - ψ(Σa)`` under ``Dir(a)``.
    """
    a_total = a.sum(-1)
    b_total = b.sum(-1)
    log_norm_gap = cr.lgamma(a_total) - cr.lgamma(b_total) - (cr.lgamma(a) - cr.lgamma(b)).sum(-1)
    expected_log = cr.digamma(a) - cr.digamma(a_total).unsqueeze(-1)
    return log_norm_gap + ((a - b) * expected_log).sum(-1)


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p: Any, q: Any) -> Tensor:
    return _kl_dirichlet_from_concentrations(p.concentration, q.concentration)


@register_kl(Beta, Beta)
def _kl_beta_beta(p: Any, q: Any) -> Tensor:
    # Beta(α, β) is the two-category Dirichlet over (x, 1 - x)
    def pair(d: Any) -> Tensor:
        alpha, beta = cr.broadcast_tensors(d.concentration1, d.concentration0)
        return cr.stack([alpha, beta], dim=-1)

    a, b = cr.broadcast_tensors(pair(p), pair(q))
    return _kl_dirichlet_from_concentrations(a, b)


# ------------------------------------------------------------------ scalar families


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_continuous_bernoulli_continuous_bernoulli(p: Any, q: Any) -> Tensor:
    # log density: log C(λ) + x·logit(λ) + log(1 - λ), so the KL is linear in E_p[x]
    def offset(d: Any) -> Tensor:
        return d._cont_bern_log_norm() + cr.log1p(-d.probs)

    return p.mean * (p.logits - q.logits) + offset(p) - offset(q)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p: Any, q: Any) -> Tensor:
    # shape α, rate β: (α_p - α_q) ψ(α_p) - log Γ(α_p) + log Γ(α_q)
    #                  + α_q log(β_p / β_q) + (α_p / β_p)(β_q - β_p)
    a_p, a_q = p.concentration, q.concentration
    shape_terms = (a_p - a_q) * cr.digamma(a_p) - cr.lgamma(a_p) + cr.lgamma(a_q)
    rate_terms = a_q * cr.log(p.rate / q.rate) + (a_p / p.rate) * (q.rate - p.rate)
    return shape_terms + rate_terms


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p: Any, q: Any) -> Tensor:
    # with r = β_p/β_q and δ = (μ_p - μ_q)/β_q:
    #   KL = -log r + γ (r - 1) + δ + exp(-δ) Γ(1 + r) - 1
    r = p.scale / q.scale
    shift = (p.loc - q.loc) / q.scale
    tail = cr.exp(cr.lgamma(1 + r) - shift)
    return -cr.log(r) + _EULER_GAMMA * (r - 1) + shift + tail - 1


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p: Any, q: Any) -> Tensor:
    # folding both at 0 leaves the KL of the underlying centred normals: ½(r² - 1) - log r
    r = p.scale / q.scale
    return 0.5 * (r.pow(2) - 1) - cr.log(r)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p: Any, q: Any) -> Tensor:
    # support of Pareto(s, α) is [s, ∞): if s_p < s_q, p has mass where q has none (KL = ∞);
    # otherwise α_q log(s_p/s_q) - log(α_q/α_p) + α_q/α_p - 1
    ratio = q.alpha / p.alpha
    finite = q.alpha * cr.log(p.scale / q.scale) - cr.log(ratio) + ratio - 1
    return cr.where(p.scale < q.scale, math.inf, finite)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p: Any, q: Any) -> Tensor:
    # KL is invariant under one common bijection; anything else has no closed form here
    if p.transforms != q.transforms:
        raise NotImplementedError(
            "kl_divergence: TransformedDistributions with different transforms are not supported"
        )
    if p.event_shape != q.event_shape:
        raise NotImplementedError(
            "kl_divergence: TransformedDistributions with different event shapes are not supported"
        )
    return kl_divergence(p.base_dist, q.base_dist)


# ------------------------------------------------------------- Gaussians over vectors
#
# For N(μ_p, Σ_p) and N(μ_q, Σ_q) in n dims:
#   KL = ½ [ tr(Σ_q⁻¹ Σ_p) + (μ_q - μ_p)ᵀ Σ_q⁻¹ (μ_q - μ_p) - n + log det Σ_q - log det Σ_p ].
# Both the trace and the quadratic form are tr(Xᵀ Σ_q⁻¹ X), for X a square root of Σ_p
# (Σ_p = Σ_k X_k X_kᵀ) or X = μ_q - μ_p, so one helper serves all four pairings.


def _sq_frobenius(mat: Tensor) -> Tensor:
    """Sum of squares over the last two dims (``tr(M Mᵀ)``)."""
    return mat.pow(2).sum((-2, -1))


def _inverse_quadratic(q: Any, x: Tensor, diagonal: bool = False) -> Tensor:
    """``tr(Xᵀ Σ_q⁻¹ X)`` for a batch of ``n × r`` matrices ``X``; with ``diagonal=True``, ``x``
    is a batch of ``n``-vectors standing for ``X = diag(x)``.

    Full-covariance ``q``: ``‖L_q⁻¹ X‖²``. Low-rank ``q``: Woodbury, ``Σ_q⁻¹ = D⁻¹ - Aᵀ A``, gives
    ``‖D^-½ X‖² - ‖A X‖²`` without any ``n × n`` matrix when ``X`` is diagonal.
    """
    if isinstance(q, LowRankMultivariateNormal):
        factor, diag = q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag
        root = _woodbury_root(factor, diag, q._capacitance_tril)
        if diagonal:
            return (x.pow(2) / diag).sum(-1) - _sq_frobenius(root * x.unsqueeze(-2))
        return _sq_frobenius(x / diag.sqrt().unsqueeze(-1)) - _sq_frobenius(cr.matmul(root, x))
    if diagonal:
        x = cr.diag_embed(x)
    return _sq_frobenius(cr.linalg.solve_triangular(q._unbroadcasted_scale_tril, x, upper=False))


def _gaussian_logdet(d: Any) -> Tensor:
    """``log det Σ`` of either Gaussian family, from its stored factors."""
    if isinstance(d, LowRankMultivariateNormal):
        return _lowrank_logdet(
            d._unbroadcasted_cov_factor, d._unbroadcasted_cov_diag, d._capacitance_tril
        )
    return 2.0 * _tril_half_logdet(d._unbroadcasted_scale_tril)


def _trace_inv_q_cov_p(p: Any, q: Any) -> Tensor:
    """``tr(Σ_q⁻¹ Σ_p)``, through a square root of ``Σ_p``."""
    if isinstance(p, LowRankMultivariateNormal):
        # Σ_p = W Wᵀ + diag(√d)²
        return _inverse_quadratic(q, p._unbroadcasted_cov_factor) + _inverse_quadratic(
            q, p._unbroadcasted_cov_diag.sqrt(), diagonal=True
        )
    return _inverse_quadratic(q, p._unbroadcasted_scale_tril)


@register_kl(MultivariateNormal, MultivariateNormal)
@register_kl(MultivariateNormal, LowRankMultivariateNormal)
@register_kl(LowRankMultivariateNormal, MultivariateNormal)
@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_gaussian_gaussian(p: Any, q: Any) -> Tensor:
    if p.event_shape != q.event_shape:
        raise ValueError(
            f"kl_divergence: {type(p).__name__} and {type(q).__name__} have different event "
            f"shapes ({tuple(p.event_shape)} vs {tuple(q.event_shape)}); KL needs them equal"
        )
    n = p.event_shape[0]
    trace = _trace_inv_q_cov_p(p, q)
    mean_gap = _inverse_quadratic(q, (q.loc - p.loc).unsqueeze(-1))
    return 0.5 * (trace + mean_gap - n + _gaussian_logdet(q) - _gaussian_logdet(p))
