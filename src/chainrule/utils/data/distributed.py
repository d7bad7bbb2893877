"""``DistributedSampler``: each rank visits its own share of the dataset (PyTorch semantics).

Every rank builds the same index sequence (the same seed + epoch on every rank), pads it by
repeating its start to a multiple of ``num_replicas`` (or, with ``drop_last``, cuts it down to
one), and keeps every ``num_replicas``-th index starting at its rank. The ranks' shares are
disjoint apart from the padding, equally long, and together cover the dataset, so the global
batch is split evenly. The padding, dropping and striding match ``torch.utils.data.
DistributedSampler`` exactly; the shuffled order comes from chainrule's generator (PCG64), so
it is not the same permutation PyTorch's ``randperm`` draws for the same seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ... import distributed as dist
from ...random import Generator
from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _default(value: int | None, what: str) -> int:
    if value is not None:
        return value

    if not dist.is_available():
        raise RuntimeError(
            "DistributedSampler: Requires distributed package to be available "
            "(pip install 'chainrule[distributed]'), or pass num_replicas and "
            "rank explicitly"
        )
    return dist.get_world_size() if what == "num_replicas" else dist.get_rank()


class DistributedSampler(Sampler):
    """Restricts loading to this rank's share of ``dataset``.

    Args:
        dataset: the dataset (only its length is used).
        num_replicas: the number of ranks (default: the process group's world size).
        rank: this rank (default: the process group's rank).
        shuffle: a new permutation every epoch (call :meth:`set_epoch`).
        seed: the shuffling seed; must be the same on every rank.
        drop_last: drop the tail so every rank gets the same number of samples without
            padding (otherwise pad by repeating the first indices).

    Raises:
        ValueError: ``rank`` outside ``[0, num_replicas - 1]``.
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ):
        num_replicas = _default(num_replicas, "num_replicas")
        rank = _default(rank, "rank")
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def _indices(self) -> np.ndarray:
        n = len(self.dataset)
        if self.shuffle:
            g = Generator().manual_seed(self.seed + self.epoch)
            indices = g.np.permutation(n).astype(np.int64)
        else:
            indices = np.arange(n, dtype=np.int64)
        if not self.drop_last:
            padding = self.total_size - n
            if padding > 0:
                indices = np.concatenate([indices, np.resize(indices, padding)])
        else:
            indices = indices[: self.total_size]
        mine = indices[self.rank : self.total_size : self.num_replicas]
        if len(mine) != self.num_samples:  # pragma: no cover - guarded by the arithmetic
            raise RuntimeError(
                f"DistributedSampler: produced {len(mine)} indices, expected {self.num_samples}"
            )
        return mine

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch (before creating the DataLoader iterator) so each epoch shuffles
        differently, identically on every rank."""
        self.epoch = epoch
