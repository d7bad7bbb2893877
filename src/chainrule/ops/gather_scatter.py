"""Index ops along one dimension: ``gather``, ``take_along_dim``, ``scatter``,
``scatter_add``, ``index_select``, and their bounds checks.

Each reads or writes ``x`` at the positions an integer index tensor names along ``dim``
(PyTorch's dim-wise indexing), as opposed to ``x[idx]`` subscripting in ``subscript.py``.
Out-of-range indices raise :class:`IndexOutOfBounds` (negative ones too, as PyTorch: they
never wrap); the argument checks, in PyTorch's words, are in ``gather_scatter_checks.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._user_warnings import warn_once
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..autograd.saved_fields import (  # grad_fn._saved_*
    given,
    given_dim,
    given_value,
    input_tensor,
    tensor_field,
)
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..qtypes import scalar_type_name
from ._tensor_args import tensor_operand
from ._util import as_tensor, norm_dim
from .binary import where
from .binding import tensor_method
from .gather_scatter_checks import (
    IndexOutOfBounds,
    check_gather,
    check_scatter_value,
    check_select_values,
    check_values,
)
from .index_selection import IndexSelect
from .no_derivative import record_no_derivative
from .number_arguments import parser_int
from .scatter_reduce_checks import check_shapes
from .shape import reshape
from .sparse_pattern import SparsePattern
from .sparse_tensor import make_sparse
from .subscript_read import getitem

__all__ = [
    "IndexOutOfBounds",  # (defined in gather_scatter_checks; imported from here elsewhere)
    "gather",
    "index_select",
    "scatter",
    "scatter_add",
    "take_along_dim",
]


def _full_index(index, dim: int):
    """Index tuple addressing ``index`` along ``dim`` and every position elsewhere."""
    xp = get_array_module(index)
    grids = list(xp.ogrid[tuple(slice(0, s) for s in index.shape)])
    grids[dim] = index
    return tuple(grids)


class Gather(Function):
    raw = True
    saved_fields = {  # grad_fn._saved_* as PyTorch's GatherBackward0 (saved_fields.py)
        "dim": lambda n: given_dim(n, default=n.dim),  # as given (gather keeps it)
        "index": 0,
        # the input where it can still be reached (this node keeps only the index)
        "self": tensor_field(lambda n: input_tensor(n, 0)),
        "sparse_grad": lambda n: False,
    }

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.in_shape, ctx.dim = x.shape, dim
        ctx.save_for_backward(index)  # version-checked: the index may be modified in place
        return _gathered(x, dim, index)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        zeros = get_array_module(grad._data).zeros(ctx.in_shape, grad.dtype)
        out = ScatterAdd.apply(Tensor._make(zeros, False, None, 0), ctx.dim, index, grad)
        out._vc[0] = 1  # PyTorch's new_zeros(...).scatter_add_(...): version 1
        return out, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return _gathered(t, ctx.dim, ctx.primals[2])


class GatherSparseGrad(Gather):
    """``gather(..., sparse_grad=True)``: the same forward; the gradient of ``x`` is an
    uncoalesced sparse COO tensor with one entry per gathered element (in the index's
    row-major order, repeats not summed) at ``x``'s coordinate that element was read from,
    as PyTorch gives it."""

    node_name = ("GatherBackward0", (0,))
    saved_fields = {**Gather.saved_fields, "sparse_grad": lambda n: True}

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        xp = get_array_module(index._data)
        coords = [c.reshape(-1) for c in xp.indices(index.shape, dtype=np.int64)]
        coords[ctx.dim] = index._data.reshape(-1).astype(np.int64)
        indices = xp.ascontiguousarray(xp.stack(coords).reshape(len(coords), -1))
        coalesced = indices.shape[1] <= 1  # one entry or none: coalesced, as PyTorch marks it
        pattern = SparsePattern(indices, tuple(ctx.in_shape), coalesced)
        return make_sparse(reshape(grad, (-1,)), pattern), None, None


def _scatter_fields(node: Any) -> dict | None:
    """``grad_fn._saved_*`` of PyTorch's ``ScatterBackward0`` / ``ScatterAddBackward0`` where
    ``scatter`` / ``scatter_add`` kept the dim as given (saved_fields.given); the index is
    saved value 0 (None where the op did not need it). Else the default view."""
    if "_given_args" not in node.__dict__:
        return None
    return {"dim": lambda n: given_dim(n, default=n.dim), "index": 0}


class ScatterAdd(Function):
    raw = True
    saved_fields = staticmethod(_scatter_fields)
    saved_optional_inputs = {0: 3}  # the index, saved where src needs a gradient: else None

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.dim = dim
        if ctx.needs_input_grad[3]:
            ctx.save_for_backward(index)  # version-checked: the index may be modified in place
        return _scatter_added(x, dim, index, src)

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
        return _scatter_added(tx, ctx.dim, ctx.primals[2], ts)


class Scatter(Function):
    """out = x with src written at index along dim; x's gradient is zero where overwritten."""

    raw = True
    saved_fields = staticmethod(_scatter_fields)
    # PyTorch's node: ScatterBackward0 for a src tensor, ScatterBackward1 for a value
    node_name = staticmethod(lambda node: f"ScatterBackward{int(node.by_value)}")

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.dim = dim
        ctx.by_value = isinstance(src, (int, float, bool, complex))
        ctx.save_for_backward(index)  # version-checked: the index may be modified in place
        return _scattered(x, dim, index, src)

    @staticmethod
    def backward(ctx, grad):
        index = ctx.saved_tensors[0]
        xp = get_array_module(grad._data)
        keep = xp.ones(grad.shape, dtype=bool)
        if index._data.size:  # (an empty index of any shape overwrote nothing)
            keep[_full_index(index._data, ctx.dim)] = False
        # zeros written where overwritten (not grad * mask: a NaN or inf gradient there
        # stays out, as PyTorch's)
        gx = where(Tensor._make(keep, False, None, 0), grad, 0.0)
        gs = gather(grad, ctx.dim, index) if ctx.needs_input_grad[3] else None
        return gx, None, None, gs

    @staticmethod
    def jvp(ctx, tx, _dim, _index, ts):
        xp = get_array_module(ctx.out)
        tx = xp.zeros(ctx.out.shape, ctx.out.dtype) if tx is None else tx
        if ts is None:
            ts = 0.0
        return _scattered(tx, ctx.dim, ctx.primals[2], ts)


