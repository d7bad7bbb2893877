"""Random indexing cases, run the same way on torch and on chainrule and compared.

A :class:`Case` is plain data (so that a failure prints as a case to paste into
``test_found_cases.py``): a leaf's shape, dtype and layout, a *mode* (what is done with the
index), the index as a tuple of item specs, and for writes the value written. :func:`draw`
makes one from a seeded generator; :func:`observe` runs it with one library module
(``torch`` or ``chainrule``: one interpreter serves both) and returns everything observable:
values, shapes, dtypes, whether the result is a view sharing the leaf's memory and its
strides, the gradients of a weighted sum, the forward-mode tangents, or the error raised.
:func:`compare` lists the differences between two observations.

The work is split by responsibility: :mod:`.case_data` (the :class:`Case` and its
materialization), :mod:`.case_observe` (running one library), :mod:`.case_compare`
(:func:`compare`, :func:`check`) and :mod:`.case_draw` (:func:`draw`). This module gathers
the names the hunts and tests import (and those :mod:`.cases_views` reads through it).

Index item specs (materialized by :func:`.case_data.index_item`):

``("i", k)`` int; ``("s", start, stop, step)`` slice; ``("n",)`` None; ``("e",)`` Ellipsis;
``("b", flag)`` Python bool; ``("B0", flag)`` 0-d bool tensor; ``("I0", k)`` 0-d int64
tensor; ``("t", shape, flat, dtype)`` int64/int32 index tensor; ``("m", shape, flat)`` bool
mask tensor; ``("l", nested)`` a Python list (of ints, or of bools).

Modes: ``get`` (``x[idx]``), ``set`` (``y = x.clone(); y[idx] = v``; op ``leaf`` writes into
the leaf itself), ``put`` (``index_put_``/``index_put``, op ``acc``/``noacc`` with a trailing
``_`` for the in-place form), ``chain`` (``y = x.clone(); a = y[idx]; a[idx2]`` then op
``mul_``/``add_``/``zero_``/``set``), ``dim`` (the dim-wise ops named by ``op``: take, gather,
index_select, take_along_dim, masked_select, put_, put_acc_, masked_fill_).
"""

from __future__ import annotations

from .case_compare import check, compare
from .case_data import DIM_OPS, DTYPES, MODES, Case, _data, _rand, make_leaf
from .case_draw import _draw_value, _fits, _mask, _target_shape, _writes_twice, draw, draw_index
from .case_observe import Err, _dname, _grads, arr, observe

__all__ = ["Case", "draw", "observe", "compare", "check"]
# (and the helpers the hunts and :mod:`.cases_views` reuse)
__all__ += [
    "DIM_OPS", "DTYPES", "MODES", "Err", "arr", "draw_index", "make_leaf", "_data", "_dname",
    "_draw_value", "_fits", "_grads", "_mask", "_rand", "_target_shape", "_writes_twice",
]  # fmt: skip
