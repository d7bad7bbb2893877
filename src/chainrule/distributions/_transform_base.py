"""Core of the transform machinery behind ``cr.distributions.transforms``.

A transform is a map ``y = f(x)`` between two constrained spaces together with the log of the
absolute Jacobian determinant, ``log |det df/dx|``, which is what the change-of-variables
formula needs. This module holds the base class, the inverse view ``t.inv`` and the chain of
transforms (``ComposeTransform``; ``identity_transform`` is the empty chain). Concrete
transforms live in ``_transforms_pointwise.py``, ``_transforms_structured.py``,
``_transforms_functors.py`` and ``_transforms_wrappers.py``; ``transforms.py`` re-exports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import chainrule as cr

from . import constraints
from .utils import _sum_rightmost, lazy_property

__all__ = [
    "ComposeTransform",
    "Transform",
    "identity_transform",
]

_NO_MEMO: tuple[Any, Any] = (None, None)


class Transform:
    """Base class of invertible maps whose log-abs-det-Jacobian can be computed.

    Subclasses provide the forward map in ``_call``, the inverse map in ``_inverse`` (either may
    be left out when only one direction is needed) and, when ``bijective`` is true,
    ``log_abs_det_jacobian(x, y)``. They declare ``domain`` and ``codomain`` constraints; the
    ``event_dim`` of those says how many rightmost dimensions form one point of the space (a
    pointwise map has 0, ``SoftmaxTransform`` has 1, ...).

    ``cache_size=1`` remembers the last ``(x, y)`` pair, so that ``t.inv(t(x))`` returns the very
    tensor ``x`` without recomputing it. This helps transforms whose inverse is costly or loses
    precision, but it also means the returned tensor carries ``x``'s autograd history rather than
    one through ``y``: differentiating ``t.inv(t(x))`` with respect to ``y`` then fails.

    A non-bijective transform should still be a pseudo-inverse pair:
    ``t(t.inv(t(x))) == t(x)`` and ``t.inv(t(t.inv(y))) == t.inv(y)``. For a bijective
    univariate transform, ``sign`` is +1 when it is increasing and -1 when decreasing.

    Args:
        cache_size: 0 (no memo) or 1 (memo of the latest pair).
    """

    bijective = False
    domain: constraints.Constraint
    codomain: constraints.Constraint

    def __init__(self, cache_size: int = 0) -> None:
        if cache_size not in (0, 1):
            raise ValueError("cache_size must be 0 or 1")
        self._cache_size = cache_size
        # The inverse view, built lazily by ``inv``; for an inverse view, the transform it undoes.
        self._inv: Transform | None = None
        if cache_size == 1:  # PyTorch's name: subclasses (Pyro's transforms) read the pair
            self._cached_x_y = _NO_MEMO
        super().__init__()

    def __getstate__(self) -> dict:
        # The inverse view is a derived object; it is rebuilt on demand after unpickling.
        state = dict(self.__dict__)
        state["_inv"] = None
        return state

    @property
    def event_dim(self) -> int:
        """The event rank shared by domain and codomain (an error when they differ)."""
        rank = self.domain.event_dim
        if rank != self.codomain.event_dim:
            raise ValueError("Please use either .domain.event_dim or .codomain.event_dim")
        return rank

    @property
    def inv(self) -> Transform:
        """The inverse transform, created once and kept, so that ``t.inv.inv is t``."""
        if self._inv is None:
            self._inv = _InverseTransform(self)
        return self._inv

    @property
    def sign(self) -> int:
        """Sign (+1/-1) of the Jacobian determinant; only meaningful for bijections."""
        raise NotImplementedError

    def with_cache(self, cache_size: int = 1) -> Transform:
        """A copy of this transform with the given ``cache_size`` (``self`` when unchanged).

        The generic copy works only for classes whose constructor takes nothing but
        ``cache_size``; transforms with parameters override this method.
        """
        if cache_size == self._cache_size:
            return self
        if type(self).__init__ is not Transform.__init__:
            raise NotImplementedError(f"{type(self)}.with_cache is not implemented")
        return type(self)(cache_size=cache_size)

    def __eq__(self, other: object) -> bool:
        # Plain transforms are equal only to themselves; parametrised ones refine this.
        return other is self

    def __ne__(self, other: object) -> bool:
        return not self == other

    def _memoised(self, value: cr.Tensor, slot: int, compute: Callable[[Any], Any]) -> Any:
        """Run ``compute(value)`` through the one-entry memo.

        ``slot`` is 0 when ``value`` is an input ``x`` and 1 when it is an output ``y``; a hit is
        an identity match (``is``), never a comparison of values.
        """
        if not self._cache_size:
            return compute(value)
        remembered = self._cached_x_y
        if remembered[slot] is value:
            return remembered[1 - slot]
        result = compute(value)
        self._cached_x_y = (value, result) if slot == 0 else (result, value)
        return result

    def __call__(self, x: cr.Tensor) -> cr.Tensor:
        """Map ``x`` to ``y`` (through the memo when ``cache_size == 1``)."""
        return self._memoised(x, 0, self._call)

    def _inv_call(self, y: cr.Tensor) -> cr.Tensor:
        """Map ``y`` back to ``x`` (through the memo when ``cache_size == 1``)."""
        return self._memoised(y, 1, self._inverse)

    def _call(self, x: cr.Tensor) -> cr.Tensor:
        """The forward map; subclasses implement it."""
        raise NotImplementedError

    def _inverse(self, y: cr.Tensor) -> cr.Tensor:
        """The inverse map; subclasses implement it."""
        raise NotImplementedError

    def log_abs_det_jacobian(self, x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        """``log |det dy/dx|`` at the pair ``(x, y = t(x))``; subclasses implement it."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def forward_shape(self, shape: Any) -> Any:
        """Shape of ``t(x)`` for an ``x`` of ``shape``; unchanged unless overridden."""
        return shape

    def inverse_shape(self, shape: Any) -> Any:
        """Shape of ``t.inv(y)`` for a ``y`` of ``shape``; unchanged unless overridden."""
        return shape


