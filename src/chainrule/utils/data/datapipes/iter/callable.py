"""Iterable pipes that call a function on each item: ``map`` (``Mapper``) and ``collate``
(``Collator``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ...collate import default_collate
from .._functions import (
    apply_to_columns,
    check_arity,
    check_callable,
    check_output_col,
    warn_unpicklable,
)
from ..datapipe import IterDataPipe
from ..decorators import functional_datapipe

__all__ = ["CollatorIterDataPipe", "MapperIterDataPipe"]


@functional_datapipe("map")
class MapperIterDataPipe(IterDataPipe):
    """``dp.map(fn, input_col=None, output_col=None)``: ``fn`` applied to every item, or to
    chosen columns of it (see :mod:`.._functions` for the column rules).

    Raises:
        TypeError: when ``fn`` is not callable.
        ValueError: when ``fn``'s arity does not fit ``input_col``, or ``output_col`` is
            given without ``input_col`` or names several columns.
    """

    def __init__(
        self,
        datapipe: IterDataPipe,
        fn: Callable[..., Any],
        input_col: Any = None,
        output_col: Any = None,
    ) -> None:
        check_callable(fn)
        warn_unpicklable(fn)
        check_arity(fn, input_col)
        check_output_col(input_col, output_col)
        self.datapipe = datapipe
        self.fn = fn
        self.input_col = input_col
        self.output_col = output_col

    def _apply_fn(self, item: Any) -> Any:
        return apply_to_columns(self.fn, item, self.input_col, self.output_col)

    def __iter__(self) -> Iterator[Any]:
        for item in self.datapipe:
            yield self._apply_fn(item)

    def __len__(self) -> int:
        return len(self.datapipe)


@functional_datapipe("collate")
class CollatorIterDataPipe(MapperIterDataPipe):
    """``dp.collate(conversion=default_collate, collate_fn=None)``: turn every item (usually
    a batch) into tensors; ``collate_fn``, when given, is used instead of ``conversion``.

    Raises:
        NotImplementedError: for ``conversion=None`` or a ``dict`` of per-key conversions
            (PyTorch's DataFrame collation prototype, not mirrored).
    """

    def __init__(
        self,
        datapipe: IterDataPipe,
        conversion: Callable[..., Any] | None = default_collate,
        collate_fn: Callable[..., Any] | None = None,
    ) -> None:
        if collate_fn is not None:
            fn = collate_fn
        elif conversion is None or isinstance(conversion, dict):
            raise NotImplementedError(
                f"collate: conversion={conversion!r} (PyTorch's DataFrame collation, which "
                "needs pandas) is not supported; pass a function"
            )
        else:
            fn = conversion
        super().__init__(datapipe, fn=fn)
