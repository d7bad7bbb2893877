"""Which in-place writes read a source that shares the written tensor's memory, as PyTorch
decides: elementwise ops and ``copy_`` refuse a *partial* overlap (the result would depend
on the order of the writes; the same elements in the same layout, ``y.mul_(y)``, are fine),
the ops that write at indices (``index_add_``, ``index_copy_``, ``index_put_``, ``scatter_``,
``put_``, ...) refuse *any* overlap, and ``masked_fill_``/``index_fill_``/``masked_scatter_``
check nothing. Only two dense blocks are compared (PyTorch does not decide other layouts,
and allows them), except a source that is the tensor written itself.

Writes *into* a tensor whose elements share memory are here too: an expanded tensor takes
the elements a masked or indexed write changes, one after another (:func:`write_spread`), and
a tensor that overlaps itself without an expanded dim (``unfold`` windows, an overlapping
``as_strided`` view, which PyTorch writes without a check) takes an elementwise op's result
one element after another, each reading what the elements before it left
(:func:`write_rounds`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import grad_mode
from ..autograd.tensor import Tensor
from ..autograd.view_flat import byte_offsets, data_pointer, no_self_overlap
from ..backend import get_array_module

__all__ = [
    "aliases",
    "check_no_overlap",
    "check_partial_overlap",
    "overlap_writes",
    "rewrite_overlapping_out",
    "setitem_through_subview",
    "tangent_after_write",
    "write_rounds",
    "write_spread",
]

# In-place ops that write some elements only (at indices, under a mask, a triangle): into a
# tensor whose elements overlap in memory without an expanded dim, only those elements are
# written (write_spread); the elementwise ops go one element after another (write_rounds)
_WRITES_SOME = frozenset(
    ("index_fill_", "masked_fill_", "index_put_", "scatter_", "setitem")
    + ("tril_", "triu_", "fill_diagonal_")
)
# ... and those neither elementwise nor writing some elements only: written as computed
_NOT_ELEMENTWISE = frozenset(
    ("addbmm_", "addmm_", "addmv_", "baddbmm_", "cumprod_", "cumsum_", "renorm_")
    + ("index_add_", "index_copy_", "index_reduce_", "masked_scatter_", "put_")
    + ("scatter_add_", "scatter_reduce_")
)


def setitem_through_subview(x: Tensor, idx: Any, value: Any) -> bool:
    """Record ``x[idx] = value`` as PyTorch does when ``x`` is a view whose elements overlap
    in memory (``unfold`` windows) and ``idx`` is a basic index: as ``x[idx].copy_(value)``,
    a write into the sub-view, so that the base's ``CopySlices`` covers the places written
    and nothing else (an index put on the whole overlapping view would also send the
    gradient of those places to the old values of the elements sharing them). Returns
    whether it did (False: ``x`` overlaps nothing, or ``idx`` picks no view)."""
    d = x._data
    if x._view is None or d.flags.c_contiguous or d.size <= 1 or no_self_overlap(d):
        return False
    try:
        region = d[idx]
    except (IndexError, TypeError, ValueError):
        return False
    if not get_array_module(d).may_share_memory(region, d):  # index arrays: a copy
        return False
    x[idx].copy_(value)
    return True


# The ops with out= among those whose out= is checked for partial overlap (keywords.py) that
# are not elementwise: their out= is written as computed
_OUT_NOT_ELEMENTWISE = frozenset(
    """addmm cat column_stack concat concatenate cumprod cumsum diff dstack hstack kron
    logcumsumexp masked_select msort row_stack stack vstack""".split()
)


def rewrite_overlapping_out(
    op: str, fn: Callable, args: tuple, kwargs: dict, result: Any, out: Any
) -> None:
    """After ``write_out`` wrote ``result`` into ``out``: when ``out``'s elements overlap in
    memory (``unfold`` windows) and an input shares ``out``'s memory, PyTorch's elementwise
    kernel read each element as the writes before it left it (``torch.add(v, 1, out=v)``
    adds once per element sharing a location, as ``v.add_(1)``): ``out`` is written again
    that way, in rounds (:func:`write_rounds`, recomputing ``fn(*args, **kwargs)``, which
    reads the memory being written). Nothing is done for any other ``out``."""
    if not isinstance(out, Tensor) or not isinstance(result, Tensor):
        return
    d = out._data
    if d.flags.c_contiguous or d.size <= 1 or op in _OUT_NOT_ELEMENTWISE:
        return
    if result._data.shape != d.shape or no_self_overlap(d):
        return
    xp = get_array_module(d)
    if any(
        isinstance(a, Tensor) and xp.may_share_memory(a._data, d) for a in (*args, *kwargs.values())
    ):
        write_rounds(out, result, lambda _x: fn(*args, **kwargs), (), {})


def overlap_writes(arr: Any, name: str) -> tuple[bool, bool]:
    """For an in-place op ``name`` writing into ``arr`` (a view's array, not C-contiguous):
    ``(spread, rounds)``, whether the write must go by :func:`write_spread` or by
    :func:`write_rounds` because ``arr``'s elements overlap in memory (both False when they
    do not, or for an op that is neither elementwise nor a masked or indexed write)."""
    if arr.size <= 1 or no_self_overlap(arr):
        return False, False
    spread = name in _WRITES_SOME
    return spread, not spread and name not in _NOT_ELEMENTWISE


def write_spread(arr: Any, out: Any) -> None:
    """Write ``out`` into ``arr``, whose elements share memory, as PyTorch's kernels for
    masked and indexed writes do: only the elements the op changed are written, one after
    another, so a location that one element changes is not written back by another that
    shares it unchanged."""
    changed = out != arr
    arr[changed] = out[changed]


def write_rounds(x: Tensor, out: Tensor, fn: Callable, args: tuple, kwargs: dict) -> None:
    """Write ``fn(x, *args)`` (``out``: its value on ``x``'s current values) into ``x``, whose
    elements overlap in memory (``x.unfold(0, 3, 1).add_(1)``), as PyTorch's elementwise
    kernels do: element after element in ``x``'s C order, each reading the location it
    writes as the elements before it left it (so ``add_(1)`` adds once per element sharing
    a location). Done in rounds: round ``r`` writes, for every location, its ``r``-th
    element, after recomputing ``fn`` (not recorded) on the values round ``r - 1`` left.
    PyTorch's own order may differ from C order for other layouts and in its vectorized
    inner loops (large tensors): its result there is unspecified."""
    d = x._data
    offsets = byte_offsets(d.shape, d.strides).reshape(-1)
    order = np.argsort(offsets, kind="stable")  # C order within each location
    sorted_off = offsets[order]
    first = np.r_[True, sorted_off[1:] != sorted_off[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(offsets.size), 0))
    rank = np.empty(offsets.size, np.int64)
    rank[order] = np.arange(offsets.size) - group_start  # r: the r-th element at its place
    rank = get_array_module(d).asarray(rank.reshape(d.shape))  # (a CuPy array on the GPU)
    for r in range(int(rank.max()) + 1):
        if r:
            with grad_mode.no_grad():
                out = fn(x, *args, **kwargs)
        take = rank == r
        d[take] = out._data.astype(d.dtype, copy=False)[take]


# PyTorch's words (assert_no_partial_overlap / assert_no_overlap), after the op's name
PARTIAL_OVERLAP = (
    "unsupported operation: some elements of the input tensor and the written-to tensor "
    "refer to a single memory location. Please clone() the tensor before performing the "
    "operation."
)


def _dense(arr: Any) -> bool:
    """Whether ``arr``'s elements fill one gap-free block of memory, each once (any order of
    dims): the only layout for which PyTorch's overlap check decides, and so does this."""
    expected = arr.itemsize
    for st, n in sorted((abs(st), n) for n, st in zip(arr.shape, arr.strides) if n != 1):
        if st != expected:
            return False
        expected *= n
    return True


