"""Map-style pipes that join several: ``concat`` (``Concater``) and ``zip`` (``Zipper``)."""

from __future__ import annotations

from typing import Any

from ..datapipe import MapDataPipe
from ..decorators import functional_datapipe

__all__ = ["ConcaterMapDataPipe", "ZipperMapDataPipe"]


def _check_all_map(datapipes: tuple[Any, ...]) -> None:
    if not all(isinstance(dp, MapDataPipe) for dp in datapipes):
        raise TypeError("Expected all inputs to be `MapDataPipe`")


@functional_datapipe("concat")
class ConcaterMapDataPipe(MapDataPipe):
    """``dp.concat(*others)``: indices run through ``dp``, then each other pipe.

    Raises:
        TypeError: when an input is not a ``MapDataPipe``.
        IndexError: for an index past the total length.
    """

    def __init__(self, *datapipes: MapDataPipe) -> None:
        _check_all_map(datapipes)
        self.datapipes = datapipes

    def __getitem__(self, index: int) -> Any:
        offset = index
        for dp in self.datapipes:
            if offset < len(dp):
                return dp[offset]
            offset -= len(dp)
        raise IndexError(f"Index {index} is out of range.")

    def __len__(self) -> int:
        return sum(len(dp) for dp in self.datapipes)


@functional_datapipe("zip")
class ZipperMapDataPipe(MapDataPipe):
    """``dp.zip(*others)``: ``(dp[i], other[i], ...)``; the length is the shortest.

    Raises:
        TypeError: when an input is not a ``MapDataPipe``.
        IndexError: when ``i`` is out of range for one of them.
    """

    def __init__(self, *datapipes: MapDataPipe) -> None:
        _check_all_map(datapipes)
        self.datapipes = datapipes

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        items = []
        for dp in self.datapipes:
            try:
                items.append(dp[index])
            except IndexError:
                raise IndexError(
                    f"Index {index} is out of range for one of the input MapDataPipes {dp}."
                ) from None
        return tuple(items)

    def __len__(self) -> int:
        return min(len(dp) for dp in self.datapipes)
