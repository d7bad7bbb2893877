"""``cr.cuda.amp``: PyTorch's deprecated spellings ``torch.cuda.amp.autocast``,
``torch.cuda.amp.GradScaler``, ``custom_fwd`` and ``custom_bwd``, kept so older scripts run.
Each warns (``FutureWarning``, as PyTorch does) and is its ``cr.amp`` counterpart with
``device_type='cuda'``.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import dtypes
from ..amp.custom_functions import custom_bwd as _custom_bwd
from ..amp.custom_functions import custom_fwd as _custom_fwd
from ..amp.deprecated import device_autocast, device_grad_scaler

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]


autocast = device_autocast("cuda", dtypes.float16, __name__)
GradScaler = device_grad_scaler("cuda", __name__)


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
