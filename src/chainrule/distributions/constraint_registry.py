r"""Looking up a transform that maps unconstrained reals onto a constraint's set.

Two registries, both instances of :class:`ConstraintRegistry`, answer the question "which
transform takes :math:`\mathbb{R}^n` onto this constraint?" (the API of
``torch.distributions.constraint_registry``):

``biject_to(constraint)``
    a *bijective* transform (``.bijective`` is true and it has a log-det). This is what
    sampling in an unconstrained space needs, e.g. Hamiltonian Monte Carlo: draw ``u``
    freely, use ``biject_to(dist.support)(u)`` as the sample, and correct the density with
    the transform's ``log_abs_det_jacobian``.

``transform_to(constraint)``
    any transform onto the set, possibly over-parameterised and without a log-det. This is
    what unconstrained optimisation of a constrained parameter needs::

        raw = cr.zeros(3, requires_grad=True)
        scale = transform_to(Normal.arg_constraints["scale"])(raw)  # always positive

The two differ where a cheaper non-bijective map exists: for ``constraints.simplex``,
``transform_to`` gives ``SoftmaxTransform`` (nearly coordinate-wise, convenient for
optimisers such as Adam) and ``biject_to`` gives ``StickBreakingTransform`` (a true
bijection from one fewer dimension, as HMC requires). Lower-Cholesky and positive-definite
constraints have only a ``transform_to`` entry.

Lookups go by the constraint's class, and parameterised constraints (``interval(a, b)``,
``independent(c, n)``, ...) pass the instance to a factory that reads its parameters. New
entries are added with :meth:`ConstraintRegistry.register`, directly or as a decorator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import constraints, transforms
from .utils import _Number

__all__ = [
    "ConstraintRegistry",
    "biject_to",
    "transform_to",
]

_Factory = Callable[[Any], transforms.Transform]


class ConstraintRegistry:
    """A table from :class:`~constraints.Constraint` subclasses to factories that build a
    :class:`~transforms.Transform` for a given constraint object.

    Calling the registry with a constraint looks up its exact class and calls the factory
    with the constraint (subclasses are not matched to their parents' entries).
    """

    def __init__(self) -> None:
        self._registry: dict[type, _Factory] = {}
        super().__init__()

    def register(self, constraint: Any, factory: _Factory | None = None) -> Any:
        """Record ``factory`` as the way to build a transform for ``constraint``.

        Args:
            constraint: a ``Constraint`` subclass, or an instance of one (a singleton such
                as ``constraints.positive``), which stands for its class.
            factory: a callable taking the constraint object and returning a
                ``Transform``. When omitted, ``register`` returns a decorator that
                registers the function it decorates::

                    @my_registry.register(MyConstraint)
                    def _make(c):
                        return MyTransform(c.low, c.high)

        Returns:
            ``factory`` (so decorators can be stacked), or the decorator.
        """
        if factory is None:
            return lambda f: self.register(constraint, f)
        key = type(constraint) if isinstance(constraint, constraints.Constraint) else constraint
        if not (isinstance(key, type) and issubclass(key, constraints.Constraint)):
            raise TypeError(
                "Expected constraint to be either a Constraint subclass or instance, "
                f"but got {constraint}"
            )
        self._registry[key] = factory
        return factory

    def __call__(self, constraint: constraints.Constraint) -> transforms.Transform:
        """The transform from unconstrained reals onto ``constraint``'s set.

        ``t = transform_to(c)`` maps reals into the set; ``t.inv`` maps points of the set
        back to reals.

        Raises:
            NotImplementedError: nothing is registered for the constraint's class.
        """
        factory = self._registry.get(type(constraint))
        if factory is None:
            raise NotImplementedError(f"Cannot transform {type(constraint).__name__} constraints")
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _register(*targets: Any, bijective: bool = True, onto: bool = True) -> Callable:
    """A decorator registering one factory for several constraints, in ``biject_to``
    (when ``bijective``) and/or ``transform_to`` (when ``onto``)."""
    registries = [r for r, use in ((biject_to, bijective), (transform_to, onto)) if use]

    def deco(factory: _Factory) -> _Factory:
        for registry in registries:
            for target in targets:
                registry.register(target, factory)
        return factory

    return deco


# ----------------------------------------------------------------------------- the table
# Every factory below is a bijection unless it is registered with ``bijective=False``.


@_register(constraints.real)
def _onto_real(constraint: Any) -> transforms.Transform:
    return transforms.identity_transform


@_register(constraints.positive, constraints.nonnegative)
def _onto_positive(constraint: Any) -> transforms.Transform:
    return transforms.ExpTransform()


def _exp_then_affine(loc: Any, scale: float) -> transforms.Transform:
    """``loc + scale * exp(x)``: onto ``(loc, inf)`` for scale 1, ``(-inf, loc)`` for -1."""
    return transforms.ComposeTransform(
        [transforms.ExpTransform(), transforms.AffineTransform(loc, scale)]
    )


@_register(constraints.greater_than, constraints.greater_than_eq)
def _onto_half_line_above(constraint: Any) -> transforms.Transform:
    return _exp_then_affine(constraint.lower_bound, 1)


@_register(constraints.less_than)
def _onto_half_line_below(constraint: Any) -> transforms.Transform:
    return _exp_then_affine(constraint.upper_bound, -1)


@_register(constraints.interval, constraints.half_open_interval)
def _onto_interval(constraint: Any) -> transforms.Transform:
    low, high = constraint.lower_bound, constraint.upper_bound
    squash = transforms.SigmoidTransform()
    # (0, 1) needs no rescaling (only checked for plain numbers, not tensor bounds)
    if isinstance(low, _Number) and isinstance(high, _Number) and (low, high) == (0, 1):
        return squash
    return transforms.ComposeTransform([squash, transforms.AffineTransform(low, high - low)])


@_register(constraints.simplex, onto=False)
def _simplex_bijection(constraint: Any) -> transforms.Transform:
    return transforms.StickBreakingTransform()


@_register(constraints.simplex, bijective=False)
def _onto_simplex(constraint: Any) -> transforms.Transform:
    return transforms.SoftmaxTransform()


# No bijection is registered for these: the lower-Cholesky map forgets the upper triangle.
@_register(constraints.lower_cholesky, bijective=False)
def _onto_lower_cholesky(constraint: Any) -> transforms.Transform:
    return transforms.LowerCholeskyTransform()


@_register(constraints.positive_definite, constraints.positive_semidefinite, bijective=False)
def _onto_positive_definite(constraint: Any) -> transforms.Transform:
    return transforms.PositiveDefiniteTransform()


@_register(constraints.corr_cholesky)
def _onto_corr_cholesky(constraint: Any) -> transforms.Transform:
    return transforms.CorrCholeskyTransform()


# Structured constraints: look the parts up in the same registry and combine the results.


def _register_structured(registry: ConstraintRegistry) -> None:
    """Entries for ``independent``, ``cat`` and ``stack`` in ``registry``, whose parts
    are themselves looked up in ``registry`` (so ``biject_to`` stays bijective)."""

    @registry.register(constraints.independent)
    def _independent(constraint: Any) -> transforms.Transform:
        inner = registry(constraint.base_constraint)
        return transforms.IndependentTransform(inner, constraint.reinterpreted_batch_ndims)

    @registry.register(constraints.cat)
    def _cat(constraint: Any) -> transforms.Transform:
        parts = [registry(c) for c in constraint.cseq]
        return transforms.CatTransform(parts, constraint.dim, constraint.lengths)

    @registry.register(constraints.stack)
    def _stack(constraint: Any) -> transforms.Transform:
        parts = [registry(c) for c in constraint.cseq]
        return transforms.StackTransform(parts, constraint.dim)


_register_structured(biject_to)
_register_structured(transform_to)
