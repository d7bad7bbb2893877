"""What the DataLoader iterates in place of an ``IterDataPipe``: the pipe, with the epoch's
shuffle seed applied and, inside a worker process, the worker's sharding.

Every worker receives its own copy of the pipe; all copies get the same seed, so every
shuffle draws the same order in every worker, and a ``sharding_filter`` downstream then
keeps worker ``k``'s share of that one order: together the workers yield each item once.
Persistent workers iterate their copy once per epoch; pass ``k`` uses a seed derived from
the first one and ``k``, so the workers still agree and every epoch gets a new order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ....random import Generator
from ..iterable import IterableDataset
from ..worker import get_worker_info
from .datapipe import IterDataPipe
from .graph_settings import apply_random_seed, apply_sharding

__all__ = ["LoaderDataPipe"]

_GOLDEN = 0x9E3779B97F4A7C15  # an odd 64-bit constant: spreads the per-pass seeds apart


class LoaderDataPipe(IterableDataset):
    """``datapipe`` seeded with ``seed`` (None: unseeded) and sharded per worker."""

    def __init__(self, datapipe: IterDataPipe, seed: int | None) -> None:
        self.datapipe = datapipe
        self.seed = seed
        self._passes = 0

    def __iter__(self) -> Iterator[Any]:
        if self.seed is not None:
            seed = (self.seed + self._passes * _GOLDEN) % 2**63
            apply_random_seed(self.datapipe, Generator().manual_seed(seed))
        self._passes += 1
        info = get_worker_info()
        if info is not None:
            apply_sharding(self.datapipe, info.num_workers, info.id)
        return iter(self.datapipe)

    def __len__(self) -> int:
        return len(self.datapipe)
