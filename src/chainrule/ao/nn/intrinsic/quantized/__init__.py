"""``cr.ao.nn.intrinsic.quantized`` (also ``cr.nn.intrinsic.quantized``): quantized fused
modules, what ``convert`` makes of a fused ``LinearReLU`` / ``ConvReLU{1,2,3}d``: the
quantized layer with its output clamped below at the zero point (ReLU) before it is
stored."""

from __future__ import annotations

from ...quantized.conv import Conv1d, Conv2d, Conv3d
from ...quantized.linear import Linear
from .. import fused as nni

__all__ = ["ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "LinearReLU"]


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


class ConvReLU1d(Conv1d):
    """Quantized ``relu(conv1d(x))``."""

    _FLOAT_MODULE = nni.ConvReLU1d
    _relu = True


class ConvReLU3d(Conv3d):
    """Quantized ``relu(conv3d(x))``."""

    _FLOAT_MODULE = nni.ConvReLU3d
    _relu = True
