"""Writing ``x[idx] = v`` (``Tensor.__setitem__``): :func:`setitem`, the Function that
records it, and :func:`write_index`, the raw write with NumPy's errors restated.

``x[idx] = v`` is recorded as :class:`IndexPut` (PyTorch's CopySlices) when autograd or
forward mode needs it, else it goes straight into ``x``'s memory (:func:`write_index`). The
rules PyTorch checks first (value dtypes, masks, overlaps, node names) are
``setitem_rules.py``'s; a view that overlaps itself is written through its sub-view
(``inplace_overlap.setitem_through_subview``). Built on the reading side,
``subscript_read.py`` (the saved index, the index conversion, ``getitem``); ``subscript.py``
re-exports the names of both under the old import path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.state import LOCAL as _vmap
from ..autograd.tensor import Tensor
from ..autograd.view_errors import LEAF_MESSAGE, VIEW_OF_LEAF_MESSAGE
from ..backend import get_array_module
from ..scalar_range import fit_scalar
from ._result_layout import clone_layout, contiguous, has_own_layout, strided_copy
from .inplace import apply_inplace, check_writable_memory, has_tangent, writes_into_graph
from .inplace_overlap import setitem_through_subview
from .setitem_rules import (
    check_mask_shape,
    check_put_dtype,
    check_value_overlap,
    expand_to_region,
    lone_byte_mask,
    setitem_node_name,
)
from .subscript_fields import put_fields
from .subscript_index import (
    earlier_index_error,
    shape_without_bounds,
    split_int_and_array,
    view_index,
)
from .subscript_read import (
    _converted,
    _index_error,
    _save_index,
    _saved_index,
    _saved_indices,
    getitem,
)

__all__ = ["IndexPut", "basic_part_is_view", "setitem", "write_index"]


class IndexPut(Function):
    """``out = x`` with ``out[idx] = v``: the recorded form of ``x[idx] = v`` (PyTorch's
    CopySlices). Its derivative: the gradient passes to ``x`` except at ``idx`` (overwritten)
    and from ``idx`` to ``v`` (summed back to ``v``'s shape by the engine). Backward is
    written with ``IndexPut`` and indexing, so it is differentiable again."""

    @staticmethod
    def node_name(ctx):
        """PyTorch's node for the op that wrote (``name=``: ``SelectScatterBackward0``,
        ``torch::autograd::CopySlices`` for ``x[basic index] = v``, ...); it always lists
        ``x`` and ``v``, a scalar ``v`` or a ``x`` without gradient as ``(None, 0)``."""
        return getattr(ctx, "torch_name", None) or "IndexPutBackward0", (0, 1)

    # grad_fn._saved_* of the *_scatter ops (their arguments as given), IndexPutBackward0's
    _fields = put_fields(_saved_indices)
    saved_fields = staticmethod(lambda node: IndexPut._fields.get(node.torch_name))
    raw = True

    @staticmethod
    def forward(ctx, x, v, idx, strided=False, name=None):
        """``strided=True`` keeps ``x``'s strides whatever ``idx`` is (a region that a basic
        index cannot name, as ``diagonal_scatter``'s); see ``_copy_for_write``. ``name``:
        PyTorch's node name for the op recorded (``IndexPutBackward0`` when None)."""
        ctx.torch_name = name
        ctx.value_ndim = getattr(v, "ndim", 0)
        _save_index(ctx, idx)
        out = strided_copy(x) if strided else _copy_for_write(x, idx)
        write_index("setitem", Tensor._make(out, False, None, 0), idx, v)
        return out

    @staticmethod
    def backward(ctx, grad):
        idx = _saved_index(ctx)
        gx = IndexPut.apply(grad, 0.0, idx) if ctx.needs_input_grad[0] else None
        gv = getitem(grad, idx) if ctx.needs_input_grad[1] else None
        if gv is not None and gv.ndim < ctx.value_ndim:  # v had extra leading dims of size 1
            gv = gv.reshape((1,) * (ctx.value_ndim - gv.ndim) + tuple(gv.shape))
        return gx, gv, None

    @staticmethod
    def jvp(ctx, tx, tv, _):
        x = ctx.primals[0]
        out = get_array_module(x).zeros_like(ctx.out) if tx is None else tx.copy()
        idx = ctx.primals[2]
        if tv is not None and tv.ndim:  # v may have extra leading dims of size 1 (checked)
            tv = tv.reshape(tv.shape[max(tv.ndim - out[view_index(idx)].ndim, 0) :])
        out[idx] = 0.0 if tv is None else tv
        return out


