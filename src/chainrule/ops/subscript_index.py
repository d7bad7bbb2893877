"""Reading an index: how ``x[idx]`` / ``x[idx] = v`` interpret what is inside the brackets,
as PyTorch does, before :mod:`.subscript` records the read or the write.

Tensors in an index become arrays (long, int and bool tensors; a uint8 tensor is a mask, with
PyTorch's deprecation warning), lists holding tensors, sequences, slices or ``...`` are read
as tuples (PyTorch's deprecated form), negative slice steps are refused, ``True``/``False``
beside advanced indices are placed as PyTorch places them, and an index is split into its
arrays (saved for backward) and a template that rebuilds it.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .._user_warnings import warn_at_caller
from ..autograd.tensor import Tensor

__all__ = [
    "ARRAY",
    "convert_index",
    "drop_empty_ellipsis",
    "earlier_index_error",
    "has_advanced_int",
    "dims_taken",
    "index_tensors",
    "join_index",
    "shape_without_bounds",
    "split_index",
    "split_int_and_array",
    "view_index",
]

_SEQUENCE_WARNING = (
    "Using a non-tuple sequence for multidimensional indexing is deprecated and will be "
    "changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will "
    "be interpreted as tensor index, x[torch.tensor(seq)], which will result either in an "
    "error or a different result"
)


def _tensor_index(t: Tensor) -> Any:
    """The array a Tensor index stands for, as PyTorch reads it: long, int and bool tensors
    as they are; a uint8 (byte) tensor as a bool *mask* (PyTorch's deprecated legacy, with
    its warning; a 0-d one silently); a 0-d tensor of any other integer dtype (int16, int8,
    uint16, ...) selects as an int, as in PyTorch; any other index tensor is refused
    (IndexError)."""
    a = t._data
    dt = a.dtype
    if dt.kind == "i" and dt.itemsize >= 4:  # int32 / int64, the common case
        return int(a) if a.ndim == 0 else a  # a 0-d one selects as an int does: a view
    if dt.kind == "b":
        return a
    if dt.kind in "iu" and a.ndim == 0 and dt != np.uint8:
        return int(a)
    if dt == np.uint8:
        if a.ndim:
            warn_at_caller(
                # PyTorch's text, which filters match by its start
                "indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                "torch.bool instead."
            )
        return a.astype(bool)
    raise IndexError(
        "tensors used as indices must be long, int, byte or bool tensors\n"
        f"index: an index tensor of dtype {t.dtype}"
    )


def _sequence_as_tuple(seq: list) -> bool:
    """PyTorch's (and old NumPy's) rule for a list index: read as a tuple of indices (one per
    dim, with a deprecation warning) when it holds a Tensor, a sequence, a slice, ``...`` or
    None and has fewer than 32 items; else it is one index array."""
    if len(seq) >= 32:
        return False
    return any(
        isinstance(i, (Tensor, list, tuple, slice, np.ndarray)) or i is None or i is Ellipsis
        for i in seq
    )


def convert_index(idx: Any) -> Any:
    """Tensors and lists inside an index become arrays (bool lists stay masks). An empty
    list or NumPy array selects nothing, whatever dtype NumPy gave it (``[]`` and
    ``np.array([])`` are float64): PyTorch reads it as an empty long index, so
    ``h[:, finished, :] = 0`` with no finished rows is a no-op, not an IndexError. A list
    of indices (``x[[0, [1, 2]]]``) is a tuple, as PyTorch reads it (:func:`_sequence_as_tuple`)."""
    if isinstance(idx, tuple):
        _check_slices(idx)
        return tuple(_convert_item(i) for i in idx)
    if type(idx) is list and _sequence_as_tuple(idx):
        warn_at_caller(_SEQUENCE_WARNING)
        _check_slices(idx)
        return tuple(_convert_item(i) for i in idx)
    return _convert_item(idx)


def _check_slices(items: Any) -> None:
    """The slices' step errors first (PyTorch applies the slices before it reads the index
    tensors: ``x[float_tensor, ::0]`` is the slice's ValueError)."""
    for i in items:
        if isinstance(i, slice):
            _convert_item(i)


