"""Gradients of split pieces written where the pieces' input lies, so that the split's
backward is a view instead of a concatenation.

A GPT block cuts one (B, T, 3C) projection into q, k and v (``qkv.split(C, 2)``, then
``view(B, T, H, D).transpose(1, 2)``). Backward would allocate dq, dk and dv separately and
the split's backward would then copy them into one new (B, T, 3C) array (PyTorch's
``SplitBackward`` is such a ``cat``). When attention's backward instead carves dq, dk and
dv out of one buffer laid out as the projection itself (:func:`carve_like`), the reshapes
and transposes on the way back stay views, and :func:`tiled_view` finds that the split's
incoming gradients are consecutive pieces of one dense block: the join is a view of it.
Measured in nanoGPT's training step (2026-12-02): the four split backwards took 350 µs each
as copies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["carve_like", "tiled_view"]


def _dense(shape: tuple, strides: tuple, itemsize: int) -> bool:
    """Whether ``(shape, strides)`` addresses every element of one block exactly once
    (dense and non-overlapping, positive strides; size-1 dims aside)."""
    expected = itemsize
    for stride, size in sorted((st, n) for st, n in zip(strides, shape) if n != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def tiled_view(arrays: list, dim: int) -> np.ndarray | None:
    """The join of ``arrays`` along ``dim`` as a view when they are consecutive pieces of one
    dense block of memory (equal dtypes, strides and other sizes; each starting where the
    previous one ends along ``dim``), else None (the caller concatenates).

    The view addresses exactly the pieces' elements (piece i's index j along ``dim`` is the
    join's index start_i + j), so nothing outside them is read or written through it."""
    first = arrays[0]
    if type(first) is not np.ndarray or first.base is None:
        return None
    owner = first.base  # one buffer holds every piece: the join then lives as long as it
    strides, dtype, shape = first.strides, first.dtype, first.shape
    start = _address(first)
    step = strides[dim]
    total = 0
    for a in arrays:
        if (
            type(a) is not np.ndarray
            or a.base is not owner
            or a.dtype != dtype
            or a.strides != strides
            or a.ndim != first.ndim
            or a.shape[:dim] != shape[:dim]
            or a.shape[dim + 1 :] != shape[dim + 1 :]
            or _address(a) != start + total * step
        ):
            return None
        total += a.shape[dim]
    joined = shape[:dim] + (total,) + shape[dim + 1 :]
    if not _dense(joined, strides, dtype.itemsize):
        return None
    return as_strided(first, joined, strides)


def carve_like(pieces: tuple, dtype: Any) -> tuple | None:
    """New arrays shaped and laid out as ``pieces`` (equal shapes and strides, consecutive
    pieces of one dense block, as the heads of a split projection are) carved from one new
    buffer with the same layout, so that their joined gradient is a view
    (:func:`tiled_view`); None when the pieces are not so laid out or ``dtype`` differs
    from theirs."""
    first = pieces[0]
    if any(type(p) is not np.ndarray for p in pieces) or np.dtype(dtype) != first.dtype:
        return None
    shape, strides = first.shape, first.strides
    if len(pieces) < 2 or any(p.shape != shape or p.strides != strides for p in pieces):
        return None
    start = _address(first)
    gap = _address(pieces[1]) - start
    if gap <= 0 or any(_address(p) != start + i * gap for i, p in enumerate(pieces)):
        return None
    joined_shape, joined_strides = shape + (len(pieces),), strides + (gap,)
    if not _dense(joined_shape, joined_strides, first.itemsize):
        return None
    # one new buffer in the joined layout (dims ordered by stride), the pieces its slices
    outer_first = sorted(range(len(joined_shape)), key=lambda d: -joined_strides[d])
    buf = np.empty([joined_shape[d] for d in outer_first], first.dtype)
    joined = buf.transpose([outer_first.index(d) for d in range(len(joined_shape))])
    return tuple(joined[..., i] for i in range(len(pieces)))
