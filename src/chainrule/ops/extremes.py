"""Extreme-value reductions: amax/amin (the gradient shared among ties), max/min (the value,
``(values, indices)`` along a dim, or the elementwise extreme of two tensors) and
argmax/argmin.

Split from ``reduction.py``: these reductions have no identity (a size-0 dim is refused),
do not order complex numbers, and route gradients only to the elements that attain the
extreme.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from .._layout import is_vmap_batched
from ..autograd.function import Function
from ..autograd.saved_fields import given, given_dim  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..float8 import refuse as _refuse_float8
from ..meta import MetaArray, meta_empty
from ._result_layout import contiguous, reduced_layout
from ._util import DtypeError, as_tensor, int_dim, reduction_axes, refuse_complex_order
from .binary import maximum, minimum, where
from .binding import tensor_method
from .number_arguments import is_parser_int, parser_bool, parser_int
from .overload_errors import refuse_max_min_types
from .selected_values import selected_values
from .shape import reshape

__all__ = ["amax", "amin", "argmax", "argmin", "max", "min"]


def _extreme_mask(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Where ``x`` attains its reduced extreme ``y``. A NaN propagates to ``y``, and the
    NaNs that produced it take the gradient (as torch.max() does), instead of a 0/0 that
    would make the whole slice's gradient NaN; the NaN test runs on the small ``y`` first."""
    mask = x == y
    if y.dtype.kind == "f" and np.isnan(y).any():
        mask |= np.isnan(x) & np.isnan(y)
    return mask


def _tie_shares(mask: np.ndarray, axes: Any, dtype: Any) -> np.ndarray:
    """Each extreme's share of its slice's gradient, in ``dtype``: 1 where the extreme is
    unique, 1/k among k ties. Built in the gradient's dtype (not ``mask / count``, a float64
    array and a cast: at 1000x1000 float32 the backward went 3.4 -> 1.4 ms)."""
    w = mask.astype(dtype)
    count = mask.sum(axis=axes, keepdims=True)
    if count.size and count.max() > 1:
        get_array_module(w).divide(w, count.astype(dtype), out=w)
    return w


class Amax(Function):
    """max over dims; the gradient is shared evenly among tied maxima (as torch.amax)."""

    @staticmethod
    def node_name(ctx):  # PyTorch: x.max() MaxBackward1, amax(x, dim) AmaxBackward0
        # (a bfloat16 cast node may carry this name)
        mode = getattr(ctx._forward_cls, "mode", "max")
        if getattr(ctx, "whole", False):
            return f"{mode.capitalize()}Backward1"
        return f"A{mode}Backward0"

    @staticmethod
    def saved_fields(node):  # grad_fn._saved_* as PyTorch's (saved_fields.py): y kept with its dims
        if node.whole:
            return {"result": (1, lambda n, t: t.reshape(())), "self": 0}
        return {
            "dim": _shown_dims,  # as amax / amin were given them
            "keepdim": lambda n: n.keepdim,
            "result": (1, lambda n, t: t if n.keepdim else _squeezed(t, n.axes)),
            "self": 0,
        }

    raw = True
    mode = "max"
    spread = False  # the tangent: where(w != 0, t * w, 0), not t * w (AmaxSpread)

    @classmethod
    def forward(cls, ctx, x, axes, keepdim, whole=False):
        y = contiguous(  # PyTorch's result is row-major whatever the input's layout
            x.max(axis=axes, keepdims=True)
            if cls.mode == "max"
            else x.min(axis=axes, keepdims=True)
        )
        if keepdim and not x.flags.c_contiguous:  # (the kept dims' strides too: PyTorch's)
            y = reduced_layout(y)
        ctx.save_for_backward(x, y)  # y is (the base of) the output: version-checked
        ctx.axes, ctx.keepdim, ctx.whole = axes, keepdim, whole
        return (
            y
            if keepdim
            else y.reshape([s for i, s in enumerate(y.shape) if not (axes is None or i in axes)])
        )

    @staticmethod
    def backward(ctx, grad):
        x, yk = ctx.saved_tensors
        w = _tie_shares(_extreme_mask(x._data, yk._data), ctx.axes, grad.dtype)
        g = reshape(grad, yk.shape) * Tensor._make(w, False, None, 0)
        if ctx.whole:
            # max()/min() of the whole tensor: the gradient is written into zeros where the
            # extreme is (PyTorch's evenly_distribute_backward), so a NaN or infinite
            # gradient reaches only those elements; amax/amin multiply by the mask
            g = where(Tensor._make(w != 0, False, None, 0), g, 0.0)
            g._vc[0] = 1  # (written in place there: version 1, as a leaf's .grad shows)
        return g, None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x, yk = ctx.saved_arrays
        w = _tie_shares(_extreme_mask(x, yk), ctx.axes, t.dtype)
        if ctx.whole or ctx._forward_cls.spread:
            # max()/min() and the inf-norms: t * w, a NaN or inf tangent anywhere spreads
            # (PyTorch's)
            return (t * w).sum(axis=ctx.axes, keepdims=ctx.keepdim)
        # amax/amin: the extremes' tangents only, a NaN or inf elsewhere stays out (PyTorch)
        tw = get_array_module(t).where(w != 0, t * w, 0).astype(t.dtype, copy=False)
        return tw.sum(axis=ctx.axes, keepdims=ctx.keepdim)


