"""The ``Distribution`` base class (API of ``torch.distributions.Distribution``).

Shapes: a distribution object holds a *batch* of independent distributions, ``batch_shape``,
each over events of shape ``event_shape``; a draw with ``sample(sample_shape)`` therefore has
shape ``sample_shape + batch_shape + event_shape``.

Validation: when enabled (the class default follows ``__debug__``, so it is on unless Python
runs with ``-O``, as in PyTorch), the constructor checks every parameter named in
``arg_constraints`` and ``log_prob``/``cdf``/... check their input against ``support``.
"""

from __future__ import annotations

import warnings
from typing import Any

import chainrule as cr

from . import constraints
from .utils import _EMPTY_SIZE, lazy_property

__all__ = ["Distribution"]


def _as_size(shape: Any) -> cr.Size:
    """Any iterable of ints as a ``cr.Size`` (returned unchanged if it already is one)."""
    return shape if isinstance(shape, cr.Size) else cr.Size(tuple(shape))


def _broadcast_compatible(have: tuple[int, ...], want: tuple[int, ...]) -> bool:
    """Whether two shapes agree, right-aligned, wherever neither has a size-1 dimension."""
    return all(h == w or h == 1 or w == 1 for h, w in zip(reversed(have), reversed(want)))


def _param_summary(value: Any) -> str:
    """How ``__repr__`` shows a parameter: its value if it has one element, else its shape."""
    return f"{value}" if value.numel() == 1 else f"{cr.Size(value.size())}"


