"""``cr.ao.nn.quantized.dynamic.Linear`` (PyTorch's ``DynamicQuantizedLinear``): a linear
layer with an int8 weight whose input is quantized on every call.

What ``quantize_dynamic`` puts in place of ``nn.Linear``. The weight is quantized once
(``from_float``, with the qconfig's weight observer); each forward quantizes the float32
input to quint8 from its own min and max, multiplies in integers and returns float32
(:mod:`.._linear_kernels` has the arithmetic, which matches PyTorch's bit for bit).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..... import nn
from .....autograd.tensor import Tensor
from .....qtypes import per_channel_affine, per_channel_symmetric, qint8
from .....quantized_creation import quantize_per_channel, quantize_per_tensor
from .._linear_kernels import linear_dynamic_array
from ..linear_packed_params import LinearPackedParams, PackedLinear

__all__ = ["Linear"]


class Linear(PackedLinear, nn.Module):
    """A dynamically quantized linear layer: ``y = x @ W.T + b`` with ``W`` int8 and ``x``
    quantized per call. Build it with :meth:`from_float` (or ``quantize_dynamic``)."""

    _version = 4

    def __init__(
        self, in_features: int, out_features: int, bias_: bool = True, dtype: Any = qint8
    ) -> None:
        super().__init__()
        if dtype is not qint8:
            raise NotImplementedError(
                f"quantized dynamic Linear: dtype {dtype!r} is not supported (chainrule.qint8)"
            )
        self.in_features = in_features
        self.out_features = out_features
        zeros = Tensor._make(np.zeros((out_features, in_features), np.float32), False, None, 0)
        bias = nn.Parameter(Tensor._make(np.zeros(out_features, np.float32), False, None, 0))
        self._packed_params = LinearPackedParams(dtype)
        self._packed_params.set_weight_bias(
            quantize_per_tensor(zeros, 1.0, 0, qint8), bias if bias_ else None
        )
        self.scale = 1.0
        self.zero_point = 0

    def _get_name(self) -> str:
        return "DynamicQuantizedLinear"

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"dtype={self._packed_params.dtype!r}, qscheme={self.weight().qscheme()!r}"
        )

    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "scale"] = Tensor._make(
            np.array(self.scale, np.float32), False, None, 0
        )
        destination[prefix + "zero_point"] = Tensor._make(
            np.array(self.zero_point, np.int64), False, None, 0
        )

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
        own = (prefix + "scale", prefix + "zero_point")
        if own[0] in state_dict:
            self.scale = float(np.asarray(state_dict[own[0]]._data))
        if own[1] in state_dict:
            self.zero_point = int(np.asarray(state_dict[own[1]]._data))
        rest = {k: v for k, v in state_dict.items() if k not in own}
        super()._load_from_state_dict(
            rest, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def forward(self, x: Tensor) -> Tensor:
        """``x @ W.T + b`` with ``x`` (float32, at least 2-d) quantized per call; the
        result is float32 and outside autograd, as PyTorch's."""
        arr = np.asarray(x.detach()._data)
        if arr.dtype != np.float32:
            names = {"float64": "Double", "float16": "Half"}
            raise RuntimeError(
                f"expected scalar type Float but found {names.get(arr.dtype.name, arr.dtype.name)}"
            )
        if arr.ndim < 2:
            raise RuntimeError("The dimension of input tensor should be larger than or equal to 2")
        w = self.weight()
        if w._q_axis is None:
            scale, zp = w.q_scale(), w.q_zero_point()
        else:
            scale, zp = w._q_scale, w._q_zp
        b = self.bias()
        out = linear_dynamic_array(
            arr, w._q_int, scale, zp, None if b is None else np.asarray(b.detach()._data)
        )
        return Tensor._make(out, False, None, 0)

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> Linear:
        """The quantized form of float ``nn.Linear`` ``mod``: its weight quantized with the
        weight observer of ``mod.qconfig`` (PyTorch's default dynamic qconfig if none)."""
        if use_precomputed_fake_quant:
            raise NotImplementedError("from_float: use_precomputed_fake_quant")
        if not isinstance(mod, nn.Linear):
            raise AssertionError(
                f"nnqd.Linear.from_float only works for nn.Linear, got {type(mod).__name__}"
            )
        qconfig = getattr(mod, "qconfig", None)
        if qconfig is None:
            # in here: ao.quantization imports this module (its default mapping)
            from ....quantization.qconfig import default_dynamic_qconfig

            qconfig = default_dynamic_qconfig
        observer = qconfig.weight()
        if observer.dtype is not qint8:
            raise NotImplementedError(
                f"quantized dynamic Linear: weight dtype {observer.dtype!r} is not supported "
                "(chainrule.qint8)"
            )
        weight = mod.weight.detach()
        observer(weight)
        scale, zp = observer.calculate_qparams()
        if observer.qscheme in (per_channel_affine, per_channel_symmetric):
            qweight = quantize_per_channel(
                weight, scale.double(), zp.long(), observer.ch_axis, qint8
            )
        else:
            qweight = quantize_per_tensor(
                weight, float(scale._data.reshape(-1)[0]), int(zp._data.reshape(-1)[0]), qint8
            )
        out = cls(mod.in_features, mod.out_features, dtype=qint8)
        bias = None if mod.bias is None else nn.Parameter(mod.bias.detach().clone())
        out.set_weight_bias(qweight, bias)
        return out
