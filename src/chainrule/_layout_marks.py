"""Which layout PyTorch would report for an array whose memory order is ambiguous.

chainrule's convolutions compute their result channel-major: a dense ``(C, N, *spatial)``
buffer seen as ``(N, C, *spatial)`` (``ops/_conv_kernels.py``, chosen by measurement: no
transpose copy between layers), where PyTorch's result is contiguous. The very same strides
also arise where PyTorch has them too: ``nn.MultiheadAttention(batch_first=True)`` returns
its ``(L, N, E)`` result transposed, and ``x.transpose(0, 1)`` of any contiguous tensor is
laid out so. The strides cannot tell the two apart, yet what depends on the memory order must:
``stride()``, ``is_contiguous()``, ``contiguous()`` and the random fills, which PyTorch makes
in memory order (dropout's mask, ``bernoulli_``, ``uniform_``, ``rand_like``).

So the producer whose strides are not PyTorch's says so, by marking the array (not the
Tensor: a mark in a Tensor's ``__dict__`` would be pickled with it, and arrays are what the
layout code reads); an unmarked array's own strides are PyTorch's (a user's transpose, the
attention output):

- :func:`mark_row_major`: the array is a convolution's channel-major result, row-major in
  PyTorch (``stride()`` reports the contiguous strides, ``is_contiguous()`` is True, and
  random fills draw in row-major order); :func:`mark_contiguous_result` marks so whatever
  a convolution's kernels compute that is not row-major (session 41: its result, its input
  and weight gradients, its tangent, a crop of a padded buffer among them);
- a tuple of strides (:func:`mark_permuted`, :func:`mark_as`): PyTorch's strides for a view
  of a marked array (a transpose, a slice, a select of a convolution's result) or for an op's
  result computed from one (``_layout_carry.py``, called by ``Function.apply`` while some mark
  is alive: ``relu``, ``+``, batch norm, pooling of a convolution's result keep its
  channel-major memory and take its mark).

The marks live in a table keyed by the ``id`` of the memory's owner (as
``autograd/shared_memory.py`` remembers shared memory), one per shape and strides of a view
of it: marking costs a weak reference per convolution, a lookup is made only for an array
that is not row-major (or while some row-major memory is marked: :data:`C_MARKED`), a mark
dies with its memory, and any view of that memory with the marked shape and strides
(``detach()``, ``.data``, ``y[:]``) reads it.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

__all__ = [
    "C_MARKED",
    "LAYOUT_MARKS",
    "ROW_MAJOR",
    "carry_layout_mark",
    "channel_major_dense",
    "layout_mark",
    "logical_strides",
    "logically_contiguous",
    "mark_as",
    "mark_contiguous_result",
    "mark_permuted",
    "mark_row_major",
    "memory_owner",
    "set_mark",
    "view_strides",
]

_ndarray = np.ndarray
# memory that PyTorch lays out row-major: a convolution's channel-major result, a stack of
# them (_layout_carry.py); laid out row-major in place where no alias can tell (_layout_relay.py)
ROW_MAJOR = "row_major"

# id(memory owner) -> (weak reference to the owner, {(shape, strides): mark}): a mark belongs
# to a layout of some memory, so every view of it with that very shape and strides (the
# ``x._data.view()`` of ``detach()``, ``.data``, ``y[:]``) reads it, and it dies with the memory
_MARKS: dict[int, tuple[Any, dict]] = {}
# the same table under a public name, for a cheap "is anything marked?" test in the hot paths
# (autograd's Function.apply, permutations): the dict is only ever mutated, never rebound
LAYOUT_MARKS = _MARKS
# the ids of the owners with a mark on a C-contiguous layout (a transpose of a convolution's
# result is row-major memory here): while it is empty, an op's row-major inputs need no lookup
C_MARKED: set[int] = set()


def memory_owner(arr: Any) -> Any:
    """The array at the root of ``arr``'s chain of views (the holder of its memory; also
    what ``autograd/shared_memory.py`` keys on)."""
    while True:
        base = getattr(arr, "base", None)
        if base is None or not hasattr(base, "shape"):
            return arr
        arr = base


def _forget(key: int) -> Any:
    """The callback that drops the marks of the owner ``key`` when it is freed (a closure
    over a plain ``weakref.ref``: calling a ``weakref.ref`` subclass that held the key
    costs ~10x a plain one's call, which every lookup of a mark makes)."""

    def forget(ref: Any) -> None:
        entry = _MARKS.get(key)
        if entry is not None and entry[0] is ref:
            del _MARKS[key]
            C_MARKED.discard(key)

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


def set_mark(arr: Any, kind: str | tuple) -> Any:
    """Mark ``arr`` with ``kind`` (``ROW_MAJOR`` or PyTorch's strides), as given: the caller
    knows it applies (:func:`mark_row_major` checks the layout first). Returns ``arr``."""
    owner = arr.base if type(arr) is _ndarray else arr  # (CuPy, meta: memory_owner below)
    if owner is None:  # (a fresh NumPy array, or a view of one: the common cases, inline)
        owner = arr
    elif type(owner) is not _ndarray or owner.base is not None:
        owner = memory_owner(arr)
    key = id(owner)
    entry = _MARKS.get(key)
    if entry is None or entry[0]() is not owner:
        try:
            entry = _MARKS[key] = (weakref.ref(owner, _forget(key)), {})
        except TypeError:  # memory held by no weak-referenceable object: left unmarked
            return arr
        C_MARKED.discard(key)  # (an id reused after its owner died)
    entry[1][(arr.shape, arr.strides)] = kind
    if arr.flags.c_contiguous:
        C_MARKED.add(key)
    return arr


def mark_row_major(arr: Any) -> Any:
    """Mark ``arr``, a convolution's result, as row-major in PyTorch when it is laid out
    channel-major (:func:`channel_major_dense`); any other layout (channels-last, already
    row-major) is left unmarked, its strides being PyTorch's. Returns ``arr``."""
    if channel_major_dense(arr):
        set_mark(arr, ROW_MAJOR)
    return arr


def mark_contiguous_result(arr: Any) -> Any:
    """Mark ``arr``, a result that PyTorch allocates contiguous (a convolution kernel's: its
    output, its input gradient, its weight gradient), ``ROW_MAJOR`` when its strides are not
    the row-major ones: a channel-major buffer, the weight gradient's ``(C*kh*kw, O)``
    memory seen as ``(O, C, kh, kw)``, or a crop of a padded buffer (a transposed
    convolution with padding, an input gradient of a padded one), whose gaps a later
    relayout (``_layout_relay.py``) drops. Not for a channels-last result (its strides are
    PyTorch's: the callers lay it out so first). Returns ``arr``."""
    if type(arr) is not _ndarray:  # a CuPy array; not a vmap per-sample one (the batch's)
        if getattr(type(arr), "vmap_raw_array", False) or not hasattr(arr, "flags"):
            return arr
    if arr.ndim < 2 or not arr.size:
        return arr
    if arr.flags.c_contiguous and (1 not in arr.shape or arr.strides == _row_major_strides(arr)):
        return arr  # (row-major, a size-1 dim's stride too: its strides are PyTorch's)
    set_mark(arr, ROW_MAJOR)
    return arr


def layout_mark(arr: Any) -> str | tuple | None:
    """``ROW_MAJOR``, PyTorch's strides (a tuple, :func:`mark_permuted`) or None (unmarked:
    its own strides are PyTorch's) for ``arr``: the mark given to its memory seen with its
    shape and strides."""
    if not _MARKS or arr.ndim < 2:  # nothing marked alive, or no layout that can be marked
        return None
    owner = memory_owner(arr)
    entry = _MARKS.get(id(owner))
    if entry is None or entry[0]() is not owner:
        return None
    return entry[1].get((arr.shape, arr.strides))


def logical_strides(arr: Any, strides: tuple[int, ...]) -> tuple[int, ...]:
    """The strides (elements) PyTorch reports for ``arr``, given ``strides``, the ones read
    from its memory: the row-major ones for a convolution's channel-major result
    (:func:`mark_row_major`), the recorded ones for a permutation of it
    (:func:`mark_permuted`), else ``strides``."""
    kind = layout_mark(arr)
    if kind is None:
        return strides
    if kind == ROW_MAJOR:
        return tuple(s // arr.itemsize for s in _row_major_strides(arr))
    return kind


def logically_contiguous(arr: Any) -> bool:
    """PyTorch's ``is_contiguous()`` for ``arr``: row-major memory that is not a view of a
    convolution's result with other strides in PyTorch (:func:`mark_permuted`,
    :func:`carry_input_marks`), or a convolution's channel-major result
    (:func:`mark_row_major`)."""
    kind = layout_mark(arr)
    if kind is None:
        return bool(arr.flags.c_contiguous)
    if kind == ROW_MAJOR:
        return True
    step = 1  # PyTorch's rule: each dim longer than 1 steps over the dims inside it
    for n, st in zip(reversed(arr.shape), reversed(kind)):
        if n != 1:
            if st != step:
                return False
            step *= n
    return True


def view_strides(out: Any, src: Any, kind: str | tuple) -> tuple | None:
    """PyTorch's strides (elements) for ``out``, a view of ``src``'s memory (a slice, a
    select, a ``view`` splitting or merging dims), when ``src`` has PyTorch's strides
    ``kind`` (:func:`logical_strides`): each of ``out``'s strides is a step of ``k`` along
    one dim of ``src`` (the outermost whose memory stride divides it, ``k`` within its
    size), hence ``k`` times that dim's PyTorch stride; else (session 42: a ``diagonal``,
    an ``as_strided`` window) steps along several dims, read outermost first, each
    weighted by its dim's PyTorch stride. None when a stride is neither (negative, a
    remainder); a size-1 dim's is the extent of the dims inside it, as ``unsqueeze``'s,
    unless ``out`` adds no dim: then a slice's (:func:`_sliced_stride`, session 43)."""
    item = src.itemsize
    own = [st // item for st in src.strides]
    wanted = logical_strides(src, tuple(own)) if type(kind) is str else kind
    dims = sorted((st, n, w) for st, n, w in zip(own, src.shape, wanted) if n > 1 and st > 0)[::-1]
    strides = []
    inner = 1  # the extent of the dims inside, PyTorch's stride for a size-1 dim there
    for n, st in zip(reversed(out.shape), reversed(out.strides)):
        st //= item
        if n == 1 or st == 0:
            kept = None
            if n == 1 and st > 0 and out.ndim <= src.ndim:  # (not an unsqueeze)
                kept = _sliced_stride(st, len(out.shape) - 1 - len(strides), out, src, own, wanted)
            strides.append((inner if kept is None else kept) if n == 1 else 0)
            continue
        if st < 0:
            return None
        for mem, size, w in dims:
            if st % mem == 0 and st // mem < size:
                strides.append(st // mem * w)
                break
        else:  # steps along several dims (a diagonal: PyTorch's is the sum of their strides)
            total = 0
            for mem, _, w in dims:
                k, st = divmod(st, mem)
                total += k * w
            if st:
                return None
            strides.append(total)
        inner = strides[-1] * n
    return tuple(reversed(strides))


def _sliced_stride(st: int, d: int, out: Any, src: Any, own: list, wanted: tuple) -> int | None:
    """PyTorch's stride for ``out``'s size-1 dim ``d`` when ``out`` is a view of ``src``
    adding no dim (a slice, a select), its memory stride ``st`` (elements) being ``k``
    whole steps of one dim of ``src`` (``own``: ``src``'s memory strides, ``wanted`` its
    PyTorch ones): ``k`` times that dim's PyTorch stride, as PyTorch's slice keeps ``step *
    stride`` (session 43). The dim is ``src``'s dim ``d`` when no dim was dropped and every
    size fits (a slice); else a size-1 dim of ``src`` with that very stride (carried
    through), one dim's step, or the outermost dim's whose stride divides ``st``. None
    when none does."""
    if out.ndim == src.ndim and all(n <= m for n, m in zip(out.shape, src.shape)):
        mem = own[d]
        return st // mem * wanted[d] if mem > 0 and st % mem == 0 else None
    dims = [(mem, n, w) for mem, n, w in zip(own, src.shape, wanted) if mem > 0]
    for mem, n, w in dims:
        if n == 1 and mem == st:
            return w
    dims = sorted((mem, w) for mem, n, w in dims if n > 1)[::-1]
    for mem, w in dims:
        if mem == st:
            return w
    for mem, w in dims:
        if st % mem == 0:
            return st // mem * w
    return None


def mark_as(out: Any, strides: tuple) -> None:
    """Mark ``out`` with PyTorch's ``strides`` (elements) for it: nothing when they are its
    own (an unmarked array's strides are PyTorch's), ``ROW_MAJOR`` for a channel-major
    ``out`` whose PyTorch strides are the row-major ones, else the strides themselves."""
    item = out.itemsize
    if strides == tuple(st // item for st in out.strides):
        return
    if channel_major_dense(out) and strides == tuple(st // item for st in _row_major_strides(out)):
        set_mark(out, ROW_MAJOR)
    else:
        set_mark(out, strides)


def mark_permuted(out: Any, src: Any, axes: tuple) -> Any:
    """Mark ``out``, ``src.transpose(axes)``, with the strides PyTorch reports for it when
    ``src`` is marked: the permutation of ``src``'s (:func:`logical_strides`), recorded
    when they differ from ``out``'s own (a transpose of a convolution's result),
    ``ROW_MAJOR`` when they are the row-major ones of a channel-major ``out`` (transposed
    back). An unmarked ``src`` leaves ``out`` unmarked: its strides are PyTorch's.
    Returns ``out``."""
    if layout_mark(src) is not None:
        item = out.itemsize
        wanted = logical_strides(src, tuple(st // item for st in src.strides))
        mark_as(out, tuple(wanted[a] for a in axes))
    return out


def carry_layout_mark(out: Any, src: Any) -> Any:
    """Give ``out`` (a new array computed from ``src`` in ``src``'s layout: a dropout's
    product, an ``empty_like``, a cast) ``src``'s mark when it has ``src``'s strides (in
    elements). Returns ``out``."""
    if out is src or getattr(type(src), "vmap_raw_array", False) or not hasattr(src, "flags"):
        return out
    if not _MARKS:
        return out
    if out.strides != src.strides and (  # (the same strides in elements: another dtype's copy)
        out.itemsize == src.itemsize
        or [s // out.itemsize for s in out.strides] != [s // src.itemsize for s in src.strides]
    ):
        return out
    kind = layout_mark(src)
    if kind is not None:
        set_mark(out, kind)
    return out