class Amin(Amax):
    mode = "min"


class AmaxSpread(Amax):
    """amax whose tangent is ``sum(t * share)``, a NaN or inf tangent anywhere in the slice
    spreading to the result: the inf-norm's (PyTorch's ``linalg.vector_norm``)."""

    spread = True


class AminSpread(Amin):
    spread = True


def _lenient_axes(dim: Any, ndim: int) -> tuple | None:
    """The valid axes in ``dim`` (bad ones are reported later by norm_dim): PyTorch checks
    for a size-0 reduction dim before it checks for repeated dims."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return None
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    return tuple(
        {int(d) % ndim for d in dims if isinstance(d, (int, np.integer)) and -ndim <= d < ndim}
    )


def _check_nonempty(op: str, x: Tensor, axes) -> None:
    """max/min-like reductions have no identity: refuse to reduce over a size-0 dim."""
    if axes is None and x._data.size == 0:
        err = IndexError if op.startswith("arg") else RuntimeError
        raise err(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0 "
            f"(got a tensor of shape {tuple(x.shape)}); specify the reduction dim with "
            "the 'dim' argument"
        )
    for a in axes or ():
        if x.shape[a] == 0:
            raise IndexError(
                f"{op}(): Expected reduction dim {a} to have non-zero size (got "
                f"a tensor of shape {tuple(x.shape)})"
            )


def _shown_dims(node: Any) -> tuple:
    """``_saved_dim`` as PyTorch's amax / amin show it: the dims as given (-1 as 2**64 - 1),
    () for all of them; the op's own axes where it kept none (saved_fields.given)."""
    if "_given_args" not in node.__dict__:
        return tuple(node.axes)
    v = given_dim(node)
    return () if v is None else v if type(v) is tuple else (v,)