class IndexCopy(Scatter):
    """``index_copy``'s node: :class:`Scatter`'s rule (the index expanded along ``dim``)
    under PyTorch's ``IndexCopyBackward0`` name and fields (the 1-d index and the source's
    rank as :func:`given` kept them)."""

    node_name = ("IndexCopyBackward0", (0, 3))  # lists self and source, as PyTorch's
    saved_fields = {
        "dim": lambda n: given_dim(n, default=n.dim),
        "index": lambda n: given_value(n, "index"),
        "source": tensor_field(lambda n: input_tensor(n, 3)),
        "source_dim": lambda n: given_value(n, "source_dim"),
    }

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.dim, ctx.by_value = dim, False
        ctx.save_for_backward(index, src)  # the source too, as PyTorch's node (no copy)
        return _scattered(x, dim, index, src)


def _gathered(x, dim, index):
    """torch.gather on raw arrays: it reads only x[..., :index.shape[i], ...] in the other
    dims (no broadcasting, unlike NumPy's take_along_axis): the output has the index's shape."""
    part = tuple(slice(None) if i == dim else slice(0, s) for i, s in enumerate(index.shape))
    xp = get_array_module(x)
    if not index.size:  # PyTorch skips its shape checks for an empty index: any shape
        return xp.empty(index.shape, x.dtype)
    if not index.flags.c_contiguous:  # NumPy lays the result out as the index; PyTorch's
        index = xp.ascontiguousarray(index)  # gather result is always contiguous
    return xp.take_along_axis(x[part], index, axis=dim)


def _scatter_added(x, dim, index, src):
    """A copy of x with src's leading block added at index along dim (raw arrays)."""
    out = x.copy()
    if not index.size:  # an empty index of any shape writes nothing, as PyTorch's
        return out
    xp = get_array_module(x)
    full = _full_index(index, dim)
    xp.add.at(out, full, src[tuple(slice(0, s) for s in index.shape)])  # cupy.add.at on the GPU
    return out


