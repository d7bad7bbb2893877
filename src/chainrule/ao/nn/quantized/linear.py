"""``cr.ao.nn.quantized.Linear`` (PyTorch's ``QuantizedLinear``): a statically quantized
linear layer, quint8 in and quint8 out, with an int8 weight (one scale, or one per output
row) and a float32 bias. What ``convert`` puts in place of an observed ``nn.Linear``; the
arithmetic is :func:`._static_kernels.linear_array`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .... import nn
from ....autograd.tensor import Tensor
from ....nn.utils.fusion import fuse_conv_bn_weights, fuse_linear_bn_weights
from ....qtypes import per_channel_affine, per_channel_symmetric, qint8, quint8
from ....quantized_creation import quantize_per_channel, quantize_per_tensor
from ....quantized_tensor import QuantizedTensor, make_per_tensor_quantized
from ..intrinsic import fused as nni
from ._qparams import QParamsModule, as_quantized, qparams_of_observer
from ._static_kernels import linear_array
from .linear_packed_params import LinearPackedParams, PackedLinear

__all__ = ["Linear", "layer_and_weight_observer", "quantize_weight", "weight_qparams"]


def layer_and_weight_observer(cls: type, mod: Any) -> tuple[Any, Any]:
    """For ``cls.from_float(mod)``: the layer holding the weight and the weight observer
    that has seen it. A quantization-aware-training module (one with ``weight_fake_quant``)
    brings its own, trained one (a ``ConvBn`` or ``LinearBn1d`` first gets its batch norm's running
    statistics folded into its weight and bias, in place, as torch does); a float module
    gets a fresh ``qconfig.weight()``. The observer then sees the weight once more."""
    accepted = (cls._FLOAT_MODULE, *cls._ALSO)
    if not (isinstance(mod, accepted) or getattr(type(mod), "_FLOAT_MODULE", None) in accepted):
        raise AssertionError(
            f"nnq.{cls.__name__}.from_float only works for {cls._FLOAT_MODULE.__name__}"
        )
    if getattr(mod, "qconfig", None) is None:
        raise AssertionError("Input float module must have qconfig defined")
    if getattr(mod, "activation_post_process", None) is None:
        raise AssertionError("Input float module must have activation_post_process")
    if hasattr(mod, "weight_fake_quant"):
        if hasattr(mod, "bn"):
            bn = mod.bn
            fold = fuse_linear_bn_weights if isinstance(mod, nn.Linear) else fuse_conv_bn_weights
            mod.weight, mod.bias = fold(
                mod.weight, mod.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
            )
        layer, observer = mod, mod.weight_fake_quant
    else:
        layer = mod[0] if isinstance(mod, nn.Sequential) else mod
        observer = mod.qconfig.weight()
    observer(layer.weight.detach())
    return layer, observer


def quantize_weight(weight: Tensor, observer: Any) -> QuantizedTensor:
    """``weight`` quantized with the qparams ``observer`` (already run on it) calculates:
    per channel along ``observer.ch_axis`` or per tensor, as its qscheme says."""
    if observer.dtype is not qint8:
        raise NotImplementedError(
            f"quantized weight: dtype {observer.dtype!r} is not supported (chainrule.qint8)"
        )
    scale, zp = observer.calculate_qparams()
    if observer.qscheme in (per_channel_affine, per_channel_symmetric):
        return quantize_per_channel(weight, scale.double(), zp.long(), observer.ch_axis, qint8)
    return quantize_per_tensor(
        weight, float(scale._data.reshape(-1)[0]), int(zp._data.reshape(-1)[0]), qint8
    )


def weight_qparams(w: QuantizedTensor) -> tuple[np.ndarray, np.ndarray]:
    """The weight's scales per output channel (float64) and zero points, as arrays."""
    rows = w.shape[0]
    if w._q_axis is None:
        return np.full(rows, w._q_scale, np.float64), np.full(rows, w._q_zp, np.int64)
    if w._q_axis != 0:
        raise NotImplementedError("quantized weight: per-channel axis other than 0")
    return np.asarray(w._q_scale, np.float64), np.asarray(w._q_zp, np.int64)


def _check_symmetric(op: str, zero_points: np.ndarray) -> None:
    if np.any(zero_points != 0):
        raise NotImplementedError(f"{op}: weights with a nonzero zero point")


class Linear(PackedLinear, QParamsModule):
    """``y = x @ W.T + b`` on quantized tensors: ``x`` quint8, ``W`` qint8, the result
    quint8 with this module's ``scale`` and ``zero_point``."""

    _version = 3
    _FLOAT_MODULE: Any = nn.Linear
    _ALSO: tuple = (nni.LinearBn1d,)  # other float modules from_float takes
    _relu = False

    def __init__(
        self, in_features: int, out_features: int, bias_: bool = True, dtype: Any = qint8
    ) -> None:
        super().__init__()
        if dtype is not qint8:
            raise NotImplementedError(
                f"quantized Linear: dtype {dtype!r} is not supported (chainrule.qint8)"
            )
        self.in_features = in_features
        self.out_features = out_features
        zeros = Tensor._make(np.zeros((out_features, in_features), np.float32), False, None, 0)
        bias = Tensor._make(np.zeros(out_features, np.float32), False, None, 0) if bias_ else None
        self._packed_params = LinearPackedParams(dtype)
        self._packed_params.set_weight_bias(quantize_per_tensor(zeros, 1.0, 0, qint8), bias)

    def _get_name(self) -> str:
        return "QuantizedLinear"

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"scale={self.scale}, zero_point={self.zero_point}, "
            f"qscheme={self.weight().qscheme()!r}"
        )

    def forward(self, x: QuantizedTensor) -> QuantizedTensor:
        """The quantized ``x @ W.T + b`` (ReLU-clamped for ``LinearReLU``)."""
        x = as_quantized("quantized::linear", x)
        if x.shape[-1] != self.in_features:
            raise RuntimeError(
                f"quantized::linear: the input's last dimension is {x.shape[-1]}, expected "
                f"{self.in_features}"
            )
        w = self.weight()
        scales, zps = weight_qparams(w)
        _check_symmetric("quantized::linear", zps)
        b = self.bias()
        out = linear_array(
            x._q_int, x._q_scale, x._q_zp, w._q_int, scales,
            None if b is None else np.asarray(b.detach()._data, np.float32),
            self.scale, self.zero_point, self._relu,
        )  # fmt: skip
        return make_per_tensor_quantized(out, quint8, self.scale, self.zero_point)

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> Linear:
        """The quantized form of an observed float ``nn.Linear`` (or fused ``LinearReLU``):
        the weight quantized with ``mod.qconfig.weight``, the output qparams from
        ``mod.activation_post_process``."""
        if use_precomputed_fake_quant:
            raise NotImplementedError("from_float: use_precomputed_fake_quant")
        linear, weight_observer = layer_and_weight_observer(cls, mod)
        qweight = quantize_weight(linear.weight.detach(), weight_observer)
        out = cls(linear.in_features, linear.out_features, dtype=qint8)
        bias = None if linear.bias is None else linear.bias.detach().clone()
        out.set_weight_bias(qweight, bias)
        out.scale, out.zero_point = qparams_of_observer(mod.activation_post_process)
        return out
