"""``torch.nn.modules.pixelshuffle`` path: re-exports chainrule's pixel (un)shuffle."""

from __future__ import annotations

from ..layers import PixelShuffle, PixelUnshuffle

__all__ = ["PixelShuffle", "PixelUnshuffle"]
