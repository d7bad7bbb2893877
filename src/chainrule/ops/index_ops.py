"""Index ops along one dimension and slice writers: ``index_add``, ``index_copy``,
``index_fill``, ``masked_scatter``, ``take``, ``select``, ``select_scatter``,
``slice_scatter``.

``index_add`` is one node (``IndexAddFn`` of ``index_selection.py``, PyTorch's
``IndexAddBackward0``). The others are composed from differentiable primitives that already
exist (``Scatter`` of ``gather_scatter.py``, ``IndexPut`` and ``getitem`` of ``subscript.py``,
``where``), so its gradient, double backward and forward-mode rule are theirs: the gradient
flows to ``self`` except where overwritten and to ``source`` from the written positions,
as in PyTorch. The ``*_`` in-place forms are built by ``ops/inplace.py`` (``inplace=True``),
which records them like every other in-place op (version counter, views, CopySlices).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.grad_mode import is_grad_enabled
from ..autograd.ieee import quiet_fp
from ..autograd.saved_fields import given  # grad_fn._saved_*
from ..autograd.state import LOCAL as _vmap
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..float8 import refuse as _refuse_float8
from ..meta.array import MetaArray, follow
from ..qtypes import scalar_type_name
from ..scalar_range import fit_scalar
from ._tensor_args import tensor_operand
from ._util import as_tensor, constant, norm_dim
from .binary import where
from .binding import tensor_method
from .gather_scatter import IndexCopy, IndexOutOfBounds
from .index_add_checks import check_alpha, check_index_add
from .index_selection import IndexAddFn
from .masked_scatter import MaskedScatter, check_mask_dtype
from .masking import refuse_grad_into_integer
from .number_arguments import parser_int
from .subscript_read import getitem
from .subscript_write import IndexPut

__all__ = [
    "index_add",
    "index_copy",
    "index_fill",
    "masked_scatter",
    "select",
    "select_scatter",
    "slice_scatter",
    "take",
]


class IndexShapeError(IndexError, RuntimeError):
    """A ``source`` whose shape does not fit ``index`` and ``self``. PyTorch raises
    ``IndexError`` for some of these cases and ``RuntimeError`` for others; this is both."""


def _vector_index(
    op: str,
    x: Tensor,
    dim: int,
    index: Any,
    negative: bool = False,
    check: bool = True,
    long_only: bool = False,
) -> tuple:
    """(normalised dim, index as a 1-d int64 array) for the dim-wise ops, bounds-checked.

    ``negative``: negative indices count from the end (``index_fill`` allows them;
    ``index_add``/``index_copy`` raise, as PyTorch). ``long_only``: an int32 index is
    refused too (``index_copy``, ``index_fill``; ``index_fill`` raises IndexError, as
    PyTorch). An index of more than one dimension raises IndexError, RuntimeError for
    ``index_fill`` (``negative``), as PyTorch."""
    d = norm_dim(dim, x.ndim, op)[0]
    idx = index if isinstance(index, Tensor) else tensor_operand(op, "index", 3, index)
    if idx._data.dtype not in ((np.int64,) if long_only else (np.int32, np.int64)):
        error = IndexError if negative else RuntimeError
        raise error(
            f"{op}(): Expected dtype {'int64' if long_only else 'int32/int64'} for index, "
            f"got {idx.dtype}"
        )
    if idx.ndim > 1:  # index_fill's check is PyTorch's RuntimeError, the others' IndexError
        raise (RuntimeError if negative else IndexError)(
            f"{op}(): Index is supposed to be a vector (0-d or 1-d), got shape {tuple(idx.shape)}"
        )
    arr = idx._data.reshape(-1).astype(np.int64)
    size = x.shape[d] if x.ndim else 1
    lo = -size if negative else 0
    out_of_bounds = (arr < lo) | (arr >= size)
    if check and out_of_bounds.any():  # (a value check: "any bad?", which meta skips)
        bad = arr[out_of_bounds]
        raise IndexOutOfBounds(
            f"{op}(): index {int(bad[0])} is out of bounds for dimension {d} with size "
            f"{size} (valid indices: {lo}..{size - 1})"
        )
    return d, arr % size if (negative and size) else arr


def _source(op: str, x: Tensor, d: int, idx: Any, source: Any, loose: bool = False) -> Tensor:
    """``source`` checked against ``x``: same dtype, and x's shape with ``len(idx)`` at d.

    ``loose`` (``index_copy``, as PyTorch): with self and source at most 1-d, any source of
    as many elements as indices (a 0-d source for one index into a vector)."""
    src = source if isinstance(source, Tensor) else tensor_operand(op, "source", 4, source)
    if src.dtype != x.dtype:
        raise RuntimeError(
            f"{op}(): self ({x.dtype}) and source ({src.dtype}) must have the same dtype; "
            "convert with source.to(self.dtype)"
        )
    want = list(x.shape) if x.ndim else []
    if x.ndim:
        want[d] = idx.size
    ok = list(src.shape) == want or (
        loose and max(x.ndim, src.ndim) <= 1 and src.numel() == idx.size
    )
    if not ok:
        raise IndexShapeError(
            f"{op}(): source tensor shape must match self tensor shape, excluding the "
            f"specified dimension. Got self.shape = {list(x.shape)} source.shape = "
            f"{list(src.shape)} for {idx.size} indices"
        )
    return src


def _along(idx: Any, d: int, shape: tuple) -> Tensor:
    """``idx`` laid along dim ``d`` and broadcast to ``shape`` (a scatter index)."""
    xp = get_array_module(idx)
    view = idx.reshape((1,) * d + (-1,) + (1,) * (len(shape) - d - 1))
    return constant(follow(xp.ascontiguousarray(xp.broadcast_to(view, shape)), idx))


def _as_1d(x: Tensor) -> Tensor:
    return x.reshape(1) if x.ndim == 0 else x


@tensor_method(inplace=True, keywords=True)
def index_add(input: Tensor, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
    """``input`` with ``alpha * source[..., i, ...]`` added at ``x[..., index[i], ...]`` along
    ``dim`` (repeated indices accumulate)."""
    prefix: tuple = ()
    if _vmap.state.vmap:  # inside cr.func.vmap: a per-sample index runs per sample
        # in here: func imports the ops (a cycle)
        from ..func._per_sample import batch_sizes, index_batched, per_sample  # noqa: PLC0415

        if index_batched(index):
            return per_sample(index_add, input, dim, index, source, alpha=alpha)
        prefix = batch_sizes(input, source)  # PyTorch's words name the physical dims
    d, idx, src = check_index_add(input, dim, index, source, prefix)
    if input.numel() == 0 and not (
        isinstance(src, Tensor) and (src.requires_grad or src._fw_tangent is not None)
    ):
        return input.clone()
    alpha = check_alpha(input, alpha)
    if input.dtype.kind in "iu":  # PyTorch truncates a float alpha for an integer tensor
        alpha = int(alpha)
    if isinstance(alpha, Tensor) or isinstance(alpha, np.generic):
        alpha = alpha.item()
    # one node (IndexAddBackward0) saving the index and source, as PyTorch's
    out = IndexAddFn.apply(input, d, constant(idx), src, alpha=alpha)
    return given(out, dim=dim, source_dim=getattr(source, "ndim", 0))  # grad_fn._saved_*


@tensor_method(inplace=True, keywords=True)
def index_copy(input: Tensor, dim: int, index: Any, source: Any) -> Tensor:
    """``input`` with ``x[..., index[i], ...] = source[..., i, ...]`` along ``dim``."""
    d, idx = _vector_index("index_copy", input, dim, index, check=False, long_only=True)
    # the bounds are checked unless nothing is copied (self empty in a dim other than dim)
    if input.numel() or (input.ndim and not input.shape[d]):
        _vector_index("index_copy", input, dim, index, long_only=True)
    src = _source("index_copy", input, d, idx, source, loose=True)
    if src.ndim == 0 and idx.size != 1:
        raise IndexError(
            f"index_copy(): When source is scalar, index should have one element (got {idx.size})"
        )
    x1 = _as_1d(input)
    s1 = src.reshape(-1) if x1.ndim == 1 else src
    out = IndexCopy.apply(x1, d, _along(idx, d, s1.shape), s1)
    index_shown = index if isinstance(index, Tensor) else Tensor._new(idx)
    given(out, dim=dim, index=index_shown, source_dim=src.ndim)  # grad_fn._saved_*
    return out.reshape(()) if input.ndim == 0 else out


@tensor_method(inplace=True)
def index_fill(x: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    """``x`` with the slices ``index`` along ``dim`` set to ``value`` (a number or a 0-d
    tensor; a tensor value receives the gradient of every filled element)."""
    if _vmap.state.vmap:  # inside cr.func.vmap: a per-sample index runs per sample
        from ..func._per_sample import index_batched, per_sample  # noqa: PLC0415 - cycle

        if index_batched(index):
            return per_sample(index_fill, x, dim, index, value)
    d, idx = _vector_index("index_fill", x, dim, index, negative=True, long_only=True)
    _refuse_float8("index_fill_cpu", x)
    refuse_grad_into_integer(x, value)
    if isinstance(value, np.bool_):  # a float to PyTorch's argument parser
        value = float(value)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"index_fill(): only supports a 0-dimensional value tensor, but got a "
                f"tensor with {value.ndim} dimension(s)"
            )
        if value._data.dtype.kind == "c" and x.dtype.kind != "c":  # even with imag 0
            raise RuntimeError(
                "index_fill_(): Converting complex Scalar to non-complex type is not supported"
            )
        meta = type(value._data) is MetaArray  # (no value to read: stays a tensor)
        batched = type(value).__name__ == "BatchedTensor"  # per-sample values (vmap)
        if not value.requires_grad and value._fw_tangent is None and not meta and not batched:
            value = value.item()  # a constant: cast to x's dtype below, as PyTorch
    elif not isinstance(value, (int, float, bool, complex, np.number)):
        raise TypeError(
            f"index_fill(): value must be a number or a 0-d tensor, got {type(value).__name__}"
        )
    elif isinstance(value, (complex, np.complexfloating)) and x.dtype.kind != "c":
        raise RuntimeError(
            f"index_fill(): converting a complex value ({value!r}) to the tensor's dtype "
            f"{x.dtype} is not supported; use a real value"
        )
    else:
        value = fit_scalar("index_fill", value, x._data.dtype)
    xp = get_array_module(x._data)
    mask = xp.zeros(x.shape[d] if x.ndim else 1, bool)
    mask[idx] = True
    mask = mask.reshape((-1,) + (1,) * (x.ndim - d - 1)) if x.ndim else mask.reshape(())
    if isinstance(value, Tensor):
        return where(constant(mask), value.to(x.dtype), x)
    with quiet_fp():  # PyTorch casts the value to x's dtype (a Tensor's beyond range: inf)
        v = constant(xp.asarray(value).astype(x.dtype))
    return where(constant(mask), v, x)


@tensor_method(inplace=True)
def masked_scatter(x: Tensor, mask: Any, source: Any) -> Tensor:
    """``x`` with the positions where ``mask`` is True taking ``source``'s elements in
    row-major order (``mask`` and ``x`` broadcast together)."""
    if not (isinstance(x, Tensor) and isinstance(mask, Tensor) and isinstance(source, Tensor)):
        m = tensor_operand("masked_scatter", "mask", 2, mask)
        src = tensor_operand("masked_scatter", "source", 3, source)
    else:
        m, src = mask, source
    check_mask_dtype(m.dtype)  # bool only; a uint8 mask warns first (ops/masked_scatter.py)
    if src.dtype != x.dtype:
        raise RuntimeError(
            f"masked_scatter(): expected self and source to have the same dtype, but got "
            f"{x.dtype} and {src.dtype}"
        )
    try:
        shape = np.broadcast_shapes(x.shape, m.shape)
    except ValueError:
        raise RuntimeError(
            f"masked_scatter(): mask of shape {tuple(m.shape)} and self of shape "
            f"{tuple(x.shape)} cannot be broadcast together"
        ) from None
    if _vmap.state.vmap:  # inside cr.func.vmap: a per-sample mask runs per sample
        from ..func._per_sample import is_batched, per_sample  # noqa: PLC0415 - cycle

        if is_batched(m):
            return per_sample(masked_scatter, x, m, src)
    xp = get_array_module(m._data)
    marr = xp.broadcast_to(m._data, shape)
    n = int(marr.sum())
    if src.numel() < n:
        raise RuntimeError(
            f"masked_scatter(): number of elements of source ({src.numel()}) < number of "
            f"True values in the mask ({n})"
        )
    return MaskedScatter.apply(x, src, m)  # one MaskedScatterBackward0 node (x, source)


@tensor_method(keywords="out")  # torch.take takes out= (no axis=)
def take(input: Tensor, index: Any) -> Tensor:
    """The elements of ``input`` (read as 1-d, row-major) at ``index``; the result has the
    index's shape. Negative indices count from the end."""
    idx = index if isinstance(index, Tensor) else tensor_operand("take", "index", 2, index)
    if idx._data.dtype != np.int64:
        raise RuntimeError(
            f"take(): Expected a long tensor for index, but got {scalar_type_name(idx.dtype)}"
        )
    n = input.numel()
    arr = idx._data.astype(np.int64)
    out_of_range = (arr < -n) | (arr >= n)
    if out_of_range.any():  # (a value check: "any bad?", which meta skips)
        bad = arr[out_of_range]
        raise IndexError(
            f"take(): out of range: tried to access index {int(bad.flat[0])} on a tensor "
            f"of {n} elements"
        )
    from .take_polar import TakeFn  # noqa: PLC0415

    return TakeFn.apply(input, idx)  # one TakeBackward0 node (input, index)


