"""Iterable-style datasets: ``IterableDataset`` and ``ChainDataset`` (PyTorch's).

An iterable dataset is a stream (``__iter__``) rather than an indexable table. With
``num_workers > 0`` every worker iterates its own copy, so a dataset that should not
repeat its items splits the stream with :func:`get_worker_info` (``info.id`` of
``info.num_workers``), as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .dataset import Dataset

__all__ = ["ChainDataset", "IterableDataset"]


class IterableDataset(Dataset):
    """Base class for datasets that are iterated, not indexed: subclasses define ``__iter__``."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    __len__ = None  # type: ignore[assignment]  # len() is a TypeError unless a subclass defines it

    def __getitem__(self, index: Any) -> Any:
        raise TypeError(
            f"{type(self).__name__} is an IterableDataset: iterate over it instead of indexing it"
        )

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several iterable datasets one after another (the chaining happens lazily)."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(
                    f"ChainDataset only supports IterableDataset, got {type(d).__name__}"
                )
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(
                    f"ChainDataset only supports IterableDataset, got {type(d).__name__}"
                )
            total += len(d)
        return total
