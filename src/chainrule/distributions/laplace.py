"""The Laplace distribution, mirroring ``torch.distributions.Laplace``."""

from __future__ import annotations

from typing import Any

import chainrule as cr

from . import constraints
from .distribution import Distribution
from .utils import _EMPTY_SIZE, _Number, broadcast_all

__all__ = ["Laplace"]


class Laplace(Distribution):
    """Laplace distribution with location ``loc`` and scale ``scale``; ``rsample`` inverts
    the CDF at ``u ~ U(eps - 1, 1)``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    @property
    def mean(self) -> cr.Tensor:
        return self.loc

    @property
    def mode(self) -> cr.Tensor:
        return self.loc

    @property
    def variance(self) -> cr.Tensor:
        return 2 * self.scale.pow(2)

    @property
    def stddev(self) -> cr.Tensor:
        return (2**0.5) * self.scale

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        if isinstance(loc, _Number) and isinstance(scale, _Number):
            batch_shape = cr.Size()
        else:
            batch_shape = self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Laplace:
        new = self._get_checked_instance(Laplace, _instance)
        batch_shape = cr.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        super(Laplace, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        shape = self._extended_shape(sample_shape)
        finfo = cr.finfo(self.loc.dtype)
        u = cr.empty(shape, dtype=self.loc.dtype).uniform_(finfo.eps - 1, 1)
        return self.loc - self.scale * u.sign() * cr.log1p(-u.abs())

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return -cr.log(2 * self.scale) - cr.abs(value - self.loc) / self.scale

    def cdf(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * cr.expm1(
            -(value - self.loc).abs() / self.scale
        )

    def icdf(self, value: cr.Tensor) -> cr.Tensor:
        term = value - 0.5
        return self.loc - self.scale * term.sign() * cr.log1p(-2 * term.abs())

    def entropy(self) -> cr.Tensor:
        return 1 + cr.log(2 * self.scale)
