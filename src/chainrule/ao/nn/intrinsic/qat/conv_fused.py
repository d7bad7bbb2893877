"""Fused convolutions for quantization-aware training (``torch.ao.nn.intrinsic.qat``):
``ConvReLU2d``, ``ConvReLU3d`` and the batch-norm-folding ``ConvBn2d`` / ``ConvBnReLU2d``.

``ConvBn2d`` keeps the convolution and its ``bn`` apart while training but fake-quantizes
the weight the quantized model will have, the batch norm folded in: with
``f = bn.weight / sqrt(bn.running_var + bn.eps)`` it computes
``bn(conv(x, weight_fake_quant(weight * f[:, None, None, None])) / f[None, :, None, None]
+ bias)`` (torch's approximate form), so ``bn`` still normalizes with the batch's
statistics and updates its running ones in training mode. ``freeze_bn_stats`` puts ``bn``
in evaluation mode for the rest of training (running statistics fixed); ``convert`` folds
``bn``'s running statistics into the weight and bias.
"""

from __future__ import annotations

from typing import Any

from ..... import nn
from .....autograd.tensor import Tensor
from .....creation import zeros
from .....nn import functional as F
from .....nn.parameter import Parameter
from ... import qat as nnqat
from ...qat.modules import check_float_module
from .. import fused as nni
from .bn_switches import BnStatsSwitches

__all__ = [
    "ConvBn2d",
    "ConvBnReLU2d",
    "ConvReLU2d",
    "ConvReLU3d",
    "freeze_bn_stats",
    "update_bn_stats",
]


class ConvReLU2d(nnqat.Conv2d):
    """A QAT convolution followed by ReLU."""

    _FLOAT_MODULE: Any = nni.ConvReLU2d

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - torch's name
        return F.relu(self._conv_forward(input, self.weight_fake_quant(self.weight), self.bias))


class ConvReLU3d(nnqat.Conv3d):
    """A QAT 3-d convolution followed by ReLU."""

    _FLOAT_MODULE: Any = nni.ConvReLU3d

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - torch's name
        return F.relu(self._conv_forward(input, self.weight_fake_quant(self.weight), self.bias))


class ConvBn2d(BnStatsSwitches, nn.Conv2d):
    """Conv2d + BatchNorm2d with the batch norm folded into the fake-quantized weight."""

    _FLOAT_MODULE: Any = nni.ConvBn2d
    _relu = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: Any = None,
        padding_mode: str = "zeros",
        eps: float = 1e-05,
        momentum: float = 0.1,
        freeze_bn: bool = False,
        qconfig: Any = None,
        dim: int = 2,
    ) -> None:
        if dim != 2:
            raise NotImplementedError(f"{type(self).__name__}: dim={dim}")
        super().__init__(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding,
            dilation=dilation, groups=groups, bias=False, padding_mode=padding_mode,
        )  # fmt: skip
        if not qconfig:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.freeze_bn = freeze_bn if self.training else True
        self.bn = nn.BatchNorm2d(out_channels, eps, momentum, True, True)
        self.weight_fake_quant = self.qconfig.weight()
        if bias:  # (the convolution above was made without one)
            self.bias = Parameter(zeros(out_channels))
        if self.training and not freeze_bn:
            self.update_bn_stats()
        else:
            self.freeze_bn_stats()

    def _forward(self, input: Tensor) -> Tensor:  # noqa: A002 - torch's name
        bn = self.bn
        running_std = (bn.running_var + bn.eps).sqrt()
        factor = bn.weight / running_std
        scaled = self.weight_fake_quant(self.weight * factor.reshape(-1, 1, 1, 1))
        zero_bias = zeros(self.out_channels, dtype=input.dtype)
        conv = self._conv_forward(input, scaled, zero_bias)
        conv = conv / factor.reshape(1, -1, 1, 1)
        if self.bias is not None:
            conv = conv + self.bias.reshape(1, -1, 1, 1)
        return bn(conv)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - torch's name
        out = self._forward(input)
        return F.relu(out) if self._relu else out

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> ConvBn2d:
        """A QAT module sharing the fused float module's conv and batch-norm parameters
        and statistics."""
        qconfig = check_float_module(cls, mod)
        conv, bn = mod[0], mod[1]
        qat = cls(
            conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
            conv.dilation, conv.groups, conv.bias is not None, conv.padding_mode, bn.eps,
            bn.momentum, False, qconfig,
        )  # fmt: skip
        qat.weight = conv.weight
        qat.bias = conv.bias
        qat.bn.weight = bn.weight
        qat.bn.bias = bn.bias
        qat.bn.running_mean = bn.running_mean
        qat.bn.running_var = bn.running_var
        qat.bn.num_batches_tracked = bn.num_batches_tracked
        return qat


class ConvBnReLU2d(ConvBn2d):
    """``ConvBn2d`` followed by ReLU."""

    _FLOAT_MODULE: Any = nni.ConvBnReLU2d
    _relu = True


def freeze_bn_stats(mod: nn.Module) -> None:
    """``mod.freeze_bn_stats()`` for the batch-norm-folding QAT modules (``model.apply``)."""
    if isinstance(mod, ConvBn2d):
        mod.freeze_bn_stats()


def update_bn_stats(mod: nn.Module) -> None:
    """``mod.update_bn_stats()`` for the batch-norm-folding QAT modules (``model.apply``)."""
    if isinstance(mod, ConvBn2d):
        mod.update_bn_stats()
