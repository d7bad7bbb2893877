"""One-hot categorical distributions, mirroring ``torch.distributions.OneHotCategorical``
and ``OneHotCategoricalStraightThrough``."""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule.nn.functional import one_hot

from . import constraints
from .categorical import Categorical
from .distribution import Distribution
from .utils import _EMPTY_SIZE

__all__ = ["OneHotCategorical", "OneHotCategoricalStraightThrough"]


class OneHotCategorical(Distribution):
    """A :class:`Categorical` whose samples are one-hot vectors of length ``K`` (event
    shape ``(K,)``), in the parameter's dtype."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(
        self,
        probs: cr.Tensor | None = None,
        logits: cr.Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        self._categorical = Categorical(probs, logits)
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> OneHotCategorical:
        new = self._get_checked_instance(OneHotCategorical, _instance)
        batch_shape = cr.Size(batch_shape)
        new._categorical = self._categorical.expand(batch_shape)
        super(OneHotCategorical, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _new(self, *args: Any, **kwargs: Any) -> cr.Tensor:
        return self._categorical._new(*args, **kwargs)

    @property
    def _param(self) -> cr.Tensor:
        return self._categorical._param

    @property
    def probs(self) -> cr.Tensor:
        return self._categorical.probs

    @property
    def logits(self) -> cr.Tensor:
        return self._categorical.logits

    @property
    def mean(self) -> cr.Tensor:
        return self._categorical.probs

    @property
    def mode(self) -> cr.Tensor:
        probs = self._categorical.probs
        mode = probs.argmax(dim=-1)
        return one_hot(mode, num_classes=probs.shape[-1]).to(probs.dtype)

    @property
    def variance(self) -> cr.Tensor:
        return self._categorical.probs * (1 - self._categorical.probs)

    @property
    def param_shape(self) -> cr.Size:
        return self._categorical.param_shape

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        sample_shape = cr.Size(sample_shape)
        probs = self._categorical.probs
        num_events = self._categorical._num_events
        indices = self._categorical.sample(sample_shape)
        return one_hot(indices, num_events).to(probs.dtype)

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        indices = value.max(-1)[1]
        return self._categorical.log_prob(indices)

    def entropy(self) -> cr.Tensor:
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True) -> cr.Tensor:
        n = self.event_shape[0]
        values = cr.eye(n, dtype=self._param.dtype)
        values = values.view((n,) + (1,) * len(self.batch_shape) + (n,))
        if expand:
            values = values.expand((n,) + tuple(self.batch_shape) + (n,))
        return values


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """:class:`OneHotCategorical` with a straight-through gradient estimator: ``rsample``
    returns the one-hot sample plus ``probs - probs.detach()`` (zero in value, the identity
    in gradient)."""

    has_rsample = True

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        samples = self.sample(sample_shape)
        probs = self._categorical.probs  # cached by lazy_property
        return samples + (probs - probs.detach())
