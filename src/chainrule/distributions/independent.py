"""``Independent``: view some batch dimensions of a distribution as event dimensions.

A batch of ``n`` independent scalar laws and one law over ``n``-vectors with independent
coordinates are the same object seen two ways; only the bookkeeping differs. This wrapper
switches between them, so that ``log_prob`` (and ``entropy``) add up the per-coordinate
values over the moved dimensions. API as ``torch.distributions.Independent``.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr

from . import constraints
from .distribution import Distribution
from .utils import _EMPTY_SIZE, _sum_rightmost

__all__ = ["Independent"]


def _split_shape(base: Distribution, moved: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The (batch, event) shapes after moving ``moved`` trailing batch dims of ``base`` into
    its event shape."""
    n_batch = len(base.batch_shape)
    if moved > n_batch:
        raise ValueError(
            "Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), "
            f"actual {moved} vs {n_batch}"
        )
    full = (*base.batch_shape, *base.event_shape)
    cut = n_batch - moved
    return full[:cut], full[cut:]


class Independent(Distribution):
    """Moves the last ``reinterpreted_batch_ndims`` batch dims of ``base_distribution`` into
    the event shape.

    For instance ``Independent(Normal(loc, scale), 1)`` with ``loc`` of shape ``(B, D)`` is a
    batch of ``B`` diagonal-covariance Gaussians over ``D``-vectors: its ``log_prob`` returns
    shape ``(B,)``, the sum of the ``D`` coordinate log-densities. Samples, means and variances
    are those of the base distribution, unchanged.
    """

    arg_constraints: dict[str, constraints.Constraint] = {}

    def __init__(
        self,
        base_distribution: Distribution,
        reinterpreted_batch_ndims: int,
        validate_args: bool | None = None,
    ) -> None:
        batch, event = _split_shape(base_distribution, reinterpreted_batch_ndims)
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        super().__init__(batch, event, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Independent:
        out = self._get_checked_instance(Independent, _instance)
        new_batch = cr.Size(batch_shape)
        # the base sees the new batch dims followed by the dims this wrapper moved
        moved_dims = tuple(self.event_shape[: self.reinterpreted_batch_ndims])
        out.base_dist = self.base_dist.expand((*new_batch, *moved_dims))
        out.reinterpreted_batch_ndims = self.reinterpreted_batch_ndims
        super(Independent, out).__init__(new_batch, self.event_shape, validate_args=False)
        out._validate_args = self._validate_args
        return out

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self) -> bool:  # type: ignore[override]
        # enumerating a product space over moved dims is not supported
        return self.reinterpreted_batch_ndims == 0 and self.base_dist.has_enumerate_support

    @constraints.dependent_property
    def support(self) -> constraints.Constraint:
        inner = self.base_dist.support
        n = self.reinterpreted_batch_ndims
        return constraints.independent(inner, n) if n else inner

    @property
    def mean(self) -> cr.Tensor:
        return self.base_dist.mean

    @property
    def mode(self) -> cr.Tensor:
        return self.base_dist.mode

    @property
    def variance(self) -> cr.Tensor:
        return self.base_dist.variance

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        """Sum of the base log-probabilities over the moved dimensions (independence)."""
        per_coordinate = self.base_dist.log_prob(value)
        return _sum_rightmost(per_coordinate, self.reinterpreted_batch_ndims)

    def entropy(self) -> cr.Tensor:
        """Entropies of independent coordinates add up, like their log-probabilities."""
        return _sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def enumerate_support(self, expand: bool = True) -> cr.Tensor:
        if self.reinterpreted_batch_ndims:
            raise NotImplementedError("Enumeration over cartesian product is not implemented")
        return self.base_dist.enumerate_support(expand=expand)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_dist}, {self.reinterpreted_batch_ndims})"
