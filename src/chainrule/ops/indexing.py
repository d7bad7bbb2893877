"""Indexing: ``x[idx]``, ``x[idx] = v``, index_put_, masked_fill/select, one_hot, nonzero
(dim-wise gather/scatter/index_select are in ``gather_scatter.py``).

The gradient of reading ``x[idx]`` is a scatter-*add* into zeros, so an element read
several times (repeated integer indices) receives the sum of its gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._util import ShapeError, as_tensor, broadcast_error
from .binding import tensor_method
from .inplace import (
    apply_inplace,
    check_unrecorded_write,
    check_writable_memory,
    writes_into_graph,
)

# ``index_put_`` is a Tensor-only method (bound from ``_TENSOR_ONLY`` in ``ops/__init__.py``);
# ``getitem``/``setitem`` (``x[i]``, ``x[i] = v``) are bound there as operators.
__all__ = [
    "index_put_",
    "masked_fill",
    "masked_select",
    "nonzero",
    "one_hot",
]


def _convert_index(idx: Any) -> Any:
    """Tensors and lists inside an index become arrays (bool lists stay masks)."""
    if isinstance(idx, tuple):
        return tuple(_convert_index(i) for i in idx)
    if isinstance(idx, Tensor):
        return idx._data
    if isinstance(idx, list):
        return np.asarray([i.item() if isinstance(i, Tensor) else i for i in idx])
    return idx


def _view_index(idx: Any) -> Any:
    """Append ``...`` so that integer-only indexing gives a 0-d *view*, not a NumPy scalar
    copy (``t[0].mul_(2)`` must write into ``t``, as in PyTorch)."""
    if isinstance(idx, tuple):
        if any(i is Ellipsis for i in idx):
            return idx
        return idx + (Ellipsis,)
    if idx is Ellipsis:
        return idx
    return (idx, Ellipsis)


def _has_advanced_int(idx: Any) -> bool:
    items = idx if isinstance(idx, tuple) else (idx,)
    for i in items:
        if hasattr(i, "dtype") and getattr(i, "ndim", 0) >= 0 and i.dtype.kind in "iu":
            return True
    return False


class GetItem(Function):
    """``x[idx]``. ``guard``: the index Tensors ``idx`` was made from; saved so that modifying
    one in place after forward raises (as in PyTorch) instead of scattering the gradient to
    the new positions."""

    raw = True

    @staticmethod
    def forward(ctx, x, idx, guard=()):
        ctx.in_shape, ctx.idx = x.shape, idx
        if guard:
            ctx.save_for_backward(*guard)
        return x[_view_index(idx)]

    @staticmethod
    def backward(ctx, grad):
        ctx.saved_tensors  # noqa: B018 - checks that no index tensor was modified in place
        return IndexAdd.apply(grad, ctx.in_shape, ctx.idx), None

    @staticmethod
    def jvp(ctx, t, _):
        return t[ctx.idx]


class IndexAdd(Function):
    """zeros(shape) with ``grad`` scatter-added at ``idx`` (backward of GetItem)."""

    raw = True

    @staticmethod
    def forward(ctx, g, shape, idx):
        ctx.idx = idx
        xp = get_array_module(g)
        out = xp.zeros(shape, dtype=g.dtype)
        if _has_advanced_int(idx):
            if xp is np:
                np.add.at(out, idx, g)
            else:  # pragma: no cover - cupy
                import cupyx  # type: ignore

                cupyx.scatter_add(out, idx, g)
        else:
            out[idx] = g
        return out

    @staticmethod
    def backward(ctx, grad):
        return GetItem.apply(grad, ctx.idx), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return IndexAdd.forward(ctx, t, ctx.primals[1], ctx.idx)


def _is_int(i: Any) -> bool:
    return (
        isinstance(i, (int, np.integer))
        and not isinstance(i, bool)
        or (hasattr(i, "ndim") and i.ndim == 0 and i.dtype.kind in "iu")
    )


def _is_array(i: Any) -> bool:
    return hasattr(i, "ndim") and i.ndim > 0


def _split_int_and_array(idx: tuple) -> tuple | None:
    """PyTorch applies integer indices as *basic* indexing (they select and drop a dim), while
    NumPy treats an int beside an index array as advanced, which moves the broadcast dims when
    a slice separates them. Split such an index into (ints-and-slices, arrays) stages."""
    if not (any(_is_int(i) for i in idx) and any(_is_array(i) for i in idx)):
        return None
    first = tuple(slice(None) if _is_array(i) else i for i in idx)
    second = tuple(
        i if (_is_array(i) or i is Ellipsis) else slice(None) for i in idx if not _is_int(i)
    )
    return first, second


def _index_tensors(idx: Any) -> tuple:
    """The Tensors inside an index (their arrays are what GetItem's backward reads)."""
    return tuple(i for i in (idx if isinstance(idx, tuple) else (idx,)) if isinstance(i, Tensor))


def getitem(x: Tensor, idx: Any, guard: tuple | None = None) -> Tensor:
    """``x[idx]``; ``guard`` names Tensors the index arrays alias (default: those in ``idx``)
    so that an in-place change to them after forward is detected."""
    if guard is None:
        guard = _index_tensors(idx)
    idx = _convert_index(idx)
    if isinstance(idx, tuple):
        stages = _split_int_and_array(idx)
        if stages is not None:
            return getitem(getitem(x, stages[0], guard), stages[1], guard)
    try:
        out = GetItem.apply(x, idx, guard=guard)
    except IndexError as err:
        raise IndexError(f"index: {err} (tensor of shape {x.shape})") from None
    return out


class IndexPut(Function):
    """``out = x`` with ``out[idx] = v``: the recorded form of ``x[idx] = v`` (PyTorch's
    CopySlices). Its derivative: the gradient passes to ``x`` except at ``idx`` (overwritten)
    and from ``idx`` to ``v`` (summed back to ``v``'s shape by the engine). Backward is
    written with ``IndexPut`` and indexing, so it is differentiable again."""

    raw = True

    @staticmethod
    def forward(ctx, x, v, idx):
        ctx.idx = idx
        out = x.copy()
        write_index("setitem", Tensor._make(out, False, None, 0), idx, v)
        return out

    @staticmethod
    def backward(ctx, grad):
        gx = IndexPut.apply(grad, 0.0, ctx.idx) if ctx.needs_input_grad[0] else None
        gv = getitem(grad, ctx.idx) if ctx.needs_input_grad[1] else None
        return gx, gv, None

    @staticmethod
    def jvp(ctx, tx, tv, _):
        x = ctx.primals[0]
        out = get_array_module(x).zeros_like(ctx.out) if tx is None else tx.copy()
        out[ctx.idx] = 0.0 if tv is None else tv
        return out


def setitem(x: Tensor, idx: Any, value: Any) -> None:
    """``x[idx] = value``. Recorded for autograd when ``x`` or ``value`` requires grad (the
    tensor is rebased onto an :class:`IndexPut` node, as PyTorch's CopySlices does); a leaf
    that requires grad refuses, as in PyTorch."""
    idx = _convert_index(idx)
    value_tensor = isinstance(value, Tensor)
    tangents = x._fw_tangent is not None or (value_tensor and value._fw_tangent is not None)
    batched = type(x) is not Tensor and getattr(x, "vmap_inplace", None) is not None  # vmap
    if (
        tangents
        or batched
        or writes_into_graph(x)
        or (grad_mode.is_grad_enabled() and value_tensor and value.requires_grad)
    ):
        if x.dtype.kind not in "fc":
            raise RuntimeError(
                f"setitem: a value that requires grad cannot be written into a "
                f"{x.dtype} tensor (not differentiable)"
            )
        apply_inplace(x, "setitem", lambda t, v: IndexPut.apply(t, v, idx), value)
        return
    try:
        region = x._data[_view_index(idx)]  # the part written: a view for basic indexing
    except (IndexError, TypeError, ValueError):
        region = None  # write_index below says what is wrong with the index
    basic = (
        region is not None
        and region.base is not None
        and get_array_module(region).may_share_memory(region, x._data)
    )
    check_writable_memory(x, "setitem", region if basic else None)
    v = value._data if isinstance(value, Tensor) else value
    write_index("setitem", x, idx, v)
    x._vc[0] += 1


def index_put_(x: Tensor, indices: tuple, values: Any, accumulate: bool = False) -> Tensor:
    """``x[indices] = values`` (or ``+=`` with repeated indices summed when accumulate)."""
    check_unrecorded_write(x, "index_put_")
    if not isinstance(indices, (tuple, list)):
        raise TypeError(
            f"index_put_(): indices must be a tuple of tensors, got {type(indices).__name__}"
        )
    if isinstance(values, Tensor) and values.dtype != x.dtype:
        raise RuntimeError(
            f"index_put_: requires the source and destination dtypes to match, "
            f"got {x.dtype} for the destination and {values.dtype} for the "
            "source; convert with values.to(x.dtype)"
        )
    idx = _convert_index(tuple(indices))
    v = values._data if isinstance(values, Tensor) else values
    write_index("index_put_", x, idx, v, accumulate)
    x._vc[0] += 1
    return x


def write_index(op: str, x: Tensor, idx: Any, v: Any, accumulate: bool = False) -> None:
    """``x._data[idx] = v`` (or scatter-add) with NumPy's errors restated for the user."""
    xp = get_array_module(x._data)
    try:
        target_shape = x._data[_view_index(idx)].shape
    except IndexError as err:
        raise IndexError(f"{op}: {err} (tensor of shape {tuple(x.shape)})") from None
    vshape = getattr(v, "shape", ())
    try:
        np.broadcast_shapes(vshape, target_shape)
        if len(vshape) > len(target_shape) and any(
            s != 1 for s in vshape[: len(vshape) - len(target_shape)]
        ):
            raise ValueError
    except ValueError:
        raise RuntimeError(
            f"{op}: shape mismatch: value of shape {tuple(vshape)} cannot be "
            f"broadcast to the indexed result of shape {tuple(target_shape)}"
        ) from None
    if len(vshape) > len(target_shape):
        v = v.reshape(vshape[len(vshape) - len(target_shape) :])
    if accumulate:
        if xp is np:
            np.add.at(x._data, idx, v)
        else:  # pragma: no cover - cupy
            import cupyx  # type: ignore

            cupyx.scatter_add(x._data, idx, v)
    else:
        x._data[idx] = v


@tensor_method(inplace=True)
def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    from .binary import where

    m = as_tensor(mask)
    if m.dtype.kind != "b":
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {m.dtype}")
    try:
        np.broadcast_shapes(m.shape, x.shape)
    except ValueError:
        raise ShapeError(
            f"masked_fill: mask of shape {tuple(m.shape)} and input of shape "
            f"{tuple(x.shape)} cannot be broadcast together"
        ) from None
    v = (
        value.item()
        if isinstance(value, Tensor)
        and value.numel() == 1
        and not value.requires_grad
        and value._fw_tangent is None  # a forward-mode tangent must flow through where
        else value
    )
    if isinstance(v, (bool, int, float)) and x.dtype.kind in "biu":  # keeps x's integer dtype
        # (PyTorch casts the value to it; float tensors already keep theirs under promotion)
        v = Tensor._make(get_array_module(x._data).asarray(v).astype(x.dtype), False, None, 0)
    return where(m, v, x)


@tensor_method
def masked_select(x: Tensor, mask: Any) -> Tensor:
    m = as_tensor(mask)
    try:
        xb = np.broadcast_shapes(x.shape, m.shape)
    except ValueError:
        raise broadcast_error("masked_select", x, m) from None
    return getitem(
        x.expand(*xb) if x.shape != xb else x,
        get_array_module(m._data).broadcast_to(m._data, xb),
        guard=(m,),
    )


def one_hot(index: Any, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dimension of size ``num_classes``."""
    idx = as_tensor(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects an integer tensor of class indices, got {idx.dtype}")
    xp = get_array_module(idx._data)
    if num_classes < 0:
        num_classes = int(idx._data.max()) + 1 if idx._data.size else 0
    if idx._data.size and (idx._data.min() < 0 or idx._data.max() >= num_classes):
        raise ValueError(
            f"one_hot: class values must lie in [0, {num_classes}), got "
            f"{int(idx._data.min())}..{int(idx._data.max())}"
        )
    out = (idx._data[..., None] == xp.arange(num_classes)).astype(np.int64)
    return Tensor._make(out, False, None, 0)


@tensor_method
def nonzero(x: Tensor, as_tuple: bool = False):
    xp = get_array_module(x._data)
    nz = xp.nonzero(x._data)
    if as_tuple:
        return tuple(Tensor._make(i, False, None, 0) for i in nz)
    return Tensor._make(xp.stack(nz, axis=1), False, None, 0)
