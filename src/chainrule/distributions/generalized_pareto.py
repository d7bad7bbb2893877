"""Generalized Pareto distribution (GPD) with the same API as
``torch.distributions.GeneralizedPareto``.

With ``z = (x - loc) / scale`` and shape ``xi`` (``concentration``) the survival function is

    S(x) = (1 + xi z) ** (-1 / xi)        (xi != 0)
    S(x) = exp(-z)                        (xi == 0, the limit)

on ``z >= 0`` (and ``z <= -1/xi`` when ``xi < 0``). ``xi = 0`` is the shifted exponential,
``xi = -1`` the uniform on ``[loc, loc + scale]``, and ``xi > 0`` with ``loc = scale / xi`` the
Pareto law. The GPD is the usual model for exceedances over a high threshold.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .distribution import Distribution
from .utils import _EMPTY_SIZE, broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """GPD with location ``loc``, scale ``scale > 0`` and shape ``concentration`` (any real).

    Every formula has an ``xi != 0`` branch and an ``xi -> 0`` limit. A concentration within
    ``isclose`` of zero takes the limit branch (as PyTorch does); elsewhere the shape is
    replaced by 1 in the unused branch so neither branch produces NaN gradients.

    A deliberate difference: PyTorch 2.13's ``log_prob``/``cdf`` compare the concentration
    with ``torch.tensor(0.0)`` (the default dtype), so they raise for float64 parameters under
    a float32 default dtype; here they compare with a zero of the parameters' dtype.

    ``rsample`` pushes uniform draws through ``icdf``, so samples are differentiable in all
    three parameters. The mean exists only for ``xi < 1`` and the variance only for
    ``xi < 1/2``; outside those ranges they are NaN.
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
        # Plain numbers broadcast to 0-d tensors, so their shape is the empty batch shape.
        super().__init__(cr.Size(self.loc.shape), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> GeneralizedPareto:
        out = self._get_checked_instance(GeneralizedPareto, _instance)
        return self._expand_into(out, batch_shape, ("loc", "scale", "concentration"))

    # --- helpers ---------------------------------------------------------------------------
    def _standardise(self, x: Tensor) -> Tensor:
        return (x - self.loc) / self.scale

    def _split_shape(self) -> tuple[Tensor, Tensor]:
        """Return ``(is_zero, xi_safe)``: where the shape counts as 0, and the shape with
        those entries set to 1 (so divisions by it in the ``xi != 0`` branch stay finite)."""
        xi = self.concentration
        is_zero = cr.isclose(xi, cr.zeros_like(xi))
        return is_zero, cr.where(is_zero, cr.ones_like(xi), xi)

    # --- densities -------------------------------------------------------------------------
    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = self._standardise(value)
        is_zero, xi = self._split_shape()
        # log p = -log(scale) - (1 + 1/xi) log(1 + xi z); the limit xi -> 0 gives -log(scale) - z.
        power = 1 / xi + cr.ones_like(z)
        # At xi = -1 (uniform) the power is 0: take 0 rather than 0 * log(0) at the upper end.
        general = cr.where(power == 0, power, power * cr.log1p(xi * z))
        return -cr.log(self.scale) - cr.where(is_zero, z, general)

    def log_survival_function(self, value: Tensor) -> Tensor:
        """``log S(value) = log(1 - cdf(value))``: ``-log1p(xi z) / xi``, or ``-z`` at xi = 0."""
        if self._validate_args:
            self._validate_sample(value)
        z = self._standardise(value)
        is_zero, xi = self._split_shape()
        return cr.where(is_zero, -z, -cr.log1p(xi * z) / xi)

    def log_cdf(self, value: Tensor) -> Tensor:
        """``log(cdf(value)) = log(1 - S(value))``."""
        survival = cr.exp(self.log_survival_function(value))
        return cr.log1p(-survival)

    def cdf(self, value: Tensor) -> Tensor:
        return cr.exp(self.log_cdf(value))

    def icdf(self, value: Tensor) -> Tensor:
        # Solve S(x) = 1 - q with L = log(1 - q):
        #   xi != 0: x = loc + scale * (exp(-xi L) - 1) / xi;   xi = 0: x = loc - scale L.
        is_zero, xi = self._split_shape()
        log_tail = cr.log1p(-value)
        general = self.loc + self.scale * cr.expm1(-xi * log_tail) / xi
        limit = self.loc - self.scale * log_tail
        return cr.where(is_zero, limit, general)

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        """Inverse-CDF sampling of uniform draws (differentiable in every parameter)."""
        uniform = cr.rand(tuple(self._extended_shape(sample_shape)), dtype=self.loc.dtype)
        return self.icdf(uniform)

    # --- summaries -------------------------------------------------------------------------
    @property
    def mean(self) -> Tensor:
        # loc + scale / (1 - xi) for xi < 1; a harmless stand-in shape elsewhere keeps the
        # masked-out branch finite.
        ok = self.concentration < 1
        xi = cr.where(ok, self.concentration, 0.5)
        return cr.where(ok, self.loc + self.scale / (1 - xi), math.nan)

    @property
    def variance(self) -> Tensor:
        # scale**2 / ((1 - xi)**2 (1 - 2 xi)) for xi < 1/2.
        ok = self.concentration < 0.5
        xi = cr.where(ok, self.concentration, 0.25)
        one_minus = 1 - xi
        return cr.where(ok, self.scale**2 / (one_minus * one_minus * (1 - 2 * xi)), math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    def entropy(self) -> Tensor:
        # H = log(scale) + xi + 1.
        h = cr.log(self.scale) + self.concentration + 1
        return cr.broadcast_to(h, self._batch_shape)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> constraints.Constraint:
        # [loc, inf) for xi >= 0; bounded above by loc - scale / xi when xi < 0.
        upper = cr.where(
            self.concentration < 0, self.loc - self.scale / self.concentration, math.inf
        )
        return constraints.interval(self.loc, upper)
