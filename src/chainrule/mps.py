"""``cr.mps``: PyTorch's Apple-GPU (Metal) module, for scripts that query it.

chainrule has no Metal backend, so this module answers as PyTorch does on a machine without
one: :func:`is_available` is False and :func:`device_count` 0, seeding is silently ignored
(so ``torch.mps.manual_seed(0)`` in a portable script keeps working), and everything that
needs the device raises PyTorch's ``RuntimeError`` ("... without MPS backend").
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "current_allocated_memory",
    "device_count",
    "driver_allocated_memory",
    "empty_cache",
    "get_rng_state",
    "is_available",
    "manual_seed",
    "recommended_max_memory",
    "seed",
    "set_per_process_memory_fraction",
    "set_rng_state",
    "synchronize",
]


def _no_backend(what: str) -> RuntimeError:
    return RuntimeError(
        f"Cannot execute {what}() without MPS backend. (chainrule runs on the CPU, or on an "
        "NVIDIA GPU through CuPy; it has no Metal backend.)"
    )


def is_available() -> bool:
    """Always False: chainrule has no Metal backend."""
    return False


def device_count() -> int:
    """0: no Metal device is ever visible to chainrule."""
    return 0


def manual_seed(seed: Any) -> None:
    """Ignored, as PyTorch ignores it without the backend (the CPU generator is
    ``cr.manual_seed``)."""


def seed() -> None:
    """RuntimeError: there is no MPS generator to seed."""
    raise _no_backend("getDefaultGenerator")


def get_rng_state(device: Any = "mps") -> Any:
    """RuntimeError: there is no MPS generator."""
    raise _no_backend("getDefaultGenerator")


def set_rng_state(new_state: Any, device: Any = "mps") -> None:
    """RuntimeError: there is no MPS generator."""
    raise _no_backend("getDefaultGenerator")


def synchronize() -> None:
    """RuntimeError: there is no device to wait for."""
    raise _no_backend("deviceSynchronize")


def empty_cache() -> None:
    """RuntimeError, as PyTorch without the backend."""
    raise _no_backend("emptyCache")


def current_allocated_memory() -> int:
    """RuntimeError, as PyTorch without the backend."""
    raise _no_backend("getCurrentAllocatedMemory")


def driver_allocated_memory() -> int:
    """RuntimeError, as PyTorch without the backend."""
    raise _no_backend("getDriverAllocatedMemory")


def recommended_max_memory() -> int:
    """RuntimeError, as PyTorch without the backend."""
    raise _no_backend("getRecommendedMaxMemory")


def set_per_process_memory_fraction(fraction: float) -> None:
    """RuntimeError, as PyTorch without the backend."""
    raise _no_backend("setMemoryFraction")
