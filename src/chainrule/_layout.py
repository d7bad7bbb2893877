"""Memory layouts of raw arrays as PyTorch lays tensors out: stride orders and dense copies.

The pure-array half of chainrule's layout rules, below both ``autograd`` and ``ops``: the
engine lays out a leaf's first ``.grad`` with :func:`grad_layout`, and
``ops/_result_layout.py`` (which says which op follows which rule) builds on the rest.

The stride order of several operands is an insertion sort of the dims, fastest first, where
an operand tells two dims apart only when both have a nonzero stride (a dim it is broadcast
along carries no order; a size-1 dim's stride counts, as in PyTorch); equal strides put the
larger dim outside. A pair no operand tells apart keeps the row-major order. A
``cr.func.vmap`` per-sample array (``vmap_raw_array``) has no layout of its own (its batch's
is the one that counts): the helpers that lay out a whole array pass it through untouched,
as they do an array already in the layout asked for, so a row-major input costs no copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._layout_marks import C_MARKED, carry_layout_mark
from .backend import get_array_module
from .meta.array import MetaArray
from .meta.strides import expand_strides, leaf_grad_layout, meta_is_contiguous

__all__ = [
    "broadcast_strides",
    "contiguous",
    "contiguous_strides",
    "dense_strides",
    "dense_order",
    "expanded",
    "grad_layout",
    "grad_order",
    "has_order",
    "has_own_layout",
    "is_vmap_array",
    "like_layout",
    "relaid",
    "relaid_tensor",
    "stride_order",
    "strides_exactly_row_major",
    "torch_strides",
]


def is_vmap_array(arr: Any) -> bool:
    """Whether ``arr`` is a ``cr.func.vmap`` per-sample array (no strides of its own)."""
    return getattr(type(arr), "vmap_raw_array", False)


def is_vmap_batched(arr: Any) -> bool:
    """Whether ``arr`` is a per-sample array of ``cr.func.vmap`` with a batch behind it (a
    ``MetaArray`` also carries ``vmap_raw_array``, to be wrapped like an array, but has no
    batch: ops' vmap paths must not take it)."""
    return type(arr) is not MetaArray and bool(getattr(type(arr), "vmap_raw_array", False))


def contiguous_strides(shape: tuple) -> tuple[int, ...]:
    """C-order strides in elements for ``shape`` (an axis of length 0 counts as 1, as
    PyTorch's ``contiguous()`` strides do)."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n if isinstance(n, int) and n > 0 else 1
    return tuple(reversed(strides))


def torch_strides(arr: Any) -> tuple[int, ...]:
    """``arr``'s strides in elements as PyTorch reports them (``Tensor.stride()``).

    NumPy gives an array with no elements all-zero strides; PyTorch gives a new empty tensor
    the row-major strides of its shape with each size taken as at least 1 (``(0, 3)`` has
    ``(3, 1)``), and so does this. (An empty *view* keeps NumPy's strides.)

    NumPy also gives a size-1 dim made by ``None`` indexing stride 0, where PyTorch's
    ``unsqueeze`` rule gives the next dim's ``size * stride`` (1 for the last dim):
    ``x[None, :, None]`` of a ``(3, 7)`` tensor has ``(21, 7, 1, 1)``; such dims read that
    rule. Strides set explicitly (``as_strided``, ``empty_strided``, ``expand`` where
    PyTorch's strides differ from NumPy's: :func:`expanded`; NumPy's ``as_strided`` array
    under them) are reported as set. A size-1 slice of an expanded dim, which a NumPy array
    cannot tell apart from an unsqueezed one, reads the unsqueeze rule too where PyTorch
    keeps 0."""
    item = arr.itemsize
    raw = arr.strides
    if arr.size == 0 and not any(raw):
        return contiguous_strides(arr.shape)
    st = tuple(s // item for s in raw)
    shape = arr.shape
    if 1 in shape and 0 in st and type(arr.base).__name__ != "DummyArray":
        fixed = list(st)
        for d in range(len(fixed) - 1, -1, -1):
            if shape[d] == 1 and fixed[d] == 0:
                last = d == len(fixed) - 1
                fixed[d] = 1 if last else shape[d + 1] * fixed[d + 1]
        st = tuple(fixed)
    return st


def broadcast_strides(src_shape: tuple, src_strides: tuple, shape: tuple) -> tuple:
    """The strides (elements) ``src_strides`` of a ``src_shape`` operand over the broadcast
    ``shape``, as PyTorch's elementwise ordering sees them: 0 along new dims and dims it is
    broadcast on; a size-1 dim that stays size 1 keeps its stride (NumPy's ``broadcast_to``
    zeroes it, PyTorch's order counts it)."""
    lead = len(shape) - len(src_shape)
    own = tuple(
        0 if n == 1 and shape[lead + i] != 1 else s
        for i, (n, s) in enumerate(zip(src_shape, src_strides))
    )
    return (0,) * lead + own


def dense_strides(shape: tuple, order: list[int]) -> list[int]:
    """The strides (elements) of a dense array of ``shape`` whose dims run ``order``,
    fastest first, size-1 dims included (each the product of the sizes inside it), as
    PyTorch allocates an elementwise result."""
    st = [0] * len(shape)
    step = 1
    for d in order:
        st[d] = step
        step *= shape[d]
    return st


def expanded(arr: Any, shape: tuple) -> Any:
    """``arr`` broadcast to ``shape`` (a read-only view), with PyTorch's ``expand`` strides
    on its size-1 dims: NumPy's ``broadcast_to`` gives them 0, PyTorch keeps a kept dim's
    stride and gives a new leading size-1 dim the next dim's ``size * stride``
    (``arange(4).expand(1, 4)``: ``(4, 1)``), which slices and copies of the view keep.
    Only a shape with a size-1 dim pays for more than ``broadcast_to`` (an ``as_strided``
    view, whose strides :func:`torch_strides` reads as set)."""
    if 1 not in shape or type(arr) is not np.ndarray:
        return get_array_module(arr).broadcast_to(arr, shape)
    shape = tuple(shape)
    src = arr.shape
    lead = len(shape) - len(src)
    if lead < 0 or any(n != 1 and n != shape[i + lead] for i, n in enumerate(src)):
        return np.broadcast_to(arr, shape)  # NumPy's error
    item = arr.itemsize
    want = expand_strides(src, torch_strides(arr), shape)  # (meta's rule: the same)
    return np.lib.stride_tricks.as_strided(arr, shape, [s * item for s in want], writeable=False)


def _compare(shape: tuple, strides: tuple, a: int, b: int) -> int:
    """1 when dim ``a`` goes outside dim ``b``, -1 when inside, 0 when no operand says
    (``strides``: each operand's strides over the result's ``shape``)."""
    for st in strides:
        sa, sb = st[a], st[b]
        if sa == 0 or sb == 0:
            continue
        if sa != sb:
            return 1 if sa > sb else -1
        if shape[a] > shape[b]:
            return 1
    return 0


def stride_order(shape: tuple, *strides: tuple) -> list[int]:
    """The dims of a result of ``shape`` from the fastest-varying to the slowest, given its
    operands' ``strides`` over that shape (0 along a dim an operand is broadcast on)."""
    n = len(shape)
    order = list(range(n - 1, -1, -1))
    for i in range(1, n):
        j = i
        for k in range(i - 1, -1, -1):
            c = _compare(shape, strides, order[k], order[j])
            if c > 0:
                order[k], order[j] = order[j], order[k]
                j = k
            elif c < 0:
                break
    return order


def has_order(arr: Any, order: list[int]) -> bool:
    """Whether ``arr`` is dense with its dims laid out in ``order`` (size-1 dims aside)."""
    expected = arr.itemsize
    shape, strides = arr.shape, arr.strides
    for d in order:
        if shape[d] != 1:
            if strides[d] != expected:
                return False
            expected *= shape[d]
    return True


def dense_order(arr: Any) -> list[int] | None:
    """``arr``'s dims fastest first when it is dense and non-overlapping (PyTorch's
    ``is_non_overlapping_and_dense``), else None (a step slice, a broadcast dim)."""
    order = stride_order(arr.shape, arr.strides)
    return order if has_order(arr, order) else None


def relaid(arr: Any, order: list[int], copy: bool = False) -> Any:
    """``arr`` in a dense layout whose dims run ``order``, fastest first: ``arr`` itself when
    it already is (unless ``copy``), else a new array."""
    if not copy and has_order(arr, order):
        return arr
    xp = get_array_module(arr)
    outer_first = order[::-1]
    buf = xp.empty([arr.shape[d] for d in outer_first], dtype=arr.dtype)
    out = buf.transpose([outer_first.index(d) for d in range(arr.ndim)])
    out[...] = arr
    return out


def relaid_tensor(t: Any, order: list[int]) -> Any:
    """The Tensor ``t`` in a dense layout whose dims run ``order``, fastest first, recorded
    (a ``contiguous`` copy between two permutes, so it is differentiable): ``t`` itself when
    its array already is."""
    if has_order(t._data, order):
        return t
    outer_first = order[::-1]
    if outer_first == sorted(outer_first):
        return t.contiguous()  # row-major
    inner = t.permute(*outer_first).contiguous()
    return inner.permute(*[outer_first.index(d) for d in range(len(order))])


def has_own_layout(arr: Any) -> bool:
    """Whether ``arr`` is a strided array that is not row-major: False for a row-major one
    and for a ``cr.func.vmap`` per-sample array (its layout is the batch's, not its own)."""
    if is_vmap_array(arr):  # a meta array: its own (PyTorch's) strides, kept beside its zeros
        return type(arr) is MetaArray and not meta_is_contiguous(arr)
    return not arr.flags.c_contiguous


def contiguous(arr: Any) -> Any:
    """``arr`` row-major: itself when it already is (or is a vmap per-sample array, whose
    layout is the batch's), else a row-major copy."""
    if is_vmap_array(arr) or arr.flags.c_contiguous:
        return arr
    return get_array_module(arr).ascontiguousarray(arr)


def strides_exactly_row_major(arr: Any) -> bool:
    """Whether ``arr``'s strides are exactly the row-major ones: a C-contiguous array with
    no size-1 dim (NumPy's flag ignores their strides, PyTorch's layouts keep them) and not
    empty (whose strides are free). The cheap test the layout helpers return early on."""
    return arr.flags.c_contiguous and arr.size != 0 and 1 not in arr.shape


def _with_strides(arr: Any, like: Any, copy: bool) -> Any:
    """``arr`` (shaped as ``like``, dense and non-overlapping or empty) with ``like``'s very
    strides in elements as PyTorch reports them (:func:`torch_strides`), those of its size-1
    dims included: ``arr`` itself when it has them (unless ``copy``), else a new array over a
    buffer of ``arr.size`` elements."""
    item = arr.itemsize
    strides = tuple(s * item for s in torch_strides(like))
    if not copy and arr.strides == strides:
        return arr
    xp = get_array_module(arr)
    buf = xp.empty(arr.size, dtype=arr.dtype)
    out = xp.lib.stride_tricks.as_strided(buf, arr.shape, strides)
    out[...] = arr
    return out


def like_layout(arr: Any, like: Any, copy: bool = False) -> Any:
    """``arr`` (shaped as ``like``) in the layout ``torch.empty_like(like)`` would have:
    ``like``'s very strides when it is dense and non-overlapping or empty (the strides of
    its size-1 dims included), else a dense layout in ``like``'s stride order. ``arr``
    itself when it already is so laid out, unless ``copy``. A new array laid out as a
    marked ``like`` (``_layout_marks.py``: a convolution's result, an attention output)
    carries its mark, as ``torch.empty_like`` keeps the layout PyTorch reports."""
    if is_vmap_array(like) or strides_exactly_row_major(like):
        out = arr.copy() if copy else contiguous(arr)
        # (a transpose of a convolution's result is row-major here, not in PyTorch: C_MARKED)
        return carry_layout_mark(out, like) if C_MARKED and like.ndim > 1 else out
    if is_vmap_array(arr):
        return arr.copy() if copy else arr
    return carry_layout_mark(_like_layout(arr, like, copy), like)


def _like_layout(arr: Any, like: Any, copy: bool) -> Any:
    """:func:`like_layout` for a ``like`` that is not row-major and an ``arr`` that is no
    vmap per-sample array."""
    if like.size == 0 or like.flags.c_contiguous:
        return _with_strides(arr, like, copy)
    order = stride_order(like.shape, torch_strides(like))  # size-1 dims: PyTorch's strides
    if has_order(like, order):  # dense and non-overlapping
        return _with_strides(arr, like, copy)
    # dense in that order, the strides of size-1 dims included (``relaid`` lets an array
    # whose size-1 dims' strides differ pass as laid out)
    if not copy:
        step, strides = arr.itemsize, [0] * arr.ndim
        for d in order:
            strides[d] = step
            step *= arr.shape[d]
        if arr.strides == tuple(strides):
            return arr
    return relaid(arr, order, copy=True)


def grad_order(leaf: Any) -> list[int]:
    """The dims of the first ``.grad`` of ``leaf`` (an array), fastest first, by PyTorch's
    gradient layout contract: the leaf's own order when the leaf is dense and
    non-overlapping, else row-major."""
    order = dense_order(leaf) if leaf.ndim > 1 else None
    return list(range(leaf.ndim - 1, -1, -1)) if order is None else order


def grad_layout(arr: Any, leaf: Any) -> Any:
    """``arr`` (a gradient shaped as ``leaf``) in the layout of ``leaf``'s first ``.grad``
    (:func:`grad_order`); ``arr`` itself when it already is."""
    if is_vmap_array(arr) or is_vmap_array(leaf):
        if type(leaf) is MetaArray and type(arr) is MetaArray:  # PyTorch's contract on meta
            return leaf_grad_layout(arr, leaf)
        return arr
    if leaf.ndim < 2 or leaf.flags.c_contiguous:
        return contiguous(arr)
    return relaid(arr, grad_order(leaf))
