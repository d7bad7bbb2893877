"""Constraints: the sets that distribution parameters and samples live in.

``check(value)`` tells which events of ``value`` belong to the set, an event being the
trailing ``event_dim`` dims (scalar, vector, matrix); the result is a bool tensor of shape
``value.shape[:value.dim() - event_dim]``. ``is_discrete`` marks countable sets. Argument
validation calls ``check``; ``biject_to``/``transform_to`` dispatch on the exact class.

Exported names, class names (they give the reprs) and which singletons share a class follow
``torch.distributions.constraints``. Matrix, ``cat``/``stack`` and mixture constraints live in
``_constraints_structured.py`` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chainrule as cr

__all__ = [
    "Constraint",
    "boolean",
    "cat",
    "corr_cholesky",
    "dependent",
    "dependent_property",
    "greater_than",
    "greater_than_eq",
    "independent",
    "integer_interval",
    "interval",
    "half_open_interval",
    "is_dependent",
    "less_than",
    "lower_cholesky",
    "lower_triangular",
    "MixtureSameFamilyConstraint",
    "multinomial",
    "nonnegative",
    "nonnegative_integer",
    "one_hot",
    "positive",
    "positive_semidefinite",
    "positive_definite",
    "positive_integer",
    "real",
    "real_vector",
    "simplex",
    "square",
    "stack",
    "symmetric",
    "unit_interval",
]

# tolerance on ``sum(x) == 1`` for the simplex (float32 sums of a few terms are this exact)
_SIMPLEX_ATOL = 1e-6


class Constraint:
    """Base class: a set of admissible values, tested event by event with ``check``;
    ``is_discrete`` (default False) and ``event_dim`` (default 0) describe it. The repr is
    the class name minus its first character, then the ``_repr_fields`` as keywords."""

    is_discrete = False
    event_dim = 0
    _repr_fields: tuple[str, ...] = ()

    def check(self, value: cr.Tensor) -> cr.Tensor:
        """Bool tensor over ``sample_shape + batch_shape``: which events are in the set."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)}" for name in self._repr_fields)
        return f"{type(self).__name__[1:]}({args})"


# --------------------------------------------------------------------- dependent placeholders


def _static(value: Any, what: str) -> Any:
    """``value`` unless it was never given (then ``what`` is only known per instance)."""
    if value is NotImplemented:
        raise NotImplementedError(f".{what} cannot be determined statically")
    return value


class _Dependent(Constraint):
    """A set that depends on other parameters (``low <= x <= high``), so it cannot be
    checked alone and validation skips it. ``is_discrete``/``event_dim`` may be fixed when
    known (reading an unfixed one raises); calling the object returns a copy with some fixed.
    """

    def __init__(self, *, is_discrete: Any = NotImplemented, event_dim: Any = NotImplemented):
        self._is_discrete = is_discrete
        self._event_dim = event_dim
        super().__init__()

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return _static(self._is_discrete, "is_discrete")

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return _static(self._event_dim, "event_dim")

    def __call__(
        self, *, is_discrete: Any = NotImplemented, event_dim: Any = NotImplemented
    ) -> _Dependent:
        """A placeholder with some attributes fixed: ``dependent(is_discrete=True)``."""
        return _Dependent(
            is_discrete=self._is_discrete if is_discrete is NotImplemented else is_discrete,
            event_dim=self._event_dim if event_dim is NotImplemented else event_dim,
        )

    def check(self, x: cr.Tensor) -> cr.Tensor:
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint: Any) -> bool:
    """True for the ``dependent`` placeholders (including ``dependent_property`` objects),
    which argument validation does not check.

    >>> import chainrule as cr
    >>> from chainrule.distributions import Bernoulli, constraints
    >>> constraints.is_dependent(Bernoulli(probs=cr.tensor([0.6])).arg_constraints["probs"])
    False
    >>> constraints.is_dependent(constraints.dependent)
    True
    """
    return isinstance(constraint, _Dependent)


