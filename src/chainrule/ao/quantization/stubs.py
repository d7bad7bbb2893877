"""``QuantStub``, ``DeQuantStub`` and ``QuantWrapper`` (``torch.ao.quantization.stubs``):
markers of where a model's float values become quantized and back. In float they pass
values through; ``prepare`` puts an observer after a ``QuantStub``; ``convert`` swaps them
for ``nnq.Quantize`` (with the observed scale and zero point) and ``nnq.DeQuantize``."""

from __future__ import annotations

from typing import Any

from ... import nn
from ...autograd.tensor import Tensor

__all__ = ["DeQuantStub", "QuantStub", "QuantWrapper"]


class QuantStub(nn.Module):
    """Identity before calibration; where the float input will be quantized."""

    def __init__(self, qconfig: Any = None) -> None:
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x: Tensor) -> Tensor:
        return x


class DeQuantStub(nn.Module):
    """Identity before conversion; where a quantized value will be dequantized."""

    def __init__(self, qconfig: Any = None) -> None:
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x: Tensor) -> Tensor:
        return x


class QuantWrapper(nn.Module):
    """``module`` between a ``QuantStub`` and a ``DeQuantStub`` (each given the module's
    ``qconfig`` if it has one): ``dequant(module(quant(x)))``."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        qconfig = getattr(module, "qconfig", None)
        self.add_module("quant", QuantStub(qconfig))
        self.add_module("dequant", DeQuantStub(qconfig))
        self.add_module("module", module)
        self.train(module.training)

    def forward(self, X: Tensor) -> Any:  # noqa: N803 - torch's name
        return self.dequant(self.module(self.quant(X)))