@tensor_method
def select(input: Tensor, dim: int, index: int) -> Tensor:
    """``input`` indexed with ``index`` along ``dim`` (that dim removed; a view)."""
    if input.ndim == 0:
        raise IndexError("select(): cannot be applied to a 0-dim tensor")
    if type(dim) is not int:  # PyTorch's parser: a NumPy or 0-d tensor integer, else its error
        dim = parser_int("select", "dim", 2, dim)
    d = norm_dim(dim, input.ndim, "select")[0]
    i = _check_position("select", input, d, index, 3)
    out = getitem(input, (slice(None),) * d + (i,))
    return given(out, dim=dim, index=index)  # grad_fn._saved_dim / _index as given


def _check_position(op: str, x: Tensor, d: int, index: Any, position: int) -> int:
    """``index`` (the op's argument at ``position`` of its function form) as a position
    along ``d``: PyTorch's parser takes a NumPy integer or a one-element integer tensor too
    (``x.select(0, cr.tensor([1]))``); anything else is its TypeError (``select():
    argument 'index' (position 2) must be int, not float``)."""
    if type(index) is not int:
        if isinstance(index, Tensor) and index.numel() == 1 and index.dtype.kind in "iu":
            index = int(index.item())
        else:
            index = parser_int(op, "index", position, index)
    size = x.shape[d]
    if not -size <= index < size:
        raise IndexError(
            f"{op}(): index {index} out of range for tensor of size {list(x.shape)} at "
            f"dimension {d}"
        )
    return int(index) % size