class _InverseTransform(Transform):
    """The inverse view of a transform: what ``t.inv`` returns (not constructed directly).

    It swaps domain and codomain, the two maps and the two shape functions, and negates the
    log-det-Jacobian (``log |dx/dy| = -log |dy/dx|``). Evaluation goes through the original
    transform, so both directions share its memo.
    """

    def __init__(self, transform: Transform) -> None:
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform

    @property
    def _forward(self) -> Transform:
        # ``_inv`` is dropped when pickling (as in torch); a restored view is unusable.
        if self._inv is None:
            raise AssertionError("_inv must not be None")
        return self._inv

    @constraints.dependent_property(is_discrete=False)
    def domain(self) -> constraints.Constraint:
        return self._forward.codomain

    @constraints.dependent_property(is_discrete=False)
    def codomain(self) -> constraints.Constraint:
        return self._forward.domain

    @property
    def bijective(self) -> bool:
        return self._forward.bijective

    @property
    def sign(self) -> int:
        # The inverse of a monotone map is monotone in the same direction.
        return self._forward.sign

    @property
    def inv(self) -> Transform:
        return self._inv

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self._forward.with_cache(cache_size).inv

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _InverseTransform) and self._forward == other._inv

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._inv!r})"

    def __call__(self, x: cr.Tensor) -> cr.Tensor:
        return self._forward._inv_call(x)

    def log_abs_det_jacobian(self, x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        return -self._forward.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape: Any) -> Any:
        return self._forward.inverse_shape(shape)

    def inverse_shape(self, shape: Any) -> Any:
        return self._forward.forward_shape(shape)


