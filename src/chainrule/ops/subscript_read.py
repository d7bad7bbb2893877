"""Reading ``x[idx]`` (``Tensor.__getitem__``): :func:`getitem` and the Functions that record
it, with the index bookkeeping that reading and writing share.

Reading ``x[idx]`` is :class:`GetItem`; its gradient is a scatter-*add* into zeros
(:class:`IndexAdd`), so an element read several times (repeated integer indices) receives the
sum of its gradients. The index a node keeps for backward is saved here (:func:`_save_index`,
checked for in-place changes when read back) and converted here (:func:`_converted`, with
PyTorch's order of errors); ``subscript_write.py`` (``x[idx] = v``) builds on both, and on
:func:`getitem` for its backward and its two-stage writes. ``subscript.py`` re-exports the
names of both under the old import path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layout import is_vmap_array
from ..autograd.function import Function
from ..autograd.saved_fields import given_dim, tensor_field  # grad_fn._saved_* helpers
from ..autograd.state import LOCAL as _vmap
from ..autograd.tensor import Tensor
from ..backend import get_array_module, strided_view
from .index_layout import index_layout
from .inplace_checks import check_leaf as _check_leaf
from .subscript_chain import public_chain, skip_full_slices, skipped_slice
from .subscript_fields import unsqueeze_dim
from .subscript_index import (
    convert_index,
    drop_empty_ellipsis,
    earlier_index_error,
    has_advanced_int,
    index_tensors,
    join_index,
    split_index,
    split_int_and_array,
    view_index,
)

__all__ = ["GetItem", "IndexAdd", "getitem", "slice_along"]


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
    if type(idx) is tuple and name != "IndexBackward0":
        parts = _unsliced(node, idx)  # the slices PyTorch skips are no Slice of its
    sizes = {"self_sym_sizes": lambda n: tuple(n.in_shape)}
    if name == "IndexBackward0":
        return {"indices": tensor_field(_saved_indices), **sizes}
    if name == "UnsqueezeBackward0":
        return {"dim": lambda n: unsqueeze_dim(parts, len(n.in_shape))}
    kind = int if name == "SelectBackward0" else slice if name == "SliceBackward0" else None
    at = [
        i
        for i, p in enumerate(parts)
        if kind is not None and isinstance(p, kind) and (kind is int or p != slice(None))
    ]
    if not at:
        return None
    k, p = at[-1], parts[at[-1]]
    d, shape = _step_input(parts, k, node.in_shape)  # PyTorch's last step: its dim and input
    sizes = {"self_sym_sizes": lambda n: shape}
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


def _step_input(parts: Any, k: int, shape: tuple) -> tuple:
    """``(dim, sizes)`` of item ``k`` of the basic index ``parts`` as PyTorch applies it,
    item by item: the dim of the tensor the earlier items made, and that tensor's sizes."""
    taken = sum(1 for p in parts if p is not None and p is not Ellipsis)
    prefix = []
    for p in parts[:k]:
        prefix.extend([slice(None)] * (len(shape) - taken) if p is Ellipsis else [p])
    dummy = np.lib.stride_tricks.as_strided(np.zeros(1), shape, (0,) * len(shape))
    return sum(1 for p in prefix if type(p) is not int), dummy[tuple(prefix)].shape


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
        if type(idx) is tuple and "sliced" not in ctx.__dict__:
            for p in idx:  # the common x[:, j], x[0, a:b]: Python ints, slices, None, ...
                if type(p) not in _BASIC_ITEM:
                    break
            else:
                return _tuple_node_name(idx, ctx.in_shape)
        parts = idx if type(idx) is tuple else (idx,)
        parts = [  # a NumPy integer or 0-d integer array picks one position, as an int does
            int(p) if getattr(p, "ndim", None) == 0 and p.dtype.kind in "iu" else p for p in parts
        ]
        if any(not isinstance(p, (int, slice, type(None), type(Ellipsis))) for p in parts):
            return "IndexBackward0"  # a tensor, list or mask index
        if type(idx) is tuple and "sliced" not in ctx.__dict__:
            return _tuple_node_name(parts, ctx.in_shape)  # (NumPy integers made ints)
        for p in reversed(parts):
            if p is None:
                return "UnsqueezeBackward0"
            if isinstance(p, int):
                return "SelectBackward0"
            if isinstance(p, slice) and p != slice(None):
                return "SliceBackward0"
        return "SliceBackward0" if slice(None) in parts else "AliasBackward0"

    saved_fields = staticmethod(_getitem_saved_fields)  # grad_fn._saved_* (saved_fields.py)
    public_edges = staticmethod(public_chain)  # next_functions: PyTorch's chain of steps
    raw = True

    @staticmethod
    def forward(ctx, x, idx, guard=(), sliced=False):
        ctx.in_shape = x.shape
        if sliced:  # at::slice called by an op (narrow, tensor_split): never an alias
            ctx.sliced = True
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
        idx = ctx.idx
        if idx is Ellipsis or (
            type(idx) is tuple
            and (not idx or type(idx[-1]) is slice or idx[-1] is Ellipsis)  # (quick test)
            and _alias_index(ctx, idx)
        ):
            return grad, None  # x[...], x[:, :]: PyTorch's AliasBackward0 passes it on as it is
        if idx is None or (
            type(idx) is tuple and None in idx and _new_dims_only(_unsliced(ctx, idx))
        ):
            if ctx.create_graph:  # recorded: PyTorch's squeeze of the gradient (a view)
                parts = idx if type(idx) is tuple else (idx,)
                return grad.squeeze(_new_dims(parts, len(ctx.in_shape))), None
            g = grad._data if type(grad) is Tensor else None
            if type(g) is np.ndarray:  # x[None] (x[True]'s first step): PyTorch's
                out = Tensor._make(g.reshape(ctx.in_shape), False, None, 0)  # squeeze of the
                out._vc[0] = grad._vc[0]  # gradient, a view: its version
                return out, None
        idx = join_index(idx, saved[: ctx.n_index_arrays])
        out = IndexAdd.apply(grad, ctx.in_shape, idx)
        if ctx.n_index_arrays:  # PyTorch's IndexBackward0 writes into zeros (index_put_)
            out._vc[0] = 1
        return out, None

    @staticmethod
    def jvp(ctx, t, _):
        return t[ctx.primals[1]]


