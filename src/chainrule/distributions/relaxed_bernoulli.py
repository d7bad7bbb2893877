"""The binary Concrete (relaxed Bernoulli) distribution, mirroring
``torch.distributions.LogitRelaxedBernoulli`` and ``torch.distributions.RelaxedBernoulli``.

A relaxed Bernoulli variable with temperature ``T`` and success probability ``p`` is
``sigmoid((logit(p) + logit(u)) / T)`` for ``u ~ Uniform(0, 1)`` (Maddison et al., 2017;
Jang et al., 2017). Its pre-sigmoid value ``x = (logit(p) + logit(u)) / T`` is a scaled,
shifted standard logistic variable, which makes both sampling and scoring closed-form and
sampling reparameterisable in ``p`` (and ``T``). As ``T -> 0`` the sigmoid of it tends to a
Bernoulli(``p``) draw.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .distribution import Distribution
from .transformed_distribution import TransformedDistribution
from .transforms import SigmoidTransform
from .utils import (
    _EMPTY_SIZE,
    _Number,
    broadcast_all,
    clamp_probs,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
)

__all__ = ["LogitRelaxedBernoulli", "RelaxedBernoulli"]


def _safe_logit(q: Tensor) -> Tensor:
    """``log(q / (1 - q))`` of a probability first clamped into ``[eps, 1 - eps]``."""
    q = clamp_probs(q)
    return q.log() - cr.log1p(-q)


def _as_tensor_like(temperature: Tensor | float, like: Tensor) -> Tensor:
    """The temperature as a tensor: a plain number takes ``like``'s dtype (PyTorch documents
    a Tensor but its samplers accept a number; its ``log_prob`` then fails on ``.log()``)."""
    if isinstance(temperature, Tensor):
        return temperature
    return cr.tensor(temperature, dtype=like.dtype)


class LogitRelaxedBernoulli(Distribution):
    r"""The logit of a relaxed Bernoulli variable: ``x = (logit(p) + logit(u)) / T``.

    Given either ``probs`` ``p`` or ``logits`` ``l = logit(p)`` (exactly one), ``T x - l`` is
    standard logistic, so the density is

    .. math:: \log p(x) = \log T + d - 2 \log(1 + e^{d}), \qquad d = l - T x.

    Samples live on the whole real line; :class:`RelaxedBernoulli` maps them into (0, 1).

    Args:
        temperature (Tensor): the relaxation temperature ``T > 0`` (kept as given, not
            broadcast against the probabilities).
        probs (Number, Tensor): probability of the value 1.
        logits (Number, Tensor): log-odds of the value 1.
        validate_args (bool, optional): check the arguments (and scored values).
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real

    def __init__(
        self,
        temperature: Tensor,
        probs: Tensor | float | None = None,
        logits: Tensor | float | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        self.temperature = temperature
        given = probs if probs is not None else logits
        (param,) = broadcast_all(given)
        # store under the name the caller used; the other one is derived lazily
        if probs is not None:
            self.probs = param
        else:
            self.logits = param
        self._param = param
        # a plain Python number describes a single (unbatched) distribution
        batch_shape = cr.Size() if isinstance(given, _Number) else param.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        """The same distribution with its parameter broadcast to ``batch_shape`` (a view,
        not re-validated); the temperature is shared as is."""
        new = self._get_checked_instance(LogitRelaxedBernoulli, _instance)
        new.temperature = self.temperature
        return self._expand_into(new, batch_shape, ("probs", "logits"))

    def _new(self, *args: Any, **kwargs: Any) -> Tensor:
        """A new tensor with the dtype and device of the stored parameter."""
        return self._param.new(*args, **kwargs)

    @lazy_property
    def logits(self) -> Tensor:
        """Log-odds of 1, derived from ``probs`` when those were given."""
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        """Probability of 1, derived from ``logits`` when those were given."""
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> cr.Size:
        """Shape of the stored parameter."""
        return self._param.size()

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        """``(logit(p) + logit(u)) / T`` with ``u`` uniform; ``p`` and ``u`` are clamped away
        from 0 and 1 so both log-odds stay finite. Differentiable in ``p`` and ``T``."""
        shape = self._extended_shape(sample_shape)
        p = self.probs.expand(shape)
        u = cr.rand(shape, dtype=p.dtype, device=p.device)
        return (_safe_logit(u) + _safe_logit(p)) / self.temperature

    def log_prob(self, value: Tensor) -> Tensor:
        """Scaled logistic log-density ``log T + d - 2 log(1 + exp(d))``, ``d = l - T x``."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        t = _as_tensor_like(self.temperature, logits)
        d = logits - t * value
        return t.log() + d - 2 * cr.log1p(d.exp())


class RelaxedBernoulli(TransformedDistribution):
    r"""Relaxed Bernoulli on (0, 1): the sigmoid of a :class:`LogitRelaxedBernoulli`.

    Parametrised by ``temperature`` and either ``probs`` or ``logits`` (not both). Low
    temperatures push samples towards {0, 1}; samples are reparameterisable.

    Example::
        >>> m = RelaxedBernoulli(cr.tensor([2.2]), cr.tensor([0.1, 0.2, 0.3, 0.99]))
        >>> m.sample()  # doctest: +SKIP
        tensor([0.2951, 0.3442, 0.8918, 0.9021])

    Args:
        temperature (Tensor): the relaxation temperature ``T > 0``.
        probs (Number, Tensor): probability of the value 1.
        logits (Number, Tensor): log-odds of the value 1.
        validate_args (bool, optional): check the arguments (and scored values).
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True
    base_dist: LogitRelaxedBernoulli

    def __init__(
        self,
        temperature: Tensor,
        probs: Tensor | float | None = None,
        logits: Tensor | float | None = None,
        validate_args: bool | None = None,
    ) -> None:
        logit_dist = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(logit_dist, SigmoidTransform(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        """Expanded copy; the base distribution is expanded by ``TransformedDistribution``."""
        new = self._get_checked_instance(RelaxedBernoulli, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def temperature(self) -> Tensor:
        """The relaxation temperature of the underlying logit distribution."""
        return self.base_dist.temperature

    @property
    def logits(self) -> Tensor:
        """Log-odds of 1."""
        return self.base_dist.logits

    @property
    def probs(self) -> Tensor:
        """Probability of 1."""
        return self.base_dist.probs