def check_partial_overlap(target: Any, source: Any, name: str) -> None:
    """Refuse an in-place write into ``target`` (an array) that reads ``source`` (an array of
    the same memory family) when the two overlap partially (PyTorch's rule): the result
    would depend on the order the elements are written in. Exactly the same elements in the
    same layout (``y.mul_(y)``) are fine, and so is every case where one of the two is not a
    dense block (PyTorch does not decide those either, and allows them)."""
    if target.size == 0 or source.size == 0 or not (_dense(target) and _dense(source)):
        return
    t0, s0 = data_pointer(target), data_pointer(source)
    t_lo = t0 + sum(st * (n - 1) for n, st in zip(target.shape, target.strides) if st < 0)
    s_lo = s0 + sum(st * (n - 1) for n, st in zip(source.shape, source.strides) if st < 0)
    same = (  # the stride of a size-1 dim is never used (an expand may leave 0 there)
        t0 == s0
        and target.shape == source.shape
        and all(a == b for n, a, b in zip(target.shape, target.strides, source.strides) if n > 1)
    )
    if same or t_lo + target.nbytes <= s_lo or s_lo + source.nbytes <= t_lo:
        return
    raise RuntimeError(f"{name}: {PARTIAL_OVERLAP}")  # (they overlap, not element for element)


