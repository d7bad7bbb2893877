"""Utilities, mirroring ``torch.utils``: ``cr.utils.data`` (datasets, samplers, DataLoader),
``cr.utils.tensorboard`` (SummaryWriter), ``cr.utils.checkpoint`` (activation
checkpointing) and ``cr.utils.hooks`` (RemovableHandle)."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["checkpoint", "data", "hooks", "tensorboard"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'chainrule.utils' has no attribute {name!r}")
