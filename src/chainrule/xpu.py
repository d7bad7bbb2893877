"""``cr.xpu``: PyTorch's Intel-GPU module, for scripts that query it.

chainrule has no XPU backend, so this module answers as a PyTorch build without XPU does:
:func:`is_available` is False, :func:`device_count` 0, the memory counters 0, seeding and
cache calls are silently ignored, and everything that needs a device raises PyTorch's
``AssertionError`` ("Torch not compiled with XPU enabled").
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

__all__ = [
    "current_device",
    "device_count",
    "empty_cache",
    "get_arch_list",
    "get_device_capability",
    "get_device_name",
    "get_device_properties",
    "get_rng_state",
    "get_rng_state_all",
    "init",
    "initial_seed",
    "is_available",
    "is_bf16_supported",
    "is_initialized",
    "is_tf32_supported",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "max_memory_reserved",
    "mem_get_info",
    "memory_allocated",
    "memory_reserved",
    "memory_stats",
    "seed",
    "seed_all",
    "set_device",
    "set_rng_state",
    "set_rng_state_all",
    "synchronize",
]


def _not_compiled() -> AssertionError:
    return AssertionError(
        "Torch not compiled with XPU enabled (chainrule runs on the CPU, or on an NVIDIA "
        "GPU through CuPy; it has no XPU backend)"
    )


def is_available() -> bool:
    """Always False: chainrule has no XPU backend."""
    return False


def is_initialized() -> bool:
    """Always False."""
    return False


def device_count() -> int:
    """0: no XPU device is ever visible to chainrule."""
    return 0


def get_arch_list() -> list[str]:
    """No architectures (an empty list, as PyTorch without XPU)."""
    return []


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: there is no device."""
    return False


def is_tf32_supported() -> bool:
    """False: there is no device."""
    return False


def _require(*args: Any, **kwargs: Any) -> Any:
    raise _not_compiled()


init = current_device = set_device = synchronize = mem_get_info = _require
get_device_name = get_device_properties = get_device_capability = _require
initial_seed = get_rng_state = _require


def manual_seed(seed: Any) -> None:
    """Ignored (the seed is checked as an int, as PyTorch); ``cr.manual_seed`` seeds the
    CPU generator."""
    int(seed)


def manual_seed_all(seed: Any) -> None:
    """Ignored, as :func:`manual_seed`."""
    int(seed)


def seed() -> None:
    """Ignored: there is no XPU generator."""


def seed_all() -> None:
    """Ignored: there is no XPU generator."""


def set_rng_state(new_state: Any, device: Any = "xpu") -> None:
    """Ignored, as PyTorch without XPU."""


def set_rng_state_all(new_states: Any) -> None:
    """Ignored, as PyTorch without XPU."""


def get_rng_state_all() -> list[Any]:
    """No devices, no states: an empty list."""
    return []


def empty_cache() -> None:
    """Ignored: nothing is cached."""


def memory_allocated(device: Any = None) -> int:
    """0 bytes: nothing is allocated on an XPU."""
    return 0


def memory_reserved(device: Any = None) -> int:
    """0 bytes."""
    return 0


def max_memory_allocated(device: Any = None) -> int:
    """0 bytes."""
    return 0


def max_memory_reserved(device: Any = None) -> int:
    """0 bytes."""
    return 0


def memory_stats(device: Any = None) -> OrderedDict:
    """An empty ``OrderedDict``, as PyTorch without XPU."""
    return OrderedDict()
