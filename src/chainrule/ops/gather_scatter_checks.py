"""Argument checks of ``gather``, ``scatter``, ``scatter_add`` and ``index_select`` in
PyTorch 2.13's order, exception types and words (CONTRIBUTING.md, "Error messages").

PyTorch checks the dim, then the index dtype, then (unless the index is empty) the ranks and
sizes, then the index values: gather and scatter name the first bad value in the index's
row-major order ("index 9 is out of bounds for dimension 0 with size 4"); index_select's
CPU kernel has three texts, chosen by the input's rank, emptiness and ``dim`` (see
:func:`check_select_values`). The tensor-``src`` shape checks are ``scatter_reduce``'s
(``scatter_reduce_checks.py``): the three ops share PyTorch's ``scatter_meta_impl``.

The valid path costs what it did before: one ``min`` and one ``max`` of the index; the
first bad value is searched only once those say there is one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layout import is_vmap_batched
from ..autograd.tensor import Tensor
from ._tensor_args import tensor_operand
from ._util import norm_dim, torch_words

__all__ = [
    "IndexOutOfBounds",
    "check_gather",
    "check_scatter_value",
    "first_bad_index",
    "check_select_values",
    "check_values",
]

_INDEX_DTYPES = (np.int32, np.int64)  # the index dtypes PyTorch's dim-wise ops accept


class IndexOutOfBounds(IndexError, RuntimeError):
    """An index outside its dimension. PyTorch raises ``RuntimeError`` from gather/scatter
    (and from index_select along dim 1), ``IndexError`` from ``x[i]`` and index_select along
    other dims; this is both, so either ``except`` works."""


def first_bad_index(arr: Any, size: int) -> int | None:
    """The first value of ``arr`` (row-major) outside ``[0, size)``, or None. The valid
    path reads only the minimum and the maximum."""
    if not arr.size:
        return None
    if int(arr.min()) >= 0 and int(arr.max()) < size:
        return None
    flat = arr.reshape(-1)
    return int(flat[(flat < 0) | (flat >= size)][0])


def check_values(arr: Any, size: int, d: int, args: tuple = ()) -> None:
    """PyTorch's gather/scatter kernel check: every index value in ``[0, size)``. ``args``:
    the index, then the op's other tensors; under ``cr.func.vmap`` PyTorch's batch rule
    checks the physical index (every level batching an argument in front, the index
    expanded along those not batching it): its first bad value in that order, its dim
    shifted by the number of levels. (A per-sample index's min and max read every sample,
    so the valid path costs what it did.)"""
    if not arr.size or (int(arr.min()) >= 0 and int(arr.max()) < size):
        return
    if any(is_vmap_batched(a._data) for a in args if isinstance(a, Tensor)):
        from ..func._per_sample import batch_levels, full_array  # noqa: PLC0415 - func imports ops

        levels = batch_levels(*args)
        arr, d = full_array(args[0], levels), d + len(levels)
    bad = first_bad_index(arr, size)
    if bad is not None:
        raise torch_words(
            IndexOutOfBounds(f"index {bad} is out of bounds for dimension {d} with size {size}")
        )


def _batch_prefix(*args: Tensor) -> list:
    """The batch sizes PyTorch's batch rule puts in front of the physical tensors under
    ``cr.func.vmap``: one per level batching any of ``args``, outermost first (``[]``
    outside vmap). Only error paths call here."""
    found: dict = {}
    for a in args:
        if is_vmap_batched(a._data):
            level = a._data.level
            found.update((lv.id, lv.size) for lv in getattr(level, "levels", (level,)))
    return [found[i] for i in sorted(found)]


def _index(op: str, x: Tensor, dim: int, index: Any, dtype_op: str) -> tuple[int, Tensor]:
    """``(d, index)``: the dim and the index dtype checked, in PyTorch's order."""
    idx = index if isinstance(index, Tensor) else tensor_operand(op, "index", 3, index)
    d = norm_dim(dim, x.ndim, op)[0]
    if idx._data.dtype not in _INDEX_DTYPES:
        raise torch_words(RuntimeError(f"{dtype_op}(): Expected dtype int32/int64 for index"))
    return d, idx


