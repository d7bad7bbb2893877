"""``torch.from_file``: a 1-D tensor over the raw bytes of a file (resolved lazily at the
root). ``shared=True`` maps the file read-write (created or grown to the size asked for, and
writes to the tensor reach the file); otherwise the file is mapped copy-on-write and must
hold ``size * itemsize`` bytes."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .autograd.tensor import Tensor

__all__ = ["from_file"]


def from_file(
    filename: str,
    shared: bool | None = None,
    size: int | None = 0,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    pin_memory: bool | None = False,
    requires_grad: bool = False,
) -> Tensor:
    """``torch.from_file(filename, shared=None, size=0, *, dtype=None, ...)``: ``size``
    elements of ``dtype`` (default: the default dtype) read from the start of ``filename``.

    Raises:
        TypeError: ``filename`` is not a str, ``shared`` not a bool, ``size`` not an int.
        RuntimeError: the file is missing (without ``shared``), is not a regular file, is
            smaller than ``size * itemsize`` bytes (without ``shared``), or ``size < 0``.
    """
    from . import dtypes
    from .creation_from_data import from_numpy

    op = "from_file"
    if not isinstance(filename, str):
        raise TypeError(
            f"{op}(): argument 'filename' (position 1) must be str, not {type(filename).__name__}"
        )
    if shared is not None and not isinstance(shared, (bool, np.bool_)):
        raise TypeError(
            f"{op}(): argument 'shared' (position 2) must be bool, not {type(shared).__name__}"
        )
    if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer))):
        raise TypeError(
            f"{op}(): argument 'size' (position 3) must be int, not {type(size).__name__}"
        )
    if pin_memory:
        raise RuntimeError(f"{op}: tensors mapped from files cannot be created in pinned memory")
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"{op}: only CPU tensors can be mapped to files")
    np_dtype = dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)
    n = int(size or 0)
    nbytes = n * np_dtype.itemsize
    if n < 0:
        raise RuntimeError(
            f"unable to mmap {nbytes} bytes from file <{filename}>: size is negative"
        )
    shared = bool(shared)
    if not os.path.exists(filename) and not shared:
        raise RuntimeError(
            f"unable to open file <{filename}> in read-only mode: No such file or directory (2)"
        )
    if os.path.exists(filename) and not os.path.isfile(filename):
        raise RuntimeError(
            f"unable to mmap {nbytes} bytes from file <{filename}>: not a regular file"
        )
    if shared:
        with open(filename, "ab"):
            pass  # created if missing
        if os.path.getsize(filename) < nbytes:
            os.truncate(filename, nbytes)  # grown with zeros, as PyTorch's shared mapping
    have = os.path.getsize(filename)
    if have < nbytes:
        raise RuntimeError(
            f"file <{filename}> size <{have}> is smaller than the required mapping size <{nbytes}>"
        )
    if n == 0:
        arr = np.empty(0, dtype=np_dtype)
    else:
        arr = np.memmap(filename, dtype=np_dtype, mode="r+" if shared else "c", shape=(n,))
    t = from_numpy(arr) if arr.dtype.kind in "biufc" else Tensor(arr)
    if requires_grad:
        t._requires_grad_(True)
    return t