_BASIC_ITEM = frozenset((int, slice, type(None), type(Ellipsis)))
_ALL = slice(None)


def _tuple_node_name(parts: list, shape: tuple) -> str:
    """The name of PyTorch's last node for a user's basic tuple index ``parts`` (an
    op's ``at::slice`` is named by ``GetItem.node_name``): the last item that is not a
    slice PyTorch skips (:func:`.subscript_chain.skipped_slice`), else ``at::alias``."""
    k = len(parts)
    for p in reversed(parts):
        k -= 1
        if p is None:
            return "UnsqueezeBackward0"
        if type(p) is int:
            return "SelectBackward0"
        if type(p) is slice and p != _ALL:
            if p.start or not skipped_slice(parts, k, shape):  # (start: the quick test)
                return "SliceBackward0"
    return "AliasBackward0"  # x[:, :], x[..., 0:n]: PyTorch's at::alias


def _alias_index(ctx: Any, idx: tuple) -> bool:
    """Whether the tuple index ``idx`` reads ``x`` itself: ``()``, ``(...,)`` or, from a
    user's subscript (not an op's ``at::slice``: ``ctx.sliced``), only ``...`` and slices
    over whole dims, which PyTorch skips (its ``at::alias``, whose backward passes the
    gradient on as it is)."""
    if not idx or (len(idx) == 1 and idx[0] is Ellipsis):
        return True
    if "sliced" in ctx.__dict__:
        return False
    for p in idx:
        if p is not Ellipsis and type(p) is not slice:
            return False
    for p in skip_full_slices(idx, ctx.in_shape):
        if p is not Ellipsis and p != slice(None):
            return False
    return True


def _unsliced(ctx: Any, idx: tuple) -> tuple:
    """``idx`` with a user's slices over whole dims as ``slice(None)`` (see above)."""
    return idx if "sliced" in ctx.__dict__ else skip_full_slices(idx, ctx.in_shape)


