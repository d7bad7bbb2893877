"""``TransformedDistribution``: the law of ``Y = f(X)`` for ``X`` from a base distribution and
``f`` a chain of transforms (the API of ``torch.distributions.TransformedDistribution``)."""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .distribution import Distribution
from .independent import Independent
from .transforms import ComposeTransform, Transform
from .utils import _EMPTY_SIZE, _sum_rightmost

__all__ = ["TransformedDistribution"]


def _as_transform_list(transforms: Any) -> list[Transform]:
    """Accept one transform or a list of them; anything else is rejected."""
    if isinstance(transforms, Transform):
        return [transforms]
    if not isinstance(transforms, list):
        raise ValueError(f"transforms must be a Transform or list, but was {transforms}")
    if any(not isinstance(t, Transform) for t in transforms):
        raise ValueError("transforms must be a Transform or a list of Transforms")
    return transforms


class TransformedDistribution(Distribution):
    r"""Distribution of ``Y = f(X)``, ``X ~ base_distribution``, ``f = transforms[-1] o ... o
    transforms[0]``.

    The density follows from the change-of-variables formula

    .. math::
        \log p_Y(y) = \log p_X(f^{-1}(y)) - \sum_k \log |\det J_{f_k}(x_k)|,

    where ``x_k`` is the value entering the k-th transform. Sampling draws ``X`` and pushes it
    through the transforms (reparameterised when the base is). The CDF is the base CDF of
    ``f^{-1}(y)``, flipped to ``1 - F`` when ``f`` is decreasing (univariate transforms only).

    Transforms may couple dimensions (e.g. ``StickBreakingTransform`` acts on vectors), so the
    event rank of the result is the larger of what the base's event becomes and what the
    transforms need; base batch dims that a transform reads as event dims are absorbed with
    :class:`Independent`, and a base too small for the transforms' shapes is expanded first.

    Many families are built this way: ``LogNormal`` (``exp`` of a normal), ``HalfNormal`` and
    ``HalfCauchy`` (``abs``), ``Gumbel``, ``Pareto``, ``Weibull``, ``RelaxedBernoulli``, ... For
    instance, a logistic distribution with location ``a`` and scale ``b``::

        TransformedDistribution(
            Uniform(0, 1), [SigmoidTransform().inv, AffineTransform(loc=a, scale=b)]
        )

    Args:
        base_distribution: the distribution of ``X``.
        transforms: a transform or a list of transforms, applied in order.
        validate_args: whether to check values passed to ``log_prob`` and ``cdf``.
    """

    arg_constraints: dict[str, constraints.Constraint] = {}

    def __init__(
        self,
        base_distribution: Distribution,
        transforms: Transform | list[Transform],
        validate_args: bool | None = None,
    ) -> None:
        self.transforms = _as_transform_list(transforms)
        chain = ComposeTransform(self.transforms)
        rank_in = chain.domain.event_dim
        rank_out = chain.codomain.event_dim

        base_event_rank = len(base_distribution.event_shape)
        base_full = base_distribution.batch_shape + base_distribution.event_shape
        if len(base_full) < rank_in:
            raise ValueError(
                "base_distribution needs to have shape with size at least "
                f"{rank_in}, but got {base_full}."
            )
        # Round trip through the shape functions: if the transforms broadcast the base
        # (e.g. a parameter with more batch dims), the base must be expanded to match.
        out_full = chain.forward_shape(base_full)
        needed_full = chain.inverse_shape(out_full)
        if needed_full != base_full:
            base_distribution = base_distribution.expand(
                needed_full[: len(needed_full) - base_event_rank]
            )
        if rank_in > base_event_rank:
            base_distribution = Independent(base_distribution, rank_in - base_event_rank)
        self.base_dist = base_distribution

        # Either the transforms couple ``rank_out`` dims, or the base's own event (shifted by
        # the change of rank along the chain) does; the event is whichever is larger.
        event_rank = max(rank_out, base_event_rank + rank_out - rank_in)
        n_batch = len(out_full) - event_rank
        super().__init__(out_full[:n_batch], out_full[n_batch:], validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        new = self._get_checked_instance(TransformedDistribution, _instance)
        batch_shape = cr.Size(batch_shape)
        # Pull the requested shape back through the transforms to find the base's shape.
        shape = batch_shape + self.event_shape
        for t in self.transforms[::-1]:
            shape = t.inverse_shape(shape)
        n_base_batch = len(shape) - len(self.base_dist.event_shape)
        new.base_dist = self.base_dist.expand(shape[:n_base_batch])
        new.transforms = self.transforms
        super(TransformedDistribution, new).__init__(
            batch_shape, self.event_shape, validate_args=False
        )
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=False)
    def support(self) -> constraints.Constraint:
        if not self.transforms:
            return self.base_dist.support
        last = self.transforms[-1].codomain
        extra = len(self.event_shape) - last.event_dim
        return constraints.independent(last, extra) if extra > 0 else last

    @property
    def has_rsample(self) -> bool:
        return self.base_dist.has_rsample

    def _push_forward(self, x: Tensor) -> Tensor:
        for t in self.transforms:
            x = t(x)
        return x

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        """Draw from the base and apply the transforms, outside autograd."""
        with cr.no_grad():
            return self._push_forward(self.base_dist.sample(sample_shape))

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        """Reparameterised draw: a base ``rsample`` pushed through the transforms, so
        gradients reach the base's parameters and the transforms' parameters."""
        return self._push_forward(self.base_dist.rsample(sample_shape))

    def log_prob(self, value: Tensor) -> Tensor:
        """Change of variables: undo the transforms one by one from the last, subtracting each
        log-det-Jacobian, then add the base log-density of the recovered point.

        ``rank`` tracks how many rightmost dims of the current point belong to this
        distribution's event; each term is summed over the part of them that the transform
        itself treats as batch, so every term ends up with this distribution's batch shape.
        """
        if self._validate_args:
            self._validate_sample(value)
        rank = len(self.event_shape)
        result: Tensor | float = 0.0
        y = value
        for t in self.transforms[::-1]:
            x = t.inv(y)
            rank += t.domain.event_dim - t.codomain.event_dim
            ladj = t.log_abs_det_jacobian(x, y)
            result = result - _sum_rightmost(ladj, rank - t.domain.event_dim)
            y = x
        base_term = self.base_dist.log_prob(y)
        return result + _sum_rightmost(base_term, rank - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value: Tensor) -> Tensor:
        """Turn ``u`` into ``1 - u`` where the chain is decreasing (sign -1), since then
        ``P(Y <= y) = P(X >= f^{-1}(y))``; written as ``sign * (u - 1/2) + 1/2``."""
        sign: Any = 1
        for t in self.transforms:
            sign = sign * t.sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value: Tensor) -> Tensor:
        """``F_X(f^{-1}(y))``, corrected for decreasing transforms."""
        for t in self.transforms[::-1]:
            value = t.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value: Tensor) -> Tensor:
        """``f(F_X^{-1}(q))``, with ``q`` flipped first for decreasing transforms."""
        return self._push_forward(self.base_dist.icdf(self._monotonize_cdf(value)))
