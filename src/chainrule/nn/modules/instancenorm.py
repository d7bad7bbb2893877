"""``torch.nn.modules.instancenorm`` path: re-exports chainrule's instance normalisation."""

from __future__ import annotations

from ..layers import (
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    LazyInstanceNorm1d,
    LazyInstanceNorm2d,
    LazyInstanceNorm3d,
)
from ..layers.instancenorm import _InstanceNorm
from ..layers.lazy_more import _LazyNormBase
from ..layers.normalization import _NormBase

__all__ = [
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "_InstanceNorm",
    "_LazyNormBase",
    "_NormBase",
]
