"""Logical strides of meta arrays: the strides (in elements) PyTorch keeps on a meta tensor.

A MetaArray's real NumPy strides are all zero over one element of storage, so no view of it
can ever read past that element. The strides PyTorch reports (``stride()``,
``is_contiguous()``, the layout of an elementwise result) are kept beside them, on the
MetaArray: ``_st`` (None: row-major, what every new meta array is) and ``_off`` (the storage
offset in elements). Each view op's meta path carries them: the view is taken of the
zero-stride array as before (so it still aliases its base), and the same view is taken of a
*probe* (an ndarray of ``uint8`` whose byte strides are the logical element strides, over
one byte it never reads: view functions only compute geometry) to read the view's strides
and offset. Ops whose view NumPy builds with ``as_strided`` from the real strides
(``diagonal``, ``unfold``, ``as_strided``) get theirs from :data:`VIEW_GEOMETRY`
(``meta/forward.py``) or from the op's own meta branch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "carry",
    "carry_index",
    "contiguous_strides",
    "elementwise_strides",
    "expand_strides",
    "lay_meta_like",
    "leaf_grad_layout",
    "meta_is_contiguous",
    "meta_offset",
    "meta_strides",
    "probe",
    "set_geometry",
    "strided_like",
]

_BASE = np.zeros(1, np.uint8)  # the probes' one byte: never read nor written
_BASE_PTR = _BASE.__array_interface__["data"][0]
_as_strided = np.lib.stride_tricks.as_strided


def contiguous_strides(shape: tuple) -> tuple[int, ...]:
    """Row-major strides in elements for ``shape`` (a size-0 dim counts as 1, as PyTorch)."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n if n > 0 else 1
    return tuple(reversed(strides))


def meta_strides(a: Any) -> tuple[int, ...]:
    """The strides (elements) PyTorch reports for the meta array ``a``."""
    st = a._st
    return contiguous_strides(a.shape) if st is None else st


def meta_offset(a: Any) -> int:
    """The storage offset (elements) of the meta array ``a``."""
    return a._off


def set_geometry(a: Any, strides: Any, offset: int = 0) -> Any:
    """Give the meta array ``a`` the logical ``strides`` (elements) and storage ``offset``;
    row-major strides are kept as None (the fast answer). Returns ``a``."""
    st = tuple(int(s) for s in strides)
    a._st = None if st == contiguous_strides(a.shape) else st
    a._off = int(offset)
    return a


def probe(a: Any) -> np.ndarray:
    """An ndarray with ``a``'s shape whose byte strides are ``a``'s logical element strides,
    over one byte: for view functions only (they compute geometry, never read)."""
    return _as_strided(_BASE, a.shape, meta_strides(a), writeable=False)


def _unsqueezed(shape: tuple, strides: tuple) -> tuple:
    """PyTorch's ``unsqueeze`` stride for size-1 dims NumPy gave stride 0 (``x[None]``,
    ``expand_dims``): the next dim's ``size * stride``, 1 for the last dim."""
    if 1 not in shape or 0 not in strides:
        return strides
    fixed = list(strides)
    for d in range(len(fixed) - 1, -1, -1):
        if shape[d] == 1 and fixed[d] == 0:
            fixed[d] = 1 if d == len(fixed) - 1 else shape[d + 1] * fixed[d + 1]
    return tuple(fixed)


def carry(r: Any, src: Any, view: Callable[[np.ndarray], Any]) -> Any:
    """Give ``r`` (a meta view of the meta array ``src``, made by ``view``) the strides and
    offset ``view`` gives ``src``'s probe. A view with a negative stride (NumPy's
    ``[::-1]``, which PyTorch has no view for) is given row-major strides, as a copy."""
    p = view(probe(src))
    st = p.strides
    if any(s < 0 for s in st):
        return set_geometry(r, contiguous_strides(r.shape), 0)
    off = src._off + p.__array_interface__["data"][0] - _BASE_PTR
    return set_geometry(r, _unsqueezed(p.shape, st), off)


def carry_index(r: Any, src: Any, key: Any, keys: tuple) -> Any:
    """:func:`carry` for ``src[key]`` (a basic index): a ``None`` dim takes PyTorch's
    ``unsqueeze`` stride at the point it is inserted: the extent of the next source dim
    the index has not consumed yet (1 past the last), not NumPy's 0."""
    carry(r, src, lambda p: p[key])
    if None not in keys:
        return r
    st, shape = meta_strides(src), src.shape
    n_used = sum(k is not None and k is not Ellipsis for k in keys)
    out, d = list(meta_strides(r)), 0
    j = 0  # the result's dim
    for k in keys:
        if k is Ellipsis:
            span = len(shape) - n_used
            d, j = d + span, j + span
        elif k is None:
            out[j] = shape[d] * st[d] if d < len(shape) else 1
            j += 1
        elif type(k) is slice:
            d, j = d + 1, j + 1
        else:
            d += 1
    return set_geometry(r, out, r._off)


