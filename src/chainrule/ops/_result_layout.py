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
  two dims apart deciding (``elementwise_layout``; for ``where`` the condition comes first);
- *the input's format* (session 43): pooling (adaptive), interpolation, reflection and
  replication padding, ``pixel_(un)shuffle``, ``max_unpool`` and the input gradients of
  pooling and interpolation allocate in ``input.suggest_memory_format()``: channels-last
  for a channels-last input (``input_format``, ``in_format``; a row-major input costs one
  flag test);
- *LAPACK's* (session 43): ``linalg.inv``, ``solve``, ``qr``, ``svd``'s U and Vh, ``eigh``'s
  and ``eig``'s vectors, ``cholesky``, ``lu_factor``, ``lstsq``'s solution: each matrix
  column-major (Fortran order, batched: ``(..., m, n)`` with strides ``(.., 1, m)``), as
  LAPACK writes it (``column_major``). NumPy's LAPACK wrappers copy their results back to
  row-major; one more transpose copy of the result (~0.35 us for 8x8, next to ~60 us of
  ``inv`` forward and backward) makes the strides PyTorch's own, so ``stride()``,
  ``is_contiguous()``, ``view()``'s refusal, ``numpy()`` and the layouts of later
  elementwise results follow with no mark (a mark would make every op look inputs up while
  a factor lives: ``_layout_marks.C_MARKED``).

Session 44: a reduction of an input that is not row-major is row-major, its kept size-1
dims' strides included (``reduced_layout``: NumPy's ``keepdims`` gave them the input order's
stride); a pooling of a transposed input is row-major (``pooled_layout``); an FFT result is
laid out by PyTorch's CPU rule (``fft_layout``: the untransformed dims by the input's
strides, then the transformed ones); each costs a row-major input nothing but a flag test.

Session 45: the input gradient of group norm of a channels-last input is channels-last
(``grad_in_input_format``; batch norm's too since session 47, which also lays out a
channels-last or transposed incoming gradient's result in the input's suggested format);
a two-operand ``einsum`` result takes PyTorch's
``sumproduct_pair`` strides (``einsum_layout.py``, through ``with_strides``); clamp's input
gradient is laid out by its mask first (``fused_grads.MaskFirstGrad``).

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

from numpy import ascontiguousarray, asfortranarray
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
from .._layout_marks import C_MARKED, LAYOUT_MARKS, carry_layout_mark, layout_mark
from ..backend import get_array_module
from .memory_format import channel_major, contiguous_format, relayout_array, suggested_format

__all__ = [
    "clone_layout",
    "column_major",
    "contiguous",
    "elementwise_layout",
    "elementwise_tensor",
    "fft_layout",
    "grad_in_input_format",
    "in_elementwise_layout",
    "in_format",
    "input_format",
    "has_own_layout",
    "like_layout",
    "orders_row_major",
    "pooled_layout",
    "reduced_layout",
    "strided_copy",
    "with_strides",
    "stride_order",
]


def column_major(arr: Any, rows: int | None = None) -> Any:
    """``arr`` (..., m, n) with each matrix column-major, LAPACK's (and so PyTorch's)
    layout for a factor or solution: strides ``(..., 1, m)``, the batch dims row-major
    outside them. ``rows`` (at least m): the leading dimension of LAPACK's buffer when
    PyTorch's result is the top of a taller one (``lstsq``'s solution of a tall ``A`` sits
    in its ``(max(m, n), k)`` right-hand side: strides ``(1, max(m, n))``). ``arr`` itself
    when it already is so laid out, has fewer than two dims or no elements, or is a
    ``cr.func.vmap`` per-sample array (whose layout is the batch's)."""
    if type(arr) is _ndarray and arr.ndim == 2 and rows is None and arr.flags.c_contiguous:
        if arr.size and 1 not in arr.shape:  # (the common case: one matrix, row-major)
            return asfortranarray(arr)  # (a new array with no base)
    if arr.ndim < 2 or is_vmap_array(arr) or arr.size == 0:
        return arr
    t = arr.swapaxes(-1, -2)
    m = arr.shape[-2]
    xp = get_array_module(arr)
    if rows is None or rows <= m:
        if t.flags.c_contiguous and 1 not in arr.shape[-2:]:
            return arr  # (already column-major)
        if arr.ndim == 2:  # a new array with no base: Function.apply then checks no view
            return xp.asfortranarray(arr) if 1 not in arr.shape else t.copy().T
        return t.copy().swapaxes(-1, -2)
    buf = xp.empty((*t.shape[:-1], rows), dtype=arr.dtype)
    buf[..., :m] = t
    return buf[..., :m].swapaxes(-1, -2)


