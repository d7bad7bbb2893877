"""Smaller Tensor methods PyTorch users expect: rounding, ``new_*`` factories, layout queries,
in-place random fills and ``index_put_``.

Rounding (floor, ceil, round, trunc) is piecewise constant: its gradient is zero almost
everywhere, so the rule returns zeros (as PyTorch) rather than ending the graph.
"""
from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module


class _Rounding(Function):
    raw = True
    fn_name = "floor"

    @classmethod
    def forward(cls, ctx, x):
        return getattr(get_array_module(x), cls.fn_name)(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0.0

    @staticmethod
    def jvp(ctx, t):
        return None if t is None else t * 0


class Floor(_Rounding):
    fn_name = "floor"


class Ceil(_Rounding):
    fn_name = "ceil"


class Round(_Rounding):
    fn_name = "round"  # NumPy and PyTorch both round half to even


class Trunc(_Rounding):
    fn_name = "trunc"


def floor(x: Tensor) -> Tensor:
    return Floor.apply(x) if x.dtype.kind == "f" else x


def ceil(x: Tensor) -> Tensor:
    return Ceil.apply(x) if x.dtype.kind == "f" else x


def round(x: Tensor, decimals: int = 0) -> Tensor:  # mirrors torch.round
    if x.dtype.kind != "f":
        return x
    if decimals:
        scale = 10.0 ** decimals
        return Round.apply(x * scale) / scale
    return Round.apply(x)


def trunc(x: Tensor) -> Tensor:
    return Trunc.apply(x) if x.dtype.kind == "f" else x


# ----------------------------------------------------------------- new_* factories
def _new(x: Tensor, arr: Any, dtype: Any, requires_grad: bool) -> Tensor:
    arr = arr.astype(_dt.as_dtype(dtype) if dtype is not None else x.dtype, copy=False)
    t = Tensor._make(arr, False, None, 0)
    return t.requires_grad_() if requires_grad else t


def _size(size: tuple) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(int(s) for s in size)


def new_zeros(x: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(x, get_array_module(x._data).zeros(_size(size)), dtype, requires_grad)


def new_ones(x: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(x, get_array_module(x._data).ones(_size(size)), dtype, requires_grad)


def new_empty(x: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(x, get_array_module(x._data).empty(_size(size)), dtype, requires_grad)


def new_full(x: Tensor, size: Any, fill_value: Any, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    return _new(x, get_array_module(x._data).full(_size((size,)), fill_value), dtype,
                requires_grad)


def new_tensor(x: Tensor, data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A copy of ``data`` with this tensor's dtype (unless ``dtype`` is given)."""
    return Tensor(data, dtype=dtype if dtype is not None else x.dtype,
                  requires_grad=requires_grad)


def type_as(x: Tensor, other: Tensor) -> Tensor:
    return x.to(other.dtype)


# ----------------------------------------------------------------- layout queries
def is_floating_point(x: Tensor) -> bool:
    return x._data.dtype.kind == "f"


def is_contiguous(x: Tensor) -> bool:
    return bool(x._data.flags.c_contiguous)


def stride(x: Tensor, dim: int | None = None):
    """Strides in elements (PyTorch's convention), not bytes as NumPy's."""
    st = tuple(s // x._data.itemsize for s in x._data.strides)
    return st if dim is None else st[dim]


def data_ptr(x: Tensor) -> int:
    if hasattr(x._data, "ctypes"):
        return int(x._data.ctypes._data)
    return int(x._data.data.ptr)  # pragma: no cover - cupy


# ----------------------------------------------------------------- in-place writes
def _check_writable(x: Tensor, name: str) -> None:
    from .inplace import check_writable_memory

    check_writable_memory(x, name)
    if x.requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError(f"{name}: in-place writes into a tensor that requires grad are not "
                           "recorded; wrap them in `with cr.no_grad():` (e.g. for weight init)")


def uniform_(x: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with samples from U[a, b) drawn from the chainrule generator."""
    from ..backend import to_device
    from ..random import gen

    _check_writable(x, "uniform_")
    x._data[...] = to_device(gen(generator).uniform(a, b, x.shape), x.device)
    x._vc[0] += 1
    return x


def normal_(x: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    from ..backend import to_device
    from ..random import gen

    _check_writable(x, "normal_")
    x._data[...] = to_device(gen(generator).normal(mean, std, x.shape), x.device)
    x._vc[0] += 1
    return x


def index_put_(x: Tensor, indices: tuple, values: Any, accumulate: bool = False) -> Tensor:
    """``x[indices] = values`` (or ``+=`` with repeated indices summed when accumulate)."""
    from .indexing import _convert_index, write_index

    _check_writable(x, "index_put_")
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put_(): indices must be a tuple of tensors, got "
                        f"{type(indices).__name__}")
    if isinstance(values, Tensor) and values.dtype != x.dtype:
        raise RuntimeError(f"index_put_: requires the source and destination dtypes to match, "
                           f"got {x.dtype} for the destination and {values.dtype} for the "
                           "source; convert with values.to(x.dtype)")
    idx = _convert_index(tuple(indices))
    v = values._data if isinstance(values, Tensor) else values
    write_index("index_put_", x, idx, v, accumulate)
    x._vc[0] += 1
    return x


# ----------------------------------------------------------------- sorting, masks, logs
def sort(x: Tensor, dim: int = -1, descending: bool = False):
    """(values, indices) sorted along ``dim``; values are differentiable (a gather)."""
    from .indexing import gather
    from .reduction import ValuesIndices

    xp = get_array_module(x._data)
    idx = xp.argsort(-x._data if descending else x._data, axis=dim, kind="stable")
    return ValuesIndices(gather(x, dim, Tensor._make(idx, False, None, 0)),
                         Tensor._make(idx, False, None, 0))


def argsort(x: Tensor, dim: int = -1, descending: bool = False) -> Tensor:
    return sort(x, dim, descending).indices


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (or smallest) entries along ``dim``: (values, indices)."""
    from .indexing import gather
    from .reduction import ValuesIndices

    n = x.shape[dim]
    if not 0 <= k <= n:
        raise ValueError(f"topk: k={k} is out of range for dimension {dim} of size {n}")
    xp = get_array_module(x._data)
    idx = xp.argsort(-x._data if largest else x._data, axis=dim, kind="stable")
    idx = xp.take(idx, xp.arange(k), axis=dim)
    return ValuesIndices(gather(x, dim, Tensor._make(idx, False, None, 0)),
                         Tensor._make(idx, False, None, 0))


def _tri_mask(x: Tensor, diagonal: int, upper: bool) -> Tensor:
    if x.ndim < 2:
        raise RuntimeError(f"{'triu' if upper else 'tril'}: input tensor must have at least 2 "
                           f"dimensions, got shape {tuple(x.shape)}")
    xp = get_array_module(x._data)
    rows, cols = x.shape[-2], x.shape[-1]
    m = xp.triu(xp.ones((rows, cols), bool), diagonal) if upper else \
        xp.tril(xp.ones((rows, cols), bool), diagonal)
    return Tensor._make(m, False, None, 0)


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """Upper triangle of the last two dims (the rest zeroed); differentiable."""
    from .binary import where

    return where(_tri_mask(x, diagonal, True), x, 0)


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    from .binary import where

    return where(_tri_mask(x, diagonal, False), x, 0)


def log2(x: Tensor) -> Tensor:
    from .unary import log

    return log(x) * (1.0 / 0.6931471805599453)


def log10(x: Tensor) -> Tensor:
    from .unary import log

    return log(x) * (1.0 / 2.302585092994046)


def count_nonzero(x: Tensor, dim: Any = None) -> Tensor:
    from ._util import norm_dim

    xp = get_array_module(x._data)
    axes = norm_dim(dim, x.ndim, "count_nonzero")
    return Tensor._make(xp.asarray(xp.count_nonzero(x._data, axis=axes), dtype="int64"),
                        False, None, 0)