def _sizes_exceed(idx: Tensor, x: Tensor, d: int) -> bool:
    """Whether the index is larger than ``x`` in a dim other than ``d`` (a 0-d tensor has
    size 1 in its one dim, PyTorch's ``ensure_nonempty_size``)."""
    js, xs = idx.shape or (1,), x.shape or (1,)
    return any(i != d and j > s for i, (j, s) in enumerate(zip(js, xs)))


def check_gather(x: Tensor, dim: int, index: Any) -> tuple[int, Tensor]:
    """``(d, index)`` for ``gather``, or PyTorch's error (``gather_shape_check``)."""
    d, idx = _index("gather", x, dim, index, "gather")
    if idx._data.size == 0:
        return d, idx
    if max(idx.ndim, 1) != max(x.ndim, 1):
        raise torch_words(
            RuntimeError("Index tensor must have the same number of dimensions as input tensor")
        )
    if _sizes_exceed(idx, x, d):
        js, xs = idx.shape or (1,), x.shape or (1,)
        i = next(i for i, (j, s) in enumerate(zip(js, xs)) if i != d and j > s)
        pre = _batch_prefix(x, idx)  # under vmap: the physical dims and shapes
        raise torch_words(
            RuntimeError(
                f"Size does not match at dimension {i + len(pre)} expected index "
                f"{[*pre, *idx.shape]} to be no larger than self {[*pre, *x.shape]} apart "
                f"from dimension {d + len(pre)}"
            )
        )
    check_values(idx._data, x.shape[d] if x.ndim else 1, d, (idx, x))
    return d, idx


def check_scatter_value(op: str, x: Tensor, dim: int, index: Any) -> tuple[int, Tensor]:
    """``(d, index)`` for ``scatter`` with a number (no src to compare), or PyTorch's error."""
    d, idx = _index(op, x, dim, index, "scatter")
    if idx._data.size == 0:
        return d, idx
    if max(idx.ndim, 1) != max(x.ndim, 1):
        raise torch_words(
            RuntimeError("Index tensor must have the same number of dimensions as self tensor")
        )
    if _sizes_exceed(idx, x, d):
        pre = _batch_prefix(x, idx)  # under vmap: the physical shapes and dim
        raise torch_words(
            RuntimeError(
                f"Expected index {[*pre, *idx.shape]} to be no larger than self "
                f"{[*pre, *x.shape]} apart from dimension {d + len(pre)}"
            )
        )
    check_values(idx._data, x.shape[d] if x.ndim else 1, d, (idx, x))
    return d, idx


def check_select_values(x: Tensor, d: int, idx: Tensor) -> None:
    """index_select's bound check in PyTorch's CPU words: a 0-d or 1-d input (and dims other
    than 1) say "index out of range in self" (IndexError); dim 1, and any dim of an empty
    input of 2+ dims, name the value ("INDICES element is out of DATA bounds", RuntimeError);
    an empty input along ``d`` says its dim "should be positive"."""
    size = x.shape[d] if x.ndim else 1
    if x.ndim > 1 and x.numel() == 0 and idx.numel():
        if size == 0:
            raise torch_words(
                RuntimeError("index_select(): self indexing axis dim should be positive")
            )
        by_value = True
    else:
        by_value = x.ndim > 1 and d == 1
    bad = first_bad_index(idx._data, size)
    if bad is None:
        return
    if by_value:
        raise torch_words(
            IndexOutOfBounds(f"INDICES element is out of DATA bounds, id={bad} axis_dim={size}")
        )
    raise torch_words(IndexOutOfBounds("index out of range in self"))
