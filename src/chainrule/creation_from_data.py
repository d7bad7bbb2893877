"""Tensors from existing data: ``tensor`` (a copy of nested lists, arrays, scalars),
``as_tensor`` and ``from_numpy`` (sharing a NumPy array's memory where they can, with
PyTorch's checks and warnings), and ``from_dlpack`` (any DLPack producer). Re-exported by
``creation.py``."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes as _dt
from ._layout import like_layout
from ._user_warnings import warn_at_caller, warn_once
from .autograd.shared_memory import mark_shared
from .autograd.tensor import Tensor
from .autograd.tensor_data import check_native_byte_order, check_numpy_dtype
from .backend import factory_device
from .creation_like import copy_construct_warning
from .creation_options import check_pin_memory

__all__ = ["as_tensor", "from_dlpack", "from_numpy", "tensor"]

_NUMPY_OK = "biufc"  # bool, int, uint, float, complex: what a tensor can hold


def _check_nested(data: Any, op: str) -> None:
    """Ragged nested lists: PyTorch's 'expected sequence of length n at dim d' message."""

    def shape_of(x: Any, depth: int) -> tuple | None:
        if isinstance(x, (list, tuple)):
            subs = [shape_of(e, depth + 1) for e in x]
            first = subs[0] if subs else None
            kinds = {isinstance(e, (list, tuple)) for e in x}
            if len(kinds) > 1:
                raise TypeError(
                    f"{op}(): mixed numbers and sequences at dim {depth + 1} of a "
                    "nested list; every element at one depth must be a sequence "
                    "of the same length, or every one a number"
                )
            for e, sub in zip(x, subs):
                if sub != first:
                    got = len(e) if isinstance(e, (list, tuple)) else "a scalar"
                    want = first[0] if first else "a scalar"
                    raise ValueError(
                        f"{op}(): expected sequence of length {want} at dim "
                        f"{depth + 1} (got {got}); nested lists must be "
                        "rectangular"
                    )
            return (len(x),) + (first or ())
        return ()

    if isinstance(data, (list, tuple)):
        shape_of(data, 0)


_LIST_OF_ARRAYS = (
    "Creating a tensor from a list of numpy.ndarrays is extremely slow. Please consider "
    "converting the list to a single numpy.ndarray with numpy.array() before converting to a "
    "tensor."
)


def _holds_arrays(seq: Any) -> bool:
    """Whether the nested list or tuple ``seq`` holds a NumPy array (of any number of dims,
    a 0-d one among numbers too) at some depth, as PyTorch's warning counts them. A level of
    numbers is looked through by the set of its element types (one C-level pass), a level of
    sequences element by element."""
    if not seq:
        return False
    if not isinstance(seq[0], (list, tuple, np.ndarray)):
        return any(issubclass(k, np.ndarray) for k in set(map(type, seq)))
    for e in seq:
        if isinstance(e, np.ndarray):
            return True
        if isinstance(e, (list, tuple)) and _holds_arrays(e):
            return True
    return False


def _warn_list_of_arrays(data: Any, t: Tensor) -> None:
    """PyTorch's once-per-process UserWarning for a tensor (with elements) made from a list
    of NumPy arrays (RL code's ``torch.tensor([obs1, obs2])``)."""
    if isinstance(data, (list, tuple)) and t.numel() and _holds_arrays(data):
        warn_once("list_of_ndarrays", _LIST_OF_ARRAYS)


def check_list_data(data: Any, op: str) -> None:
    """Refuse, as PyTorch, a nested list whose first element (at the deepest level reached
    through first elements) is a 0-d NumPy array: PyTorch reads the shape of nested data
    through the first elements and takes an array there for a sequence, and a 0-d one has no
    length (TypeError; ``[1.0, np.array(2.0)]``, with the array further on, is accepted).
    Shared by ``tensor``, ``as_tensor`` and the legacy constructors."""
    first = data
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    if first is not data and isinstance(first, np.ndarray) and first.ndim == 0:
        raise TypeError(
            f"{op}(): len() of unsized object: a 0-d numpy.ndarray as the first element of a "
            "nested list is read as a sequence and has no length (as in PyTorch); pass "
            "numbers (array.item()), a single numpy.ndarray (np.array(list)) or "
            "arrays of one or more dims"
        )