def _convert_item(idx: Any) -> Any:
    """One item of an index, as :func:`convert_index` says; a slice must step forward
    (PyTorch's ValueError: a Tensor has no negative strides)."""
    if isinstance(idx, Tensor):
        return _tensor_index(idx)
    if isinstance(idx, slice):
        if any(isinstance(b, Tensor) for b in (idx.start, idx.stop, idx.step)):
            idx = _int_bounds(idx)
        if idx.step is not None and idx.step <= 0:
            raise ValueError(
                "slice step cannot be zero"
                if idx.step == 0
                else f"step must be greater than zero (got {idx.step}; use flip() to reverse)"
            )
        return idx
    if isinstance(idx, tuple):  # a tuple inside an index is one index array, as a list
        idx = list(idx)
    if isinstance(idx, np.ndarray) and idx.dtype == np.uint8 and idx.ndim:
        return _tensor_index(Tensor._make(idx, False, None, 0))  # a mask, as PyTorch reads it
    if isinstance(idx, list):
        idx = np.asarray([i.item() if isinstance(i, Tensor) else i for i in idx])
    if isinstance(idx, np.ndarray) and idx.dtype.kind in "fc":
        return _long_index(idx)
    return idx


def _int_bounds(s: slice) -> slice:
    """``s`` with its tensor bounds read as ints now, as PyTorch reads them when it indexes
    (``x[begin:begin + n]`` with a 0-d ``begin`` that a later ``begin += n`` changes in place:
    the recorded slice, which the backward re-applies, must not see the change)."""
    return slice(
        *(operator.index(b) if isinstance(b, Tensor) else b for b in (s.start, s.stop, s.step))
    )


def _long_index(a: np.ndarray) -> np.ndarray:
    """A float or complex NumPy array (or list) used as an index, read as PyTorch reads index
    *data* (not a Tensor): cast to a long index, truncating toward zero (``x[np.array([1.7,
    -1.2])]`` takes rows 1 and -1; NaN and inf become the lowest long, out of bounds), the
    imaginary part of complex data dropped with PyTorch's warning. An empty one (``[]`` and
    ``np.array([])`` are float64) selects nothing. A float *Tensor* stays an error."""
    if a.dtype.kind == "c":
        warn_at_caller("Casting complex values to real discards the imaginary part")
        a = a.real
    with np.errstate(invalid="ignore"):
        out = a.astype(np.int64)
    out[~np.isfinite(a)] = np.iinfo(np.int64).min
    return out


def dims_taken(i: Any) -> int:
    """How many dims of the indexed tensor one converted index item consumes."""
    if i is None or i is Ellipsis or _is_bool_scalar(i):
        return 0
    if getattr(i, "ndim", 0) > 0 and i.dtype == np.bool_:
        return i.ndim
    return 1


def _check_ellipses(idx: tuple, ndim: int) -> set:
    """PyTorch takes several ``...`` in one index (NumPy refuses): each stands for every
    dim the other items leave free, so the second one moves past the last dim and any item
    after it that needs a dim raises IndexError; otherwise the later ones change nothing
    (the caller drops them). A full slice (``:``, ``0::1``) past the last dim is skipped
    by PyTorch as slicing nothing, without a check of the dim: the positions of such
    slices (to drop). (A slice with a stop there reads a size past the tensor's sizes in
    PyTorch; chainrule refuses it, as PyTorch does when that memory holds no 0.)"""
    free = ndim - sum(dims_taken(i) for i in idx)
    if free < 0:
        raise IndexError(f"index: too many indices for tensor of dimension {ndim}")
    dim, rdim = 0, ndim  # the position in the result PyTorch builds, and its dims
    skip = set()
    for k, i in enumerate(idx):
        if isinstance(i, slice) and dim >= rdim and _skipped_slice(i):
            skip.add(k)
            dim += 1
        elif i is Ellipsis:
            dim += max(free, 0)
        elif i is None or _is_bool_scalar(i):  # an unsqueeze
            if dim > rdim:
                raise IndexError(f"index: dimension out of range: {dim} (with {rdim} dims)")
            dim, rdim = dim + 1, rdim + 1
        else:
            n = dims_taken(i)
            if dim + n > rdim:
                raise IndexError(f"index: too many indices for tensor of dimension {ndim}")
            if _is_int(i) and not _is_array(i):
                rdim -= 1
            else:
                dim += n
    return skip


