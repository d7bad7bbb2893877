"""Multinomial law: how many of ``n`` independent categorical draws fell in each of ``K``
classes, ``P(x) = n! / prod_i x_i! * prod_i p_i^x_i`` for counts ``x`` summing to ``n``.

Same public surface as ``torch.distributions.Multinomial``; ``total_count`` is one Python int
for the whole batch. The event is the vector of counts (event shape ``(K,)``).
"""

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
    """Class counts of ``total_count`` draws from ``Categorical(probs or logits)``.

    ``mean = n p`` and ``variance = n p (1 - p)`` per class (each count is Binomial(n, p_i)).
    ``log_prob`` reads ``n`` from the counts' sum, so a distribution built with the default
    ``total_count`` can score counts of any total; sampling and ``entropy`` use the given ``n``.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    total_count: int

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
        # the per-class marginals, used by ``entropy``
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        cat = self._categorical
        super().__init__(cat.batch_shape, cat.param_shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Multinomial:
        out = self._get_checked_instance(Multinomial, _instance)
        target = cr.Size(batch_shape)
        out.total_count = self.total_count
        out._categorical = self._categorical.expand(target)
        # PyTorch's expand leaves _binomial out, so entropy() of an expanded Multinomial
        # fails there; chainrule carries it over
        out._binomial = Binomial(
            total_count=self.total_count, probs=out._categorical.probs, validate_args=False
        )
        super(Multinomial, out).__init__(target, self.event_shape, validate_args=False)
        out._validate_args = self._validate_args
        return out

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

    @property
    def mean(self) -> cr.Tensor:
        return self.total_count * self.probs

    @property
    def variance(self) -> cr.Tensor:
        p = self.probs
        return self.total_count * p * (1 - p)

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        """Draw ``n`` class labels per sample and count them: the labels (the ``n`` draws
        moved to the last axis) are scatter-added into ``k`` counters, so memory grows with
        ``n + k``, not ``n * k``."""
        k = self._categorical._num_events
        draws = (self.total_count, *cr.Size(sample_shape))
        labels = self._categorical.sample(draws).movedim(0, -1)
        counts = cr.zeros((*labels.shape[:-1], k), dtype=self.probs.dtype)
        return counts.scatter_add_(-1, labels, cr.ones(labels.shape, dtype=self.probs.dtype))

    def entropy(self) -> cr.Tensor:
        """Expanding ``-E[log P(X)]`` with ``log P(x) = log n! - sum_i log x_i! +
        sum_i x_i log p_i``: the last term averages to ``-n H(Categorical)``, and each
        ``E[log X_i!]`` is a sum over the Binomial(n, p_i) marginal (``k = 0`` adds 0)."""
        n = cr.tensor(self.total_count)
        ks = self._binomial.enumerate_support(expand=False)[1:]
        marginal_pmf = self._binomial.log_prob(ks).exp()
        expected_log_fact = (marginal_pmf * cr.lgamma(ks + 1)).sum([0, -1])
        return n * self._categorical.entropy() - cr.lgamma(n + 1) + expected_log_fact

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        lo, x = broadcast_all(self.logits, value)
        # An impossible class (log p = -inf) with count 0 contributes 0, not 0 * (-inf).
        absent = (x == 0) & (lo == float("-inf"))
        lo = cr.where(absent, cr.zeros_like(lo), lo)
        log_coef = cr.lgamma(x.sum(-1) + 1) - cr.lgamma(x + 1).sum(-1)
        return log_coef + (x * lo).sum(-1)
