"""The layout of an advanced-index result: ``x[idx]`` with index arrays is a copy, and
PyTorch lays that copy out by a rule of its own (the strides of ``x``, of the index arrays
after broadcasting, and of the dims the slices and Nones keep), which later views and
in-place writes through ``.view()`` depend on. :func:`index_layout` gives NumPy's result
those strides (a view when only the strides of size-1 dims differ, else a copy).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layout import has_order, is_vmap_array, relaid, stride_order
from .subscript_index import dims_taken

__all__ = ["index_layout"]


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
    ellipsis = x.ndim - sum(dims_taken(i) for i in items)
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
