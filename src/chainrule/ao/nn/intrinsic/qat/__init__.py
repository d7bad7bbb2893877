"""``cr.ao.nn.intrinsic.qat`` (also ``cr.nn.intrinsic.qat``): fused layers for
quantization-aware training: ``LinearReLU``, ``ConvReLU2d``, ``ConvReLU3d`` and the
batch-norm-folding ``ConvBn2d``/``ConvBnReLU2d`` and ``LinearBn1d``, with
``freeze_bn_stats``/``update_bn_stats`` for ``model.apply`` (which, as torch's, switch the
convolutions only)."""

from __future__ import annotations

from .conv_fused import (
    ConvBn2d,
    ConvBnReLU2d,
    ConvReLU2d,
    ConvReLU3d,
    freeze_bn_stats,
    update_bn_stats,
)
from .linear_fused import LinearBn1d
from .linear_relu import LinearReLU

__all__ = [
    "ConvBn2d",
    "ConvBnReLU2d",
    "ConvReLU2d",
    "ConvReLU3d",
    "LinearBn1d",
    "LinearReLU",
    "freeze_bn_stats",
    "update_bn_stats",
]
