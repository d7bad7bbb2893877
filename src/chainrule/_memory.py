"""The array that holds a tensor's memory: one walk of NumPy's (or CuPy's) ``base`` chain
shared by ``storage_offset``, the storages (``storage/``) and shared memory
(``multiprocessing/``)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["is_array", "root_array"]


def is_array(obj: Any) -> bool:
    """Whether ``obj`` is a NumPy or CuPy array."""
    return isinstance(obj, np.ndarray) or type(obj).__name__ == "ndarray"


def root_array(arr: Any) -> Any:
    """The last array in ``arr``'s chain of ``base`` objects: the array that owns the memory,
    or the one laid directly over a foreign buffer (``bytes``, ``mmap``, a shared segment).
    Non-array links (the helper object of ``as_strided``) are walked through."""
    last = cur = arr
    while True:
        base = getattr(cur, "base", None)
        if base is None:
            return last
        cur = base
        if is_array(cur):
            last = cur
