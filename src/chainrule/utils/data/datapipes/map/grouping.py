"""``batch`` on map-style pipes (``Batcher``): ``dp.batch(n)[i]`` is items ``i*n`` to
``i*n + n - 1``."""

from __future__ import annotations

from typing import Any

from ..datapipe import DataChunk, MapDataPipe
from ..decorators import functional_datapipe
from ..iter.grouping import check_batch_size

__all__ = ["BatcherMapDataPipe"]


@functional_datapipe("batch")
class BatcherMapDataPipe(MapDataPipe):
    """``dp.batch(batch_size, drop_last=False, wrapper_class=DataChunk)``.

    Raises:
        AssertionError: for ``batch_size <= 0`` (PyTorch's type).
        IndexError: when reading a batch past the end (or a short last batch with
            ``drop_last``).
    """

    def __init__(
        self,
        datapipe: MapDataPipe,
        batch_size: int,
        drop_last: bool = False,
        wrapper_class: type[DataChunk] = DataChunk,
    ) -> None:
        check_batch_size(batch_size)
        self.datapipe = datapipe
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.wrapper_class = wrapper_class

    def __getitem__(self, index: int) -> Any:
        batch = []
        for i in range(index * self.batch_size, (index + 1) * self.batch_size):
            try:
                batch.append(self.datapipe[i])
            except IndexError:
                break
        if not batch or (self.drop_last and len(batch) < self.batch_size):
            raise IndexError(f"Index {index} is out of bound.")
        return self.wrapper_class(batch)

    def __len__(self) -> int:
        n = len(self.datapipe)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
