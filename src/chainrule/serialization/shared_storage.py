"""Where an array lies in the memory it shares: one storage, an offset and strides.

``torch.save`` writes every storage once, whole, and each tensor as (storage, offset, size,
stride), so that tensors viewing one another load back as views of one storage. chainrule's
tensors wrap NumPy (or CuPy) arrays whose views all lead to one root array owning the memory
(:func:`chainrule._memory.root_array`); :func:`locate` turns an array into that root's whole
block of memory as a flat array plus the array's offset and strides in elements, which is
exactly ``torch.save``'s description. Views that this cannot describe (negative strides, a
dtype other than the root's, an address or stride that is not a whole number of elements, a
root over a foreign buffer with gaps) get ``None``: the caller stores a contiguous copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layout import contiguous_strides
from .._memory import root_array
from ..storage._memory import block_bytes

__all__ = ["Located", "address", "locate"]


class Located:
    """An array described as a view of its root's memory.

    Attributes:
        root: the array owning the memory (its ``id`` names the storage while it is alive).
        flat: the root's whole memory as a 1-d array of the root's dtype (a view, no copy).
        offset: the array's first element, counted in elements from ``flat``'s start.
        stride: the array's strides in elements, all non-negative.
    """

    __slots__ = ("flat", "offset", "root", "stride")

    def __init__(self, root: Any, flat: Any, offset: int, stride: tuple[int, ...]) -> None:
        self.root = root
        self.flat = flat
        self.offset = offset
        self.stride = stride


def address(arr: Any) -> int:
    """The address of ``arr``'s first element (host or device memory)."""
    if isinstance(arr, np.ndarray):
        return int(arr.__array_interface__["data"][0])
    return int(arr.__cuda_array_interface__["data"][0])  # CuPy


def locate(arr: Any) -> Located | None:
    """``arr`` as (its root's flat memory, offset, strides in elements), or ``None`` when it
    cannot be described so and must be stored as a copy.

    The strides of axes of length 1 (and of every axis of an empty array) address nothing,
    so a NumPy stride there that is negative or not a whole number of elements is replaced
    by the C-contiguous one (so is an empty array's zero stride: NumPy gives ``np.empty(0)``
    stride 0, torch ``torch.empty(0)`` stride 1); an empty array keeps its offset when it lies
    within the root
    (``torch.save`` of ``x[1:1]`` writes ``x``'s storage with offset ``4`` for a 3x4 ``x``).
    """
    root = root_array(arr)
    if arr.dtype != root.dtype:
        return None
    try:
        block = block_bytes(root, "cr.save")
    except NotImplementedError:  # a root over a foreign buffer with gaps: store a copy
        return None
    item = int(arr.dtype.itemsize)
    delta = address(arr) - address(block) if block.size else 0
    if delta < 0 or delta % item:
        return None
    shape = tuple(int(n) for n in arr.shape)
    empty = 0 in shape
    fallback = contiguous_strides(shape)
    stride = []
    for n, s, c in zip(shape, arr.strides, fallback):
        if s >= 0 and s % item == 0 and not (empty and s == 0):
            stride.append(s // item)
        elif n <= 1 or empty:
            stride.append(c)
        else:
            return None
    numel = int(block.size) // item
    offset = delta // item
    if empty:
        if offset > numel:
            return None
    elif offset + sum((n - 1) * s for n, s in zip(shape, stride)) >= numel:
        return None
    return Located(root, block.view(arr.dtype), offset, tuple(stride))
