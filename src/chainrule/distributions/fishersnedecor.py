"""Fisher-Snedecor (F) distribution with API of ``torch.distributions.FisherSnedecor``.

``F = (U1 / d1) / (U2 / d2)`` for independent ``U_i ~ Chi2(d_i)``. Each scaled chi-square
``U_i / d_i`` is ``Gamma(d_i / 2, rate=d_i / 2)``; the implementation keeps the two gamma laws
``Gamma(d_i / 2, rate=d_i)`` whose ratio is the same (the common factor 2 cancels).
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .distribution import Distribution
from .gamma import Gamma
from .utils import _EMPTY_SIZE, _Number, broadcast_all

__all__ = ["FisherSnedecor"]


class FisherSnedecor(Distribution):
    r"""F law with ``df1`` numerator and ``df2`` denominator degrees of freedom.

    Args:
        df1 (float or Tensor): numerator degrees of freedom (``> 0``).
        df2 (float or Tensor): denominator degrees of freedom (``> 0``).
    """

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(
        self,
        df1: Tensor | float,
        df2: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        self.df1, self.df2 = broadcast_all(df1, df2)
        self._gamma1 = Gamma(0.5 * self.df1, self.df1)
        self._gamma2 = Gamma(0.5 * self.df2, self.df2)
        both_numbers = isinstance(df1, _Number) and isinstance(df2, _Number)
        shape = cr.Size() if both_numbers else self.df1.size()
        super().__init__(shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(FisherSnedecor, _instance)
        shape = cr.Size(batch_shape)
        out.df1, out.df2 = self.df1.expand(shape), self.df2.expand(shape)
        out._gamma1, out._gamma2 = self._gamma1.expand(shape), self._gamma2.expand(shape)
        super(FisherSnedecor, out).__init__(shape, validate_args=False)
        out._validate_args = self._validate_args
        return out

    # ---- moments ---------------------------------------------------------------------------
    # Where a moment is undefined the result is NaN. The offending entries are replaced by NaN
    # *before* the formula with masked_fill, so that no gradient comes back from them.
    @property
    def mean(self) -> Tensor:
        """``d2 / (d2 - 2)`` for ``d2 > 2``."""
        d2 = self.df2.masked_fill(self.df2 <= 2, math.nan)
        return d2 / (d2 - 2)

    @property
    def mode(self) -> Tensor:
        """``(d1 - 2) / d1 * d2 / (d2 + 2)`` for ``d1 > 2``."""
        d1, d2 = self.df1, self.df2
        peak = (d1 - 2) / d1 * (d2 / (d2 + 2))
        return peak.masked_fill(d1 <= 2, math.nan)

    @property
    def variance(self) -> Tensor:
        """``2 d2**2 (d1 + d2 - 2) / (d1 (d2 - 2)**2 (d2 - 4))`` for ``d2 > 4``."""
        d1 = self.df1
        d2 = self.df2.masked_fill(self.df2 <= 4, math.nan)
        num = 2 * d2.square() * (d1 + d2 - 2)
        return num / (d1 * (d2 - 2).square() * (d2 - 4))

    # ---- sampling, density -----------------------------------------------------------------
    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        full = self._extended_shape(sample_shape)
        numer = self._gamma1.rsample(sample_shape).view(full)
        denom = self._gamma2.rsample(sample_shape).view(full)
        # Keep the ratio finite and strictly positive even when a gamma draw underflows.
        tiny = cr.finfo(denom.dtype).tiny
        return (numer / denom.clamp(min=tiny)).clamp(min=tiny)

    def log_prob(self, value: Tensor) -> Tensor:
        """``log p(x) = h1 log(r) + (h1 - 1) log x - (h1 + h2) log1p(r x) - log B(h1, h2)``,
        with ``h_i = d_i / 2`` and ``r = d1 / d2``."""
        if self._validate_args:
            self._validate_sample(value)
        h1, h2 = 0.5 * self.df1, 0.5 * self.df2
        h = h1 + h2
        ratio = self.df1 / self.df2
        neg_log_beta = h.lgamma() - h1.lgamma() - h2.lgamma()
        log_kernel = h1 * ratio.log() + (h1 - 1) * cr.log(value)
        return neg_log_beta + log_kernel - h * cr.log1p(ratio * value)
