"""Cauchy (Lorentz) distribution with the same API as ``torch.distributions.Cauchy``.

Density: ``p(x) = 1 / (pi * scale * (1 + z**2))`` with ``z = (x - loc) / scale``; the CDF is
``1/2 + atan(z) / pi``. The distribution has no mean (reported as NaN) and infinite variance.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr

from . import constraints
from .distribution import Distribution
from .utils import _EMPTY_SIZE, broadcast_all

__all__ = ["Cauchy"]

_LOG_PI = math.log(math.pi)


class Cauchy(Distribution):
    """Cauchy law centred at ``loc`` (its median and mode) with half-width ``scale``.

    ``rsample`` draws standard Cauchy noise with ``Tensor.cauchy_`` and shifts/scales it, so
    the sample is differentiable in ``loc`` and ``scale``.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        # Plain numbers broadcast to 0-d tensors, so their shape is the empty batch shape.
        super().__init__(cr.Size(self.loc.shape), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Cauchy:
        out = self._get_checked_instance(Cauchy, _instance)
        return self._expand_into(out, batch_shape, ("loc", "scale"))

    def _constant(self, fill: float) -> cr.Tensor:
        """A batch-shaped tensor of ``fill`` in the parameters' dtype (undefined moments)."""
        return cr.full(self._extended_shape(), fill, dtype=self.loc.dtype)

    @property
    def mean(self) -> cr.Tensor:
        return self._constant(math.nan)

    @property
    def mode(self) -> cr.Tensor:
        return self.loc

    @property
    def variance(self) -> cr.Tensor:
        return self._constant(math.inf)

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        noise = cr.empty(self._extended_shape(sample_shape), dtype=self.loc.dtype).cauchy_()
        return self.loc + noise * self.scale

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        # log1p keeps precision near the centre, where z**2 is tiny.
        return -cr.log1p(z * z) - cr.log(self.scale) - _LOG_PI

    def cdf(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return 0.5 + cr.atan(z) / math.pi

    def icdf(self, value: cr.Tensor) -> cr.Tensor:
        # Solve 1/2 + atan(z)/pi = q for z.
        z = cr.tan(math.pi * (value - 0.5))
        return self.loc + z * self.scale

    def entropy(self) -> cr.Tensor:
        # H = log(4 pi scale).
        return cr.log(self.scale) + math.log(4.0 * math.pi)
