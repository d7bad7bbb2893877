"""Reading an index: how ``x[idx]`` / ``x[idx] = v`` interpret what is inside the brackets,
as PyTorch does, before :mod:`.subscript` records the read or the write.

Tensors in an index become arrays (long, int and bool tensors; a uint8 tensor is a mask, with
PyTorch's deprecation warning), lists holding tensors, sequences, slices or ``...`` are read
as tuples (PyTorch's deprecated form), negative slice steps are refused, ``True``/``False``
beside advanced indices are placed as PyTorch places them, and an index is split into its
arrays (saved for backward) and a template that rebuilds it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layout import has_order, is_vmap_array, relaid, stride_order
from .._user_warnings import warn_at_caller
from ..autograd.tensor import Tensor

__all__ = [
    "ARRAY",
    "convert_index",
    "drop_empty_ellipsis",
    "earlier_index_error",
    "has_advanced_int",
    "index_layout",
    "index_tensors",
    "join_index",
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
    its warning; a 0-d one silently); any other integer dtype is refused (IndexError)."""
    a = t._data
    dt = a.dtype
    if dt.kind == "i" and dt.itemsize >= 4:  # int32 / int64, the common case
        return int(a) if a.ndim == 0 else a  # a 0-d one selects as an int does: a view
    if dt.kind == "b":
        return a
    if dt == np.uint8:
        if a.ndim:
            warn_at_caller(
                "index: indexing with dtype uint8 is now deprecated, please use a dtype bool "
                "instead"
            )
        return a.astype(bool)
    raise IndexError(
        f"index: tensors used as indices must be long, int, byte or bool tensors, got {t.dtype}"
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
        return tuple(_convert_item(i) for i in idx)
    if type(idx) is list and _sequence_as_tuple(idx):
        warn_at_caller(_SEQUENCE_WARNING)
        return tuple(_convert_item(i) for i in idx)
    return _convert_item(idx)


def _convert_item(idx: Any) -> Any:
    """One item of an index, as :func:`convert_index` says; a slice must step forward
    (PyTorch's ValueError: a Tensor has no negative strides)."""
    if isinstance(idx, Tensor):
        return _tensor_index(idx)
    if isinstance(idx, slice):
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
    if isinstance(idx, np.ndarray) and idx.size == 0 and idx.dtype.kind == "f":
        return idx.astype(np.int64)
    return idx


def _dims_taken(i: Any) -> int:
    """How many dims of the indexed tensor one converted index item consumes."""
    if i is None or i is Ellipsis or _is_bool_scalar(i):
        return 0
    if getattr(i, "ndim", 0) > 0 and i.dtype == np.bool_:
        return i.ndim
    return 1


def _check_ellipses(idx: tuple, ndim: int) -> None:
    """PyTorch takes several ``...`` in one index (NumPy refuses): each stands for every
    dim the other items leave free, so the second one moves past the last dim and any item
    after it that needs a dim raises IndexError; otherwise the later ones change nothing
    (the caller drops them)."""
    free = ndim - sum(_dims_taken(i) for i in idx)
    dim, rdim = 0, ndim  # the position in the result PyTorch builds, and its dims
    for i in idx:
        if i is Ellipsis:
            dim += max(free, 0)
        elif i is None or _is_bool_scalar(i):  # an unsqueeze
            if dim > rdim:
                raise IndexError(f"index: dimension out of range: {dim} (with {rdim} dims)")
            dim, rdim = dim + 1, rdim + 1
        else:
            n = _dims_taken(i)
            if dim + n > rdim:
                raise IndexError(f"index: too many indices for tensor of dimension {ndim}")
            if _is_int(i) and not _is_array(i):
                rdim -= 1
            else:
                dim += n


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
        _check_ellipses(idx, ndim)
        e = next(k for k, i in enumerate(idx) if i is Ellipsis)
        idx = idx[: e + 1] + tuple(i for i in idx[e + 1 :] if i is not Ellipsis)
    arrays = [k for k, i in enumerate(idx) if _is_array(i)]
    e = next(k for k, i in enumerate(idx) if i is Ellipsis)
    if not arrays or arrays[0] > e or arrays[-1] < e:
        return idx
    if sum(_dims_taken(i) for i in idx) != ndim:
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
        taken.append((i, _dims_taken(i)))
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


def _expanded_strides(a: Any, bshape: tuple) -> list:
    """The strides in elements of index array ``a`` after PyTorch's ``expand`` to the
    broadcast ``bshape``: 0 along a broadcast dim; a new leading dim of size 1 takes the
    next dim's ``size * stride`` (as an unsqueeze)."""
    lead = len(bshape) - a.ndim
    own = [
        0 if n == 1 and bshape[lead + k] != 1 else s // a.itemsize
        for k, (n, s) in enumerate(zip(a.shape, a.strides))
    ]
    new: list = []
    for k in range(lead - 1, -1, -1):
        if bshape[k] != 1:
            new.insert(0, 0)
        else:
            nxt = (new + own)[0] if new or own else 1
            new.insert(0, bshape[k + 1] * nxt if k + 1 < len(bshape) else 1)
    return new + own


def _viewed_strides(shape: tuple, strides: list, new: tuple) -> list:
    """The strides ``Tensor.view(new)`` gives a tensor of ``shape`` and ``strides`` that
    ``new`` only adds dims of size 1 to (each chunk of dims that are laid out one after
    the other gives its new dims the chunk's innermost stride times the sizes inside)."""
    out = [0] * len(new)
    view_d = len(new) - 1
    base = strides[-1] if strides else 1
    numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        numel *= shape[d]
        if d == 0 or (shape[d - 1] != 1 and strides[d - 1] != numel * base):
            while view_d >= 0 and (view_numel < numel or new[view_d] == 1):
                out[view_d] = view_numel * base
                view_numel *= new[view_d]
                view_d -= 1
            if d > 0:
                base, numel, view_numel = strides[d - 1], 1, 1
    while view_d >= 0:  # a 0-d tensor viewed with dims of size 1
        out[view_d] = base
        view_d -= 1
    return out


def _row_major_order(shape: tuple, strides: tuple) -> bool:
    """Whether no two dims of an operand with these strides ask to be laid out other than
    row-major (:func:`~chainrule._layout.stride_order`'s comparison: a later dim with a
    larger stride, or an equal stride and a larger size; stride 0 tells nothing). Size-1
    dims count: their strides order the result's dims in PyTorch."""
    n = len(shape)
    for a in range(n):
        sa = strides[a]
        if sa == 0:
            continue
        for b in range(a + 1, n):
            sb = strides[b]
            if sb > sa or (sb == sa and shape[b] > shape[a]):
                return False
    return True


def _keeps_row_major(i: Any) -> bool:
    """Whether index item ``i`` leaves the order of the dims alone: a ``...``, a slice of
    step 1, a mask of 1 dim or more (its nonzero positions index as 1-d arrays), an index
    array whose strides fall (a None or a 0-d mask adds a dim whose stride may not, and a
    step slice may reorder)."""
    if i is Ellipsis:
        return True
    if isinstance(i, slice):
        return i.step is None or i.step == 1
    if getattr(i, "ndim", 0) == 0:
        return False
    return i.dtype == np.bool_ or _row_major_order(i.shape, i.strides)


def _preserved(shape: tuple, strides: list) -> list:
    """The strides ``Tensor.to`` gives a copy of a tensor of ``shape`` and ``strides``:
    the same when it is dense and non-overlapping, else dense with its dims in their
    stride order (an expanded index array becomes row-major)."""
    order = stride_order(shape, tuple(strides))
    dense, step = [0] * len(shape), 1
    for d in order:
        dense[d] = step
        step *= max(shape[d], 1)
    if all(n == 1 or s == t for n, s, t in zip(shape, strides, dense)):
        return strides
    return dense


def index_layout(x: Any, idx: Any, out: Any) -> Any:
    """``out = x[idx]`` (an advanced index: arrays, slices, None and ``...``; ints and bool
    scalars beside arrays were applied as a first stage) in PyTorch's layout. PyTorch
    applies the basic items (a None is an ``unsqueeze``, whose stride counts), then gathers
    through an elementwise loop over the result whose operands are that view, with stride
    0 along the broadcast dims of the index arrays (moved to the front when they are not
    adjacent), and each index array reshaped to the result's dims: the result's dims are
    ordered by those operands' strides, as an elementwise op's (``x[:, i]`` on a row-major
    ``x`` is row-major, NumPy's is not). ``out`` itself when it already is."""
    if out.ndim < 2 or out.size == 0 or is_vmap_array(out) or is_vmap_array(x):
        return out
    items = idx if type(idx) is tuple else (idx,)
    if _row_major_order(x.shape, x.strides) and all(_keeps_row_major(i) for i in items):
        # every operand's strides fall from the outer dims to the inner ones: row-major
        return _dense_in(out, list(range(out.ndim - 1, -1, -1)))
    ellipsis = x.ndim - sum(_dims_taken(i) for i in items)
    xsh = list(x.shape)
    xst = [s // x.itemsize for s in x.strides]
    for k in range(len(xst) - 1, -1, -1):  # a dim a None made: the stride Tensor.stride()
        if xsh[k] == 1 and xst[k] == 0:  # reports (PyTorch's unsqueeze rule), not NumPy's 0
            xst[k] = 1 if k == len(xst) - 1 else xsh[k + 1] * xst[k + 1]
    sh: list = []  # the basic view of x, as PyTorch makes it
    st: list = []
    arrays: list = []  # (dim of the basic view, index array)
    d = 0  # the next dim of x
    for i in items:
        if i is Ellipsis:
            sh += xsh[d : d + ellipsis]
            st += xst[d : d + ellipsis]
            d += ellipsis
        elif isinstance(i, slice):
            start, stop, step = i.indices(xsh[d])
            sh.append(len(range(start, stop, step)))
            st.append(xst[d] * step)
            d += 1
        elif i is None or (getattr(i, "ndim", None) == 0 and i.dtype == np.bool_):
            if i is not None:  # a 0-d mask: a new dim, indexed by the mask [i]
                arrays.append((len(sh), np.flatnonzero(i.reshape(1))))
            sh.append(1)
            st.append(xsh[d] * xst[d] if d < len(xsh) else 1)
        elif getattr(i, "ndim", 0) > 0 and i.dtype == np.bool_:
            for nz in i.nonzero():  # torch's: the columns (stride 1) of one nonzero
                arrays.append((len(sh), nz))
                sh.append(xsh[d])
                st.append(xst[d])
                d += 1
        elif getattr(i, "ndim", 0) > 0 and i.dtype.kind in "iu":
            arrays.append((len(sh), i))
            sh.append(xsh[d])
            st.append(xst[d])
            d += 1
        else:  # an int or a bool beside no array: not an advanced index
            return out
    if not arrays:
        return out
    sh += xsh[d:]
    st += xst[d:]
    dims = [k for k, _ in arrays]
    try:
        bshape = tuple(np.broadcast_shapes(*(a.shape for _, a in arrays)))
    except ValueError:
        return out
    rest = [k for k in range(len(sh)) if k not in dims]
    if dims == list(range(dims[0], dims[0] + len(dims))):
        before = [k for k in rest if k < dims[0]]
        after = [k for k in rest if k > dims[-1]]
    else:  # apart: the broadcast dims go first
        before, after = [], rest
    shape = tuple(sh[k] for k in before) + bshape + tuple(sh[k] for k in after)
    if shape != out.shape:
        return out
    nb = len(before)
    operands = [tuple(st[k] for k in before) + (0,) * len(bshape) + tuple(st[k] for k in after)]
    for _, a in arrays:
        own = _expanded_strides(a, bshape)
        if a.dtype.itemsize < 8:  # converted to int64 after the broadcast, by .to()
            own = _preserved(bshape, own)
        # viewed as [1] * before + bshape + [1] * after; a dim the result has longer is
        # broadcast (stride 0)
        view = (1,) * nb + bshape + (1,) * len(after)
        strides = _viewed_strides(bshape, own, view)
        operands.append(
            tuple(0 if n == 1 and m != 1 else s for n, m, s in zip(view, shape, strides))
        )
    return _dense_in(out, stride_order(shape, *operands))


def _dense_in(out: Any, order: list) -> Any:
    """``out`` laid out as ``torch.empty_strided`` with the dims in ``order`` (fastest
    first) lays out a result, size-1 dims included (each takes the product of the sizes
    inside it, as every other dim): ``out`` itself when it already is, a view of it when
    only the strides of its size-1 dims differ, else a copy."""
    expected, step = [0] * out.ndim, out.itemsize
    for d in order:
        expected[d] = step
        step *= out.shape[d]
    if list(out.strides) == expected:
        return out
    if has_order(out, order):  # the same memory: only size-1 dims have other strides
        outer_first = order[::-1]
        inner = out.transpose(outer_first)
        view = (
            inner.reshape(-1)
            .reshape(inner.shape)
            .transpose([outer_first.index(d) for d in range(out.ndim)])
        )
        if list(view.strides) == expected:
            return view
    return relaid(out, order, copy=True)


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
