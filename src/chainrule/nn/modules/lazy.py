"""``torch.nn.modules.lazy`` path: re-exports chainrule's lazy-module machinery."""

from __future__ import annotations

from ..layers import LazyModuleMixin

__all__ = ["LazyModuleMixin"]
