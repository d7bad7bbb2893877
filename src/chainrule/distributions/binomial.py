"""Binomial law: the number of successes in ``n`` independent Bernoulli(``p``) trials,
``P(K = k) = C(n, k) p^k (1 - p)^(n - k)`` for ``k = 0, ..., n``.

Same public surface as ``torch.distributions.Binomial``: ``total_count`` (``n``) plus
either ``probs`` or ``logits`` (log-odds); ``n`` is broadcast against the parameter and cast to
its dtype, so ``n`` may differ across the batch.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr

from . import constraints
from .distribution import Distribution
from .utils import _EMPTY_SIZE, broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Binomial"]


def _log_choose(n: cr.Tensor, k: cr.Tensor) -> cr.Tensor:
    """``log C(n, k) = log n! - log k! - log (n - k)!`` through the log-gamma function."""
    return cr.lgamma(n + 1) - cr.lgamma(k + 1) - cr.lgamma(n - k + 1)


def _softplus(x: cr.Tensor) -> cr.Tensor:
    """``log(1 + e^x)`` without overflow for large ``x`` (gradient ``sigmoid(x)``)."""
    return cr.logaddexp(x, cr.zeros_like(x))


class Binomial(Distribution):
    """Successes among ``total_count`` trials that each succeed with probability ``p``.

    Give exactly one of ``probs`` or ``logits``. ``mean = n p``, ``variance = n p (1 - p)``,
    ``mode = min(floor((n + 1) p), n)``. ``entropy`` and ``enumerate_support`` need the same
    ``n`` across the batch (they enumerate ``0..n``).
    """

    arg_constraints = {
        "total_count": constraints.nonnegative_integer,
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    has_enumerate_support = True

    def __init__(
        self,
        total_count: Any = 1,
        probs: Any = None,
        logits: Any = None,
        validate_args: bool | None = None,
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        name, raw = ("probs", probs) if probs is not None else ("logits", logits)
        count, param = broadcast_all(total_count, raw)
        self.total_count = count.type_as(param)
        setattr(self, name, param)
        self._param = param
        super().__init__(param.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Binomial:
        out = self._get_checked_instance(Binomial, _instance)
        out.total_count = self.total_count.expand(cr.Size(batch_shape))
        return self._expand_into(out, batch_shape, ("probs", "logits"))

    def _new(self, *args: Any, **kwargs: Any) -> cr.Tensor:
        return self._param.new(*args, **kwargs)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self) -> cr.Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> cr.Tensor:
        n = self.total_count
        return cr.floor((n + 1) * self.probs).clamp(max=n)

    @property
    def variance(self) -> cr.Tensor:
        p = self.probs
        return self.total_count * p * (1 - p)

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
            # cr.binomial is called on flat 1-d tensors: on a 0-d input NumPy's sampler
            # returns a Python scalar instead of an array
            n = self.total_count.expand(shape).flatten()
            p = self.probs.expand(shape).flatten()
            return cr.binomial(n, p).reshape(shape)

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        """``log C(n, k) + k l - n log(1 + e^l)`` with ``l`` the log-odds: since
        ``p = sigmoid(l)``, ``log p = l - softplus(l)`` and ``log(1 - p) = -softplus(l)``."""
        if self._validate_args:
            self._validate_sample(value)
        n, lo = self.total_count, self.logits
        return _log_choose(n, value) + value * lo - n * _softplus(lo)

    def _single_total_count(self, method: str) -> int:
        """``n`` as an int when it is the same across the batch (else NotImplementedError)."""
        n = int(self.total_count.max())
        if self.total_count.min() != n:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{method}`.")
        return n

    def entropy(self) -> cr.Tensor:
        """``-sum_k P(k) log P(k)`` summed over the whole support ``0..n``."""
        self._single_total_count("entropy")
        log_pmf = self.log_prob(self.enumerate_support(False))
        return -(log_pmf.exp() * log_pmf).sum(0)

    def enumerate_support(self, expand: bool = True) -> cr.Tensor:
        """``0, 1, ..., n`` along a new leading dim, broadcastable to the batch shape."""
        size = self._single_total_count("enumerate_support") + 1
        batch = tuple(self._batch_shape)
        counts = cr.arange(size, dtype=self._param.dtype).reshape(size, *(1 for _ in batch))
        return counts.expand(size, *batch) if expand else counts
