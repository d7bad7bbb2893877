"""Subscripting: the operators ``x[idx]`` and ``x[idx] = v`` (``Tensor.__getitem__`` and
``Tensor.__setitem__``) with the Functions that record them, under one import path.

The code is in two modules, one for each direction: ``subscript_read.py`` reads
(:class:`GetItem`, whose gradient is the scatter-add :class:`IndexAdd`, and
:func:`getitem`), ``subscript_write.py`` writes (:class:`IndexPut`, PyTorch's CopySlices,
:func:`setitem` and the raw :func:`write_index`); the writing side is built on the reading
side. This module keeps the names importable where they always were.

These are the low layer of indexing: the named ops of ``indexing.py`` (``index_put``,
``masked_select``, ...) and the dim-wise ops of ``gather_scatter.py`` / ``index_ops.py`` are
built on them, and ``indexing.py`` re-exports every name here under its old import path.
The operators are bound onto ``Tensor`` in ``ops/__init__.py``; none of them is a
``chainrule.*`` function, so this module is not one of the op modules listed there.
"""

from __future__ import annotations

from .subscript_read import GetItem, IndexAdd, getitem
from .subscript_write import IndexPut, setitem, write_index

__all__ = ["GetItem", "IndexAdd", "IndexPut", "getitem", "setitem", "write_index"]
