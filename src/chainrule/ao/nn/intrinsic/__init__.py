"""``cr.ao.nn.intrinsic`` (also ``cr.nn.intrinsic``): the fused modules ``fuse_modules``
produces (``ConvReLU2d``, ``LinearReLU``, ``ConvBn2d``, ...), their quantized forms
(``quantized``) and their quantization-aware training forms (``qat``)."""

from __future__ import annotations

from . import qat, quantized
from .fused import (
    BNReLU2d,
    BNReLU3d,
    ConvBn2d,
    ConvBnReLU2d,
    ConvReLU1d,
    ConvReLU2d,
    ConvReLU3d,
    LinearBn1d,
    LinearReLU,
)

__all__ = [
    "BNReLU2d",
    "BNReLU3d",
    "ConvBn2d",
    "ConvBnReLU2d",
    "ConvReLU1d",
    "ConvReLU2d",
    "ConvReLU3d",
    "LinearBn1d",
    "LinearReLU",
    "qat",
    "quantized",
]
