"""``cr.use_deterministic_algorithms``: PyTorch's determinism switch.

Every chainrule op is deterministic on the CPU: NumPy's kernels and chainrule's own
intra-op threads (which split work into fixed slices, never accumulate with atomics)
give bit-identical results run after run. The switch is therefore recorded and reported
back, as PyTorch does, but has nothing to turn off.
"""

from __future__ import annotations

__all__ = [
    "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled",
    "use_deterministic_algorithms",
]

_STATE = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Ask for deterministic algorithms only (chainrule's ops already are; see module doc).

    Raises:
        TypeError: when ``mode`` or ``warn_only`` is not a bool (as PyTorch).
    """
    for name, value in (("mode", mode), ("warn_only", warn_only)):
        if not isinstance(value, bool):
            raise TypeError(
                f"use_deterministic_algorithms(): argument {name!r} must be bool, "
                f"not {type(value).__name__}"
            )
    _STATE["mode"] = mode
    _STATE["warn_only"] = warn_only


def are_deterministic_algorithms_enabled() -> bool:
    """Whether :func:`use_deterministic_algorithms` was turned on."""
    return _STATE["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """Whether it was turned on with ``warn_only=True``."""
    return _STATE["warn_only"]
