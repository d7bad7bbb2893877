"""The Weibull distribution, mirroring ``torch.distributions.Weibull``."""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .exponential import Exponential
from .gumbel import euler_constant
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .utils import broadcast_all

__all__ = ["Weibull"]


class Weibull(TransformedDistribution):
    r"""
    Samples from a two-parameter Weibull distribution.

    Example:
        >>> m = Weibull(cr.tensor([1.0]), cr.tensor([1.0]))
        >>> m.sample()  # doctest: +SKIP
        tensor([ 0.4784])

    Args:
        scale (float or Tensor): Scale parameter of distribution (lambda).
        concentration (float or Tensor): Concentration parameter of distribution (k/shape).
        validate_args (bool, optional): Whether to validate arguments. Default: None.
    """

    arg_constraints = {
        "scale": constraints.positive,
        "concentration": constraints.positive,
    }
    support = constraints.positive

    def __init__(
        self,
        scale: Tensor | float,
        concentration: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        self.scale, self.concentration = broadcast_all(scale, concentration)
        self.concentration_reciprocal = self.concentration.reciprocal()
        base_dist = Exponential(cr.ones_like(self.scale), validate_args=validate_args)
        transforms = [
            PowerTransform(exponent=self.concentration_reciprocal),
            AffineTransform(loc=0, scale=self.scale),
        ]
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        new = self._get_checked_instance(Weibull, _instance)
        new.scale = self.scale.expand(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        new.concentration_reciprocal = new.concentration.reciprocal()
        base_dist = self.base_dist.expand(batch_shape)
        transforms = [
            PowerTransform(exponent=new.concentration_reciprocal),
            AffineTransform(loc=0, scale=new.scale),
        ]
        super(Weibull, new).__init__(base_dist, transforms, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        return self.scale * cr.exp(cr.lgamma(1 + self.concentration_reciprocal))

    @property
    def mode(self) -> Tensor:
        """``scale ((k - 1) / k)^(1/k)``, as PyTorch's power: for k < 1 the base is negative,
        giving a real value where 1/k is an integer and NaN elsewhere. Computed as
        ``|base|^(1/k)`` with the sign put back, so no floating-point warning is raised and
        the gradient at the NaN entries is zero rather than NaN."""
        k = self.concentration
        base = (k - 1) / k
        e = k.reciprocal()
        integral = e == e.round()
        odd = integral & (e.remainder(2) == 1)
        mag = base.abs() ** e
        signed = cr.where((base < 0) & odd, -mag, mag)
        return self.scale * cr.where((base >= 0) | integral, signed, math.nan)

    @property
    def variance(self) -> Tensor:
        return self.scale.pow(2) * (
            cr.exp(cr.lgamma(1 + 2 * self.concentration_reciprocal))
            - cr.exp(2 * cr.lgamma(1 + self.concentration_reciprocal))
        )

    def entropy(self) -> Tensor:
        return (
            euler_constant * (1 - self.concentration_reciprocal)
            + cr.log(self.scale * self.concentration_reciprocal)
            + 1
        )
