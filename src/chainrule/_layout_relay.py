"""Laying a convolution's result out row-major in place, only where no alias can tell.

chainrule computes a convolution channel-major where PyTorch's result is row-major
(``_layout_marks.py``: the array is marked ``ROW_MAJOR``). Where the memory order itself is
seen (``view(n, -1)``, ``reshape``, ``contiguous()``, ``numpy()``), the tensor's memory is
laid out row-major once, in place (same values: the tensor's ``_data`` becomes a new
row-major array), as PyTorch's already is. That parts the tensor from anything still holding
the old memory, so it is done (:func:`relay_row_major`) only while the tensor is the one
holder a user can reach:

- its views move with it (session 42): a convolution's result remembers its views weakly
  (:func:`note_view`, called by ``record_view``; views of views included) and a relayout,
  asked of the result or of any of its views, re-takes each live view on the new memory
  (:func:`_remap`: each stride and the offset read as whole steps along the result's dims,
  which must not carry from one dim into the next; then every element of the view is the
  same element of the result, and its new strides are PyTorch's). Where one view has no
  such reading (an ``as_strided`` window across rows, a ``view(dtype)``-like
  reinterpretation), nothing is re-laid and the memory is marked shared, as a view did
  to any base before session 42 (and still does to any other base that is not row-major).
  Until then ``y[:]`` or a slice taken first made ``y.view(2, -1)`` refuse and
  ``contiguous()`` copy where PyTorch's view and return ``y``, and ``numpy()`` of a view
  gave chainrule's strides. A view asks only where PyTorch's memory order is seen through
  it (``view``, ``reshape``, ``numpy()``, ``detach()``, ``.data``, a ``contiguous()`` of a
  view PyTorch has contiguous). Cost: a weak reference per view of a marked result (no
  lookup while no result has views: ``VIEW_GROUPS`` empty), nothing for other tensors;
- its memory was not handed out (``autograd/shared_memory.is_shared``): ``numpy()``,
  ``from_numpy``, storages, shared memory;
- no other Tensor aliases it: what makes an alias a user sees (``detach()``, ``.data``,
  ``numpy()``, ``__array__``) calls :func:`before_alias` first while some mark is alive,
  so a convolution's result is laid out row-major *before* the alias is made: both then
  share PyTorch's row-major memory for good (and ``numpy()``'s array has PyTorch's
  strides). Other memory that is not row-major is marked shared instead, so that no mark
  it may take later (an in-place op's result) lets a relayout part it from the alias.
  (Until session 41 ``view`` also re-laid unmarked memory, for a convolution's input
  gradient, which now carries the mark: ``view`` of any other memory is as strict as
  PyTorch's.) A marked result that is row-major but for a size-1 dim's stride (a batch
  of one) takes a view with PyTorch's strides (no copy), so ``numpy()`` gives them.

:func:`relay_row_major` (``contiguous()``, ``reshape``, same-shape views) re-lays only
``ROW_MAJOR``-marked memory: any other array's strides are PyTorch's (``_layout_marks.py``),
which a relayout would change. While no mark is alive :func:`before_alias` is not called
(the callers test :data:`~chainrule._layout_marks.LAYOUT_MARKS` first): no memory is marked
then, so none is relaid. Aliases that chainrule makes internally (``cr.func`` transforms,
forward AD's duals, a module's ``Buffer``, ``nn.Parameter(t)``) do not call it; the
engine's detached ``autograd.grad`` results do (a marked gradient is laid out row-major
there: a copy, the one PyTorch's contiguous gradient needs no).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from ._layout import torch_strides
from ._layout_marks import (
    LAYOUT_MARKS,
    ROW_MAJOR,
    channel_major_dense,
    layout_mark,
    logical_strides,
)
from .autograd.shared_memory import is_shared, mark_shared
from .backend import get_array_module

__all__ = ["VIEW_GROUPS", "before_alias", "note_view", "relay_row_major"]

# id(base Tensor) -> (weak reference to it, [weak references to its views]): the views of a
# convolution's channel-major result (``ROW_MAJOR``-marked, its memory handed to no one),
# which a relayout of the base re-takes on the new memory (:func:`_relay_group`)
VIEW_GROUPS: dict[int, tuple[Any, list]] = {}


def _forget_group(key: int) -> Any:
    """The callback that drops the view group of the base ``key`` when the base is freed."""

    def forget(ref: Any) -> None:
        group = VIEW_GROUPS.get(key)
        if group is not None and group[0] is ref:
            del VIEW_GROUPS[key]

    return forget


def note_view(view: Any, base: Any, first: bool = True) -> None:
    """Called by ``record_view`` for a new ``view`` of ``base`` laid out otherwise than
    row-major (``first``), or of a view of the root ``base`` while some base has a group: a
    convolution's result that no alias reaches (``ROW_MAJOR``-marked, unshared NumPy memory)
    remembers its views weakly, so that a later relayout (``view(n, -1)``, ``contiguous()``,
    ``numpy()``, of the base or of a view) moves the base and its views together, as
    PyTorch's already share row-major memory; any other base's memory is marked shared (no
    relayout may part it from the view), as before session 42."""
    arr = base._data
    if first and not LAYOUT_MARKS and type(arr) is np.ndarray and arr.ndim == 2:
        # a column-major matrix (an inverse, a factor: LAPACK's layout) while no mark lives
        # (no group, no ROW_MAJOR): _lapack_layout's answer by two stride tests (session 44:
        # ~0.5 us less per ``mT`` of a saved inverse in its backward)
        st, n = arr.strides, arr.itemsize
        if st[0] == n and st[1] == n * arr.shape[0]:
            return
    key = id(base)
    group = VIEW_GROUPS.get(key)
    if group is not None and group[0]() is base:
        views = group[1]
        if len(views) >= 64:  # (a loop of slices: drop the dead references now and then)
            views[:] = [r for r in views if r() is not None]
        views.append(weakref.ref(view))
        return
    if not first:  # (a view of a view whose base has no group: its memory is shared)
        return
    if (
        type(arr) is np.ndarray
        and not arr.flags.c_contiguous
        and layout_mark(arr) == ROW_MAJOR
        and not is_shared(arr)
    ):
        VIEW_GROUPS[key] = (weakref.ref(base, _forget_group(key)), [weakref.ref(view)])
    elif not _lapack_layout(arr):
        mark_shared(arr)


def _lapack_layout(arr: Any) -> bool:
    """Whether ``arr`` is a dense stack of column-major matrices (LAPACK's layout, which
    ``linalg`` results have as PyTorch's: ``ops/_result_layout.column_major``) and not
    channel-major (``(C, N, ...)`` seen as ``(N, C, ...)``): memory no mark can make
    ``ROW_MAJOR``, hence never re-laid, so its views need not mark it shared (session 43:
    that cost ~2 us per ``mT`` of an inverse in its backward)."""
    if type(arr) is not np.ndarray or arr.ndim < 2 or not arr.swapaxes(-1, -2).flags.c_contiguous:
        return False
    return arr.ndim == 2 or not channel_major_dense(arr)


def _decode(value: int, dims: list) -> list[int] | None:
    """``value`` (bytes) as a count per base dim (``dims``: (memory stride, dim), outermost
    first, nested), None when it is not a sum of whole steps (a remainder, a negative)."""
    counts = []
    for st, _ in dims:
        c, value = divmod(value, st)
        counts.append(c)
    return counts if value == 0 and all(c >= 0 for c in counts) else None


def _remap(v: Any, old: Any, new: Any) -> Any:
    """The view ``v`` of the base array ``old`` re-taken on ``new`` (``old`` laid out
    row-major: the same values), or None where no exact one is known. Each of ``v``'s
    strides and its offset are read as whole steps along ``old``'s dims; the steps must stay
    within each dim along every dim of ``v`` together (no carry: then each element of ``v``
    is the same element of the base, by the uniqueness of the mixed-radix reading of an
    address), and ``v``'s new strides are the same steps over ``new``'s strides. A slice, a
    select, a ``transpose``, a split by ``view``, ``unsqueeze``, ``expand`` qualify; a merge
    of dims (only made of row-major memory here) or a dtype view does not."""
    item = old.itemsize
    if type(v) is not np.ndarray or v.dtype != old.dtype or v.size == 0:
        return None
    dims = sorted(
        ((st, d) for d, (n, st) in enumerate(zip(old.shape, old.strides)) if n > 1),
        reverse=True,
    )
    for (outer, _), (inner, d) in zip(dims, dims[1:]):
        if inner <= 0 or outer < inner * old.shape[d]:  # not a nested (dense or gapped) layout
            return None
    offset = _decode(v.ctypes.data - old.ctypes.data, dims)
    if offset is None or any(c >= old.shape[d] for c, (_, d) in zip(offset, dims)):
        return None
    reach = list(offset)  # the last index along each base dim that v reaches
    strides = []
    reported = logical_strides(v, torch_strides(v))  # (a size-1 dim keeps what it reported)
    for n, st, was in zip(v.shape, v.strides, reported):
        if n == 1:  # (reads nothing: the stride it reported, whatever its memory's)
            strides.append(was * item)
            continue
        steps = _decode(st, dims)
        if steps is None:
            return None
        for k, c in enumerate(steps):
            reach[k] += c * (n - 1)
        strides.append(sum(c * new.strides[d] for c, (_, d) in zip(steps, dims)))
    if any(r >= old.shape[d] for r, (_, d) in zip(reach, dims)):
        return None
    start = sum(c * new.strides[d] for c, (_, d) in zip(offset, dims)) // item
    flat = new.reshape(-1)[start:]
    return np.lib.stride_tricks.as_strided(
        flat, v.shape, strides, writeable=bool(v.flags.writeable)
    )


def _relay_group(x: Any, group: tuple) -> bool:
    """Lay the base ``x`` out row-major with all its live views (``group``): each view is
    re-taken on the new memory (:func:`_remap`). When one cannot be, nothing changes and
    the memory is marked shared (the views keep it, as before session 42)."""
    arr = x._data
    del VIEW_GROUPS[id(x)]
    views = [v for r in group[1] if (v := r()) is not None]
    new = np.ascontiguousarray(arr)
    moved = []
    for v in views:
        # (an ``as_strided`` view's chain of bases ends at NumPy's helper, not at the owner;
        # a view whose memory was replaced, ``set_``, ``.data =``, is no longer the base's)
        if type(v._data) is np.ndarray and not np.may_share_memory(v._data, arr):
            continue
        data = _remap(v._data, arr, new)  # (None for a vmap per-sample array: refused)
        if data is None:
            mark_shared(arr)
            return False
        moved.append((v, data))
    x._data = new
    for v, data in moved:
        v._data = data
    return True


def relay_row_major(x: Any) -> bool:
    """Lay the Tensor ``x``'s memory out row-major in place when it is a convolution's
    channel-major result (``ROW_MAJOR``-marked) that no alias can reach (see the module
    docstring), or a view of one (session 42: the base and its views move together,
    :func:`note_view`). Returns whether it did; the values, ``stride()`` and
    ``is_contiguous()`` (PyTorch's) are unchanged either way."""
    if not LAYOUT_MARKS:
        return False
    if x._view is not None:
        if not VIEW_GROUPS:
            return False
        x = x._view.base
        group = VIEW_GROUPS.get(id(x))
        if group is None or group[0]() is not x:
            return False
    arr = x._data
    # (a vmap per-sample array has no flags: its class answers; asking the instance raises
    # vmap's error. A meta array has its own)
    flags = arr.flags if hasattr(type(arr), "flags") else None
    if flags is None or flags.c_contiguous or layout_mark(arr) != ROW_MAJOR or is_shared(arr):
        return False
    group = VIEW_GROUPS.get(id(x))
    if group is not None and group[0]() is x:
        return _relay_group(x, group)
    x._data = get_array_module(arr).ascontiguousarray(arr)
    return True


def before_alias(x: Any) -> None:
    """Called while some mark is alive by what makes another holder of the Tensor ``x``'s
    memory (``detach()``, ``.data``, ``numpy()``, ``__array__``), before it does so: a
    convolution's result no alias reaches yet is laid out row-major in place (as
    :func:`relay_row_major`, with its views), so that ``x`` and the alias share PyTorch's
    row-major memory; any other memory that is not row-major is marked shared, so that no
    later relayout of ``x`` or of the alias parts them. A view of such a result relays its
    base and the base's views first (session 42); the memory of any other base that is not
    row-major was marked shared when its first view was made (``record_view``)."""
    if x._view is not None:
        if VIEW_GROUPS:
            relay_row_major(x)
        return
    arr = x._data
    # (a vmap per-sample array has no flags: its class answers; asking the instance raises
    # vmap's error. A meta array has its own)
    flags = arr.flags if hasattr(type(arr), "flags") else None
    if flags is None:
        return
    if flags.c_contiguous:  # a size-1 dim's stride aside, row-major: only that one differs
        if layout_mark(arr) == ROW_MAJOR:  # (a batch of one's gradient: (C, 1, H, W) memory)
            x._data = arr.reshape(-1).reshape(arr.shape)  # the same memory, PyTorch's strides
        return
    if not relay_row_major(x):
        mark_shared(arr)
