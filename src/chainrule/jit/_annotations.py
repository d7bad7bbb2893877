"""TorchScript's decorators and annotations, as PyTorch runs them with the JIT off.

They only instruct the compiler (what to skip, export, or how to type a value), so in
eager code each returns what it is given: ``ignore``/``unused``/``export`` the function,
``annotate`` the value, ``Attribute`` the value, ``interface`` the class. ``is_scripting``
and ``is_tracing`` are False, which is what lets one source serve both modes.
``isinstance`` checks container element types, as PyTorch's eager ``torch.jit.isinstance``
does.
"""

from __future__ import annotations

import builtins
import contextlib
import types
import typing
import warnings
from collections.abc import Iterator
from typing import Any, Final  # Final: cr.jit.Final is typing.Final, as in PyTorch

from ._script import warn_deprecated

__all__ = [
    "Attribute",
    "Final",
    "annotate",
    "export",
    "fuser",
    "ignore",
    "interface",
    "is_scripting",
    "is_tracing",
    "isinstance",
    "optimized_execution",
    "script_if_tracing",
    "unused",
]

_FUSERS = ("fuser0", "fuser1", "fuser2", "fuser3", "none")


def is_scripting() -> bool:
    """False: chainrule code never runs under the TorchScript compiler."""
    return False


def is_tracing() -> bool:
    """False: chainrule never traces."""
    return False


def ignore(drop: Any = False, *, drop_on_export: bool = False) -> Any:
    """``@cr.jit.ignore`` or ``@cr.jit.ignore(drop=...)``: the function, unchanged.

    Raises:
        RuntimeError: ``drop`` is neither a bool nor a function (PyTorch's error).
    """
    if callable(drop):
        return drop
    if not builtins.isinstance(drop, bool):
        raise RuntimeError(
            f"Argument to @torch.jit.ignore must be a bool or a function but got {drop}"
        )
    for flag, spelling in ((drop, "True"), (drop_on_export, "drop_on_export=True")):
        if flag:
            warnings.warn(
                f"ignore({spelling}) has been deprecated. TorchScript will now drop the "
                "function call on compilation. Use torch.jit.unused now. {}",
                FutureWarning,
                stacklevel=2,
            )
    return lambda fn: fn


_F = typing.TypeVar("_F")


def unused(fn: _F) -> _F:
    """The function (or property), unchanged: it runs normally in eager code."""
    return fn


def export(fn: _F) -> _F:
    """The method, unchanged: every method of an eager module is callable."""
    return fn


def interface(obj: _F) -> _F:
    """The class, unchanged: an interface only types module attributes for the compiler."""
    warn_deprecated("interface")
    return obj


def annotate(the_type: Any, the_value: Any) -> Any:
    """``the_value``: the type annotation is for the compiler only."""
    return the_value


def Attribute(value: Any, type: Any) -> Any:  # noqa: A002, N802 - PyTorch's names
    """``value``: with the JIT off, PyTorch's ``Attribute(value, type)`` is the value."""
    return value


def script_if_tracing(fn: _F) -> _F:
    """The function, unchanged: it would be scripted only while tracing, which never happens."""
    return fn


def _bare_message(target: Any) -> str | None:
    """PyTorch's error for a container type given without its element types."""
    one = "without a contained type. Please add a contained type"
    two = "without contained types. Please add contained type"
    for bare, name, text, example in (
        (list, "list", one, "[int]"),
        (typing.List, "List", one, "[int]"),  # noqa: UP006 - both spellings are checked
        (tuple, "tuple", one, "[int]"),
        (typing.Tuple, "Tuple", one, "[int]"),  # noqa: UP006
        (dict, "dict", two, "[int, int]"),
        (typing.Dict, "Dict", two, "[int, int]"),  # noqa: UP006
        (typing.Optional, "Optional", one, "[int]"),
    ):
        if target is bare:
            return f"Attempted to use {name} {text}, e.g. {name}{example}"
    return None


def _matches(obj: Any, target: Any) -> bool:
    message = _bare_message(target)
    if message is not None:
        raise RuntimeError(message)
    origin, args = typing.get_origin(target), typing.get_args(target)
    if origin is list:
        return builtins.isinstance(obj, list) and all(_matches(x, args[0]) for x in obj)
    if origin is dict:
        return builtins.isinstance(obj, dict) and all(
            _matches(k, args[0]) and _matches(v, args[1]) for k, v in obj.items()
        )
    if origin is tuple:
        if not builtins.isinstance(obj, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(x, args[0]) for x in obj)
        args = () if args == ((),) else args
        return len(obj) == len(args) and all(_matches(x, t) for x, t in zip(obj, args))
    if origin in (typing.Union, types.UnionType):
        return any(_matches(obj, t) for t in args)
    if target is None:
        return obj is None
    return builtins.isinstance(obj, target)


def isinstance(obj: Any, target_type: Any) -> bool:  # noqa: A001 - PyTorch's name
    """Whether ``obj`` is of ``target_type``, element types of containers included:
    ``list[int]``, ``dict[str, Tensor]``, ``tuple[int, str]``, ``tuple[int, ...]``,
    ``Optional[T]``, ``Union[...]``.

    Raises:
        RuntimeError: a container type without its element types (``list``, ``Dict``),
            as in PyTorch.
    """
    return _matches(obj, target_type)


@contextlib.contextmanager
def optimized_execution(should_optimize: bool) -> Iterator[None]:
    """A context in which TorchScript's graph optimizations are switched on or off; chainrule
    runs no TorchScript graphs, so there is nothing to switch."""
    yield


@contextlib.contextmanager
def fuser(name: str) -> Iterator[None]:
    """A context choosing TorchScript's kernel fuser; chainrule fuses nothing.

    Raises:
        ValueError: ``name`` is not one of PyTorch's fusers.
    """
    if name not in _FUSERS:
        raise ValueError(f"unrecognized fuser option (name: {name}); valid: {', '.join(_FUSERS)}")
    yield
