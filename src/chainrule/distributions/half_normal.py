"""Half-normal distribution with API of ``torch.distributions.HalfNormal``.

``|X|`` for ``X ~ Normal(0, scale)``; density, CDF, quantile and entropy come from folding
(``_folded.py``), the moments are the half-normal's own.
"""

from __future__ import annotations

import math

from chainrule import Tensor

from ._folded import FoldedSymmetric
from .normal import Normal

__all__ = ["HalfNormal"]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class HalfNormal(FoldedSymmetric):
    r"""Absolute value of a centred normal variable.

    Density on ``x >= 0``: ``sqrt(2 / pi) / scale * exp(-x**2 / (2 scale**2))``.

    Args:
        scale (float or Tensor): standard deviation of the underlying normal (``> 0``).
    """

    _base = Normal
    base_dist: Normal

    @property
    def mean(self) -> Tensor:
        """``scale * sqrt(2 / pi)``."""
        return _SQRT_2_OVER_PI * self.scale

    @property
    def variance(self) -> Tensor:
        """``scale**2 * (1 - 2 / pi)``."""
        return (1 - 2 / math.pi) * self.scale.square()
