"""The von Mises distribution on the circle, mirroring ``torch.distributions.VonMises``.

Density on angles ``theta`` (taken modulo ``2 pi``)::

    p(theta) = exp(kappa * cos(theta - mu)) / (2 pi I0(kappa))

with ``mu = loc`` and ``kappa = concentration``; ``I_n`` is the modified Bessel function of the
first kind. ``log I0`` and ``log I1`` come from the polynomial approximations of Abramowitz &
Stegun (9.8.1-9.8.4), written with chainrule ops so that they are differentiable in ``kappa``.
Sampling uses the rejection scheme of Best & Fisher (1979) and is not reparameterised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .distribution import Distribution
from .utils import _EMPTY_SIZE, broadcast_all, lazy_property

__all__ = ["VonMises"]

# Abramowitz & Stegun polynomial coefficients, lowest power first. Below the switch point
# x = 3.75 they are polynomials in t = (x / 3.75)^2 for I0(x) and I1(x) / x (9.8.1, 9.8.3);
# above it, polynomials in t = 3.75 / x for sqrt(x) exp(-x) I_n(x) (9.8.2, 9.8.4).
_SWITCH = 3.75
_BESSEL_COEFFS: dict[tuple[int, bool], tuple[float, ...]] = {
    (0, False): (1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813),
    (1, False): (0.5, 0.87890594, 0.51498869, 0.15084934, 0.02658733, 0.00301532, 0.00032411),
    (0, True): (
        0.39894228,
        0.01328592,
        0.00225319,
        -0.00157565,
        0.00916281,
        -0.02057706,
        0.02635537,
        -0.01647633,
        0.00392377,
    ),
    (1, True): (
        0.39894228,
        -0.03988024,
        -0.00362018,
        0.00163801,
        -0.01031555,
        0.02282967,
        -0.02895312,
        0.01787654,
        -0.00420059,
    ),
}


def _horner(t: Tensor, coeffs: Sequence[float]) -> Tensor:
    """``sum_i coeffs[i] * t**i`` evaluated by Horner's rule (highest power first)."""
    acc: Any = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        acc = acc * t + c
    return acc


def _log_bessel_i(x: Tensor, order: int) -> Tensor:
    """``log I_order(x)`` for ``x > 0`` and ``order`` in {0, 1}.

    Both approximations are evaluated and the right one picked per element. The large-argument
    branch is evaluated at ``max(x, 3.75)`` so that its polynomial (which can turn negative for
    small ``x``) never yields a NaN that ``where`` would leak into the gradient.
    """
    if order not in (0, 1):
        raise AssertionError(f"order must be 0 or 1, got {order}")
    # small x: I0 = P(t), I1 = x * P(t)
    near = _horner((x / _SWITCH).square(), _BESSEL_COEFFS[order, False])
    if order == 1:
        near = near * x.abs()
    log_near = near.log()
    # large x: I_n = exp(x) / sqrt(x) * Q(3.75 / x)
    far_x = x.clamp(min=_SWITCH)
    far_poly = _horner(_SWITCH / far_x, _BESSEL_COEFFS[order, True])
    log_far = far_x - 0.5 * far_x.log() + far_poly.log()
    return cr.where(x < _SWITCH, log_near, log_far)


def _envelope_parameter(kappa: Tensor) -> Tensor:
    """Best & Fisher's wrapped-Cauchy envelope parameter ``r = (1 + rho^2) / (2 rho)``, with
    ``tau = 1 + sqrt(1 + 4 kappa^2)`` and ``rho = (tau - sqrt(2 tau)) / (2 kappa)``.

    For ``kappa < 1e-5`` the closed form cancels catastrophically; there its expansion
    ``r ~ 1 / kappa + kappa`` is used instead.
    """
    tau = 1 + (1 + 4 * kappa.square()).sqrt()
    rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
    exact = (1 + rho.square()) / (2 * rho)
    return cr.where(kappa < 1e-5, kappa.reciprocal() + kappa, exact)


