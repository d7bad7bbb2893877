"""``torch.nn.modules.upsampling`` path: re-exports chainrule's upsampling."""

from __future__ import annotations

from ..layers import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]
