"""Laplace (double-exponential) distribution with the same API as
``torch.distributions.Laplace``.

Density: ``p(x) = exp(-|x - loc| / scale) / (2 scale)``. The CDF is
``1/2 - sign(d) * expm1(-|d| / scale) / 2`` with ``d = x - loc``, which is one formula for
both halves and stays accurate in the tails.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr

from . import constraints
from .distribution import Distribution
from .utils import _EMPTY_SIZE, broadcast_all

__all__ = ["Laplace"]


class Laplace(Distribution):
    """Laplace law with location ``loc`` (mean, median and mode) and scale ``scale``.

    ``rsample`` is the inverse CDF applied to ``u ~ U(eps - 1, 1)`` (``eps`` the dtype's
    machine epsilon, which keeps ``log1p(-|u|)`` finite), so it is differentiable in both
    parameters.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        # Plain numbers broadcast to 0-d tensors, so their shape is the empty batch shape.
        super().__init__(cr.Size(self.loc.shape), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Laplace:
        out = self._get_checked_instance(Laplace, _instance)
        return self._expand_into(out, batch_shape, ("loc", "scale"))

    @property
    def mean(self) -> cr.Tensor:
        return self.loc

    @property
    def mode(self) -> cr.Tensor:
        return self.loc

    @property
    def variance(self) -> cr.Tensor:
        # Var = 2 scale**2.
        return 2.0 * self.scale * self.scale

    @property
    def stddev(self) -> cr.Tensor:
        return math.sqrt(2.0) * self.scale

    def _from_signed_uniform(self, t: cr.Tensor) -> cr.Tensor:
        """Map ``t`` in ``(-1, 1)`` to ``loc - scale * sign(t) * log(1 - |t|)``.

        This is the inverse CDF written in terms of ``t = 2q - 1``.
        """
        return self.loc - self.scale * t.sign() * cr.log1p(-t.abs())

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        lo = cr.finfo(self.loc.dtype).eps - 1
        t = cr.empty(self._extended_shape(sample_shape), dtype=self.loc.dtype).uniform_(lo, 1)
        return self._from_signed_uniform(t)

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        distance = cr.abs(value - self.loc)
        return -distance / self.scale - cr.log(2.0 * self.scale)

    def cdf(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        d = value - self.loc
        tail = cr.expm1(-d.abs() / self.scale)
        return 0.5 - 0.5 * d.sign() * tail

    def icdf(self, value: cr.Tensor) -> cr.Tensor:
        return self._from_signed_uniform(2.0 * value - 1.0)

    def entropy(self) -> cr.Tensor:
        # H = 1 + log(2 scale).
        return cr.log(2.0 * self.scale) + 1.0