def _best_fisher(kappa: Tensor, r: Tensor, shape: cr.Size) -> Tensor:
    """Angles in ``[-pi, pi]`` from a von Mises law centred at 0 (Best & Fisher, 1979).

    Each round draws three uniforms per still-pending element: ``u1`` proposes
    ``f = (1 + r z) / (r + z)`` with ``z = cos(pi u1)``; it is accepted against ``u2`` by the
    quick test ``c (2 - c) > u2`` or the exact test ``log(c / u2) + 1 - c >= 0`` where
    ``c = kappa (r - f)``; ``u3`` picks the sign of ``acos(f)`` (``sign(u3 - 0.5)``). Rounds
    repeat until every element has been accepted once; as in PyTorch's sampler (and so its
    values under one seed), every round draws for every element and an acceptance in a later
    round replaces an earlier one.
    """
    dtype, device = kappa.dtype, kappa.device
    theta = cr.zeros(shape, dtype=dtype, device=device)
    pending = cr.ones(shape, dtype=cr.bool, device=device)
    while pending.any():
        u1, u2, u3 = cr.rand((3, *shape), dtype=dtype, device=device).unbind()
        z = cr.cos(math.pi * u1)
        f = (1 + r * z) / (r + z)
        c = kappa * (r - f)
        quick = c * (2 - c) > u2
        exact = (c / u2).log() + 1 - c >= 0
        take = quick | exact
        theta = cr.where(take, (u3 - 0.5).sign() * f.acos(), theta)
        pending = pending & ~take
    return theta


class VonMises(Distribution):
    """Circular von Mises distribution with mean direction ``loc`` and ``concentration``.

    ``loc`` and the values scored by :meth:`log_prob` may be any real numbers (which keeps
    optimisation unconstrained); they are read as angles modulo ``2 pi``. Samples are returned
    in ``[-pi, pi)``. ``mean`` and ``variance`` are the circular ones: the mean direction and
    ``1 - I1(kappa) / I0(kappa)``.

    Example::
        >>> m = VonMises(cr.tensor([1.0]), cr.tensor([1.0]))
        >>> m.sample()  # doctest: +SKIP
        tensor([1.9777])

    Args:
        loc (Tensor): mean direction, in radians.
        concentration (Tensor): ``kappa > 0``; larger means more peaked around ``loc``.
        validate_args (bool, optional): check the arguments (and scored values).
    """

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(
        self,
        loc: Tensor,
        concentration: Tensor,
        validate_args: bool | None = None,
    ) -> None:
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, cr.Size(), validate_args)

    def log_prob(self, value: Tensor) -> Tensor:
        """``kappa cos(value - loc) - log(2 pi) - log I0(kappa)``."""
        if self._validate_args:
            self._validate_sample(value)
        log_norm = math.log(2 * math.pi) + _log_bessel_i(self.concentration, 0)
        return self.concentration * cr.cos(value - self.loc) - log_norm

    @lazy_property
    def _sampling_params(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(loc, kappa, r)`` in float64: in single precision the rejection loop can stall
        for tiny ``kappa`` (around 1e-4), where ``r`` is huge and ``c`` rounds poorly."""
        kappa = self.concentration.to(cr.float64)
        return self.loc.to(cr.float64), kappa, _envelope_parameter(kappa)

    @cr.no_grad()
    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        """Draw angles in ``[-pi, pi)`` by Best & Fisher's rejection sampler (computed in
        float64, returned in the dtype of ``loc``)."""
        shape = self._extended_shape(sample_shape)
        loc, kappa, r = self._sampling_params
        theta = _best_fisher(kappa, r, shape) + loc
        wrapped = cr.remainder(theta + math.pi, 2 * math.pi) - math.pi
        return wrapped.to(self.loc.dtype)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        """A von Mises distribution with parameters broadcast to ``batch_shape``."""
        batch_shape = cr.Size(batch_shape)
        loc = self.loc.expand(batch_shape)
        concentration = self.concentration.expand(batch_shape)
        validate = self.__dict__.get("_validate_args")
        if _instance is None:
            return type(self)(loc, concentration, validate_args=validate)
        _instance.loc, _instance.concentration = loc, concentration
        Distribution.__init__(_instance, batch_shape, cr.Size(), validate_args=False)
        _instance._validate_args = self._validate_args
        return _instance

    @property
    def mean(self) -> Tensor:
        """The circular mean (mean direction), i.e. ``loc``."""
        return self.loc

    @property
    def mode(self) -> Tensor:
        """The density peaks at ``loc``."""
        return self.loc

    @lazy_property
    def variance(self) -> Tensor:
        """The circular variance ``1 - I1(kappa) / I0(kappa)`` (one minus the mean resultant
        length), computed from the log-Bessel approximations."""
        log_ratio = _log_bessel_i(self.concentration, 1) - _log_bessel_i(self.concentration, 0)
        return 1 - log_ratio.exp()
