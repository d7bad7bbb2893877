"""PyTorch's legacy tensor-type names (``'torch.FloatTensor'``) and their dtypes; used by
``Tensor.type()`` and the legacy constructors in :mod:`chainrule.legacy`."""

from __future__ import annotations

from typing import Any

import numpy as np

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
}
LEGACY_DTYPES = {v: np.dtype(k) for k, v in _NAMES.items()}


def type_name(dtype: Any) -> str:
    """PyTorch's legacy type string for a dtype, e.g. ``'torch.FloatTensor'``."""
    name = _NAMES.get(np.dtype(dtype).name)
    if name is None:
        raise TypeError(f"Tensor.type(): no legacy tensor type for dtype {np.dtype(dtype)}")
    return f"torch.{name}"


def dtype_of_type_name(name: str) -> np.dtype:
    """The dtype of ``'torch.FloatTensor'`` / ``'FloatTensor'`` (or a dtype name)."""
    short = name.split(".")[-1]
    if short in LEGACY_DTYPES:
        return LEGACY_DTYPES[short]
    try:
        return np.dtype(short)
    except TypeError:
        raise ValueError(
            f"Tensor.type(): invalid type {name!r}; expected e.g. "
            f"'torch.FloatTensor' or one of {sorted(LEGACY_DTYPES)}"
        ) from None
