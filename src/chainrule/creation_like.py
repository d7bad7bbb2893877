"""Tensors made like another: ``zeros_like``, ``ones_like``, ``empty_like``, ``full_like``
(``torch.*_like``: the input's shape, dtype and, by default, its memory format) and the
``Tensor.new_*`` methods (a new size with the tensor's dtype and device).

``memory_format`` defaults to ``preserve_format``: the result's strides follow the input's
order (a transposed or channels-last input gives a result laid out the same way), as in
PyTorch; ``layout``/``pin_memory``/``memory_format`` are checked in ``creation_options.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes as _dt
from ._user_warnings import warn_at_caller
from .autograd.tensor import Tensor
from .autograd.tensor_data import check_requires_grad_flag
from .backend import get_array_module, is_meta_device, to_device
from .creation_options import (
    _finish,
    _format,
    _is_sparse,
    _like,
    _shape,
    check_layout,
    check_pin_memory,
    lay_out_like,
)
from .meta import MetaArray, meta_empty
from .meta.strides import lay_meta_like
from .scalar_range import fit_scalar

__all__ = [
    "empty_like",
    "full_like",
    "new_empty",
    "new_full",
    "new_ones",
    "new_tensor",
    "new_zeros",
    "ones_like",
    "zeros_like",
]


def copy_construct_warning(call: str) -> str:
    """PyTorch's warning for ``torch.tensor(t)`` / ``x.new_tensor(t)`` with ``t`` a Tensor
    (``call`` is the spelling the message names): the copy is detached from ``t``'s graph,
    which ``t.detach().clone()`` says explicitly."""
    return (
        "To copy construct from a tensor, it is recommended to use "
        "sourceTensor.detach().clone() or sourceTensor.detach().clone().requires_grad_(True), "
        f"rather than {call}(sourceTensor)."
    )


class _MetaMaker:
    """``np.zeros``/``ones``/``empty``/``full`` making meta arrays: a shape, no data."""

    @staticmethod
    def zeros(shape: Any, dtype: Any = float) -> Any:
        return meta_empty(shape, dtype)

    ones = empty = zeros

    @staticmethod
    def full(shape: Any, fill_value: Any, dtype: Any = None) -> Any:
        return meta_empty(shape, dtype if dtype is not None else np.asarray(fill_value).dtype)


def _maker(like: Any, device: Any) -> Any:
    """The array module a tensor made like one of raw array ``like`` is made with: meta
    when ``device`` (None: ``like``'s) is the meta device, NumPy for a meta ``like`` going
    to the CPU, else ``like``'s own module (NumPy or CuPy)."""
    meta_like = type(like) is MetaArray
    if is_meta_device(device) if device is not None else meta_like:
        return _MetaMaker
    return np if meta_like else get_array_module(like)


def _laid_like(op: str, arr: Any, memory_format: Any, like: Any) -> Any:
    """``lay_out_like``; a meta array (or one made like a meta array) has no layout to
    copy, and stays as made."""
    if type(arr) is MetaArray or type(like) is MetaArray:
        if type(arr) is MetaArray:  # torch.empty_like's meta strides for the format
            lay_meta_like(arr, like, _format(op, memory_format))
        return arr
    return lay_out_like(op, arr, memory_format, like)


def _filled_like(
    x: Tensor,
    fill: str,
    dtype: Any,
    layout: Any,
    device: Any,
    requires_grad: bool,
    memory_format: Any,
    op: str,
) -> Tensor:
    """``xp.zeros``/``ones``/``empty`` (``fill``) of ``x``'s shape, on ``x``'s array module,
    its memory in ``memory_format`` (``None``: as ``x``'s)."""
    check_layout(op, layout)
    dt = _like(x, dtype, op)
    arr = getattr(_maker(x._data, device), fill)(x.shape, _dt.as_dtype(dt))
    laid = _laid_like(op, arr, memory_format, x._data)
    return _finish(laid, dt, device, requires_grad, default_device=False)


def zeros_like(
    input: Tensor,  # noqa: A002 - PyTorch's name
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """Zeros of ``input``'s shape and (unless ``dtype``) dtype."""
    check_pin_memory("zeros_like", pin_memory)
    if _is_sparse(input):
        check_layout("zeros_like", layout)
        return input._zeros_like(dtype)  # a sparse tensor without entries, as PyTorch
    return _filled_like(
        input, "zeros", dtype, layout, device, requires_grad, memory_format, "zeros_like"
    )


def ones_like(
    input: Tensor,  # noqa: A002
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """Ones of ``input``'s shape and (unless ``dtype``) dtype."""
    check_pin_memory("ones_like", pin_memory)
    return _filled_like(
        input, "ones", dtype, layout, device, requires_grad, memory_format, "ones_like"
    )


def empty_like(
    input: Tensor,  # noqa: A002
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """Uninitialised values of ``input``'s shape and (unless ``dtype``) dtype."""
    check_pin_memory("empty_like", pin_memory)
    if _is_sparse(input):
        check_layout("empty_like", layout)
        return input._zeros_like(dtype)  # a sparse tensor without entries, as PyTorch
    return _filled_like(
        input, "empty", dtype, layout, device, requires_grad, memory_format, "empty_like"
    )


def check_fill_value(op: str, fill_value: Any) -> None:
    """``full``/``full_like``/``new_full`` take a number (a Python or NumPy scalar, or a 0-d
    tensor); anything else (None, a string, a list, an array, a tensor with dimensions) is
    PyTorch's TypeError rather than a NaN fill or a silent broadcast."""
    if isinstance(fill_value, Tensor):
        if fill_value.ndim == 0:
            return
        kind = "Tensor"
    elif isinstance(fill_value, (bool, int, float, complex, np.generic)) and not isinstance(
        fill_value, (np.str_, np.bytes_, np.void)
    ):
        return
    else:
        t = type(fill_value)
        kind = t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"
    raise TypeError(f"{op}(): argument 'fill_value' (position 2) must be Number, not {kind}")


def full_like(
    input: Tensor,  # noqa: A002
    fill_value: Any,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """``fill_value`` everywhere, in ``input``'s shape and (unless ``dtype``) dtype."""
    check_pin_memory("full_like", pin_memory)
    op = "full_like"
    check_fill_value(op, fill_value)
    check_layout(op, layout)
    dt = _like(input, dtype, op)
    fill_value = fit_scalar(op, fill_value, _dt.as_dtype(dt))
    arr = _maker(input._data, device).full(input.shape, fill_value, _dt.as_dtype(dt))
    laid = _laid_like(op, arr, memory_format, input._data)
    return _finish(laid, dt, device, requires_grad, default_device=False)


# ----------------------------------------------- Tensor.new_*: x's dtype and device by default
def _new(
    op: str,
    x: Tensor,
    arr: Any,
    dtype: Any,
    layout: Any,
    device: Any,
    requires_grad: bool,
    pin_memory: bool,
) -> Tensor:
    check_layout(op, layout)
    check_pin_memory(op, pin_memory)
    arr = arr.astype(_dt.as_dtype(dtype) if dtype is not None else x.dtype, copy=False)
    if device is not None:
        arr = to_device(arr, device)
    t = Tensor._make(arr, False, None, 0)
    if requires_grad is False or not check_requires_grad_flag(requires_grad, op, optional=True):
        return t
    return t._requires_grad_(True)


def _new_size(size: tuple, op: str = "new_zeros", keyword: Any = None) -> tuple:
    """The ``*size`` (or ``size=``) of ``x.new_*`` read as PyTorch's parser reads a size
    (``creation_options._shape``: no float rounded, a bool only after the first size) and
    checked for a negative one (PyTorch's error, not NumPy's)."""
    return _shape(size, op, keyword)


def new_zeros(
    x: Tensor,
    *sizes: Any,
    size: Any = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Zeros of ``size`` with ``x``'s dtype and device (``Tensor.new_zeros``)."""
    shape = _new_size(sizes, "new_zeros", size)
    arr = _maker(x._data, device).zeros(shape)
    return _new("new_zeros", x, arr, dtype, layout, device, requires_grad, pin_memory)


def new_ones(
    x: Tensor,
    *sizes: Any,
    size: Any = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Ones of ``size`` with ``x``'s dtype and device (``Tensor.new_ones``)."""
    shape = _new_size(sizes, "new_ones", size)
    arr = _maker(x._data, device).ones(shape)
    return _new("new_ones", x, arr, dtype, layout, device, requires_grad, pin_memory)


def new_empty(
    x: Tensor,
    *sizes: Any,
    size: Any = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Uninitialised values of ``size`` with ``x``'s dtype and device."""
    shape = _new_size(sizes, "new_empty", size)
    target = _dt.as_dtype(dtype) if dtype is not None else x.dtype
    # allocated in its own dtype: float64 garbage cast to float32 could overflow (and warn)
    arr = _maker(x._data, device).empty(shape, dtype=target)
    return _new("new_empty", x, arr, dtype, layout, device, requires_grad, pin_memory)


def new_full(
    x: Tensor,
    size: Any,
    fill_value: Any,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """``fill_value`` everywhere, ``size`` and ``x``'s dtype and device."""
    check_fill_value("new_full", fill_value)
    fill_value = fit_scalar(
        "new_full", fill_value, _dt.as_dtype(dtype if dtype is not None else x.dtype)
    )
    arr = _maker(x._data, device).full(_new_size((size,), "new_full"), fill_value)
    return _new("new_full", x, arr, dtype, layout, device, requires_grad, pin_memory)


def new_tensor(
    x: Tensor,
    data: Any,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A copy of ``data`` with this tensor's dtype (unless ``dtype`` is given); ``data`` a
    Tensor warns as PyTorch does (see :func:`copy_construct_warning`)."""
    if isinstance(data, Tensor):
        warn_at_caller(copy_construct_warning("tensor.new_tensor"))
    check_layout("new_tensor", layout)
    check_pin_memory("new_tensor", pin_memory)
    dtype = dtype if dtype is not None else x.dtype
    return Tensor._new(data, dtype=dtype, requires_grad=requires_grad, device=device)
