"""Log-normal distribution with API of ``torch.distributions.LogNormal``.

``Y = exp(X)`` with ``X ~ Normal(loc, scale)``; the density, sampling and support all come
from pushing the normal through :class:`ExpTransform`.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform

__all__ = ["LogNormal"]


class LogNormal(TransformedDistribution):
    r"""Positive variable whose logarithm is ``Normal(loc, scale)``.

    Args:
        loc (float or Tensor): mean of ``log Y``.
        scale (float or Tensor): standard deviation of ``log Y`` (``> 0``).
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True
    base_dist: Normal

    def __init__(
        self,
        loc: Tensor | float,
        scale: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        log_y = Normal(loc, scale, validate_args=validate_args)
        super().__init__(log_y, ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(LogNormal, _instance)
        return super().expand(batch_shape, _instance=out)

    # The parameters live on the underlying normal, so expand() keeps them in sync.
    @property
    def loc(self) -> Tensor:
        return self.base_dist.loc

    @property
    def scale(self) -> Tensor:
        return self.base_dist.scale

    @property
    def mean(self) -> Tensor:
        """``exp(mu + sigma**2 / 2)``."""
        return (0.5 * self.scale.square() + self.loc).exp()

    @property
    def mode(self) -> Tensor:
        """``exp(mu - sigma**2)``."""
        return cr.exp(self.loc - self.scale.square())

    @property
    def variance(self) -> Tensor:
        """``(exp(sigma**2) - 1) * exp(2 mu + sigma**2)``; ``expm1`` keeps small sigma exact."""
        s2 = self.scale.square()
        return s2.expm1() * (s2 + 2 * self.loc).exp()

    def entropy(self) -> Tensor:
        """``H[Y] = H[X] + E[X]``: the log-Jacobian of ``exp`` is ``X`` itself."""
        return self.loc + self.base_dist.entropy()
