"""Row softmax forward and backward over the last axis of a C-contiguous 2-d array.

Forward (float32 only): one row at a time, in parallel over rows, while the row is in
cache: its maximum, ``e = exp(x - max)`` (the vectorisable float64 exp of
:mod:`.transcendental`, exact to about half a float32 ulp), the row sum in float64, then
``e / sum``. NumPy does the same in five full passes over memory with three temporaries.

Backward (float32 and float64): ``dx = y * (g - sum(g * y))`` per row, the dot product
accumulated in float64.

Rows that hold NaN or +inf give NaN rows, and an all ``-inf`` row gives NaN, as NumPy and
PyTorch do.
"""

from __future__ import annotations

import numpy as np

from . import jit, transcendental

__all__ = [
    "row_dot",
    "row_sum",
    "softmax_rows_backward",
    "softmax_rows_backward_blocks",
    "softmax_rows_f32",
    "softmax_rows_f32_blocks",
]


def _softmax_numpy(x: np.ndarray, out: np.ndarray) -> None:
    np.exp(x - x.max(axis=-1, keepdims=True), out=out)
    out /= out.sum(axis=-1, keepdims=True)


@jit.reduction
def row_sum(a):  # pragma: no cover - compiled by Numba, called from kernels
    """sum(a[j]) over a row, in float64 (additions reassociated: vectorised)."""
    s = 0.0
    for j in range(a.size):
        s += np.float64(a[j])
    return s


@jit.reduction
def row_dot(a, b):  # pragma: no cover - compiled by Numba, called from kernels
    """sum(a[j] * b[j]) over a row, in float64 (additions reassociated: vectorised)."""
    s = 0.0
    for j in range(a.size):
        s += np.float64(a[j]) * np.float64(b[j])
    return s


@jit.kernel(fallback=_softmax_numpy)
def softmax_rows_f32(x, out):  # pragma: no cover - compiled by Numba
    """out = softmax over the last axis of a 2-d float32 array."""
    _softmax_rows_body(x, out)


@jit.kernel(fallback=jit.ignoring_chunks(_softmax_numpy), parallel=True)
def softmax_rows_f32_blocks(x, out, chunks):  # pragma: no cover - compiled by Numba
    """:func:`softmax_rows_f32` with its rows cut into ``chunks`` blocks on the compiled
    pool (one launch)."""
    for t in jit.prange(chunks):
        lo, hi = jit.block(x.shape[0], t, chunks)
        _softmax_rows_body(x[lo:hi], out[lo:hi])


@jit.inline
def _softmax_rows_body(x, out):  # pragma: no cover - inlined
    rows, n = x.shape
    for i in range(rows):
        xr = x[i]
        orow = out[i]
        m = xr[0]
        for j in range(1, n):
            v = xr[j]
            m = v if v > m or v != v else m
        mf = np.float64(m)
        for j in range(n):
            v = np.float64(xr[j]) - mf  # <= 0 (or NaN)
            p = transcendental.exp_poly(v if v > -110.0 else -110.0, True)
            orow[j] = p if v == v else v
        inv = 1.0 / row_sum(orow)
        for j in range(n):
            orow[j] = orow[j] * inv


def _softmax_backward_numpy(g: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    np.multiply(y, g - (g * y).sum(axis=-1, keepdims=True), out=out)


@jit.kernel(fallback=_softmax_backward_numpy)
def softmax_rows_backward(g, y, out):  # pragma: no cover - compiled by Numba
    """out = y * (g - sum(g * y)) over the last axis of 2-d arrays (the softmax gradient)."""
    _softmax_backward_body(g, y, out)


@jit.kernel(fallback=jit.ignoring_chunks(_softmax_backward_numpy), parallel=True)
def softmax_rows_backward_blocks(g, y, out, chunks):  # pragma: no cover - compiled by Numba
    """:func:`softmax_rows_backward` with its rows cut into ``chunks`` blocks on the
    compiled pool (one launch)."""
    for t in jit.prange(chunks):
        lo, hi = jit.block(y.shape[0], t, chunks)
        _softmax_backward_body(g[lo:hi], y[lo:hi], out[lo:hi])


@jit.inline
def _softmax_backward_body(g, y, out):  # pragma: no cover - inlined
    rows, n = y.shape
    for i in range(rows):
        gr = g[i]
        yr = y[i]
        d = row_dot(gr, yr)
        orow = out[i]
        for j in range(n):
            orow[j] = yr[j] * (gr[j] - d)