def warn_list_of_arrays(data: Any, t: Tensor) -> None:
    """PyTorch's once-per-process "Creating a tensor from a list of numpy.ndarrays is
    extremely slow" UserWarning when ``t`` (with elements) was made from ``data``, a nested
    list holding NumPy arrays; for the constructors outside this module (``cr.Tensor``)."""
    _warn_list_of_arrays(data, t)


def tensor(
    data: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    *,
    pin_memory: bool = False,
) -> Tensor:
    """A new tensor holding a copy of ``data`` (floats default to float32, ints to int64).

    ``data`` a Tensor is copied too, with PyTorch's warning that ``data.detach().clone()``
    says what is meant (the copy never shares ``data``'s graph).
    """
    check_pin_memory("tensor", pin_memory)
    if isinstance(data, Tensor):
        warn_at_caller(copy_construct_warning("torch.tensor"))  # PyTorch's text, word for word
    if (
        isinstance(data, np.ndarray)
        and data.dtype.kind not in _NUMPY_OK
        and not _dt.is_bfloat16(data.dtype)  # an ml_dtypes bfloat16 array: cr.bfloat16
    ):
        raise TypeError(
            f"tensor(): can't convert np.ndarray of dtype {data.dtype}; supported "
            "kinds are bool, integer, floating point and complex"
        )
    check_list_data(data, "tensor")
    try:
        t = Tensor._new(
            data, dtype=dtype, requires_grad=requires_grad, device=factory_device(device)
        )
    except (ValueError, TypeError):
        _check_nested(data, "tensor")  # a ragged list: say where (costs nothing when valid)
        raise
    if isinstance(data, (np.ndarray, Tensor)):
        t._data = _copy_layout(data._data if isinstance(data, Tensor) else data, t._data)
    _warn_list_of_arrays(data, t)
    return t


def _copy_layout(src: Any, arr: Any) -> Any:
    """``arr``, a copy of the array ``src``, in the layout PyTorch gives such a copy
    (``torch.tensor(a)``, ``torch.as_tensor(a, dtype=...)``): ``torch.empty_like``'s
    (:func:`~chainrule._layout.like_layout`: ``src``'s very strides when it is dense and
    non-overlapping, size-1 dims included -- a ``(4, 1)`` column of a transposed array keeps
    ``(1, 4)`` --, else dense in ``src``'s stride order). NumPy arrays only; ``arr`` itself
    for an empty or 0-d one or a negative stride (which PyTorch refuses)."""
    if (
        type(src) is not np.ndarray
        or type(arr) is not np.ndarray
        or arr.ndim == 0
        or arr.size == 0
        or arr.shape != src.shape
        or any(s < 0 for s in src.strides)
    ):
        return arr
    if 1 in src.shape and any(n == 1 and s == 0 for n, s in zip(src.shape, src.strides)):
        # a user's array with a size-1 dim of stride 0 (``a[None]``): PyTorch reads NumPy's
        # strides as they are, not by chainrule's unsqueeze rule for its own None dims
        src = np.lib.stride_tricks.as_strided(src, src.shape, src.strides, writeable=False)
    return like_layout(arr, src)


_NOT_WRITABLE = (
    "The given NumPy array is not writable, and PyTorch does not support non-writable tensors. "
    "This means writing to this tensor will result in undefined behavior. You may want to copy "
    "the array to protect its data or make it writable before converting it to a tensor. This "
    "type of warning will be suppressed for the rest of this program."
)


