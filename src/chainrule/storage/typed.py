"""``TypedStorage``: a storage read as elements of one dtype (PyTorch's ``torch.TypedStorage``,
deprecated there in favour of ``UntypedStorage``).

``x.storage()`` wraps ``x.untyped_storage()`` with ``x``'s dtype: ``size()`` counts elements,
``s[i]`` is an element as a Python number, ``tolist()`` the values. As in PyTorch, the first
use of a ``TypedStorage`` in a process warns (a ``UserWarning``, once per process) that the
class is deprecated.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import Device, to_device
from ..dtype_objects import public_dtype
from ..dtypes import as_dtype, get_default_dtype
from ._conversions import StorageConversions
from ._helpers import buffer_elements, format_storage, storage_index
from .untyped import UntypedStorage

__all__ = ["TypedStorage", "c_type_name", "legacy_name", "warn_typed_storage"]

_DEPRECATION = (
    "TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be "
    "the only storage class. This should only matter to you if you are using storages "
    "directly.  To access UntypedStorage directly, use tensor.untyped_storage() instead of "
    "tensor.storage()"
)
_WARNED = [False]  # PyTorch warns once per process, whatever the warning filters say

# dtype name -> (PyTorch's legacy storage name without "Storage", the C++ element type).
_NAMES = {
    "float32": ("Float", "float"),
    "float64": ("Double", "double"),
    "float16": ("Half", "c10::Half"),
    "bfloat16": ("BFloat16", "c10::BFloat16"),
    "int8": ("Char", "signed char"),
    "uint8": ("Byte", "unsigned char"),
    "int16": ("Short", "short int"),
    "int32": ("Int", "int"),
    "int64": ("Long", "long int"),
    "bool": ("Bool", "bool"),
    "complex64": ("ComplexFloat", "c10::complex<float>"),
    "complex128": ("ComplexDouble", "c10::complex<double>"),
}


def warn_typed_storage(stacklevel: int = 2) -> None:
    """PyTorch's deprecation warning for ``TypedStorage``, the first time only;
    ``stacklevel`` counts from the caller of this function."""
    if not _WARNED[0]:
        _WARNED[0] = True
        warnings.warn(_DEPRECATION, UserWarning, stacklevel=stacklevel + 1)


def legacy_name(dtype: Any) -> str:
    """PyTorch's legacy storage type name without ``Storage`` (``'Float'`` for float32)."""
    dt = np.dtype(dtype)
    if dt.name not in _NAMES:
        raise TypeError(f"TypedStorage: no legacy storage type for dtype {dt}")
    return _NAMES[dt.name][0]


def c_type_name(dtype: Any) -> str:
    """The C++ element type PyTorch names in its messages (``'long int'`` for int64)."""
    dt = np.dtype(dtype)
    return _NAMES[dt.name][1] if dt.name in _NAMES else str(dt)


