"""Indexing: ``x[idx]``, gather/scatter, index_select, masked_fill, one_hot.

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
from ._util import ShapeError, as_tensor, broadcast_error, norm_dim
from .binding import tensor_method
from .inplace import apply_inplace, check_unrecorded_write, check_writable_memory
from .shape import reshape

# ``index_put_`` is a Tensor-only method (bound from ``_TENSOR_ONLY`` in ``ops/__init__.py``);
# ``getitem``/``setitem`` (``x[i]``, ``x[i] = v``) are bound there as operators.
__all__ = [
    "gather",
    "index_put_",
    "index_select",
    "masked_fill",
    "masked_select",
    "nonzero",
    "one_hot",
    "scatter",
    "scatter_add",
    "take_along_dim",
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
    xp = get_array_module(x._data)
    if out._data.base is not None and xp.may_share_memory(out._data, x._data):
        out._vc = x._vc  # basic indexing gives a view: in-place changes must be seen by both
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
        or (
            grad_mode.is_grad_enabled()
            and (x.requires_grad or (value_tensor and value.requires_grad))
        )
    ):
        if x.dtype.kind not in "fc":
            raise RuntimeError(
                f"setitem: a value that requires grad cannot be written into a "
                f"{x.dtype} tensor (not differentiable)"
            )
        apply_inplace(x, "setitem", lambda t, v: IndexPut.apply(t, v, idx), value)
        return
    check_writable_memory(x, "setitem")
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


def _full_index(index, dim: int):
    """Index tuple addressing ``index`` along ``dim`` and every position elsewhere."""
    xp = get_array_module(index)
    grids = list(xp.ogrid[tuple(slice(0, s) for s in index.shape)])
    grids[dim] = index
    return tuple(grids)


class Gather(Function):
    raw = True

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.in_shape, ctx.dim, ctx.index = x.shape, dim, index
        ctx.save_for_backward(index)  # version-checked: the index may be modified in place
        # torch.gather reads only x[..., :index.shape[i], ...] in the other dims (no
        # broadcasting, unlike NumPy's take_along_axis): the output has the index's shape.
        part = tuple(slice(None) if i == dim else slice(0, s) for i, s in enumerate(index.shape))
        return get_array_module(x).take_along_axis(x[part], index, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return (
            ScatterAdd.apply(
                Tensor._make(
                    get_array_module(grad._data).zeros(ctx.in_shape, grad.dtype), False, None, 0
                ),
                ctx.dim,
                index,
                grad,
            ),
            None,
            None,
        )

    @staticmethod
    def jvp(ctx, t, *_):
        return Gather.forward(ctx, t, ctx.dim, ctx.index)


class ScatterAdd(Function):
    raw = True

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.dim, ctx.index = dim, index
        if ctx.needs_input_grad[3]:
            ctx.save_for_backward(index)  # version-checked: the index may be modified in place
        out = x.copy()
        xp = get_array_module(x)
        full = _full_index(index, dim)
        if xp is np:
            np.add.at(out, full, src[tuple(slice(0, s) for s in index.shape)])
        else:  # pragma: no cover
            import cupyx  # type: ignore

            cupyx.scatter_add(out, full, src[tuple(slice(0, s) for s in index.shape)])
        return out

    @staticmethod
    def backward(ctx, grad):
        if not ctx.needs_input_grad[3]:
            return grad, None, None, None
        (index,) = ctx.saved_tensors
        return grad, None, None, gather(grad, ctx.dim, index)

    @staticmethod
    def jvp(ctx, tx, _dim, _index, ts):
        xp = get_array_module(ctx.out)
        tx = xp.zeros(ctx.out.shape, ctx.out.dtype) if tx is None else tx
        if ts is None:
            return tx
        return ScatterAdd.forward(ctx, tx, ctx.dim, ctx.index, ts)


class Scatter(Function):
    """out = x with src written at index along dim; x's gradient is zero where overwritten."""

    raw = True

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.dim, ctx.index = dim, index
        ctx.save_for_backward(index)  # version-checked: the index may be modified in place
        out = x.copy()
        full = _full_index(index, dim)
        if isinstance(src, (int, float, bool)):
            out[full] = src
        else:
            out[full] = src[tuple(slice(0, s) for s in index.shape)]
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        xp = get_array_module(grad._data)
        mask = xp.ones(grad.shape, dtype=grad.dtype)
        mask[_full_index(index._data, ctx.dim)] = 0
        gx = grad * Tensor._make(mask, False, None, 0)
        gs = gather(grad, ctx.dim, index) if ctx.needs_input_grad[3] else None
        return gx, None, None, gs

    @staticmethod
    def jvp(ctx, tx, _dim, _index, ts):
        xp = get_array_module(ctx.out)
        tx = xp.zeros(ctx.out.shape, ctx.out.dtype) if tx is None else tx
        if ts is None:
            ts = 0.0
        return Scatter.forward(ctx, tx, ctx.dim, ctx.index, ts)


