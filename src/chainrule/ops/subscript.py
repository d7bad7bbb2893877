"""Subscripting: the operators ``x[idx]`` and ``x[idx] = v`` (``Tensor.__getitem__`` and
``Tensor.__setitem__``) with the Functions that record them.

Reading ``x[idx]`` is :class:`GetItem`; its gradient is a scatter-*add* into zeros
(:class:`IndexAdd`), so an element read several times (repeated integer indices) receives the
sum of its gradients. Writing ``x[idx] = v`` is recorded as :class:`IndexPut` (PyTorch's
CopySlices) when autograd needs it, else goes straight into ``x``'s memory (``write_index``).

These are the low layer of indexing: the named ops of ``indexing.py`` (``index_put``,
``masked_select``, ...) and the dim-wise ops of ``gather_scatter.py`` / ``index_ops.py`` are
built on them, and ``indexing.py`` re-exports every name here under its old import path.
The operators are bound onto ``Tensor`` in ``ops/__init__.py``; none of them is a
``chainrule.*`` function, so this module is not one of the op modules listed there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layout import is_vmap_array
from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.saved_fields import given_dim, tensor_field  # grad_fn._saved_* helpers
from ..autograd.tensor import Tensor
from ..backend import get_array_module, strided_view
from ..scalar_range import fit_scalar
from ._result_layout import clone_layout, contiguous, has_own_layout, strided_copy
from .index_layout import index_layout
from .inplace import (
    _check_leaf,
    apply_inplace,
    check_writable_memory,
    has_tangent,
    writes_into_graph,
)
from .inplace_overlap import setitem_through_subview
from .setitem_rules import (
    check_mask_shape,
    check_put_dtype,
    check_value_overlap,
    expand_to_region,
    lone_byte_mask,
    setitem_node_name,
)
from .subscript_fields import put_fields, unsqueeze_dim
from .subscript_index import (
    convert_index,
    drop_empty_ellipsis,
    earlier_index_error,
    has_advanced_int,
    index_tensors,
    join_index,
    shape_without_bounds,
    split_index,
    split_int_and_array,
    view_index,
)

__all__ = ["GetItem", "IndexAdd", "IndexPut", "getitem", "setitem", "write_index"]


def _save_index(ctx: Any, idx: Any, *also: Any) -> None:
    """Keep ``idx`` for backward: its arrays saved first, then ``also``, the rest of it (the
    template) on ``ctx.idx`` with ``ctx.n_index_arrays``. Without a recorded gradient
    nothing is split (no backward will read it)."""
    if True not in ctx.needs_input_grad:
        ctx.idx, ctx.n_index_arrays = idx, 0
        return
    ctx.idx, arrays = split_index(idx)
    ctx.n_index_arrays = len(arrays)
    if arrays or also:
        ctx.save_for_backward(*arrays, *also)


def _saved_index(ctx: Any) -> Any:
    """The index :func:`_save_index` kept. Where it held arrays, every saved value is checked
    for in-place modification first (this also raises once the graph was freed); an index
    of ints and slices alone saved nothing, and nothing is checked."""
    if not ctx.n_index_arrays:
        return ctx.idx
    return join_index(ctx.idx, ctx.saved_tensors[: ctx.n_index_arrays])


def _getitem_saved_fields(node: Any) -> dict | None:
    """``grad_fn._saved_*`` of ``x[idx]`` as PyTorch's last indexing node (see node.py):
    Select's dim and index, Slice's dim, start, end and step (as given: None is 0 / 2**63 - 1
    / 1, negatives as PyTorch shows them), Index's indices; dims count from the first index
    part. Other nodes: the default view."""
    name, idx = node.name(), node.idx
    parts = idx if type(idx) is tuple else (idx,)
    sizes = {"self_sym_sizes": lambda n: tuple(n.in_shape)}
    if name == "IndexBackward0":
        return {"indices": tensor_field(_saved_indices), **sizes}
    if name == "UnsqueezeBackward0":
        return {"dim": lambda n: unsqueeze_dim(parts, len(n.in_shape))}
    kind = int if name == "SelectBackward0" else slice if name == "SliceBackward0" else None
    at = [i for i, p in enumerate(parts) if kind is not None and isinstance(p, kind)]
    if not at or kind is slice and parts[at[-1]] == slice(None):
        return None
    d, p = at[-1], parts[at[-1]]
    # select / narrow keep their dim (and select its index) as given (saved_fields.given)
    if kind is int:
        return {
            "dim": lambda n: given_dim(n, default=d),
            "index": lambda n: given_dim(n, "index", default=p),
            **sizes,
        }
    start, end, step = p.start or 0, (1 << 63) - 1 if p.stop is None else p.stop, p.step or 1
    return {
        "dim": lambda n: given_dim(n, default=d),
        "end": lambda n: given_dim(n, "end", default=end),
        "start": lambda n: given_dim(n, "start", default=start),
        "step": lambda n: step,
        **sizes,
    }


def _saved_indices(node: Any) -> tuple:
    """PyTorch's ``_saved_indices``: one int64 tensor per index part, None for a full slice."""
    parts = _saved_index(node)
    parts = parts if type(parts) is tuple else (parts,)
    return tuple(
        None
        if type(p) is slice and p == slice(None)
        else p
        if isinstance(p, Tensor)
        else Tensor._make(np.asarray(p, dtype=np.int64), False, None, 0)
        for p in parts
    )