def _copy_for_write(x: Any, idx: Any) -> Any:
    """``x`` copied for :class:`IndexPut` to write into, laid out as PyTorch lays out that
    op's result: a region picked by a basic index (``select_scatter``, ``slice_scatter``)
    keeps ``x``'s strides, the gaps of a step slice included (``strided_copy``); index
    tensors (``index_put``) give ``torch.clone``'s layout; a bare mask (``masked_scatter``)
    gives a row-major result. (``x[idx] = v`` writes the copy back into ``x``.)"""
    if not has_own_layout(x):
        return x.copy()
    if isinstance(idx, tuple):
        if all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in idx):
            return strided_copy(x)
        return clone_layout(x)
    if idx is None or idx is Ellipsis or isinstance(idx, (int, np.integer, slice)):
        return strided_copy(x)
    return contiguous(x)  # x is not row-major here: a row-major copy


def setitem(x: Tensor, idx: Any, value: Any) -> None:
    """``x[idx] = value``. Recorded for autograd when ``x`` or ``value`` requires grad (the
    tensor is rebased onto an :class:`IndexPut` node, as PyTorch's CopySlices does); a leaf
    that requires grad refuses, as in PyTorch."""
    if value is None or isinstance(value, (str, np.bool_)):  # a NumPy bool too, as PyTorch
        kind = "numpy.bool" if isinstance(value, np.bool_) else type(value).__name__
        raise TypeError(
            f"setitem: can't assign a {kind} to a {x.dtype} tensor; assign a number or a Tensor"
        )
    if idx is False:  # PyTorch writes nothing and records nothing (the value unchecked)
        return
    if _vmap.state.vmap:  # inside cr.func.vmap: a per-sample index, or a batched value
        from ..func._per_sample import per_sample_write  # noqa: PLC0415 - func imports ops

        if per_sample_write(setitem, x, idx, value) is not NotImplemented:
            return
    scalar = not isinstance(value, Tensor) or value.numel() == 1
    if scalar and lone_byte_mask(idx):
        earlier_index_error(tuple(x.shape), idx)  # PyTorch's basic indexing comes first
        check_mask_shape(x, idx)
        # PyTorch fills through masked_fill_ here, which takes bool masks only
        raise RuntimeError(
            "setitem: masked_fill_ only supports boolean masks, but got mask with dtype uint8 "
            "(index with a bool mask: mask.bool())"
        )
    try:
        idx = _converted(x, idx, write=True)
    except RuntimeError as err:  # a leaf refused before an index tensor PyTorch cannot use
        if str(err) == LEAF_MESSAGE and basic_part_is_view(x, _raw_parts(idx)):
            raise RuntimeError(VIEW_OF_LEAF_MESSAGE) from None
        raise
    if x.requires_grad and grad_mode.is_grad_enabled():
        # PyTorch applies the basic part of the index before it refuses to write into a
        # leaf (or a view of one): its IndexError comes first
        earlier_index_error(tuple(x.shape), idx)
        if x._grad_fn is None and x._view is None and getattr(x, "vmap_inplace", None) is None:
            _refuse_leaf_write(x, idx, value)
    if isinstance(idx, tuple):
        stages = split_int_and_array(idx)
        if stages is not None:  # written through the view the first stage picks (as getitem)
            view = getitem(x, stages[0], ())
            check_put_dtype(x, idx, value)  # of the whole index: the second stage has lost it
            setitem(view, stages[1], value)
            return
    value = fit_scalar("setitem", value, x._data.dtype, check_half=False)  # PyTorch's check
    value_tensor = isinstance(value, Tensor)
    check_put_dtype(x, idx, value)
    if value_tensor and value._vc is x._vc:  # x[0:2] = x[1:] overlaps: refused, as in PyTorch
        check_value_overlap(x, idx, value)
    # an integer or bool x takes the value converted, without a gradient (PyTorch's)
    value_graph = value_tensor and x.dtype.kind in "fcV"
    tangents = has_tangent(x) or (value_graph and value._fw_tangent is not None)
    batched = type(x) is not Tensor and getattr(x, "vmap_inplace", None) is not None  # vmap
    if (
        tangents
        or batched
        or writes_into_graph(x)
        or (grad_mode.is_grad_enabled() and value_graph and value.requires_grad)
    ):
        if x.dtype.kind not in "fcV":  # V: bfloat16
            raise RuntimeError(
                f"setitem: a value that requires grad cannot be written into a "
                f"{x.dtype} tensor (not differentiable)"
            )
        name = setitem_node_name(idx)
        if name != "IndexPutBackward0" and value_tensor and not batched:
            value = expand_to_region(x, idx, value)
        if not batched and setitem_through_subview(x, idx, value):  # x overlaps itself
            return
        apply_inplace(x, "setitem", lambda t, v: IndexPut.apply(t, v, idx, name=name), value)
        return
    try:
        region = x._data[view_index(idx)]  # the part written: a view for basic indexing
    except (IndexError, TypeError, ValueError):
        region = None  # write_index below says what is wrong with the index
    basic = (
        region is not None
        and region.base is not None
        and get_array_module(region).may_share_memory(region, x._data)
    )
    # an index-array write into an expanded x is PyTorch's index_put_: warned, not refused
    check_writable_memory(x, "setitem" if basic else "index_put_", region if basic else None)
    v = value._data if isinstance(value, Tensor) else value
    write_index("setitem", x, idx, v)
    x._vc[0] += 1


