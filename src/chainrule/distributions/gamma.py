"""Gamma distribution with API of ``torch.distributions.Gamma``.

Shape/rate parameterisation: density ``b**a x**(a-1) exp(-b x) / Gamma(a)`` on ``x >= 0``.
Draws come from the unit-rate sampler :func:`standard_gamma` (whose backward is the implicit
reparameterisation gradient) divided by the rate.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule import Tensor

from ..ops.random_gamma import standard_gamma
from . import constraints
from .exp_family import ExponentialFamily
from .utils import _EMPTY_SIZE, _Number, broadcast_all

__all__ = ["Gamma"]


class Gamma(ExponentialFamily):
    r"""Gamma law with shape ``concentration`` (alpha) and ``rate`` (beta = 1 / scale).

    Args:
        concentration (float or Tensor): shape ``a > 0``.
        rate (float or Tensor): inverse scale ``b > 0``.
    """

    arg_constraints = {
        "concentration": constraints.positive,
        "rate": constraints.positive,
    }
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(
        self,
        concentration: Tensor | float,
        rate: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        # Two plain numbers describe a single scalar law; otherwise the broadcast shape rules.
        both_numbers = isinstance(concentration, _Number) and isinstance(rate, _Number)
        shape = cr.Size() if both_numbers else self.concentration.size()
        super().__init__(shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(Gamma, _instance)
        shape = cr.Size(batch_shape)
        out.concentration = self.concentration.expand(shape)
        out.rate = self.rate.expand(shape)
        super(Gamma, out).__init__(shape, validate_args=False)
        out._validate_args = self._validate_args
        return out

    # ---- moments ---------------------------------------------------------------------------
    @property
    def mean(self) -> Tensor:
        """``a / b``."""
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        """``(a - 1) / b`` for ``a >= 1``; the density peaks at 0 when ``a < 1``."""
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        """``a / b**2``."""
        return self.concentration / self.rate.square()

    # ---- sampling --------------------------------------------------------------------------
    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        full = self._extended_shape(sample_shape)
        unit = standard_gamma(self.concentration.expand(full))
        draw = unit / self.rate.expand(full)
        # Tiny shapes can underflow to exactly 0, where log_prob is -inf. Raise such values to
        # the smallest normal float in the data only, leaving the recorded gradient alone.
        floor = cr.finfo(draw.dtype).tiny
        draw.detach().clamp_(min=floor)
        return draw

    # ---- density, CDF, entropy -------------------------------------------------------------
    def log_prob(self, value: Tensor) -> Tensor:
        """``a log b + (a - 1) log x - b x - lgamma(a)``.

        ``xlogy`` makes ``0 * log 0 = 0``, so ``x = 0`` is handled for ``a = 1`` (exponential).
        """
        ref = self.rate
        x = cr.as_tensor(value, dtype=ref.dtype, device=ref.device)
        if self._validate_args:
            self._validate_sample(x)
        a, b = self.concentration, self.rate
        return cr.xlogy(a - 1, x) - b * x + cr.xlogy(a, b) - cr.lgamma(a)

    def cdf(self, value: Tensor) -> Tensor:
        """Regularised lower incomplete gamma function ``P(a, b x)``."""
        if self._validate_args:
            self._validate_sample(value)
        return cr.special.gammainc(self.concentration, value * self.rate)

    def entropy(self) -> Tensor:
        """``a - log b + lgamma(a) + (1 - a) digamma(a)``."""
        a = self.concentration
        return a + cr.lgamma(a) + (1.0 - a) * cr.digamma(a) - cr.log(self.rate)

    # ---- exponential-family form -----------------------------------------------------------
    # Sufficient statistics (log x, x) with natural parameters (a - 1, -b); the log-normaliser
    # in those coordinates is lgamma(t1 + 1) - (t1 + 1) log(-t2).
    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        shape = x + 1
        return cr.lgamma(shape) - shape * cr.log(-y)
