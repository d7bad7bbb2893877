"""``filter`` (``Filter``): keep the items a predicate accepts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .._functions import check_arity, check_callable, warn_unpicklable
from ..datapipe import IterDataPipe
from ..decorators import functional_datapipe

__all__ = ["FilterIterDataPipe"]


@functional_datapipe("filter")
class FilterIterDataPipe(IterDataPipe):
    """``dp.filter(filter_fn, input_col=None)``: the items for which ``filter_fn`` (on the
    item, or on its ``input_col`` columns) returns True. The length is unknown.

    Raises:
        TypeError: when ``filter_fn`` is not callable.
        ValueError: when its arity does not fit ``input_col``, or (while iterating) when it
            returns something other than a bool (PyTorch's rule: truthy is not enough).
    """

    def __init__(
        self, datapipe: IterDataPipe, filter_fn: Callable[..., Any], input_col: Any = None
    ) -> None:
        check_callable(filter_fn)
        warn_unpicklable(filter_fn)
        check_arity(filter_fn, input_col)
        self.datapipe = datapipe
        self.filter_fn = filter_fn
        self.input_col = input_col

    def _keep(self, item: Any) -> bool:
        col = self.input_col
        if col is None:
            verdict = self.filter_fn(item)
        elif isinstance(col, (list, tuple)):
            verdict = self.filter_fn(*(item[c] for c in col))
        else:
            verdict = self.filter_fn(item[col])
        if not isinstance(verdict, bool):
            raise ValueError(
                f"Boolean output is required for `filter_fn` of {type(self).__name__}, got",
                type(verdict),
            )
        return verdict

    def __iter__(self) -> Iterator[Any]:
        for item in self.datapipe:
            if self._keep(item):
                yield item
