"""Decorators around DataPipes (PyTorch's ``torch.utils.data.datapipes._decorator``).

* :class:`functional_datapipe` registers a DataPipe class under a functional name.
* :class:`non_deterministic` marks a DataPipe (always, or for some arguments) as
  non-deterministic; :class:`guaranteed_datapipes_determinism` then refuses to build it.
* :func:`argument_validation` checks, at call time, that arguments annotated with a DataPipe
  class are DataPipes; :func:`runtime_validation` checks every item ``__iter__`` yields
  against its declared ``Iterator[T]``; :class:`runtime_validation_disabled` turns that off.

The two flags are module globals and, as in PyTorch, are set when the object is *created*
(``with guaranteed_datapipes_determinism():`` and a bare call both set it) and restored on
``__exit__``.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterator
from typing import Any

from .datapipe import IterDataPipe, MapDataPipe
from .typecheck import instance_of

__all__ = [
    "argument_validation",
    "functional_datapipe",
    "guaranteed_datapipes_determinism",
    "non_deterministic",
    "runtime_validation",
    "runtime_validation_disabled",
]

_determinism = False
_runtime_validation_enabled = True


class functional_datapipe:  # noqa: N801 - PyTorch's name
    """Class decorator: ``@functional_datapipe("name")`` makes ``dp.name(...)`` build the
    decorated DataPipe with ``dp`` as its first argument.

    An ``IterDataPipe`` subclass is registered on ``IterDataPipe``, a ``MapDataPipe``
    subclass on ``MapDataPipe``; a class that is neither is returned unregistered (PyTorch's
    behaviour).

    Raises:
        Exception: when the name is already taken on that family (PyTorch raises a plain
            ``Exception``).
        TypeError: when applied to something that is not a class.
    """

    def __init__(self, name: str, enable_df_api_tracing: bool = False) -> None:
        self.name = name
        self.enable_df_api_tracing = enable_df_api_tracing

    def __call__(self, cls: type) -> type:
        if not isinstance(cls, type):
            raise TypeError("issubclass() arg 1 must be a class")
        if issubclass(cls, IterDataPipe):
            IterDataPipe.register_datapipe_as_function(
                self.name, cls, enable_df_api_tracing=self.enable_df_api_tracing
            )
        elif issubclass(cls, MapDataPipe):
            MapDataPipe.register_datapipe_as_function(self.name, cls)
        return cls


class guaranteed_datapipes_determinism:  # noqa: N801 - PyTorch's name
    """Context manager: building a ``non_deterministic`` DataPipe raises ``TypeError``."""

    def __init__(self) -> None:
        global _determinism
        self.prev = _determinism
        _determinism = True

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        global _determinism
        _determinism = self.prev


class non_deterministic:  # noqa: N801 - PyTorch's name
    """Mark an ``IterDataPipe`` class as non-deterministic.

    ``@non_deterministic`` on the class marks it always; ``@non_deterministic(fn)`` marks it
    for the constructor arguments where ``fn(*args, **kwargs)`` returns True (``fn`` must
    return a bool, checked on every construction).

    Raises:
        TypeError: for something that is neither an IterDataPipe class nor a callable, and,
            under :class:`guaranteed_datapipes_determinism`, when the pipe is built
            non-deterministically.
    """

    cls: type | None = None
    deterministic_fn: Callable[..., bool] | None = None

    def __init__(self, arg: type | Callable[..., bool]) -> None:
        if isinstance(arg, type):
            if not issubclass(arg, IterDataPipe):
                raise TypeError(
                    "Only `IterDataPipe` can be decorated with `non_deterministic`, "
                    f"but {arg.__name__} is found"
                )
            self.cls = arg
        elif callable(arg):
            self.deterministic_fn = arg
        else:
            raise TypeError(f"{arg} can not be decorated by non_deterministic")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.cls is not None:  # the decorated class is being instantiated
            if _determinism:
                raise TypeError(
                    f"{self.cls.__name__} is non-deterministic, but you set "
                    "'guaranteed_datapipes_determinism'. You can turn off determinism for "
                    "this DataPipe if that is acceptable for your application"
                )
            return self.cls(*args, **kwargs)
        (cls,) = args  # @non_deterministic(fn) applied to the class
        if not (isinstance(cls, type) and issubclass(cls, IterDataPipe)):
            raise TypeError(
                "Only `IterDataPipe` can be decorated, but "
                f"{getattr(cls, '__name__', cls)} is found"
            )
        self.cls = cls
        return self.deterministic_wrapper_fn

    def deterministic_wrapper_fn(self, *args: Any, **kwargs: Any) -> IterDataPipe:
        """Build the pipe after asking ``deterministic_fn`` about these arguments."""
        assert self.cls is not None and self.deterministic_fn is not None
        res = self.deterministic_fn(*args, **kwargs)
        if not isinstance(res, bool):
            raise TypeError(
                "deterministic_fn of `non_deterministic` decorator is required to return a "
                f"boolean value, but {type(res)} is found"
            )
        if _determinism and res:
            raise TypeError(
                f"{self.cls.__name__} is non-deterministic with the inputs, but you set "
                "'guaranteed_datapipes_determinism'. You can turn off determinism for this "
                "DataPipe if that is acceptable for your application"
            )
        return self.cls(*args, **kwargs)


def _hints(f: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(f)
    except Exception:  # an annotation that does not resolve: use what is written
        return dict(getattr(f, "__annotations__", {}))


def argument_validation(f: Callable[..., Any]) -> Callable[..., Any]:
    """Check, on every call, the arguments annotated with a DataPipe class.

    Such an argument must be an instance of the annotated class (``IterDataPipe``,
    ``MapDataPipe`` or a subclass). Arguments left to their defaults are not checked, nor
    are other annotations (a generic ``IterDataPipe[int]`` included), as in PyTorch 2.13.

    Raises:
        TypeError: naming the argument and what was received.
    """
    signature = inspect.signature(f)
    hints = _hints(f)

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        for name, value in bound.arguments.items():
            hint = hints.get(name)
            if not (isinstance(hint, type) and issubclass(hint, (IterDataPipe, MapDataPipe))):
                continue
            if not isinstance(value, hint):
                raise TypeError(
                    f"Expected argument '{name}' as a {hint.__name__}, but found {type(value)}"
                )
        return f(*args, **kwargs)

    return wrapper


class runtime_validation_disabled:  # noqa: N801 - PyTorch's name
    """Context manager: ``runtime_validation`` checks nothing while it is active."""

    def __init__(self) -> None:
        global _runtime_validation_enabled
        self.prev = _runtime_validation_enabled
        _runtime_validation_enabled = False

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        global _runtime_validation_enabled
        _runtime_validation_enabled = self.prev


def _yield_type(f: Callable[..., Any]) -> Any:
    """``T`` from ``-> Iterator[T]`` (or Iterable/Generator), else ``Any``."""
    ret = _hints(f).get("return")
    if typing.get_origin(ret) in (
        Iterator,
        typing.get_origin(typing.Iterable),
        typing.get_origin(typing.Generator),
    ):
        args = typing.get_args(ret)
        return args[0] if args else Any
    return Any


def runtime_validation(f: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a DataPipe's ``__iter__`` so that every yielded item is checked against the
    ``T`` of its ``-> Iterator[T]`` annotation (no annotation: nothing is checked).

    Raises:
        TypeError: when the decorated function is not named ``__iter__``.
        RuntimeError: when an item does not match ``T`` (while validation is enabled).
    """
    if f.__name__ != "__iter__":
        raise TypeError(f"Can not decorate function {f.__name__} with 'runtime_validation'")
    expected = _yield_type(f)

    @functools.wraps(f)
    def wrapper(self: Any) -> Iterator[Any]:
        if not _runtime_validation_enabled or expected is Any:
            yield from f(self)
            return
        for item in f(self):
            if not instance_of(item, expected):
                raise RuntimeError(
                    f"Expected an instance as subtype of {expected}, but found "
                    f"{item!r}({type(item)})"
                )
            yield item

    return wrapper
