"""Exponential distribution with the same API as ``torch.distributions.Exponential``.

Density: ``p(x) = rate * exp(-rate * x)`` for ``x >= 0``. As an exponential family it has the
single natural parameter ``eta = -rate`` and log-normaliser ``F(eta) = -log(-eta)``.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr

from . import constraints
from .exp_family import ExponentialFamily
from .utils import _EMPTY_SIZE, broadcast_all

__all__ = ["Exponential"]


class Exponential(ExponentialFamily):
    """Exponential law with rate ``rate`` (mean ``1 / rate``).

    ``rsample`` divides unit-rate exponential noise (``Tensor.exponential_``) by ``rate``,
    so samples are differentiable in ``rate``.
    """

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    # The carrier measure k(x) is identically zero.
    _mean_carrier_measure = 0

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        # A plain number becomes a 0-d tensor, whose shape is the empty batch shape.
        super().__init__(cr.Size(self.rate.shape), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Exponential:
        out = self._get_checked_instance(Exponential, _instance)
        return self._expand_into(out, batch_shape, ("rate",))

    @property
    def mean(self) -> cr.Tensor:
        return 1.0 / self.rate

    @property
    def mode(self) -> cr.Tensor:
        # The density is decreasing on [0, inf), so the mode is always 0.
        return cr.zeros_like(self.rate)

    @property
    def stddev(self) -> cr.Tensor:
        return 1.0 / self.rate

    @property
    def variance(self) -> cr.Tensor:
        return 1.0 / (self.rate * self.rate)

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        unit = cr.empty(self._extended_shape(sample_shape), dtype=self.rate.dtype)
        return unit.exponential_() / self.rate

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return cr.log(self.rate) - value * self.rate

    def cdf(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        # F(x) = 1 - exp(-rate x), evaluated literally so results match PyTorch's bit for bit.
        return 1 - cr.exp(-value * self.rate)

    def icdf(self, value: cr.Tensor) -> cr.Tensor:
        # Solve 1 - exp(-rate x) = q:  x = -log(1 - q) / rate.
        return cr.log1p(-value) / -self.rate

    def entropy(self) -> cr.Tensor:
        # H = 1 - log(rate).
        return 1.0 - cr.log(self.rate)

    @property
    def _natural_params(self) -> tuple[cr.Tensor]:
        return (-self.rate,)

    def _log_normalizer(self, x: cr.Tensor) -> cr.Tensor:
        return -cr.log(-x)
