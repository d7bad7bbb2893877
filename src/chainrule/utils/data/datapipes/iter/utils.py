"""``IterableWrapper``: any Python iterable as an ``IterDataPipe``."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

from ..datapipe import IterDataPipe

__all__ = ["IterableWrapperIterDataPipe"]


class IterableWrapperIterDataPipe(IterDataPipe):
    """``IterableWrapper(iterable, deepcopy=True)``: yields the items of ``iterable``.

    With ``deepcopy`` each iteration walks a deep copy, so editing an item in a later step
    never changes the source (the copy is taken when iteration starts, so items appended to
    the source before that are seen); an iterable that cannot be deep-copied (a generator)
    is used as it is, with a ``UserWarning``, and is then exhausted after one pass.
    """

    def __init__(self, iterable: Iterable[Any], deepcopy: bool = True) -> None:
        self.iterable = iterable
        self.deepcopy = deepcopy

    def __iter__(self) -> Iterator[Any]:
        source = self.iterable
        if self.deepcopy:
            try:
                source = copy.deepcopy(self.iterable)
            except TypeError:
                warnings.warn(
                    "The input iterable can not be deepcopied, please be aware of in-place "
                    "modification would affect source data.",
                    UserWarning,
                    stacklevel=2,
                )
        yield from source

    def __len__(self) -> int:
        if hasattr(self.iterable, "__len__"):
            return len(self.iterable)
        raise TypeError(f"{type(self).__name__} instance doesn't have valid length")
