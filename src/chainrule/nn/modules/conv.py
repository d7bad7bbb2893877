"""``torch.nn.modules.conv`` path: re-exports chainrule's convolutions."""

from __future__ import annotations

from ..layers import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, LazyConv1d, LazyConv2d
from ..layers.conv import _ConvNd

__all__ = [
    "Conv1d",
    "Conv2d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "LazyConv1d",
    "LazyConv2d",
    "_ConvNd",
]
