"""``cr.ao.nn.intrinsic.quantized`` (also ``cr.nn.intrinsic.quantized``): quantized fused
modules, what ``convert`` makes of a fused ``LinearReLU`` / ``ConvReLU2d``: the quantized
layer with its output clamped below at the zero point (ReLU) before it is stored."""

from __future__ import annotations

from ...quantized.conv import Conv2d
from ...quantized.linear import Linear
from .. import fused as nni

__all__ = ["ConvReLU2d", "LinearReLU"]


class LinearReLU(Linear):
    """Quantized ``relu(x @ W.T + b)``."""

    _FLOAT_MODULE = nni.LinearReLU
    _relu = True

    def _get_name(self) -> str:
        return "QuantizedLinearReLU"


class ConvReLU2d(Conv2d):
    """Quantized ``relu(conv2d(x))``."""

    _FLOAT_MODULE = nni.ConvReLU2d
    _ALSO = (nni.ConvBnReLU2d,)
    _relu = True

    def _get_name(self) -> str:
        return "QuantizedConvReLU2d"
