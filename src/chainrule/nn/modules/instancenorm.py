"""``torch.nn.modules.instancenorm`` path: re-exports chainrule's instance normalisation."""

from __future__ import annotations

from ..layers import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from ..layers.instancenorm import _InstanceNorm

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "_InstanceNorm"]
