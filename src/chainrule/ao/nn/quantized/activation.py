"""``cr.ao.nn.quantized.ReLU6`` (PyTorch's ``QuantizedReLU6``): ``min(max(x, 0), 6)`` on a
quantized tensor, done on its integers: clamped to ``[zero_point, q(6)]`` with the input's
scale and zero point kept. ``Dropout`` passes a quantized tensor through (in training
mode too, as PyTorch's). (PyTorch has no quantized ``ReLU`` module: ``nn.ReLU`` runs on a
quantized tensor itself, clamping at the zero point.)"""

from __future__ import annotations

from typing import Any

import numpy as np

from .... import nn
from ....quantized_tensor import QuantizedTensor, make_per_tensor_quantized
from ._qparams import as_quantized
from ._static_kernels import quantize_float

__all__ = ["Dropout", "ReLU6"]


def relu6_quantized(x: QuantizedTensor) -> QuantizedTensor:
    """``quantized::relu6``: the integers clamped to ``[zero_point, q(6.0)]``."""
    x = as_quantized("quantized::relu6", x)
    six = int(quantize_float(np.array([6.0], np.float32), x._q_scale, x._q_zp)[0])
    out = np.clip(x._q_int, x._q_zp, max(six, x._q_zp)).astype(np.uint8)
    return make_per_tensor_quantized(out, x.dtype, x._q_scale, x._q_zp, x._q_cl)


class ReLU6(nn.ReLU):
    """ReLU6 of a quantized tensor (a subclass of ``nn.ReLU``, as PyTorch's)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.inplace = inplace

    def _get_name(self) -> str:
        return "QuantizedReLU6"

    def forward(self, input: QuantizedTensor) -> QuantizedTensor:  # noqa: A002 - torch's name
        out = relu6_quantized(input)
        if self.inplace:
            input._q_int[...] = out._q_int
            return input
        return out

    @staticmethod
    def from_float(mod: Any, use_precomputed_fake_quant: bool = False) -> ReLU6:
        """A quantized ReLU6 in place of float ``nn.ReLU6`` ``mod`` (no qparams needed)."""
        if use_precomputed_fake_quant:
            raise NotImplementedError("from_float: use_precomputed_fake_quant")
        return ReLU6(mod.inplace)


class Dropout(nn.Dropout):
    """The quantized model's dropout: the identity."""

    def _get_name(self) -> str:
        return "QuantizedDropout"

    def forward(self, input: QuantizedTensor) -> QuantizedTensor:  # noqa: A002 - torch's name
        return input

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> Dropout:
        if use_precomputed_fake_quant:
            raise NotImplementedError("from_float: use_precomputed_fake_quant")
        return cls(mod.p, mod.inplace)
