"""PyTorch's top-level NumPy/SciPy-style utilities: ``diagflat``, ``diagonal_scatter``,
``combinations``, ``vander``, ``unravel_index``, ``isin``, ``var_mean``/``std_mean`` and the
trapezoid rule (``trapezoid``, ``trapz``, ``cumulative_trapezoid``).

The differentiable ones are compositions of existing differentiable ops (so reverse mode,
forward mode and double backward come with them):

- ``diagflat(x, k)`` = ``diag_embed(x.flatten(), k)``;
- ``diagonal_scatter(x, s)`` = ``x`` with ``x[diagonal index] = s`` (``IndexPut``, keeping
  ``x``'s strides as PyTorch): d/dx is the gradient off the diagonal, d/ds its diagonal;
- ``combinations`` indexes the input with the index tuples of ``itertools`` (gradient: the
  scatter-add of advanced indexing);
- ``vander(x)`` = columns ``1, x, x^2, ...`` as a ``cumprod`` of ``x`` repeated (as PyTorch;
  ``x ** k`` would give 0 * inf = NaN gradients at x = 0);
- ``var_mean``/``std_mean``: one two-output node each (``fused_moments.py``) for real
  floating inputs; ``var``/``std`` (statistics.py) and ``mean`` for bfloat16 and complex;
- trapezoid: sum_i (y_i + y_{i+1}) / 2 * (x_{i+1} - x_i), in PyTorch's arrangement of the
  sums (a constant spacing ``dx``: dx * (sum(y) - (y_0 + y_last) / 2)).

``unravel_index`` and ``isin`` return integer and boolean tensors (no gradient).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.saved_fields import given  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..float8 import refuse as _refuse_float8
from ..meta.array import MetaArray
from ..meta.results import meta_result, refuse_meta
from ._util import NAMED_ERRORS, DtypeError, as_tensor, constant, lead_with, norm_dim
from .binary import Div, _call
from .binding import numpy_keywords, tensor_method
from .cumulative import cumprod, cumsum
from .fused_moments import fused_moments
from .joining import cat
from .margin_losses import mul_number
from .masking import refuse_grad_into_integer
from .reduction import mean, sum
from .statistics import SafeSqrt, moment
from .structural import diag_embed, diagonal
from .subscript_read import getitem, slice_along
from .subscript_write import IndexPut
from .views import reshape

__all__ = [
    "combinations",
    "cumulative_trapezoid",
    "diagflat",
    "diagonal_scatter",
    "isin",
    "std_mean",
    "trapezoid",
    "trapz",
    "unravel_index",
    "vander",
    "var_mean",
]


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


@tensor_method
def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A square matrix with the flattened ``input`` on its ``offset``-th diagonal."""
    x = as_tensor(input)
    return diag_embed(reshape(x, (x.numel(),)), offset)  # PyTorch's dims: -2, -1