def _refuse_leaf_write(x: Tensor, idx: Any, value: Any) -> None:
    """``x[idx] = value`` on a leaf that requires grad (grad mode on): PyTorch's error, after
    the errors PyTorch raises first. PyTorch applies the basic part of ``idx`` first: where
    that takes a view (:func:`basic_part_is_view`) the write goes into a view of the leaf
    ("a view of a leaf Variable ..."), else into the leaf. A value that does not convert to
    ``x``'s dtype fails before (the value is converted first); with a basic index alone
    (a copy into the region, which expands the value first) so does a value of a shape that
    does not broadcast to the region; an index with index tensors writes through
    ``index_put_``, which refuses the leaf before it checks the value."""
    fit_scalar("setitem", value, x._data.dtype, check_half=False)
    parts = idx if type(idx) is tuple else (idx,)
    if isinstance(value, Tensor) and not any(_advanced(p) for p in parts):
        _target_shape("setitem", x, idx, tuple(value.shape))
    raise RuntimeError(VIEW_OF_LEAF_MESSAGE if basic_part_is_view(x, parts) else LEAF_MESSAGE)


def _advanced(item: Any) -> bool:
    """Whether an index item (converted: ints, slices, None, ``...``, bools, arrays) is an
    index tensor of PyTorch's advanced indexing (a 0-d bool stands for a view, not one)."""
    return getattr(item, "ndim", 0) > 0


def _raw_parts(idx: Any) -> tuple:
    """``idx`` as given, as a tuple whose tensors and lists are arrays (for
    :func:`basic_part_is_view` where the index could not be converted)."""
    parts = idx if type(idx) is tuple else (idx,)
    return tuple(
        p._data if isinstance(p, Tensor) else np.asarray(p) if isinstance(p, list) else p
        for p in parts
    )


