"""The ragged size of jagged nested tensors and their layout: ``jagged`` (``torch.jagged``),
:class:`RaggedInt` (torch's symbolic ``j1``, ``j2``, ... sizes: one per offsets tensor, equal
only to itself, so two jagged tensors combine only if they share it) and
:class:`RaggedSize` (a ``torch.Size`` holding one)."""

from __future__ import annotations

import itertools
import weakref
from typing import Any

from ..autograd.tensor import Tensor
from ..ops.tensor_queries import layout
from ..size import Size

__all__ = ["RaggedInt", "RaggedSize", "jagged", "ragged_of"]

_counter = itertools.count(1)


class _JaggedLayout(layout):
    """``torch.jagged``'s class: a ``torch.layout`` that pickles as this module's
    ``jagged`` (the base class's ``__reduce__`` names it; this class's module holds it)."""

    __slots__ = ()


jagged = _JaggedLayout("jagged")


class RaggedInt:
    """The size of a ragged dim (torch's nested ``SymInt`` ``j1``): equal only to itself."""

    __slots__ = ("_n",)

    def __init__(self) -> None:
        self._n = next(_counter)

    def __repr__(self) -> str:
        return f"j{self._n}"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return id(self)


class RaggedSize(Size):
    """A jagged tensor's ``torch.Size``: one entry is a :class:`RaggedInt` (``j1``), which
    ``Size`` itself would refuse, so slices and sums keep this class."""

    def __getitem__(self, key: Any) -> Any:
        out = tuple.__getitem__(self, key)
        return tuple.__new__(RaggedSize, out) if isinstance(key, slice) else out

    def __add__(self, other: Any) -> RaggedSize:
        if not isinstance(other, tuple):
            return NotImplemented
        return tuple.__new__(RaggedSize, (*self, *other))

    def __radd__(self, other: Any) -> RaggedSize:
        if not isinstance(other, tuple):
            return NotImplemented
        return tuple.__new__(RaggedSize, (*other, *self))

    def numel(self) -> int:
        """Not a number for a ragged size: torch's is symbolic."""
        raise NotImplementedError("numel() of a ragged size; use the nested tensor's numel()")


# id(offsets tensor) -> its ragged size, for as long as the tensor lives. Kept here rather
# than on the tensor, whose attributes torch.save and deepcopy would carry along.
_RAGGED: dict[int, RaggedInt] = {}


def ragged_of(offsets: Tensor) -> RaggedInt:
    """The ragged size tied to ``offsets`` (made on first use, dropped with the tensor)."""
    key = id(offsets)
    sym = _RAGGED.get(key)
    if sym is None:
        sym = _RAGGED[key] = RaggedInt()
        weakref.finalize(offsets, _RAGGED.pop, key, None)
    return sym
