"""The two-parameter Weibull distribution (API of ``torch.distributions.Weibull``).

With scale λ > 0 and shape (concentration) k > 0 the CDF is ``1 - exp(-(x/λ)^k)`` for x > 0.
Inverting it shows that ``λ E^(1/k)`` is Weibull when E ~ Exponential(1), so the distribution is
built as that exponential pushed through ``x ↦ x^(1/k)`` and then ``x ↦ λ x``; sampling,
``log_prob``, ``cdf`` and ``icdf`` all come from ``TransformedDistribution``.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .exponential import Exponential
from .gumbel import euler_constant
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .utils import broadcast_all

__all__ = ["Weibull"]


def _weibull_chain(scale: Tensor, inv_k: Tensor) -> list[Any]:
    """The transforms taking an Exponential(1) variate E to ``scale * E**inv_k``."""
    return [PowerTransform(exponent=inv_k), AffineTransform(loc=0, scale=scale)]


def _gamma_fn(x: Tensor) -> Tensor:
    """Γ(x) for positive x, through ``exp(lnΓ)`` (differentiable)."""
    return cr.exp(cr.lgamma(x))


class Weibull(TransformedDistribution):
    r"""Weibull distribution with scale λ and concentration (shape) k.

    Density ``(k/λ) (x/λ)^(k-1) exp(-(x/λ)^k)`` on x > 0. ``scale`` and ``concentration`` are
    broadcast together; their common shape is the batch shape.

    Example:
        >>> d = Weibull(cr.tensor([2.0]), cr.tensor([1.0]))  # k = 1: exponential, mean 2
        >>> d.mean
        tensor([2.])

    Args:
        scale (float or Tensor): λ, positive.
        concentration (float or Tensor): k, positive.
        validate_args (bool, optional): check parameters and samples against the constraints.
    """

    arg_constraints = {
        "scale": constraints.positive,
        "concentration": constraints.positive,
    }
    support = constraints.positive

    def __init__(
        self,
        scale: Tensor | float,
        concentration: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        self.scale, self.concentration = broadcast_all(scale, concentration)
        # 1/k appears in every moment and in the power transform; compute it once.
        self.concentration_reciprocal = self.concentration.reciprocal()
        unit_exponential = Exponential(cr.ones_like(self.scale), validate_args=validate_args)
        super().__init__(
            unit_exponential,
            _weibull_chain(self.scale, self.concentration_reciprocal),
            validate_args=validate_args,
        )

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(Weibull, _instance)
        out.scale = self.scale.expand(batch_shape)
        out.concentration = self.concentration.expand(batch_shape)
        out.concentration_reciprocal = out.concentration.reciprocal()
        super(Weibull, out).__init__(
            self.base_dist.expand(batch_shape),
            _weibull_chain(out.scale, out.concentration_reciprocal),
            validate_args=False,
        )
        out._validate_args = self._validate_args
        return out

    @property
    def mean(self) -> Tensor:
        """``λ Γ(1 + 1/k)``."""
        return self.scale * _gamma_fn(1 + self.concentration_reciprocal)

    @property
    def mode(self) -> Tensor:
        """``λ ((k - 1) / k)^(1/k)``, evaluated the way a real power would be.

        For k < 1 the base is negative: the power is then real only where 1/k is an integer
        (negative for odd 1/k) and NaN elsewhere, matching PyTorch. It is computed as
        ``|base|^(1/k)`` with the sign restored, so no floating-point warning is raised and the
        gradient at the NaN entries is zero rather than NaN."""
        k = self.concentration
        base = (k - 1) / k
        e = k.reciprocal()
        integral = e == e.round()
        odd = integral & (e.remainder(2) == 1)
        mag = base.abs() ** e
        signed = cr.where((base < 0) & odd, -mag, mag)
        return self.scale * cr.where((base >= 0) | integral, signed, math.nan)

    @property
    def variance(self) -> Tensor:
        """``λ² (Γ(1 + 2/k) - Γ(1 + 1/k)²)``; the square is taken as ``exp(2 lnΓ)``."""
        inv_k = self.concentration_reciprocal
        second = _gamma_fn(1 + 2 * inv_k)
        first_sq = cr.exp(2 * cr.lgamma(1 + inv_k))
        return self.scale.pow(2) * (second - first_sq)

    def entropy(self) -> Tensor:
        """``γ (1 - 1/k) + ln(λ / k) + 1`` with γ the Euler-Mascheroni constant."""
        inv_k = self.concentration_reciprocal
        return euler_constant * (1 - inv_k) + cr.log(self.scale * inv_k) + 1