def _scattered(x, dim, index, src):
    """A copy of x with src (a Python scalar or src's leading block) written at index along
    dim (raw arrays)."""
    out = x.copy()
    if not index.size:  # an empty index of any shape writes nothing, as PyTorch's
        return out
    full = _full_index(index, dim)
    if isinstance(src, (int, float, bool, complex)):
        out[full] = src
    else:
        out[full] = src[tuple(slice(0, s) for s in index.shape)]
    return out


def _check_bounds(op: str, idx: Any, size: int, dim: int, allow_negative: bool = False) -> None:
    """Raise PyTorch's "index i is out of bounds" instead of letting NumPy wrap negatives:
    its words first where PyTorch raises (``take_along_dim`` without a dim; the hint on a
    line of its own), else naming the op (with a dim PyTorch 2.13 reads ``index % size``)."""
    if not idx.size:
        return
    lo, hi = int(idx.min()), int(idx.max())
    bad = hi if hi >= size else lo if lo < (-size if allow_negative else 0) else None
    if bad is not None:
        valid = f"{-size}..{size - 1}" if allow_negative else f"0..{size - 1}"
        hint = "the dimension is empty" if size == 0 else f"valid indices: {valid}"
        words = f"index {bad} is out of bounds for dimension {dim} with size {size}"
        if allow_negative:
            raise IndexOutOfBounds(f"{op}: {words} ({hint})")
        raise IndexOutOfBounds(f"{words}\n{op}: {hint}")


_INDEX_DTYPES = (np.int32, np.int64)  # the index dtypes take_along_dim accepts


