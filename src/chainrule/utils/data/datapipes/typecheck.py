"""Does a value match a type hint? The small checker behind ``runtime_validation``.

It understands ``Any``, plain classes, ``Union``/``Optional``/``X | Y``, ``TypeVar`` (its
bound or constraints), ``Literal``, and the generic containers ``list[T]``, ``set[T]``,
``tuple[T, ...]``/``tuple[A, B]``, ``dict[K, V]`` and their ``collections.abc`` / ``typing``
spellings, checking the elements too. A hint it cannot read (a ``Callable`` signature, a
``Protocol``) is checked by its origin class only.
"""

from __future__ import annotations

import collections.abc as cabc
import types
import typing
from typing import Any

__all__ = ["instance_of"]


def _elements_match(value: Any, origin: type, args: tuple[Any, ...]) -> bool:
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return all(instance_of(v, args[0]) for v in value)
        if args == ((),):  # tuple[()]
            return len(value) == 0
        return len(value) == len(args) and all(map(instance_of, value, args))
    if issubclass(origin, cabc.Mapping) and len(args) == 2:
        return all(instance_of(k, args[0]) and instance_of(v, args[1]) for k, v in value.items())
    if issubclass(origin, (cabc.Sequence, cabc.Set)) and len(args) == 1:
        if isinstance(value, (str, bytes)):
            return True  # their items are themselves; nothing more to check
        return all(instance_of(v, args[0]) for v in value)
    return True  # an iterator or another container: checking would consume or guess


def instance_of(value: Any, hint: Any) -> bool:
    """True when ``value`` is an instance of the type hint ``hint`` (see the module doc)."""
    if hint is Any or hint is object:
        return True
    if hint is None or hint is type(None):
        return value is None
    if isinstance(hint, typing.TypeVar):
        if hint.__constraints__:
            return any(instance_of(value, c) for c in hint.__constraints__)
        return hint.__bound__ is None or instance_of(value, hint.__bound__)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(instance_of(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if origin is None:
        return isinstance(hint, type) and isinstance(value, hint)
    if not isinstance(origin, type) or not isinstance(value, origin):
        return False
    return not args or _elements_match(value, origin, args)
