"""Geometric law on ``{0, 1, 2, ...}``: ``P(K = k) = (1 - p)^k p``, the count of failures
seen before the first success of independent Bernoulli(``p``) trials.

Same public surface as ``torch.distributions.Geometric``: it is given either by the success
probability ``probs`` or by its log-odds ``logits``; the other form is derived lazily.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule.nn.functional import binary_cross_entropy_with_logits

from . import constraints
from .distribution import Distribution
from .utils import (
    _EMPTY_SIZE,
    _Number,
    broadcast_all,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
)

__all__ = ["Geometric"]


def _reject_zero_probs(dist: Geometric) -> None:
    """``unit_interval`` admits ``p = 0``, but then no success ever happens and the law is
    not a distribution; argument validation therefore also demands ``p > 0``."""
    p = dist.probs
    ok = p > 0
    if bool(ok.all()):
        return
    bad = p.detach()[~ok]
    raise ValueError(
        f"Expected parameter probs ({type(p).__name__} of shape {tuple(p.shape)}) "
        f"of distribution {dist!r} to be positive but found invalid values:\n{bad}"
    )


class Geometric(Distribution):
    """Failures before the first success, ``k = 0, 1, 2, ...``, with success chance ``p``.

    Moments: ``E[K] = (1 - p) / p`` and ``Var[K] = (1 - p) / p**2``; the mode is always 0.
    Pass exactly one of ``probs`` (in ``(0, 1]``) or ``logits`` (``log(p / (1 - p))``).
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        given_probs = probs is not None
        if given_probs == (logits is not None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        raw = probs if given_probs else logits
        # store under the parameter's own name; the lazy property supplies the other form
        setattr(self, "probs" if given_probs else "logits", broadcast_all(raw)[0])
        shape = cr.Size() if isinstance(raw, _Number) else raw.size()
        super().__init__(shape, validate_args=validate_args)
        if given_probs and self._validate_args:
            _reject_zero_probs(self)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Geometric:
        out = self._get_checked_instance(Geometric, _instance)
        return self._expand_into(out, batch_shape, ("probs", "logits"))

    @property
    def mean(self) -> cr.Tensor:
        return self.probs.reciprocal() - 1.0

    @property
    def mode(self) -> cr.Tensor:
        return cr.zeros_like(self.probs)

    @property
    def variance(self) -> cr.Tensor:
        odds_against = self.probs.reciprocal() - 1.0
        return odds_against / self.probs

    @lazy_property
    def logits(self) -> cr.Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> cr.Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        """Inverse-CDF draw: ``P(K >= k) = (1 - p)^k``, so ``floor(log U / log(1 - p))`` with
        ``U`` uniform on ``(tiny, 1)`` (``U > 0`` keeps ``log U`` finite)."""
        p = self.probs
        with cr.no_grad():
            u = cr.empty(self._extended_shape(sample_shape), dtype=p.dtype)
            u.uniform_(cr.finfo(p.dtype).tiny, 1)
            return cr.floor(cr.log(u) / cr.log1p(-p))

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        """``k log(1 - p) + log p``."""
        if self._validate_args:
            self._validate_sample(value)
        k, p = broadcast_all(value, self.probs)
        # At p == 1 the term k * log(1 - p) would be 0 * (-inf) = nan for the sure outcome
        # k == 0. Substituting p = 0 there (before the log, so the gradient stays finite too)
        # makes that term exactly 0.
        sure = (p == 1) & (k == 0)
        p_safe = cr.where(sure, cr.zeros_like(p), p)
        return k * cr.log1p(-p_safe) + cr.log(self.probs)

    def entropy(self) -> cr.Tensor:
        """``H = -[(1 - p) log(1 - p) + p log p] / p``: the Bernoulli entropy per expected
        trial. The numerator is computed from the logits, as a cross-entropy of ``p`` with
        itself, which stays accurate when ``p`` is close to 0 or 1."""
        bernoulli_h = binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")
        return bernoulli_h / self.probs
