"""Iterable pipes that group and ungroup items: ``batch`` (``Batcher``) and ``unbatch``
(``UnBatcher``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..datapipe import DataChunk, IterDataPipe
from ..decorators import functional_datapipe

__all__ = ["BatcherIterDataPipe", "UnBatcherIterDataPipe", "check_batch_size"]


def check_batch_size(batch_size: Any) -> None:
    """PyTorch asserts here, so the error type is ``AssertionError``."""
    if not batch_size > 0:
        raise AssertionError("Batch size is required to be larger than 0!")


@functional_datapipe("batch")
class BatcherIterDataPipe(IterDataPipe):
    """``dp.batch(batch_size, drop_last=False, wrapper_class=DataChunk)``: consecutive items
    grouped into ``wrapper_class`` lists of ``batch_size`` (the last one shorter unless
    ``drop_last``)."""

    def __init__(
        self,
        datapipe: IterDataPipe,
        batch_size: int,
        drop_last: bool = False,
        wrapper_class: type[DataChunk] = DataChunk,
    ) -> None:
        check_batch_size(batch_size)
        self.datapipe = datapipe
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.wrapper_class = wrapper_class

    def __iter__(self) -> Iterator[Any]:
        batch: list[Any] = []
        for item in self.datapipe:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield self.wrapper_class(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.wrapper_class(batch)

    def __len__(self) -> int:
        n = len(self.datapipe)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


@functional_datapipe("unbatch")
class UnBatcherIterDataPipe(IterDataPipe):
    """``dp.unbatch(unbatch_level=1)``: the items of each list item, ``unbatch_level`` levels
    deep (``-1``: flatten every level of nested lists; ``0``: unchanged). Only lists (and
    ``DataChunk``) count as batches, as in PyTorch; tuples are items.

    Raises (while iterating):
        ValueError: for ``unbatch_level < -1``.
        IndexError: when an item is not a list at a level to be flattened.
    """

    def __init__(self, datapipe: IterDataPipe, unbatch_level: int = 1) -> None:
        self.datapipe = datapipe
        self.unbatch_level = unbatch_level

    def __iter__(self) -> Iterator[Any]:
        if self.unbatch_level < -1:
            raise ValueError("unbatch_level must be -1 or >= 0")
        for item in self.datapipe:
            yield from self._dive(item, self.unbatch_level)

    def _dive(self, item: Any, level: int) -> Iterator[Any]:
        if level == -1:
            if isinstance(item, list):
                for x in item:
                    yield from self._dive(x, -1)
            else:
                yield item
        elif level == 0:
            yield item
        elif isinstance(item, list):
            for x in item:
                yield from self._dive(x, level - 1)
        else:
            raise IndexError(
                f"unbatch_level {self.unbatch_level} exceeds the depth of the DataPipe"
            )