def _chain_rank(start: int, steps: Iterable[tuple[int, int]]) -> int:
    """Event rank reached at one end of a chain of transforms.

    Starting from rank ``start`` at the other end, each step ``(rank_in, rank_out)`` shifts the
    rank by ``rank_out - rank_in``; a step that itself needs more dimensions than that (e.g. a
    vector transform after a pointwise one) raises the rank to ``rank_out``.
    """
    rank = start
    for rank_in, rank_out in steps:
        rank = max(rank + rank_out - rank_in, rank_out)
    return rank


def _widen(constraint: constraints.Constraint, rank: int) -> constraints.Constraint:
    """``constraint`` reinterpreted to cover ``rank`` rightmost dimensions."""
    extra = rank - constraint.event_dim
    return constraints.independent(constraint, extra) if extra > 0 else constraint


class ComposeTransform(Transform):
    """The chain ``parts[-1](...parts[1](parts[0](x)))``.

    Its log-det-Jacobian is the sum of the parts' terms (chain rule for determinants), each
    first summed over the dimensions that are batch for that part but event for the chain.
    The parts do their own caching; ``cache_size`` here is handed on to them.

    Args:
        parts: the transforms, applied first to last.
        cache_size: 0 or 1, applied to every part.
    """

    def __init__(self, parts: list[Transform], cache_size: int = 0) -> None:
        if cache_size:
            parts = [p.with_cache(cache_size) for p in parts]
        super().__init__(cache_size=cache_size)
        self.parts = parts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    @constraints.dependent_property(is_discrete=False)
    def domain(self) -> constraints.Constraint:
        if not self.parts:
            return constraints.real
        # Walk from the output end back to the input end.
        rank = _chain_rank(
            self.parts[-1].codomain.event_dim,
            ((p.codomain.event_dim, p.domain.event_dim) for p in reversed(self.parts)),
        )
        return _widen(self.parts[0].domain, rank)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self) -> constraints.Constraint:
        if not self.parts:
            return constraints.real
        rank = _chain_rank(
            self.parts[0].domain.event_dim,
            ((p.domain.event_dim, p.codomain.event_dim) for p in self.parts),
        )
        return _widen(self.parts[-1].codomain, rank)

    @lazy_property
    def bijective(self) -> bool:
        return all(p.bijective for p in self.parts)

    @lazy_property
    def sign(self) -> int:
        # The derivative of a chain of monotone maps is the product of their derivatives.
        total = 1
        for p in self.parts:
            total = total * p.sign
        return total

    @property
    def inv(self) -> Transform:
        if self._inv is None:
            backwards = ComposeTransform([p.inv for p in reversed(self.parts)])
            backwards._inv = self
            self._inv = backwards
        return self._inv

    def with_cache(self, cache_size: int = 1) -> Transform:
        if cache_size == self._cache_size:
            return self
        return ComposeTransform(self.parts, cache_size=cache_size)

    def __call__(self, x: cr.Tensor) -> cr.Tensor:
        out = x
        for p in self.parts:
            out = p(out)
        return out

    def log_abs_det_jacobian(self, x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        if not self.parts:
            return cr.zeros_like(x)
        # The points between the parts (recomputed; free when the parts cache). The last
        # point is the given ``y`` rather than a recomputation of it.
        points = [x]
        for p in self.parts[:-1]:
            points.append(p(points[-1]))
        points.append(y)

        rank = self.domain.event_dim
        total = None
        for i, p in enumerate(self.parts):
            term = p.log_abs_det_jacobian(points[i], points[i + 1])
            term = _sum_rightmost(term, rank - p.domain.event_dim)
            total = term if total is None else total + term
            rank += p.codomain.event_dim - p.domain.event_dim
        return total

    def forward_shape(self, shape: Any) -> Any:
        for p in self.parts:
            shape = p.forward_shape(shape)
        return shape

    def inverse_shape(self, shape: Any) -> Any:
        for p in self.parts[::-1]:
            shape = p.inverse_shape(shape)
        return shape

    def __repr__(self) -> str:
        inner = ",\n    ".join(repr(p) for p in self.parts)
        return f"{type(self).__name__}(\n    {inner}\n)"


identity_transform = ComposeTransform([])