def _scatter_into(op: str, x: Tensor, src: Any, region: tuple) -> Tensor:
    """``x`` with ``x[region] = src``; ``src`` must have the region's exact shape."""
    if _vmap.state.vmap:  # inside cr.func.vmap: batched arguments run per sample
        from ..func._per_sample import per_sample  # noqa: PLC0415 - func imports the ops

        res = per_sample(lambda a, b: _scatter_into(op, a, b, region), x, src)
        if res is not NotImplemented:
            return res
    s = as_tensor(src)
    want = x._data[region].shape
    if tuple(s.shape) != tuple(want):
        raise RuntimeError(
            f"{op}(): expected src to have a size equal to the slice of self. src size = "
            f"{list(s.shape)}, slice size = {list(want)}"
        )
    refuse_grad_into_integer(x, s)  # an integer or bool result cannot require grad
    if x.dtype.kind == "c" and is_grad_enabled() and (x.requires_grad or s.requires_grad):
        raise RuntimeError(  # PyTorch's select/slice_scatter have no complex derivative
            f"{op} does not support automatic differentiation for outputs with complex dtype."
        )
    name = "".join(w.capitalize() for w in op.split("_")) + "Backward0"  # SliceScatterBackward0
    return IndexPut.apply(x, s.to(x.dtype), region, name=name)


