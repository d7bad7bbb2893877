"""``torch.nn.modules.module`` path: re-exports chainrule's Module base class."""

from __future__ import annotations

from ..module import Module

__all__ = ["Module"]