class IndexOutOfBounds(IndexError, RuntimeError):
    """An index outside its dimension. PyTorch raises ``RuntimeError`` from gather/scatter/
    index_select (``IndexError`` from ``x[i]``); this is both, so either ``except`` works."""


def _check_bounds(op: str, idx: Any, size: int, dim: int, allow_negative: bool = False) -> None:
    """Raise PyTorch's "index i is out of bounds" instead of letting NumPy wrap negatives."""
    if not idx.size:
        return
    lo, hi = int(idx.min()), int(idx.max())
    bad = hi if hi >= size else lo if lo < (-size if allow_negative else 0) else None
    if bad is not None:
        valid = f"{-size}..{size - 1}" if allow_negative else f"0..{size - 1}"
        raise IndexOutOfBounds(
            f"{op}: index {bad} is out of bounds for dimension {dim} with "
            f"size {size} (valid indices: {valid})"
        )


def _index_arg(op: str, x: Tensor, dim: int, index: Any):
    idx = as_tensor(index)
    norm_dim(dim, x.ndim, op)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index, got {idx.dtype}")
    if idx.ndim != max(x.ndim, 1) and not (idx.ndim == 0 or x.ndim == 0):
        raise RuntimeError(
            f"{op}: index tensor must have the same number of dimensions as "
            f"the input; got index shape {tuple(idx.shape)} for input shape "
            f"{tuple(x.shape)}"
        )
    d = norm_dim(dim, x.ndim, op)[0]
    for i, (si, sx) in enumerate(zip(idx.shape, x.shape)):
        if i != d and si > sx:
            raise RuntimeError(
                f"{op}: size does not match at dimension {i}: expected index "
                f"{list(idx.shape)} to be no larger than self {list(x.shape)} "
                f"apart from dimension {d}"
            )
    _check_bounds(op, idx._data, x.shape[d] if x.ndim else 1, d)
    return d, idx  # the Tensor: the op saves it, so its version is checked in backward


@tensor_method
def gather(x: Tensor, dim: int, index: Any) -> Tensor:
    """out[i][j] = x[i][index[i][j]] (for dim=1), as torch.gather."""
    d, idx = _index_arg("gather", x, dim, index)
    return Gather.apply(x, d, idx)