@tensor_method(keywords=True)
def amax(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    input = as_tensor(input)
    refuse_complex_order("amax", input, error=NotImplementedError)
    _check_nonempty("amax", input, _lenient_axes(dim, input.ndim))
    axes = reduction_axes(dim, input, "amax")
    if type(keepdim) is not bool:
        parser_bool("amax", "keepdim", 3, keepdim)
    _check_nonempty("amax", input, axes)
    return given(Amax.apply(input, axes, keepdim), dim=dim)  # grad_fn._saved_dim as given


@tensor_method(keywords=True)
def amin(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    input = as_tensor(input)
    refuse_complex_order("amin", input, error=NotImplementedError)
    _check_nonempty("amin", input, _lenient_axes(dim, input.ndim))
    axes = reduction_axes(dim, input, "amin")
    if type(keepdim) is not bool:
        parser_bool("amin", "keepdim", 3, keepdim)
    _check_nonempty("amin", input, axes)
    return given(Amin.apply(input, axes, keepdim), dim=dim)  # grad_fn._saved_dim as given


class _Unset:
    """The default of ``max``/``min``'s ``dim``, ``keepdim`` and ``other`` (shown as
    PyTorch's ``None`` / ``False``): a distinct object, so that an argument the caller gave
    (``x.max(None)``, ``x.max(keepdim=True)``: refused, as PyTorch refuses them) is known
    by one identity test."""

    def __init__(self, shown: str) -> None:
        self.shown = shown

    def __repr__(self) -> str:
        return self.shown

    def __bool__(self) -> bool:
        return False


_NO_DIM: Any = _Unset("None")
_NO_KEEPDIM: Any = _Unset("False")
_NO_OTHER: Any = _Unset("None")


def _max_min(op: str, x: Any, dim: Any, keepdim: Any, other: Any):
    if dim is _NO_DIM:  # the whole tensor: PyTorch's MaxBackward1 / MinBackward1
        if keepdim is not _NO_KEEPDIM:
            refuse_max_min_types(op, x, dim, keepdim, other)
        if other is not _NO_OTHER:
            if other is None:
                refuse_max_min_types(op, x, dim, keepdim, other)
            return maximum(x, other) if op == "max" else minimum(x, other)
        x = as_tensor(x)
        _refuse_complex(op, x)
        refuse_complex_order(op, x, error=NotImplementedError)
        _refuse_float8(op + "_all", x)
        _check_nonempty(op, x, None)
        return (Amax if op == "max" else Amin).apply(x, None, False, True)
    if type(dim) is not int:
        if isinstance(dim, Tensor) and keepdim is _NO_KEEPDIM and other is _NO_OTHER:
            return maximum(x, dim) if op == "max" else minimum(x, dim)  # x.max(y)
        if not is_parser_int(dim):
            refuse_max_min_types(op, x, dim, keepdim, other)
        dim = int(dim)
    if other is not _NO_OTHER:
        refuse_max_min_types(op, x, dim, keepdim, other)
    if keepdim is _NO_KEEPDIM:
        keepdim = False
    elif type(keepdim) is not bool:
        parser_bool(op, "keepdim", 3, keepdim)
    x = as_tensor(x)
    _refuse_complex(op, x)
    d = int_dim(dim, x.ndim, op)
    result = return_types.max if op == "max" else return_types.min
    if x.ndim == 0:
        zero = Tensor._make(np.zeros((), np.int64), False, None, 0)
        return result(x * 1 if x._data.dtype.kind != "b" else x.clone(), zero)
    _check_nonempty(op, x, (d,))
    xp = get_array_module(x._data)
    idx = (xp.argmax if op == "max" else xp.argmin)(x._data, axis=d)
    idx_k = Tensor._make(xp.expand_dims(idx, d), False, None, 0)
    values = given(selected_values(op, x, d, idx_k, keepdim), dim=dim)  # _saved_dim
    return result(values, idx_k if keepdim else Tensor._make(idx, False, None, 0))


def _squeezed(t: Tensor, axes: Any) -> Tensor:
    """``t`` without the reduced dims ``axes`` (None: all of them; ``squeeze(None)`` is
    refused as PyTorch's parser refuses it)."""
    return t.squeeze() if axes is None else t.squeeze(axes)


def _refuse_complex(op: str, x: Tensor) -> None:
    if x._data.dtype.kind == "c":  # NumPy would order complex numbers lexicographically
        raise DtypeError(  # TypeError, and PyTorch's NotImplementedError (a RuntimeError)
            f"{op}: complex tensors are not supported by {op} (complex numbers have no order)"
        )


@tensor_method(keywords=True)
def max(  # noqa: A001
    input: Any, dim: Any = _NO_DIM, keepdim: bool = _NO_KEEPDIM, other: Any = _NO_OTHER
):
    """``max(x)`` -> the largest value; ``max(x, dim)`` -> (values, indices);
    ``max(x, other)`` -> elementwise maximum."""
    return _max_min("max", input, dim, keepdim, other)


@tensor_method(keywords=True)
def min(  # noqa: A001
    input: Any, dim: Any = _NO_DIM, keepdim: bool = _NO_KEEPDIM, other: Any = _NO_OTHER
):
    return _max_min("min", input, dim, keepdim, other)


def _arg_reduce(op: str, x: Any, dim: int | None, keepdim: bool) -> Tensor:
    x = as_tensor(x)
    refuse_complex_order(op, x)
    _refuse_float8(op + "_cpu", x)
    if x._data.dtype.kind == "b":  # PyTorch has no bool kernel (checked before dim, as it)
        raise RuntimeError(
            f"{op}(): does not support bool input; convert it first (x.to(torch.uint8) or "
            "x.int()), or use max/min along a dim, whose indices work on bool"
        )
    if dim is not None and type(dim) is not int:
        dim = parser_int(op, "dim", 2, dim)
    if type(keepdim) is not bool:
        parser_bool(op, "keepdim", 3, keepdim)
    xp = get_array_module(x._data)
    fn = xp.argmax if op == "argmax" else xp.argmin
    if dim is None:
        if is_vmap_batched(x._data):  # cr.func.vmap: per sample
            from ..func._per_sample import per_sample  # noqa: PLC0415 - func imports ops

            return per_sample(_arg_reduce, op, x, dim, keepdim)
        _check_nonempty(op, x, None)
        idx = xp.asarray(fn(x._data), dtype=np.int64)
        if type(x._data) is MetaArray:  # (asarray gives NumPy's own class back)
            idx = meta_empty((), np.int64)
        return Tensor._make(idx.reshape((1,) * x.ndim) if keepdim else idx, False, None, 0)
    d = int_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return Tensor._make(xp.zeros((), np.int64), False, None, 0)
    _check_nonempty(op, x, (d,))
    return Tensor._make(fn(x._data, axis=d, keepdims=keepdim).astype(np.int64), False, None, 0)


@tensor_method(keywords=True)
def argmax(input: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest value (first among ties), over all elements or along ``dim``."""
    return _arg_reduce("argmax", input, dim, keepdim)


@tensor_method(keywords=True)
def argmin(input: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest value (first among ties), over all elements or along ``dim``."""
    return _arg_reduce("argmin", input, dim, keepdim)
