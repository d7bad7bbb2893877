"""The law of ``|X|`` for a ``X`` symmetric about zero: what ``HalfNormal`` and
``HalfCauchy`` share.

Folding a symmetric law doubles its density on ``[0, inf)``, so every quantity is a small
rewrite of the base law's: ``log p = log 2 + log p_X`` (``-inf`` below zero),
``F(x) = 2 F_X(x) - 1``, the quantile is ``F_X^-1((1 + p) / 2)`` and the entropy is
``H_X - log 2``. A subclass names its base family (``_base``) and gives its moments.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform

__all__ = ["FoldedSymmetric"]

_LOG2 = math.log(2.0)


class FoldedSymmetric(TransformedDistribution):
    """``|X|`` for ``X ~ _base(0, scale)``; subclasses set ``_base`` and the moments."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _base: type

    def __init__(self, scale: Tensor | float, validate_args: bool | None = None) -> None:
        # Only the folded law validates; the inner law would check the same scale again.
        centred = self._base(0, scale, validate_args=False)
        super().__init__(centred, AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(type(self), _instance)
        return super().expand(batch_shape, _instance=out)

    @property
    def scale(self) -> Tensor:
        return self.base_dist.scale

    @property
    def mode(self) -> Tensor:
        return cr.zeros_like(self.scale)

    def _value(self, value: Any) -> Any:
        """The value ``log_prob`` reads (a subclass may convert it first)."""
        return value

    def log_prob(self, value: Tensor) -> Tensor:
        """``log 2 + log p_X(x)`` on ``x >= 0`` and ``-inf`` below zero."""
        if self._validate_args:
            self._validate_sample(value)
        x = self._value(value)
        return cr.where(x >= 0, _LOG2 + self.base_dist.log_prob(x), -math.inf)

    def cdf(self, value: Tensor) -> Tensor:
        """``P(|X| <= x) = F_X(x) - F_X(-x) = 2 F_X(x) - 1`` by symmetry."""
        if self._validate_args:
            self._validate_sample(value)
        return self.base_dist.cdf(value) * 2 - 1

    def icdf(self, prob: Tensor) -> Tensor:
        """Inverse of ``2 F_X - 1``: the base law's quantile at ``(1 + p) / 2``."""
        return self.base_dist.icdf(0.5 * (1 + prob))

    def entropy(self) -> Tensor:
        """``H_X - log 2`` (the folded density is twice as large on half the line)."""
        return self.base_dist.entropy() - _LOG2
