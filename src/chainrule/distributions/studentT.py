"""Student's t distribution with API of ``torch.distributions.StudentT``.

Location-scale family built on the standard t law with ``df`` degrees of freedom, which is a
standard normal divided by ``sqrt(V / df)`` for an independent ``V ~ Chi2(df)``; that ratio
is also how reparameterised samples are drawn.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .chi2 import Chi2
from .distribution import Distribution
from .utils import _EMPTY_SIZE, _standard_normal, broadcast_all

__all__ = ["StudentT"]

_HALF_LOG_PI = 0.5 * math.log(math.pi)  # = lgamma(1/2)


class StudentT(Distribution):
    r"""Student's t law with ``df`` degrees of freedom, location ``loc`` and scale ``scale``.

    Density: ``Gamma((v+1)/2) / (Gamma(v/2) sqrt(v pi) s) * (1 + z**2 / v)**(-(v+1)/2)``
    with ``z = (x - loc) / s`` and ``v = df``.

    Args:
        df (float or Tensor): degrees of freedom (``> 0``).
        loc (float or Tensor): location; the mean when ``df > 1``.
        scale (float or Tensor): scale (``> 0``).
    """

    arg_constraints = {
        "df": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(
        self,
        df: Tensor | float,
        loc: Tensor | float = 0.0,
        scale: Tensor | float = 1.0,
        validate_args: bool | None = None,
    ) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(self.df.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(StudentT, _instance)
        shape = cr.Size(batch_shape)
        out.df, out.loc, out.scale = (p.expand(shape) for p in (self.df, self.loc, self.scale))
        out._chi2 = self._chi2.expand(shape)
        super(StudentT, out).__init__(shape, validate_args=False)
        out._validate_args = self._validate_args
        return out

    # ---- moments ---------------------------------------------------------------------------
    # Undefined moments are reported as NaN and divergent ones as +inf. masked_fill (rather
    # than where) is used so that no gradient flows from the discarded entries.
    @property
    def mean(self) -> Tensor:
        """``loc`` when ``df > 1``; NaN otherwise."""
        return self.loc.masked_fill(self.df <= 1, math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        """``scale**2 * df / (df - 2)`` for ``df > 2``, ``+inf`` for ``1 < df <= 2``, else NaN."""
        df = self.df
        heavy = df <= 2
        # Substitute a harmless df where the formula does not apply, so it stays finite.
        df_ok = df.masked_fill(heavy, 3.0)
        finite = self.scale.square() * df_ok / (df_ok - 2)
        return finite.masked_fill(heavy, math.inf).masked_fill(df <= 1, math.nan)

    # ---- sampling, density, entropy --------------------------------------------------------
    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        """``loc + scale * N / sqrt(V / df)`` with ``N ~ Normal(0, 1)``, ``V ~ Chi2(df)``.

        In float32 the heavy tails make samples agree less closely with reference
        implementations than other families do; float64 parameters help.
        """
        full = self._extended_shape(sample_shape)
        normal = _standard_normal(full, dtype=self.df.dtype, device=self.df.device)
        chi2 = self._chi2.rsample(sample_shape)
        t = normal * cr.rsqrt(chi2 / self.df)
        return self.scale * t + self.loc

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        half_df = 0.5 * self.df
        half_df_p = 0.5 * (self.df + 1.0)
        z = (value - self.loc) / self.scale
        # log of the normalising constant: lgamma((v+1)/2) - lgamma(v/2) - log(s sqrt(v pi))
        log_norm = (
            cr.lgamma(half_df_p)
            - cr.lgamma(half_df)
            - 0.5 * self.df.log()
            - _HALF_LOG_PI
            - self.scale.log()
        )
        return log_norm - half_df_p * cr.log1p(z.square() / self.df)

    def entropy(self) -> Tensor:
        """``log s + (v+1)/2 (digamma((v+1)/2) - digamma(v/2)) + log(sqrt(v) B(v/2, 1/2))``."""
        half_df = 0.5 * self.df
        half_df_p = 0.5 * (self.df + 1)
        log_beta = cr.lgamma(half_df) + _HALF_LOG_PI - cr.lgamma(half_df_p)
        spread = half_df_p * (cr.digamma(half_df_p) - cr.digamma(half_df))
        return self.scale.log() + 0.5 * self.df.log() + log_beta + spread
