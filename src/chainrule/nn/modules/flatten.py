"""``torch.nn.modules.flatten`` path: re-exports chainrule's flatten / unflatten."""

from __future__ import annotations

from ..layers import Flatten, Unflatten

__all__ = ["Flatten", "Unflatten"]
