"""Order statistics: ``median``, ``nanmedian``, ``kthvalue``, ``mode``, ``quantile``,
``nanquantile`` and ``msort``.

The selection (which element is the median, the k-th smallest, the mode) is integer work on
raw arrays, done inside gradient-free ops (:class:`SelectPositions`,
:class:`QuantilePositions`) so that ``cr.func.vmap`` runs it per sample; the values are then
a ``gather`` of the input at the selected indices, so their
gradient is routed to the selected element (PyTorch's ``value_selecting_reduction_backward``)
and forward mode comes with ``gather``. The whole-tensor ``median()`` / ``nanmedian()``
instead share the gradient evenly among all elements equal to the result, as PyTorch's
``evenly_distribute_backward`` does (:class:`EvenSelect`).

NaN sorts last (NumPy's and PyTorch's order): ``median`` and ``quantile`` return NaN for a
slice holding one, the ``nan*`` variants ignore NaN (NaN only for an all-NaN slice).
``quantile`` interpolates between the two order statistics around ``q * (n - 1)`` with
PyTorch's ``lerp`` formula, so its gradient is the interpolation weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.lower_precision import autocast_float32_op
from ..autograd.saved_fields import given  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import device_of, get_array_module, host, to_device
from ..meta.array import MetaArray, meta_empty
from ._result_layout import contiguous
from ._util import DtypeError, as_tensor, constant, int_dim, refuse_complex_order
from .binary import where
from .binding import tensor_method
from .dim_arguments import dim_type_error
from .gather_scatter import gather
from .linear_interpolation import lerp
from .number_arguments import parser_int
from .search import sort
from .selected_values import selected_values

__all__ = [
    "kthvalue",
    "median",
    "mode",
    "msort",
    "nanmedian",
    "nanquantile",
    "quantile",
]

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")
# PyTorch refuses quantile/nanquantile over more than 2**24 elements along the reduced dim
_QUANTILE_MAX_SIZE = 2**24


def _nan_mask(a: Any) -> Any:
    xp = get_array_module(a)
    return xp.isnan(a) if a.dtype.kind in "fc" else xp.zeros(a.shape, bool)


class EvenSelect(Function):
    """The lower median of all elements of ``x`` (of its non-NaN ones with ``ignore_nan``;
    NaN if ``x`` holds NaN otherwise); the gradient is shared evenly among the elements equal
    to it (the NaN ones when it is NaN), as PyTorch's ``evenly_distribute_backward``."""

    raw = True
    # PyTorch's nodes of median() / nanmedian() of all elements, saving self and the result
    node_name = staticmethod(
        lambda node: "NanmedianBackward0" if node.ignore_nan else "MedianBackward0"
    )
    saved_fields = {"result": 1, "self": 0}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def _weights(x: Any, value: Any) -> Any:
        xp = get_array_module(x)
        mask = _nan_mask(x) if bool(_nan_mask(xp.asarray(value))) else x == value
        return (mask / max(int(mask.sum()), 1)).astype(x.dtype)

    @staticmethod
    def forward(ctx, x, ignore_nan):
        xp = get_array_module(x)
        flat = xp.asarray(x).reshape(-1)
        nan = _nan_mask(flat)
        if xp is not np and type(x) is MetaArray:  # meta: no values to select
            value = meta_empty((), x.dtype)
        elif not ignore_nan and nan.any():
            value = np.nan
        else:
            vals = xp.sort(flat[~nan])
            value = vals[(vals.size - 1) // 2] if vals.size else np.nan
        ctx.value, ctx.ignore_nan = value, ignore_nan
        out = xp.asarray(value, dtype=x.dtype).reshape(())
        ctx.save_for_backward(x, out)  # the result itself (PyTorch's _saved_result)
        return out

    @staticmethod
    def backward(ctx, grad):
        x = ctx.saved_tensors[0]
        w = EvenSelect._weights(x._data, ctx.value)
        # written into zeros (PyTorch's evenly_distribute_backward): a NaN or infinite
        # gradient reaches only the selected elements
        gx = where(constant(w != 0), grad * constant(w), 0.0)
        gx._vc[0] = 1  # (written in place there: version 1, as a leaf's .grad shows)
        return gx, None

    @staticmethod
    def jvp(ctx, t, _):
        w = EvenSelect._weights(ctx.primals[0], ctx.out)
        return (t * w).sum()


def _positions(a: Any, d: int, how: str, k: int) -> np.ndarray:
    """The index along ``d`` of the element each slice of array ``a`` selects, keepdim-shaped:
    ``how`` is 'median', 'nanmedian', 'kth' (the ``k``-th smallest) or 'mode'. Sorted order
    is stable with NaN last, so ties keep the input order: PyTorch's CPU order for the medians
    (its nth_element breaks ties by index). For 'kth' PyTorch's quickselect returns an
    implementation-defined one of the tied elements; chainrule keeps the stable order's
    (documented in :func:`kthvalue`)."""
    xp = get_array_module(a)
    if xp is not np and type(a) is MetaArray:  # meta: the positions' shape, no values
        return meta_empty(tuple(1 if i == d else n for i, n in enumerate(a.shape)), np.int64)
    a = xp.asarray(a)
    nan = _nan_mask(a)
    n = a.shape[d]
    if how == "mode":  # a Python loop over the slices (np.unique each): on the host
        idx = _mode_positions(np.moveaxis(host(a), d, -1), np.moveaxis(host(nan), d, -1), d)
        return idx if xp is np else to_device(idx, device_of(a))
    good = (~nan).sum(axis=d, keepdims=True)
    if how == "nanmedian":
        pick = xp.maximum(good - 1, 0) // 2
    elif how == "median":  # a slice with NaN selects its first NaN (sorted after the numbers)
        pick = xp.where(good < n, good, (n - 1) // 2)
    else:
        pick = xp.full(good.shape, k - 1)
    order = xp.argsort(a, axis=d, kind="stable")
    return xp.take_along_axis(order, pick, axis=d).astype(np.int64)


def _mode_positions(moved: np.ndarray, nan: np.ndarray, d: int) -> np.ndarray:
    """``mode``'s index per slice of ``moved`` (the reduced dim last), keepdim-shaped at ``d``:
    the smallest most frequent value at its last occurrence (see :func:`mode`); each NaN is a
    value of its own (NaN != NaN), sorted after every number."""
    n = moved.shape[-1]
    rows, nan_rows = moved.reshape(-1, n), nan.reshape(-1, n)
    idx = np.zeros(rows.shape[0], np.int64)
    for r, row in enumerate(rows):
        vals, counts = np.unique(row[~nan_rows[r]], return_counts=True)
        if vals.size:
            same = row == vals[int(np.argmax(counts))]
            idx[r] = n - 1 - int(np.argmax(same[::-1]))
        # else all NaN: the first of them (the first in sorted order), index 0
    return np.moveaxis(idx.reshape(moved.shape[:-1] + (1,)), -1, d)


class SelectPositions(Function):
    """:func:`_positions` as an op (integers, no gradient), so that ``cr.func.vmap`` runs it
    per sample."""

    raw = True

    @staticmethod
    def forward(ctx, x, d, how, k):
        return contiguous(get_array_module(x).asarray(_positions(x, d, how, k)))  # as PyTorch

    @staticmethod
    def backward(ctx, grad):
        return None, None, None, None


# the result type of each selection (``how``)
_RESULTS = {
    "median": return_types.median,
    "nanmedian": return_types.nanmedian,
    "kth": return_types.kthvalue,
    "mode": return_types.mode,
}


def _select(x: Tensor, d: int, how: str, keepdim: bool, k: int = 0, dim: Any = None) -> Any:
    """(values, indices) of the selected element of each slice along ``d``: the values are a
    ``gather``, so the gradient goes to the selected element. ``dim``: ``d`` as given (the
    values' ``grad_fn._saved_dim``)."""
    idx = SelectPositions.apply(x.detach(), d, how, k)
    values = given(selected_values(how, x, d, idx, keepdim), dim=d if dim is None else dim)
    return _RESULTS[how](values, idx if keepdim else idx.squeeze(d))


def _zero_d(x: Tensor, how: str) -> Any:
    """A 0-d tensor is its own median / k-th value / mode, at index 0 (PyTorch)."""
    return _RESULTS[how](x.clone(), constant(get_array_module(x._data).zeros((), np.int64)))


def _check_reducible(op: str, x: Tensor, d: int) -> None:
    if x.shape[d] == 0:
        raise IndexError(
            f"{op}(): Expected reduction dim {d} to have non-zero size (got a tensor of "
            f"shape {tuple(x.shape)})"
        )


def _no_bool(op: str, x: Tensor) -> None:
    """Refuse a bool input: PyTorch has no bool kernel for the medians and ``kthvalue``
    (``mode`` has one), and code written here would fail there."""
    if x._data.dtype.kind == "b":
        raise DtypeError(
            f"{op}(): not implemented for bool input; convert it first (x.to(torch.uint8))"
        )


_ALL_DIMS: Any = object()  # median's dim not given (all elements); None is refused, as PyTorch


def _empty_median(dtype: np.dtype) -> np.ndarray:
    """The median of no elements as PyTorch gives it: NaN, converted to ``dtype`` as x86 does
    (the most negative int64/int32, 0 for narrower integers, True for bool)."""
    if dtype.kind == "b":
        return np.asarray(True)
    if dtype.kind in "iu":
        return np.asarray(np.iinfo(dtype).min if dtype.itemsize >= 4 else 0, dtype)
    return np.asarray(np.nan, dtype)


def _median(op: str, input: Any, dim: Any, keepdim: bool, ignore_nan: bool) -> Any:  # noqa: A002
    x = as_tensor(input)
    if x._data.dtype.kind == "c":
        raise NotImplementedError(f"{op}(): complex tensors have no order (got {x.dtype})")
    if dim is None:
        if keepdim:
            raise TypeError(f"{op}(): keepdim=True needs a dim (got dim=None)")
        if x._data.size == 0:
            out = constant(get_array_module(x._data).asarray(_empty_median(x._data.dtype)))
            # a graph (backward gives zeros, a forward tangent is 0) when x has one
            return out + x.sum() if x.requires_grad or x._fw_tangent is not None else out
        _no_bool(op, x)  # after the empty case, which PyTorch answers for bool too
        return EvenSelect.apply(x, ignore_nan)
    d = int_dim(dim, x.ndim, op)
    _no_bool(op, x)  # after the dim check, as PyTorch
    if x.ndim == 0:
        return _zero_d(x, op)
    _check_reducible(op, x, d)
    return _select(x, d, op, keepdim, dim=dim)


@tensor_method(keywords=True)
def median(input: Any, dim: Any = _ALL_DIMS, keepdim: bool = False) -> Any:  # noqa: A002
    """``median(x)``: the lower median of all elements (NaN if any is NaN);
    ``median(x, dim)``: (values, indices) of the lower median along ``dim`` (an int: an
    explicit None is a TypeError, as PyTorch's parser)."""
    return _median("median", input, _given_dim("median", dim), keepdim, ignore_nan=False)


@tensor_method(keywords=True)
def nanmedian(input: Any, dim: Any = _ALL_DIMS, keepdim: bool = False) -> Any:  # noqa: A002
    """``median`` ignoring NaN: the lower median of the non-NaN values (NaN if none)."""
    return _median("nanmedian", input, _given_dim("nanmedian", dim), keepdim, ignore_nan=True)


def _given_dim(op: str, dim: Any) -> Any:
    """``dim`` of median / nanmedian: None when not given; an explicit None is refused."""
    if dim is None:
        raise dim_type_error(dim) or TypeError(
            f"{op}(): argument 'dim' (position 2) must be int, not NoneType"
        )
    return None if dim is _ALL_DIMS else dim


@tensor_method(keywords=True)
def kthvalue(input: Any, k: int, dim: int = -1, keepdim: bool = False) -> Any:  # noqa: A002
    """(values, indices) of the ``k``-th smallest element (1-based) along ``dim``.

    Among tied values the index is the one a stable sort puts ``k``-th (NaN last), and the
    gradient goes to that element. PyTorch's quickselect returns an implementation-defined
    one of the tied elements (the value is the same); replaying it matched PyTorch but was
    ~30x slower on tied integer data, so chainrule keeps this documented rule.

    Raises:
        RuntimeError: ``k`` outside 1..size of ``dim``.
    """
    x = as_tensor(input)
    if x.ndim:  # a 0-d complex tensor is its own k-th value (PyTorch returns it unordered)
        refuse_complex_order("kthvalue", x, error=NotImplementedError)
    if type(k) is not int:  # PyTorch's parser: a NumPy or 0-d tensor int, else its TypeError
        k = parser_int("kthvalue", "k", 2, k)
    d = int_dim(dim, x.ndim, "kthvalue")
    if x.ndim:  # (a 0-d bool tensor is its own k-th value in PyTorch too)
        _no_bool("kthvalue", x)
        _check_reducible("kthvalue", x, d)
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(
            f"kthvalue(): selected number k out of range for dimension {d} "
            f"(got k={k}, valid: 1 to {n})"
        )
    if x.ndim == 0:
        if x._data.dtype.kind == "c" and x.requires_grad and is_grad_enabled():
            raise RuntimeError(  # PyTorch's words (after its k check, as here)
                "kthvalue does not support automatic differentiation for outputs with "
                "complex dtype."
            )
        return _zero_d(x, "kth")
    return _select(x, d, "kth", keepdim, int(k), dim=dim)


@tensor_method(keywords=True)
def mode(input: Any, dim: int = -1, keepdim: bool = False) -> Any:  # noqa: A002
    """(values, indices) of the most frequent value along ``dim``: the smallest among equally
    frequent ones; each NaN is a value of its own, so NaN is the mode only of an all-NaN
    slice.

    The index is the mode's last occurrence. PyTorch's CPU kernel gives the last occurrence
    for slices of at most 16 elements; for longer ones its index is wherever its unstable
    ``std::sort`` leaves the run (implementation-defined: it depends on the C++ library
    PyTorch was built with), so there the two may name different occurrences of the same
    value. Replaying that sort in Python matched PyTorch but made ``mode`` 7x slower, so
    chainrule keeps the documented rule. A slice mixing NaN and numbers gets the last
    occurrence of the true mode:
    PyTorch sorts it with ``<``, which NaN makes no ordering (undefined behaviour in C++),
    so its runs split and it can return a value that is not the mode (``[1, nan, 0, 1]``
    gives 0 at index 2 in PyTorch 2.13; 1 at index 3 here).
    """
    x = as_tensor(input)
    if x._data.dtype.kind == "c":
        raise NotImplementedError(f"mode(): complex tensors have no order (got {x.dtype})")
    d = int_dim(dim, x.ndim, "mode")
    if x.ndim == 0:
        return _zero_d(x, "mode")
    _check_reducible("mode", x, d)
    return _select(x, d, "mode", keepdim, dim=dim)


@tensor_method(keywords=True)
def msort(input: Any) -> Tensor:  # noqa: A002
    """``input`` sorted along its first dimension (``sort(input, 0).values``)."""
    return sort(as_tensor(input), 0).values


def _q_array(op: str, q: Any, x: Tensor) -> tuple[np.ndarray, bool]:
    """The quantiles as a float64 array and whether ``q`` was a 1-d tensor."""
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(
                f"{op}() q must be a scalar or 1D tensor (got shape {tuple(q.shape)})"
            )
        if q.dtype != x.dtype:
            raise RuntimeError(
                f"{op}() q tensor must be same dtype as the input tensor (got q {q.dtype}, "
                f"input {x.dtype})"
            )
        # the quantiles are read on the host (a few numbers, from any device)
        qa, vector = np.asarray(host(q._data), dtype=np.float64).reshape(-1), q.ndim == 1
    elif isinstance(q, (int, float, np.number)) and not isinstance(q, bool):
        qa, vector = np.asarray([float(q)]), False
    elif isinstance(q, (list, tuple)):
        raise TypeError(f"{op}(): q must be a float or a Tensor, not {type(q).__name__}")
    else:
        raise TypeError(f"{op}(): q must be a float or a Tensor, not {type(q).__name__}")
    bad = qa[~((qa >= 0) & (qa <= 1))]
    if bad.size:
        raise RuntimeError(f"{op}() q must be in the range [0, 1] but got {bad[0]:g}")
    return qa, vector


def _quantile_positions(
    a: Any, d: int, qs: tuple, ignore_nan: bool, interpolation: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each ``q``: the sorted positions below and above ``q * (n - 1)`` along ``d`` of
    array ``a`` (``n``: the non-NaN count with ``ignore_nan``) and the interpolation weight,
    each of shape ``(len(qs), *keepdim shape)``."""
    xp = get_array_module(a)
    a = xp.asarray(a)
    n = a.shape[d]
    # the ranks are computed in the input's dtype, as PyTorch does: float32's rounding of
    # q * (n - 1) moves the interpolation weight (0.995 * 3 is 2.9850001 in float32)
    ft = a.dtype.type
    good = (~_nan_mask(a)).sum(axis=d, keepdims=True).astype(a.dtype)
    q = xp.asarray(qs, a.dtype).reshape((-1,) + (1,) * a.ndim)
    if ignore_nan:
        ranks = xp.maximum(q * (good - ft(1)), ft(0))
    else:  # a slice holding NaN points at its last element, which is NaN
        ranks = xp.where(good < n, ft(n - 1), q * ft(n - 1))
    if interpolation == "nearest":
        ranks = xp.around(ranks)  # half to even, as PyTorch
    below, above = xp.floor(ranks).astype(np.int64), xp.ceil(ranks).astype(np.int64)
    if interpolation == "lower":
        above = below
    elif interpolation == "higher":
        below = above
    weight = xp.full(ranks.shape, 0.5) if interpolation == "midpoint" else ranks - xp.floor(ranks)
    return below, above, weight.astype(a.dtype)


class QuantilePositions(Function):
    """:func:`_quantile_positions` as an op (no gradient), so that ``cr.func.vmap`` runs it
    per sample."""

    raw = True

    @staticmethod
    def forward(ctx, x, d, qs, ignore_nan, interpolation, last=False):
        xp = get_array_module(x)
        values = _quantile_positions(x, d, qs, ignore_nan, interpolation)
        if last:  # (len(qs), ..., 1) -> (..., len(qs)): one gather for every q
            values = (xp.moveaxis(v[..., 0], 0, -1) for v in values)
        return tuple(xp.ascontiguousarray(v) for v in values)

    @staticmethod
    def backward(ctx, *grads):
        return None, None, None, None, None, None


def _quantile(
    op: str,
    input: Any,  # noqa: A002
    q: Any,
    dim: Any,
    keepdim: bool,
    interpolation: str,
    ignore_nan: bool,
) -> Tensor:
    x = as_tensor(input)
    if x.dtype.kind != "f" or x.dtype == np.float16:
        raise RuntimeError(
            f"{op}() input tensor must be either float or double dtype (got {x.dtype})"
        )
    qa, vector = _q_array(op, q, x)
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(
            f"{op}() interpolation must be one of linear, lower, higher, midpoint or nearest, "
            f"but got {interpolation}"
        )
    d = None if dim is None else int_dim(dim, x.ndim, op)
    if x._data.size == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty (got shape {tuple(x.shape)})")
    # PyTorch's composition (its graph: View/Unsqueeze+Transpose, Sort, View, Gather(s),
    # Lerp, then in-place Unsqueeze/Transpose/Squeeze): the reduced dim moved last and sorted
    if d is None:
        src, out_shape = x.reshape(-1), ((1,) * x.ndim if keepdim else ())
    else:
        src = x if x.ndim and d == x.ndim - 1 else x.unsqueeze(-1).transpose(d, -1)
        kept = tuple(1 if i == d else n for i, n in enumerate(x.shape))
        out_shape = kept if keepdim else tuple(n for i, n in enumerate(x.shape) if i != d)
    n = src.shape[-1]
    if n > _QUANTILE_MAX_SIZE:  # PyTorch's limit on the slice it sorts
        raise RuntimeError(
            f"quantile() input tensor is too large ({op}: {n} elements along the reduced dim, "
            "more than PyTorch's 2**24)"
        )
    sorted_vals = sort(src, -1).values.reshape(out_shape + (n,))
    below, above, weight = QuantilePositions.apply(
        sorted_vals.detach(), -1, tuple(float(v) for v in qa), ignore_nan, interpolation, True
    )
    out = gather(sorted_vals, -1, below)
    if interpolation in ("linear", "midpoint"):
        out = lerp(out, gather(sorted_vals, -1, above), weight)
    if type(out) is not Tensor:  # batched (cr.func.vmap): no in-place metadata change
        return out.unsqueeze(0).transpose(0, -1).squeeze(-1) if vector else out.squeeze(-1)
    if vector:
        return out.unsqueeze_(0).transpose_(0, -1).squeeze_(-1)
    return out.squeeze_(-1)


@tensor_method(keywords=True)
@autocast_float32_op
def quantile(
    input: Any,  # noqa: A002
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """The ``q``-th quantiles (``q`` a float or 1-d tensor in [0, 1]) over all elements or
    along ``dim``; a 1-d ``q`` adds a leading dimension. ``interpolation`` picks between the
    two order statistics around ``q * (n - 1)``: 'linear', 'lower', 'higher', 'midpoint' or
    'nearest'. NaN in a slice gives NaN.

    Raises:
        RuntimeError: non-float input, empty input, more than 2**24 elements along the
            reduced dim (PyTorch's limit), ``q`` out of range, 2-d or of another dtype, or an
            unknown ``interpolation``.
    """
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


@tensor_method(keywords=True)
@autocast_float32_op
def nanquantile(
    input: Any,  # noqa: A002
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """``quantile`` ignoring NaN (NaN only for a slice that is all NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)
