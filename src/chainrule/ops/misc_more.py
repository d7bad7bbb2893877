"""PyTorch's remaining root functions and Tensor methods, the differentiable ones written
here as compositions of existing ops: ``fill``, ``put``, ``index_reduce``, ``gradient``,
``igamma``/``igammac`` and ``detach``.

The differentiable ones are compositions (``where``, ``scatter_reduce``, slicing and
arithmetic, ``special.gammainc``), so their backward, double backward and forward-mode rules
are those of the ops they are made of; ``put`` is one node (``take_polar.PutFn``, PyTorch's
``PutBackward0``). The strided views
(``as_strided`` and friends) are written in ``_misc_more_strided.py``, the functions without
a gradient (``histogram``, ``binomial``, ``range``, ``frombuffer``, ...) in
``_misc_more_root.py`` and the Tensor-only methods (``byte``, ``new``, ``resize_``, ``map_``,
...) in ``_misc_more_methods.py``; all are re-exported here, this module being their one
registration in ``ops/__init__.py``.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _user_warnings
from .. import dtypes as _dt
from ..autograd.saved_fields import given  # grad_fn._saved_*
from ..autograd.state import LOCAL as _vmap
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..float8 import refuse as _refuse_float8
from ..qtypes import scalar_type_name
from ._misc_more_methods import resize_as_
from ._misc_more_root import (
    binomial,
    empty_permuted,
    frombuffer,
    get_deterministic_debug_mode,
    histogram,
    histogramdd,
    init_num_threads,
    is_conj,
    is_neg,
    nonzero_static,
    range,
    resolve_conj,
    resolve_neg,
    set_deterministic_debug_mode,
    to_dlpack,
)
from ._misc_more_strided import as_strided, as_strided_, as_strided_scatter
from ._util import NAMED_ERRORS, DtypeError, as_tensor, constant, lead_with, norm_dim
from .binary import where
from .binding import tensor_method
from .index_ops import IndexShapeError
from .joining import cat
from .margin_losses import mul_number
from .numpy_style import _div_number, _slice
from .scatter_reduce import IndexReduceNode, check_complex_reduce, reduce_node, scatter_reduce
from .special_more import gammainc, gammaincc
from .take_polar import PutFn

__all__ = [
    "as_strided",
    "as_strided_",
    "as_strided_scatter",
    "binomial",
    "detach",
    "empty_permuted",
    "fill",
    "frombuffer",
    "get_deterministic_debug_mode",
    "gradient",
    "histogram",
    "histogramdd",
    "igamma",
    "igammac",
    "index_reduce",
    "init_num_threads",
    "is_conj",
    "is_neg",
    "nonzero_static",
    "put",
    "range",
    "resize_as_",
    "resolve_conj",
    "resolve_neg",
    "set_deterministic_debug_mode",
    "to_dlpack",
]


def detach(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.detach``: ``input.detach()``, a tensor sharing the data, cut from the graph."""
    return as_tensor(input).detach()


def fill(input: Tensor, value: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.fill``: a new tensor of ``input``'s shape and dtype filled with ``value`` (the
    out-of-place ``fill_``). The gradient of ``input`` is zero and a tensor ``value`` (0-d)
    receives the sum of the gradient: ``where(True, value, input)``, cast to ``input``'s
    dtype.

    Raises:
        RuntimeError: ``value`` is a tensor with dimensions (as PyTorch).
    """
    x = as_tensor(input)
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(
                "fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value.ndim} dimensions."
            )
        v = value.to(x.dtype)
    else:
        v = constant(np.asarray(value).astype(x.dtype))
    return where(constant(np.ones((), bool)), v, x).to(x.dtype)


@tensor_method(inplace=True, keywords=True)
def igamma(input: Tensor, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.igamma``: the regularized lower incomplete gamma function, the same as
    ``cr.special.gammainc`` (differentiable in ``other``)."""
    try:
        return gammainc(input, other)
    except NAMED_ERRORS as err:
        lead_with("igamma", err)
        raise


