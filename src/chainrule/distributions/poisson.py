"""The Poisson distribution, mirroring ``torch.distributions.Poisson``."""

from __future__ import annotations

from typing import Any

import chainrule as cr

from . import constraints
from .exp_family import ExponentialFamily
from .utils import _EMPTY_SIZE, _Number, broadcast_all

__all__ = ["Poisson"]


class Poisson(ExponentialFamily):
    """Poisson distribution with ``rate`` λ ≥ 0: ``P(k) = λ^k e^{-λ} / k!``. Samples are
    float counts in the rate's dtype."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    @property
    def mean(self) -> cr.Tensor:
        return self.rate

    @property
    def mode(self) -> cr.Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> cr.Tensor:
        return self.rate

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        batch_shape = cr.Size() if isinstance(rate, _Number) else self.rate.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Poisson:
        new = self._get_checked_instance(Poisson, _instance)
        batch_shape = cr.Size(batch_shape)
        new.rate = self.rate.expand(batch_shape)
        super(Poisson, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        shape = self._extended_shape(sample_shape)
        with cr.no_grad():
            # drawn flat: cr.poisson fails on a 0-d rate (NumPy returns a Python int there)
            return cr.poisson(self.rate.expand(shape).reshape(-1)).reshape(shape)

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return value.xlogy(rate) - rate - (value + 1).lgamma()

    @property
    def _natural_params(self) -> tuple[cr.Tensor]:
        return (cr.log(self.rate),)

    def _log_normalizer(self, x: cr.Tensor) -> cr.Tensor:
        return cr.exp(x)
