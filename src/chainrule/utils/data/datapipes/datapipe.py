"""The DataPipe base classes: ``IterDataPipe``, ``MapDataPipe``, ``DFIterDataPipe`` and
``DataChunk`` (PyTorch's ``torch.utils.data.datapipes.datapipe``).

A DataPipe is a dataset built by chaining small steps: ``IterableWrapper(xs).map(f)
.filter(g).batch(4)``. Every step is a class registered under a *functional name*
(:func:`~.decorators.functional_datapipe`); ``dp.name(...)`` looks the name up in the
class-level ``functions`` table and builds ``Step(dp, ...)``. Iterable and map-style pipes
keep separate tables, so ``map`` means one thing on each.

An ``IterDataPipe`` allows one live iterator at a time, as PyTorch's does: starting a second
iterator (its first ``next``) invalidates the first, whose next ``next`` raises
``RuntimeError``. This catches a pipe silently shared by two consumers (use ``fork``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Generic, TypeVar

from ..dataset import Dataset
from ..iterable import IterableDataset

__all__ = ["DFIterDataPipe", "DataChunk", "IterDataPipe", "MapDataPipe"]

T_co = TypeVar("T_co", covariant=True)


def _taken(name: str) -> Exception:
    # PyTorch raises a bare Exception here; the type is part of the observable behaviour.
    return Exception(f"Unable to add DataPipe function name {name} as it is already taken")


class _FunctionalMixin:
    """The functional-name table and its lookup, shared by the two DataPipe families."""

    functions: ClassVar[dict[str, Callable[..., Any]]]

    def __getattr__(self, name: str) -> Any:
        # Only called for names not found the ordinary way, so data attributes are unaffected.
        table = type(self).functions
        if name in table:
            return functools.partial(table[name], self)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(type(self).functions))

    @classmethod
    def register_function(cls, function_name: str, function: Callable[..., Any]) -> None:
        """Make ``dp.function_name(*args)`` call ``function(dp, *args)``."""
        cls.functions[function_name] = function

    @classmethod
    def register_datapipe_as_function(
        cls, function_name: str, cls_to_register: type, enable_df_api_tracing: bool = False
    ) -> None:
        """Make ``dp.function_name(*args, **kwargs)`` build ``cls_to_register(dp, ...)``.

        Raises:
            Exception: if the name is already registered on this family (PyTorch's type).
            NotImplementedError: for ``enable_df_api_tracing=True`` (PyTorch's DataFrame
                tracing prototype, which needs pandas, is not mirrored).
        """
        if function_name in cls.functions:
            raise _taken(function_name)
        if enable_df_api_tracing:
            raise NotImplementedError(
                "register_datapipe_as_function: enable_df_api_tracing=True (the DataFrame "
                "tracing prototype) is not supported"
            )
        cls.functions[function_name] = _Builder(cls_to_register)

    def __repr__(self) -> str:
        return type(self).__name__

    __str__ = __repr__


class _Builder:
    """``dp.name(*args)`` -> ``cls(dp, *args)``; a class, not a closure, so it pickles."""

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def __call__(self, source: Any, *args: Any, **kwargs: Any) -> Any:
        return self.cls(source, *args, **kwargs)


class _GuardedIterator:
    """Wraps the iterator of an IterDataPipe; enforces the one-live-iterator rule lazily."""

    def __init__(self, pipe: IterDataPipe, it: Iterator[Any]) -> None:
        self._pipe = pipe
        self._it = it
        self._id: int | None = None

    def __iter__(self) -> _GuardedIterator:
        return self

    def __next__(self) -> Any:
        pipe = self._pipe
        if self._id is None:  # this iterator starts now: it becomes the valid one
            pipe._valid_iterator_id = pipe.__dict__.get("_valid_iterator_id", 0) + 1
            self._id = pipe._valid_iterator_id
        elif self._id != pipe.__dict__.get("_valid_iterator_id"):
            raise RuntimeError(
                "This iterator has been invalidated because another iterator has been "
                f"created from the same IterDataPipe: {pipe!r}\nThis may be caused by "
                "multiple references to the same IterDataPipe. We recommend using `.fork()` "
                "if that is necessary."
            )
        return next(self._it)


def _guard_iter(original: Callable[[Any], Iterator[Any]]) -> Callable[[Any], Iterator[Any]]:
    @functools.wraps(original)
    def __iter__(self: IterDataPipe) -> Iterator[Any]:
        it = original(self)
        # Guard only the outermost override (a subclass calling super().__iter__() must not
        # count twice) and never a pipe that is its own iterator.
        if it is self or type(self).__iter__ is not __iter__:
            return it
        return _GuardedIterator(self, it)

    __iter__._guarded = True  # type: ignore[attr-defined]
    return __iter__


class IterDataPipe(_FunctionalMixin, IterableDataset, Generic[T_co]):
    """Base class of iterable-style DataPipes: subclasses define ``__iter__`` (and
    ``__len__`` when the length is known). ``dp.map(f)``, ``dp.batch(n)`` and the other
    registered functional forms chain new pipes onto this one.

    Example:
        >>> from chainrule.utils.data.datapipes.iter import IterableWrapper
        >>> def double(x):
        ...     return 2 * x
        >>> list(IterableWrapper(range(5)).map(double).batch(2))
        [[0, 2], [4, 6], [8]]
    """

    functions: ClassVar[dict[str, Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__iter__")
        if own is not None and not getattr(own, "_guarded", False):
            cls.__iter__ = _guard_iter(own)  # type: ignore[method-assign]

    def reset(self) -> None:
        """Called by PyTorch before a new iteration; nothing to clear for most pipes."""


class DFIterDataPipe(IterDataPipe):
    """Marker base class of DataFrame pipes (PyTorch's prototype); behaves as IterDataPipe."""

    _is_dfpipe = True


class MapDataPipe(_FunctionalMixin, Dataset[T_co]):
    """Base class of map-style DataPipes: subclasses define ``__getitem__`` and ``__len__``.

    Iterating one uses Python's sequence protocol (indices 0, 1, ... until ``IndexError``),
    as PyTorch's does.
    """

    functions: ClassVar[dict[str, Callable[..., Any]]] = {}


class DataChunk(list):
    """A batch produced by ``batch``: a list that ``unbatch`` knows how to flatten."""

    def as_str(self, indent: str = "") -> str:
        """The chunk's items as ``indent + "[a, b, ...]"`` (each item by ``str``)."""
        return indent + "[" + ", ".join(map(str, self)) + "]"

    def __iter__(self) -> Iterator[Any]:
        yield from list.__iter__(self)

    def raw_iterator(self) -> Iterator[Any]:
        """Iterate the underlying list directly (a generator, as PyTorch's)."""
        yield from list.__iter__(self)
