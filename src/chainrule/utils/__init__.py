"""Utilities, mirroring ``torch.utils``: ``cr.utils.data`` (datasets, samplers, DataLoader),
``cr.utils.tensorboard`` (SummaryWriter), ``cr.utils.checkpoint`` (activation
checkpointing), ``cr.utils.hooks`` (RemovableHandle), ``cr.utils.benchmark`` (Timer,
Compare) and ``cr.utils.flop_counter`` (FlopCounterMode)."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["benchmark", "checkpoint", "data", "flop_counter", "hooks", "tensorboard"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'chainrule.utils' has no attribute {name!r}")
