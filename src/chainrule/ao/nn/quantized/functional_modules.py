"""``FloatFunctional`` and ``QFunctional`` (``torch.ao.nn.quantized``): elementwise ops
(``add``, ``add_relu``, ``mul``, ``cat``, ``add_scalar``, ``mul_scalar``) written as module
methods so that static quantization can observe their outputs (the float form calls its
``activation_post_process``, an ``Identity`` until ``prepare`` puts an observer there) and
``convert`` can swap in the quantized form, which computes with the calibrated ``scale``
and ``zero_point`` (:mod:`._static_kernels` has the arithmetic)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .... import nn
from ....autograd.tensor import Tensor
from ....ops.joining import cat as _cat
from ....qtypes import quint8
from ....quantized_creation import dequantize
from ....quantized_tensor import QuantizedTensor, make_per_tensor_quantized
from ._qparams import QParamsModule, as_quantized, qparams_of_observer
from ._static_kernels import add_array, quantize_float

__all__ = ["FXFloatFunctional", "FloatFunctional", "QFunctional"]


def functional_forward_error(name: str) -> RuntimeError:
    """The error ``forward`` of the functional modules raises, as PyTorch's."""
    return RuntimeError(
        f"{name} is not intended to use the 'forward'. Please use the underlying operation"
    )


class FloatFunctional(nn.Module):
    """Float elementwise ops whose results pass through ``activation_post_process``."""

    def __init__(self) -> None:
        super().__init__()
        self.activation_post_process = nn.Identity()

    def forward(self, x: Any) -> Any:
        raise functional_forward_error("FloatFunctional")

    def add(self, x: Tensor, y: Tensor) -> Tensor:
        return self.activation_post_process(x + y)

    def add_scalar(self, x: Tensor, y: float) -> Tensor:
        # not observed: the quantized op chooses its own qparams
        return x + y

    def mul(self, x: Tensor, y: Tensor) -> Tensor:
        return self.activation_post_process(x * y)

    def mul_scalar(self, x: Tensor, y: float) -> Tensor:
        return x * y

    def cat(self, x: list, dim: int = 0) -> Tensor:
        return self.activation_post_process(_cat(x, dim=dim))

    def add_relu(self, x: Tensor, y: Tensor) -> Tensor:
        return self.activation_post_process(nn.functional.relu(x + y))

    def matmul(self, x: Tensor, y: Tensor) -> Tensor:
        return self.activation_post_process(x @ y)


class FXFloatFunctional(nn.Module):
    """``FloatFunctional`` for FX graph mode: the same ops, never observed."""

    def forward(self, x: Any) -> Any:
        raise functional_forward_error("FloatFunctional")

    def add(self, x: Tensor, y: Tensor) -> Tensor:
        return x + y

    def add_scalar(self, x: Tensor, y: float) -> Tensor:
        return x + y

    def mul(self, x: Tensor, y: Tensor) -> Tensor:
        return x * y

    def mul_scalar(self, x: Tensor, y: float) -> Tensor:
        return x * y

    def cat(self, x: list, dim: int = 0) -> Tensor:
        return _cat(x, dim=dim)

    def add_relu(self, x: Tensor, y: Tensor) -> Tensor:
        return nn.functional.relu(x + y)

    def matmul(self, x: Tensor, y: Tensor) -> Tensor:
        return x @ y


def _same_shape(op: str, x: QuantizedTensor, y: QuantizedTensor) -> None:
    if x.shape != y.shape:
        raise NotImplementedError(f"{op}: broadcasting quantized tensors ({x.shape} and {y.shape})")


