"""The Kumaraswamy distribution, mirroring ``torch.distributions.Kumaraswamy``."""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .uniform import Uniform
from .utils import broadcast_all, euler_constant

__all__ = ["Kumaraswamy"]


def _moments(a: cr.Tensor, b: cr.Tensor, n: int) -> cr.Tensor:
    """
    Computes nth moment of Kumaraswamy using cr.lgamma
    """
    arg1 = 1 + n / a
    log_value = cr.lgamma(arg1) + cr.lgamma(b) - cr.lgamma(arg1 + b)
    return b * cr.exp(log_value)


class Kumaraswamy(TransformedDistribution):
    r"""
    Samples from a Kumaraswamy distribution.

    Example::
        >>> m = Kumaraswamy(cr.tensor([1.0]), cr.tensor([1.0]))
        >>> m.sample()  # a Kumaraswamy draw with concentration alpha=1 and beta=1  # doctest: +SKIP
        tensor([ 0.1729])

    Args:
        concentration1 (float or Tensor): 1st concentration parameter of the distribution
            (often referred to as alpha)
        concentration0 (float or Tensor): 2nd concentration parameter of the distribution
            (often referred to as beta)
    """

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    has_rsample = True

    def __init__(
        self,
        concentration1: Tensor | float,
        concentration0: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base_dist = Uniform(
            cr.full_like(self.concentration0, 0),
            cr.full_like(self.concentration0, 1),
            validate_args=validate_args,
        )
        transforms = [
            PowerTransform(exponent=self.concentration0.reciprocal()),
            AffineTransform(loc=1.0, scale=-1.0),
            PowerTransform(exponent=self.concentration1.reciprocal()),
        ]
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        new = self._get_checked_instance(Kumaraswamy, _instance)
        new.concentration1 = self.concentration1.expand(batch_shape)
        new.concentration0 = self.concentration0.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self) -> Tensor:
        return _moments(self.concentration1, self.concentration0, 1)

    @property
    def mode(self) -> Tensor:
        """``((a - 1) / (a b - 1))^(1/a)`` (a = concentration1, b = concentration0), NaN where
        a < 1 or b < 1 (and at a = b = 1, the uniform distribution).

        A deliberate difference: PyTorch 2.13 evaluates ``log1p(-b) / b - log1p(-a b)``,
        which is NaN for every valid a, b (its mode is always NaN); this is the true mode.
        """
        a, b = self.concentration1, self.concentration0
        valid = (a >= 1) & (b >= 1) & ((a > 1) | (b > 1))
        a_s = cr.where(valid, a, cr.full_like(a, 2.0))
        b_s = cr.where(valid, b, cr.full_like(b, 2.0))
        return cr.where(valid, ((a_s - 1) / (a_s * b_s - 1)) ** a_s.reciprocal(), math.nan)

    @property
    def variance(self) -> Tensor:
        return _moments(self.concentration1, self.concentration0, 2) - cr.pow(self.mean, 2)

    def entropy(self) -> Tensor:
        t1 = 1 - self.concentration1.reciprocal()
        t0 = 1 - self.concentration0.reciprocal()
        H0 = cr.digamma(self.concentration0 + 1) + euler_constant
        return t0 + t1 * H0 - cr.log(self.concentration1) - cr.log(self.concentration0)