@tensor_method(keywords=True)
def gather(input: Tensor, dim: int, index: Any, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j] = x[i][index[i][j]] (for dim=1), as torch.gather.

    ``sparse_grad=True`` gives ``input`` a sparse COO gradient (one entry per gathered
    element); on a 0-d input it is not implemented.
    """
    if type(dim) is not int and not isinstance(dim, str):  # (a str: a named dim)
        dim = parser_int("gather", "dim", 2, dim)
    d, idx = check_gather(input, dim, index)
    if idx.ndim == 0 and input.ndim == 1:  # a 0-d index reads one element: a 0-d result
        return reshape(gather(input, d, reshape(idx, (1,)), sparse_grad=sparse_grad), ())
    if sparse_grad:
        if input.ndim == 0:
            raise NotImplementedError("gather: sparse_grad=True on a 0-d input is not supported")
        return given(GatherSparseGrad.apply(input, d, idx), dim=dim)  # _saved_dim as given
    if input.ndim == 0:  # as PyTorch: a 0-d input reads as one element; the index's shape out
        return reshape(Gather.apply(reshape(input, (1,)), 0, reshape(idx, (-1,))), idx.shape)
    return given(Gather.apply(input, d, idx), dim=dim)  # grad_fn._saved_dim as given


@tensor_method(keywords=True)
def take_along_dim(input: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    idx = as_tensor(indices)
    if idx._data.dtype not in (_INDEX_DTYPES if dim is None else (np.int64,)):
        if dim is None:  # PyTorch's flattened call is a gather
            raise RuntimeError("gather(): Expected dtype int32/int64 for index")
        raise RuntimeError(
            "torch.take_along_dim(): dtype of indices should be Long but got "
            + scalar_type_name(idx._data.dtype)
        )
    if dim is None:
        _check_bounds("take_along_dim", idx._data, input.numel(), 0)
        return getitem(input.reshape(-1), idx.reshape(-1))
    if idx.ndim != input.ndim:  # checked before dim, as PyTorch does
        raise RuntimeError(
            f"torch.take_along_dim(): input and indices should have the same number "
            f"of dimensions, but got {input.ndim} dimensions for input, and "
            f"{idx.ndim} dimensions for indices"
        )
    d = norm_dim(dim, input.ndim, "take_along_dim")[0]
    # PyTorch wraps negative indices here (unlike gather): index -1 is the last element.
    # Beyond -size..size-1 PyTorch 2.13's CPU kernel reads index % size without a word
    # (index 4 of a size-4 dim reads element 0; an empty dim raises ZeroDivisionError);
    # chainrule raises instead, as gather and take_along_dim without dim do there.
    _check_bounds("take_along_dim", idx._data, input.shape[d], d, allow_negative=True)
    if (idx._data < 0).any():
        idx = Tensor._make(idx._data % input.shape[d], False, None, 0)
    try:
        shape = list(
            np.broadcast_shapes(
                tuple(s if i != d else 1 for i, s in enumerate(input.shape)),
                tuple(s if i != d else 1 for i, s in enumerate(idx.shape)),
            )
        )
    except ValueError:
        raise RuntimeError(
            f"take_along_dim: input of shape {tuple(input.shape)} and indices of "
            f"shape {tuple(idx.shape)} cannot be broadcast together outside "
            f"dimension {d}"
        ) from None
    xs = list(shape)
    xs[d] = input.shape[d]
    ish = list(shape)
    ish[d] = idx.shape[d]
    xb = input.expand(*xs) if tuple(xs) != input.shape else input
    # A copy, not a broadcast view: PyTorch's take_along_dim lets the caller modify its
    # indices after forward, so the gradient must not read them.
    data = idx._data
    if type(data) is not np.ndarray and getattr(type(data), "vmap_raw_array", False):
        # indices batched by cr.func.vmap (a per-sample LogicalArray): through the ops,
        # whose batching rules broadcast each sample's indices
        return gather(xb, d, idx.expand(*ish).clone())
    ib = get_array_module(data).broadcast_to(data, ish).copy()
    return gather(xb, d, Tensor._make(ib, False, None, 0))


@tensor_method(inplace=True)
def scatter(
    input: Tensor,
    dim: int,
    index: Any,
    src: Any = None,
    value: Any = None,
    reduce: str | None = None,
) -> Tensor:
    """Out-of-place torch.scatter: write ``src`` (or ``value``) into a copy of ``input``;
    with ``reduce='add'`` / ``'multiply'`` accumulate into it instead."""
    if reduce is not None:
        return _scatter_reduced(input, dim, index, value if src is None else src, reduce)
    s = value if src is None else src
    if s is None:
        raise ValueError("scatter: give src (a tensor) or value (a number)")
    if isinstance(s, (int, float, bool, complex)):
        d, idx = check_scatter_value("scatter", input, dim, index)
    else:
        d, idx, s = _check_src("scatter", input, dim, index, s)
    if idx.ndim == 0 and input.ndim == 1:  # a 0-d index names one element (src read as 1-d)
        idx = reshape(idx, (1,))
        if isinstance(s, Tensor):
            s = reshape(s, (-1,))
    if isinstance(s, (int, float, bool, complex)):
        if isinstance(s, complex) and input._data.dtype.kind != "c":
            raise RuntimeError(
                f"scatter: value {s} cannot be converted to type {input.dtype} without "
                "overflow (a complex value needs a complex input)"
            )
        if input.ndim == 0:
            return reshape(Scatter.apply(reshape(input, (1,)), 0, reshape(idx, (-1,)), s), ())
        return given(Scatter.apply(input, d, idx, s), dim=dim)  # grad_fn._saved_dim as given
    zero_dim = input.ndim == 0
    if zero_dim:
        input, idx, s = _as_vectors(input, idx, s)
    out = Scatter.apply(input, d, idx, s)
    return reshape(out, ()) if zero_dim else given(out, dim=dim)  # grad_fn._saved_dim


def _scatter_reduced(input: Tensor, dim: int, index: Any, s: Any, reduce: Any) -> Tensor:
    """``scatter(..., reduce=)``, PyTorch's legacy accumulating form: a number ``s`` is
    repeated at every index (cast to ``input``'s dtype, as PyTorch), a tensor ``s`` gives
    PyTorch's once-per-process deprecation warning pointing to ``scatter_reduce``. PyTorch
    gives it no derivative: the result is recorded under its ``NotImplemented`` node."""
    if reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")  # PyTorch's
    if s is None:
        raise ValueError("scatter: give src (a tensor) or value (a number)")
    if isinstance(s, Tensor):
        _check_src_dtype("scatter", input, s)  # PyTorch refuses before it warns
        warn_once(
            "scatter-reduce-tensor-src",
            "The reduce argument of torch.scatter with Tensor src is deprecated and will be "
            "removed in a future PyTorch release. Use torch.scatter_reduce instead for more "
            "reduction options.",
        )
    else:
        idx = check_scatter_value("scatter", input, dim, index)[1]  # (no src in the words)
        xp = get_array_module(input._data)
        s = Tensor._make(xp.full(idx.shape, s).astype(input._data.dtype), False, None, 0)
    from .scatter_reduce import scatter_reduce  # in here: scatter_reduce imports this module

    with no_grad():  # PyTorch has no derivative for it: its node raises on backward
        if reduce == "add":
            out = _scatter_add("scatter", input, dim, index, s)
        else:
            out = scatter_reduce(input, dim, index, s, "prod")
    return record_no_derivative("scatter", out, input, s)  # (scatter_: inplace_names)


def _as_vectors(x: Tensor, idx: Tensor, src: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """A 0-d scatter target as PyTorch treats it: one element, with the index and the
    source read as vectors (the caller gives the result back its 0-d shape)."""
    return reshape(x, (1,)), reshape(idx, (-1,)), reshape(src, (-1,))


def _check_src_dtype(op: str, x: Tensor, src: Tensor) -> None:
    """A tensor ``src`` must already have ``x``'s dtype: PyTorch does not cast it."""
    if src.dtype != x.dtype:  # PyTorch's words (for scatter_add too); the dtypes after them
        raise RuntimeError(
            f"{op}(): Expected self.dtype to be equal to src.dtype\n(got {x.dtype} and "
            f"{src.dtype}; convert with src.to(self.dtype))"
        )


def _check_src(op: str, x: Tensor, dim: int, index: Any, src: Any) -> tuple:
    """``(d, index, src)`` for a tensor ``src``: PyTorch's shape checks (shared with
    ``scatter_reduce``), then its kernel's rank and index-value checks, in its words."""
    d, idx, s = check_shapes(x, dim, index, src, op=op)
    if idx.numel() and max(idx.ndim, 1) != max(s.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    check_values(idx._data, x.shape[d] if x.ndim else 1, d, (idx, x, s))  # (min, max if valid)
    return d, idx, s


@tensor_method(inplace=True)
def scatter_add(input: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    return _scatter_add("scatter_add", input, dim, index, src)


def _scatter_add(op: str, x: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    d, idx, src = _check_src(op, x, dim, index, src)
    zero_dim = x.ndim == 0
    if zero_dim:
        x, idx, src = _as_vectors(x, idx, src)
    elif idx.ndim == 0:  # a 0-d index of a 1-d x names one element (src read as 1-d)
        idx, src = reshape(idx, (1,)), reshape(src, (-1,))
    out = ScatterAdd.apply(x, d, idx, src)
    return reshape(out, ()) if zero_dim else given(out, dim=dim)  # grad_fn._saved_dim


@tensor_method(keywords=True)
def index_select(input: Tensor, dim: int, index: Any) -> Tensor:
    d = norm_dim(dim, input.ndim, "index_select")[0]
    idx = index if isinstance(index, Tensor) else tensor_operand("index_select", "index", 3, index)
    if idx._data.dtype not in _INDEX_DTYPES:
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    if idx.ndim > 1:
        raise IndexError(  # PyTorch's words, then chainrule's detail
            f"index_select(): Index is supposed to be a vector\n(0-d or 1-d; got shape "
            f"{tuple(idx.shape)})"
        )
    check_select_values(input, d, idx)
    # a 0-d input keeps its shape whatever the index's rank: one value, or an error
    if input.ndim == 0 and idx.numel() != 1:
        raise RuntimeError(
            f"index_select(): Index to scalar can have only 1 value, got {idx.numel()} value(s)"
        )
    # one node (IndexSelectBackward0) saving the index; its result is row-major, as PyTorch's
    return given(IndexSelect.apply(input, d, idx), dim=dim)  # _saved_dim as given