class GetItem(Function):
    """``x[idx]``. ``guard``: the index Tensors ``idx`` was made from; saved so that modifying
    one in place after forward raises (as in PyTorch) instead of scattering the gradient to
    the new positions."""

    @staticmethod
    def node_name(ctx):  # PyTorch's last step of x[idx]: Index, Select, Slice, Unsqueeze
        idx = getattr(ctx, "idx", None)
        if type(idx) is int:  # the common x[i] (named on every recorded call: node.py)
            return "SelectBackward0"
        parts = idx if type(idx) is tuple else (idx,)
        parts = [  # a NumPy integer or 0-d integer array picks one position, as an int does
            int(p) if getattr(p, "ndim", None) == 0 and p.dtype.kind in "iu" else p for p in parts
        ]
        if any(not isinstance(p, (int, slice, type(None), type(Ellipsis))) for p in parts):
            return "IndexBackward0"  # a tensor, list or mask index
        for p in reversed(parts):
            if p is None:
                return "UnsqueezeBackward0"
            if isinstance(p, int):
                return "SelectBackward0"
            if isinstance(p, slice) and p != slice(None):
                return "SliceBackward0"
        return "SliceBackward0" if slice(None) in parts else "AliasBackward0"

    saved_fields = staticmethod(_getitem_saved_fields)  # grad_fn._saved_* (saved_fields.py)
    raw = True

    @staticmethod
    def forward(ctx, x, idx, guard=()):
        ctx.in_shape = x.shape
        _save_index(ctx, idx, *guard)  # the index arrays, then the Tensors to check
        out = x[view_index(idx)]
        if type(idx) is not int and _has_index_array(idx):
            out = index_layout(x, idx, out)  # a copy: laid out as PyTorch's index result
        elif type(idx) is tuple and None in idx:
            out = _unsqueeze_strides(x, idx, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors  # checks that no index tensor was modified in place
        idx = join_index(ctx.idx, saved[: ctx.n_index_arrays])
        return IndexAdd.apply(grad, ctx.in_shape, idx), None

    @staticmethod
    def jvp(ctx, t, _):
        return t[ctx.primals[1]]


def _unsqueeze_strides(x: Any, idx: tuple, out: Any) -> Any:
    """``out = x[idx]`` (a basic index holding None) with PyTorch's strides for the dims the
    Nones made: PyTorch applies the items left to right, and a None is an ``unsqueeze`` at
    the next dim of ``x`` not yet indexed, whose stride is that dim's ``size * stride``
    (the itemsize past the last dim), before that dim is selected or sliced; NumPy gives
    such a dim stride 0. ``out`` itself when its strides already are PyTorch's."""
    if out.size == 0 or is_vmap_array(out) or is_vmap_array(x):
        return out
    xsh, xst = x.shape, x.strides
    free = x.ndim - sum(1 for i in idx if i is not None and i is not Ellipsis)
    strides = list(out.strides)
    d = k = 0  # the next dim of x, of out
    for i in idx:
        if type(i) is bool or getattr(i, "dtype", None) == np.bool_:
            return out  # a bool scalar: an advanced index (split_int_and_array stages it)
        if i is Ellipsis:
            d, k = d + free, k + free
        elif i is None:
            strides[k] = xsh[d] * xst[d] if d < x.ndim else x.itemsize
            k += 1
        elif isinstance(i, slice):
            d, k = d + 1, k + 1
        else:  # an int: selects, no dim of out
            d += 1
    if tuple(strides) == out.strides:
        return out
    writeable = getattr(out.flags, "writeable", True)  # CuPy's views are always writeable
    return strided_view(out, out.shape, tuple(strides), writeable=writeable)


def _has_index_array(idx: Any) -> bool:
    """Whether ``idx`` holds an index array or a 0-d mask (an advanced index)."""
    for i in idx if type(idx) is tuple else (idx,):
        if getattr(i, "ndim", 0) > 0 or getattr(i, "dtype", None) == np.bool_:
            return True
    return False


class IndexAdd(Function):
    """zeros(shape) with ``grad`` scatter-added at ``idx`` (backward of GetItem)."""

    raw = True

    @staticmethod
    def forward(ctx, g, shape, idx):
        _save_index(ctx, idx)
        return _index_added(g, shape, idx)

    @staticmethod
    def backward(ctx, grad):
        return GetItem.apply(grad, _saved_index(ctx)), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return _index_added(t, ctx.primals[1], ctx.primals[2])


def _index_added(g: Any, shape: tuple, idx: Any) -> Any:
    """zeros(shape) with g scatter-added at idx (raw arrays)."""
    xp = get_array_module(g)
    out = xp.zeros(shape, dtype=g.dtype)
    if has_advanced_int(idx):
        xp.add.at(out, idx, g)  # cupy.add.at on the GPU
    else:
        out[idx] = g
    return out


def _basic(idx: Any) -> bool:
    """Whether ``idx`` is an int, a forward slice, or a tuple of those, None and ``...``: the
    common index that :func:`.subscript_index.convert_index` would leave as it is."""
    t = type(idx)
    if t is int:
        return True
    if t is slice:
        return idx.step is None or type(idx.step) is int and idx.step > 0
    if t is not tuple:
        return False
    ellipses = 0
    for i in idx:
        ti = type(i)
        if ti is slice:
            if not (i.step is None or type(i.step) is int and i.step > 0):
                return False
        elif i is Ellipsis:
            ellipses += 1
        elif ti is not int and i is not None:
            return False
    return ellipses < 2  # PyTorch reads a second ``...`` as no dim: drop_empty_ellipsis


def getitem(x: Tensor, idx: Any, guard: tuple | None = None) -> Tensor:
    """``x[idx]``; ``guard`` names Tensors the index arrays alias (default: those in ``idx``)
    so that an in-place change to them after forward is detected."""
    if guard is None and _basic(idx):  # ints, forward slices, None, ...: nothing to convert
        try:
            return GetItem.apply(x, idx, guard=())
        except IndexError as err:
            raise IndexError(f"index: {err} (tensor of shape {tuple(x.shape)})") from None
    if guard is None:  # a 0-d integer tensor is read as an int: nothing to guard
        guard = tuple(t for t in index_tensors(idx) if t.ndim or t.dtype == np.bool_)
    idx = _converted(x, idx)
    if type(idx) is bool or getattr(idx, "shape", None) == () and idx.dtype == np.bool_:
        idx = (idx,)  # a lone bool scalar: staged as in a tuple (split_int_and_array)
    if isinstance(idx, tuple):
        stages = split_int_and_array(idx)
        if stages is not None:
            return getitem(getitem(x, stages[0], guard), stages[1], guard)
    try:
        out = GetItem.apply(x, idx, guard=guard)
    except IndexError as err:
        raise IndexError(f"index: {err} (tensor of shape {tuple(x.shape)})") from None
    return out


def _converted(x: Tensor, idx: Any, write: bool = False) -> Any:
    """:func:`convert_index` of ``idx`` for ``x``, with PyTorch's order of errors and
    placement of the advanced dims (:func:`drop_empty_ellipsis`). ``write``: for
    ``x[idx] = v``, where PyTorch refuses a leaf that requires grad before it reads the
    index tensors (an index tensor of a float dtype)."""
    try:
        idx = convert_index(idx)
    except ValueError:  # a slice step that is not positive: unless PyTorch fails earlier
        earlier_index_error(tuple(x.shape), idx)
        raise
    except IndexError:
        if write:
            _check_leaf(x, "setitem")
        raise
    return drop_empty_ellipsis(idx, x.ndim)


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
    scalar = not isinstance(value, Tensor) or value.numel() == 1
    if scalar and lone_byte_mask(idx):
        earlier_index_error(tuple(x.shape), idx)  # PyTorch's basic indexing comes first
        check_mask_shape(x, idx)
        # PyTorch fills through masked_fill_ here, which takes bool masks only
        raise RuntimeError(
            "setitem: masked_fill_ only supports boolean masks, but got mask with dtype uint8 "
            "(index with a bool mask: mask.bool())"
        )
    idx = _converted(x, idx, write=True)
    if x.requires_grad and grad_mode.is_grad_enabled():
        # PyTorch applies the basic part of the index before it refuses to write into a
        # leaf (or a view of one): its IndexError comes first
        earlier_index_error(tuple(x.shape), idx)
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
