"""How ``cr.load(..., mmap=True)`` maps a file: ``torch.serialization``'s mmap options.

``mmap.MAP_PRIVATE`` (the default) maps the file copy-on-write: tensors read straight from
the page cache, and a write to a loaded tensor changes only this process's copy of that
page, never the file. ``mmap.MAP_SHARED`` maps it read-write: writes to a loaded tensor
reach the file (the file must be writable). :func:`set_default_mmap_options` sets the
flags for later loads, as a call or as a context manager that restores the previous flags
on exit, as in PyTorch. The flags live in ``config.load.mmap_flags``
(``cr.utils.serialization.config``), where setting them directly works too.
"""

from __future__ import annotations

import mmap
from typing import Any

from .config import config

__all__ = [
    "MAP_PRIVATE",
    "MAP_SHARED",
    "get_default_mmap_options",
    "is_shared",
    "set_default_mmap_options",
]

# Windows' mmap module has no MAP_* constants; these are their POSIX values.
MAP_PRIVATE: int = getattr(mmap, "MAP_PRIVATE", 2)
MAP_SHARED: int = getattr(mmap, "MAP_SHARED", 1)


def get_default_mmap_options() -> int:
    """The flags ``cr.load(..., mmap=True)`` maps files with (``mmap.MAP_PRIVATE`` unless
    changed by :func:`set_default_mmap_options`); ``torch.serialization.get_default_mmap_options``.
    """
    return config.load.mmap_flags


def is_shared(flags: Any) -> bool:
    """Whether ``flags`` (a valid value, see :func:`set_default_mmap_options`) is MAP_SHARED."""
    return flags == MAP_SHARED


class set_default_mmap_options:  # noqa: N801 - PyTorch's name for a class used as a function
    """Set the flags of ``cr.load(..., mmap=True)``: a function or a context manager.

    ``set_default_mmap_options(mmap.MAP_SHARED)`` makes every later mapped load share its
    pages with the file (writes to the tensors reach it); ``with
    set_default_mmap_options(mmap.MAP_PRIVATE): ...`` sets the flags inside the block and
    restores those in force when it was called on exit, as
    ``torch.serialization.set_default_mmap_options`` does.

    Args:
        flags: ``mmap.MAP_PRIVATE`` or ``mmap.MAP_SHARED`` (compared by value, as PyTorch
            does, so ``True`` counts as ``MAP_SHARED``).

    Raises:
        ValueError: ``flags`` is neither.
    """

    def __init__(self, flags: int) -> None:
        if flags != MAP_PRIVATE and flags != MAP_SHARED:
            raise ValueError(
                "Invalid argument in function set_default_mmap_options, "
                f"expected mmap.MAP_PRIVATE or mmap.MAP_SHARED, but got {flags}"
            )
        self.prev = config.load.mmap_flags
        config.load.mmap_flags = flags

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        config.load.mmap_flags = self.prev