def reduced_layout(out: Any) -> Any:
    """A reduction's new result ``out`` in PyTorch's layout: row-major, the strides of its
    size-1 dims included. NumPy lays a reduction of an input that is not row-major out in
    the input's order (a channels-last ``x.norm(dim=3)`` came out ``(24, 1, 4)``) and gives a
    ``keepdims`` dim the stride of that order (a channels-last ``sum(1, keepdim=True)`` had
    ``(36, 1, 6, 1)`` where PyTorch's is ``(36, 36, 6, 1)``, and a following elementwise op
    reads that stride). Callers pass only results of inputs that are not row-major (a
    row-major input's result already is: no cost on the hot path); ``out`` itself when it
    already is laid out so, or is not a NumPy array (CuPy, ``cr.func.vmap``'s per-sample
    arrays, meta arrays keep their own)."""
    if type(out) is not _ndarray or out.ndim < 2:
        return out
    if not out.flags.c_contiguous:
        return ascontiguousarray(out)  # (a new array: every dim's stride row-major)
    if 1 in out.shape and out.size and not _exactly_row_major(out):
        return out.reshape(-1).reshape(out.shape)  # (a view of the new result, not of x)
    return out


def _fft_outer_first(key: Any, ndim: int, dims: Any, keep_last: bool) -> list[int]:
    """PyTorch's CPU FFT (``_exec_fft`` after ``_sort_dims``) lays its result out densely
    in this order, outermost first: the dims not transformed, by ``key`` (the input's
    strides) falling, then the transformed ones by ``key`` falling (the last kept last when
    ``keep_last``: a one-sided transform's halved dim)."""
    ds = set(dims)
    batch = sorted((d for d in range(ndim) if d not in ds), key=lambda d: -key[d])
    signal = list(dims[:-1] if keep_last else dims)
    signal.sort(key=lambda d: -key[d])
    return batch + signal + ([dims[-1]] if keep_last else [])


def fft_layout(y: Any, x: Any, dims: Any, kind: str) -> Any:
    """The FFT result ``y`` of ``x`` over ``dims`` (``kind``: ``"c2c"``, ``"r2c"``, ``"c2r"``
    or ``"ihfftn"``) in PyTorch's layout (:func:`_fft_outer_first`; a multi-dim ``c2r`` is
    its ``c2c`` over all but the last dim, then the ``c2r`` of that one, and ``ihfftn`` its
    one-sided ``r2c`` of the last dim, then the ``c2c`` of the others, each by the rule):
    ``fft`` of a transpose ``(5, 1)`` where NumPy's is ``(1, 4)``, ``fft(x, dim=0)`` of a
    row-major ``x`` column-major. ``y`` itself when it already is so laid out (always for a
    row-major ``x`` transformed over its trailing dims in order: one flag test), else a
    copy; CuPy, vmap and meta arrays keep their own."""
    nd = y.ndim
    if nd < 2 or type(y) is not _ndarray or type(x) is not _ndarray or y.size == 0:
        return y
    dims = tuple(dims)
    if x.flags.c_contiguous and y.flags.c_contiguous and 1 not in x.shape and kind != "ihfftn":
        k = len(dims)
        if dims == tuple(range(nd - k, nd)):
            return y
    key = torch_strides(x)
    if kind in ("c2r", "ihfftn") and len(dims) > 1:  # two transforms, each by the rule
        c2r = kind == "c2r"
        first = _fft_outer_first(key, nd, dims[:-1] if c2r else dims[-1:], not c2r)
        key = [0] * nd
        for i, d in enumerate(first):
            key[d] = nd - i  # (the intermediate result's order)
        outer = _fft_outer_first(key, nd, dims[-1:] if c2r else dims[:-1], False)
    else:
        outer = _fft_outer_first(key, nd, dims, kind == "r2c")
    want = dense_strides(y.shape, outer[::-1])
    if list(torch_strides(y)) == want:
        return y
    return relaid(y, outer[::-1], copy=True)


