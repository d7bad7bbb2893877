"""``MixtureSameFamily``: a finite mixture ``p(x) = Σₖ πₖ pₖ(x)`` whose ``k`` components are
one distribution family, held as a single batched distribution; constructor, attributes and
results follow ``torch.distributions.MixtureSameFamily``.

The weights ``π`` come from a :class:`Categorical` over ``k`` categories; the components are
any :class:`Distribution` whose *rightmost batch dim* has size ``k`` and indexes the
component. The mixture's batch shape is the components' batch shape without that dim, and
its event shape is theirs.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .categorical import Categorical
from .constraints import MixtureSameFamilyConstraint
from .distribution import Distribution
from .utils import _EMPTY_SIZE

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    r"""Mixture of ``k`` same-family components with ``Categorical`` weights.

    Args:
        mixture_distribution: a :class:`Categorical` over ``k`` categories giving the
            weights; its batch shape must broadcast against (aligned from the right) the
            component batch shape without its last dim.
        component_distribution: a :class:`Distribution` with ``batch_shape[-1] == k``.
        validate_args: check values passed to :meth:`log_prob` against the support.

    * ``log_prob(x) = logsumexp_k(log πₖ + log pₖ(x))``, stable for tiny weights/densities.
    * ``mean = Σ πₖ μₖ``; ``variance`` by the law of total variance,
      ``Σ πₖ (σₖ² + (μₖ - μ)²)``; ``cdf(x) = Σ πₖ Fₖ(x)`` (scalar events only).
    * ``sample`` picks a component index per draw and keeps that component's draw; there is
      no ``rsample``, the discrete choice is not reparameterisable.

    Example (a batch of 3 mixtures of 5 bivariate normals)::

        >>> import chainrule as cr
        >>> from chainrule.distributions import Categorical, Independent, Normal
        >>> weights = Categorical(cr.rand(3, 5))
        >>> comps = Independent(Normal(cr.randn(3, 5, 2), cr.rand(3, 5, 2) + 0.1), 1)
        >>> MixtureSameFamily(weights, comps).sample((4,)).shape
        torch.Size([4, 3, 2])
    """

    arg_constraints: dict[str, constraints.Constraint] = {}
    has_rsample = False

    def __init__(
        self,
        mixture_distribution: Categorical,
        component_distribution: Distribution,
        validate_args: bool | None = None,
    ) -> None:
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(
                "MixtureSameFamily: mixture_distribution must be an instance of "
                f"cr.distributions.Categorical, got {type(mixture_distribution).__name__}"
            )
        if not isinstance(component_distribution, Distribution):
            raise ValueError(
                "MixtureSameFamily: component_distribution must be an instance of "
                f"cr.distributions.Distribution, got {type(component_distribution).__name__}"
            )
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution

        weights_batch = mixture_distribution.batch_shape
        mixture_batch = component_distribution.batch_shape[:-1]
        # right-aligned sizes must agree wherever neither is 1
        for a, b in zip(reversed(weights_batch), reversed(mixture_batch)):
            if a != b and 1 not in (a, b):
                raise ValueError(
                    f"MixtureSameFamily: mixture_distribution.batch_shape ({weights_batch}) is "
                    f"not compatible with component_distribution.batch_shape[:-1] "
                    f"({mixture_batch})"
                )
        k_weights = mixture_distribution.logits.shape[-1]
        k_components = component_distribution.batch_shape[-1]
        if k_weights != k_components:
            raise ValueError(
                f"MixtureSameFamily: mixture_distribution has {k_weights} categories but "
                f"component_distribution.batch_shape[-1] is {k_components}"
            )
        self._num_component = k_weights
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(
            batch_shape=mixture_batch,
            event_shape=component_distribution.event_shape,
            validate_args=validate_args,
        )

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        batch_shape = cr.Size(batch_shape)
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._component_distribution = self._component_distribution.expand(
            batch_shape + (self._num_component,)
        )
        new._num_component = self._num_component
        new._event_ndims = self._event_ndims
        Distribution.__init__(
            new, batch_shape, new._component_distribution.event_shape, validate_args=False
        )
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property
    def support(self) -> constraints.Constraint:
        return MixtureSameFamilyConstraint(self._component_distribution.support)

    @property
    def mixture_distribution(self) -> Categorical:
        return self._mixture_distribution

    @property
    def component_distribution(self) -> Distribution:
        return self._component_distribution

    @property
    def _component_dim(self) -> int:
        """Position (from the right) of the component dim in per-component statistics."""
        return -1 - self._event_ndims

    def _insert_component_dim(self, x: Tensor) -> Tensor:
        """A value of the mixture, ``(..., batch, event)``, made to broadcast against all ``k``
        components: a singleton dim is put where the component dim sits."""
        return x.unsqueeze(self._component_dim)

    def _weights_like_components(self, weights: Tensor) -> Tensor:
        """Reshape weights ``(weights_batch..., k)`` to broadcast against per-component
        statistics ``(batch..., k, event...)``.

        Singleton dims are appended for the event dims; when the weights' batch has a rank
        other than 1, singletons are also inserted before ``k`` to make up the difference in
        batch rank (the placement torch uses, kept for identical results)."""
        n_weight_batch = len(self._mixture_distribution.batch_shape)
        gap = 0 if n_weight_batch == 1 else len(self.batch_shape) - n_weight_batch
        head, k = tuple(weights.shape[:-1]), tuple(weights.shape[-1:])
        return weights.reshape(head + (1,) * gap + k + (1,) * self._event_ndims)

    @property
    def mean(self) -> Tensor:
        weights = self._weights_like_components(self._mixture_distribution.probs)
        return (weights * self._component_distribution.mean).sum(self._component_dim)

    @property
    def variance(self) -> Tensor:
        # law of total variance: E[Var(x | component)] + Var(E[x | component])
        weights = self._weights_like_components(self._mixture_distribution.probs)
        comps = self._component_distribution
        spread = (comps.mean - self._insert_component_dim(self.mean)).pow(2)
        within = (weights * comps.variance).sum(self._component_dim)
        between = (weights * spread).sum(self._component_dim)
        return within + between

    def cdf(self, x: Tensor) -> Tensor:
        per_component = self._component_distribution.cdf(self._insert_component_dim(x))
        return (per_component * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(x)
        per_component = self._component_distribution.log_prob(self._insert_component_dim(x))
        log_weights = cr.log_softmax(self._mixture_distribution.logits, dim=-1)
        return cr.logsumexp(per_component + log_weights, dim=-1)

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        with cr.no_grad():
            # one draw from every component, then keep the one the categorical picked
            picks = self._mixture_distribution.sample(sample_shape)  # (S..., weights_batch...)
            draws = self._component_distribution.sample(sample_shape)  # (S..., batch..., k, E...)
            axis = len(sample_shape) + len(self.batch_shape)
            event = tuple(self.event_shape)
            # index tensor (S..., weights_batch..., 1, E...), constant along the event dims
            index = picks.reshape(tuple(picks.shape) + (1,) * (1 + len(event)))
            index = index.expand(tuple(picks.shape) + (1,) + event)
            return cr.gather(draws, axis, index).squeeze(axis)

    def __repr__(self) -> str:
        return (
            f"MixtureSameFamily(\n  {self._mixture_distribution},\n"
            f"  {self._component_distribution})"
        )
