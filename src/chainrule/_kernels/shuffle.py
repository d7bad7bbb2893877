"""PyTorch's ``randperm``: Fisher-Yates from the front with precomputed offsets.

    perm = 0 .. n-1;  for i in 0 .. n-2: swap(perm[i], perm[i + offsets[i]])

The offsets (``u32 % (n - i)``) come from the generator in one vectorised draw; the swaps
depend on each other, so they are one serial loop. The compiled loop shuffles 1,000,000
indices in a few milliseconds; the fallback, the same loop over Python lists, takes about a
third of a second (``random_mt19937.TorchStream.permutation``)."""

from __future__ import annotations

import numpy as np

from . import jit

__all__ = ["shuffle_front"]


def _shuffle_front_python(offsets: np.ndarray) -> np.ndarray:
    perm = list(range(len(offsets) + 1))
    for i, z in enumerate(offsets.tolist()):
        j = i + z
        perm[i], perm[j] = perm[j], perm[i]
    return np.array(perm, dtype=np.int64)


@jit.kernel(fallback=_shuffle_front_python, parallel=False)
def shuffle_front(offsets):  # pragma: no cover - compiled by Numba
    """The permutation of ``len(offsets) + 1`` indices made by swapping index ``i`` with
    ``i + offsets[i]`` for each ``i`` in order (int64 offsets)."""
    n = offsets.shape[0] + 1
    perm = np.arange(n)
    for i in range(n - 1):
        j = i + offsets[i]
        t = perm[i]
        perm[i] = perm[j]
        perm[j] = t
    return perm
