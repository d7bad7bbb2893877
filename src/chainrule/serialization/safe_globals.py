"""The user's allowlist of classes and functions a weights-only load may use.

Mirrors ``torch.serialization.add_safe_globals`` / ``safe_globals`` /
``get_safe_globals`` / ``clear_safe_globals``: a weights-only load (the default of
``cr.load``) rebuilds only tensors, containers and primitive values; a pickled object
that names any other global is refused, unless the user has vouched for that global here.
Allowing a class lets the file create instances of it and set their attributes
(``__setstate__`` or ``__dict__``), so allow only classes whose construction runs no code
you would not run yourself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["add_safe_globals", "clear_safe_globals", "get_safe_globals", "lookup", "safe_globals"]

_LOCK = threading.Lock()
_GLOBALS: list[Any] = []  # an object, or an (object, "module.name") pair


def _entry_name(entry: Any) -> tuple[Any, str]:
    if isinstance(entry, tuple):
        if len(entry) != 2 or not isinstance(entry[1], str):
            raise TypeError(
                f"add_safe_globals: a tuple entry must be (object, 'module.name'), got {entry!r}"
            )
        return entry[0], entry[1]
    module = getattr(entry, "__module__", None)
    name = getattr(entry, "__qualname__", None) or getattr(entry, "__name__", None)
    if not isinstance(module, str) or not isinstance(name, str):
        raise TypeError(
            f"add_safe_globals: {entry!r} has no __module__/__qualname__; pass it "
            "as (object, 'module.name')"
        )
    return entry, f"{module}.{name}"


def add_safe_globals(safe_globals: Iterable[Any]) -> None:
    """Allow these classes/functions in weights-only loads (``cr.load`` default).

    Args:
        safe_globals: objects (classes or functions), or ``(object, "module.qualname")``
            pairs when the name in the file differs from the object's own.

    Raises:
        TypeError: an entry has no importable name.
    """
    entries = list(safe_globals)
    for entry in entries:
        _entry_name(entry)
    with _LOCK:
        _GLOBALS.extend(entries)


def get_safe_globals() -> list[Any]:
    """The user-added safe globals (a copy), in the order they were added."""
    with _LOCK:
        return list(_GLOBALS)


def clear_safe_globals() -> None:
    """Forget every global added with :func:`add_safe_globals`."""
    with _LOCK:
        _GLOBALS.clear()


@contextmanager
def safe_globals(safe_globals: Iterable[Any]) -> Iterator[None]:
    """Context manager: allow ``safe_globals`` only inside the ``with`` block."""
    entries = list(safe_globals)
    add_safe_globals(entries)
    try:
        yield
    finally:
        with _LOCK:
            for entry in entries:
                for i in range(len(_GLOBALS) - 1, -1, -1):
                    if _GLOBALS[i] is entry:
                        del _GLOBALS[i]
                        break


def lookup(module: str, name: str) -> Any:
    """The allowed object named ``module.name``, or ``None`` if the user has not allowed it."""
    full = f"{module}.{name}"
    with _LOCK:
        entries = list(_GLOBALS)
    for entry in entries:
        obj, entry_name = _entry_name(entry)
        if entry_name == full:
            return obj
    return None
