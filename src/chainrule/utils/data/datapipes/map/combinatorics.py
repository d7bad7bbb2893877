"""``shuffle`` on map-style pipes: an *iterable* pipe (``ShufflerIterDataPipe``) that reads
``dp[i]`` over a random permutation of the indices, seeded as the iterable shuffle is."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..datapipe import IterDataPipe, MapDataPipe
from ..iter.combinatorics import SeededShuffle

__all__ = ["ShufflerIterDataPipe"]


class ShufflerIterDataPipe(SeededShuffle, IterDataPipe):
    """``map_dp.shuffle(*, indices=None)``: iterate ``map_dp`` in a random order of
    ``indices`` (default ``range(len(map_dp))``); a fresh order every iteration unless
    ``set_seed`` fixed the next one; ``set_shuffle(False)`` reads them in order. The result
    is iterable only (PyTorch's behaviour)."""

    def __init__(self, datapipe: MapDataPipe, *, indices: list | None = None) -> None:
        self.datapipe = datapipe
        self.indices = list(range(len(datapipe))) if indices is None else indices
        self._init_shuffle()

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
