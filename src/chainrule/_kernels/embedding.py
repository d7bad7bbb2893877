"""Scatter-add of gradient rows into an embedding table: the backward of a row lookup.

    out = zeros(n, D);  out[idx[i]] += g[i]   for i = 0 .. N-1

``np.add.at`` does this one element at a time through a generic ufunc loop: 2.2 ms for
nanoGPT's (768, 128) float32 token gradient into 65 rows and 10 ms for the LSTM language
model's (2048, 128), per step. The compiled kernel is one serial pass (rows may repeat, so no
threads), adding in index order exactly as ``np.add.at`` does (bitwise equal): 0.017 ms and
0.035 ms. The NumPy fallback sorts the indices (stable) and sums each run of equal indices
with ``np.add.reduceat``: 0.4 ms and 1.2 ms (equal to ``np.add.at`` up to summation order).
Measured on the shared 2-core machine, best of 30.
"""

from __future__ import annotations

import numpy as np

from . import jit

__all__ = ["scatter_add_rows"]


def _scatter_add_rows_numpy(g: np.ndarray, idx: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, g.shape[1]), dtype=g.dtype)
    if idx.size == 0:
        return out
    order = np.argsort(idx, kind="stable")
    s = idx[order]
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    out[s[starts]] = np.add.reduceat(g[order], starts, axis=0)
    return out


@jit.kernel(fallback=_scatter_add_rows_numpy, parallel=False)
def scatter_add_rows(g, idx, n):  # pragma: no cover - compiled by Numba
    """(n, D) zeros with row ``g[i]`` added at row ``idx[i]``; g (N, D), idx (N,) ints."""
    out = np.zeros((n, g.shape[1]), dtype=g.dtype)
    for i in range(g.shape[0]):
        r = idx[i]
        for j in range(g.shape[1]):
            out[r, j] += g[i, j]
    return out
