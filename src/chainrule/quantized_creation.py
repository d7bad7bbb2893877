"""Making quantized tensors: ``cr.quantize_per_tensor``, ``cr.quantize_per_channel`` and
``cr.dequantize`` (PyTorch's functions), with PyTorch's argument checks and errors; the
tensor they make is :class:`~chainrule.quantized_tensor.QuantizedTensor` and the integer
rules are :mod:`.quantized_kernels`."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._user_warnings import warn_once
from .autograd.tensor import Tensor
from .dtype_objects import dtype as dtype_class
from .ops.parser_type_errors import quantize_per_tensor_error
from .qtypes import QDtype, scalar_type_name
from .quantized_kernels import quantize_per_channel_array, quantize_per_tensor_array
from .quantized_tensor import _DEPRECATION, QuantizedTensor, _make

__all__ = ["dequantize", "quantize_per_channel", "quantize_per_tensor"]


def _warn_once() -> None:
    warn_once("quantized tensor creation", _DEPRECATION)


def _float_input(op: str, input: Any, what: str) -> np.ndarray:  # noqa: A002 - torch's name
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if isinstance(input, QuantizedTensor):
        raise NotImplementedError(f"{op}: the input is already quantized; dequantize() it first")
    arr = np.asarray(input.detach()._data)
    if arr.dtype != np.float32:
        raise RuntimeError(f"{what}, got {scalar_type_name(arr.dtype)}")
    return arr


def _qdtype(dtype: Any) -> QDtype:
    if not isinstance(dtype, QDtype):
        raise RuntimeError(f"ScalarType {scalar_type_name(dtype)} is not supported in new_qtensor.")
    return dtype


def _scalar(op: str, value: Any, name: str, kind: type) -> Any:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise RuntimeError(
                f"a Tensor with {value.numel()} elements cannot be converted to Scalar"
            )
        return kind(value.detach()._data.reshape(()).item())
    if kind is int and (not isinstance(value, (int, np.integer)) or isinstance(value, bool)):
        raise TypeError(f"{op}(): argument '{name}' must be int, not {type(value).__name__}")
    if kind is float and not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{op}(): argument '{name}' must be float, not {type(value).__name__}")
    return kind(value)


def _check_zero_point(op: str, zero_point: int, dtype: QDtype) -> None:
    if zero_point > dtype.qmax:
        raise RuntimeError(f"{op} zero_point {zero_point} is above upper bound.")
    if zero_point < dtype.qmin:
        raise RuntimeError(f"{op} zero_point {zero_point} is below lower bound.")


def quantize_per_tensor(input: Any, scale: Any, zero_point: Any, dtype: Any) -> Any:  # noqa: A002
    """``torch.quantize_per_tensor``: ``clamp(round(input / scale) + zero_point)`` stored as
    ``dtype`` (qint8, quint8 or qint32), rounded half to even as PyTorch's kernels. A list of
    tensors with tensors of scales and zero points gives a list."""
    if isinstance(input, (list, tuple)):
        if not (isinstance(scale, Tensor) and isinstance(zero_point, Tensor)):
            raise TypeError(
                "quantize_per_tensor(): a list of tensors needs Tensor scales and zero_points"
            )
        scales, zps = np.asarray(scale._data).ravel(), np.asarray(zero_point._data).ravel()
        return [
            quantize_per_tensor(t, float(s), int(z), dtype)
            for t, s, z in zip(input, scales, zps, strict=False)
        ]
    if not isinstance(dtype, dtype_class) or (
        isinstance(zero_point, Tensor)
        and not isinstance(scale, Tensor)
        and zero_point.dtype.kind not in "iu"
    ):  # PyTorch's parser: a dtype, and an int zero point beside a float scale
        raise quantize_per_tensor_error(input, scale, zero_point, dtype)
    one = scale if isinstance(scale, Tensor) else zero_point
    if isinstance(scale, Tensor) != isinstance(zero_point, Tensor) and one.ndim != 0:
        # PyTorch's parser reads a 0-d tensor beside a number as a number
        raise TypeError(
            "quantize_per_tensor(): scale and zero_point must both be Tensors or both numbers"
        )
    try:
        s = _scalar("quantize_per_tensor", scale, "scale", float)
        z = _scalar("quantize_per_tensor", zero_point, "zero_point", int)
    except TypeError:  # no form fits: PyTorch's parser lists them
        raise quantize_per_tensor_error(input, scale, zero_point, dtype) from None
    arr = _float_input("quantize_per_tensor", input, "Quantize only works on Float Tensor")
    qd = _qdtype(dtype)
    _warn_once()
    _check_zero_point("quantize_tensor_per_tensor_affine", z, qd)
    return _make(quantize_per_tensor_array(arr, s, z, qd), qd, s, z, None)


def quantize_per_channel(
    input: Any,  # noqa: A002 - torch's name
    scales: Any,
    zero_points: Any,
    axis: int,
    dtype: Any,
) -> QuantizedTensor:
    """``torch.quantize_per_channel``: as :func:`quantize_per_tensor` with one scale and zero
    point per index of ``axis`` (scales kept as float64, zero points as int64)."""
    for name, value in (("scales", scales), ("zero_points", zero_points)):
        if not isinstance(value, Tensor):
            pos = 2 if name == "scales" else 3
            raise TypeError(
                f"quantize_per_channel(): argument '{name}' (position {pos}) must be Tensor, "
                f"not {type(value).__name__}"
            )
    s = np.asarray(scales.detach()._data, np.float64).ravel()
    zarr = np.asarray(zero_points.detach()._data)
    if zarr.dtype.kind == "f":
        raise NotImplementedError(
            "quantize_per_channel: float zero_points (per_channel_affine_float_qparams) are "
            "not supported"
        )
    z = zarr.astype(np.int64).ravel()
    qd = _qdtype(dtype)
    arr = _float_input(
        "quantize_per_channel", input, "quantize_tensor_per_channel_affine expects a Float Tensor"
    )
    if not 0 <= axis < arr.ndim:
        raise RuntimeError(
            "Channel axis out of range in per channel affine quantization. Got: "
            f"{axis}Expected: [0, {arr.ndim})"
        )
    if s.size != arr.shape[axis]:
        raise RuntimeError(
            f"length of scales must equal to channel, expected {arr.shape[axis]} got, {s.size}"
        )
    if z.size != s.size:
        raise RuntimeError("number of elements in scales and zero_points must match")
    _warn_once()
    for zp in z:
        _check_zero_point("quantize_tensor_per_channel_affine", int(zp), qd)
    return _make(quantize_per_channel_array(arr, s, z, axis, qd), qd, s, z, int(axis))


def dequantize(tensor: Any = None, *, tensors: Any = None) -> Any:
    """``torch.dequantize``: a quantized tensor's float32 values; a plain tensor converted
    to float32; a list of tensors (``tensors=``, or the list itself), each dequantized."""
    if tensors is not None:
        if tensor is not None:
            raise TypeError("dequantize(): pass either tensor or tensors, not both")
        return [dequantize(t) for t in tensors]
    if isinstance(tensor, (list, tuple)):
        return [dequantize(t) for t in tensor]
    if isinstance(tensor, QuantizedTensor):
        return tensor.dequantize()
    if not isinstance(tensor, Tensor):
        raise TypeError(
            f"dequantize(): argument 'tensor' must be Tensor, not {type(tensor).__name__}"
        )
    return tensor.to(np.float32)
