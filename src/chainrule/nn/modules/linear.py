"""``torch.nn.modules.linear`` path: re-exports chainrule's affine layers."""

from __future__ import annotations

from ..layers import Bilinear, Identity, LazyLinear, Linear

__all__ = ["Bilinear", "Identity", "LazyLinear", "Linear"]
