"""``cr.amp``: automatic mixed precision, PyTorch's ``torch.amp``.

:class:`GradScaler` is complete (scale the loss, unscale gradients, skip steps whose
gradients are not finite, grow and back off the scale, state dicts). :class:`autocast`
keeps PyTorch's signature and its rules for disabling itself; on the CPU, with bfloat16
(PyTorch's CPU default) or float16, it casts as PyTorch does; a CUDA autocast that would
take effect raises ``NotImplementedError`` (see ``autocast_mode``). The low-level
per-thread state functions (``set_autocast_enabled``, ``set_autocast_dtype``, nesting and
cache flags, the deprecated ``*_cpu_*``/``*_gpu_*`` spellings) live in ``autocast_state``
and are exported at the top level, where PyTorch has them.
"""

from __future__ import annotations

from .autocast_mode import autocast
from .autocast_state import get_autocast_dtype, is_autocast_available, is_autocast_enabled
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
