"""Half-Cauchy distribution with API of ``torch.distributions.HalfCauchy``.

``|X|`` for ``X ~ Cauchy(0, scale)``. Folding a law that is symmetric about zero doubles its
density on ``[0, inf)``, so density, CDF, quantile and entropy are simple rewrites of the
Cauchy ones.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .cauchy import Cauchy
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform

__all__ = ["HalfCauchy"]

_LOG2 = math.log(2.0)


class HalfCauchy(TransformedDistribution):
    r"""Absolute value of a centred Cauchy variable.

    Density on ``x >= 0``: ``2 / (pi * scale * (1 + (x / scale)**2))``.

    Args:
        scale (float or Tensor): scale of the underlying Cauchy law (``> 0``).
    """

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    base_dist: Cauchy

    def __init__(
        self,
        scale: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        # The folded law checks its own argument; the inner Cauchy need not repeat it.
        centred = Cauchy(0, scale, validate_args=False)
        super().__init__(centred, AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(HalfCauchy, _instance)
        return super().expand(batch_shape, _instance=out)

    @property
    def scale(self) -> Tensor:
        return self.base_dist.scale

    @property
    def mean(self) -> Tensor:
        """The mean does not exist (the integral diverges): every entry is ``+inf``."""
        ref = self.scale
        return cr.full(self._extended_shape(), math.inf, dtype=ref.dtype, device=ref.device)

    @property
    def mode(self) -> Tensor:
        return cr.zeros_like(self.scale)

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance

    def log_prob(self, value: Tensor) -> Tensor:
        """``log 2 + log p_Cauchy(x)`` on ``x >= 0`` and ``-inf`` below zero."""
        if self._validate_args:
            self._validate_sample(value)
        ref = self.base_dist.scale
        x = cr.as_tensor(value, dtype=ref.dtype, device=ref.device)
        folded = _LOG2 + self.base_dist.log_prob(x)
        return cr.where(x >= 0, folded, -math.inf)

    def cdf(self, value: Tensor) -> Tensor:
        """``P(|X| <= x) = F(x) - F(-x) = 2 F(x) - 1`` by symmetry."""
        if self._validate_args:
            self._validate_sample(value)
        return self.base_dist.cdf(value) * 2 - 1

    def icdf(self, prob: cr.Tensor) -> cr.Tensor:
        """Inverse of ``2 F(x) - 1``: the Cauchy quantile at ``(1 + p) / 2``."""
        return self.base_dist.icdf(0.5 * (1 + prob))

    def entropy(self) -> Tensor:
        """``H = H_Cauchy - log 2`` (the folded density is twice as large on half the line)."""
        return self.base_dist.entropy() - _LOG2
