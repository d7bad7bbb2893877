"""``shuffle`` on map-style pipes: an *iterable* pipe (``ShufflerIterDataPipe``) that reads
``dp[i]`` over a random permutation of the indices, seeded as the iterable shuffle is."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from ..datapipe import IterDataPipe, MapDataPipe
from ..iter.combinatorics import draw_seed

__all__ = ["ShufflerIterDataPipe"]


class ShufflerIterDataPipe(IterDataPipe):
    """``map_dp.shuffle(*, indices=None)``: iterate ``map_dp`` in a random order of
    ``indices`` (default ``range(len(map_dp))``); a fresh order every iteration unless
    ``set_seed`` fixed the next one; ``set_shuffle(False)`` reads them in order. The result
    is iterable only (PyTorch's behaviour)."""

    def __init__(self, datapipe: MapDataPipe, *, indices: list | None = None) -> None:
        self.datapipe = datapipe
        self.indices = list(range(len(datapipe))) if indices is None else indices
        self._enabled = True
        self._seed: int | None = None
        self._rng = random.Random()

    def set_shuffle(self, shuffle: bool = True) -> ShufflerIterDataPipe:
        """Turn shuffling on or off; returns the pipe."""
        self._enabled = shuffle
        return self

    def set_seed(self, seed: int) -> ShufflerIterDataPipe:
        """Seed the next iteration; returns the pipe."""
        self._seed = seed
        return self

    def reset(self) -> None:
        """Seed the generator for a new iteration (the given seed once, else a fresh draw)."""
        seed = draw_seed() if self._seed is None else self._seed
        self._seed = None
        self._rng.seed(seed)

    def __iter__(self) -> Iterator[Any]:
        order = list(self.indices)
        if self._enabled:
            self.reset()
            self._rng.shuffle(order)
        for i in order:
            yield self.datapipe[i]

    def __len__(self) -> int:
        return len(self.indices)


MapDataPipe.register_datapipe_as_function("shuffle", ShufflerIterDataPipe)