def _new_dims(idx: tuple, ndim: int) -> tuple:
    """The dims of ``x[idx]`` that the Nones of ``idx`` made (``idx`` only adds dims)."""
    dims, k = [], 0
    taken = sum(1 for p in idx if p is not None and p is not Ellipsis)
    for p in idx:
        if p is None:
            dims.append(k)
            k += 1
        else:
            k += ndim - taken if p is Ellipsis else 1
    return tuple(dims)


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


def _new_dims_only(idx: tuple) -> bool:
    """Whether the basic index ``idx`` only adds dims (None, ``...`` and full slices), so
    that ``x[idx]`` is PyTorch's ``unsqueeze`` and its gradient a squeeze (a reshape)."""
    for i in idx:
        if not (i is None or i is Ellipsis or (type(i) is slice and i == slice(None))):
            return False
    return True


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
    if t is slice:  # forward, with int (or no) bounds: a tensor bound is read as an int by
        # convert_index, so that an in-place change to it later does not move the slice
        step, start, stop = idx.step, idx.start, idx.stop
        return (
            (step is None or type(step) is int and step > 0)
            and (start is None or type(start) is int)
            and (stop is None or type(stop) is int)
        )
    if t is not tuple:
        return False
    ellipses = 0
    for i in idx:
        ti = type(i)
        if ti is slice:
            step, start, stop = i.step, i.start, i.stop
            if not (step is None or type(step) is int and step > 0):
                return False
            if not (start is None or type(start) is int) or not (stop is None or type(stop) is int):
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
            raise _index_error(x, idx, err) from None
    if guard is None and _vmap.state.vmap:  # inside cr.func.vmap: per-sample index tensors
        from ..func._per_sample import index_batched, per_sample  # noqa: PLC0415 - cycle

        if index_batched(idx):
            return per_sample(getitem, x, idx)
    if guard is None:  # a 0-d integer tensor is read as an int: nothing to guard
        guard = tuple(t for t in index_tensors(idx) if t.ndim or t.dtype == np.bool_)
    given_idx = idx  # (for the error's words)
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
        raise _index_error(x, given_idx, err) from None
    return out


def slice_along(x: Tensor, d: int, start: int | None, stop: int | None) -> Tensor:
    """``x`` sliced ``start:stop`` along dim ``d`` as PyTorch's ``at::slice`` (``narrow``,
    ``tensor_split``): a ``SliceBackward0`` even where the slice covers the whole dim (a
    user's ``x[:, 0:n]`` is an alias there: PyTorch skips such a slice in a subscript)."""
    idx = (slice(None),) * d + (slice(start, stop),)
    try:
        return GetItem.apply(x, idx, guard=(), sliced=True)
    except IndexError as err:
        raise _index_error(x, idx, err) from None


def _index_error(x: Tensor, idx: Any, err: IndexError) -> IndexError:
    """The IndexError of reading ``x[idx]``: PyTorch's first line where it has one for too
    many indices (a lone int or slice of a 0-d tensor has its own words), then NumPy's
    reason and the shape on a later line."""
    detail = f"index: {err} (tensor of shape {tuple(x.shape)})"
    if str(err).startswith("only integers, slices"):  # PyTorch's words, its type name
        items = idx if isinstance(idx, tuple) else (idx,)
        bad = next((i for i in items if isinstance(i, (float, np.floating))), None)
        if bad is not None:
            kind = "float" if type(bad) is float else f"numpy.{type(bad).__name__}"
            return IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                f"Variables are valid indices (got {kind})\n{detail}"
            )
    if "too many indices" not in str(err):
        return IndexError(detail)
    if x.ndim == 0 and type(idx) is slice:
        first = "slice() cannot be applied to a 0-dim tensor."
    elif x.ndim == 0 and isinstance(idx, (int, np.integer)) and not isinstance(idx, bool):
        first = (  # PyTorch: index 0 has its own words, another reads a size-0 dim
            "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
            "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
            if idx == 0
            else f"index {int(idx)} is out of bounds for dimension 0 with size 0"
        )
    else:
        first = f"too many indices for tensor of dimension {x.ndim}"
    return IndexError(f"{first}\n{detail}")


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
