"""Pareto (type I) distribution with API of ``torch.distributions.Pareto``.

Density for ``x >= scale``: ``alpha * scale**alpha / x**(alpha + 1)``. If ``E`` follows an
exponential law with rate ``alpha`` then ``scale * exp(E)`` is Pareto distributed, which is
how sampling and ``log_prob`` are obtained (through :class:`TransformedDistribution`).
"""

from __future__ import annotations

from typing import Any

from chainrule import Tensor

from . import constraints
from .exponential import Exponential
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, ExpTransform
from .utils import broadcast_all

__all__ = ["Pareto"]


class Pareto(TransformedDistribution):
    r"""Heavy-tailed law on ``[scale, inf)`` with tail index ``alpha``.

    Built as ``scale * exp(E)`` with ``E ~ Exponential(alpha)``, so it is reparameterised
    and differentiable in both parameters.

    Args:
        scale (float or Tensor): lower end of the support (``> 0``).
        alpha (float or Tensor): shape / tail index (``> 0``); moments of order ``k`` exist
            only for ``alpha > k``.
    """

    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}

    def __init__(
        self,
        scale: Tensor | float,
        alpha: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        self.scale, self.alpha = broadcast_all(scale, alpha)
        # E ~ Exp(alpha)  ->  exp(E) ~ Pareto(1, alpha)  ->  scale * exp(E) ~ Pareto(scale, alpha)
        chain = [ExpTransform(), AffineTransform(loc=0, scale=self.scale)]
        log_excess = Exponential(self.alpha, validate_args=validate_args)
        super().__init__(log_excess, chain, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(Pareto, _instance)
        out.scale, out.alpha = (p.expand(batch_shape) for p in (self.scale, self.alpha))
        return super().expand(batch_shape, _instance=out)

    @property
    def mean(self) -> Tensor:
        """``alpha * scale / (alpha - 1)``; infinite when ``alpha <= 1``.

        Clamping ``alpha`` at 1 turns the divergent case into a division by zero (``inf``)
        without a ``where`` that would leak NaN gradients from the unused branch.
        """
        shape = self.alpha.clamp(min=1)
        return self.scale * shape / (shape - 1)

    @property
    def mode(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        """``scale**2 * alpha / ((alpha - 1)**2 (alpha - 2))``; infinite when ``alpha <= 2``."""
        shape = self.alpha.clamp(min=2)
        denom = (shape - 1).square() * (shape - 2)
        return self.scale.square() * shape / denom

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.greater_than_eq(self.scale)

    def entropy(self) -> Tensor:
        """Differential entropy ``log(scale / alpha) + 1 + 1 / alpha``."""
        return self.scale.log() - self.alpha.log() + 1 + self.alpha.reciprocal()
