"""Gaussian distribution ``N(loc, scale**2)`` with the same API as ``torch.distributions.Normal``.

Density: ``p(x) = exp(-z**2 / 2) / (scale * sqrt(2 pi))`` with ``z = (x - loc) / scale``.
As an exponential family its natural parameters are ``(loc / scale**2, -1 / (2 scale**2))``.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr

from . import constraints
from .exp_family import ExponentialFamily
from .utils import _EMPTY_SIZE, _standard_normal, broadcast_all

__all__ = ["Normal"]

# log(sqrt(2 pi)): the constant part of the Gaussian log-density.
_HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)
_SQRT2 = math.sqrt(2.0)


class Normal(ExponentialFamily):
    """Gaussian with mean ``loc`` and standard deviation ``scale`` (both broadcast together).

    Sampling is reparameterised (``rsample = loc + scale * eps``, ``eps ~ N(0, 1)`` from the
    seeded default generator), so gradients flow to ``loc`` and ``scale``. The CDF and its
    inverse are written with ``erf`` / ``erfinv``.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    # E[k(x)] for the carrier measure k(x) = 0 (the -log sqrt(2 pi) lives in the normaliser).
    _mean_carrier_measure = 0

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        # Plain numbers broadcast to 0-d tensors, so their shape is the empty batch shape.
        super().__init__(cr.Size(self.loc.shape), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Normal:
        out = self._get_checked_instance(Normal, _instance)
        return self._expand_into(out, batch_shape, ("loc", "scale"))

    # --- moments -------------------------------------------------------------------------
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
        return self.scale * self.scale

    # --- sampling and densities ----------------------------------------------------------
    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        noise = _standard_normal(self._extended_shape(sample_shape), dtype=self.loc.dtype)
        return self.loc + noise * self.scale

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -0.5 * z * z - cr.log(self.scale) - _HALF_LOG_TWO_PI

    def cdf(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return 0.5 * (1.0 + cr.erf(z / _SQRT2))

    def icdf(self, value: cr.Tensor) -> cr.Tensor:
        # Invert Phi(z) = (1 + erf(z / sqrt 2)) / 2 for z, then undo the standardisation.
        z = _SQRT2 * cr.erfinv(2.0 * value - 1.0)
        return self.loc + z * self.scale

    def entropy(self) -> cr.Tensor:
        # H = log(scale * sqrt(2 pi e)) = 1/2 + log sqrt(2 pi) + log scale.
        return cr.log(self.scale) + (0.5 + _HALF_LOG_TWO_PI)

    # --- exponential-family form (used by the generic Bregman-divergence KL) --------------
    @property
    def _natural_params(self) -> tuple[cr.Tensor, cr.Tensor]:
        precision = (self.scale * self.scale).reciprocal()
        return (self.loc * precision, -0.5 * precision)

    def _log_normalizer(self, x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        # F(eta1, eta2) = -eta1**2 / (4 eta2) + log(pi / -eta2) / 2.
        return 0.5 * cr.log(-math.pi / y) - x * x / (4.0 * y)
