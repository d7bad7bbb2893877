"""The ``Distribution`` base class, mirroring ``torch.distributions.Distribution``.

A distribution has a ``batch_shape`` (independent, possibly differently parameterised copies)
and an ``event_shape`` (the shape of one draw). Parameters are validated against
``arg_constraints`` and ``log_prob``/``cdf``/``icdf`` inputs against ``support`` when
validation is on (the default, as in PyTorch, unless Python runs with ``-O``).
"""

from __future__ import annotations

import warnings
from typing import Any

import chainrule as cr

from . import constraints
from .utils import _EMPTY_SIZE, lazy_property

__all__ = ["Distribution"]


def _as_size(shape: Any) -> cr.Size:
    if isinstance(shape, cr.Size):
        return shape
    return cr.Size(tuple(shape))


class Distribution:
    """Abstract base class for probability distributions.

    Args:
        batch_shape: the shape over which parameters are batched.
        event_shape: the shape of a single sample (without batching).
        validate_args: whether to validate arguments; ``None`` uses the class default.
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Set whether validation is on by default (like ``assert``: on unless ``python -O``)."""
        if value not in [True, False]:
            raise ValueError
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
            try:
                arg_constraints = self.arg_constraints
            except NotImplementedError:
                arg_constraints = {}
                warnings.warn(
                    f"{self.__class__} does not define `arg_constraints`. "
                    + "Please set `arg_constraints = {}` or initialize the distribution "
                    + "with `validate_args=False` to turn off validation.",
                    stacklevel=2,
                )
            for param, constraint in arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue  # cannot be checked
                if param not in self.__dict__ and isinstance(
                    getattr(type(self), param), lazy_property
                ):
                    continue  # lazily-constructed args are derived from checked ones
                value = getattr(self, param)
                valid = constraint.check(value)
                if not bool(valid.all()):
                    raise ValueError(
                        f"Expected parameter {param} "
                        f"({type(value).__name__} of shape {tuple(value.shape)}) "
                        f"of distribution {repr(self)} "
                        f"to satisfy the constraint {repr(constraint)}, "
                        f"but found invalid values:\n{value}"
                    )
        super().__init__()

    def expand(self, batch_shape: Any, _instance: Any = None) -> Distribution:
        """A new distribution (or ``_instance`` populated) with batch dims expanded to
        ``batch_shape``; parameters are expanded, not copied, and not re-validated."""
        raise NotImplementedError

    @property
    def batch_shape(self) -> cr.Size:
        """The shape over which parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self) -> cr.Size:
        """The shape of a single sample (without batching)."""
        return self._event_shape

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:
        """Argument name -> constraint each tensor argument must satisfy."""
        raise NotImplementedError

    @property
    def support(self) -> constraints.Constraint | None:
        """The constraint describing this distribution's support."""
        raise NotImplementedError

    @property
    def mean(self) -> cr.Tensor:
        """The mean of the distribution."""
        raise NotImplementedError

    @property
    def mode(self) -> cr.Tensor:
        """The mode of the distribution."""
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self) -> cr.Tensor:
        """The variance of the distribution."""
        raise NotImplementedError

    @property
    def stddev(self) -> cr.Tensor:
        """The standard deviation (square root of the variance)."""
        return self.variance.sqrt()

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        """A ``sample_shape``-shaped sample (batch of samples), without gradient."""
        with cr.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Tensor:
        """A reparameterised sample: differentiable with respect to the parameters."""
        raise NotImplementedError

    def sample_n(self, n: int) -> cr.Tensor:
        """Deprecated: ``n`` samples; use ``sample((n,))``."""
        warnings.warn(
            "`sample_n(n)` will be deprecated. Use `sample((n,))` instead.",
            FutureWarning,
            stacklevel=2,
        )
        return self.sample(cr.Size((n,)))

    def log_prob(self, value: cr.Tensor) -> cr.Tensor:
        """Log of the probability density/mass function at ``value``."""
        raise NotImplementedError

    def cdf(self, value: cr.Tensor) -> cr.Tensor:
        """Cumulative distribution function at ``value``."""
        raise NotImplementedError

    def icdf(self, value: cr.Tensor) -> cr.Tensor:
        """Inverse cumulative distribution function at ``value``."""
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True) -> cr.Tensor:
        """All values of a discrete distribution's support along dim 0: shape
        ``(cardinality,) + batch_shape + event_shape`` (batch dims singleton if not
        ``expand``)."""
        raise NotImplementedError

    def entropy(self) -> cr.Tensor:
        """Entropy, batched over ``batch_shape``."""
        raise NotImplementedError

    def perplexity(self) -> cr.Tensor:
        """``exp(entropy)``, batched over ``batch_shape``."""
        return cr.exp(self.entropy())

    def _extended_shape(self, sample_shape: Any = _EMPTY_SIZE) -> cr.Size:
        """``sample_shape + batch_shape + event_shape``."""
        sample_shape = _as_size(sample_shape)
        return cr.Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def _validate_sample(self, value: cr.Tensor) -> None:
        """Check that ``value`` is a Tensor whose right-most dims match ``event_shape``, that
        broadcasts with ``batch_shape + event_shape`` and lies in the support."""
        if not isinstance(value, cr.Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")

        value_shape = cr.Size(value.size())
        event_dim_start = len(value_shape) - len(self._event_shape)
        if tuple(value_shape[event_dim_start:]) != tuple(self._event_shape):
            raise ValueError(
                "The right-most size of value must match event_shape: "
                f"{value_shape} vs {self._event_shape}."
            )

        actual_shape = value_shape
        expected_shape = cr.Size(tuple(self._batch_shape) + tuple(self._event_shape))
        for i, j in zip(reversed(actual_shape), reversed(expected_shape)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(
                    "Value is not broadcastable with batch_shape+event_shape: "
                    f"{actual_shape} vs {expected_shape}."
                )
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(
                f"{self.__class__} does not define `support` to enable "
                + "sample validation. Please initialize the distribution with "
                + "`validate_args=False` to turn off validation.",
                stacklevel=2,
            )
            return
        if support is None:
            raise AssertionError("support is unexpectedly None")
        valid = support.check(value)
        if not bool(valid.all()):
            raise ValueError(
                "Expected value argument "
                f"({type(value).__name__} of shape {tuple(value.shape)}) "
                f"to be within the support ({repr(support)}) "
                f"of the distribution {repr(self)}, "
                f"but found invalid values:\n{value}"
            )

    def _get_checked_instance(self, cls: type, _instance: Any = None) -> Any:
        """A blank instance for ``expand``; subclasses with a custom ``__init__`` must
        override ``expand``."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom "
                "__init__ method must also define a custom .expand() method."
            )
        return self.__new__(type(self)) if _instance is None else _instance

    def __repr__(self) -> str:
        param_names = [k for k in self.arg_constraints if k in self.__dict__]
        args_string = ", ".join(
            [
                f"{p}: "
                + (
                    f"{self.__dict__[p]}"
                    if self.__dict__[p].numel() == 1
                    else f"{cr.Size(self.__dict__[p].size())}"
                )
                for p in param_names
            ]
        )
        return self.__class__.__name__ + "(" + args_string + ")"
