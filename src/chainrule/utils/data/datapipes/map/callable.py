"""``map`` on map-style pipes (``Mapper``): ``fn`` applied to ``dp[i]`` when it is read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._functions import check_callable, warn_unpicklable
from ..datapipe import MapDataPipe
from ..decorators import functional_datapipe

__all__ = ["MapperMapDataPipe"]


def default_fn(data: Any) -> Any:
    """The identity: ``Mapper``'s default function."""
    return data


@functional_datapipe("map")
class MapperMapDataPipe(MapDataPipe):
    """``dp.map(fn=identity)``: ``dp.map(fn)[i]`` is ``fn(dp[i])``; same length.

    Raises:
        TypeError: when ``fn`` is not callable.
    """

    def __init__(self, datapipe: MapDataPipe, fn: Callable[[Any], Any] = default_fn) -> None:
        check_callable(fn)
        warn_unpicklable(fn)
        self.datapipe = datapipe
        self.fn = fn

    def __getitem__(self, index: Any) -> Any:
        return self.fn(self.datapipe[index])

    def __len__(self) -> int:
        return len(self.datapipe)