def _warn_if_not_writable(ndarray: np.ndarray) -> None:
    """PyTorch's once-per-process UserWarning for a read-only array (an ``np.broadcast_to``
    view, a frozen buffer) made a tensor. (PyTorch also refuses an array with a negative
    stride, ``arr[::-1]``, with a ValueError; chainrule accepts it.)"""
    if not ndarray.flags.writeable:
        warn_once("numpy_not_writable", _NOT_WRITABLE)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but avoids a copy when ``data`` is already a suitable array/tensor.
    A read-only array warns once, as in PyTorch."""
    if isinstance(data, Tensor):
        return data.to(dtype) if dtype is not None else data
    if isinstance(data, np.ndarray):
        _warn_if_not_writable(data)
    device = factory_device(device)
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return from_numpy(data) if device is None else Tensor._new(mark_shared(data), device=device)
    check_list_data(data, "as_tensor")
    t = Tensor._new(data, dtype=dtype, device=device)
    if isinstance(data, np.ndarray):  # a converted copy: laid out as torch.tensor's
        t._data = _copy_layout(data, t._data)
    _warn_list_of_arrays(data, t)
    return t


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray`` (changes to one show in the other).
    A read-only array warns once, as in PyTorch."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(ndarray).__name__}")
    if ndarray.dtype.kind not in _NUMPY_OK:
        raise TypeError(
            f"from_numpy: can't convert np.ndarray of dtype {ndarray.dtype}. The "
            "only supported kinds are bool, integer, floating point and complex"
        )
    check_numpy_dtype(ndarray)  # longdouble: kind "f", but no tensor type
    check_native_byte_order(ndarray)
    _warn_if_not_writable(ndarray)
    arr = mark_shared(ndarray)
    if (
        1 in arr.shape
        and arr.size
        and any(n == 1 and s == 0 for n, s in zip(arr.shape, arr.strides))
    ):  # a size-1 dim of stride 0 (``a[None]``): the same view, whose strides Tensor.stride
        # reports as they are (PyTorch keeps NumPy's), not by its rule for NumPy's None dims
        arr = mark_shared(
            np.lib.stride_tricks.as_strided(
                ndarray, ndarray.shape, ndarray.strides, writeable=ndarray.flags.writeable
            )
        )
    return Tensor._make(arr, False, None, 0)


class _DLPackCapsule:
    """A bare DLPack capsule (``to_dlpack``'s result, the protocol before ``__dlpack__``)
    seen as a producer, so ``np.from_dlpack`` consumes it (once, as the protocol says). A
    capsule does not say its device in Python; chainrule's capsules of CuPy memory go
    through ``__dlpack__`` objects, so a bare capsule is read as CPU memory. NumPy marks
    what it imports from a bare capsule read-only (the old protocol has no read-only flag),
    so the tensor shares the memory but an in-place write raises (PyTorch allows it):
    ``clone()`` first, or pass the producer itself (``from_dlpack(t)``), which is writable."""

    def __init__(self, capsule: Any):
        self._capsule = capsule

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self._capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)


def from_dlpack(ext_tensor: Any, *, device: Any = None, copy: bool | None = None) -> Tensor:
    """Zero-copy import of any DLPack producer (a PyTorch or CuPy tensor, a NumPy array);
    ``copy=True`` copies it. ``device=`` is not implemented: call ``.to(device)`` on the result.
    """
    if device is not None:
        raise NotImplementedError(
            "from_dlpack: device= is not supported; call .to(device) on the result"
        )
    if copy:
        return from_dlpack(ext_tensor).clone()
    if type(ext_tensor).__name__ == "PyCapsule":  # to_dlpack's capsule (the older protocol)
        ext_tensor = _DLPackCapsule(ext_tensor)
    dev_type = ext_tensor.__dlpack_device__()[0] if hasattr(ext_tensor, "__dlpack_device__") else 1
    if int(dev_type) == 2:  # kDLCUDA
        import cupy  # type: ignore

        return Tensor._make(mark_shared(cupy.from_dlpack(ext_tensor)), False, None, 0)
    return Tensor._make(mark_shared(np.from_dlpack(ext_tensor)), False, None, 0)
