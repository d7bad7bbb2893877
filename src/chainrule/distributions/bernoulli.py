"""The Bernoulli distribution, mirroring ``torch.distributions.Bernoulli``."""

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


class Bernoulli(ExponentialFamily):
    """Bernoulli distribution parameterised by ``probs`` or ``logits`` (log-odds), not both.

    Samples are 0/1 in the parameter's dtype.
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
        if probs is not None:
            is_scalar = isinstance(probs, _Number)
            (self.probs,) = broadcast_all(probs)
        else:
            is_scalar = isinstance(logits, _Number)
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        batch_shape = cr.Size() if is_scalar else self._param.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Bernoulli:
        new = self._get_checked_instance(Bernoulli, _instance)
        batch_shape = cr.Size(batch_shape)
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(batch_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(batch_shape)
            new._param = new.logits
        super(Bernoulli, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _new(self, *args: Any, **kwargs: Any) -> cr.Tensor:
        return self._param.new(*args, **kwargs)

    @property
    def mean(self) -> cr.Tensor:
        return self.probs

    @property
    def mode(self) -> cr.Tensor:
        """1 where ``probs > 0.5``, 0 where below, NaN at exactly 0.5 (two modes)."""
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return cr.where(self.probs == 0.5, cr.full_like(mode, float("nan")), mode)

    @property
    def variance(self) -> cr.Tensor:
        return self.probs * (1 - self.probs)

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
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self) -> cr.Tensor:
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand: bool = True) -> cr.Tensor:
        values = cr.arange(2, dtype=self._param.dtype)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values

    @property
    def _natural_params(self) -> tuple[cr.Tensor]:
        return (cr.logit(self.probs),)

    def _log_normalizer(self, x: cr.Tensor) -> cr.Tensor:
        return cr.log1p(cr.exp(x))
