"""``cr.ao.nn.intrinsic`` (also ``cr.nn.intrinsic``): the fused modules ``fuse_modules``
produces (``ConvReLU2d``, ``LinearReLU``, ...) and their quantized forms (``quantized``)."""

from __future__ import annotations

from . import quantized
from .fused import BNReLU2d, BNReLU3d, ConvReLU1d, ConvReLU2d, ConvReLU3d, LinearReLU

__all__ = [
    "BNReLU2d",
    "BNReLU3d",
    "ConvReLU1d",
    "ConvReLU2d",
    "ConvReLU3d",
    "LinearReLU",
    "quantized",
]
