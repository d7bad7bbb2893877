"""Memory layouts of op results, chosen as PyTorch chooses them.

A result's strides are observable: ``y.view(...)`` works or fails on them, ``y.reshape(...)``
returns a view or a copy by them, and so an in-place write through that reshape reaches
``y`` or not. chainrule therefore allocates each result in PyTorch's layout. Four rules
cover the ops (learnt by running PyTorch 2.13, see ``tests/ops/test_result_layouts.py``):

- *contiguous*: reductions, scans (``cummax``, ``logcumsumexp``), ``index_select``,
  ``median``, ``tril``, ``cross``, ``renorm``: a row-major result whatever the input
  (``contiguous``);
- *preserve format*: ``sort``, ``flip``, ``clone``, ``index_put``: the input's own strides
  when it is dense and non-overlapping, else a dense layout with its dims in the input's
  stride order (``like_layout``), what ``torch.empty_like`` gives;
- *same strides*: ``select_scatter``, ``slice_scatter``: the input's strides, the gaps of a
  step slice included, unless its elements overlap (``strided_copy``);
- *elementwise*: the dims ordered by the operands' strides, the first operand that tells
  two dims apart deciding (``elementwise_layout``; for ``where`` the condition comes first).

The pure-array helpers (the stride order, dense relayouts, ``like_layout``) live one layer
down in ``chainrule/_layout.py``, where the autograd engine uses them too (a leaf's
``.grad`` follows PyTorch's gradient layout contract, :func:`~chainrule._layout.grad_layout`);
they are re-exported here for the ops. The elementwise rule reproduces
``torch.empty_like`` and PyTorch's binary ops on thousands of random layouts. Every helper
returns its argument untouched when it already has the layout, so a contiguous input costs
no copy.
"""

from __future__ import annotations

from typing import Any

from numpy import ndarray as _ndarray

from .._layout import (
    broadcast_strides,
    contiguous,
    dense_order,
    dense_strides,
    has_own_layout,
    is_vmap_array,
    like_layout,
    relaid,
    relaid_tensor,
    stride_order,
    torch_strides,
)
from .._layout_marks import C_MARKED, carry_layout_mark
from ..backend import get_array_module

__all__ = [
    "clone_layout",
    "contiguous",
    "elementwise_layout",
    "elementwise_tensor",
    "in_elementwise_layout",
    "has_own_layout",
    "like_layout",
    "orders_row_major",
    "strided_copy",
    "stride_order",
]


def _row_major_safe(v: Any) -> bool:
    """Whether the array ``v`` (over a result that has size-1 dims) leaves PyTorch's order
    row-major: its nonzero strides as PyTorch reports them (a size-1 dim's included) never
    rise from the outer dims to the inner ones, and where two are equal the inner dim is
    no longer than the outer one (PyTorch's tie-break)."""
    last = last_n = None
    for n, s in zip(v.shape, torch_strides(v)):
        if s == 0:
            continue
        if last is not None and (s > last or (s == last and n > last_n)):
            return False
        last, last_n = s, n
    return True


def _exactly_row_major(y: Any) -> bool:
    """Whether ``y``'s strides are the row-major ones, its size-1 dims' included."""
    row_major = dense_strides(y.shape, list(range(y.ndim - 1, -1, -1)))
    return list(y.strides) == [s * y.itemsize for s in row_major]


def orders_row_major(v: Any) -> bool:
    """Whether operand ``v`` leaves an elementwise result row-major: a number, a row-major
    array, or one whose nonzero strides fall strictly from the outer dims to the inner ones
    (a broadcast ``expand``-ed gradient, a row slice). When every operand does, the result
    NumPy gives is already in PyTorch's layout and :func:`elementwise_layout` (an insertion
    sort in Python) is skipped: the cheap fast path of every elementwise op."""
    if type(v) is _ndarray:
        flags = v.flags
    else:  # a Python number (no attribute lookup that fails), or another array type
        flags = None if isinstance(v, (int, float, complex)) else getattr(v, "flags", None)
    if flags is None or flags.c_contiguous:
        return True
    last = None
    for n, s in zip(v.shape, v.strides):
        if n == 1 or s == 0:  # a broadcast or size-1 dim carries no order
            continue
        if last is not None and s >= last:
            return False
        last = s
    return True


def _fresh(y: Any, strides: list[int]) -> Any:
    """``y`` itself when its strides (elements) are ``strides``, else a copy laid out so."""
    item = y.itemsize
    want = tuple(s * item for s in strides)
    if y.strides == want:
        return y
    order = sorted(range(y.ndim), key=lambda d: (strides[d], y.shape[d]))
    out = relaid(y, order, copy=True)
    if out.strides != want:  # size-1 dims whose strides no dense order gives (a view's)
        xp = get_array_module(y)
        out = xp.lib.stride_tricks.as_strided(out, y.shape, want)
    return out


