"""The continuous Bernoulli distribution (API of ``torch.distributions.ContinuousBernoulli``).

Loaiza-Ganem & Cunningham, "The continuous Bernoulli: fixing a pervasive error in variational
autoencoders", NeurIPS 2019 (https://arxiv.org/abs/1907.06845). For a shape parameter
λ ∈ (0, 1) the density on [0, 1] is

    p(x | λ) = C(λ) λ^x (1 - λ)^(1 - x),   C(λ) = 2 artanh(1 - 2λ) / (1 - 2λ)  (C(1/2) = 2).

Every closed form below divides by ``1 - 2λ`` or by ``ln((1-λ)/λ)``, both zero at λ = 1/2, so
inside a small window ``lims`` around 1/2 the quantities are replaced by their Taylor expansions
in ``λ - 1/2`` and the closed forms are evaluated at a harmless substitute value (the lower window
edge) so that neither the value nor the gradient picks up a NaN from the unused branch.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor
from chainrule.nn.functional import binary_cross_entropy_with_logits

from . import constraints
from .exp_family import ExponentialFamily
from .utils import (
    _EMPTY_SIZE,
    _Number,
    broadcast_all,
    clamp_probs,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
)

__all__ = ["ContinuousBernoulli"]

_LN2 = math.log(2.0)


def _log_abs_1m2p(p: Tensor) -> Tensor:
    """``ln|1 - 2p|`` for p ≠ 1/2, each branch fed only arguments valid for it."""
    low = cr.le(p, 0.5)
    p_low = cr.where(low, p, cr.zeros_like(p))
    p_high = cr.where(cr.ge(p, 0.5), p, cr.ones_like(p))
    return cr.where(low, cr.log1p(-2.0 * p_low), cr.log(2.0 * p_high - 1.0))


def _log_odds_of_zero(p: Tensor) -> Tensor:
    """``ln((1 - p) / p)``, i.e. ``-2 artanh(2p - 1)``, from the two logs separately."""
    return cr.log1p(-p) - cr.log(p)


class ContinuousBernoulli(ExponentialFamily):
    r"""Continuous Bernoulli distribution on [0, 1], given by ``probs`` or ``logits``.

    ``probs`` (λ in (0, 1)) and ``logits`` (``ln(λ / (1 - λ))``) play the role they do for the
    Bernoulli, but here λ is a shape parameter, not a probability, and the logit is the natural
    parameter of the exponential family rather than a log-odds. Exactly one of them is given;
    ``probs`` is clamped slightly inside (0, 1) for numerical stability. Sampling is by
    inversion of the CDF and is reparameterised.

    Example::
        >>> d = ContinuousBernoulli(cr.tensor([0.5]))
        >>> d.mean
        tensor([0.5000])

    Args:
        probs (Number, Tensor): λ, in the closed unit interval.
        logits (Number, Tensor): the real logit of λ.
        lims (tuple of float): the window around 1/2 in which Taylor expansions are used.
        validate_args (bool, optional): check parameters and samples against the constraints.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(
        self,
        probs: Tensor | float | None = None,
        logits: Tensor | float | None = None,
        lims: tuple[float, float] = (0.499, 0.501),
        validate_args: bool | None = None,
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        given = probs if probs is not None else logits
        if probs is not None:
            (raw,) = broadcast_all(probs)
            # The clamp below would hide out-of-range values from the generic check in
            # Distribution.__init__, so an explicitly requested validation happens first.
            if validate_args is not None and not self.arg_constraints["probs"].check(raw).all():
                raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(raw)
            self._param = self.probs
        else:
            (self.logits,) = broadcast_all(logits)
            self._param = self.logits
        batch_shape = cr.Size() if isinstance(given, _Number) else self._param.size()
        self._lims = lims
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(ContinuousBernoulli, _instance)
        out._lims = self._lims
        return self._expand_into(out, batch_shape, ("probs", "logits"))

    def _new(self, *args: Any, **kwargs: Any) -> Tensor:
        return self._param.new(*args, **kwargs)

    # -- the λ ≈ 1/2 window -------------------------------------------------------------------

    def _outside_unstable_region(self) -> Tensor:
        """True where λ lies outside ``(lims[0], lims[1]]``, i.e. the closed forms are safe."""
        lo, hi = self._lims
        return cr.le(self.probs, lo) | cr.gt(self.probs, hi)

    def _cut_probs(self) -> Tensor:
        """λ where the closed forms are used, the window's lower edge elsewhere."""
        return cr.where(
            self._outside_unstable_region(),
            self.probs,
            cr.full_like(self.probs, self._lims[0]),
        )

    def _cont_bern_log_norm(self) -> Tensor:
        """``ln C(λ) = ln|ln((1-λ)/λ)| - ln|1 - 2λ|``; near 1/2, with d = (λ - 1/2)²,
        ``ln 2 + 4/3 d + 104/45 d²``."""
        lam = self._cut_probs()
        exact = cr.log(cr.abs(_log_odds_of_zero(lam))) - _log_abs_1m2p(lam)
        d = (self.probs - 0.5) ** 2
        series = _LN2 + (4.0 / 3.0) * d + (104.0 / 45.0) * d * d
        return cr.where(self._outside_unstable_region(), exact, series)

    # -- moments ------------------------------------------------------------------------------

    @property
    def mean(self) -> Tensor:
        """``λ / (2λ - 1) + 1 / ln((1-λ)/λ)``; near 1/2, with t = λ - 1/2,
        ``1/2 + t/3 + 16/45 t³``."""
        lam = self._cut_probs()
        exact = lam / (2.0 * lam - 1.0) + 1.0 / _log_odds_of_zero(lam)
        t = self.probs - 0.5
        series = 0.5 + t / 3.0 + (16.0 / 45.0) * t**3
        return cr.where(self._outside_unstable_region(), exact, series)

    @property
    def stddev(self) -> Tensor:
        return cr.sqrt(self.variance)

    @property
    def variance(self) -> Tensor:
        """``λ(λ - 1) / (1 - 2λ)² + 1 / ln((1-λ)/λ)²``; near 1/2, with d = (λ - 1/2)²,
        ``1/12 - d/15 + 128/945 d²``."""
        lam = self._cut_probs()
        exact = lam * (lam - 1.0) / (1.0 - 2.0 * lam) ** 2 + _log_odds_of_zero(lam) ** -2
        d = (self.probs - 0.5) ** 2
        series = 1.0 / 12.0 - d / 15.0 + (128.0 / 945.0) * d * d
        return cr.where(self._outside_unstable_region(), exact, series)

    # -- the two parameterisations ------------------------------------------------------------

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self) -> cr.Size:
        return self._param.size()

    # -- sampling and densities ---------------------------------------------------------------

    def _uniform(self, sample_shape: Any) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return cr.rand(shape, dtype=self.probs.dtype, device=self.probs.device)

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        u = self._uniform(sample_shape)
        with cr.no_grad():
            return self.icdf(u)

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        return self.icdf(self._uniform(sample_shape))

    def log_prob(self, value: Tensor) -> Tensor:
        """``x ln λ + (1 - x) ln(1 - λ) + ln C(λ)``; the first two terms are minus the binary
        cross-entropy with logits, which is the numerically stable way to form them."""
        if self._validate_args:
            self._validate_sample(value)
        eta, x = broadcast_all(self.logits, value)
        bce = binary_cross_entropy_with_logits(eta, x, reduction="none")
        return self._cont_bern_log_norm() - bce

    def cdf(self, value: Tensor) -> Tensor:
        """``(λ^x (1-λ)^(1-x) + λ - 1) / (2λ - 1)`` on [0, 1] (x itself near λ = 1/2), 0 below
        and 1 above."""
        if self._validate_args:
            self._validate_sample(value)
        lam = self._cut_probs()
        kernel = cr.pow(lam, value) * cr.pow(1.0 - lam, 1.0 - value)
        inside = cr.where(
            self._outside_unstable_region(), (kernel + lam - 1.0) / (2.0 * lam - 1.0), value
        )
        above = cr.where(cr.ge(value, 1.0), cr.ones_like(value), inside)
        return cr.where(cr.le(value, 0.0), cr.zeros_like(value), above)

    def icdf(self, value: Tensor) -> Tensor:
        """Inverse CDF: ``(ln(1 - λ + u(2λ - 1)) - ln(1 - λ)) / (ln λ - ln(1 - λ))``, and u
        itself near λ = 1/2 (where the distribution is nearly uniform)."""
        lam = self._cut_probs()
        log_q = cr.log1p(-lam)
        solved = (cr.log1p(-lam + value * (2.0 * lam - 1.0)) - log_q) / (cr.log(lam) - log_q)
        return cr.where(self._outside_unstable_region(), solved, value)

    def entropy(self) -> Tensor:
        """``-E[ln p(X)] = E[X] ln((1-λ)/λ) - ln C(λ) - ln(1 - λ)``."""
        log_q = cr.log1p(-self.probs)
        return self.mean * (log_q - cr.log(self.probs)) - self._cont_bern_log_norm() - log_q

    # -- exponential-family form --------------------------------------------------------------

    @property
    def _natural_params(self) -> tuple[Tensor]:
        return (self.logits,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        """``F(η) = ln((e^η - 1) / η)`` for the natural parameter η, with the series
        ``η/2 + η²/24 - η⁴/2880`` near η = 0.

        The window is the ``lims`` interval shifted by -1/2 and applied to η directly, which is
        the convention PyTorch uses."""
        lo, hi = self._lims[0] - 0.5, self._lims[1] - 0.5
        safe = cr.le(x, lo) | cr.gt(x, hi)
        eta = cr.where(safe, x, cr.full_like(x, lo))
        exact = cr.log(cr.abs(cr.special.expm1(eta))) - cr.log(cr.abs(eta))
        series = 0.5 * x + x**2 / 24.0 - x**4 / 2880.0
        return cr.where(safe, exact, series)
