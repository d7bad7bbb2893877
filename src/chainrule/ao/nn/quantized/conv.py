"""``cr.ao.nn.quantized.Conv2d`` (PyTorch's ``QuantizedConv2d``): a statically quantized 2-d
convolution, quint8 NCHW in and out, with an int8 weight (per tensor or per output
channel) and a float32 bias; the arithmetic is :func:`._static_kernels.conv2d_array`.
Its state dict holds ``weight`` (the quantized tensor), ``bias``, ``scale``, ``zero_point``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .... import nn
from ....autograd.tensor import Tensor
from ....qtypes import qint8, quint8
from ....quantized_creation import quantize_per_tensor
from ....quantized_tensor import QuantizedTensor, make_per_tensor_quantized
from ..intrinsic import fused as nni
from ._qparams import QParamsModule, as_quantized, qparams_of_observer
from ._static_kernels import conv2d_array
from .linear import _check_symmetric, layer_and_weight_observer, quantize_weight, weight_qparams

__all__ = ["Conv2d"]


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


class Conv2d(QParamsModule):
    """A quantized 2-d convolution (zero padding by the input's zero point)."""

    _version = 3
    _FLOAT_MODULE: Any = nn.Conv2d
    _ALSO: tuple = (nni.ConvBn2d,)  # other float modules from_float takes
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
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if padding_mode != "zeros":
            raise NotImplementedError(f"quantized Conv2d: padding_mode={padding_mode!r}")
        if isinstance(padding, str):
            raise NotImplementedError(f"quantized Conv2d: padding={padding!r}")
        if dtype is not None and dtype is not qint8:
            raise NotImplementedError(f"quantized Conv2d: dtype {dtype!r}")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride, self.padding, self.dilation = _pair(stride), _pair(padding), _pair(dilation)
        self.groups = groups
        self.padding_mode = padding_mode
        self.transposed = False
        self.output_padding = (0, 0)
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        zeros = Tensor._make(np.zeros(shape, np.float32), False, None, 0)
        b = Tensor._make(np.zeros(out_channels, np.float32), False, None, 0) if bias else None
        self.set_weight_bias(quantize_per_tensor(zeros, 1.0, 0, qint8), b)

    def _get_name(self) -> str:
        return "QuantizedConv2d"

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, scale={self.scale}, zero_point={self.zero_point}"
        )
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias() is None:
            s += ", bias=False"
        return s

    def __repr__(self) -> str:
        return f"{self._get_name()}({self.extra_repr()})"

    def weight(self) -> QuantizedTensor:
        return self._weight

    def bias(self) -> Tensor | None:
        return self._bias

    def set_weight_bias(self, w: QuantizedTensor, b: Tensor | None) -> None:
        if not isinstance(w, QuantizedTensor) or w.dtype is not qint8:
            raise RuntimeError("quantized Conv2d: the weight must be a qint8 quantized tensor")
        self._weight, self._bias = w, b

    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        destination[prefix + "weight"] = self._weight
        destination[prefix + "bias"] = self._bias
        super()._save_to_state_dict(destination, prefix, keep_vars)

    def _load_from_state_dict(
        self,
        state_dict: dict,
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list,
        unexpected_keys: list,
        error_msgs: list,
    ) -> None:
        if prefix + "weight" in state_dict:
            self.set_weight_bias(state_dict[prefix + "weight"], state_dict.get(prefix + "bias"))
        else:
            missing_keys.append(prefix + "weight")
        own = (prefix + "weight", prefix + "bias")
        rest = {k: v for k, v in state_dict.items() if k not in own}
        super()._load_from_state_dict(
            rest, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def forward(self, x: QuantizedTensor) -> QuantizedTensor:
        """The quantized convolution of 4-d ``x`` (ReLU-clamped for ``ConvReLU2d``)."""
        x = as_quantized("quantized::conv2d", x)
        if x.ndim != 4:
            raise ValueError("Input shape must be `(N, C, H, W)`!")
        if x.shape[1] != self.in_channels:
            raise RuntimeError(
                f"quantized::conv2d: the input has {x.shape[1]} channels, expected "
                f"{self.in_channels}"
            )
        w = self._weight
        scales, zps = weight_qparams(w)
        _check_symmetric("quantized::conv2d", zps)
        b = self._bias
        out = conv2d_array(
            x._q_int, x._q_scale, x._q_zp, w._q_int, scales,
            None if b is None else np.asarray(b.detach()._data, np.float32),
            self.stride, self.padding, self.dilation, self.groups,
            self.scale, self.zero_point, self._relu,
        )  # fmt: skip
        return make_per_tensor_quantized(out, quint8, self.scale, self.zero_point, True)

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> Conv2d:
        """The quantized form of an observed float ``nn.Conv2d`` (or fused
        ``ConvReLU2d``)."""
        if use_precomputed_fake_quant:
            raise NotImplementedError("from_float: use_precomputed_fake_quant")
        conv = mod[0] if isinstance(mod, nn.Sequential) else mod
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise NotImplementedError(
                f"quantized Conv2d: padding={conv.padding!r}, padding_mode={conv.padding_mode!r}"
            )
        conv, weight_observer = layer_and_weight_observer(cls, mod)
        qweight = quantize_weight(conv.weight.detach(), weight_observer)
        out = cls(
            conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
            conv.dilation, conv.groups, conv.bias is not None,
        )  # fmt: skip
        out.set_weight_bias(qweight, None if conv.bias is None else conv.bias.detach().clone())
        out.scale, out.zero_point = qparams_of_observer(mod.activation_post_process)
        return out
