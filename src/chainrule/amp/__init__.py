"""``cr.amp``: automatic mixed precision, PyTorch's ``torch.amp``.

:class:`GradScaler` is complete (scale the loss, unscale gradients, skip steps whose
gradients are not finite, grow and back off the scale, state dicts). :class:`autocast`
keeps PyTorch's signature and its rules for disabling itself, but chainrule does not cast
ops to a lower precision: enabling it where it would take effect raises
``NotImplementedError`` (see its docstring for why and what to do instead).
"""

from __future__ import annotations

from .autocast_mode import (
    autocast,
    get_autocast_dtype,
    is_autocast_available,
    is_autocast_enabled,
)
from .custom_functions import custom_bwd, custom_fwd
from .grad_scaler import GradScaler

__all__ = [
    "GradScaler",
    "autocast",
    "custom_bwd",
    "custom_fwd",
    "get_autocast_dtype",
    "is_autocast_available",
    "is_autocast_enabled",
]