@tensor_method
def diagonal_scatter(
    input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1
) -> Tensor:
    """``input`` with its (``offset``, ``dim1``, ``dim2``) diagonal replaced by ``src``
    (out of place; ``src`` is cast to ``input``'s dtype)."""
    op = "diagonal_scatter"
    x, s = as_tensor(input), as_tensor(src)
    d1, d2 = norm_dim(dim1, x.ndim, op)[0], norm_dim(dim2, x.ndim, op)[0]
    if d1 == d2:
        raise RuntimeError(f"{op}: diagonal dimensions cannot be identical {dim1}, {dim2}")
    want = tuple(diagonal(x, offset, d1, d2).shape)
    if tuple(s.shape) != want:
        raise RuntimeError(
            f"{op}: expected src to have a size equal to the slice of self. src size = "
            f"{list(s.shape)}, slice size = {list(want)}"
        )
    refuse_grad_into_integer(x, s)  # an integer or bool result cannot require grad
    # The diagonal as an advanced index: the other dims' aranges broadcast in their order,
    # the diagonal's position along the last axis, so x[idx] has diagonal()'s shape. IndexPut
    # with strided=True keeps x's strides in the result, as PyTorch does.
    xp = get_array_module(x._data)
    off, k = int(offset), want[-1]
    others = [d for d in range(x.ndim) if d not in (d1, d2)]
    idx: list[Any] = [None] * x.ndim
    for pos, d in enumerate(others):
        shape = [1] * (len(others) + 1)
        shape[pos] = x.shape[d]
        idx[d] = xp.arange(x.shape[d]).reshape(shape)
    diag_shape = [1] * len(others) + [k]
    idx[d1] = (xp.arange(k) + max(-off, 0)).reshape(diag_shape)
    idx[d2] = (xp.arange(k) + max(off, 0)).reshape(diag_shape)
    name = "DiagonalScatterBackward0"
    out = IndexPut.apply(x, s.to(x.dtype), tuple(idx), strided=True, name=name)
    return given(out, dim1=dim1, dim2=dim2, offset=offset)  # grad_fn._saved_* as given


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of the elements of a 1-d tensor, one per row (as
    ``itertools.combinations`` / ``combinations_with_replacement``)."""
    op = "combinations"
    x = as_tensor(input)
    if x.ndim != 1:
        raise RuntimeError(f"{op}: expect a 1D vector, but got shape {list(x.shape)}")
    if not _is_int(r):
        raise TypeError(f"{op}(): argument 'r' must be int, not {type(r).__name__}")
    if r < 0:
        raise RuntimeError(f"{op}: expect a non-negative number, but got {r}")
    if r == 0:
        return getitem(x, slice(0, 0))
    refuse_meta("masked_select", x)  # PyTorch's combinations selects by a mask
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = np.array(list(pick(range(x.shape[0]), int(r))), dtype=np.int64).reshape(-1, int(r))
    xp = get_array_module(x._data)
    return getitem(x, constant(xp.asarray(idx)))


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803
    """The Vandermonde matrix of a 1-d ``x``: columns x^(N-1), ..., x, 1 (or increasing
    powers); integer and bool inputs give int64, as PyTorch."""
    op = "vander"
    x = as_tensor(x)
    if x.ndim != 1:
        raise RuntimeError(f"{op}: x must be a one-dimensional tensor, got shape {list(x.shape)}")
    n = x.shape[0] if N is None else N
    if not _is_int(n):
        raise TypeError(f"{op}(): argument 'N' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"{op}: N must be non-negative, got {n}")
    target = dtypes.promote_types(x.dtype, np.dtype(np.int64))
    x = x if x.dtype == target else x.to(target)
    xp = get_array_module(x._data)
    if n == 0:
        return constant(xp.zeros((x.shape[0], 0), target))
    cols = [constant(xp.ones((x.shape[0], 1), target))]
    if n > 1:
        rep = x.unsqueeze(1).expand(x.shape[0], int(n) - 1)
        cols.append(cumprod(rep, 1))
    out = cat(cols, 1)
    return out if increasing else out.flip(1)


def unravel_index(indices: Tensor, shape: Any) -> tuple:
    """The coordinates in an array of ``shape`` of each flat index (a tuple of int64 tensors
    shaped like ``indices``). As PyTorch, indices are not range-checked: they are taken
    modulo the size (floor division then Python-style remainder), negative ones included."""
    op = "unravel_index"
    if not isinstance(indices, Tensor):
        raise TypeError(f"{op}(): expected 'indices' to be a Tensor, got {type(indices).__name__}")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{op}(): expected 'indices' to be integer dtype, but got {indices.dtype}")
    if _is_int(shape):
        shape = (shape,)
    if not isinstance(shape, (list, tuple)):
        raise TypeError(
            f"{op}(): expected 'shape' to be int or sequence of ints, but got {type(shape)}"
        )
    for d in shape:
        if not _is_int(d):
            raise TypeError(
                f"{op}(): expected 'shape' sequence to only contain ints, but got {type(d)}"
            )
    shape = tuple(int(d) for d in shape)
    if any(d < 0 for d in shape):
        raise ValueError(f"{op}(): 'shape' cannot have negative values, but got {shape}")
    if 0 in shape:
        raise RuntimeError(
            f"{op}(): 'shape' {shape} has a dimension of size 0, which holds no index "
            "(PyTorch: ZeroDivisionError)"
        )
    coefs = np.cumprod((shape[1:] + (1,))[::-1])[::-1].astype(np.int64)
    xp = get_array_module(indices._data)
    flat = indices._data.astype(np.int64)[..., None]
    res = xp.floor_divide(flat, xp.asarray(coefs)) % xp.asarray(np.array(shape, np.int64))
    return tuple(constant(res[..., k].copy()) for k in range(len(shape)))


def _isin_operand(op: str, v: Any) -> Any:
    if isinstance(v, Tensor):
        kind = v.dtype.kind
        if kind in "bc":
            name = "Bool" if kind == "b" else str(v.dtype)
            raise RuntimeError(f"Unsupported input type encountered for {op}(): {name}")
        return v
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return v.item() if isinstance(v, np.generic) else v
    raise TypeError(f"{op}(): expected a Tensor or a real number, got {type(v).__name__}")


def isin(
    elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False
) -> Tensor:
    """A bool tensor shaped like ``elements``: whether each element occurs in
    ``test_elements`` (both compared in their promoted dtype; NaN matches nothing). One of
    the two may be a number. ``assume_unique`` is a speed hint, as in NumPy."""
    op = "isin"
    a, b = _isin_operand(op, elements), _isin_operand(op, test_elements)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{op}(): elements and test_elements cannot both be numbers")
    _refuse_float8("isin_default_cpu", a, b)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        target = dtypes.promote_types(a.dtype, b.dtype)
    elif isinstance(a, Tensor):
        target = dtypes.scalar_result_dtype(a.dtype, b)
    else:
        target = dtypes.scalar_result_dtype(b.dtype, a)
    ref = a if isinstance(a, Tensor) else b
    xp = get_array_module(ref._data)
    arr_a = a._data if isinstance(a, Tensor) else xp.asarray(a)
    arr_b = b._data if isinstance(b, Tensor) else xp.asarray(b)
    found = xp.isin(
        arr_a.astype(target),
        arr_b.astype(target),
        assume_unique=bool(assume_unique),
        invert=bool(invert),
    )
    if type(found) is MetaArray:  # a meta input: the mask's shape only (PyTorch's meta)
        return meta_result(found.shape, np.bool_)
    return constant(xp.asarray(found, dtype=bool))


def _moments(op: str, x: Any, dim: Any, unbiased: Any, keepdim: bool, correction: Any) -> tuple:
    x = as_tensor(x)
    if isinstance(dim, bool):  # PyTorch's (input, unbiased) overload
        if unbiased is not None:
            raise TypeError(f"{op}(): got unbiased twice (as dim={dim} and unbiased={unbiased})")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}(): pass either unbiased or correction, not both")
    if x.dtype.kind not in "fcV":  # V: bfloat16
        raise DtypeError(
            f"{op}: only supports floating point and complex dtypes, got {x.dtype}; "
            "call .float() first"
        )
    if x.dtype.kind == "f" or dtypes.is_bfloat16(x.dtype):  # one node, VarMeanBackward0 /
        # StdMeanBackward0 (fused_moments.py; bfloat16 summed in float32, rounded once)
        # grad_fn._saved_correction as PyTorch's shows it: as given, unbiased as 1 / 0,
        # else 1 with a dim and None without one (its overload without dim keeps none)
        shown = correction
        if correction is None:
            correction = 1 if unbiased is None or unbiased is True else 0
            shown = correction if unbiased is not None or dim is not None else None
        out = fused_moments(op, x, dim, keepdim, correction, op == "std_mean")
        given(out[0], dim=dim, correction=shown)
        return out
    v = moment(op, x, dim, unbiased, keepdim, correction)  # complex: composed
    return (SafeSqrt.apply(v) if op == "std_mean" else v), mean(x, dim, keepdim)


@numpy_keywords(keywords="axis")
def var_mean(
    input: Any,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple:
    """``(var(input, ...), mean(input, ...))`` over the same dims (Bessel's correction by
    default; ``correction`` or ``unbiased`` as for ``var``)."""
    return _moments("var_mean", input, dim, unbiased, keepdim, correction)


@numpy_keywords(keywords="axis")
def std_mean(
    input: Any,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple:
    """``(std(input, ...), mean(input, ...))``; the std's gradient at a constant input is 0,
    as for ``std``."""
    return _moments("std_mean", input, dim, unbiased, keepdim, correction)


def _slice(t: Tensor, d: int, start: int | None, stop: int | None, shown: Any = None) -> Tensor:
    """``t`` sliced along ``d`` as PyTorch's ``at::slice`` (``_saved_dim`` ``shown``, else
    ``d``; an open end shows as None)."""
    out = slice_along(t, d, start, stop)
    return given(out, dim=d if shown is None else shown, start=start or 0, end=stop)


class _DivNumber(Div):
    """``x / number`` with the number a C++ Scalar: PyTorch's ``DivBackward1`` (listing x)."""

    node_name = ("DivBackward1", (0,))
    saved_fields = {"other": lambda n: n.number}