class QFunctional(QParamsModule):
    """The quantized ops of ``FloatFunctional``, each giving a quint8 result with this
    module's ``scale`` and ``zero_point`` (``add_scalar``/``mul_scalar`` choose their own)."""

    def __init__(self) -> None:
        super().__init__()
        self.activation_post_process = nn.Identity()

    def _get_name(self) -> str:
        return "QFunctional"

    def extra_repr(self) -> str:
        return f"scale={self.scale}, zero_point={self.zero_point}"

    def forward(self, x: Any) -> Any:
        raise functional_forward_error("Functional")

    def _out(self, q: np.ndarray, like: QuantizedTensor) -> QuantizedTensor:
        """The result, laid out (for torch) as the first input."""
        return make_per_tensor_quantized(q, quint8, self.scale, self.zero_point, like._q_cl)

    def _add(self, op: str, x: Any, y: Any, relu: bool) -> QuantizedTensor:
        x, y = as_quantized(op, x), as_quantized(op, y)
        _same_shape(op, x, y)
        return self._out(
            add_array(
                x._q_int,
                x._q_scale,
                x._q_zp,
                y._q_int,
                y._q_scale,
                y._q_zp,
                self.scale,
                self.zero_point,
                relu,
            ),  # fmt: skip
            x,
        )

    def add(self, x: QuantizedTensor, y: QuantizedTensor) -> QuantizedTensor:
        return self._add("quantized::add", x, y, False)

    def add_relu(self, x: QuantizedTensor, y: QuantizedTensor) -> QuantizedTensor:
        return self._add("quantized::add_relu", x, y, True)

    def mul(self, x: QuantizedTensor, y: QuantizedTensor) -> QuantizedTensor:
        x, y = as_quantized("quantized::mul", x), as_quantized("quantized::mul", y)
        _same_shape("quantized::mul", x, y)
        with np.errstate(all="ignore"):
            v = (dequantize(x)._data * dequantize(y)._data).astype(np.float32)
        return self._out(quantize_float(v, self.scale, self.zero_point), x)

    def cat(self, x: list, dim: int = 0) -> QuantizedTensor:
        parts = [as_quantized("quantized::cat", t) for t in x]
        v = np.concatenate([dequantize(t)._data for t in parts], axis=dim)
        return self._out(quantize_float(v, self.scale, self.zero_point), parts[0])

    def add_scalar(self, x: QuantizedTensor, y: float) -> QuantizedTensor:
        """``x + y`` by moving the zero point (the integers and the scale are kept)."""
        x = as_quantized("quantized::add_scalar", x)
        zp = int(np.rint(x._q_zp - float(y) / x._q_scale))
        if not 0 <= zp <= 255:
            raise NotImplementedError(
                "quantized::add_scalar: a scalar that moves the zero point out of [0, 255] "
                "(PyTorch requantizes to a new range there)"
            )
        return make_per_tensor_quantized(x._q_int, quint8, x._q_scale, zp)

    def mul_scalar(self, x: QuantizedTensor, y: float) -> QuantizedTensor:
        """``x * y`` by scaling the scale (a negative ``y`` mirrors the integers)."""
        x = as_quantized("quantized::mul_scalar", x)
        y = float(y)
        if y == 0:
            raise NotImplementedError("quantized::mul_scalar: multiplying by 0")
        if y > 0:
            return make_per_tensor_quantized(x._q_int, quint8, x._q_scale * y, x._q_zp)
        return make_per_tensor_quantized(255 - x._q_int, quint8, x._q_scale * -y, 255 - x._q_zp)

    def matmul(self, x: Any, y: Any) -> Any:
        raise NotImplementedError("QFunctional.matmul (quantized::matmul) is not supported")

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> QFunctional:
        """A ``QFunctional`` with the qparams the ``FloatFunctional``'s observer chose."""
        if use_precomputed_fake_quant:
            raise NotImplementedError("from_float: use_precomputed_fake_quant")
        if type(mod) is not FloatFunctional:
            raise AssertionError("QFunctional.from_float expects an instance of FloatFunctional")
        out = cls()
        out.scale, out.zero_point = qparams_of_observer(mod.activation_post_process)
        return out
