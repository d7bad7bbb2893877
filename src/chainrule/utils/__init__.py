"""Utilities, mirroring ``torch.utils``: ``cr.utils.data`` (datasets, samplers, DataLoader),
``cr.utils.tensorboard`` (SummaryWriter), ``cr.utils.checkpoint`` (activation
checkpointing), ``cr.utils.hooks`` (RemovableHandle), ``cr.utils.benchmark`` (Timer,
Compare), ``cr.utils.flop_counter`` (FlopCounterMode), ``cr.utils.model_zoo``
(``load_url``, the older name of ``cr.hub.load_state_dict_from_url``) and
``cr.utils.serialization`` (``config``, the switches of save and load), ``cr.utils.dlpack``
(``from_dlpack``/``to_dlpack``); ``cr.utils.swap_tensors`` swaps two tensors' contents."""

from __future__ import annotations

import importlib
from typing import Any

from ..autograd.swap import swap_tensors

__all__ = [
    "benchmark",
    "checkpoint",
    "data",
    "dlpack",
    "flop_counter",
    "hooks",
    "model_zoo",
    "serialization",
    "swap_tensors",
    "tensorboard",
]


def __getattr__(name: str) -> Any:
    if name in (*__all__, "_pytree"):  # torch.utils._pytree: private, but programs use it
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'chainrule.utils' has no attribute {name!r}")
