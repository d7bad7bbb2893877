"""``cr.ao.nn.quantized`` (also ``cr.nn.quantized``): quantized modules. Statically
quantized (quint8 in and out): ``Quantize``/``DeQuantize``, ``Linear``,
``Conv1d``/``Conv2d``/``Conv3d``, ``ReLU6``, ``Dropout``, ``QFunctional`` (and the float
``FloatFunctional`` it replaces); ``functional``: the pooling functions on quantized
tensors; dynamically quantized (float in and out): ``dynamic.Linear``, ``dynamic.LSTM``,
``dynamic.GRU``."""

from __future__ import annotations

from . import dynamic, functional
from .activation import Dropout, ReLU6
from .conv import Conv1d, Conv2d, Conv3d
from .functional_modules import FloatFunctional, FXFloatFunctional, QFunctional
from .linear import Linear
from .linear_packed_params import LinearPackedParams
from .quantize_modules import DeQuantize, Quantize

__all__ = [
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "DeQuantize",
    "Dropout",
    "FXFloatFunctional",
    "FloatFunctional",
    "Linear",
    "LinearPackedParams",
    "QFunctional",
    "Quantize",
    "ReLU6",
    "dynamic",
    "functional",
]