def basic_part_is_view(x: Tensor, parts: tuple) -> bool:
    """Whether PyTorch's basic indexing of ``x`` by ``parts`` (a converted index, as a
    tuple) returns a view rather than ``x`` itself: an int or a 0-d integer index
    (``select``), None or a bool (``unsqueeze``), a slice other than the whole dim
    (start 0 or None, step 1 or None, stop None or at least the dim's size: PyTorch reads a
    negative start as given, so ``x[-3:]`` is a view even of a dim of 3) take a view;
    ``...`` and index tensors do not (index tensors are applied after, by ``index_put_``)."""

    def dims(p: Any) -> int:  # the dims of x an item takes
        if p is None or p is Ellipsis or isinstance(p, (bool, np.bool_)):
            return 0
        if getattr(p, "ndim", 0) > 0:
            return p.ndim if p.dtype == np.bool_ else 1
        return 0 if getattr(p, "dtype", None) == np.bool_ else 1

    shape = tuple(x.shape)
    spare = len(shape) - sum(dims(p) for p in parts)
    d = 0
    for p in parts:
        if p is Ellipsis:
            d, spare = d + max(spare, 0), 0
            continue
        if isinstance(p, slice):
            start, stop, step = p.start, p.stop, p.step
            if (start is not None and start != 0) or (step is not None and step != 1):
                return True
            if stop is not None and d < len(shape) and stop < shape[d]:
                return True
        elif not _advanced(p):  # an int, None, a bool
            return True
        d += dims(p)
    return False


def write_index(op: str, x: Tensor, idx: Any, v: Any, accumulate: bool = False) -> None:
    """``x._data[idx] = v`` (or scatter-add) with NumPy's errors restated for the user."""
    xp = get_array_module(x._data)
    vshape = getattr(v, "shape", ())
    target_shape = _target_shape(op, x, idx, vshape)
    if len(vshape) > len(target_shape):
        v = v.reshape(vshape[len(vshape) - len(target_shape) :])
    if accumulate:
        if getattr(v, "ndim", 0) and v.shape != target_shape:
            # broadcast here: NumPy 2.4's add.at adds wrong values (or reads stray memory)
            # when it broadcasts a value over the trailing dims of a multi-dim index
            v = xp.broadcast_to(v, target_shape)
        xp.add.at(x._data, idx, v)  # cupy.add.at on the GPU
    else:
        x._data[idx] = v


def _target_shape(op: str, x: Tensor, idx: Any, vshape: tuple) -> tuple:
    """The shape of ``x[idx]``, checking that a value of shape ``vshape`` broadcasts to it
    (extra leading dims of size 1 allowed, as in PyTorch)."""
    try:
        target_shape = x._data[view_index(idx)].shape
    except IndexError as err:
        # PyTorch checks the value's shape before the positions of the index arrays: the
        # shape with every array position at 0 (if that is all that was wrong)
        shape = shape_without_bounds(x._data, idx)
        if shape is not None:
            _check_value_shape(op, vshape, shape)
        if "too many indices" in str(err):  # PyTorch's words first, as for reading x[idx]
            text = str(_index_error(x, idx, err)).replace("\nindex: ", f"\n{op}: ", 1)
            raise IndexError(text) from None
        raise IndexError(f"{op}: {err} (tensor of shape {tuple(x.shape)})") from None
    _check_value_shape(op, vshape, target_shape)
    return target_shape


def _check_value_shape(op: str, vshape: tuple, target_shape: tuple) -> None:
    """A value written at an index must broadcast to the indexed result's shape (extra
    leading dims of size 1 allowed)."""
    try:
        full = np.broadcast_shapes(vshape, target_shape)  # must be the target (a value
        lead = len(full) - len(target_shape)  # broadcasts to it, never the reverse)
        if full[lead:] != tuple(target_shape) or any(s != 1 for s in full[:lead]):
            raise ValueError
    except ValueError:
        raise RuntimeError(
            f"{op}: shape mismatch: value of shape {tuple(vshape)} cannot be "
            f"broadcast to the indexed result of shape {tuple(target_shape)}"
        ) from None
