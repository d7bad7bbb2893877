"""``cr.accelerator``: PyTorch's device-agnostic accelerator queries.

chainrule's only accelerator is an NVIDIA GPU through CuPy (see :mod:`chainrule.cuda`).
"""

from __future__ import annotations

from . import cuda
from .backend import Device

__all__ = ["current_accelerator", "current_device_index", "device_count", "is_available"]


def is_available() -> bool:
    """Whether an accelerator (a CUDA GPU through CuPy) can be used."""
    return cuda.is_available()


def current_accelerator(check_available: bool = False) -> Device | None:
    """``cr.device('cuda')`` when CuPy sees a GPU, else None (as PyTorch on a CPU machine)."""
    return Device("cuda", cuda.current_device()) if cuda.is_available() else None


def device_count() -> int:
    """How many accelerator devices are visible (0 on a CPU-only machine)."""
    return cuda.device_count()


def current_device_index() -> int:
    """The current accelerator's index (RuntimeError when there is none, as PyTorch)."""
    if not cuda.is_available():
        raise RuntimeError(
            "cr.accelerator.current_device_index: no accelerator is available; "
            "check cr.accelerator.is_available() first"
        )
    return cuda.current_device()
