"""``LinearPackedParams``: the module holding a quantized linear layer's weight and bias.

PyTorch keeps them in a child module ``_packed_params`` (prepacked for its GEMM library);
its state dict holds ``dtype`` and the ``(weight, bias)`` tuple, which is what
``model.state_dict()`` of a quantized model shows and what ``load_state_dict`` reads back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .... import nn
from ....autograd.tensor import Tensor
from ....qtypes import QDtype, qint8
from ....quantized_creation import quantize_per_tensor
from ....quantized_tensor import QuantizedTensor

__all__ = ["LinearPackedParams", "PackedLinear"]


def _OWN_KEYS(prefix: str) -> tuple[str, str]:  # noqa: N802 - reads as the constant it is
    return (prefix + "dtype", prefix + "_packed_params")


class LinearPackedParams(nn.Module):
    """The (quantized weight, float bias) pair of a quantized linear layer."""

    _version = 3

    def __init__(self, dtype: Any = qint8) -> None:
        super().__init__()
        if not isinstance(dtype, QDtype) or dtype is not qint8:
            raise NotImplementedError(
                f"LinearPackedParams: dtype {dtype!r} is not supported (chainrule.qint8)"
            )
        self.dtype = dtype
        weight = quantize_per_tensor(
            Tensor._make(np.zeros((1, 1), np.float32), False, None, 0), 1.0, 0, qint8
        )
        self.set_weight_bias(weight, None)

    def set_weight_bias(self, weight: QuantizedTensor, bias: Tensor | None) -> None:
        if not isinstance(weight, QuantizedTensor) or weight.dtype is not qint8:
            raise RuntimeError("LinearPackedParams: the weight must be a qint8 quantized tensor")
        self._weight_bias = (weight, bias)

    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "dtype"] = self.dtype
        destination[prefix + "_packed_params"] = self._weight_bias

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
        for key in ("dtype", "_packed_params"):
            if prefix + key not in state_dict:
                missing_keys.append(prefix + key)
        if prefix + "dtype" in state_dict:
            self.dtype = state_dict[prefix + "dtype"]
        if prefix + "_packed_params" in state_dict:
            weight, bias = state_dict[prefix + "_packed_params"]
            self.set_weight_bias(weight, bias)
        own = {k: v for k, v in state_dict.items() if k not in _OWN_KEYS(prefix)}
        super()._load_from_state_dict(
            own, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return repr(self._weight_bias)


class PackedLinear:
    """What the quantized Linear modules (static and dynamic) share: their weight and bias
    live in ``_packed_params`` (as torch's), read by ``weight()``/``bias()``, and they print
    on one line, ``QuantizedLinear(in_features=..., ...)``."""

    _packed_params: LinearPackedParams

    def __repr__(self) -> str:
        return f"{self._get_name()}({self.extra_repr()})"

    def weight(self) -> QuantizedTensor:
        return self._packed_params._weight_bias[0]

    def bias(self) -> Tensor | None:
        return self._packed_params._weight_bias[1]

    def set_weight_bias(self, w: QuantizedTensor, b: Tensor | None) -> None:
        self._packed_params.set_weight_bias(w, b)
