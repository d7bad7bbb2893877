"""Utilities, mirroring ``torch.utils``: ``cr.utils.data`` (datasets, samplers, DataLoader) and
``cr.utils.tensorboard`` (SummaryWriter)."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["data", "tensorboard"]


def __getattr__(name: str) -> Any:
    if name in ("data", "tensorboard"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'chainrule.utils' has no attribute {name!r}")