class Distribution:
    """Base class of all distributions.

    Subclasses set ``arg_constraints`` and ``support`` and implement whichever of ``rsample``,
    ``log_prob``, ``cdf``, ``icdf``, ``entropy``, ``mean``, ``variance``, ... they support; a
    method left unimplemented raises ``NotImplementedError``. A subclass with its own
    ``__init__`` must also implement ``expand``.

    Args:
        batch_shape: shape of the batch of independent distributions.
        event_shape: shape of one event (one draw of one distribution).
        validate_args: turn validation on or off for this object; ``None`` keeps the class
            default (see ``set_default_validate_args``).
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn validation on or off for every distribution created without an explicit
        ``validate_args``."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args expects True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(
        self,
        batch_shape: Any = _EMPTY_SIZE,
        event_shape: Any = _EMPTY_SIZE,
        validate_args: bool | None = None,
    ) -> None:
        self._batch_shape = _as_size(batch_shape)
        self._event_shape = _as_size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._check_parameters()
        super().__init__()

    def _check_parameters(self) -> None:
        """Raise ``ValueError`` naming the first parameter that violates its constraint.

        Dependent constraints cannot be checked on their own and are skipped, as are lazily
        derived parameters not yet computed (they follow from a parameter that was checked).
        """
        try:
            to_check = self.arg_constraints
        except NotImplementedError:
            warnings.warn(
                f"{self.__class__} does not define `arg_constraints`; set "
                "`arg_constraints = {}` on the class, or pass `validate_args=False`, "
                "to silence this warning.",
                stacklevel=3,
            )
            return
        for name, constraint in to_check.items():
            if constraints.is_dependent(constraint):
                continue
            is_lazy = isinstance(getattr(type(self), name, None), lazy_property)
            if is_lazy and name not in self.__dict__:
                continue
            value = getattr(self, name)
            if not bool(constraint.check(value).all()):
                raise ValueError(
                    f"Expected parameter {name} ({type(value).__name__} of shape "
                    f"{tuple(value.shape)}) of distribution {self!r} to satisfy the "
                    f"constraint {constraint!r}, but found invalid values:\n{value}"
                )

    def expand(self, batch_shape: Any, _instance: Any = None) -> Distribution:
        """This distribution broadcast to a larger ``batch_shape``.

        Parameters are expanded (views, no copies) and not validated again; ``_instance`` lets
        a subclass pass a pre-made object to fill in."""
        raise NotImplementedError

    # -- shapes and declared metadata ---------------------------------------------------------

    @property
    def batch_shape(self) -> cr.Size:
        """Shape of the batch of independent distributions."""
        return self._batch_shape

    @property
    def event_shape(self) -> cr.Size:
        """Shape of a single event."""
        return self._event_shape

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:
        """Maps each parameter name to the constraint its value must satisfy."""
        raise NotImplementedError

    @property
    def support(self) -> constraints.Constraint | None:
        """The constraint that every value of the distribution satisfies."""
        raise NotImplementedError

    # -- summary statistics -------------------------------------------------------------------

    @property
    def mean(self) -> cr.Tensor:
        """E[X], of shape ``batch_shape + event_shape``."""
        raise NotImplementedError

    @property
    def mode(self) -> cr.Tensor:
        """The most likely value, of shape ``batch_shape + event_shape``."""
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self) -> cr.Tensor:
        """Var[X], elementwise, of shape ``batch_shape + event_shape``."""
        raise NotImplementedError

    @property
    def stddev(self) -> cr.Tensor:
        """``sqrt(variance)``."""
        return self.variance.sqrt()

    def entropy(self) -> cr.Tensor:
        """Differential (or Shannon) entropy, one value per batch entry."""
        raise NotImplementedError

    def perplexity(self) -> cr.Tensor:
        """``exp(entropy())``."""
        return cr.exp(self.entropy())

    # -- sampling -----------------------------------------------------------------------------

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        """Draw ``sample_shape`` independent samples, detached from the autograd graph.

        The default reuses ``rsample`` under ``no_grad``; distributions without a
        reparameterised sampler override this."""
        with cr.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        """Draw samples through a differentiable reparameterisation, so that gradients flow
        back to the parameters."""
        raise NotImplementedError

    def sample_n(self, n: int) -> cr.Tensor:
        """Deprecated spelling of ``sample((n,))``; warns with ``FutureWarning``."""
        warnings.warn(
            "`sample_n(n)` is deprecated; call `sample((n,))` instead.",
            FutureWarning,
            stacklevel=2,
        )
        return self.sample(cr.Size((n,)))

    # -- densities ----------------------------------------------------------------------------

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        """Log density (or log mass) at ``value``."""
        raise NotImplementedError

    def cdf(self, value: cr.Tensor) -> cr.Tensor:
        """P(X <= value)."""
        raise NotImplementedError

    def icdf(self, value: cr.Tensor) -> cr.Tensor:
        """The quantile function: the inverse of ``cdf``."""
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True) -> cr.Tensor:
        """Every value of a finite discrete support, stacked along a new leading dimension.

        The result has shape ``(n,) + batch_shape + event_shape``; with ``expand=False`` the
        batch dimensions are left as size 1."""
        raise NotImplementedError

    # -- helpers for subclasses ---------------------------------------------------------------

    def _extended_shape(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Size:
        """Shape of a draw of ``sample_shape`` samples: sample, then batch, then event dims."""
        dims = tuple(_as_size(sample_shape)) + tuple(self._batch_shape)
        return cr.Size(dims + tuple(self._event_shape))

    def _validate_sample(self, value: cr.Tensor) -> None:
        """Raise ``ValueError`` unless ``value`` is a Tensor whose trailing dimensions equal
        ``event_shape``, which broadcasts against ``batch_shape + event_shape``, and whose
        entries all lie in ``support``."""
        if not isinstance(value, cr.Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        have = tuple(value.size())
        event = tuple(self._event_shape)
        trailing = have[len(have) - len(event) :]
        if trailing != event:
            raise ValueError(
                f"The right-most size of value must match event_shape: {cr.Size(have)} vs "
                f"{self._event_shape}."
            )
        want = tuple(self._batch_shape) + event
        if not _broadcast_compatible(have, want):
            raise ValueError(
                "Value is not broadcastable with batch_shape+event_shape: "
                f"{cr.Size(have)} vs {cr.Size(want)}."
            )
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(
                f"{self.__class__} does not define `support`, so samples cannot be "
                "validated; pass `validate_args=False` to turn validation off.",
                stacklevel=3,
            )
            return
        if support is None:
            raise AssertionError(f"{type(self).__name__}.support is None")
        if not bool(support.check(value).all()):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape "
                f"{tuple(value.shape)}) to be within the support ({support!r}) of the "
                f"distribution {self!r}, but found invalid values:\n{value}"
            )

    def _expand_into(
        self, out: Any, batch_shape: Any, names: tuple[str, ...], param_shape: Any = None
    ) -> Any:
        """Finish an ``expand``: give ``out`` each tensor attribute of ``names`` that this
        object holds (a lazily computed ``probs``/``logits`` only once materialised) expanded
        to ``param_shape`` (default ``batch_shape``), make the last one ``out._param`` where
        the family keeps one, and initialise ``out`` with ``batch_shape`` without validating
        again (it keeps this object's validation switch)."""
        shape = cr.Size(batch_shape if param_shape is None else param_shape)
        for name in names:
            if name in self.__dict__:
                value = self.__dict__[name].expand(shape)
                setattr(out, name, value)
                if "_param" in self.__dict__:
                    out._param = value
        Distribution.__init__(out, cr.Size(batch_shape), validate_args=False)
        out._validate_args = self._validate_args
        return out

    def _get_checked_instance(self, cls: type, _instance: Any = None) -> Any:
        """The object ``expand`` fills in: ``_instance`` if given, else a bare instance of this
        object's class. Refuses when a subclass of ``cls`` has its own ``__init__`` but relies
        on ``cls.expand``, which would then skip that constructor's set-up."""
        if _instance is not None:
            return _instance
        if type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {type(self).__name__} of {cls.__name__} that defines a custom "
                "__init__ method must also define a custom .expand() method."
            )
        return self.__new__(type(self))

    def __repr__(self) -> str:
        shown = [name for name in self.arg_constraints if name in self.__dict__]
        body = ", ".join(f"{name}: {_param_summary(self.__dict__[name])}" for name in shown)
        return f"{type(self).__name__}({body})"