class _DependentProperty(property, _Dependent):
    """A property that doubles as a ``dependent`` constraint.

    On an instance it builds the constraint from the parameters; on the class it is the
    placeholder (so ``Uniform.support.event_dim`` works). A decorator, bare or with arguments::

        @constraints.dependent_property(is_discrete=False, event_dim=0)
        def support(self):
            return constraints.interval(self.low, self.high)
    """

    def __init__(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        is_discrete: Any = NotImplemented,
        event_dim: Any = NotImplemented,
    ) -> None:
        super().__init__(fn)  # property's initialiser: ``fn`` becomes the getter
        self._is_discrete = is_discrete
        self._event_dim = event_dim

    def __call__(self, fn: Callable[..., Any]) -> _DependentProperty:  # type: ignore[override]
        """Second step of the decorator-with-arguments form: wrap ``fn``."""
        return _DependentProperty(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)


# ------------------------------------------------------------------------------- wrappers


class _IndependentConstraint(Constraint):
    """``base_constraint`` applied to every entry, with ``reinterpreted_batch_ndims`` more
    trailing dims counted as part of the event: an event passes when all its entries do."""

    def __init__(self, base_constraint: Constraint, reinterpreted_batch_ndims: int) -> None:
        n = reinterpreted_batch_ndims
        if not isinstance(base_constraint, Constraint):
            raise AssertionError(
                f"base_constraint must be a Constraint, got {type(base_constraint).__name__}"
            )
        if not isinstance(n, int):
            raise AssertionError(
                f"reinterpreted_batch_ndims must be an int, got {type(n).__name__}"
            )
        if n < 0:
            raise AssertionError(f"reinterpreted_batch_ndims must be >= 0, got {n}")
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = n
        super().__init__()

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return self.base_constraint.is_discrete

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def check(self, value: cr.Tensor) -> cr.Tensor:
        ok = self.base_constraint.check(value)
        n = self.reinterpreted_batch_ndims
        if ok.dim() < n:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {value.dim()}")
        # collapse the n extra event dims into one and require all of it
        keep = tuple(ok.shape[: ok.dim() - n])
        return ok.reshape(*keep, -1).all(-1)

    def __repr__(self) -> str:
        name = type(self).__name__[1:]
        return f"{name}({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


# ------------------------------------------------------------ bases for sets with bounds
# They store the bounds (numbers or broadcastable tensors) and give the repr; the registries
# dispatch on the exact class, so sharing a base changes no lookup.


class _BelowBounded(Constraint):
    _repr_fields = ("lower_bound",)

    def __init__(self, lower_bound: Any) -> None:
        self.lower_bound = lower_bound
        super().__init__()


class _AboveBounded(Constraint):
    _repr_fields = ("upper_bound",)

    def __init__(self, upper_bound: Any) -> None:
        self.upper_bound = upper_bound
        super().__init__()


class _TwoSidedBounded(Constraint):
    _repr_fields = ("lower_bound", "upper_bound")

    def __init__(self, lower_bound: Any, upper_bound: Any) -> None:
        self.lower_bound, self.upper_bound = lower_bound, upper_bound
        super().__init__()


# ----------------------------------------------------------------------- discrete sets


def _is_whole(value: cr.Tensor) -> cr.Tensor:
    """Whether each entry is an integer (NaN and infinities are not)."""
    return value % 1 == 0


def _is_zero_or_one(value: cr.Tensor) -> cr.Tensor:
    return (value == 0) | (value == 1)


class _Boolean(Constraint):
    """``{0, 1}``."""

    is_discrete = True

    def check(self, value: cr.Tensor) -> cr.Tensor:
        return _is_zero_or_one(value)


class _OneHot(Constraint):
    """Unit vectors ``e_k``: entries in ``{0, 1}`` that sum to exactly 1."""

    is_discrete = True
    event_dim = 1

    def check(self, value: cr.Tensor) -> cr.Tensor:
        return _is_zero_or_one(value).all(-1) & (value.sum(-1) == 1)


