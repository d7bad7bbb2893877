"""``cr.backends.mps``: Apple's Metal backend, which chainrule does not have."""

from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """False: chainrule has no Metal (Apple GPU) backend; tensors stay on the CPU."""
    return False


def is_built() -> bool:
    """False: chainrule is not built with Metal support."""
    return False
