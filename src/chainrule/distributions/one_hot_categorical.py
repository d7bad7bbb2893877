"""Categorical draws written as one-hot vectors, and a straight-through variant.

``OneHotCategorical`` is a :class:`Categorical` whose outcomes are the unit vectors
``e_0, ..., e_{K-1}`` instead of the labels ``0, ..., K-1`` (event shape ``(K,)``); seen
coordinate by coordinate, ``X_k`` is Bernoulli(``p_k``), which gives the mean and variance.
``OneHotCategoricalStraightThrough`` adds an ``rsample`` whose gradient is that of ``probs``.
Same public surface as ``torch.distributions.OneHotCategorical`` and
``OneHotCategoricalStraightThrough``.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule.autograd.state import LOCAL as _vmap
from chainrule.nn.functional import one_hot

from . import constraints
from .categorical import Categorical
from .distribution import Distribution
from .utils import _EMPTY_SIZE

__all__ = ["OneHotCategorical", "OneHotCategoricalStraightThrough"]


class OneHotCategorical(Distribution):
    """One of ``K`` classes, drawn with probabilities ``probs`` (or ``softmax(logits)``),
    returned as a one-hot vector in the parameter's dtype.

    All computations are delegated to an inner :class:`Categorical` on the class labels; this
    class only converts between labels and one-hot vectors.
    """

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
        labels = self._categorical
        super().__init__(labels.batch_shape, labels.param_shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> OneHotCategorical:
        out = self._get_checked_instance(OneHotCategorical, _instance)
        target = cr.Size(batch_shape)
        out._categorical = self._categorical.expand(target)
        super(OneHotCategorical, out).__init__(target, self.event_shape, validate_args=False)
        out._validate_args = self._validate_args
        return out

    def _new(self, *args: Any, **kwargs: Any) -> cr.Tensor:
        return self._categorical._new(*args, **kwargs)

    def _as_one_hot(self, labels: cr.Tensor) -> cr.Tensor:
        """Integer labels to one-hot vectors of length ``K`` in the parameter's dtype."""
        k = self._categorical._num_events
        if _vmap.state.vmap:  # compared with the classes: labels batched by cr.func.vmap
            classes = cr.arange(k, dtype=labels.dtype)
            return (labels.unsqueeze(-1) == classes).to(self._categorical.probs.dtype)
        return one_hot(labels, num_classes=k).to(self._categorical.probs.dtype)

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
    def param_shape(self) -> cr.Size:
        return self._categorical.param_shape

    @property
    def mean(self) -> cr.Tensor:
        return self.probs

    @property
    def mode(self) -> cr.Tensor:
        return self._as_one_hot(self._categorical.mode)

    @property
    def variance(self) -> cr.Tensor:
        p = self.probs
        return p * (1 - p)

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        return self._as_one_hot(self._categorical.sample(cr.Size(sample_shape)))

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        """The label is the position of the (first) largest entry of ``value``."""
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self) -> cr.Tensor:
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True) -> cr.Tensor:
        """The ``K`` unit vectors along a new leading dim, broadcastable to the batch."""
        k = self.event_shape[0]
        batch = tuple(self.batch_shape)
        units = cr.eye(k, dtype=self._param.dtype).reshape(k, *(1 for _ in batch), k)
        return units.expand(k, *batch, k) if expand else units


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """:class:`OneHotCategorical` with the straight-through gradient estimator.

    ``rsample`` returns ``sample + (probs - stop_gradient(probs))``: numerically the one-hot
    sample (the added term is zero), but differentiating it behaves as if the sample were
    ``probs``, a biased yet low-variance surrogate for the gradient of a discrete draw.
    """

    has_rsample = True

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        hard = self.sample(sample_shape)
        p = self.probs
        return hard + (p - p.detach())
