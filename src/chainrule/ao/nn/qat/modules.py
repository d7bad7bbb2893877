"""``cr.ao.nn.qat.Linear`` and ``Conv1d``/``Conv2d``/``Conv3d`` (``torch.ao.nn.qat``):
``nn.Linear`` / the float convolutions whose forward uses ``weight_fake_quant(weight)``;
the parameters are the float module's own (``from_float`` shares them), so training
updates the float weights while the loss sees them quantized. ``to_float`` gives the float
layer back."""

from __future__ import annotations

from typing import Any

from .... import nn
from ....autograd.tensor import Tensor
from ....nn import functional as F
from ....nn.parameter import Parameter
from ..intrinsic import fused as nni

__all__ = ["Conv1d", "Conv2d", "Conv3d", "Linear", "check_float_module"]


def check_float_module(cls: type, mod: Any) -> Any:
    """``mod``'s qconfig, after torch's checks that ``mod`` is ``cls``'s float module."""
    if type(mod) is not cls._FLOAT_MODULE:
        got = f", got {type(mod).__name__}" if getattr(cls, "_FROM_FLOAT_SAYS_GOT", False) else ""
        raise AssertionError(
            f"qat.{cls.__name__}.from_float only works for {cls._FLOAT_MODULE.__name__}{got}"
        )
    if not hasattr(mod, "qconfig"):
        raise AssertionError("Input float module must have qconfig defined")
    if not mod.qconfig:
        raise AssertionError("Input float module must have a valid qconfig")
    return mod.qconfig


def _require_qconfig(qconfig: Any) -> None:
    if not qconfig:
        raise AssertionError("qconfig must be provided for QAT module")


class Linear(nn.Linear):
    """``F.linear(x, weight_fake_quant(weight), bias)``."""

    _FLOAT_MODULE: Any = nn.Linear
    _FROM_FLOAT_SAYS_GOT = True

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        qconfig: Any = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        _require_qconfig(qconfig)
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight()

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - torch's name
        return F.linear(input, self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> Any:
        """A QAT layer sharing ``mod``'s weight and bias (``mod`` a ``Linear`` or a fused
        ``LinearReLU``)."""
        qconfig = check_float_module(cls, mod)
        if isinstance(mod, nni.LinearReLU):
            mod = mod[0]
        qat = cls(mod.in_features, mod.out_features, bias=mod.bias is not None, qconfig=qconfig)
        qat.weight = mod.weight
        qat.bias = mod.bias
        return qat

    def to_float(self) -> nn.Linear:
        """A new float ``nn.Linear`` (training mode) with new Parameters on this module's
        weight and bias values (shared memory, detached)."""
        linear = nn.Linear(self.in_features, self.out_features, self.bias is not None)
        linear.weight = Parameter(self.weight.detach())
        if self.bias is not None:
            linear.bias = Parameter(self.bias.detach())
        return linear


class _ConvNd:
    """What the QAT convolutions add to their float convolution (the class after this one
    in their bases): the qconfig, ``weight_fake_quant`` and the conversions."""

    _FLOAT_MODULE: Any = None
    _FLOAT_CONV_MODULE: Any = None
    _FROM_FLOAT_SAYS_GOT = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        qconfig: Any = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding,
            dilation=dilation, groups=groups, bias=bias, padding_mode=padding_mode,
            device=device, dtype=dtype,
        )  # fmt: skip
        _require_qconfig(qconfig)
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight()

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - torch's name
        return self._conv_forward(input, self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> Any:
        """A QAT convolution sharing ``mod``'s weight and bias (``mod`` the float
        convolution, or the fused ``ConvReLU`` for the fused QAT class)."""
        qconfig = check_float_module(cls, mod)
        if isinstance(mod, nn.Sequential):
            mod = mod[0]
        qat = cls(
            mod.in_channels, mod.out_channels, mod.kernel_size, stride=mod.stride,
            padding=mod.padding, dilation=mod.dilation, groups=mod.groups,
            bias=mod.bias is not None, padding_mode=mod.padding_mode, qconfig=qconfig,
        )  # fmt: skip
        qat.weight = mod.weight
        qat.bias = mod.bias
        return qat

    def to_float(self) -> Any:
        """A new float convolution (in training mode, as torch's) whose parameters are new
        Parameters on this module's weight and bias values (shared memory, detached)."""
        conv = self._FLOAT_CONV_MODULE(
            self.in_channels, self.out_channels, self.kernel_size, self.stride, self.padding,
            self.dilation, self.groups, self.bias is not None, self.padding_mode,
        )  # fmt: skip
        conv.weight = Parameter(self.weight.detach())
        if self.bias is not None:
            conv.bias = Parameter(self.bias.detach())
        return conv


class Conv1d(_ConvNd, nn.Conv1d):
    """``conv1d(x, weight_fake_quant(weight), bias)`` (not in torch's default QAT
    mapping: ``prepare_qat`` leaves an ``nn.Conv1d`` in float)."""

    _FLOAT_MODULE: Any = nn.Conv1d
    _FLOAT_CONV_MODULE: Any = nn.Conv1d


class Conv2d(_ConvNd, nn.Conv2d):
    """``conv2d(x, weight_fake_quant(weight), bias)``."""

    _FLOAT_MODULE: Any = nn.Conv2d
    _FLOAT_CONV_MODULE: Any = nn.Conv2d


class Conv3d(_ConvNd, nn.Conv3d):
    """``conv3d(x, weight_fake_quant(weight), bias)``."""

    _FLOAT_MODULE: Any = nn.Conv3d
    _FLOAT_CONV_MODULE: Any = nn.Conv3d
