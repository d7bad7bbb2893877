"""The deprecated per-device spellings ``torch.<device>.amp.autocast`` and
``torch.<device>.amp.GradScaler`` (``cr.cpu.amp``, ``cr.cuda.amp``): each warns
(``FutureWarning``, PyTorch's text with ``cr``) and is its ``cr.amp`` counterpart with the
device fixed. One definition serves both devices."""

from __future__ import annotations

import warnings
from typing import Any

from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler

__all__ = ["device_autocast", "device_grad_scaler"]


def _warn(device: str, name: str) -> None:
    warnings.warn(
        f"`cr.{device}.amp.{name}(args...)` is deprecated. Please use "
        f"`cr.amp.{name}('{device}', args...)` instead.",
        FutureWarning,
        stacklevel=3,
    )


def device_autocast(device: str, default_dtype: Any, module: str) -> type:
    """``cr.<device>.amp.autocast``: ``cr.amp.autocast(device, ...)`` with a warning."""

    class autocast(_autocast):  # noqa: N801 - PyTorch's name
        def __init__(
            self, enabled: bool = True, dtype: Any = default_dtype, cache_enabled: bool = True
        ) -> None:
            _warn(device, "autocast")
            super().__init__(device, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    autocast.__module__, autocast.__qualname__ = module, "autocast"
    autocast.__doc__ = f"Deprecated: ``cr.amp.autocast('{device}', ...)``."
    return autocast


def device_grad_scaler(device: str, module: str) -> type:
    """``cr.<device>.amp.GradScaler``: ``cr.amp.GradScaler(device, ...)`` with a warning."""

    class GradScaler(_GradScaler):
        def __init__(
            self,
            init_scale: float = 2.0**16,
            growth_factor: float = 2.0,
            backoff_factor: float = 0.5,
            growth_interval: int = 2000,
            enabled: bool = True,
        ) -> None:
            _warn(device, "GradScaler")
            super().__init__(
                device, init_scale, growth_factor, backoff_factor, growth_interval, enabled
            )

    GradScaler.__module__, GradScaler.__qualname__ = module, "GradScaler"
    GradScaler.__doc__ = f"Deprecated: ``cr.amp.GradScaler('{device}', ...)``."
    return GradScaler