def expand_strides(src_shape: tuple, src_strides: tuple, shape: tuple) -> list[int]:
    """PyTorch's strides of ``expand(shape)`` of a tensor of ``src_shape``/``src_strides``: a
    kept dim keeps its stride, a broadcast one gets 0, and a new leading dim gets 0 unless
    of size 1, which takes the next dim's ``size * stride``."""
    n, lead = len(shape), len(shape) - len(src_shape)
    st = [0] * n
    for i in range(n - 1, -1, -1):
        d = i - lead
        if d >= 0:
            st[i] = src_strides[d] if src_shape[d] == shape[i] else 0
        elif shape[i] == 1 and i + 1 < n:
            st[i] = shape[i + 1] * st[i + 1]
    return st


def meta_is_contiguous(a: Any, order: Any = None) -> bool:
    """PyTorch's ``is_contiguous`` of the meta array ``a``: dense with its dims running
    ``order`` (dims outermost first; row-major by default), size-1 dims free."""
    if a._st is None and order is None:
        return True
    st = meta_strides(a)
    dims = range(a.ndim) if order is None else order
    step = 1
    for d in reversed(list(dims)):
        n = a.shape[d]
        if n != 1:
            if st[d] != step:
                return False
            step *= n
    return True


def elementwise_strides(shape: tuple, operands: tuple) -> tuple | None:
    """The strides PyTorch gives an elementwise result of ``shape`` from ``operands`` (its
    layout rule, ``ops/_result_layout.py``): None (row-major) when no meta operand carries
    other strides; an operand's own strides when all operands share them and are dense;
    else dense in the operands' stride order."""
    metas = [o for o in operands if getattr(o, "_st", None) is not None and o.ndim]
    if not metas or not shape or 0 in shape:  # empty: every operand is contiguous, so is it
        return None
    from .._layout import broadcast_strides, dense_strides, stride_order  # noqa: PLC0415

    arrays = [o for o in operands if isinstance(o, np.ndarray) and o.ndim]
    stride_sets = [
        meta_strides(o) if hasattr(o, "_st") else contiguous_strides(o.shape) for o in arrays
    ]
    if all(o.shape == shape for o in arrays) and len(set(stride_sets)) == 1:
        first = stride_sets[0]
        order = stride_order(shape, first)
        if dense_strides(shape, order) == list(first) or _dense(shape, first, order):
            return first
    strides = tuple(broadcast_strides(o.shape, s, shape) for o, s in zip(arrays, stride_sets))
    return tuple(dense_strides(shape, stride_order(shape, *strides)))


def _dense(shape: tuple, strides: tuple, order: list[int]) -> bool:
    """Whether ``strides`` lay ``shape`` out densely in ``order`` (size-1 dims free)."""
    step = 1
    for d in order:
        if shape[d] != 1:
            if strides[d] != step:
                return False
            step *= shape[d]
    return True


def strided_like(a: Any) -> tuple | None:
    """The strides ``torch.empty_like(a)`` gives (preserve_format): ``a``'s own when dense
    and non-overlapping, else dense in its stride order; None for row-major."""
    if a._st is None:
        return None
    if 0 in a.shape:  # empty: its strides where PyTorch counts them dense, else row-major
        return (
            a._st if _dense(a.shape, a._st, sorted(range(a.ndim), key=a._st.__getitem__)) else None
        )
    return elementwise_strides(a.shape, (a,))


def leaf_grad_layout(arr: Any, leaf: Any) -> Any:
    """The meta gradient ``arr`` laid out as a meta leaf's first ``.grad``, by PyTorch's
    layout contract (``AccumulateGrad``: ``obeys_layout_contract``/``clone_obey_contract``):
    a dense, non-overlapping leaf's own strides (size-1 dims free), else row-major;
    ``arr`` itself when it already obeys, else a new meta array (a clone)."""
    st = meta_strides(leaf)
    if leaf._st is None or _dense(leaf.shape, st, sorted(range(leaf.ndim), key=st.__getitem__)):
        have = meta_strides(arr)
        if all(n == 1 or a == b for n, a, b in zip(leaf.shape, have, st)):
            return arr
        return set_geometry(arr.copy("C"), st)
    return arr if meta_is_contiguous(arr) else arr.copy("C")


# the dims of a channels-last layout, fastest first (PyTorch's NHWC and NDHWC)
_CHANNELS_LAST = {
    "torch.channels_last": (4, [1, 3, 2, 0]),
    "torch.channels_last_3d": (5, [1, 4, 3, 2, 0]),
}


def lay_meta_like(arr: Any, like: Any, fmt: Any) -> Any:
    """Give the new meta array ``arr`` (of ``like``'s shape) the strides ``torch.*_like``
    gives on meta for ``memory_format=fmt`` (None: ``preserve_format``): ``like``'s layout
    (``strided_like``) when ``like`` is meta, row-major for ``contiguous_format``, NHWC /
    NDHWC for the channels-last formats (PyTorch's error for another rank). Returns ``arr``."""
    name = "torch.preserve_format" if fmt is None else repr(fmt)
    if name == "torch.preserve_format":
        if getattr(like, "_st", None) is not None and arr.shape == like.shape:
            st = strided_like(like)
            if st is not None:
                set_geometry(arr, st)
        return arr
    if name in _CHANNELS_LAST:
        rank, order = _CHANNELS_LAST[name]
        if arr.ndim != rank:
            raise RuntimeError(f"required rank {rank} tensor to use {name.split('.')[1]} format")
        step, st = 1, [0] * rank
        for d in order:
            st[d] = step
            step *= arr.shape[d]
        set_geometry(arr, st)
    return arr
