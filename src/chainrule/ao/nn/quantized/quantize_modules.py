"""``cr.ao.nn.quantized.Quantize`` and ``DeQuantize``: what ``convert`` puts in place of a
``QuantStub`` (float32 -> quint8 with the calibrated scale and zero point) and of a
``DeQuantStub`` (quantized -> float32)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .... import nn
from ....autograd.tensor import Tensor
from ....qtypes import quint8
from ....quantized_creation import dequantize, quantize_per_tensor
from ....quantized_tensor import QuantizedTensor
from ._qparams import qparams_of_observer

__all__ = ["DeQuantize", "Quantize"]


class Quantize(nn.Module):
    """Quantize a float32 tensor per tensor with fixed ``scale`` and ``zero_point``; both
    are buffers of shape (1,), as PyTorch's."""

    def __init__(
        self, scale: float, zero_point: int, dtype: Any, factory_kwargs: Any = None
    ) -> None:
        super().__init__()
        if factory_kwargs:
            raise NotImplementedError("Quantize: factory_kwargs")
        self.register_buffer("scale", Tensor._make(np.array([scale], np.float32), False, None, 0))
        self.register_buffer(
            "zero_point", Tensor._make(np.array([zero_point], np.int64), False, None, 0)
        )
        self.dtype = dtype

    def forward(self, X: Tensor) -> QuantizedTensor:  # noqa: N803 - torch's name
        return quantize_per_tensor(
            X, float(self.scale._data[0]), int(self.zero_point._data[0]), self.dtype
        )

    def extra_repr(self) -> str:
        return f"scale={self.scale!r}, zero_point={self.zero_point!r}, dtype={self.dtype!r}"

    @staticmethod
    def from_float(mod: Any, use_precomputed_fake_quant: bool = False) -> Quantize:
        """A ``Quantize`` with the qparams ``mod.activation_post_process`` calculated."""
        if use_precomputed_fake_quant:
            raise NotImplementedError("from_float: use_precomputed_fake_quant")
        observer = getattr(mod, "activation_post_process", None)
        if observer is None:
            raise AssertionError("Input float module must have activation_post_process")
        scale, zero_point = qparams_of_observer(observer)
        dtype = observer.dtype
        if dtype is not quint8:
            raise NotImplementedError(f"Quantize: activation dtype {dtype!r} (chainrule.quint8)")
        return Quantize(scale, zero_point, dtype)


class DeQuantize(nn.Module):
    """Dequantize a quantized tensor to float32."""

    def forward(self, Xq: QuantizedTensor) -> Tensor:  # noqa: N803 - torch's name
        return dequantize(Xq)

    @staticmethod
    def from_float(mod: Any, use_precomputed_fake_quant: bool = False) -> DeQuantize:
        if use_precomputed_fake_quant:
            raise NotImplementedError("from_float: use_precomputed_fake_quant")
        return DeQuantize()