@tensor_method
def take_along_dim(x: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    idx = as_tensor(indices)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"take_along_dim(): dtype of indices should be int64, got {idx.dtype}")
    if dim is None:
        _check_bounds("take_along_dim", idx._data, x.numel(), 0)
        return getitem(x.reshape(-1), idx.reshape(-1))
    if idx.ndim != x.ndim:  # checked before dim, as PyTorch does
        raise RuntimeError(
            f"take_along_dim(): input and indices should have the same number "
            f"of dimensions, but got {x.ndim} dimensions for input, and "
            f"{idx.ndim} dimensions for indices"
        )
    d = norm_dim(dim, x.ndim, "take_along_dim")[0]
    # PyTorch wraps negative indices here (unlike gather): index -1 is the last element.
    _check_bounds("take_along_dim", idx._data, x.shape[d], d, allow_negative=True)
    if (idx._data < 0).any():
        idx = Tensor._make(idx._data % x.shape[d], False, None, 0)
    try:
        shape = list(
            np.broadcast_shapes(
                tuple(s if i != d else 1 for i, s in enumerate(x.shape)),
                tuple(s if i != d else 1 for i, s in enumerate(idx.shape)),
            )
        )
    except ValueError:
        raise RuntimeError(
            f"take_along_dim: input of shape {tuple(x.shape)} and indices of "
            f"shape {tuple(idx.shape)} cannot be broadcast together outside "
            f"dimension {d}"
        ) from None
    xs = list(shape)
    xs[d] = x.shape[d]
    ish = list(shape)
    ish[d] = idx.shape[d]
    xb = x.expand(*xs) if tuple(xs) != x.shape else x
    # A copy, not a broadcast view: PyTorch's take_along_dim lets the caller modify its
    # indices after forward, so the gradient must not read them.
    ib = get_array_module(idx._data).broadcast_to(idx._data, ish).copy()
    return gather(xb, d, Tensor._make(ib, False, None, 0))


@tensor_method(inplace=True)
def scatter(
    x: Tensor, dim: int, index: Any, src: Any = None, value: Any = None, reduce: str | None = None
) -> Tensor:
    """Out-of-place torch.scatter: write ``src`` (or ``value``) into a copy of ``x``."""
    if reduce == "add":
        return scatter_add(x, dim, index, src)
    if reduce is not None:
        raise ValueError(f"scatter: reduce must be None or 'add', got {reduce!r}")
    d, idx = _index_arg("scatter", x, dim, index)
    s = value if src is None else src
    if s is None:
        raise ValueError("scatter: give src (a tensor) or value (a number)")
    if isinstance(s, (int, float, bool)):
        return Scatter.apply(x, d, idx, s)
    s = as_tensor(s)
    _check_src("scatter", d, idx, s)
    return Scatter.apply(x, d, idx, s.to(x.dtype))


def _check_src(op: str, dim: int, idx: Any, src: Tensor) -> None:
    if 0 < src.ndim <= dim:
        raise IndexError(
            f"{op}: dimension {dim} is out of range for src of shape {tuple(src.shape)}"
        )
    if src.ndim != idx.ndim or any(si > ss for si, ss in zip(idx.shape, src.shape)):
        raise RuntimeError(
            f"{op}: expected index {list(idx.shape)} to be no larger than src "
            f"{list(src.shape)} in every dimension (and of the same rank)"
        )


@tensor_method(inplace=True)
def scatter_add(x: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    d, idx = _index_arg("scatter_add", x, dim, index)
    src = as_tensor(src)
    _check_src("scatter_add", d, idx, src)
    return ScatterAdd.apply(x, d, idx, src.to(x.dtype))


@tensor_method
def index_select(x: Tensor, dim: int, index: Any) -> Tensor:
    d = norm_dim(dim, x.ndim, "index_select")[0]
    idx = as_tensor(index)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            f"index_select(): Expected dtype int32 or int64 for index, got {idx.dtype}"
        )
    if idx.ndim > 1:
        raise IndexError(
            f"index_select(): index is supposed to be a vector (0-d or 1-d), got "
            f"shape {tuple(idx.shape)}"
        )
    _check_bounds("index_select", idx._data, x.shape[d] if x.ndim else 1, d)
    if x.ndim == 0:
        return reshape(x, (1,) * idx.ndim).expand(*idx.shape) * 1
    return getitem(x, (slice(None),) * d + (idx._data.reshape(-1),), guard=(idx,))


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
        if isinstance(value, Tensor) and value.numel() == 1 and not value.requires_grad
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
