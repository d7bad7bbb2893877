"""Pickled checkpoints in PyTorch's zip layout: whole modules and other Python objects.

``cr.save`` writes tensors, containers and primitive values with :mod:`.torch_writer`, in
a form that ``torch.load(weights_only=True)`` reads. Anything else (a whole ``nn.Module``,
a custom class) is pickled here, as ``torch.save`` does, into a zip archive laid out like
PyTorch's: ``archive/data.pkl`` plus one raw ``archive/data/<key>`` entry per storage, so
that tensors never pass through pickle's own array reconstruction; chainrule's own rebuild
function keeps Parameters and Buffers (with ``persistent``) apart. As in :mod:`.torch_writer`,
tensors viewing one memory block share one storage, with their offsets and strides, and load
back as views sharing memory; a view that cannot be so described is stored as a copy.
Loading such a file with the default ``weights_only=True`` refuses the classes it names
(unless allowed with ``cr.serialization.add_safe_globals``); ``weights_only=False`` runs the
pickle and must be used only for files you trust.
"""

from __future__ import annotations

import io
import pickle
from typing import Any, BinaryIO

import numpy as np

from .._layout import contiguous_strides
from ..autograd.tensor import Tensor
from ..backend import host
from .archive import STORAGE_DTYPES, Archive, tensor_view
from .shared_storage import locate
from .source import LoadError, Source
from .torch_format import TORCH_GLOBALS
from .torch_writer import read_kinds, with_kinds, write_archive
from .unpickle import unpickle

__all__ = ["is_legacy_pickle", "legacy_error", "load_archive", "write"]

_WHERE = "a chainrule pickled checkpoint"
_KINDS = ("tensor", "parameter", "buffer")


class _StorageRef:
    def __init__(self, array: np.ndarray) -> None:
        self.array = array


def _rebuild_tensor(
    storage: Any,
    shape: Any,
    requires_grad: Any,
    kind: Any,
    persistent: Any = True,
    offset: Any = 0,
    stride: Any = None,
) -> Tensor:
    """Rebuild a chainrule Tensor / Parameter / Buffer viewing ``storage`` at ``offset`` with
    ``stride`` (C-contiguous when ``None``, as files written before views were shared)."""
    if (
        not isinstance(requires_grad, bool)
        or kind not in _KINDS
        or not isinstance(persistent, bool)
        or not isinstance(shape, tuple)
    ):
        raise LoadError(
            f"cr.load: {_WHERE} has an invalid tensor record ({requires_grad!r}, {kind!r})"
        )
    if stride is None:
        stride = contiguous_strides(shape)
    arr = tensor_view(storage, offset, shape, stride, _WHERE)
    if kind == "tensor":
        return Tensor._make(arr, requires_grad, None, 0)
    from ..nn.parameter import Buffer, Parameter

    t = Tensor._make(arr, False, None, 0)
    if kind == "parameter":
        return Parameter(t, requires_grad=requires_grad)
    return Buffer(t, persistent=persistent)


CHAINRULE_GLOBALS = {f"{__name__}._rebuild_tensor": _rebuild_tensor}


def _dtype_name(arr: np.ndarray) -> str:
    name = arr.dtype.name
    if name not in STORAGE_DTYPES and name != "bfloat16":
        raise TypeError(f"cr.save: cannot store a tensor of dtype {arr.dtype}")
    return name


class _Pickler(pickle.Pickler):
    """Pickles tensors as (storage reference, shape, flags) and storages by persistent id."""

    def __init__(self, fh: BinaryIO, storages: dict[str, np.ndarray], protocol: int = 4) -> None:
        super().__init__(fh, protocol=protocol)
        self.storages = storages
        self._roots: dict[int, tuple[_StorageRef, Any]] = {}  # keeps the roots alive
        self._keys: dict[int, tuple[str, _StorageRef]] = {}  # keeps the refs alive

    def _ref(self, data: Any) -> tuple[_StorageRef, int, tuple[int, ...] | None]:
        """The storage of ``data`` (its root's memory, shared by every view of that root, or
        a contiguous copy), its offset and strides (``None``: C-contiguous)."""
        place = locate(data)
        if place is None:
            return _StorageRef(np.ascontiguousarray(host(data)).reshape(-1)), 0, None
        found = self._roots.get(id(place.root))
        if found is None:
            found = self._roots[id(place.root)] = (_StorageRef(host(place.flat)), place.root)
        if place.offset == 0 and place.flat.size == data.size and data.flags.c_contiguous:
            return found[0], 0, None  # a whole C-ordered array: the record files had before
        return found[0], place.offset, place.stride

    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, Tensor):
            return NotImplemented
        from ..nn.parameter import Buffer, Parameter

        data = obj._data
        _dtype_name(data)
        ref, offset, stride = self._ref(data)
        kind = (
            "parameter"
            if isinstance(obj, Parameter)
            else "buffer"
            if isinstance(obj, Buffer)
            else "tensor"
        )
        persistent = bool(getattr(obj, "persistent", True))
        args = (
            ref,
            tuple(int(n) for n in data.shape),
            bool(obj.requires_grad),
            kind,
            persistent,
        ) + (() if stride is None else (offset, stride))
        state = {} if kind == "buffer" else dict(getattr(obj, "__dict__", None) or {})
        if state:  # attributes a program set on it (torch.save keeps them): a BUILD
            return (_rebuild_tensor, args, state)
        return (_rebuild_tensor, args)

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, _StorageRef):
            return None
        found = self._keys.get(id(obj))
        if found is None:
            found = self._keys[id(obj)] = (str(len(self.storages)), obj)
            self.storages[found[0]] = obj.array
        key = found[0]
        return ("storage", _dtype_name(obj.array), key, "cpu", int(obj.array.size))


def write(fh: BinaryIO, obj: Any, protocol: int = 4) -> None:
    """Pickle ``obj`` (with pickle protocol ``protocol``) into a zip archive written to
    ``fh``."""
    storages: dict[str, np.ndarray] = {}
    pkl = io.BytesIO()
    _Pickler(pkl, storages, protocol).dump(obj)
    write_archive(fh, pkl.getvalue(), storages, {})


def load_archive(src: Source, weights_only: bool, locations: dict | None = None) -> Any:
    """Load a zip checkpoint written by ``torch.save``, by ``cr.save``
    (:mod:`.torch_writer`) or by :func:`write`. ``locations``, if given, receives
    ``id(storage array) -> location`` for each storage saved from a device other than the
    CPU (``"cuda:0"``); the arrays themselves are always loaded into host memory."""
    archive = Archive(src)
    try:
        data = archive.read_entry("data.pkl")
        table = with_kinds({**TORCH_GLOBALS, **CHAINRULE_GLOBALS}, read_kinds(archive))
        obj = unpickle(data, table, archive.persistent_load, src.where, weights_only)
        if locations is not None:
            locations.update(archive.locations)
        return obj
    finally:
        archive.close()


def is_legacy_pickle(head: bytes) -> bool:
    """Whether ``head`` starts a pickle (the legacy ``torch.save`` format or a bare pickle)."""
    return len(head) >= 2 and head[0] == 0x80 and head[1] <= pickle.HIGHEST_PROTOCOL


def legacy_error(src: Source) -> LoadError:
    return src.error(
        "is a bare pickle (PyTorch's legacy format, torch.save(..., "
        "_use_new_zipfile_serialization=False), or pickle.dump), which chainrule "
        "does not read: re-save it with a current torch.save, or as safetensors"
    )