def _skipped_slice(s: slice) -> bool:
    """Whether PyTorch skips slice ``s`` past the last dim (see :func:`_check_ellipses`)."""
    return s.stop is None and s.start in (None, 0) and s.step in (None, 1)


def drop_empty_ellipsis(idx: Any, ndim: int) -> Any:
    """``idx`` with one ``...`` at most (PyTorch reads any after the first as standing for
    no dim), without a ``...`` that stands for no dim, where it sits between index
    arrays. PyTorch expands ``...`` into slices before it places the dims of the advanced
    indices, so ``x[:, i, ..., j]`` on three dims has ``i`` and ``j`` adjacent (their dims
    stay in place); NumPy takes any ``...`` between them as a separator and moves the
    broadcast dims to the front."""
    if type(idx) is not tuple or not any(i is Ellipsis for i in idx):
        return idx
    if sum(i is Ellipsis for i in idx) > 1:
        skip = _check_ellipses(idx, ndim)
        e = next(k for k, i in enumerate(idx) if i is Ellipsis)
        idx = idx[: e + 1] + tuple(
            i for k, i in enumerate(idx[e + 1 :], e + 1) if i is not Ellipsis and k not in skip
        )
    arrays = [k for k, i in enumerate(idx) if _is_array(i)]
    e = next(k for k, i in enumerate(idx) if i is Ellipsis)
    if not arrays or arrays[0] > e or arrays[-1] < e:
        return idx
    if sum(dims_taken(i) for i in idx) != ndim:
        return idx
    return idx[:e] + idx[e + 1 :]


def earlier_index_error(shape: tuple, idx: Any) -> None:
    """Raise the IndexError PyTorch raises while it applies the basic part of an index
    (ints, slices, None, ...), before it reaches a slice with a step that is not positive
    (which :func:`convert_index` refuses with a ValueError) or refuses to write into a leaf:
    too many index items for the tensor, or an integer (left of such a slice) out of range
    of its dim. The items are read as PyTorch reads them, left to right; index tensors are
    applied later."""
    if isinstance(idx, slice):  # a bare slice: PyTorch slices at once, checking the step
        return
    if type(idx) is not tuple:
        idx = (idx,)
    taken = []
    for i in idx:
        if isinstance(i, Tensor):
            a = i._data
            i = a.astype(bool) if a.dtype == np.uint8 else a  # uint8: a deprecated byte mask
            if not (i.ndim or i.dtype == np.bool_):
                i = int(i)
        elif isinstance(i, (list, tuple)):
            i = np.zeros(len(i), dtype=np.int64)  # one index array
        taken.append((i, dims_taken(i)))
    total = sum(n for _, n in taken)
    if total > len(shape):
        raise IndexError(f"index: too many indices for tensor of dimension {len(shape)}")
    dim = 0
    for k, (i, n) in enumerate(taken):
        if i is Ellipsis:
            dim = len(shape) - sum(m for _, m in taken[k + 1 :])
            continue
        if isinstance(i, slice):
            if i.step is not None and i.step <= 0:
                return
        elif _is_int(i) and not isinstance(i, np.ndarray):
            size = shape[dim]
            if not -size <= int(i) < size:
                raise IndexError(
                    f"index: index {int(i)} is out of bounds for dimension {dim} with size {size}"
                )
        dim += n


def view_index(idx: Any) -> Any:
    """Append ``...`` so that integer-only indexing gives a 0-d *view*, not a NumPy scalar
    copy (``t[0].mul_(2)`` must write into ``t``, as in PyTorch)."""
    if isinstance(idx, tuple):
        if any(i is Ellipsis for i in idx):
            return idx
        return idx + (Ellipsis,)
    if idx is Ellipsis:
        return idx
    return (idx, Ellipsis)


def has_advanced_int(idx: Any) -> bool:
    items = idx if isinstance(idx, tuple) else (idx,)
    for i in items:
        if hasattr(i, "dtype") and getattr(i, "ndim", 0) >= 0 and i.dtype.kind in "iu":
            return True
    return False


