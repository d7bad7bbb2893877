"""The memory block behind a tensor, as chainrule's storages see it.

A chainrule tensor wraps a NumPy (or CuPy) array; its views are views of one root array that
owns the memory (or wraps a foreign buffer: ``bytes``, an ``mmap``, a shared segment). A
storage is that whole block as a flat ``uint8`` array: :func:`block_bytes` finds it from any
view. The storage of a view is therefore its base's, with the same address and size, as in
PyTorch.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .._memory import root_array
from ..backend import get_array_module

__all__ = ["block_bytes", "in_shared_segment", "root_array"]


def block_bytes(arr: Any, op: str = "untyped_storage") -> Any:
    """The whole memory block holding ``arr`` as a flat ``uint8`` array (a view, never a copy).

    Raises:
        NotImplementedError: the block is not one dense run of bytes (an array laid over a
            foreign buffer with gaps between its elements).
    """
    root = root_array(arr)
    if root.ndim == 0:
        root = root.reshape(1)
    # Axes ordered by decreasing stride: a dense block in any axis order becomes C-ordered.
    order = sorted(range(root.ndim), key=lambda i: -abs(root.strides[i]))
    dense = get_array_module(root).transpose(root, order)
    if not dense.flags.c_contiguous:
        raise NotImplementedError(
            f"{op}: the tensor's memory is not one contiguous block (an array over a foreign "
            f"buffer with strides {root.strides}); chainrule cannot describe it as a storage"
        )
    return dense.reshape(-1).view(np.uint8)


def in_shared_segment(arr: Any) -> bool:
    """Whether ``arr`` lies in a shared-memory segment of :mod:`chainrule.multiprocessing`.

    Only that module allocates such segments, so when it was never imported nothing can be
    in one; it is looked up in ``sys.modules`` rather than imported, because importing it
    registers pickling reducers for tensors (a side effect a storage query must not have).
    """
    segments = sys.modules.get("chainrule.multiprocessing._segments")
    if segments is None or not isinstance(arr, np.ndarray):
        return False
    return segments.segment_of(root_array(arr)) is not None
