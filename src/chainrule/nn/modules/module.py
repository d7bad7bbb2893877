"""``torch.nn.modules.module`` path: re-exports chainrule's Module base class and the
``load_state_dict`` result type."""

from __future__ import annotations

from .._state_dict import _IncompatibleKeys
from ..module import Module

__all__ = ["Module", "_IncompatibleKeys"]
