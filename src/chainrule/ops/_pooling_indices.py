"""Index kernels for the pooling ops whose windows are irregular: adaptive max pooling
(PyTorch's bins) and fractional max pooling (pseudo-random windows, Graham 2014).

Each kernel works on raw arrays and returns, for every output cell, the flat index (into
the input's spatial volume) of the element that cell takes: the first maximum of its
window in scan order, or the last NaN when the window holds one (PyTorch's CPU kernels
test ``val > maxval || isnan(val)``). The pooling functions then gather the values at those
indices with the differentiable ``take_along_dim``, so the gradient (a scatter-add of the
upstream gradient at the indices, as PyTorch's backward), double backward and forward mode
all come from that op.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "adaptive_max_indices",
    "fractional_intervals",
    "fractional_windows",
    "window_max_indices",
]


def _pick(values: Any, xp: Any) -> Any:
    """Position along the last axis of each window's first maximum, or of its last NaN."""
    arg = xp.argmax(values, axis=-1)
    if values.dtype.kind in "fV":  # V: bfloat16
        nan = xp.isnan(values)
        if bool(nan.any()):
            k = values.shape[-1]
            last_nan = k - 1 - xp.argmax(nan[..., ::-1], axis=-1)
            arg = xp.where(nan.any(axis=-1), last_nan, arg)
    return arg


def window_max_indices(flat: Any, windows: Any, xp: Any) -> Any:
    """For ``flat`` (N, C, S) and ``windows`` (N, C, *out, K) of flat positions into S, the
    position each window's maximum comes from (N, C, *out), int64."""
    n, c = flat.shape[:2]
    out_shape = windows.shape[:-1]
    k = windows.shape[-1]
    cells = int(np.prod(out_shape[2:])) * k
    vals = xp.take_along_axis(flat, windows.reshape(n, c, cells), axis=2).reshape(*out_shape, k)
    arg = _pick(vals, xp)
    return xp.take_along_axis(windows, arg[..., None], axis=-1)[..., 0].astype(np.int64)


def _bins(size: int, n: int) -> list:
    """PyTorch's adaptive bins [floor(i size / n), ceil((i + 1) size / n))."""
    return [(math.floor(i * size / n), math.ceil((i + 1) * size / n)) for i in range(n)]


def adaptive_max_indices(flat: Any, sizes: tuple, out_sizes: tuple, xp: Any) -> Any:
    """Adaptive max pooling over ``flat`` (N, C, prod(sizes)): the flat index of each bin's
    maximum, shape (N, C, *out_sizes). One vectorised reduction per output cell."""
    n, c = flat.shape[:2]
    data = flat.reshape(n, c, *sizes)
    idx = xp.empty((n, c, *out_sizes), dtype=np.int64)
    strides = [int(np.prod(sizes[d + 1 :])) for d in range(len(sizes))]
    for cell in np.ndindex(*out_sizes):
        spans = [_bins(sizes[d], out_sizes[d])[cell[d]] for d in range(len(sizes))]
        region = data[(slice(None), slice(None)) + tuple(slice(a, b) for a, b in spans)]
        lens = [b - a for a, b in spans]
        local = _pick(region.reshape(n, c, int(np.prod(lens))), xp)
        pos = xp.zeros_like(local)
        for d in reversed(range(len(sizes))):
            local, r = xp.divmod(local, lens[d])
            pos = pos + (spans[d][0] + r) * strides[d]
        idx[(slice(None), slice(None)) + cell] = pos
    return idx


def fractional_intervals(sample: Any, in_size: int, out_size: int, pool: int) -> np.ndarray:
    """PyTorch's ``generate_intervals``: the window starts along one dim for each (n, c).

    ``sample`` (N, C) holds u in [0, 1); with alpha = (in - pool) / (out - 1), computed in the
    sample's own dtype as PyTorch does, start[i] = int((i + u) alpha) - int(u alpha) for
    i < out - 1 and start[out - 1] = in - pool. Returns (N, C, out) int64.
    """
    sample = np.asarray(sample)
    dt = sample.dtype.type
    starts = np.empty(sample.shape + (out_size,), dtype=np.int64)
    if out_size > 1:
        alpha = dt(in_size - pool) / dt(out_size - 1)
        i = np.arange(out_size - 1).astype(sample.dtype)
        body = ((i + sample[..., None]) * alpha).astype(np.int64)
        starts[..., :-1] = body - (sample * alpha).astype(np.int64)[..., None]
    if out_size > 0:
        starts[..., -1] = in_size - pool
    return starts


def fractional_windows(u: np.ndarray, sizes: tuple, out: tuple, k: tuple) -> np.ndarray:
    """The flat input positions (N, C, *out, prod(k)) of every fractional-pooling window.

    ``u`` (N, C, nd) holds the samples in PyTorch's order: (width, height) in 2-D,
    (time, height, width) in 3-D; window starts per dim come from :func:`fractional_intervals`.
    """
    n, c, nd = u.shape
    which = (1, 0) if nd == 2 else tuple(range(nd))
    strides = [int(np.prod(sizes[d + 1 :])) for d in range(nd)]
    win = np.zeros((n, c, *out, *k), dtype=np.int64)
    for d in range(nd):
        starts = fractional_intervals(u[..., which[d]], sizes[d], out[d], k[d])
        along = [out[d] if e == d else 1 for e in range(nd)]
        taps = [k[d] if e == d else 1 for e in range(nd)]
        off = np.arange(k[d]).reshape(*([1] * (2 + nd)), *taps)
        win = win + (starts.reshape(n, c, *along, *([1] * nd)) + off) * strides[d]
    return win.reshape(n, c, *out, int(np.prod(k)))
