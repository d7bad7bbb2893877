"""The storage methods of ``Tensor``: ``untyped_storage()``, ``storage()`` and ``set_()``
(bound through ``_TENSOR_ONLY`` in ``ops/__init__.py``).

``set_`` makes a tensor an alias: of another tensor (same memory, shape and strides), or a
strided view of a storage. Like PyTorch's in-place view ops it bumps the tensor's version
counter; on a leaf that requires grad it raises while grad mode is on, and when recorded the
tensor's ``grad_fn`` becomes a node whose backward raises (PyTorch has no derivative for it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._layout_marks import LAYOUT_MARKS
from .._layout_relay import before_alias
from ..autograd import grad_mode
from ..autograd.forward_ad_captures import GUARDING as _GUARDING
from ..autograd.forward_ad_captures import check_captured_write
from ..autograd.function import Function
from ..autograd.shared_memory import mark_shared
from ..autograd.tensor import Tensor
from ..autograd.view_errors import LEAF_MESSAGE
from ..autograd.view_replay import check_view_write
from ..backend import get_array_module
from .typed import TypedStorage, c_type_name, legacy_name
from .untyped import UntypedStorage

__all__ = ["set_", "storage", "untyped_storage"]

_FORMS = (
    "set_() expects one of: (), (source), (source, storage_offset, size, stride=None), "
    "with source a Tensor or a storage"
)


def untyped_storage(self: Tensor) -> UntypedStorage:
    """``Tensor.untyped_storage()``: the ``UntypedStorage`` of the whole memory block holding
    ``self`` (for a view, its base's: same ``data_ptr()`` and ``nbytes()``)."""
    if LAYOUT_MARKS:  # a convolution's result: row-major first, as PyTorch's memory
        before_alias(self)  # (_layout_relay.py: the storage shares it for good)
    return UntypedStorage._of_array(self._data)


def storage(self: Tensor) -> TypedStorage:
    """``Tensor.storage()``: ``self.untyped_storage()`` read as elements of ``self.dtype``
    (a ``TypedStorage``; warns once per process that ``TypedStorage`` is deprecated)."""
    if LAYOUT_MARKS:  # (as untyped_storage)
        before_alias(self)
    return TypedStorage._make(UntypedStorage._of_array(self._data), self.dtype, 2)


class SetBackward(Function):
    """The node ``set_`` leaves when recorded: its forward is the alias itself and its
    backward raises, as PyTorch's ``NotImplemented`` node does."""

    raw = True
    node_name = "torch::autograd::NotImplemented"
    complex_grad = True  # nothing is computed: the backward only raises

    @staticmethod
    def forward(ctx, old, source, new):
        return new

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for set_ is not implemented")


def _ints(value: Any, what: str) -> tuple[int, ...]:
    """``value`` as a tuple of ints (a list, tuple or ``Size`` of ints), else TypeError."""
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value
    ):
        raise TypeError(f"{_FORMS}; got {what} {value!r} (expected a tuple of ints)")
    return tuple(int(v) for v in value)


def _geometry(
    size: Sequence[int], stride: Sequence[int] | None, offset: int
) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)):
        raise TypeError(f"{_FORMS}; got storage_offset {offset!r} (expected an int)")
    size = _ints(size, "size")
    if stride is None:
        stride, step = [], 1
        for n in reversed(size):
            stride.insert(0, step)
            step *= max(n, 1)
    stride = _ints(stride, "stride")
    if len(size) != len(stride):
        raise RuntimeError(f"unequal size length ({len(size)}) and stride length ({len(stride)})")
    if any(n < 0 for n in size):
        raise RuntimeError(f"set_: negative dimension in size {list(size)}")
    if any(s < 0 for s in stride):
        raise RuntimeError(
            f"Storage size calculation overflowed with sizes={list(size)} and "
            f"strides={list(stride)}"
        )
    offset = int(offset)
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    return size, stride, offset


