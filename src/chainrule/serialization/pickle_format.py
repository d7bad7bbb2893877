"""Pickled checkpoints in PyTorch's zip layout: whole modules and other Python objects.

``cr.save`` writes tensors, containers and primitive values with :mod:`.torch_writer`, in
a form that ``torch.load(weights_only=True)`` reads. Anything else (a whole ``nn.Module``,
a custom class) is pickled here, as ``torch.save`` does, into a zip archive laid out like
PyTorch's: ``archive/data.pkl`` plus one raw ``archive/data/<key>`` entry per tensor, so
that tensors never pass through pickle's own array reconstruction; chainrule's own rebuild
function keeps Parameters and Buffers (with ``persistent``) apart. Loading such a file
with the default ``weights_only=True`` refuses the classes it names (unless allowed with
``cr.serialization.add_safe_globals``); ``weights_only=False`` runs the pickle and must be
used only for files you trust.
"""

from __future__ import annotations

import io
import pickle
from typing import Any, BinaryIO

import numpy as np

from ..autograd.tensor import Tensor
from .archive import STORAGE_DTYPES, Archive, tensor_view
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
    storage: Any, shape: Any, requires_grad: Any, kind: Any, persistent: Any = True
) -> Tensor:
    """Rebuild a chainrule Tensor / Parameter / Buffer from a contiguous storage."""
    if (
        not isinstance(requires_grad, bool)
        or kind not in _KINDS
        or not isinstance(persistent, bool)
        or not isinstance(shape, tuple)
    ):
        raise LoadError(
            f"cr.load: {_WHERE} has an invalid tensor record ({requires_grad!r}, {kind!r})"
        )
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n if isinstance(n, int) and n > 0 else 1
    arr = tensor_view(storage, 0, shape, tuple(reversed(strides)), _WHERE)
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

    def __init__(self, fh: BinaryIO, storages: dict[str, np.ndarray]) -> None:
        super().__init__(fh, protocol=4)
        self.storages = storages

    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, Tensor):
            return NotImplemented
        from ..nn.parameter import Buffer, Parameter

        data = obj._data
        if not isinstance(data, np.ndarray):  # CuPy: copy to host
            data = data.get() if hasattr(data, "get") else np.asarray(data)
        arr = np.ascontiguousarray(data)
        _dtype_name(arr)
        kind = (
            "parameter"
            if isinstance(obj, Parameter)
            else "buffer"
            if isinstance(obj, Buffer)
            else "tensor"
        )
        persistent = bool(getattr(obj, "persistent", True))
        return (
            _rebuild_tensor,
            (
                _StorageRef(arr),
                tuple(int(n) for n in arr.shape),
                bool(obj.requires_grad),
                kind,
                persistent,
            ),
        )

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, _StorageRef):
            return None
        key = str(len(self.storages))
        self.storages[key] = obj.array
        return ("storage", _dtype_name(obj.array), key, "cpu", int(obj.array.size))


def write(fh: BinaryIO, obj: Any) -> None:
    """Pickle ``obj`` into a zip archive written to ``fh``."""
    storages: dict[str, np.ndarray] = {}
    pkl = io.BytesIO()
    _Pickler(pkl, storages).dump(obj)
    write_archive(fh, pkl.getvalue(), storages, {})


def load_archive(src: Source, weights_only: bool) -> Any:
    """Load a zip checkpoint written by ``torch.save``, by ``cr.save``
    (:mod:`.torch_writer`) or by :func:`write`."""
    archive = Archive(src)
    try:
        data = archive.read_entry("data.pkl")
        table = with_kinds({**TORCH_GLOBALS, **CHAINRULE_GLOBALS}, read_kinds(archive))
        return unpickle(data, table, archive.persistent_load, src.where, weights_only)
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
