"""The Dirichlet distribution on the probability simplex (API of ``torch.distributions.Dirichlet``).

With concentration ``α = (α_1, ..., α_K)`` (all positive) and ``α_0 = Σ α_i`` the density on
the simplex is

    p(x) = Γ(α_0) / Π Γ(α_i) · Π x_i^(α_i - 1).

Samples are reparameterised: ``sample_dirichlet`` draws independent Gamma(α_i, 1) variates and
normalises them, and differentiates through the Gamma draws implicitly.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule import Tensor

from ..ops.random_gamma import sample_dirichlet
from . import constraints
from .exp_family import ExponentialFamily
from .utils import _EMPTY_SIZE

__all__ = ["Dirichlet"]


def _log_beta_k(alpha: Tensor) -> Tensor:
    """Multivariate log Beta function over the last axis: ``Σ lnΓ(α_i) - lnΓ(Σ α_i)``.

    This is the negated log normalising constant of the density, and also the log normaliser
    ``F(θ)`` of the exponential-family form (natural parameter θ = α)."""
    return cr.lgamma(alpha).sum(-1) - cr.lgamma(alpha.sum(-1))


class Dirichlet(ExponentialFamily):
    r"""Dirichlet distribution over the last axis of ``concentration``.

    The last dimension of ``concentration`` (α, at least one-dimensional, all entries > 0) is
    the event dimension of size K; the leading dimensions form the batch. Supports
    reparameterised sampling (``rsample``).

    Example::
        >>> d = Dirichlet(cr.tensor([2.0, 3.0, 5.0]))
        >>> d.mean
        tensor([0.2000, 0.3000, 0.5000])

    Args:
        concentration (Tensor): α, shape ``batch_shape + (K,)``.
        validate_args (bool, optional): check parameters and samples against the constraints.
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        *lead, k = concentration.shape
        super().__init__(cr.Size(lead), cr.Size((k,)), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        target = cr.Size(batch_shape)
        out = self._get_checked_instance(Dirichlet, _instance)
        out.concentration = self.concentration.expand(target + self.event_shape)
        super(Dirichlet, out).__init__(target, self.event_shape, validate_args=False)
        out._validate_args = self._validate_args
        return out

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        """Normalised Gamma draws, one independent simplex point per sample and batch entry."""
        alpha = self.concentration.expand(self._extended_shape(sample_shape))
        return sample_dirichlet(alpha)

    def log_prob(self, value: Tensor) -> Tensor:
        """``Σ (α_i - 1) ln x_i - ln B(α)``; ``xlogy`` makes a zero coordinate with α_i = 1
        contribute 0 rather than NaN."""
        if self._validate_args:
            self._validate_sample(value)
        alpha = self.concentration
        return cr.xlogy(alpha - 1.0, value).sum(-1) - _log_beta_k(alpha)

    @property
    def mean(self) -> Tensor:
        """``α_i / α_0``."""
        alpha = self.concentration
        return alpha / alpha.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        """``(α_i - 1) / (α_0 - K)`` with negative numerators clipped to 0.

        When every α_i < 1 the density is unbounded at the vertices and the clipped formula is
        0/0; the mode is then reported as a vertex, the one-hot vector at the argmax of that
        (NaN) row, as PyTorch does."""
        alpha = self.concentration
        excess = cr.clamp(alpha - 1, min=0.0)
        interior = excess / excess.sum(-1, keepdim=True)
        k = alpha.shape[-1]
        vertex = cr.nn.functional.one_hot(interior.argmax(dim=-1), k).to(interior)
        all_below_one = (alpha < 1).all(dim=-1, keepdim=True)
        return cr.where(all_below_one, vertex, interior)

    @property
    def variance(self) -> Tensor:
        """``α_i (α_0 - α_i) / (α_0² (α_0 + 1))``."""
        alpha = self.concentration
        total = alpha.sum(-1, keepdim=True)
        return alpha * (total - alpha) / (total * total * (total + 1))

    def entropy(self) -> Tensor:
        """Closed form ``ln B(α) + (α_0 - K) ψ(α_0) - Σ (α_i - 1) ψ(α_i)``."""
        alpha = self.concentration
        total = alpha.sum(-1)
        k = alpha.size(-1)
        spread = ((alpha - 1.0) * cr.digamma(alpha)).sum(-1)
        return _log_beta_k(alpha) + (total - k) * cr.digamma(total) - spread

    @property
    def _natural_params(self) -> tuple[Tensor]:
        return (self.concentration,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return _log_beta_k(x)