class TypedStorage(StorageConversions):
    """A storage of elements of one dtype (PyTorch's deprecated ``torch.TypedStorage``).

    ``TypedStorage(n, dtype=d)`` makes ``n`` zero elements, ``TypedStorage([1, 2], dtype=d)``
    holds those values, ``TypedStorage(wrap_storage=u, dtype=d)`` reads the ``UntypedStorage``
    ``u`` as elements of ``d`` (``len(u) // itemsize`` of them); ``dtype`` defaults to the
    default dtype. Warns once per process that the class is deprecated.

    Attributes:
        dtype: the element dtype.
        _untyped_storage: the ``UntypedStorage`` holding the bytes (as PyTorch names it).
    """

    __slots__ = ("_untyped_storage", "dtype")
    is_sparse = False

    def __init__(
        self, *args: Any, wrap_storage: Any = None, dtype: Any = None, device: Any = None
    ) -> None:
        warn_typed_storage(2)
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        if wrap_storage is not None:
            if args or device is not None or dtype is None:
                raise RuntimeError(
                    "TypedStorage(): wrap_storage= takes dtype= and no other argument"
                )
            if not isinstance(wrap_storage, UntypedStorage):
                raise TypeError(
                    f"TypedStorage(): wrap_storage must be an UntypedStorage, got "
                    f"{type(wrap_storage).__name__}"
                )
            untyped = wrap_storage
        elif len(args) > 1:
            raise TypeError(
                f"TypedStorage(): expected a size or a sequence, got {len(args)} arguments"
            )
        else:
            if not args:
                values = np.zeros(0, dt)
            elif isinstance(args[0], int) and not isinstance(args[0], bool):
                if args[0] < 0:
                    raise RuntimeError(f"TypedStorage(): size must be non-negative, got {args[0]}")
                values = np.zeros(args[0], dt)
            elif isinstance(args[0], Tensor) or not hasattr(args[0], "__len__"):
                raise TypeError(
                    f"TypedStorage(): expected a size or a sequence, got {type(args[0]).__name__}"
                )
            else:
                values = np.asarray(list(args[0])).astype(dt)
            data = values.view(np.uint8).reshape(-1)
            untyped = UntypedStorage._wrap(data if device is None else to_device(data, device))
            untyped._owned = True
        self._untyped_storage = untyped
        self.dtype = public_dtype(dt)  # torch.float32 as PyTorch's; a NumPy dtype to NumPy

    @classmethod
    def _make(cls, untyped: UntypedStorage, dtype: np.dtype, stacklevel: int = 0) -> TypedStorage:
        """A ``TypedStorage`` reading ``untyped`` as ``dtype``; warns when ``stacklevel`` > 0
        (then counted from the caller of ``_make``)."""
        if stacklevel:
            warn_typed_storage(stacklevel + 1)
        out = object.__new__(cls)
        out._untyped_storage = untyped
        out.dtype = public_dtype(np.dtype(dtype))
        return out

    def _values(self) -> Any:
        """The elements as a 1-d array over the storage's memory (no copy)."""
        isz = self.dtype.itemsize
        return self._untyped_storage._bytes[: self.size() * isz].view(self.dtype)

    # ------------------------------------------------------------------ queries
    def size(self) -> int:
        """The number of elements."""
        return self._untyped_storage.nbytes() // self.dtype.itemsize

    def __len__(self) -> int:
        return self.size()

    def nbytes(self) -> int:
        """The size in bytes of the underlying ``UntypedStorage``."""
        return self._untyped_storage.nbytes()

    def element_size(self) -> int:
        """The size of one element in bytes."""
        return self.dtype.itemsize

    def data_ptr(self) -> int:
        """The address of the first element."""
        return self._untyped_storage.data_ptr()

    def untyped(self) -> UntypedStorage:
        """The ``UntypedStorage`` holding the bytes."""
        return self._untyped_storage

    @property
    def device(self) -> Device:
        return self._untyped_storage.device

    @property
    def is_cuda(self) -> bool:
        return self._untyped_storage.is_cuda

    @property
    def filename(self) -> None:
        return None

    def get_device(self) -> int | None:
        return self._untyped_storage.get_device()

    def is_pinned(self, device: Any = "cuda") -> bool:
        return False

    def is_shared(self) -> bool:
        return self._untyped_storage.is_shared()

    def resizable(self) -> bool:
        return self._untyped_storage.resizable()

    def type(self, dtype: Any = None, non_blocking: bool = False) -> str:
        """PyTorch's legacy type string, e.g. ``'torch.FloatStorage'``.

        Raises:
            NotImplementedError: a ``dtype`` to convert to (use ``float()``, ``long()``, ...).
        """
        if dtype is not None:
            raise NotImplementedError(
                "TypedStorage.type(dtype): converting by type name is not supported; use the "
                "conversion methods (float(), long(), ...)"
            )
        return f"torch.{legacy_name(self.dtype)}Storage"

    def pickle_storage_type(self) -> str:
        """The storage class name a checkpoint records, e.g. ``'FloatStorage'``."""
        return f"{legacy_name(self.dtype)}Storage"

    def tolist(self) -> list:
        """The elements as Python numbers."""
        values = to_device(self._values(), "cpu")
        if values.dtype.kind == "V":  # bfloat16 (ml_dtypes): its items are not Python floats
            values = values.astype(np.float32)
        return values.tolist()

    def __iter__(self):
        return iter(self.tolist())

    def __repr__(self) -> str:
        header = (
            f"chainrule.storage.TypedStorage(dtype={self.dtype}, device={self.device}) of size "
            f"{self.size()}"
        )
        return format_storage(self.tolist(), header)

    __str__ = __repr__

    # ------------------------------------------------------------------ element access
    def _index(self, index: Any) -> Any:
        if isinstance(index, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        return storage_index(index, self.size(), "chainrule.TypedStorage", RuntimeError)

    def __getitem__(self, index: Any) -> Any:
        value = to_device(self._values()[self._index(index)], "cpu")
        return value.astype(np.float32).item() if self.dtype.kind == "V" else value.item()

    def __setitem__(self, index: Any, value: Any) -> None:
        key = index if isinstance(index, slice) else self._index(index)
        if isinstance(value, Tensor):
            value = value._data
        self._writable("__setitem__")
        self._values()[key] = value

    def fill_(self, value: Any) -> TypedStorage:
        """Set every element to ``value``; returns ``self``."""
        self._writable("fill_")
        self._values()[...] = value
        return self

    def _writable(self, op: str) -> None:
        if not getattr(self._untyped_storage._bytes.flags, "writeable", True):
            raise RuntimeError(f"TypedStorage.{op}: the storage's memory is read-only")

    def copy_(self, source: Any, non_blocking: bool | None = None) -> TypedStorage:
        """Copy the bytes of storage ``source`` (of the same size in bytes); returns ``self``."""
        self._untyped_storage.copy_(source)
        return self

    # ------------------------------------------------------------------ copies and moves
    def clone(self) -> TypedStorage:
        """A copy in new memory."""
        return TypedStorage._make(self._untyped_storage.clone(), self.dtype)

    def __deepcopy__(self, memo: dict) -> TypedStorage:
        return self.clone()

    def __copy__(self) -> TypedStorage:
        return self.clone()

    def to(self, *, device: Any = None, non_blocking: bool = False) -> TypedStorage:
        """A ``TypedStorage`` of the memory on ``device`` (copied there when elsewhere)."""
        return TypedStorage._make(self._untyped_storage.to(device=device), self.dtype)

    def cpu(self) -> TypedStorage:
        return self.to(device="cpu")

    def cuda(self, device: Any = None, non_blocking: bool = False) -> TypedStorage:
        return self.to(device="cuda" if device is None else Device(device))

    def resize_(self, size: int) -> None:
        """Change the size to ``size`` elements (see ``UntypedStorage.resize_``); returns
        None, as PyTorch's does."""
        self._untyped_storage.resize_(int(size) * self.dtype.itemsize)

    @classmethod
    def from_buffer(
        cls,
        buffer: Any,
        byte_order: str | None = None,
        *,
        dtype: Any = None,
        count: int = -1,
        offset: int = 0,
    ) -> TypedStorage:
        """As ``UntypedStorage.from_buffer``, read as elements of ``dtype`` (the default
        dtype when not given)."""
        warn_typed_storage(2)
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        elements = buffer_elements(buffer, byte_order, dt, count, offset)
        untyped = UntypedStorage._wrap(elements.view(np.uint8).reshape(-1), owned=True)
        return cls._make(untyped, dt)

    def _converted(self, dtype: np.dtype) -> TypedStorage:
        values = self._values().astype(dtype)
        return TypedStorage._make(UntypedStorage._wrap(values.view(np.uint8), True), dtype)
