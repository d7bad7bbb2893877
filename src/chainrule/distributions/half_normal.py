"""Half-normal distribution with API of ``torch.distributions.HalfNormal``.

``|X|`` for ``X ~ Normal(0, scale)``. Because the normal is symmetric about zero, the folded
density is twice the normal one on ``[0, inf)``; CDF, quantile and entropy follow the same way.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform

__all__ = ["HalfNormal"]

_LOG2 = math.log(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class HalfNormal(TransformedDistribution):
    r"""Absolute value of a centred normal variable.

    Density on ``x >= 0``: ``sqrt(2 / pi) / scale * exp(-x**2 / (2 scale**2))``.

    Args:
        scale (float or Tensor): standard deviation of the underlying normal (``> 0``).
    """

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    base_dist: Normal

    def __init__(
        self,
        scale: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        # Only the folded law validates; the inner normal would check the same scale again.
        centred = Normal(0, scale, validate_args=False)
        super().__init__(centred, AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(HalfNormal, _instance)
        return super().expand(batch_shape, _instance=out)

    @property
    def scale(self) -> Tensor:
        return self.base_dist.scale

    @property
    def mean(self) -> Tensor:
        """``scale * sqrt(2 / pi)``."""
        return _SQRT_2_OVER_PI * self.scale

    @property
    def mode(self) -> Tensor:
        return cr.zeros_like(self.scale)

    @property
    def variance(self) -> Tensor:
        """``scale**2 * (1 - 2 / pi)``."""
        return (1 - 2 / math.pi) * self.scale.square()

    def log_prob(self, value: Tensor) -> Tensor:
        """``log 2 + log p_Normal(x)`` on ``x >= 0`` and ``-inf`` below zero."""
        if self._validate_args:
            self._validate_sample(value)
        folded = _LOG2 + self.base_dist.log_prob(value)
        return cr.where(value >= 0, folded, -math.inf)

    def cdf(self, value: Tensor) -> Tensor:
        """``P(|X| <= x) = 2 Phi(x / scale) - 1`` by symmetry."""
        if self._validate_args:
            self._validate_sample(value)
        return self.base_dist.cdf(value) * 2 - 1

    def icdf(self, prob: cr.Tensor) -> cr.Tensor:
        """Inverse of ``2 Phi - 1``: the normal quantile at ``(1 + p) / 2``."""
        return self.base_dist.icdf(0.5 * (1 + prob))

    def entropy(self) -> Tensor:
        """``H = H_Normal - log 2`` (the folded density is twice as large on half the line)."""
        return self.base_dist.entropy() - _LOG2
