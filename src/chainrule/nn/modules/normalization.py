"""``torch.nn.modules.normalization`` path: re-exports LayerNorm, GroupNorm, RMSNorm, LRN."""

from __future__ import annotations

from ..layers import GroupNorm, LayerNorm, LocalResponseNorm, RMSNorm

__all__ = ["GroupNorm", "LayerNorm", "LocalResponseNorm", "RMSNorm"]
