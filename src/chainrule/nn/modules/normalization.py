"""``torch.nn.modules.normalization`` path: re-exports LayerNorm, GroupNorm, RMSNorm, LRN."""

from __future__ import annotations

from ..layers import (
    CrossMapLRN2d,
    GroupNorm,
    LayerNorm,
    LocalResponseNorm,
    RMSNorm,
)

__all__ = ["CrossMapLRN2d", "GroupNorm", "LayerNorm", "LocalResponseNorm", "RMSNorm"]
