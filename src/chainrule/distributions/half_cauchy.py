"""Half-Cauchy distribution with API of ``torch.distributions.HalfCauchy``.

``|X|`` for ``X ~ Cauchy(0, scale)``; density, CDF, quantile and entropy come from folding
(``_folded.py``). Like the Cauchy law it has no finite moments.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from ._folded import FoldedSymmetric
from .cauchy import Cauchy

__all__ = ["HalfCauchy"]


class HalfCauchy(FoldedSymmetric):
    r"""Absolute value of a centred Cauchy variable.

    Density on ``x >= 0``: ``2 / (pi * scale * (1 + (x / scale)**2))``.

    Args:
        scale (float or Tensor): scale of the underlying Cauchy law (``> 0``).
    """

    _base = Cauchy
    base_dist: Cauchy

    @property
    def mean(self) -> Tensor:
        """The mean does not exist (the integral diverges): every entry is ``+inf``."""
        ref = self.scale
        return cr.full(self._extended_shape(), math.inf, dtype=ref.dtype, device=ref.device)

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance

    def _value(self, value: Any) -> Any:
        """Numbers and other-dtype values are read in the scale's dtype."""
        ref = self.base_dist.scale
        return cr.as_tensor(value, dtype=ref.dtype, device=ref.device)