def check_no_overlap(x: Tensor, source: Tensor, name: str) -> None:
    """Refuse an in-place write into ``x`` that reads ``source`` when the two share any
    element (PyTorch's rule for the ops that write at indices: ``index_add_``,
    ``index_copy_``, ``index_put_``, ``scatter_``, ``put_``, ...): ``source`` being ``x``
    itself is refused whatever its layout; otherwise only two dense blocks whose memory
    ranges meet are (PyTorch does not decide other layouts, and allows them)."""
    if source is not x:
        if source._vc is not x._vc:
            return
        a, b = x._data, source._data
        if a.size == 0 or b.size == 0 or not (_dense(a) and _dense(b)):
            return
        a_lo = data_pointer(a) + sum(st * (n - 1) for n, st in zip(a.shape, a.strides) if st < 0)
        b_lo = data_pointer(b) + sum(st * (n - 1) for n, st in zip(b.shape, b.strides) if st < 0)
        if a_lo + a.nbytes <= b_lo or b_lo + b.nbytes <= a_lo:
            return
    raise RuntimeError(f"{name}: {PARTIAL_OVERLAP}")  # (the source aliases the tensor written)


# In-place ops that write at indices: a source sharing any memory with the tensor written is
# refused (check_no_overlap), not only a partial overlap as for elementwise ops; and those
# whose source may alias it freely (a masked_fill_/index_fill_ value of one element of it,
# masked_scatter_'s source: PyTorch checks none).
_NO_OVERLAP = frozenset(
    ("index_add_", "index_copy_", "index_put_", "index_reduce_", "put_", "scatter_")
    + ("scatter_add_", "scatter_reduce_")
)
_ANY_OVERLAP = frozenset(("index_fill_", "masked_fill_", "masked_scatter_"))


def aliases(x: Tensor, args: tuple, kwargs: dict, name: str) -> bool:
    """Whether an argument of an in-place op on ``x`` shares ``x``'s memory (same version
    counter: a view, a detached alias); an overlap PyTorch refuses raises
    (:func:`check_partial_overlap`, or :func:`check_no_overlap` for ``_NO_OVERLAP``'s ops)."""
    found = False
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor) and a._vc is x._vc:
            if name in _NO_OVERLAP:
                check_no_overlap(x, a, name)
            elif name not in _ANY_OVERLAP:
                check_partial_overlap(x._data, a._data, name)
            found = True
    return found


def tangent_after_write(x: Tensor, old_self: Any, fn: Callable, args: tuple, kwargs: dict) -> Any:
    """The tangent of an in-place op on ``x`` whose argument shares ``x``'s memory, as
    PyTorch's: its forward-mode formula runs after the write, so such an argument is read
    with its new values (``y.mul_(y.detach())``: ``t * y_new``), while ``self`` in the
    formula is the old value (PyTorch's ``original_self``) with its old tangent. The op is
    evaluated again, unrecorded, on the old value and the arguments as they are now."""
    self_old = Tensor._make(old_self, False, None, 0)
    self_old._fw_tangent = x._fw_tangent  # (not yet replaced: write_tangent comes after)
    with grad_mode.no_grad():
        again = fn(self_old, *args, **kwargs)
    return again._fw_tangent