def elementwise_layout(y: Any, *operands: Any) -> Any:
    """The result ``y`` of an elementwise op in PyTorch's layout for its ``operands``
    (arrays broadcast to ``y``'s shape inside; Python numbers and 0-d arrays carry no
    order), its size-1 dims' strides included. As PyTorch: when every operand is an array
    of ``y``'s shape, all row-major gives a row-major result and all dense with the same
    strides gives those strides; else the dims run in the operands' stride order
    (:func:`~chainrule._layout.stride_order`) and the result is dense in it. Callers skip
    this when every operand is row-major: the result then is too."""
    if is_vmap_array(y) or y.size == 0:  # an empty result keeps NumPy's layout
        return y
    shape = y.shape
    arrays = [o for o in operands if getattr(o, "ndim", 0) > 0 and not is_vmap_array(o)]
    if not arrays:
        return y
    if len(arrays) == len(operands) and all(o.shape == shape for o in arrays):
        if all(o.flags.c_contiguous for o in arrays):
            return _fresh(y, dense_strides(shape, list(range(y.ndim - 1, -1, -1))))
        first = torch_strides(arrays[0])
        if dense_order(arrays[0]) is not None and all(
            torch_strides(o) == first for o in arrays[1:]
        ):
            return _fresh(y, list(first))
    strides = tuple(broadcast_strides(o.shape, torch_strides(o), shape) for o in arrays)
    return _fresh(y, dense_strides(shape, stride_order(shape, *strides)))


def in_elementwise_layout(y: Any, *operands: Any) -> Any:
    """The array ``y``, an elementwise op's result, in PyTorch's layout for its ``operands``
    (in PyTorch's order): ``y`` itself, with no sort, when it has fewer than two dims or
    it and every operand are row-major (:func:`orders_row_major`: the fast path every
    elementwise op takes; a result with size-1 dims checks them too, whose strides
    PyTorch's order counts), or when it is a ``cr.func.vmap`` per-sample array (its layout
    is the batch's); else :func:`elementwise_layout`."""
    if y.ndim < 2 or (type(y) is not _ndarray and is_vmap_array(y)):
        return y
    if y.flags.c_contiguous:
        for o in operands:
            # a row-major array or a float, inlined (orders_row_major's commonest answers):
            # ~0.1 us less per 8x8 elementwise op than a call per operand
            if type(o) is _ndarray:
                if o.flags.c_contiguous or orders_row_major(o):
                    continue
            elif type(o) is float or orders_row_major(o):
                continue
            break
        else:
            if 1 not in y.shape:
                return y
            if y.size and _exactly_row_major(y):
                for o in operands:
                    if getattr(o, "ndim", 0) > 0 and not _row_major_safe(o):
                        break
                else:
                    return y
    return elementwise_layout(y, *operands)


def elementwise_tensor(y: Any, *operands: Any) -> Any:
    """The Tensor ``y``, the result of an elementwise op composed of other ops (``lerp``),
    in PyTorch's layout for its ``operands`` (Tensors or numbers, in PyTorch's order): ``y``
    itself when it already is (always when every operand is row-major), else a recorded
    relaid copy (differentiable)."""
    arr = y._data
    if arr.ndim < 2 or is_vmap_array(arr):
        return y
    raws = [o._data if hasattr(o, "_data") else o for o in operands]
    if arr.flags.c_contiguous and all(orders_row_major(r) for r in raws):
        return y
    strides = tuple(
        broadcast_strides(r.shape, torch_strides(r), arr.shape)
        for r in raws
        if getattr(r, "ndim", 0) > 0
    )
    return relaid_tensor(y, stride_order(arr.shape, *strides)) if strides else y


def clone_layout(arr: Any) -> Any:
    """A copy of ``arr`` in ``torch.empty_like(arr)``'s layout (:func:`like_layout`), what
    ``torch.clone`` gives: ``arr``'s very strides when dense and non-overlapping (its size-1
    dims' included) or empty, else dense in its stride order (a broadcast dim carries no
    order: it stays where row-major puts it)."""
    # the row-major early return (strides_exactly_row_major, inlined: the common case); a
    # transpose of a convolution's result is row-major memory, not in PyTorch: the copy takes
    # its mark (_layout_marks.py; C_MARKED is empty while no row-major memory is marked)
    if is_vmap_array(arr) or (arr.flags.c_contiguous and arr.size != 0 and 1 not in arr.shape):
        return carry_layout_mark(arr.copy(), arr) if C_MARKED else arr.copy()
    return like_layout(arr, arr, copy=True)


def strided_copy(arr: Any) -> Any:
    """A copy of ``arr`` with ``arr``'s very strides, the gaps of a step slice included (a
    new buffer spanning them), as PyTorch's ``select_scatter``/``slice_scatter`` allocate
    their result; when ``arr``'s elements overlap (a broadcast dim) or a stride is negative,
    a copy in ``torch.empty_like``'s layout instead (:func:`like_layout`)."""
    if is_vmap_array(arr) or arr.flags.c_contiguous or arr.size == 0:
        return arr.copy()
    item = arr.itemsize
    end = item  # the extent in bytes of the dims laid out so far, fastest first
    for s, n in sorted((s, n) for n, s in zip(arr.shape, arr.strides) if n != 1):
        if s < end or s % item:  # overlaps the dims inside it, or negative: no buffer holds it
            return clone_layout(arr)
        end += s * (n - 1)
    xp = get_array_module(arr)
    buf = xp.empty(end // item, dtype=arr.dtype)
    strides = tuple(s if n != 1 else item for n, s in zip(arr.shape, arr.strides))
    out = xp.lib.stride_tricks.as_strided(buf, arr.shape, strides)
    out[...] = arr
    return out
