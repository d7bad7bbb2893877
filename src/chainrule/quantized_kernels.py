"""The array rules behind quantized tensors: float32 -> integers and back, bit for bit as
PyTorch's CPU kernels (x86/fbgemm engine) compute them, found by experiment against torch.

Quantizing ``x`` with ``scale`` and ``zero_point`` to ``[qmin, qmax]``:

- per tensor, 8-bit (qint8, quint8): ``q = rint(fma(x, 1/scale, zero_point))`` in float32,
  with ``1/scale`` a float32 division of the float32 scale and ``fma`` one rounding of the
  exact ``x * inv + zp`` (computed here in float64, where the product is exact); halves go
  to even, NaN to ``qmax``, the rest clamped.
- per tensor, qint32, and per channel (all dtypes): ``q = rint(float32(zp) + x * inv)``,
  each step rounded to float32; clamped; NaN gives INT_MIN for qint32, and 0 for 8-bit per
  channel.

Dequantizing: per tensor ``float32(q - zero_point) * float32(scale)`` (the difference wraps
in int32 for qint32); per channel ``float32((float32(q) - float32(zero_point)) * scale)``
with a float64 product.
"""

from __future__ import annotations

import numpy as np

from .qtypes import QDtype, qint32

__all__ = ["dequantize_array", "quantize_per_channel_array", "quantize_per_tensor_array"]

_F32 = np.float32


def _finish(v: np.ndarray, dtype: QDtype, nan_value: int) -> np.ndarray:
    """Round half to even, put NaN at ``nan_value``, clamp to the dtype's range."""
    # an array even for a 0-d ``v`` (numpy's ufuncs return a scalar there, which the NaN
    # assignment below cannot write into)
    r = np.asarray(np.rint(v), dtype=np.float64)
    nan = np.isnan(r)
    r = np.asarray(np.clip(r, dtype.qmin, dtype.qmax))
    r[nan] = nan_value
    return r.astype(dtype.storage)


def quantize_per_tensor_array(
    x: np.ndarray, scale: float, zero_point: int, dtype: QDtype
) -> np.ndarray:
    """The integers of ``x`` (float32) quantized with one scale and zero point."""
    with np.errstate(all="ignore"):
        inv = _F32(1) / _F32(scale)
        if dtype is qint32:
            v = _F32(zero_point) + x * inv
            return _finish(v, dtype, dtype.qmin)
        v = (x.astype(np.float64) * np.float64(inv) + zero_point).astype(_F32)
        return _finish(v, dtype, dtype.qmax)


def quantize_per_channel_array(
    x: np.ndarray, scales: np.ndarray, zero_points: np.ndarray, axis: int, dtype: QDtype
) -> np.ndarray:
    """The integers of ``x`` (float32) quantized with a scale and zero point per index of
    ``axis``."""
    shape = [1] * x.ndim
    shape[axis] = -1
    with np.errstate(all="ignore"):
        inv = (_F32(1) / scales.astype(_F32)).reshape(shape)
        v = zero_points.astype(_F32).reshape(shape) + x * inv
        return _finish(v, dtype, dtype.qmin if dtype is qint32 else 0)


def dequantize_array(
    q: np.ndarray, scale: np.ndarray | float, zero_point: np.ndarray | int, axis: int | None
) -> np.ndarray:
    """The float32 values of integers ``q``: ``float32(q - zero_point) * float32(scale)``,
    the scale and zero point given per index of ``axis`` when ``axis`` is not None."""
    scale = np.asarray(scale, np.float64)
    if axis is not None:  # per channel: a float64 product, rounded once to float32
        shape = [1] * q.ndim
        shape[axis] = -1
        zero_point = np.asarray(zero_point, np.int64).reshape(shape)
        with np.errstate(all="ignore"):
            diff = (q.astype(_F32) - zero_point.astype(_F32)).astype(np.float64)
            return (diff * scale.reshape(shape)).astype(_F32)
    # per tensor: the difference in the storage's integer type (int32 wraps for qint32, as
    # PyTorch's), then a float32 product
    wide = np.int32 if q.dtype == np.int32 else np.int64
    with np.errstate(all="ignore"):
        diff = q.astype(wide) - wide(zero_point)
        return diff.astype(_F32) * scale.astype(_F32)
