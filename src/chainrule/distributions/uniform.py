"""Continuous uniform law on ``[low, high)``: density ``1 / (high - low)`` inside, 0 outside.

Same public surface as ``torch.distributions.Uniform``. It is reparameterised: a draw is
``low + U (high - low)`` with ``U ~ U[0, 1)``, differentiable in both bounds.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr

from . import constraints
from .distribution import Distribution
from .utils import _EMPTY_SIZE, _Number, broadcast_all

__all__ = ["Uniform"]

_SQRT_12 = 12**0.5


class Uniform(Distribution):
    """Uniform on the half-open interval ``[low, high)`` (``low < high`` elementwise).

    ``mean = (low + high) / 2``, ``variance = (high - low)^2 / 12``, ``entropy =
    log(high - low)``; the mode is undefined (NaN) since every point is equally likely.
    """

    has_rsample = True

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:
        # each bound is constrained by the other, so the dict depends on the instance
        return {
            "low": constraints.less_than(self.high),
            "high": constraints.greater_than(self.low),
        }

    def __init__(self, low: Any, high: Any, validate_args: bool | None = None) -> None:
        self.low, self.high = broadcast_all(low, high)
        both_numbers = isinstance(low, _Number) and isinstance(high, _Number)
        shape = cr.Size() if both_numbers else self.low.size()
        super().__init__(shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Uniform:
        out = self._get_checked_instance(Uniform, _instance)
        return self._expand_into(out, batch_shape, ("low", "high"))

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.interval(self.low, self.high)

    def _width(self) -> cr.Tensor:
        return self.high - self.low

    @property
    def mean(self) -> cr.Tensor:
        return (self.low + self.high) / 2

    @property
    def mode(self) -> cr.Tensor:
        # NaN with the bounds' shape and dtype (and, like the other moments, on the graph)
        return self.high * float("nan")

    @property
    def stddev(self) -> cr.Tensor:
        return self._width() / _SQRT_12

    @property
    def variance(self) -> cr.Tensor:
        return self._width().pow(2) / 12

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        u = cr.rand(self._extended_shape(sample_shape), dtype=self.low.dtype)
        return self.low + self._width() * u

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        """``log 1[low <= x < high] - log(high - low)``: ``-inf`` outside the interval. The
        indicator is added in log space (rather than selected with ``where``) so the bounds
        receive the gradient of ``-log(high - low)`` at every ``x``."""
        if self._validate_args:
            self._validate_sample(value)
        inside = ((value >= self.low) & (value < self.high)).to(self.low.dtype)
        return cr.log(inside) - cr.log(self._width())

    def cdf(self, value: cr.Tensor) -> cr.Tensor:
        """``(x - low) / (high - low)`` clipped to ``[0, 1]``."""
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / self._width()).clamp(min=0, max=1)

    def icdf(self, value: cr.Tensor) -> cr.Tensor:
        return self.low + value * self._width()

    def entropy(self) -> cr.Tensor:
        return cr.log(self._width())