def input_format(x: Any) -> Any:
    """The memory format PyTorch's pooling, interpolation, padding and shuffle kernels lay
    their result (and ``x``'s gradient) out in for the input array ``x``: its
    ``suggest_memory_format()`` when that is channels-last (3d); else None (row-major, and a
    convolution's channel-major result, whose layout marks carry it: ``_layout_carry.py``).
    One flag test for a row-major ``x``."""
    if type(x) is not _ndarray and (is_vmap_array(x) or not hasattr(x, "flags")):
        return None
    if x.flags.c_contiguous or x.ndim < 4:
        return None
    fmt = suggested_format(x)
    return None if fmt is contiguous_format else fmt


def pooled_layout(out: Any, x: Any) -> Any:
    """A pooling's result ``out`` of an ``x`` whose suggested format is row-major
    (:func:`input_format` None) laid out row-major, as PyTorch's: NumPy's window gather of
    a transposed ``x`` kept its order (``(36, 9, 1, 3)`` where PyTorch's is
    ``(36, 9, 3, 1)``). ``out`` itself when it already is, or when ``x`` carries a layout
    mark (a convolution's channel-major result: its marks carry it, no copy), or is not a
    NumPy array."""
    if type(out) is not _ndarray or out.flags.c_contiguous:
        return out
    if LAYOUT_MARKS and layout_mark(x) is not None:
        return out
    return ascontiguousarray(out)


def in_format(out: Any, fmt: Any) -> Any:
    """``out`` laid out in the memory format ``fmt`` (:func:`input_format`'s answer) with the
    strides PyTorch gives a new tensor in it: ``out`` itself when ``fmt`` is None, does not
    fit ``out``'s rank, or ``out`` already has those strides; else a copy."""
    if fmt is None or out.ndim != fmt._rank or is_vmap_array(out):
        return out
    return relayout_array(out, fmt, "empty")


def grad_in_input_format(dx: Any, x: Any) -> Any:
    """The input gradient ``dx`` of a norm (batch, group) of ``x`` laid out in ``x``'s
    suggested format, whatever the incoming gradient's (PyTorch's backward kernels allocate
    ``grad_input`` in ``x.suggest_memory_format()``; sessions 45, 47): channels-last where
    ``x`` suggests it, else row-major. ``dx`` itself when it already is (flag tests for a
    row-major ``x`` and ``dx``), and for a convolution's channel-major ``x`` (marked or in
    chainrule's own conv layout: row-major to PyTorch, kept for the next convolution)."""
    fmt = input_format(x)
    if fmt is None:
        if type(dx) is not _ndarray or dx.flags.c_contiguous or dx.ndim < 2:
            return dx
        if channel_major(x) or (LAYOUT_MARKS and (layout_mark(x) or layout_mark(dx))):
            return dx
        return ascontiguousarray(dx)
    if LAYOUT_MARKS and layout_mark(x) is not None:
        return dx  # (a convolution's channel-major result: row-major to PyTorch)
    return in_format(dx, fmt)


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


def with_strides(y: Any, strides: Any) -> Any:
    """``y`` itself when its strides (elements) are ``strides``, else a copy laid out so (a
    result whose strides a rule computed, as ``einsum_layout.pair_layout``)."""
    return _fresh(y, list(strides))


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
