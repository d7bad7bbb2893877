"""The Normal (Gaussian) distribution, mirroring ``torch.distributions.Normal``."""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr

from . import constraints
from .exp_family import ExponentialFamily
from .utils import _EMPTY_SIZE, _Number, _standard_normal, broadcast_all

__all__ = ["Normal"]


class Normal(ExponentialFamily):
    """Normal distribution with mean ``loc`` and standard deviation ``scale``.

    ``rsample`` is reparameterised: ``loc + eps * scale`` with ``eps ~ N(0, 1)`` drawn from
    the seeded default generator.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def mean(self) -> cr.Tensor:
        return self.loc

    @property
    def mode(self) -> cr.Tensor:
        return self.loc

    @property
    def stddev(self) -> cr.Tensor:
        return self.scale

    @property
    def variance(self) -> cr.Tensor:
        return self.stddev.pow(2)

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        if isinstance(loc, _Number) and isinstance(scale, _Number):
            batch_shape = cr.Size()
        else:
            batch_shape = self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Normal:
        new = self._get_checked_instance(Normal, _instance)
        batch_shape = cr.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        super(Normal, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        shape = self._extended_shape(sample_shape)
        eps = _standard_normal(shape, dtype=self.loc.dtype)
        return self.loc + eps * self.scale

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale**2
        log_scale = self.scale.log()
        return -((value - self.loc) ** 2) / (2 * var) - log_scale - math.log(math.sqrt(2 * math.pi))

    def cdf(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + cr.erf((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)))

    def icdf(self, value: cr.Tensor) -> cr.Tensor:
        return self.loc + self.scale * cr.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self) -> cr.Tensor:
        return 0.5 + 0.5 * math.log(2 * math.pi) + cr.log(self.scale)

    @property
    def _natural_params(self) -> tuple[cr.Tensor, cr.Tensor]:
        return (self.loc / self.scale.pow(2), -0.5 * self.scale.pow(2).reciprocal())

    def _log_normalizer(self, x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        return -0.25 * x.pow(2) / y + 0.5 * cr.log(-math.pi / y)
