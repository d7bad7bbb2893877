"""Inverse-gamma distribution with API of ``torch.distributions.InverseGamma``.

``Y = 1 / X`` for ``X ~ Gamma(concentration, rate)``: sampling and density come from the
gamma law pushed through the power map ``x -> x**-1``.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .gamma import Gamma
from .transformed_distribution import TransformedDistribution
from .transforms import PowerTransform

__all__ = ["InverseGamma"]


class InverseGamma(TransformedDistribution):
    r"""Reciprocal of a gamma variable.

    Density on ``y > 0``: ``b**a / Gamma(a) * y**(-a-1) * exp(-b / y)``.

    Args:
        concentration (float or Tensor): shape ``a > 0`` (alpha) of the gamma law.
        rate (float or Tensor): rate ``b > 0`` (beta) of the gamma law; it acts as a scale of
            ``Y``.
    """

    arg_constraints = {
        "concentration": constraints.positive,
        "rate": constraints.positive,
    }
    support = constraints.positive
    has_rsample = True
    base_dist: Gamma

    def __init__(
        self,
        concentration: Tensor | float,
        rate: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        gamma = Gamma(concentration, rate, validate_args=validate_args)
        # Exponent -1 as a 0-d tensor of the parameters' dtype (and device).
        reciprocal = PowerTransform(-gamma.rate.new_ones(()))
        super().__init__(gamma, reciprocal, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(InverseGamma, _instance)
        return super().expand(batch_shape, _instance=out)

    @property
    def concentration(self) -> Tensor:
        return self.base_dist.concentration

    @property
    def rate(self) -> Tensor:
        return self.base_dist.rate

    @property
    def mean(self) -> Tensor:
        """``b / (a - 1)`` when ``a > 1``, else ``+inf``."""
        a = self.concentration
        return cr.where(a > 1, self.rate / (a - 1), math.inf)

    @property
    def mode(self) -> Tensor:
        """``b / (a + 1)``."""
        return self.rate / (1 + self.concentration)

    @property
    def variance(self) -> Tensor:
        """``b**2 / ((a - 1)**2 (a - 2))`` when ``a > 2``, else ``+inf``."""
        a = self.concentration
        finite = self.rate.square() / ((a - 2) * (a - 1).square())
        return cr.where(a > 2, finite, math.inf)

    def entropy(self) -> Tensor:
        """``a + log b + lgamma(a) - (1 + a) digamma(a)``."""
        a = self.concentration
        return a + a.lgamma() - (a + 1) * a.digamma() + self.rate.log()