class _IndexArray:
    """Stands in an index kept on ``ctx`` for an index array, which is saved for backward
    instead (:func:`split_index`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<saved index array>"


def split_index(idx: Any) -> tuple:
    """``(template, arrays)``: ``idx`` with each index array (ndim >= 1) replaced by a
    placeholder, and those arrays, which an op saves for backward (so that the engine frees
    them and saved-tensor hooks see them). Integers, slices, None and ... stay in place."""
    if getattr(idx, "ndim", 0) > 0:
        return ARRAY, (idx,)
    if type(idx) is tuple and any(getattr(i, "ndim", 0) > 0 for i in idx):
        arrays = tuple(i for i in idx if getattr(i, "ndim", 0) > 0)
        return tuple(ARRAY if getattr(i, "ndim", 0) > 0 else i for i in idx), arrays
    return idx, ()


def join_index(template: Any, arrays: Any) -> Any:
    """The index :func:`split_index` split: the placeholders replaced by ``arrays`` in order
    (raw arrays, or the Tensors ``saved_tensors`` returned: their arrays are used)."""
    if not arrays:
        return template
    raw = iter(a._data if isinstance(a, Tensor) else a for a in arrays)
    if template is ARRAY:
        return next(raw)
    return tuple(next(raw) if i is ARRAY else i for i in template)


def _is_int(i: Any) -> bool:
    return (
        isinstance(i, (int, np.integer))
        and not isinstance(i, bool)
        or (hasattr(i, "ndim") and i.ndim == 0 and i.dtype.kind in "iu")
    )


def _is_array(i: Any) -> bool:
    return hasattr(i, "ndim") and i.ndim > 0


def _is_bool_scalar(i: Any) -> bool:
    return (
        i is True
        or i is False
        or isinstance(i, np.bool_)
        or (getattr(i, "ndim", None) == 0 and i.dtype == np.bool_)
    )


def split_int_and_array(idx: tuple) -> tuple | None:
    """PyTorch applies integer indices as *basic* indexing (they select and drop a dim), while
    NumPy treats an int beside an index array as advanced, which moves the broadcast dims when
    a slice separates them. PyTorch reads a bool scalar (``True``, a 0-d bool tensor) as a new
    dim of size 1 indexed by the one-element mask ``[b]``; NumPy's bool scalar is advanced
    too (and alone, NumPy's copy is not laid out as PyTorch's). Split such an index into
    stages: (ints, slices and the new dims; the index arrays, a k-dim mask standing for k
    slices in the first stage)."""
    ints = arrays = bools = False
    for i in idx:
        if _is_bool_scalar(i):
            bools = True
        elif _is_int(i):
            ints = True
        elif _is_array(i):
            arrays = True
    if not ((ints and arrays) or bools):  # (bools alone too: PyTorch's layout of the result
        return None  # is the second stage's, NumPy's copy has its own)
    first: list = []
    second: list = []
    for i in idx:
        if _is_bool_scalar(i):
            first.append(None)
            second.append(np.array([bool(i)]))
        elif _is_int(i):
            first.append(i)
        elif _is_array(i):
            first.extend((slice(None),) * (i.ndim if i.dtype == np.bool_ else 1))
            second.append(i)
        else:  # a slice, None or ...: applied in the first stage
            first.append(i)
            second.append(i if i is Ellipsis else slice(None))
    return tuple(first), tuple(second)


def index_tensors(idx: Any) -> tuple:
    """The Tensors inside an index (their arrays are what GetItem's backward reads)."""
    return tuple(i for i in (idx if isinstance(idx, tuple) else (idx,)) if isinstance(i, Tensor))


ARRAY = _IndexArray()
"""The placeholder of an index array in :func:`split_index`'s template."""


def shape_without_bounds(data: Any, idx: Any) -> tuple | None:
    """The shape of ``data[idx]`` (a converted index) with each integer index array's
    positions taken as 0: the shape PyTorch checks a written value against before it
    checks those positions. None if it has no such array or still fails."""
    parts = idx if type(idx) is tuple else (idx,)
    arrays = [isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in parts]
    if not any(arrays):
        return None
    zeroed = tuple(np.zeros_like(p) if a else p for p, a in zip(parts, arrays))
    try:
        return data[view_index(zeroed if type(idx) is tuple else zeroed[0])].shape
    except IndexError:
        return None
