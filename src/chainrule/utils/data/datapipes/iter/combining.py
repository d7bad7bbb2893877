"""Iterable pipes that join several pipes: ``concat`` (``Concater``), ``zip`` (``Zipper``)
and ``mux`` (``Multiplexer``). ``fork`` and ``demux``, which split one pipe into several,
are in :mod:`.splitting`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..datapipe import IterDataPipe
from ..decorators import functional_datapipe

__all__ = ["ConcaterIterDataPipe", "MultiplexerIterDataPipe", "ZipperIterDataPipe"]


@functional_datapipe("concat")
class ConcaterIterDataPipe(IterDataPipe):
    """``dp.concat(*others)``: the items of ``dp``, then of each other pipe in turn.

    Raises:
        TypeError: when an input is not an ``IterDataPipe``.
    """

    def __init__(self, *datapipes: IterDataPipe) -> None:
        if not all(isinstance(dp, IterDataPipe) for dp in datapipes):
            raise TypeError("Expected all inputs to be `IterDataPipe`")
        self.datapipes = datapipes

    def __iter__(self) -> Iterator[Any]:
        for dp in self.datapipes:
            yield from dp

    def __len__(self) -> int:
        return sum(len(dp) for dp in self.datapipes)


@functional_datapipe("zip")
class ZipperIterDataPipe(IterDataPipe):
    """``dp.zip(*others)``: tuples of one item from each pipe, stopping with the shortest.

    Raises:
        TypeError: when an input is not an ``IterDataPipe``.
    """

    def __init__(self, *datapipes: IterDataPipe) -> None:
        if not all(isinstance(dp, IterDataPipe) for dp in datapipes):
            raise TypeError("All inputs are required to be `IterDataPipe` for `ZipIterDataPipe`.")
        self.datapipes = datapipes

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        yield from zip(*self.datapipes)

    def __len__(self) -> int:
        return min(len(dp) for dp in self.datapipes)


@functional_datapipe("mux")
class MultiplexerIterDataPipe(IterDataPipe):
    """``dp.mux(*others)``: one item from each pipe in turn, round-robin, stopping as soon
    as one pipe is exhausted (a round it leaves incomplete is dropped, as in PyTorch)."""

    def __init__(self, *datapipes: IterDataPipe) -> None:
        self.datapipes = datapipes

    def __iter__(self) -> Iterator[Any]:
        iterators = [iter(dp) for dp in self.datapipes]
        while iterators:
            try:
                round_items = [next(it) for it in iterators]
            except StopIteration:
                return
            yield from round_items

    def __len__(self) -> int:
        return min(len(dp) for dp in self.datapipes) * len(self.datapipes)
