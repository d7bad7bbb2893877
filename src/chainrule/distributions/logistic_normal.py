"""Logistic-normal distribution with API of ``torch.distributions.LogisticNormal``.

A point of the ``K``-simplex is produced from ``K - 1`` independent normal coordinates by
the stick-breaking map, so the event has one more entry than ``loc``/``scale``.
"""

from __future__ import annotations

from typing import Any

from chainrule import Tensor

from . import constraints
from .independent import Independent
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import StickBreakingTransform

__all__ = ["LogisticNormal"]


class LogisticNormal(TransformedDistribution):
    r"""Distribution on the simplex obtained by stick-breaking a normal vector.

    If ``X`` has this law, ``log(X / (1 - X.cumsum(-1)))[..., :-1]`` is
    ``Normal(loc, scale)`` coordinate-wise.

    Args:
        loc (float or Tensor): means of the underlying normal coordinates.
        scale (float or Tensor): standard deviations of those coordinates (``> 0``).
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True
    base_dist: Independent[Normal]

    def __init__(
        self,
        loc: Tensor | float,
        scale: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        coords = Normal(loc, scale, validate_args=validate_args)
        # Stick breaking needs a vector to act on: scalar parameters give a 1-vector (K = 2).
        if len(coords.batch_shape) == 0:
            coords = coords.expand([1])
        super().__init__(coords, StickBreakingTransform(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(LogisticNormal, _instance)
        return super().expand(batch_shape, _instance=out)

    # TransformedDistribution wraps the normal in Independent (the transform has event_dim 1).
    @property
    def loc(self) -> Tensor:
        return self.base_dist.base_dist.loc

    @property
    def scale(self) -> Tensor:
        return self.base_dist.base_dist.scale
