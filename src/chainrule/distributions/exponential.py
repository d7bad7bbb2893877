"""The Exponential distribution, mirroring ``torch.distributions.Exponential``."""

from __future__ import annotations

from typing import Any

import chainrule as cr

from . import constraints
from .exp_family import ExponentialFamily
from .utils import _EMPTY_SIZE, _Number, broadcast_all

__all__ = ["Exponential"]


class Exponential(ExponentialFamily):
    """Exponential distribution with ``rate`` λ (density ``λ exp(-λ x)``); ``rsample`` is
    ``e / rate`` with ``e ~ Exp(1)``."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def mean(self) -> cr.Tensor:
        return self.rate.reciprocal()

    @property
    def mode(self) -> cr.Tensor:
        return cr.zeros_like(self.rate)

    @property
    def stddev(self) -> cr.Tensor:
        return self.rate.reciprocal()

    @property
    def variance(self) -> cr.Tensor:
        return self.rate.pow(-2)

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        batch_shape = cr.Size() if isinstance(rate, _Number) else self.rate.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Exponential:
        new = self._get_checked_instance(Exponential, _instance)
        batch_shape = cr.Size(batch_shape)
        new.rate = self.rate.expand(batch_shape)
        super(Exponential, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        shape = self._extended_shape(sample_shape)
        return cr.empty(shape, dtype=self.rate.dtype).exponential_() / self.rate

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 1 - cr.exp(-self.rate * value)

    def icdf(self, value: cr.Tensor) -> cr.Tensor:
        return -cr.log1p(-value) / self.rate

    def entropy(self) -> cr.Tensor:
        return 1.0 - cr.log(self.rate)

    @property
    def _natural_params(self) -> tuple[cr.Tensor]:
        return (-self.rate,)

    def _log_normalizer(self, x: cr.Tensor) -> cr.Tensor:
        return -cr.log(-x)
