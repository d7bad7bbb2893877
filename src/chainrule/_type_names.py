"""PyTorch's legacy tensor-type names (``'torch.FloatTensor'``) and their dtypes; used by
``Tensor.type()`` and the legacy constructors in :mod:`chainrule.legacy`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .dtypes import bfloat16_dtype
from .float8 import FLOAT8_NAMES, float8_dtype

__all__ = ["LEGACY_DTYPES", "dtype_of_type_name", "type_name"]

_NAMES = {
    "float32": "FloatTensor",
    "float64": "DoubleTensor",
    "float16": "HalfTensor",
    "int64": "LongTensor",
    "int32": "IntTensor",
    "int16": "ShortTensor",
    "int8": "CharTensor",
    "uint8": "ByteTensor",
    "bool": "BoolTensor",
    "bfloat16": "BFloat16Tensor",  # ml_dtypes' dtype, named without importing it
}


# Types PyTorch names (``x.type()``, ``x.type('torch.ComplexFloatTensor')``) that have no
# legacy constructor (there is no ``torch.ComplexFloatTensor``): kept out of LEGACY_DTYPES.
_TYPE_ONLY = {
    "complex64": "ComplexFloatTensor",
    "complex128": "ComplexDoubleTensor",
    "uint16": "UInt16Tensor",
    "uint32": "UInt32Tensor",
    "uint64": "UInt64Tensor",
}
_TYPE_ONLY_DTYPES = {v: np.dtype(k) for k, v in _TYPE_ONLY.items()}


class _LegacyDtypes(dict):
    """Legacy type name -> dtype; ``'BFloat16Tensor'`` is looked up on first use (its dtype
    needs ml_dtypes, which is slow to import) and is not listed before that."""

    def __missing__(self, key: str) -> np.dtype:
        if key != "BFloat16Tensor":
            raise KeyError(key)
        return bfloat16_dtype()


LEGACY_DTYPES = _LegacyDtypes({v: np.dtype(k) for k, v in _NAMES.items() if k != "bfloat16"})


def type_name(dtype: Any) -> str:
    """PyTorch's legacy type string for a dtype, e.g. ``'torch.FloatTensor'``."""
    key = np.dtype(dtype).name  # bfloat16's name is "bfloat16" too
    name = _NAMES.get(key) or _TYPE_ONLY.get(key)
    if name is None and key in FLOAT8_NAMES:  # PyTorch's 'torch.Float8_e4m3fnTensor'
        name = FLOAT8_NAMES[key] + "Tensor"
    if name is None:
        raise TypeError(f"Tensor.type(): no legacy tensor type for dtype {np.dtype(dtype)}")
    return f"torch.{name}"


def dtype_of_type_name(name: str) -> np.dtype:
    """The dtype of ``'torch.FloatTensor'`` / ``'FloatTensor'`` (or a dtype name)."""
    short = name.split(".")[-1]
    if short in LEGACY_DTYPES:
        return LEGACY_DTYPES[short]
    if short in _TYPE_ONLY_DTYPES:
        return _TYPE_ONLY_DTYPES[short]
    if short in ("BFloat16Tensor", "bfloat16"):
        return bfloat16_dtype()
    for key, scalar in FLOAT8_NAMES.items():
        if short in (key, scalar + "Tensor"):
            return float8_dtype(key)
    try:
        return np.dtype(short)
    except TypeError:
        raise ValueError(
            f"Tensor.type(): invalid type {name!r}; expected e.g. "
            f"'torch.FloatTensor' or one of {sorted(LEGACY_DTYPES)}"
        ) from None