def _view_of(store: UntypedStorage, dtype: np.dtype, geometry: tuple | None) -> Any:
    """An array of ``dtype`` over ``store``'s bytes: all of them (1-d) or ``geometry``."""
    data, isz = store._bytes, dtype.itemsize
    flat = data[: (data.size // isz) * isz].view(dtype)
    if geometry is None:
        return flat
    size, stride, offset = geometry
    need = 0 if 0 in size else offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if need > flat.size:
        raise NotImplementedError(
            f"set_: sizes {list(size)}, strides {list(stride)} and storage offset {offset} "
            f"need a storage of {need * isz} bytes, but it holds {store.nbytes()}; PyTorch "
            "grows the storage in place, which chainrule cannot do under existing views"
        )
    if math.prod(size) == 0:
        return flat[:0].reshape(size)  # no elements, but still a view of the storage
    return get_array_module(flat).lib.stride_tricks.as_strided(
        flat[offset:], shape=size, strides=tuple(s * isz for s in stride)
    )


def _new_array(self: Tensor, source: Any, geometry: tuple | None) -> Any:
    """The array ``self`` is given by ``set_(source, ...)``."""
    if source is None:
        return get_array_module(self._data).empty(0, self.dtype)
    if isinstance(source, Tensor):
        if source.dtype != self.dtype:
            raise RuntimeError(
                f"Could not set tensor of type {c_type_name(source.dtype)} to a tensor of "
                f"type {c_type_name(self.dtype)}"
            )
        if geometry is None:
            return source._data.view()  # a new array object: ops match saved arrays by id
        return _view_of(UntypedStorage._of_array(source._data), self.dtype, geometry)
    if isinstance(source, TypedStorage) and source.dtype != self.dtype:
        raise RuntimeError(
            f"Expected a Storage of type {c_type_name(self.dtype)} or an UntypedStorage, but "
            f"got type {legacy_name(source.dtype)} for argument 1 'storage'"
        )
    store = source._untyped_storage if isinstance(source, TypedStorage) else source
    store._adopt()
    return _view_of(store, self.dtype, geometry)


def set_(
    self: Tensor,
    source: Tensor | UntypedStorage | TypedStorage | None = None,
    storage_offset: int | None = None,
    size: Sequence[int] | None = None,
    stride: Sequence[int] | None = None,
) -> Tensor:
    """``Tensor.set_``: make ``self`` an alias of ``source``.

    ``set_(t)`` gives ``self`` tensor ``t``'s memory, shape and strides (writes through one
    show in the other); ``set_(s)`` the whole storage ``s`` as a 1-d tensor;
    ``set_(s, storage_offset, size, stride=None)`` the strided view of the storage (of a
    tensor's storage for a tensor ``s``), contiguous strides by default; ``set_()`` an empty
    tensor. The dtype never changes. The version counter is bumped.

    Raises:
        TypeError: a source that is neither a Tensor nor a storage, or a storage offset
            without a size (or the reverse).
        RuntimeError: a source of another dtype; a negative offset or stride; ``self`` is a
            leaf that requires grad while grad mode is on (as PyTorch).
        NotImplementedError: a geometry reaching past the storage (PyTorch grows the
            storage; chainrule cannot).
    """
    if _GUARDING[0]:  # a captured tensor inside a grad transform of cr.func: as PyTorch
        check_captured_write(self, "set_" if source is None else "set_.source_Tensor")
    if source is not None and not isinstance(source, (Tensor, UntypedStorage, TypedStorage)):
        raise TypeError(f"{_FORMS}; got a source of type {type(source).__name__}")
    if (storage_offset is None) != (size is None) or (stride is not None and size is None):
        raise TypeError(f"{_FORMS}; got storage_offset and size not given together")
    if source is None and size is not None:
        raise TypeError(f"{_FORMS}; got a geometry without a source")
    geometry = None if size is None else _geometry(size, stride, storage_offset)
    arr = _new_array(self, source, geometry)  # dtype errors first, as PyTorch
    recording = grad_mode.is_grad_enabled()
    if recording and self.requires_grad and self.grad_fn is None:
        raise RuntimeError(LEAF_MESSAGE)  # PyTorch's text, word for word
    if recording and self.requires_grad and self._view is not None:
        check_view_write(self, "set_")  # a view of a leaf that requires grad: PyTorch's error
    try:
        self._vc[0] += 1
    except RuntimeError:  # an inference tensor outside the mode: PyTorch sets, then raises
        self._data, self._view, self._fw = mark_shared(arr), None, None
        raise
    src_grad = isinstance(source, Tensor) and source.requires_grad
    if recording and (self.requires_grad or src_grad) and arr.dtype.kind in "fcV":
        src = source if isinstance(source, Tensor) else None
        out = SetBackward.apply(self, src, arr)
        self.grad_fn, self._output_nr, self._rg = out.grad_fn, 0, True
    self._data = mark_shared(arr)
    self._view = None  # no longer a view of its old base in the graph's sense
    self._fw = None  # a forward-mode tangent of the old geometry no longer applies
    return self