def _div_number(x: Tensor, c: float) -> Tensor:
    out = _call(_DivNumber, "div", x, c)
    if out._grad_fn is not None:
        out._grad_fn.number = c
    return out


def _pairs(y: Tensor, d: int, shown: Any = None) -> Tensor:
    """``y[.., :-1] + y[.., 1:]`` along ``d``, PyTorch's slices."""
    return _slice(y, d, 0, -1, shown) + _slice(y, d, 1, None, shown)


def _spacing(op: str, y: Tensor, x: Any, d: int) -> Tensor:
    """``x``'s differences along ``d``, shaped to broadcast against ``y``'s (PyTorch's
    rule: a 1-d ``x`` lies along ``d``; a lower-rank ``x`` gets leading 1s)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): x must be a Tensor (a number is passed as dx=), got {x!r}")
    if x.dtype.kind == "b":
        raise RuntimeError(f"{op}: received a bool input for `x` or `y`, but bool is not supported")
    if x.ndim == 1:
        if x.shape[0] != y.shape[d]:
            raise RuntimeError(
                f"{op}: there must be one `x` value for each sample point; got {x.shape[0]} "
                f"x values for {y.shape[d]} samples along dim {d}"
            )
        x = reshape(x, tuple(x.shape[0] if i == d else 1 for i in range(y.ndim)))
    elif x.ndim < y.ndim:
        x = reshape(x, (1,) * (y.ndim - x.ndim) + tuple(x.shape))
    return _slice(x, d, 1, None) - _slice(x, d, 0, -1)


def _check_y(op: str, y: Any, x: Any, dx: Any, dim: int) -> tuple:
    if x is not None and dx is not None:
        raise TypeError(f"{op}(): pass either x or dx, not both")
    if not isinstance(y, Tensor):
        raise TypeError(f"{op}(): y must be a Tensor, got {type(y).__name__}")
    if y.ndim == 0:
        raise IndexError(f"{op}: dimension specified as {dim} but tensor has no dimensions")
    d = norm_dim(dim, y.ndim, op)[0]
    if y.dtype.kind == "b":
        raise RuntimeError(f"{op}: received a bool input for `y`, but bool is not supported")
    if dx is None:
        dx = 1
    if isinstance(dx, Tensor) and dx.ndim == 0 and dx.dtype.kind in "iuf":
        dx = dx.item()
    if isinstance(dx, bool) or not isinstance(dx, (int, float, np.integer, np.floating)):
        raise RuntimeError(f"{op}: currently, we only support dx as a real number, got {dx!r}")
    return d, dx.item() if isinstance(dx, np.generic) else dx


def _trapezoid(op: str, y: Tensor, x: Any, dx: Any, dim: int) -> Tensor:
    d, dx = _check_y(op, y, x, dx, dim)
    if y.shape[d] == 0:  # no samples: 0, as NumPy
        shape = tuple(s for i, s in enumerate(y.shape) if i != d)
        return constant(get_array_module(y._data).zeros(shape, y.dtype))
    try:
        # PyTorch's graph: its numbers are C++ Scalars (MulBackward1 / DivBackward1); without
        # x the dims show as given, with x counted from the front
        if x is None:
            first = given(getitem(y, (slice(None),) * d + (0,)), dim=dim)
            last = given(getitem(y, (slice(None),) * d + (-1,)), dim=dim)
            return mul_number(sum(y, dim) - mul_number(first + last, 0.5), float(dx))
        return _div_number(sum(_pairs(y, d) * _spacing(op, y, x, d), d), 2.0)
    except NAMED_ERRORS as err:
        lead_with(op, err)
        raise


@numpy_keywords(keywords="axis")
def trapezoid(y: Tensor, x: Tensor | None = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The trapezoid rule along ``dim``: sample points ``x`` (a tensor) or a constant
    spacing ``dx`` (default 1). No samples give 0."""
    return _trapezoid("trapezoid", y, x, dx, dim)


@numpy_keywords(keywords="axis")
def trapz(y: Tensor, x: Tensor | None = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """PyTorch's older name for :func:`trapezoid` (whose ``dx`` is a float, so a bool
    ``dx`` counts as 0.0/1.0 here, as PyTorch, where ``trapezoid`` refuses it)."""
    if isinstance(dx, bool):
        dx = float(dx)
    return _trapezoid("trapz", y, x, dx, dim)


@numpy_keywords(keywords="axis")
def cumulative_trapezoid(
    y: Tensor, x: Tensor | None = None, *, dx: Any = None, dim: int = -1
) -> Tensor:
    """The running trapezoid rule along ``dim`` (one fewer element than ``y`` there):
    cumsum((y_i + y_{i+1}) / 2 * (x_{i+1} - x_i))."""
    op = "cumulative_trapezoid"
    d, dx = _check_y(op, y, x, dx, dim)
    try:
        if x is None:  # PyTorch's graph (as trapezoid's)
            return cumsum(mul_number(_pairs(y, d, dim), dx / 2.0), dim)
        return _div_number(cumsum(_pairs(y, d) * _spacing(op, y, x, d), d), 2.0)
    except NAMED_ERRORS as err:
        lead_with(op, err)
        raise
