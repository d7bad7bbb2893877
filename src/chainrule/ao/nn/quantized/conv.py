"""``cr.ao.nn.quantized.Conv1d``, ``Conv2d``, ``Conv3d`` (PyTorch's ``QuantizedConv{1,2,3}d``):
statically quantized convolutions, quint8 channels-first in and out, with an int8 weight
(per tensor or per output channel) and a float32 bias; the arithmetic is
:func:`._static_kernels.conv_array` (one function for 1, 2 and 3 spatial dims, also
bound as ``conv1d_array``/``conv2d_array``/``conv3d_array``). Each state dict holds
``weight`` (the quantized tensor), ``bias``, ``scale``, ``zero_point``.
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
from ._static_kernels import conv1d_array, conv2d_array, conv3d_array
from .linear import _check_symmetric, layer_and_weight_observer, quantize_weight, weight_qparams

__all__ = ["Conv1d", "Conv2d", "Conv3d"]


def _ntuple(v: Any, n: int) -> tuple[int, ...]:
    return (int(v),) * n if isinstance(v, int) else tuple(int(e) for e in v)


class _ConvNd(QParamsModule):
    """A quantized convolution over ``_nd`` spatial dims (zero padding by the input's zero
    point)."""

    _version = 1
    _nd = 2
    _FLOAT_MODULE: Any = nn.Conv2d
    _ALSO: tuple = ()  # other float modules from_float takes
    _relu = False
    _kernel: Any = staticmethod(conv2d_array)
    _shape_text = "(N, C, H, W)"

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
        name = f"quantized {type(self).__name__}"
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: padding_mode={padding_mode!r}")
        if isinstance(padding, str):
            raise NotImplementedError(f"{name}: padding={padding!r}")
        if dtype is not None and dtype is not qint8:
            raise NotImplementedError(f"{name}: dtype {dtype!r}")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.in_channels, self.out_channels = in_channels, out_channels
        nd = self._nd
        self.kernel_size = _ntuple(kernel_size, nd)
        self.stride, self.padding = _ntuple(stride, nd), _ntuple(padding, nd)
        self.dilation = _ntuple(dilation, nd)
        self.groups = groups
        self.padding_mode = padding_mode
        self.transposed = False
        self.output_padding = (0,) * nd
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        zeros = Tensor._make(np.zeros(shape, np.float32), False, None, 0)
        b = Tensor._make(np.zeros(out_channels, np.float32), False, None, 0) if bias else None
        self.set_weight_bias(quantize_per_tensor(zeros, 1.0, 0, qint8), b)

    def _get_name(self) -> str:
        return f"Quantized{type(self).__name__}"

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, scale={self.scale}, zero_point={self.zero_point}"
        )
        if any(self.padding):
            s += f", padding={self.padding}"
        if any(d != 1 for d in self.dilation):
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
            raise RuntimeError(
                f"quantized {type(self).__name__}: the weight must be a qint8 quantized tensor"
            )
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
        """The quantized convolution of ``x`` (batched, channels first; ReLU-clamped for
        the fused ``ConvReLU``)."""
        op = f"quantized::conv{self._nd}d"
        x = as_quantized(op, x)
        if x.ndim != self._nd + 2:
            raise ValueError(f"Input shape must be `{self._shape_text}`!")
        if x.shape[1] != self.in_channels:
            raise RuntimeError(
                f"{op}: the input has {x.shape[1]} channels, expected {self.in_channels}"
            )
        w = self._weight
        scales, zps = weight_qparams(w)
        _check_symmetric(op, zps)
        b = self._bias
        out = self._kernel(
            x._q_int, x._q_scale, x._q_zp, w._q_int, scales,
            None if b is None else np.asarray(b.detach()._data, np.float32),
            self.stride, self.padding, self.dilation, self.groups,
            self.scale, self.zero_point, self._relu,
        )  # fmt: skip
        return make_per_tensor_quantized(out, quint8, self.scale, self.zero_point, True)

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> Any:
        """The quantized form of an observed float convolution (or fused ``ConvReLU``, or
        the quantization-aware-training form of either)."""
        if use_precomputed_fake_quant:
            raise NotImplementedError("from_float: use_precomputed_fake_quant")
        conv = mod[0] if isinstance(mod, nn.Sequential) else mod
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise NotImplementedError(
                f"quantized {cls.__name__}: padding={conv.padding!r}, "
                f"padding_mode={conv.padding_mode!r}"
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


class Conv1d(_ConvNd):
    """A quantized 1-d convolution: input (N, C, L)."""

    _nd = 1
    _FLOAT_MODULE: Any = nn.Conv1d
    _kernel: Any = staticmethod(conv1d_array)
    _shape_text = "(N, C, L)"


class Conv2d(_ConvNd):
    """A quantized 2-d convolution: input (N, C, H, W)."""

    _ALSO: tuple = (nni.ConvBn2d,)


class Conv3d(_ConvNd):
    """A quantized 3-d convolution: input (N, C, D, H, W)."""

    _nd = 3
    _FLOAT_MODULE: Any = nn.Conv3d
    _kernel: Any = staticmethod(conv3d_array)
    _shape_text = "(N, C, D, H, W)"
