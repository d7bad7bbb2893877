"""``cr.cpu.amp``: PyTorch's deprecated spellings ``torch.cpu.amp.autocast`` and
``torch.cpu.amp.GradScaler``, kept so older scripts run. Each warns (``FutureWarning``, as
PyTorch does) and is its ``cr.amp`` counterpart with ``device_type='cpu'``.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import dtypes
from ..amp.autocast_mode import autocast as _autocast
from ..amp.grad_scaler import GradScaler as _GradScaler

__all__ = ["GradScaler", "autocast"]


class autocast(_autocast):  # noqa: N801 - mirrors torch.cpu.amp.autocast
    """Deprecated: ``cr.amp.autocast('cpu', ...)`` (bfloat16 by default, as on PyTorch's CPU)."""

    def __init__(
        self, enabled: bool = True, dtype: Any = dtypes.bfloat16, cache_enabled: bool = True
    ) -> None:
        warnings.warn(
            "`cr.cpu.amp.autocast(args...)` is deprecated. Please use "
            "`cr.amp.autocast('cpu', args...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """Deprecated: ``cr.amp.GradScaler('cpu', ...)``."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        warnings.warn(
            "`cr.cpu.amp.GradScaler(args...)` is deprecated. Please use "
            "`cr.amp.GradScaler('cpu', args...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__("cpu", init_scale, growth_factor, backoff_factor, growth_interval, enabled)
