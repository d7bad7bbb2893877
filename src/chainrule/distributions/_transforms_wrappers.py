"""Transforms that adapt another object rather than compute something new.

``IndependentTransform`` widens the event of a wrapped transform, ``ReshapeTransform`` changes
the event shape with a unit Jacobian, and ``CumulativeDistributionTransform`` uses a
distribution's CDF as the map to the unit interval. Re-exported by ``transforms.py``.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr

from . import constraints
from ._transform_base import Transform
from .distribution import Distribution
from .utils import _sum_rightmost

__all__ = ["CumulativeDistributionTransform", "IndependentTransform", "ReshapeTransform"]


def _require_rank(t: cr.Tensor, rank: int) -> None:
    if t.dim() < rank:
        raise ValueError("Too few dimensions on input")


class IndependentTransform(Transform):
    """``base_transform`` with ``reinterpreted_batch_ndims`` more rightmost dims in its event.

    The map itself is unchanged; only the bookkeeping differs: the domain and codomain gain
    the extra event dims, and ``log_abs_det_jacobian`` sums the base transform's per-element
    terms over them (the Jacobian of a map applied independently to each coordinate is
    block-diagonal, so its log-determinant is the sum of the blocks').

    Args:
        base_transform: the transform to wrap.
        reinterpreted_batch_ndims: how many batch dims become event dims.
        cache_size: 0 or 1, also applied to ``base_transform``.
    """

    def __init__(
        self,
        base_transform: Transform,
        reinterpreted_batch_ndims: int,
        cache_size: int = 0,
    ) -> None:
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def with_cache(self, cache_size: int = 1) -> Transform:
        if cache_size == self._cache_size:
            return self
        return IndependentTransform(
            self.base_transform, self.reinterpreted_batch_ndims, cache_size=cache_size
        )

    @constraints.dependent_property(is_discrete=False)
    def domain(self) -> constraints.Constraint:
        inner = self.base_transform.domain
        return constraints.independent(inner, self.reinterpreted_batch_ndims)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self) -> constraints.Constraint:
        inner = self.base_transform.codomain
        return constraints.independent(inner, self.reinterpreted_batch_ndims)

    @property
    def bijective(self) -> bool:
        return self.base_transform.bijective

    @property
    def sign(self) -> int:
        return self.base_transform.sign

    def _call(self, x: cr.Tensor) -> cr.Tensor:
        _require_rank(x, self.domain.event_dim)
        return self.base_transform(x)

    def _inverse(self, y: cr.Tensor) -> cr.Tensor:
        _require_rank(y, self.codomain.event_dim)
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        per_element = self.base_transform.log_abs_det_jacobian(x, y)
        return _sum_rightmost(per_element, self.reinterpreted_batch_ndims)

    def __repr__(self) -> str:
        inner = repr(self.base_transform)
        return f"{type(self).__name__}({inner}, {self.reinterpreted_batch_ndims})"

    def forward_shape(self, shape: Any) -> Any:
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape: Any) -> Any:
        return self.base_transform.inverse_shape(shape)


def _swap_event_shape(shape: Any, old: cr.Size, new: cr.Size) -> Any:
    """``shape`` with its trailing ``old`` event shape replaced by ``new``."""
    n_batch = len(shape) - len(old)
    if n_batch < 0:
        raise ValueError("Too few dimensions on input")
    trailing = shape[n_batch:]
    if trailing != old:
        raise ValueError(f"Shape mismatch: expected {trailing} but got {old}")
    return shape[:n_batch] + new


class ReshapeTransform(Transform):
    """Reshape the event part of a tensor from ``in_shape`` to ``out_shape``.

    Leading (batch) dims are kept as they are. Reshaping only moves entries around, so the
    Jacobian is a permutation matrix and ``log |det J| = 0``.

    Args:
        in_shape: event shape of the input.
        out_shape: event shape of the output; must hold as many elements as ``in_shape``.
        cache_size: 0 or 1.
    """

    bijective = True

    def __init__(
        self,
        in_shape: cr.Size,
        out_shape: cr.Size,
        cache_size: int = 0,
    ) -> None:
        self.in_shape = cr.Size(in_shape)
        self.out_shape = cr.Size(out_shape)
        if self.in_shape.numel() != self.out_shape.numel():
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    @constraints.dependent_property
    def domain(self) -> constraints.Constraint:
        return constraints.independent(constraints.real, len(self.in_shape))

    @constraints.dependent_property
    def codomain(self) -> constraints.Constraint:
        return constraints.independent(constraints.real, len(self.out_shape))

    def with_cache(self, cache_size: int = 1) -> Transform:
        if cache_size == self._cache_size:
            return self
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    @staticmethod
    def _batch_part(t: cr.Tensor, event: cr.Size) -> Any:
        return t.shape[: t.dim() - len(event)]

    def _call(self, x: cr.Tensor) -> cr.Tensor:
        return x.reshape(self._batch_part(x, self.in_shape) + self.out_shape)

    def _inverse(self, y: cr.Tensor) -> cr.Tensor:
        return y.reshape(self._batch_part(y, self.out_shape) + self.in_shape)

    def log_abs_det_jacobian(self, x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        return x.new_zeros(self._batch_part(x, self.in_shape))

    def forward_shape(self, shape: Any) -> Any:
        return _swap_event_shape(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape: Any) -> Any:
        return _swap_event_shape(shape, self.out_shape, self.in_shape)


class CumulativeDistributionTransform(Transform):
    """The map ``x -> F(x)`` where ``F`` is the CDF of a univariate ``distribution``.

    It sends the distribution's support onto ``[0, 1]``; the inverse is the quantile function
    ``icdf`` and ``d F / dx`` is the density, so ``log |det J| = distribution.log_prob(x)``.
    Pushing a multivariate normal through the standard normal's CDF, for instance, gives a
    Gaussian copula::

        mvn = MultivariateNormal(cr.zeros(2), scale_tril=LKJCholesky(2).sample())
        copula = TransformedDistribution(mvn, [CumulativeDistributionTransform(Normal(0, 1))])

    Args:
        distribution: supplies ``cdf``, ``icdf``, ``log_prob`` and ``support``.
        cache_size: 0 or 1.
    """

    bijective = True
    codomain = constraints.unit_interval
    sign = +1

    def __init__(self, distribution: Distribution, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self) -> constraints.Constraint | None:
        return self.distribution.support

    def _call(self, x: cr.Tensor) -> cr.Tensor:
        return self.distribution.cdf(x)

    def _inverse(self, y: cr.Tensor) -> cr.Tensor:
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        return self.distribution.log_prob(x)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if cache_size == self._cache_size:
            return self
        return CumulativeDistributionTransform(self.distribution, cache_size=cache_size)
