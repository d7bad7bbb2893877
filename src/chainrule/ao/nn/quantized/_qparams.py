"""The output ``scale`` / ``zero_point`` of a statically quantized module: kept as Python
numbers on the module and written to its state dict as 0-d float32 / int64 tensors under
``scale`` and ``zero_point``, as PyTorch's quantized modules do."""

from __future__ import annotations

from typing import Any

import numpy as np

from .... import nn
from ....autograd.tensor import Tensor
from ....quantized_tensor import QuantizedTensor

__all__ = ["QParamsModule", "as_quantized", "qparams_of_observer"]


def _number(value: Any, kind: type) -> Any:
    if isinstance(value, Tensor):
        return kind(np.asarray(value._data).reshape(-1)[0])
    return kind(value)


def qparams_of_observer(observer: Any) -> tuple[float, int]:
    """The (scale, zero point) an output observer calculated, as Python numbers."""
    scale, zero_point = observer.calculate_qparams()
    return _number(scale, float), _number(zero_point, int)


def as_quantized(op: str, x: Any) -> QuantizedTensor:
    """``x`` checked to be a per-tensor quint8 quantized tensor (what the ops take)."""
    if not isinstance(x, QuantizedTensor):
        raise NotImplementedError(
            f"Could not run '{op}' with arguments from the 'CPU' backend: the input is not a "
            "quantized tensor (put a QuantStub before it, or quantize it with "
            "chainrule.quantize_per_tensor)"
        )
    if x._q_axis is not None or x.dtype.name != "quint8":
        raise NotImplementedError(f"{op}: only per-tensor quint8 inputs are supported")
    return x


class QParamsModule(nn.Module):
    """A module with an output ``scale`` and ``zero_point`` in its state dict."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = 1.0
        self.zero_point = 0

    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "scale"] = Tensor._make(
            np.array(self.scale, np.float32), False, None, 0
        )
        destination[prefix + "zero_point"] = Tensor._make(
            np.array(self.zero_point, np.int64), False, None, 0
        )

    def _load_qparams(self, state_dict: dict, prefix: str, missing_keys: list) -> dict:
        """Read ``scale``/``zero_point`` and return the rest of ``state_dict``."""
        for key, kind in (("scale", float), ("zero_point", int)):
            if prefix + key in state_dict:
                setattr(self, key, _number(state_dict[prefix + key], kind))
            else:
                missing_keys.append(prefix + key)
        own = (prefix + "scale", prefix + "zero_point")
        return {k: v for k, v in state_dict.items() if k not in own}

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
        rest = self._load_qparams(state_dict, prefix, missing_keys)
        super()._load_from_state_dict(
            rest, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
