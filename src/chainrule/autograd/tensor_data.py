"""User data (lists, NumPy arrays, DLPack objects, Tensors) to the array a new Tensor holds,
with PyTorch's default dtypes: floats become the default dtype, integers int64, NumPy data
keeps its dtype. ``TensorConversions`` is the mixin every Tensor has: testing for it finds
Tensors without importing ``tensor.py``, which imports this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..backend import get_array_module
from .ieee import rerun_quietly
from .tensor_conversions import TensorConversions

__all__ = ["to_array"]


def to_array(data: Any, dtype: Any) -> Any:
    """Convert user data to an array with PyTorch's default dtypes (a value out of the
    dtype's range becomes inf silently, as in PyTorch: see ``ieee.py``)."""
    try:
        return _to_array(data, dtype)
    except RuntimeWarning as w:
        return rerun_quietly(w, _to_array, data, dtype)


def _to_array(data: Any, dtype: Any) -> Any:
    d = None if dtype is None else _dt.as_dtype(dtype)
    if isinstance(data, TensorConversions):
        arr = data._data.copy()
        return arr if d is None else arr.astype(d)
    xp = get_array_module(data)
    if xp is not np:
        return data if d is None else data.astype(d)
    if isinstance(data, (np.ndarray, np.generic)):  # NumPy data keeps its dtype (as torch)
        arr = np.array(data, copy=True)
        return arr if d is None else arr.astype(d, copy=False)
    if hasattr(data, "__dlpack__") and not isinstance(data, (list, tuple)):
        arr = np.array(np.from_dlpack(data), copy=True)
        return arr if d is None else arr.astype(d, copy=False)
    try:
        arr = np.asarray(unwrap_nested(data), dtype=d)
    except ValueError as err:
        if isinstance(data, (list, tuple)):
            raise ValueError(
                f"tensor(): expected a rectangular nested sequence (every row of "
                f"the same length), got ragged data: {err}"
            ) from None
        raise
    if d is None:
        if arr.dtype.kind == "f":
            arr = arr.astype(_dt.get_default_dtype(), copy=False)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(_dt.int64, copy=False)
        elif arr.dtype.kind == "c":  # Python complex numbers: complex64 by default (torch)
            arr = arr.astype(_dt.get_default_complex_dtype(), copy=False)
        elif arr.dtype.kind not in "bc":
            raise TypeError(
                f"tensor(): cannot make a tensor from {type(data).__name__} "
                f"(NumPy inferred dtype {arr.dtype})"
            )
        return arr
    return arr


def unwrap_nested(data: Any) -> Any:
    if isinstance(data, TensorConversions):
        return data._data
    if isinstance(data, (list, tuple)) and any(
        isinstance(x, (TensorConversions, list, tuple)) for x in data
    ):
        return [unwrap_nested(x) for x in data]
    return data
