"""Negative binomial distribution with API of ``torch.distributions.NegativeBinomial``.

Counts the successes seen before the ``total_count``-th failure in Bernoulli trials that
succeed with probability ``p``:

    P(k) = C(k + r - 1, k) p**k (1 - p)**r,     r = total_count (any real r >= 0).

Internally the log-odds ``logits = log(p / (1 - p))`` are the working parameter: the
log-probabilities of success and failure are ``logsigmoid(logits)`` and
``logsigmoid(-logits)``, which stay accurate for ``p`` near 0 or 1.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import Tensor

from . import constraints
from .distribution import Distribution
from .gamma import Gamma
from .utils import _EMPTY_SIZE, broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["NegativeBinomial"]


class NegativeBinomial(Distribution):
    r"""Number of successes before ``total_count`` failures.

    Exactly one of ``probs`` / ``logits`` must be given; the other is derived lazily.

    Args:
        total_count (float or Tensor): number of failures to stop at (``>= 0``; need not be
            an integer).
        probs (Tensor): success probability of each trial, in ``[0, 1)``.
        logits (Tensor): log-odds of success of each trial.
    """

    arg_constraints = {
        "total_count": constraints.greater_than_eq(0),
        "probs": constraints.half_open_interval(0.0, 1.0),
        "logits": constraints.real,
    }
    support = constraints.nonnegative_integer

    def __init__(
        self,
        total_count: Tensor | float,
        probs: Tensor | None = None,
        logits: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        given = "probs" if probs is not None else "logits"
        count, param = broadcast_all(total_count, probs if probs is not None else logits)
        # The count takes the parameter's floating dtype (an int count would otherwise leak).
        self.total_count = count.type_as(param)
        setattr(self, given, param)
        self._param = param
        super().__init__(param.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> NegativeBinomial:
        out = self._get_checked_instance(NegativeBinomial, _instance)
        out.total_count = self.total_count.expand(cr.Size(batch_shape))
        return self._expand_into(out, batch_shape, ("probs", "logits"))

    def _new(self, *args: Any, **kwargs: Any) -> Tensor:
        """A new tensor with the dtype and device of the defining parameter."""
        return self._param.new(*args, **kwargs)

    # ---- parameter views -------------------------------------------------------------------
    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> cr.Size:
        return self._param.size()

    # ---- moments (odds = p / (1 - p) = exp(logits)) ----------------------------------------
    @property
    def mean(self) -> Tensor:
        """``r p / (1 - p)``."""
        return cr.exp(self.logits) * self.total_count

    @property
    def mode(self) -> Tensor:
        """``floor((r - 1) p / (1 - p))``, or 0 when that is negative."""
        return (self.logits.exp() * (self.total_count - 1)).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        """``r p / (1 - p)**2``: the mean divided by the failure probability ``sigmoid(-l)``."""
        return self.mean / cr.sigmoid(-self.logits)

    # ---- sampling --------------------------------------------------------------------------
    @lazy_property
    def _gamma(self) -> Gamma:
        # Mixing law of the Poisson rate. Left unvalidated: total_count = 0 is allowed here
        # but is not a valid gamma shape.
        return Gamma(
            concentration=self.total_count,
            rate=cr.exp(-self.logits),
            validate_args=False,
        )

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        """Gamma-Poisson mixture: ``Poisson(lam)`` with ``lam ~ Gamma(r, rate=(1 - p) / p)``."""
        with cr.no_grad():
            lam = self._gamma.sample(sample_shape=sample_shape)
            # Flattened because cr.poisson cannot take a 0-d rate (NumPy yields a Python int).
            return cr.poisson(lam.reshape(-1)).reshape(lam.shape)

    # ---- density ---------------------------------------------------------------------------
    def log_prob(self, value: Tensor) -> Tensor:
        """``log C(k + r - 1, k) + k log p + r log(1 - p)``.

        The binomial coefficient is written with ``lgamma``; at ``r = k = 0`` (an event of
        probability 1) each ``lgamma`` term is infinite, so that term is set to 0 there.
        """
        if self._validate_args:
            self._validate_sample(value)
        r, k = self.total_count, value
        log_p_succ = F.logsigmoid(self.logits)
        log_p_fail = F.logsigmoid(-self.logits)
        log_coef = cr.lgamma(r + k) - cr.lgamma(1.0 + k) - cr.lgamma(r)
        log_coef = log_coef.masked_fill(r + k == 0.0, 0.0)
        return k * log_p_succ + r * log_p_fail + log_coef
