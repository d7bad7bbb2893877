"""``cr.cuda.amp``: PyTorch's deprecated spellings ``torch.cuda.amp.autocast``,
``torch.cuda.amp.GradScaler``, ``custom_fwd`` and ``custom_bwd``, kept so older scripts run.
Each warns (``FutureWarning``, as PyTorch does) and is its ``cr.amp`` counterpart with
``device_type='cuda'``.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import dtypes
from ..amp.autocast_mode import autocast as _autocast
from ..amp.custom_functions import custom_bwd as _custom_bwd
from ..amp.custom_functions import custom_fwd as _custom_fwd
from ..amp.grad_scaler import GradScaler as _GradScaler

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]


class autocast(_autocast):  # noqa: N801 - mirrors torch.cuda.amp.autocast
    """Deprecated: ``cr.amp.autocast('cuda', ...)``."""

    def __init__(
        self, enabled: bool = True, dtype: Any = dtypes.float16, cache_enabled: bool = True
    ) -> None:
        warnings.warn(
            "`cr.cuda.amp.autocast(args...)` is deprecated. Please use "
            "`cr.amp.autocast('cuda', args...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """Deprecated: ``cr.amp.GradScaler('cuda', ...)``."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        warnings.warn(
            "`cr.cuda.amp.GradScaler(args...)` is deprecated. Please use "
            "`cr.amp.GradScaler('cuda', args...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(
            "cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled
        )


def custom_fwd(fwd: Any = None, *, cast_inputs: Any = None) -> Any:
    """Deprecated: ``cr.amp.custom_fwd(..., device_type='cuda')``."""
    warnings.warn(
        "`cr.cuda.amp.custom_fwd(args...)` is deprecated. Please use "
        "`cr.amp.custom_fwd(args..., device_type='cuda')` instead.",
        FutureWarning,
        stacklevel=2,
    )
    return _custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd: Any = None) -> Any:
    """Deprecated: ``cr.amp.custom_bwd(..., device_type='cuda')``."""
    warnings.warn(
        "`cr.cuda.amp.custom_bwd(args...)` is deprecated. Please use "
        "`cr.amp.custom_bwd(args..., device_type='cuda')` instead.",
        FutureWarning,
        stacklevel=2,
    )
    return _custom_bwd(bwd, device_type="cuda")
