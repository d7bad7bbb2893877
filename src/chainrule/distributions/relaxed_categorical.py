"""The Concrete (Gumbel-softmax) relaxation of a one-hot categorical, mirroring
``torch.distributions.ExpRelaxedCategorical`` and
``torch.distributions.RelaxedOneHotCategorical``.

With class logits ``l`` (``K`` classes) and temperature ``T``, a Concrete sample is
``softmax((l + g) / T)`` for i.i.d. standard Gumbel noise ``g`` (Maddison et al., 2017;
Jang et al., 2017). It lies inside the probability simplex and tends to a one-hot
categorical draw as ``T -> 0``. The log of such a sample (a log-softmax) has a simple closed
form density, so :class:`ExpRelaxedCategorical` works in log space and
:class:`RelaxedOneHotCategorical` exponentiates it.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .categorical import Categorical
from .distribution import Distribution
from .relaxed_bernoulli import _as_tensor_like
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform
from .utils import _EMPTY_SIZE, broadcast_all, clamp_probs

__all__ = ["ExpRelaxedCategorical", "RelaxedOneHotCategorical"]


def _log_normalise(scores: Tensor) -> Tensor:
    """``scores - logsumexp(scores)`` over the last dim (a log-softmax)."""
    return scores - scores.logsumexp(dim=-1, keepdim=True)


class ExpRelaxedCategorical(Distribution):
    r"""The log of a Concrete (relaxed one-hot categorical) variable.

    A sample is ``x = log_softmax((l + g) / T)`` with standard Gumbel ``g``, so ``exp(x)`` is
    on the simplex. For ``K`` classes its density (with respect to the first ``K - 1``
    coordinates) is

    .. math::
        \log p(x) = \log\Gamma(K) + (K - 1) \log T
                    + \sum_k s_k - K \operatorname{logsumexp}_k s_k,
        \qquad s = l - T x.

    Probabilities/logits are held by an inner :class:`Categorical` (exactly one of them must be
    given); the event shape is the number of classes.

    Args:
        temperature (Tensor): the relaxation temperature ``T > 0``.
        probs (Tensor): class probabilities (normalised over the last dim).
        logits (Tensor): unnormalised class log-probabilities.
        validate_args (bool, optional): check the arguments (and scored values).
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    # samples satisfy logsumexp(x) = 0, a submanifold of real vectors
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        temperature: Tensor,
        probs: Tensor | None = None,
        logits: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        self._categorical = Categorical(probs, logits)
        self.temperature = temperature
        classes = self._categorical.param_shape[-1:]
        super().__init__(self._categorical.batch_shape, classes, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        """The same distribution with its class parameters broadcast to ``batch_shape`` (not
        re-validated); the temperature is shared as is."""
        new = self._get_checked_instance(ExpRelaxedCategorical, _instance)
        batch_shape = cr.Size(batch_shape)
        new.temperature = self.temperature
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _new(self, *args: Any, **kwargs: Any) -> Tensor:
        """A new tensor with the dtype and device of the class parameters."""
        return self._categorical._new(*args, **kwargs)

    @property
    def param_shape(self) -> cr.Size:
        """Shape of the stored class parameters (batch shape + number of classes)."""
        return self._categorical.param_shape

    @property
    def logits(self) -> Tensor:
        """Normalised class log-probabilities."""
        return self._categorical.logits

    @property
    def probs(self) -> Tensor:
        """Class probabilities."""
        return self._categorical.probs

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        """``log_softmax((logits + g) / T)`` with Gumbel noise ``g = -log(-log u)``; ``u`` is
        clamped away from 0 and 1 so the noise is finite. Differentiable in the logits and
        ``T``."""
        shape = self._extended_shape(sample_shape)
        logits = self.logits
        u = clamp_probs(cr.rand(shape, dtype=logits.dtype, device=logits.device))
        gumbel = -cr.log(-cr.log(u))
        return _log_normalise((logits + gumbel) / self.temperature)

    def log_prob(self, value: Tensor) -> Tensor:
        """The log-Concrete density above, summed over the class dim."""
        if self._validate_args:
            self._validate_sample(value)
        k = self._categorical._num_events
        logits, value = broadcast_all(self.logits, value)
        t = _as_tensor_like(self.temperature, logits)
        # log Gamma(K) + (K - 1) log T, shaped like the temperature
        log_const = (k - 1) * t.log() + math.lgamma(k)
        shifted = logits - t * value
        return _log_normalise(shifted).sum(-1) + log_const


class RelaxedOneHotCategorical(TransformedDistribution):
    r"""Concrete / Gumbel-softmax distribution on the simplex: ``exp`` of an
    :class:`ExpRelaxedCategorical`.

    Parametrised by ``temperature`` and either ``probs`` or ``logits``; samples are points of
    the probability simplex, reparameterisable, and near one-hot at low temperature.

    Example::
        >>> m = RelaxedOneHotCategorical(cr.tensor([2.2]), cr.tensor([0.1, 0.2, 0.3, 0.4]))
        >>> m.sample()  # doctest: +SKIP
        tensor([0.1294, 0.2324, 0.3859, 0.2523])

    Args:
        temperature (Tensor): the relaxation temperature ``T > 0``.
        probs (Tensor): class probabilities.
        logits (Tensor): unnormalised class log-probabilities.
        validate_args (bool, optional): check the arguments (and scored values).
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True
    base_dist: ExpRelaxedCategorical

    def __init__(
        self,
        temperature: Tensor,
        probs: Tensor | None = None,
        logits: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        log_dist = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(log_dist, ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        """Expanded copy; the base distribution is expanded by ``TransformedDistribution``."""
        new = self._get_checked_instance(RelaxedOneHotCategorical, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def temperature(self) -> Tensor:
        """The relaxation temperature of the underlying log-space distribution."""
        return self.base_dist.temperature

    @property
    def logits(self) -> Tensor:
        """Normalised class log-probabilities."""
        return self.base_dist.logits

    @property
    def probs(self) -> Tensor:
        """Class probabilities."""
        return self.base_dist.probs
