"""Poisson distribution with the same API as ``torch.distributions.Poisson``.

Mass function: ``P(k) = rate**k * exp(-rate) / k!`` for ``k = 0, 1, 2, ...``. In log space this
is ``k log(rate) - rate - lgamma(k + 1)``, with ``xlogy`` so that ``k = 0`` at ``rate = 0``
gives ``log P = 0`` instead of NaN. The natural parameter is ``log(rate)``.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr

from . import constraints
from .exp_family import ExponentialFamily
from .utils import _EMPTY_SIZE, broadcast_all

__all__ = ["Poisson"]


class Poisson(ExponentialFamily):
    """Poisson law with mean ``rate >= 0``. Samples are counts stored as floats in the rate's
    dtype (as in PyTorch); there is no reparameterised sampler."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        # A plain number becomes a 0-d tensor, whose shape is the empty batch shape.
        super().__init__(cr.Size(self.rate.shape), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Poisson:
        out = self._get_checked_instance(Poisson, _instance)
        return self._expand_into(out, batch_shape, ("rate",))

    @property
    def mean(self) -> cr.Tensor:
        return self.rate

    @property
    def variance(self) -> cr.Tensor:
        # Mean and variance of a Poisson law coincide.
        return self.rate

    @property
    def mode(self) -> cr.Tensor:
        return cr.floor(self.rate)

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        shape = self._extended_shape(sample_shape)
        # cr.poisson is given a 1-d tensor: on a 0-d rate NumPy would hand back a Python int.
        with cr.no_grad():
            flat_rates = self.rate.expand(shape).reshape(-1)
            return cr.poisson(flat_rates).reshape(shape)

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        rate, k = broadcast_all(self.rate, value)
        return cr.special.xlogy(k, rate) - rate - cr.lgamma(k + 1)

    @property
    def _natural_params(self) -> tuple[cr.Tensor]:
        return (cr.log(self.rate),)

    def _log_normalizer(self, x: cr.Tensor) -> cr.Tensor:
        # F(eta) = exp(eta) = rate.
        return cr.exp(x)
