"""``scatter_reduce``'s value: the reduction computed with NumPy's ``ufunc.at`` (exact, any
dtype), on the GPU with CuPy's ``add.at`` for sum and mean and on the host otherwise, with the
count of contributions per position and the mask of written positions that the derivative
rules (``scatter_reduce.py``, ``scatter_reduce_prod.py``) read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import device_of, errstate, get_array_module, host, to_device
from ..meta.array import MetaArray
from .gather_scatter import _full_index

__all__: list[str] = []  # private helpers of scatter_reduce.py

_UFUNCS = {
    "sum": np.add,
    "mean": np.add,
    "prod": np.multiply,
    "amax": np.maximum,
    "amin": np.minimum,
}
# CuPy's ``add.at`` (an atomic add) has kernels for these dtypes only; its ``multiply.at``
# does not exist and its ``maximum.at``/``minimum.at`` ignore NaN (fmax/fmin), so every
# other reduction is computed on the host (see :func:`_value`)
_GPU_ADD_DTYPES = frozenset(np.dtype(t) for t in ("float16", "float32", "float64", "int32"))


def _identity(reduce: str, dtype: Any) -> Any:
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind in "fV":  # V: bfloat16
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(dtype) if dtype.kind in "iu" else None
    if info is None:  # bool
        return reduce == "amin"
    return info.min if reduce == "amax" else info.max


def _add_counts(count: Any, full: tuple, values: Any) -> None:
    """``count[full] += values`` with repeated positions accumulating, into the int64 array
    ``count`` (``values``: 1 or a bool/int array). CuPy's ``add.at`` has no int64 kernel: it
    counts in int32 there."""
    xp = get_array_module(count)
    if xp is np:
        np.add.at(count, full, values)
        return
    step = xp.zeros(count.shape, np.int32)
    xp.add.at(step, full, values if isinstance(values, int) else values.astype(np.int32))
    count += step


def _value(x: Any, d: int, idx: Any, src: Any, reduce: str, include_self: bool) -> tuple:
    """(result, count of contributions per position, mask of written positions)."""
    xp = get_array_module(x)
    gpu = xp is not np and type(x) is not MetaArray  # meta: the NumPy path on its protocols
    if gpu and (reduce not in ("sum", "mean") or x.dtype not in _GPU_ADD_DTYPES):
        # no exact CuPy kernel for this reduction (see _GPU_ADD_DTYPES): on the host
        dev = device_of(x)
        host_value = _value(host(x), d, host(idx), host(src), reduce, include_self)
        return tuple(to_device(a, dev) for a in host_value)
    if xp is not np:  # an index or source given on the host joins x on the GPU
        idx, src = xp.asarray(idx), xp.asarray(src)
    if not idx.size:  # PyTorch skips its shape checks for an empty index: x, of any shape
        count = xp.full(x.shape, int(include_self), np.int64)
        return x.copy(), count, xp.zeros(x.shape, bool)
    full = _full_index(idx, d)
    part = src[tuple(slice(0, s) for s in idx.shape)]
    written = xp.zeros(x.shape, bool)
    written[full] = True
    count = xp.zeros(x.shape, np.int64)
    _add_counts(count, full, 1)
    out = x.copy()
    if not include_self:
        out[written] = _identity(reduce, x.dtype)
    with errstate(xp, all="ignore"):  # inf * 0, overflow: silent as in PyTorch
        (_UFUNCS[reduce] if xp is np else xp.add).at(out, full, part)  # GPU: sum, mean
    if include_self:
        count += 1
    if reduce == "mean":
        n = xp.maximum(count, 1)
        if x.dtype.kind in "fcV":  # V: bfloat16
            out = out / n
        else:
            out = xp.floor_divide(out, n).astype(x.dtype)
    return out.astype(x.dtype, copy=False), count, written
