"""Helpers shared by the storage classes: index checks, PyTorch's storage ``repr``, byte
values of a sequence, reading elements from a buffer (``from_buffer``)."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor

__all__ = [
    "buffer_elements",
    "byte_values",
    "format_storage",
    "storage_index",
    "unit_slice",
    "writable",
]

_BYTE_ORDERS = {"big": ">", "little": "<", "native": "="}


def storage_index(index: Any, n: int, kind: str, error: type = TypeError) -> int:
    """``index`` as a position in ``[0, n)`` (negative counts from the end), as PyTorch;
    ``error`` is raised for an index that is not an integer."""
    if isinstance(index, bool) or not hasattr(index, "__index__"):
        raise error(f"can't index a {kind} with {type(index).__name__}")
    i = operator.index(index)
    j = i + n if i < 0 else i
    if not 0 <= j < n:
        raise IndexError(f"index {j} out of range for storage of size {n}")
    return j


def format_storage(values: list, header: str) -> str:
    """PyTorch's storage ``repr``: one value a line, each after a space, then the header."""
    return " " + "\n ".join(str(v) for v in values) + f"\n[{header}]"


def buffer_elements(
    buffer: Any, byte_order: str | None, dtype: np.dtype, count: int, offset: int
) -> np.ndarray:
    """A copy of ``count`` elements of ``dtype`` (all when -1) read from ``buffer`` starting
    ``offset`` bytes in, in ``byte_order`` (``from_buffer`` of both storage classes)."""
    if dtype.itemsize > 1 and byte_order is None:
        raise RuntimeError(
            f"from_buffer: byte_order is required for dtype {dtype} (elements of "
            f"{dtype.itemsize} bytes): pass 'little', 'big' or 'native'"
        )
    order = _BYTE_ORDERS.get(byte_order or "native")
    if order is None:
        raise ValueError(
            f"invalid byte_order {byte_order!r} (expected 'big', 'little', or 'native')"
        )
    raw = memoryview(buffer).cast("B")
    size = raw.nbytes
    if not 0 <= offset <= size:
        raise ValueError(
            f"from_buffer: offset must be non-negative and no greater than the buffer's "
            f"length ({size}), got {offset}"
        )
    if count < 0:
        if (size - offset) % dtype.itemsize:
            raise ValueError(
                f"buffer size ({size - offset}) must be a multiple of element size "
                f"({dtype.itemsize})"
            )
        count = (size - offset) // dtype.itemsize
    elif offset + count * dtype.itemsize > size:
        raise ValueError(
            f"from_buffer: {count} elements of {dtype.itemsize} bytes from offset {offset} "
            f"reach past the end of a buffer of {size} bytes"
        )
    got = np.frombuffer(raw, dtype=dtype.newbyteorder(order), count=count, offset=offset)
    return got.astype(dtype)


def byte_values(seq: Any) -> list[int]:
    """The items of ``seq`` as byte values, each checked to be an ``int``."""
    if isinstance(seq, Tensor) or not hasattr(seq, "__len__"):
        raise RuntimeError(
            f"UntypedStorage(): Expected a sequence type, but got {type(seq).__name__}"
        )
    values = list(seq)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise RuntimeError(
                f"UntypedStorage(): tried to construct a storage from a sequence "
                f"({type(seq).__name__}), but one of the items was of type "
                f"{type(v).__name__} instead of int"
            )
    return [int(v) & 0xFF for v in values]


def unit_slice(index: slice) -> slice:
    """``index`` checked to have step 1 (storages slice contiguous byte ranges only)."""
    if index.step not in (None, 1):
        raise RuntimeError(
            f"Trying to slice with a step of {index.step}, but only a step of 1 is supported"
        )
    return index


def writable(data: Any, op: str) -> None:
    if not getattr(data.flags, "writeable", True):
        raise RuntimeError(f"{op}: the storage's memory is read-only (a bytes object or a view)")