@tensor_method(inplace=True, keywords=True)
def igammac(input: Tensor, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.igammac``: the regularized upper incomplete gamma function, the same as
    ``cr.special.gammaincc`` (differentiable in ``other``)."""
    try:
        return gammaincc(input, other)
    except NAMED_ERRORS as err:
        lead_with("igammac", err)
        raise


@tensor_method(inplace=True)
def put(input: Tensor, index: Any, source: Any, accumulate: bool = False) -> Tensor:  # noqa: A002
    """``torch.put``: a copy of ``input`` with ``source``'s elements written at the flat
    (row-major) positions ``index`` (negative ones count from the end); ``accumulate`` adds
    them instead, summing repeats. One ``PutBackward0`` node (``take_polar.PutFn``):
    ``input`` gets the gradient except where overwritten, ``source`` the gradient read at
    ``index``.

    Raises:
        RuntimeError: a non-integer index, a different dtype of ``source``.
        IndexError: an index out of range, a different number of elements of ``source``.
    """
    x, idx, src = as_tensor(input), as_tensor(index), as_tensor(source)
    if _vmap.state.vmap:  # inside cr.func.vmap: a per-sample index runs per sample
        # in here: func imports the ops (a cycle)
        from ..func._per_sample import index_batched, per_sample  # noqa: PLC0415

        if index_batched(idx):
            return per_sample(put, x, idx, src, accumulate)
    # PyTorch's checks (its put is clone().put_(): the messages name put_), in its order
    if idx._data.dtype != np.int64:
        raise RuntimeError(
            f"put_(): Expected a long tensor for index, but got {scalar_type_name(idx.dtype)}"
        )
    if src.dtype != x.dtype:
        raise RuntimeError(
            "put_(): self and source expected to have the same dtype, but got self.dtype = "
            f"{scalar_type_name(x.dtype)} and source.dtype = {scalar_type_name(src.dtype)}"
        )
    if idx.numel() != src.numel():
        raise IndexError(
            f"put_(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {src.numel()}, index.numel() = {idx.numel()}"
        )
    _refuse_float8("take_put_cpu", x)
    n = x.numel()
    if n == 0 and idx.numel():
        raise IndexError("put_(): Tried to put elements into an empty tensor")
    flat_idx = idx._data.reshape(-1)
    bad = (flat_idx >= n) | (flat_idx < -n)
    if bad.any():
        raise IndexError(
            f"out of range: tried to access index {int(flat_idx[bad][0])} on a tensor of "
            f"{n} elements."
        )
    return PutFn.apply(x, idx, src, accumulate=bool(accumulate))  # one PutBackward0 node


_INDEX_REDUCES = ("prod", "mean", "amax", "amin")


@tensor_method(inplace=True, keywords=True)
def index_reduce(
    input: Tensor,  # noqa: A002 - PyTorch's name
    dim: int,
    index: Any,
    source: Any,
    reduce: str,
    *,
    include_self: bool = True,
) -> Tensor:
    """``torch.index_reduce``: reduce the slices ``source[..., i, ...]`` into a copy of
    ``input`` at ``input[..., index[i], ...]`` along ``dim`` with ``reduce`` (``'prod'``,
    ``'mean'``, ``'amax'`` or ``'amin'``), counting ``input``'s own value when
    ``include_self``. It is ``scatter_reduce`` with ``index`` broadcast over ``source``, so
    its gradients are scatter_reduce's (PyTorch's: ties of amax/amin share the gradient).

    Raises:
        RuntimeError: an unknown ``reduce``, a non-integer or non-vector index, mismatched
            shapes or dtypes, a bool ``input`` (no kernel in PyTorch).
        IndexError: an index out of range.
    """
    x, idx, src = as_tensor(input), as_tensor(index), as_tensor(source)
    if reduce not in _INDEX_REDUCES:
        raise RuntimeError(
            f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
            f"{reduce!r}."
        )
    d = norm_dim(dim, max(x.ndim, 1), "index_reduce")[0]
    if idx._data.dtype not in (np.int32, np.int64):
        raise RuntimeError(
            f"index_reduce_(): Expected dtype int32/int64 for index, got {idx.dtype}"
        )
    if idx.ndim > 1:
        raise IndexError("index_reduce_(): Index is supposed to be a vector")
    if src.dtype != x.dtype:
        raise RuntimeError(
            f"index_reduce_(): self ({x.dtype}) and source ({src.dtype}) must have the same "
            "scalar type"
        )
    xs, ss = (x.shape or (1,)), (src.shape or (1,))
    k = idx.numel()
    others = (j for j in builtins.range(len(xs)) if j != d)
    bad = src.ndim != x.ndim or ss[d] != k or any(ss[j] != xs[j] for j in others)
    if bad:
        raise IndexShapeError(
            f"index_reduce_(): source of shape {tuple(src.shape)} does not fit self of shape "
            f"{tuple(x.shape)} with {k} indices along dim {d} (source must match self except along "
            "dim, where its size is the number of indices)"
        )
    _check_bool_complex(x, include_self)  # after the shape checks, as PyTorch's
    # PyTorch's TORCH_WARN_ONCE, after its shape checks and before the kernel's index check
    _user_warnings.warn_once(
        "index_reduce_beta", "index_reduce() is in beta and the API may change at any time."
    )
    arr = idx._data.reshape(-1).astype(np.int64)
    _check_bool_complex_slices(x, reduce, arr, xs[d])
    if not k and x._data.dtype.kind in "bc" and not (x.requires_grad or src.requires_grad):
        return x.clone()  # PyTorch's slice-by-slice kernel reads no slice: input as it is
    if x._data.dtype.kind == "c":
        check_complex_reduce("index_reduce", x, src, reduce)
    if ((arr < 0) | (arr >= xs[d])).any():
        raise IndexShapeError(
            f"index_reduce_(): index out of range: got {arr.tolist()} for dim {d} of size {xs[d]}"
        )
    shape = [1] * len(xs)
    shape[d] = k
    xp = get_array_module(arr)
    full = constant(xp.ascontiguousarray(xp.broadcast_to(arr.reshape(shape), ss)))
    if x.ndim and src.ndim:  # one IndexReduceBackward0 node, as PyTorch's
        out = reduce_node(IndexReduceNode, x, d, full, src, reduce, bool(include_self), idx)
        if out is not None:
            return given(out, dim=dim)
    # a 0-d input as a copy, not a view: scatter_reduce's node saves it, and index_reduce_
    # then writes the input (a saved view would fail the backward's version check)
    one = x.reshape(xs).clone() if x.ndim == 0 else x.reshape(xs)
    out = scatter_reduce(one, d, full, src.reshape(ss), reduce, include_self=bool(include_self))
    return out.reshape(x.shape)


def _kernel_dtype_name(x: Tensor) -> str:
    kind = x._data.dtype.kind
    return "Bool" if kind == "b" else "ComplexDouble" if x._data.itemsize == 16 else "ComplexFloat"


def _check_bool_complex(x: Tensor, include_self: bool) -> None:
    """PyTorch's CPU kernels for bool and complex ``index_reduce``: none without
    ``include_self`` nor for 0-d and 1-d ``input`` (refused after the shape checks)."""
    if x._data.dtype.kind in "bc" and (not include_self or x.ndim <= 1):
        kernel = "index_func_" if include_self else "index_reduce_func_exclude_input_init"
        raise DtypeError(f"\"{kernel}\" not implemented for '{_kernel_dtype_name(x)}'")


def _check_bool_complex_slices(x: Tensor, reduce: str, arr: np.ndarray, size: int) -> None:
    """Beyond 1-d PyTorch reduces a bool or complex ``index_reduce`` slice by slice with its
    tensor ops (after the shape checks), which have no bool mean (a division, done after
    every slice is read: an index out of range raises first) and no complex amax/amin
    (``maximum``/``minimum`` of the first slice: only an out-of-range first index raises
    first)."""
    kind = x._data.dtype.kind
    if kind not in "bc" or not arr.size:
        return
    if kind == "b" and reduce == "mean":
        if ((arr < 0) | (arr >= size)).any():
            raise IndexShapeError("index out of range in self")
        raise DtypeError("\"div_floor_cpu\" not implemented for 'Bool'")
    if kind == "c" and reduce in ("amax", "amin"):
        if not 0 <= arr[0] < size:
            raise IndexShapeError("index out of range in self")
        fn = "maximum_cpu" if reduce == "amax" else "minimum_cpu"
        raise DtypeError(f"\"{fn}\" not implemented for '{_kernel_dtype_name(x)}'")


def _spacing_for(op: str, spacing: Any, dims: tuple, x: Tensor) -> list:
    """One entry per dim in ``dims``: a float step or a 1-d coordinate tensor."""
    items = list(spacing) if isinstance(spacing, (list, tuple)) else [spacing]
    if len(items) == 1 and not isinstance(items[0], Tensor) and len(dims) > 1:
        items = items * len(dims)
    if len(items) != len(dims):
        raise RuntimeError(
            f"{op} expected spacing to be unspecified, a scalar or a list of length equal to "
            f"'self.dim() = {x.ndim}', since dim argument was not given, but got a list of "
            f"length {len(items)}"
            if len(dims) == x.ndim
            else f"{op} expected spacing to be unspecified, a scalar or its length to match "
            f"that of dim. Got dim of length {len(dims)} and spacing of length {len(items)}"
        )
    out = []
    for d, s in zip(dims, items):
        if isinstance(s, Tensor):
            if s.ndim != 1 or s.shape[0] != x.shape[d]:
                raise RuntimeError(
                    f"{op} expected each tensor to be on the same device as the input and of "
                    f"size {x.shape[d]} along dim {d}, got a coordinate tensor of shape "
                    f"{tuple(s.shape)}"
                )
            out.append(s.to(x.dtype))
        elif isinstance(s, (builtins.int, builtins.float, np.number)) and not isinstance(s, bool):
            out.append(builtins.float(s))
        else:
            raise TypeError(f"{op}: spacing must be numbers or 1-d tensors, got {type(s).__name__}")
    return out


def _along(v: Tensor, d: int, ndim: int) -> Tensor:
    """A 1-d tensor shaped to broadcast along dim ``d`` of an ``ndim``-d tensor."""
    return v.reshape([-1 if j == d else 1 for j in builtins.range(ndim)])


def _grad_dim(f: Tensor, d: int, h: Any, edge_order: int) -> Tensor:
    """NumPy's / PyTorch's second-order central differences along ``d``, one-sided
    differences of order ``edge_order`` at the two ends. Built as PyTorch's graph: its slices
    (an open end shows as None, negative bounds as given), its C++ numbers
    (``MulBackward1`` / ``DivBackward1``) and its order of additions."""

    def sl(a: int, b: int | None) -> Tensor:
        return _slice(f, d, a, b)

    if isinstance(h, builtins.float):
        # PyTorch divides by h, then by 2 (two DivBackward1): one division by 2h here, the
        # node that would cost a tenth of the op's time (the values differ by an ulp at most)
        inner = _div_number(sl(2, None) - sl(0, -2), 2.0 * h)
        if edge_order == 1:
            first = _div_number(sl(1, 2) - sl(0, 1), h)
            last = _div_number(sl(-1, None) - sl(-2, -1), h)
        else:
            first = mul_number(sl(0, 1), -1.5) + mul_number(sl(1, 2), 2)
            first = _div_number(first - mul_number(sl(2, 3), 0.5), h)
            last = mul_number(sl(-3, -2), 0.5) - mul_number(sl(-2, -1), 2)
            last = _div_number(last + mul_number(sl(-1, None), 1.5), h)
        return cat([first, inner, last], d)
    dx = h[1:] - h[:-1]
    hl, hr = _along(dx[:-1], d, f.ndim), _along(dx[1:], d, f.ndim)
    inner = (
        -hr / (hl * (hl + hr)) * sl(0, -2)
        + (hr - hl) / (hl * hr) * sl(1, -1)
        + hl / (hr * (hl + hr)) * sl(2, None)
    )
    if edge_order == 1:
        first = (sl(1, 2) - sl(0, 1)) / dx[0]
        last = (sl(-1, None) - sl(-2, -1)) / dx[-1]
    else:
        a, b = dx[0], dx[1]
        first = (
            -(2.0 * a + b) / (a * (a + b)) * sl(0, 1)
            + (a + b) / (a * b) * sl(1, 2)
            + -(a / (b * (a + b))) * sl(2, 3)
        )
        a, b = dx[-2], dx[-1]
        last = (
            b / (a * (a + b)) * sl(-3, -2)
            + -((a + b) / (a * b)) * sl(-2, -1)
            + (2.0 * b + a) / (b * (a + b)) * sl(-1, None)
        )
    return cat([first, inner, last], d)


def gradient(
    input: Tensor,  # noqa: A002 - PyTorch's name
    *,
    spacing: Any = 1,
    dim: int | Sequence[int] | None = None,
    edge_order: int = 1,
) -> tuple[Tensor, ...]:
    """``torch.gradient``: the derivative of sampled values along each dim in ``dim`` (all by
    default), one tensor per dim: central differences inside, one-sided ones of order
    ``edge_order`` (1 or 2) at the ends. ``spacing`` is one step for every dim, one step per
    dim, or one 1-d tensor of coordinates per dim. Integer input gives the default float
    dtype. Composed of slicing and arithmetic, so it is differentiable.

    Raises:
        ValueError: ``edge_order`` not 1 or 2.
        RuntimeError: a dim shorter than ``edge_order + 1``; a spacing that does not fit (a
            coordinate tensor of another length than its dim, which PyTorch does not check
            and computes with anyway).
    """
    op = "torch.gradient()"
    x = as_tensor(input)
    if x.dtype.kind in "biu":
        x = x.to(_dt.get_default_dtype())
    if edge_order not in (1, 2):
        raise ValueError(f"{op} only supports edge_order=1 and edge_order=2, got {edge_order}")
    if dim is None:
        dims = tuple(builtins.range(x.ndim))
    else:
        dims = norm_dim(dim, x.ndim, "gradient")
    steps = _spacing_for(op, spacing, dims, x)
    for d in dims:
        if x.shape[d] < edge_order + 1:
            raise RuntimeError(
                f"{op} expected each dimension size to be at least edge_order+1, got a size "
                f"of {x.shape[d]} along dim {d}"
            )
    return tuple(_grad_dim(x, d, h, edge_order) for d, h in zip(dims, steps))
