"""Which layout PyTorch would report for an array whose memory order is ambiguous.

chainrule's convolutions compute their result channel-major: a dense ``(C, N, *spatial)``
buffer seen as ``(N, C, *spatial)`` (``ops/_conv_kernels.py``, chosen by measurement: no
transpose copy between layers), where PyTorch's result is contiguous. The very same strides
also arise where PyTorch has them too: ``nn.MultiheadAttention(batch_first=True)`` returns
its ``(L, N, E)`` result transposed, and ``x.transpose(0, 1)`` of any contiguous tensor is
laid out so. The strides cannot tell the two apart, yet what depends on the memory order must:
``stride()``, ``is_contiguous()``, ``contiguous()`` and the random fills, which PyTorch makes
in memory order (dropout's mask, ``bernoulli_``, ``uniform_``, ``rand_like``).

So the producer says which it is, by marking the array (not the Tensor: a mark in a Tensor's
``__dict__`` would be pickled with it, and arrays are what the layout code reads):

- :func:`mark_row_major`: the array is a convolution's channel-major result, row-major in
  PyTorch (``stride()`` reports the contiguous strides, ``is_contiguous()`` is True, and
  random fills draw in row-major order);
- :func:`mark_own_layout`: the array's strides are PyTorch's (the attention output), so
  random fills draw in its memory order.

An unmarked channel-major array keeps the older reading of each consumer: its own strides
for ``stride()`` / ``is_contiguous()``, row-major draws for the fills (the results of ReLU,
batch norm or pooling of a convolution's output, which keep its layout but carry no mark).
The marks live in a table keyed by the ``id`` of the memory's owner (as
``autograd/shared_memory.py`` remembers shared memory), one per shape and strides of a view
of it: marking costs a weak reference per convolution, a lookup is made only for an array
that is not row-major, a mark dies with its memory, and any view of that memory with the
marked shape and strides (``detach()``, ``.data``, ``y[:]``) reads it.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

__all__ = [
    "OWN_LAYOUT",
    "ROW_MAJOR",
    "carry_layout_mark",
    "channel_major_dense",
    "layout_mark",
    "logical_strides",
    "logically_contiguous",
    "mark_own_layout",
    "mark_row_major",
]

ROW_MAJOR = "row_major"  # channel-major memory that PyTorch lays out row-major
OWN_LAYOUT = "own_layout"  # the array's own strides are PyTorch's

# id(memory owner) -> (weak reference to the owner, {(shape, strides): mark}): a mark belongs
# to a layout of some memory, so every view of it with that very shape and strides (the
# ``x._data.view()`` of ``detach()``, ``.data``, ``y[:]``) reads it, and it dies with the memory
_MARKS: dict[int, tuple[Any, dict]] = {}


def _owner(arr: Any) -> Any:
    """The array at the root of ``arr``'s chain of views (the holder of its memory)."""
    while True:
        base = getattr(arr, "base", None)
        if base is None or not hasattr(base, "shape"):
            return arr
        arr = base


def _forget(key: int) -> Any:
    """The callback that drops the marks of the owner ``key`` when it is freed."""

    def forget(ref: Any) -> None:
        entry = _MARKS.get(key)
        if entry is not None and entry[0] is ref:
            del _MARKS[key]

    return forget


def _row_major_strides(arr: Any) -> tuple[int, ...]:
    """The strides in bytes of a row-major array of ``arr``'s shape and dtype (a size-0 or
    size-1 dim counted as 1, as PyTorch's ``contiguous()`` strides count it)."""
    strides, step = [], arr.itemsize
    for n in reversed(arr.shape):
        strides.append(step)
        step *= n if n > 0 else 1
    return tuple(reversed(strides))


def channel_major_dense(arr: Any) -> bool:
    """Whether ``arr`` (3-d or more) is dense with its first two dims swapped in memory,
    ``(C, N, *rest)`` seen as ``(N, C, *rest)``, and its strides are not already exactly the
    row-major ones (a size-1 N or C can make the two orders coincide but for a stride)."""
    if type(arr) is not np.ndarray:  # a CuPy array; not a vmap per-sample one (the batch's)
        if getattr(type(arr), "vmap_raw_array", False) or not hasattr(arr, "flags"):
            return False
    if arr.ndim < 3 or arr.size == 0 or not arr.swapaxes(0, 1).flags.c_contiguous:
        return False
    return not arr.flags.c_contiguous or arr.strides != _row_major_strides(arr)


def _mark(arr: Any, kind: str) -> Any:
    owner = _owner(arr)
    key = id(owner)
    entry = _MARKS.get(key)
    if entry is None or entry[0]() is not owner:
        try:
            entry = (weakref.ref(owner, _forget(key)), {})
        except TypeError:  # memory held by no weak-referenceable object: left unmarked
            return arr
        _MARKS[key] = entry
    entry[1][(arr.shape, arr.strides)] = kind
    return arr


def mark_row_major(arr: Any) -> Any:
    """Mark ``arr``, a convolution's result, as row-major in PyTorch when it is laid out
    channel-major (:func:`channel_major_dense`); any other layout (channels-last, already
    row-major) is left unmarked, its strides being PyTorch's. Returns ``arr``."""
    if channel_major_dense(arr):
        _mark(arr, ROW_MAJOR)
    return arr


def mark_own_layout(arr: Any) -> Any:
    """Mark ``arr`` as laid out as PyTorch lays it out, though it looks like a
    convolution's result (``MultiheadAttention(batch_first=True)``'s transposed output).
    Returns ``arr``."""
    if channel_major_dense(arr):
        _mark(arr, OWN_LAYOUT)
    return arr


def layout_mark(arr: Any) -> str | None:
    """``ROW_MAJOR``, ``OWN_LAYOUT`` or None (unmarked) for ``arr``: the mark given to its
    memory seen with its shape and strides."""
    if not _MARKS or arr.ndim < 3:  # nothing marked alive, or no layout that can be marked
        return None
    owner = _owner(arr)
    entry = _MARKS.get(id(owner))
    if entry is None or entry[0]() is not owner:
        return None
    return entry[1].get((arr.shape, arr.strides))


def logical_strides(arr: Any, strides: tuple[int, ...]) -> tuple[int, ...]:
    """The strides (elements) PyTorch reports for ``arr``, given ``strides``, the ones read
    from its memory: the row-major ones for a convolution's channel-major result
    (:func:`mark_row_major`), else ``strides``."""
    if arr.flags.c_contiguous and 1 not in arr.shape:
        return strides
    if layout_mark(arr) == ROW_MAJOR:
        return tuple(s // arr.itemsize for s in _row_major_strides(arr))
    return strides


def logically_contiguous(arr: Any) -> bool:
    """PyTorch's ``is_contiguous()`` for ``arr``: row-major memory, or a convolution's
    channel-major result (:func:`mark_row_major`)."""
    return bool(arr.flags.c_contiguous) or layout_mark(arr) == ROW_MAJOR


def carry_layout_mark(out: Any, src: Any) -> Any:
    """Give ``out`` (a new array computed from ``src`` in ``src``'s layout: a dropout's
    product, an ``empty_like``) ``src``'s mark when it has ``src``'s strides. Returns
    ``out``."""
    if out is src or getattr(type(src), "vmap_raw_array", False) or not hasattr(src, "flags"):
        return out
    if out.strides != src.strides or (src.flags.c_contiguous and 1 not in src.shape):
        return out
    kind = layout_mark(src)
    if kind is not None:
        _mark(out, kind)
    return out
