"""PyTorch's sharing strategies (``get_sharing_strategy`` and friends).

PyTorch on Linux knows two ways to hand a CPU tensor's memory to another process:
``"file_descriptor"`` (the default: the memory is an unlinked file and its descriptor is
sent) and ``"file_system"`` (a named file in ``/dev/shm`` whose name is sent). chainrule
implements one transport, which is the first: every shared tensor lives in an anonymous
in-memory file (``memfd``) and its descriptor is sent (see :mod:`._segments`). Choosing
``"file_system"`` is accepted, so that programs which set it run unchanged, and tensors then
travel exactly as under ``"file_descriptor"``: correctly, with no named files, so nothing is
ever left behind in ``/dev/shm``. What ``"file_system"`` avoids in PyTorch (running out of
descriptors with very many shared tensors) is not avoided here; raise ``ulimit -n`` if a
program shares thousands of tensors.
"""

from __future__ import annotations

__all__ = ["get_all_sharing_strategies", "get_sharing_strategy", "set_sharing_strategy"]

_ALL = frozenset({"file_descriptor", "file_system"})
_current = "file_descriptor"


class _InvalidStrategyError(ValueError, AssertionError):
    """An unknown strategy: PyTorch raises AssertionError; a ValueError is what it is."""


def set_sharing_strategy(new_strategy: str) -> None:
    """Set the strategy for sharing CPU tensors (``"file_descriptor"`` or ``"file_system"``;
    both use the same transport here, see the module docstring).

    Raises:
        ValueError: an unknown strategy (also an ``AssertionError``, which PyTorch raises).
    """
    global _current
    if new_strategy not in _ALL:
        raise _InvalidStrategyError(
            f"invalid sharing strategy {new_strategy!r}, expected one of {set(_ALL)}"
        )
    _current = new_strategy


def get_sharing_strategy() -> str:
    """The current strategy for sharing CPU tensors (``"file_descriptor"`` by default)."""
    return _current


def get_all_sharing_strategies() -> set[str]:
    """The strategies supported on this system: ``{"file_descriptor", "file_system"}``."""
    return set(_ALL)
