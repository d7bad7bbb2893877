"""The Multinomial distribution, mirroring ``torch.distributions.Multinomial``."""

from __future__ import annotations

from typing import Any

import chainrule as cr

from . import constraints
from .binomial import Binomial
from .categorical import Categorical
from .distribution import Distribution
from .utils import _EMPTY_SIZE, broadcast_all

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    """Counts of each of ``K`` categories in ``total_count`` (a Python int) draws from a
    :class:`Categorical` (``probs`` or ``logits``). Event shape ``(K,)``.

    ``log_prob`` does not need ``total_count`` (it is read off the value's sum), so it can be
    left at its default when only scoring, as in PyTorch.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    total_count: int

    @property
    def mean(self) -> cr.Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> cr.Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def __init__(
        self,
        total_count: int = 1,
        probs: cr.Tensor | None = None,
        logits: cr.Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Multinomial:
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = cr.Size(batch_shape)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        super(Multinomial, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _new(self, *args: Any, **kwargs: Any) -> cr.Tensor:
        return self._categorical._new(*args, **kwargs)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self) -> constraints.Constraint:
        return constraints.multinomial(self.total_count)

    @property
    def logits(self) -> cr.Tensor:
        return self._categorical.logits

    @property
    def probs(self) -> cr.Tensor:
        return self._categorical.probs

    @property
    def param_shape(self) -> cr.Size:
        return self._categorical.param_shape

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        sample_shape = cr.Size(sample_shape)
        samples = self._categorical.sample(cr.Size((self.total_count,) + tuple(sample_shape)))
        # (total_count, sample_shape, batch_shape) -> (sample_shape, batch_shape, total_count)
        shifted_idx = list(range(samples.dim()))
        shifted_idx.append(shifted_idx.pop(0))
        samples = samples.permute(*shifted_idx)
        counts = cr.zeros(self._extended_shape(sample_shape), dtype=samples.dtype)
        counts.scatter_add_(-1, samples, cr.ones_like(samples))
        return counts.type_as(self.probs)

    def entropy(self) -> cr.Tensor:
        n = cr.tensor(self.total_count)
        cat_entropy = self._categorical.entropy()
        term1 = n * cat_entropy - cr.lgamma(n + 1)
        support = self._binomial.enumerate_support(expand=False)[1:]
        binomial_probs = cr.exp(self._binomial.log_prob(support))
        weights = cr.lgamma(support + 1)
        term2 = (binomial_probs * weights).sum([0, -1])
        return term1 + term2

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_factorial_n = cr.lgamma(value.sum(-1) + 1)
        log_factorial_xs = cr.lgamma(value + 1).sum(-1)
        # 0 * -inf is 0 here: a zero count of an impossible category
        logits = cr.where((value == 0) & (logits == float("-inf")), cr.zeros_like(logits), logits)
        log_powers = (logits * value).sum(-1)
        return log_factorial_n - log_factorial_xs + log_powers
