"""``cr.cpu.amp``: PyTorch's deprecated spellings ``torch.cpu.amp.autocast`` and
``torch.cpu.amp.GradScaler``, kept so older scripts run. Each warns (``FutureWarning``, as
PyTorch does) and is its ``cr.amp`` counterpart with ``device_type='cpu'``.
"""

from __future__ import annotations

from .. import dtypes
from ..amp.deprecated import device_autocast, device_grad_scaler

__all__ = ["GradScaler", "autocast"]

# bfloat16 by default, as on PyTorch's CPU
autocast = device_autocast("cpu", dtypes.bfloat16, __name__)
GradScaler = device_grad_scaler("cpu", __name__)
