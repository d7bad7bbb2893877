"""The Generalized Pareto distribution, mirroring ``torch.distributions.GeneralizedPareto``."""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .distribution import Distribution
from .utils import _EMPTY_SIZE, _Number, broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    r"""
    Creates a Generalized Pareto distribution parameterized by :attr:`loc`, :attr:`scale`,
    and :attr:`concentration`.

    Special cases include Exponential (:attr:`loc` = 0, :attr:`concentration` = 0), Pareto
    (:attr:`concentration` > 0, :attr:`loc` = :attr:`scale` / :attr:`concentration`) and
    Uniform (:attr:`concentration` = -1). It is often used to model the tails of other
    distributions. A concentration within ``isclose`` of 0 is treated as exactly 0 (the
    exponential limit), as PyTorch does.

    A deliberate difference: PyTorch 2.13's ``log_prob``/``cdf`` compare the concentration
    with ``torch.tensor(0.0)`` (the default dtype), so they raise for float64 parameters under
    a float32 default dtype; here they compare with a zero of the parameters' dtype.

    Example::

        >>> m = GeneralizedPareto(cr.tensor([0.1]), cr.tensor([2.0]), cr.tensor([0.4]))
        >>> m.sample()  # doctest: +SKIP
        tensor([ 1.5623])

    Args:
        loc (float or Tensor): Location parameter of the distribution
        scale (float or Tensor): Scale parameter of the distribution
        concentration (float or Tensor): Concentration parameter of the distribution
    """

    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "concentration": constraints.real,
    }
    has_rsample = True

    def __init__(
        self,
        loc: Tensor | float,
        scale: Tensor | float,
        concentration: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        if (
            isinstance(loc, _Number)
            and isinstance(scale, _Number)
            and isinstance(concentration, _Number)
        ):
            batch_shape = cr.Size()
        else:
            batch_shape = self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> GeneralizedPareto:
        new = self._get_checked_instance(GeneralizedPareto, _instance)
        batch_shape = cr.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        super(GeneralizedPareto, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        """Inverse-CDF sampling of uniform draws (differentiable in every parameter)."""
        shape = self._extended_shape(sample_shape)
        u = cr.rand(*tuple(shape), dtype=self.loc.dtype)
        return self.icdf(u)

    def _safe_concentration(self) -> tuple[Tensor, Tensor]:
        """(concentration close to 0, concentration with those entries replaced by 1)."""
        eq_zero = cr.isclose(self.concentration, cr.zeros_like(self.concentration))
        safe_conc = cr.where(eq_zero, cr.ones_like(self.concentration), self.concentration)
        return eq_zero, safe_conc

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        y = 1 / safe_conc + cr.ones_like(z)
        where_nonzero = cr.where(y == 0, y, y * cr.log1p(safe_conc * z))
        return -self.scale.log() - cr.where(eq_zero, z, where_nonzero)

    def log_survival_function(self, value: Tensor) -> Tensor:
        """``log(1 - cdf(value))``."""
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        where_nonzero = -cr.log1p(safe_conc * z) / safe_conc
        return cr.where(eq_zero, -z, where_nonzero)

    def log_cdf(self, value: Tensor) -> Tensor:
        """``log(cdf(value))``."""
        return cr.log1p(-cr.exp(self.log_survival_function(value)))

    def cdf(self, value: Tensor) -> Tensor:
        return cr.exp(self.log_cdf(value))

    def icdf(self, value: Tensor) -> Tensor:
        loc = self.loc
        scale = self.scale
        eq_zero, safe_conc = self._safe_concentration()
        logu = cr.log1p(-value)
        where_nonzero = loc + scale / safe_conc * cr.expm1(-safe_conc * logu)
        where_zero = loc - scale * logu
        return cr.where(eq_zero, where_zero, where_nonzero)

    def _z(self, x: Tensor) -> Tensor:
        return (x - self.loc) / self.scale

    @property
    def mean(self) -> Tensor:
        concentration = self.concentration
        valid = concentration < 1
        safe_conc = cr.where(valid, concentration, 0.5)
        result = self.loc + self.scale / (1 - safe_conc)
        return cr.where(valid, result, math.nan)

    @property
    def variance(self) -> Tensor:
        concentration = self.concentration
        valid = concentration < 0.5
        safe_conc = cr.where(valid, concentration, 0.25)
        result = self.scale**2 / ((1 - safe_conc) ** 2 * (1 - 2 * safe_conc))
        return cr.where(valid, result, math.nan)

    def entropy(self) -> Tensor:
        ans = cr.log(self.scale) + self.concentration + 1
        return cr.broadcast_to(ans, self._batch_shape)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> constraints.Constraint:
        lower = self.loc
        upper = cr.where(self.concentration < 0, lower - self.scale / self.concentration, math.inf)
        return constraints.interval(lower, upper)
