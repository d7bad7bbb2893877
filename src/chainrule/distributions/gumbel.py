"""Gumbel (type I extreme value) distribution with API of ``torch.distributions.Gumbel``.

Sampling uses the inverse CDF: for ``U ~ Uniform(0, 1)``, ``loc - scale * log(-log U)`` is
Gumbel distributed. That map is written as a chain of transforms over a uniform base whose
end points are kept strictly inside ``(0, 1)`` so that neither logarithm overflows.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, ExpTransform
from .uniform import Uniform
from .utils import _Number, broadcast_all, euler_constant

__all__ = ["Gumbel"]


class Gumbel(TransformedDistribution):
    r"""Gumbel law with location ``loc`` and scale ``scale``.

    Density: ``exp(-(z + exp(-z))) / scale`` with ``z = (x - loc) / scale``.

    Args:
        loc (float or Tensor): location (the mode).
        scale (float or Tensor): scale (``> 0``).
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(
        self,
        loc: Tensor | float,
        scale: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        info = cr.finfo(self.loc.dtype)
        low, high = info.tiny, 1 - info.eps  # open interval guard for log(-log u)
        if isinstance(loc, _Number) and isinstance(scale, _Number):
            uniform = Uniform(low, high, validate_args=validate_args)
        else:
            uniform = Uniform(
                cr.full_like(self.loc, low),
                cr.full_like(self.loc, high),
                validate_args=validate_args,
            )
        log_ = ExpTransform().inv
        # u -> log u -> -log u -> log(-log u) -> loc - scale * log(-log u)
        chain = [
            log_,
            AffineTransform(loc=0, scale=-cr.ones_like(self.scale)),
            log_,
            AffineTransform(loc=loc, scale=-self.scale),
        ]
        super().__init__(uniform, chain, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(Gumbel, _instance)
        out.loc, out.scale = (p.expand(batch_shape) for p in (self.loc, self.scale))
        return super().expand(batch_shape, _instance=out)

    def log_prob(self, value: Tensor) -> Tensor:
        """Closed form ``-z - exp(-z) - log(scale)``.

        Going back through the transform chain would evaluate ``log(-log u)`` near the
        ends of the interval and lose precision in the tails, so the density is written out.
        """
        if self._validate_args:
            self._validate_sample(value)
        neg_z = (self.loc - value) / self.scale
        return neg_z - neg_z.exp() - self.scale.log()

    @property
    def mean(self) -> Tensor:
        """``loc + gamma * scale`` with ``gamma`` the Euler-Mascheroni constant."""
        return euler_constant * self.scale + self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        """``pi * scale / sqrt(6)``."""
        return self.scale * (math.pi / math.sqrt(6))

    @property
    def variance(self) -> Tensor:
        return self.stddev.square()

    def entropy(self) -> Tensor:
        """``log(scale) + gamma + 1``."""
        return self.scale.log() + (euler_constant + 1)
