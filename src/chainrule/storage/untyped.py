"""``UntypedStorage``: the bytes of one memory block (PyTorch's ``torch.UntypedStorage``).

``x.untyped_storage()`` is the block holding ``x``'s elements: for a view, its base's whole
memory (same ``data_ptr()`` and ``nbytes()`` as the base's), as in PyTorch. The storage is a
flat ``uint8`` view of that memory, never a copy: writing a byte changes every tensor that
views it. While a storage object is alive, asking again for the storage of the same memory
returns that same object, so ``x.untyped_storage() == y.untyped_storage()`` (identity, as in
PyTorch) says whether two tensors share memory.

Memory a storage exposes is marked with :func:`~chainrule.autograd.shared_memory.mark_shared`:
chainrule then never replaces it with a relaid-out copy, which the storage would no longer see.
"""

from __future__ import annotations

import operator
import weakref
from typing import Any

import numpy as np

from ..autograd.shared_memory import mark_shared
from ..autograd.view_replay import data_pointer
from ..backend import Device, device_of, get_array_module, to_device
from ..dtypes import as_dtype
from ._conversions import StorageConversions
from ._helpers import (
    buffer_elements,
    byte_values,
    format_storage,
    storage_index,
    unit_slice,
    writable,
)
from ._memory import block_bytes, in_shared_segment, root_array

__all__ = ["UntypedStorage"]

# id(root array) -> the live UntypedStorage of that whole block (see the module doc).
_BLOCKS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