@tensor_method
def select_scatter(input: Tensor, src: Any, dim: int, index: int) -> Tensor:
    """``input`` with ``x.select(dim, index)`` replaced by ``src`` (out of place)."""
    if input.ndim == 0:
        raise IndexError("select_scatter(): cannot be applied to a 0-dim tensor")
    if type(dim) is not int:
        dim = parser_int("select_scatter", "dim", 3, dim)
    d = norm_dim(dim, input.ndim, "select_scatter")[0]
    i = _check_position("select_scatter", input, d, index, 4)
    out = _scatter_into("select_scatter", input, src, (slice(None),) * d + (i, Ellipsis))
    return given(out, dim=dim, index=index)  # grad_fn._saved_dim / _index as given


@tensor_method(keywords=True)  # torch.slice_scatter takes out= (the method does not)
def slice_scatter(
    input: Tensor,
    src: Any,
    dim: int = 0,
    start: int | None = None,
    end: int | None = None,
    step: int = 1,
) -> Tensor:
    """``input`` with ``x[..., start:end:step, ...]`` (along ``dim``) replaced by ``src``."""
    if input.ndim == 0:
        raise RuntimeError("slice_scatter(): cannot be applied to a 0-dim tensor")
    d = norm_dim(dim, input.ndim, "slice_scatter")[0]
    if step is None:
        step = 1
    if step <= 0:
        raise RuntimeError(f"slice_scatter(): slice step must be positive, got {step}")
    region = (slice(None),) * d + (slice(start, end, step), Ellipsis)
    out = _scatter_into("slice_scatter", input, src, region)
    return given(out, dim=dim, start=start, end=end, step=step)  # grad_fn._saved_* as given