class _IntegerInterval(_TwoSidedBounded):
    """Integers ``k`` with ``lower_bound <= k <= upper_bound``."""

    is_discrete = True

    def check(self, value: cr.Tensor) -> cr.Tensor:
        in_range = (value >= self.lower_bound) & (value <= self.upper_bound)
        return _is_whole(value) & in_range


class _IntegerLessThan(_AboveBounded):
    """Integers ``k <= upper_bound``."""

    is_discrete = True

    def check(self, value: cr.Tensor) -> cr.Tensor:
        return _is_whole(value) & (value <= self.upper_bound)


class _IntegerGreaterThan(_BelowBounded):
    """Integers ``k >= lower_bound`` (the name says "greater than"; the bound is included)."""

    is_discrete = True

    def check(self, value: cr.Tensor) -> cr.Tensor:
        return _is_whole(value) & (value >= self.lower_bound)


class _Multinomial(Constraint):
    """Count vectors: non-negative entries with a total of at most ``upper_bound``. As in
    PyTorch the total is only bounded above (and integrality is not tested); its repr shows
    no fields."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound: Any) -> None:
        self.upper_bound = upper_bound

    def check(self, x: cr.Tensor) -> cr.Tensor:
        return (x >= 0).all(dim=-1) & (x.sum(dim=-1) <= self.upper_bound)


# --------------------------------------------------------------------- continuous sets


class _Real(Constraint):
    """All reals including ``+-inf``; only NaN fails."""

    def check(self, value: cr.Tensor) -> cr.Tensor:
        return value == value  # NaN is the one value unequal to itself


class _GreaterThan(_BelowBounded):
    """``x > lower_bound`` (strict)."""

    def check(self, value: cr.Tensor) -> cr.Tensor:
        return value > self.lower_bound


class _GreaterThanEq(_BelowBounded):
    """``x >= lower_bound``."""

    def check(self, value: cr.Tensor) -> cr.Tensor:
        return value >= self.lower_bound


class _LessThan(_AboveBounded):
    """``x < upper_bound`` (strict)."""

    def check(self, value: cr.Tensor) -> cr.Tensor:
        return value < self.upper_bound


class _Interval(_TwoSidedBounded):
    """``lower_bound <= x <= upper_bound`` (both ends included)."""

    def check(self, value: cr.Tensor) -> cr.Tensor:
        return (value >= self.lower_bound) & (value <= self.upper_bound)


class _HalfOpenInterval(_TwoSidedBounded):
    """``lower_bound <= x < upper_bound``; not an ``_Interval`` (as in PyTorch)."""

    def check(self, value: cr.Tensor) -> cr.Tensor:
        return (value >= self.lower_bound) & (value < self.upper_bound)


class _Simplex(Constraint):
    """Probability vectors: non-negative entries summing to 1 (within ``1e-6``)."""

    event_dim = 1

    def check(self, value: cr.Tensor) -> cr.Tensor:
        total_ok = (value.sum(-1) - 1).abs() < _SIMPLEX_ATOL
        return (value >= 0).all(dim=-1) & total_ok


# The structured constraints subclass ``Constraint``, so they are imported only now that it
# exists (the module imports this one).
from ._constraints_structured import (  # noqa: E402
    MixtureSameFamilyConstraint,
    _Cat,
    _CorrCholesky,
    _LowerCholesky,
    _LowerTriangular,
    _PositiveDefinite,
    _PositiveSemidefinite,
    _Square,
    _Stack,
    _Symmetric,
)

# ------------------------------------------------------------------ the public objects
# Parameterised sets are exported as classes, fixed ones as instances; ``positive`` is a
# ``greater_than(0.0)``, so the registries treat the two alike.

dependent = _Dependent()
dependent_property = _DependentProperty
independent = _IndependentConstraint

boolean = _Boolean()
one_hot = _OneHot()
integer_interval = _IntegerInterval
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
multinomial = _Multinomial

real = _Real()
real_vector = independent(real, 1)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
unit_interval = _Interval(0.0, 1.0)
simplex = _Simplex()

lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
positive_definite = _PositiveDefinite()
cat = _Cat
stack = _Stack
