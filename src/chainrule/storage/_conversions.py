"""The legacy dtype conversions of storages (``s.float()``, ``s.long()``, ...), shared by
:class:`~chainrule.storage.UntypedStorage` and :class:`~chainrule.storage.TypedStorage`.

Each returns a ``TypedStorage`` of that dtype holding the storage's values converted (an
``UntypedStorage``'s values are its bytes, read as unsigned integers), as PyTorch does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dtypes import bfloat16_dtype

__all__ = ["StorageConversions"]


class StorageConversions:
    """Mixin: one method per legacy storage type; the class provides ``_converted(dtype)``."""

    __slots__ = ()

    def _converted(self, dtype: np.dtype) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def byte(self) -> Any:
        """A ``TypedStorage`` of uint8 values."""
        return self._converted(np.dtype(np.uint8))

    def char(self) -> Any:
        """A ``TypedStorage`` of int8 values."""
        return self._converted(np.dtype(np.int8))

    def short(self) -> Any:
        """A ``TypedStorage`` of int16 values."""
        return self._converted(np.dtype(np.int16))

    def int(self) -> Any:
        """A ``TypedStorage`` of int32 values."""
        return self._converted(np.dtype(np.int32))

    def long(self) -> Any:
        """A ``TypedStorage`` of int64 values."""
        return self._converted(np.dtype(np.int64))

    def half(self) -> Any:
        """A ``TypedStorage`` of float16 values."""
        return self._converted(np.dtype(np.float16))

    def float(self) -> Any:
        """A ``TypedStorage`` of float32 values."""
        return self._converted(np.dtype(np.float32))

    def double(self) -> Any:
        """A ``TypedStorage`` of float64 values."""
        return self._converted(np.dtype(np.float64))

    def bool(self) -> Any:
        """A ``TypedStorage`` of bool values."""
        return self._converted(np.dtype(np.bool_))

    def bfloat16(self) -> Any:
        """A ``TypedStorage`` of bfloat16 values (needs ml_dtypes)."""
        return self._converted(bfloat16_dtype())

    def complex_float(self) -> Any:
        """A ``TypedStorage`` of complex64 values."""
        return self._converted(np.dtype(np.complex64))

    def complex_double(self) -> Any:
        """A ``TypedStorage`` of complex128 values."""
        return self._converted(np.dtype(np.complex128))