class UntypedStorage(StorageConversions):
    """The bytes of one memory block (PyTorch's ``torch.UntypedStorage``).

    ``UntypedStorage(n)`` makes ``n`` zero bytes (PyTorch leaves them uninitialised),
    ``UntypedStorage([1, 2, 3])`` / ``UntypedStorage(b"abc")`` holds those byte values (each
    taken modulo 256), ``UntypedStorage()`` is empty; ``device=`` places it. ``s[i]`` is a
    byte as an ``int``; ``s[a:b]`` a new storage over those bytes of the same memory.

    Raises:
        RuntimeError: a negative size, a sequence item that is not an ``int``, a Tensor.
        TypeError: ``dtype=`` or more than one positional argument.
    """

    __slots__ = ("_bytes", "_owned", "__weakref__")
    is_sparse = False
    is_sparse_csr = False

    def __init__(self, *args: Any, device: Any = None) -> None:
        if len(args) > 1:
            raise TypeError(
                f"UntypedStorage(): expected a size, a sequence of byte values or nothing, "
                f"got {len(args)} positional arguments"
            )
        if not args:
            data = np.zeros(0, np.uint8)
        elif isinstance(args[0], int) and not isinstance(args[0], bool):
            if args[0] < 0:
                raise RuntimeError(f"UntypedStorage(): size must be non-negative, got {args[0]}")
            data = np.zeros(args[0], np.uint8)
        else:
            data = np.asarray(byte_values(args[0]), np.int64).astype(np.uint8)
        self._bytes = data if device is None else to_device(data, device)
        self._owned = True

    @classmethod
    def _wrap(cls, data: Any, owned: bool = False) -> UntypedStorage:
        """A storage over the flat ``uint8`` array ``data`` (no copy)."""
        out = object.__new__(cls)
        out._bytes = data
        out._owned = owned
        return out

    @classmethod
    def _of_array(cls, arr: Any) -> UntypedStorage:
        """The storage of the whole block holding ``arr`` (one object per live block)."""
        root = root_array(arr)
        found = _BLOCKS.get(id(root))
        if found is not None and root_array(found._bytes) is root:
            return found
        mark_shared(arr)
        out = cls._wrap(block_bytes(arr))
        _BLOCKS[id(root)] = out
        return out

    def _adopt(self) -> None:
        """A tensor now views this storage: it may no longer change size, and when it spans
        its whole block it becomes the block's storage (``t.untyped_storage() is s`` after
        ``t.set_(s)``, as in PyTorch)."""
        self._owned = False
        root = root_array(self._bytes)
        found = _BLOCKS.get(id(root))
        if found is not None and root_array(found._bytes) is root:
            return
        whole = block_bytes(root)
        if whole.size == self._bytes.size and data_pointer(whole) == data_pointer(self._bytes):
            _BLOCKS[id(root)] = self

    # ------------------------------------------------------------------ queries
    def nbytes(self) -> int:
        """The size in bytes."""
        return int(self._bytes.size)

    def size(self) -> int:
        """The size in bytes (its elements are bytes)."""
        return int(self._bytes.size)

    def __len__(self) -> int:
        return int(self._bytes.size)

    def element_size(self) -> int:
        """1: the elements of an untyped storage are bytes."""
        return 1

    def data_ptr(self) -> int:
        """The address of the first byte."""
        return int(data_pointer(self._bytes))

    @property
    def device(self) -> Device:
        """Where the memory lives."""
        return device_of(self._bytes)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def filename(self) -> None:
        """None: chainrule's storages are never mapped from a file by ``from_file``."""
        return None

    def get_device(self) -> int | None:
        """The CUDA device index, or None for CPU memory (PyTorch's storage convention)."""
        dev = self.device
        return dev.index if dev.type == "cuda" else None

    def is_pinned(self, device: Any = "cuda") -> bool:
        """False: chainrule has no page-locked host memory."""
        return False

    def is_shared(self) -> bool:
        """Whether the memory is a shared-memory segment (``share_memory_`` of
        :mod:`chainrule.multiprocessing`)."""
        return in_shared_segment(self._bytes)

    def resizable(self) -> bool:
        """Whether ``resize_`` may change the size: only for a storage chainrule made itself
        (``UntypedStorage(n)``) that no tensor or slice views yet."""
        return self._owned

    def type(self, dtype: Any = None, non_blocking: bool = False) -> str:
        """PyTorch's type string ``'torch.storage.UntypedStorage'``.

        Raises:
            NotImplementedError: a ``dtype`` to convert to (use ``byte()``, ``float()``, ...).
        """
        if dtype is not None:
            raise NotImplementedError(
                "UntypedStorage.type(dtype): converting by type name is not supported; use "
                "the conversion methods (byte(), float(), ...)"
            )
        return "torch.storage.UntypedStorage"

    def tolist(self) -> list[int]:
        """The byte values as a list of ``int``."""
        return [int(v) for v in to_device(self._bytes, "cpu").tolist()]

    def __iter__(self):
        return iter(self.tolist())

    def __repr__(self) -> str:
        header = f"chainrule.storage.UntypedStorage(device={self.device}) of size {self.size()}"
        return format_storage(self.tolist(), header)

    __str__ = __repr__

    # ------------------------------------------------------------------ element access
    def __getitem__(self, index: Any) -> int | UntypedStorage:
        if isinstance(index, slice):
            self._owned = False
            return UntypedStorage._wrap(self._bytes[unit_slice(index)])
        return int(self._bytes[storage_index(index, self.size(), "chainrule.UntypedStorage")])

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise RuntimeError(
                f"can only set storage content with a int types, but got "
                f"{type(value).__name__} instead"
            )
        key = (
            unit_slice(index)
            if isinstance(index, slice)
            else storage_index(index, self.size(), "chainrule.UntypedStorage")
        )
        writable(self._bytes, "UntypedStorage.__setitem__")
        self._bytes[key] = int(value) & 0xFF

    def fill_(self, value: int) -> UntypedStorage:
        """Set every byte to ``value`` (modulo 256); returns ``self``."""
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise RuntimeError(f"fill_ expects int, but got {type(value).__name__}")
        writable(self._bytes, "UntypedStorage.fill_")
        self._bytes[...] = int(value) & 0xFF
        return self

    def copy_(self, src: Any, non_blocking: bool | None = None) -> UntypedStorage:
        """Copy the bytes of storage ``src`` (of the same size in bytes) into ``self``."""
        other = getattr(src, "_untyped_storage", src)
        if not isinstance(other, UntypedStorage):
            raise TypeError(f"copy_(): argument 'src' must be a storage, not {type(src).__name__}")
        if other.nbytes() != self.nbytes():
            raise RuntimeError(
                f"size does not match, self was {self.nbytes()} bytes but src was "
                f"{other.nbytes()} bytes"
            )
        writable(self._bytes, "UntypedStorage.copy_")
        xp = get_array_module(self._bytes)
        self._bytes[...] = xp.asarray(to_device(other._bytes, self.device))
        return self

    def byteswap(self, dtype: Any) -> None:
        """Reverse the byte order of every element of ``dtype`` in place (each of the two
        parts of a complex number on its own), e.g. to read big-endian data.

        Raises:
            RuntimeError: the size is not a multiple of the element size.
        """
        dt = as_dtype(dtype)
        width = dt.itemsize // 2 if dt.kind == "c" else dt.itemsize
        if self.nbytes() % width:
            raise RuntimeError(f"the length of data is not a multiple of {width}")
        if width > 1:
            writable(self._bytes, "UntypedStorage.byteswap")
            rows = self._bytes.reshape(-1, width)
            rows[...] = rows[:, ::-1].copy()

    def untyped(self) -> UntypedStorage:
        """``self`` (the untyped storage of an untyped storage)."""
        return self

    def new(self) -> UntypedStorage:
        """A new empty storage on the same device."""
        return UntypedStorage(device=self.device)

    # ------------------------------------------------------------------ copies and moves
    def clone(self) -> UntypedStorage:
        """A copy in new memory."""
        return UntypedStorage._wrap(self._bytes.copy(), owned=True)

    def __deepcopy__(self, memo: dict) -> UntypedStorage:
        return self.clone()

    def __copy__(self) -> UntypedStorage:
        return self.clone()  # PyTorch's copy.copy of a storage copies the memory too

    def to(self, *, device: Any = None, non_blocking: bool = False) -> UntypedStorage:
        """``self`` when already on ``device``, else a copy there."""
        if device is None or Device(device) == self.device:
            return self
        return UntypedStorage._wrap(to_device(self._bytes, device), owned=True)

    def cpu(self) -> UntypedStorage:
        """``self`` for CPU memory, else a copy in CPU memory."""
        return self.to(device="cpu")

    def cuda(self, device: Any = None, non_blocking: bool = False) -> UntypedStorage:
        """A copy on the GPU (``self`` when already there)."""
        return self.to(device="cuda" if device is None else Device(device))

    def resize_(self, size: int) -> UntypedStorage:
        """Change the size to ``size`` bytes (new bytes are zero); returns ``self``.

        PyTorch reallocates the block under every tensor that views it. chainrule's tensors
        are NumPy views that cannot be moved to new memory, so only a storage no tensor views
        (``resizable()``) may change size; an unchanged size is always accepted.

        Raises:
            RuntimeError: a negative size.
            NotImplementedError: a new size for memory that tensors or slices view.
        """
        size = operator.index(size)
        if size < 0:
            raise RuntimeError(f"UntypedStorage.resize_: size must be non-negative, got {size}")
        if size == self.nbytes():
            return self
        if not self._owned:
            raise NotImplementedError(
                f"UntypedStorage.resize_: cannot resize a storage of {self.nbytes()} bytes to "
                f"{size} while tensors or slices view its memory (PyTorch moves them to the "
                "new block; chainrule's NumPy views cannot be moved). Make a new storage or "
                "tensor of the size you need instead"
            )
        xp = get_array_module(self._bytes)
        grown = xp.zeros(size, np.uint8)
        keep = min(size, self.nbytes())
        grown[:keep] = self._bytes[:keep]
        self._bytes = grown
        return self

    @classmethod
    def from_buffer(
        cls,
        buffer: Any,
        byte_order: str | None = None,
        *,
        dtype: Any = None,
        count: int = -1,
        offset: int = 0,
    ) -> UntypedStorage:
        """A storage holding a copy of ``count`` elements of ``dtype`` (all when -1) read from
        ``buffer`` (any object with the buffer protocol) from byte ``offset``, converted from
        ``byte_order`` (``'little'``, ``'big'`` or ``'native'``; required for elements wider
        than a byte) to this machine's.

        Raises:
            RuntimeError: no ``dtype``, or no ``byte_order`` for a multi-byte dtype.
            ValueError: an invalid ``byte_order``, an offset or count outside the buffer.
        """
        if dtype is None:
            raise RuntimeError("UntypedStorage.from_buffer: argument 'dtype' cannot be None")
        elements = buffer_elements(buffer, byte_order, as_dtype(dtype), count, offset)
        return cls._wrap(elements.view(np.uint8).reshape(-1), owned=True)

    def _converted(self, dtype: np.dtype) -> Any:
        from .typed import TypedStorage  # in here: typed imports untyped

        values = self._bytes.astype(dtype)
        return TypedStorage._make(UntypedStorage._wrap(values.view(np.uint8), True), dtype, 3)
