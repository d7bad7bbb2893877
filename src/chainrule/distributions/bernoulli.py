"""Bernoulli law on ``{0, 1}``: ``P(X = 1) = p``, ``P(X = 0) = 1 - p``.

Same public surface as ``torch.distributions.Bernoulli``. The parameter is either the
probability ``probs`` or the log-odds ``logits = log(p / (1 - p))``; densities are evaluated
from the logits (a binary cross-entropy), which is stable for ``p`` near 0 or 1.

As an exponential family its natural parameter is the log-odds and its log-normaliser is
``softplus(theta) = log(1 + e^theta)``.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule.nn.functional import binary_cross_entropy_with_logits

from . import constraints
from .exp_family import ExponentialFamily
from .utils import (
    _EMPTY_SIZE,
    _Number,
    broadcast_all,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
)

__all__ = ["Bernoulli"]


def _bce(logits: cr.Tensor, target: cr.Tensor) -> cr.Tensor:
    """Elementwise ``-[t log sigmoid(l) + (1 - t) log(1 - sigmoid(l))]``."""
    return binary_cross_entropy_with_logits(logits, target, reduction="none")


class Bernoulli(ExponentialFamily):
    """A coin that lands 1 with probability ``p``.

    Give exactly one of ``probs`` (in ``[0, 1]``) or ``logits`` (any real). Samples are 0.0 or
    1.0 in the parameter's dtype. ``mode`` is NaN where ``p == 0.5`` (both outcomes tie).
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        name, raw = ("probs", probs) if probs is not None else ("logits", logits)
        (param,) = broadcast_all(raw)
        setattr(self, name, param)
        self._param = param
        shape = cr.Size() if isinstance(raw, _Number) else param.size()
        super().__init__(shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Bernoulli:
        out = self._get_checked_instance(Bernoulli, _instance)
        return self._expand_into(out, batch_shape, ("probs", "logits"))

    def _new(self, *args: Any, **kwargs: Any) -> cr.Tensor:
        return self._param.new(*args, **kwargs)

    @property
    def mean(self) -> cr.Tensor:
        return self.probs

    @property
    def mode(self) -> cr.Tensor:
        """1 where ``p > 1/2``, 0 where ``p < 1/2``, NaN at exactly 1/2."""
        p = self.probs
        nan = cr.full_like(p, float("nan"))
        return cr.where(p == 0.5, nan, (p > 0.5).to(p.dtype))

    @property
    def variance(self) -> cr.Tensor:
        p = self.probs
        return p * (1 - p)

    @lazy_property
    def logits(self) -> cr.Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> cr.Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> cr.Size:
        return self._param.size()

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        shape = self._extended_shape(sample_shape)
        with cr.no_grad():
            return cr.bernoulli(self.probs.expand(shape))

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        """``x log p + (1 - x) log(1 - p)``, i.e. minus the cross-entropy of ``x``."""
        if self._validate_args:
            self._validate_sample(value)
        lo, x = broadcast_all(self.logits, value)
        return -_bce(lo, x)

    def entropy(self) -> cr.Tensor:
        """The cross-entropy of ``p`` with itself."""
        return _bce(self.logits, self.probs)

    def enumerate_support(self, expand: bool = True) -> cr.Tensor:
        """``[0, 1]`` along a new leading dim, broadcastable to the batch shape."""
        batch = tuple(self._batch_shape)
        outcomes = cr.arange(2, dtype=self._param.dtype).reshape(2, *(1 for _ in batch))
        return outcomes.expand(2, *batch) if expand else outcomes

    @property
    def _natural_params(self) -> tuple[cr.Tensor]:
        return (cr.logit(self.probs),)

    def _log_normalizer(self, x: cr.Tensor) -> cr.Tensor:
        return cr.log1p(cr.exp(x))
