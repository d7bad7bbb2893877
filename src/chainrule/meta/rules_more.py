"""More shape rules for ``np.*`` functions on meta arrays (session 41): sorting, ``take``,
``clip``, ``tril``/``triu``, the scans, ``pad``, ``roll``, ``tile``, ``repeat`` by a
sequence, ``nan_to_num``, ``ravel``.

Without a rule these ran on the zero-stride views (``array._fallback``), which is free for a
view but computes a new full-size array of zeros for each of them (session 40's sweep). Each
rule here gives the result's shape and dtype from the arguments' shapes, as NumPy would, and
a new row-major meta array (``functions.RULES`` takes them in).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from .array import MetaArray, _fallback, meta_empty

__all__ = ["MORE_RULES"]


def _same_shape(index_dtype: bool) -> Any:
    """``sort``/``argsort``/``partition``/``argpartition``: ``a``'s shape (flattened for
    ``axis=None``), ``a``'s dtype or NumPy's index dtype."""

    def rule(a: Any, *args: Any, axis: Any = -1, **kwargs: Any) -> Any:
        if not isinstance(a, np.ndarray):
            return _fallback(np.sort, (a, *args), {"axis": axis, **kwargs})
        if args and not isinstance(args[0], (np.ndarray, list, tuple, int, np.integer)):
            axis = args[0]  # sort(a, axis) positionally (partition's first is kth)
        shape = (a.size,) if axis is None else a.shape
        if axis is not None:
            normalize_axis_index(axis, max(a.ndim, 1))  # NumPy's AxisError
        return meta_empty(shape, np.intp if index_dtype else a.dtype)

    return rule


def _take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    """``np.take``: the indices' shape in place of ``axis`` (no bounds check: a meta kernel
    reads no index)."""
    if out is not None or type(a) is not MetaArray:
        return _fallback(np.take, (a, indices, axis, out, mode), {})
    ishape = np.shape(indices)
    if axis is None:
        return meta_empty(ishape, a.dtype)
    ax = normalize_axis_index(axis, a.ndim)
    return meta_empty(a.shape[:ax] + ishape + a.shape[ax + 1 :], a.dtype)


def _scan(func: Any) -> Any:
    """``cumsum``/``cumprod``/``nancumsum``/``nancumprod``: ``a``'s shape (flattened for
    ``axis=None``), NumPy's accumulation dtype."""

    def rule(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        if out is not None or type(a) is not MetaArray:
            return _fallback(func, (a, axis, dtype, out), {})
        if axis is not None:
            normalize_axis_index(axis, max(a.ndim, 1))
        dt = func(np.ones(1, a.dtype), dtype=dtype).dtype
        return meta_empty((a.size,) if axis is None else a.shape, dt)

    return rule


def _pad(array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any) -> Any:
    """``np.pad``: each dim grown by its two widths (NumPy's broadcasting of ``pad_width``)."""
    if type(array) is not MetaArray or callable(mode):
        return _fallback(np.pad, (array, pad_width, mode), kwargs)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (array.ndim, 2))
    if (widths < 0).any():
        raise ValueError("index can't contain negative values")
    shape = tuple(int(n + lo + hi) for n, (lo, hi) in zip(array.shape, widths))
    return meta_empty(shape, array.dtype)


def _roll(a: Any, shift: Any, axis: Any = None) -> Any:
    if type(a) is not MetaArray:
        return _fallback(np.roll, (a, shift, axis), {})
    return meta_empty(a.shape, a.dtype)


def _ravel(a: Any, order: str = "C") -> Any:
    if type(a) is not MetaArray:
        return _fallback(np.ravel, (a, order), {})
    return a.ravel(order)


def _nan_to_num(x: Any, copy: bool = True, **kwargs: Any) -> Any:
    if type(x) is not MetaArray:
        return _fallback(np.nan_to_num, (x, copy), kwargs)
    return meta_empty(x.shape, x.dtype) if copy else x


def _tile(a: Any, reps: Any) -> Any:
    """``np.tile``: ``reps`` and ``a``'s shape padded with leading ones, multiplied."""
    if type(a) is not MetaArray:
        return _fallback(np.tile, (a, reps), {})
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    n = max(len(reps), a.ndim)
    shape = (1,) * (n - a.ndim) + a.shape
    reps = (1,) * (n - len(reps)) + reps
    return meta_empty(tuple(s * r for s, r in zip(shape, reps)), a.dtype)


def _repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    """``np.repeat`` by a host sequence of counts (an int goes to ``functions._repeat``)."""
    if type(a) is not MetaArray or type(repeats) is MetaArray:
        return _fallback(np.repeat, (a, repeats), {"axis": axis})
    counts = np.asarray(repeats)
    n = a.size if axis is None else a.shape[normalize_axis_index(axis, a.ndim)]
    total = int(np.broadcast_to(counts, (n,)).sum())  # NumPy's error for a wrong length
    if (counts < 0).any():
        raise ValueError("repeats may not contain negative values.")
    if axis is None:
        return meta_empty((total,), a.dtype)
    ax = normalize_axis_index(axis, a.ndim)
    return meta_empty(a.shape[:ax] + (total,) + a.shape[ax + 1 :], a.dtype)


def _clip(a: Any, *args: Any, **kwargs: Any) -> Any:
    """``np.clip``: the ``clip`` ufunc (``ndarray.clip``), which the meta protocol answers;
    a bound given as a meta array is an input of it like any other."""
    if type(a) is not MetaArray:
        return _fallback(np.clip, (a, *args), kwargs)
    return np.ndarray.clip(a, *args, **kwargs)


def _triangle(func: Any) -> Any:
    """``np.tril``/``np.triu``: a new array of ``m``'s shape and dtype (a 1-d ``m``, which
    NumPy makes a square of, runs on the zero-stride view)."""

    def rule(m: Any, k: int = 0) -> Any:
        if type(m) is not MetaArray or m.ndim < 2:
            return _fallback(func, (m, k), {})
        return meta_empty(m.shape, m.dtype)

    return rule


MORE_RULES: dict = {
    np.clip: _clip,
    np.tril: _triangle(np.tril),
    np.triu: _triangle(np.triu),
    np.sort: _same_shape(False),
    np.argsort: _same_shape(True),
    np.partition: _same_shape(False),
    np.argpartition: _same_shape(True),
    np.take: _take,
    np.cumsum: _scan(np.cumsum),
    np.cumprod: _scan(np.cumprod),
    np.nancumsum: _scan(np.nancumsum),
    np.nancumprod: _scan(np.nancumprod),
    np.pad: _pad,
    np.roll: _roll,
    np.ravel: _ravel,
    np.nan_to_num: _nan_to_num,
    np.tile: _tile,
    "repeat": _repeat,  # by a sequence: reached through ``functions._repeat``
}
