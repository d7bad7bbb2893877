"""``cr.save``'s default format: PyTorch's zip checkpoint, which ``torch.load`` reads.

Layout (what ``torch.save`` writes; chainrule names the archive ``archive``)::

    archive/data.pkl        pickle (:mod:`.torch_pickler`, protocol 2 by default); each tensor is
                            torch._utils._rebuild_tensor_v2(<storage>, 0, size, stride,
                            requires_grad, OrderedDict()), its storage a persistent id
                            ("storage", torch.FloatStorage, "<key>", "cpu", numel)
    archive/byteorder       "little"
    archive/data/<key>      the storage's raw little-endian bytes (C order)
    archive/.data/chainrule.json   only if the object held NumPy values: which storages
                            were NumPy arrays / scalars (see below)
    archive/version         "3"

A Parameter is ``torch._utils._rebuild_parameter(<tensor>, requires_grad,
OrderedDict())`` (``_rebuild_parameter_with_state(..., state)`` when a program set attributes
on it, and a plain tensor with attributes ``torch._tensor._rebuild_from_type_v2(
_rebuild_tensor_v2, torch.Tensor, args, state)``, as ``torch.save`` writes them);
``uint16``/``uint32``/``uint64`` tensors use an untyped byte storage and
``torch._utils._rebuild_tensor_v3`` with the dtype (``torch.uint16``), as ``torch.save``
does. Tensors that view one memory block (a tensor and its slices, transposes, expanded
views; a tied weight saved twice) share one storage, written whole, each with its own
offset and strides (``_rebuild_tensor_v2(<storage>, offset, size, stride, ...)``), so that
``torch.load`` and ``cr.load`` give back views sharing memory, as after ``torch.save``;
saving ``x[0:1]`` alone writes all of ``x``, as ``torch.save`` does. A view that is not
(offset, non-negative strides) of its root's memory (NumPy's negative strides, a dtype
other than the root's) is stored as its own contiguous copy (:mod:`.shared_storage`).

NumPy arrays and NumPy scalars (chainrule's optimizers keep their state as NumPy arrays)
are written as tensors, so ``torch.load`` sees tensors, exactly as in a PyTorch optimizer
state dict; the extra entry ``.data/chainrule.json`` (which ``torch.load`` ignores) lists
their storages so that ``cr.load`` gives back NumPy arrays and scalars.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from .._layout import contiguous_strides
from ..autograd.tensor import Tensor
from ..backend import Device, device_of, host
from ..dtype_objects import dtype as PublicDtype
from ..nn.parameter import Parameter
from ..ops.tensor_queries import layout
from ..quantized_serialization import quantized_record
from ..size import Size
from .archive import Archive, Storage
from .config import config
from .shared_storage import address, locate
from .source import LoadError
from .torch_pickler import Global, NotTorchStorable, PersistentId, Reduce, dumps

__all__ = [
    "KINDS_ENTRY",
    "NotTorchStorable",
    "prepare",
    "read_kinds",
    "with_kinds",
    "write_archive",
]

KINDS_ENTRY = ".data/chainrule.json"  # inside the archive's folder
_KINDS = ("ndarray", "scalar")
_KINDS_VERSION = 1

_TYPED_STORAGES = {
    "float32": "FloatStorage",
    "float64": "DoubleStorage",
    "float16": "HalfStorage",
    "bfloat16": "BFloat16Storage",
    "int64": "LongStorage",
    "int32": "IntStorage",
    "int16": "ShortStorage",
    "int8": "CharStorage",
    "uint8": "ByteStorage",
    "bool": "BoolStorage",
    "complex64": "ComplexFloatStorage",
    "complex128": "ComplexDoubleStorage",
}
_UNTYPED_DTYPES = (  # no legacy storage class in torch
    "uint16",
    "uint32",
    "uint64",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
)
_LOCAL_HEADER = 30  # bytes of a zip local file header before its name
_PAD_HEADER = 4  # an extra-field record's id and length
_PAD_ID = 0x4246  # "FB": the id PyTorch's writer gives its padding record
_CRC_FIELD = 14  # where a local file header keeps the entry's CRC-32

_REBUILD_V2 = Global("torch._utils", "_rebuild_tensor_v2")
_REBUILD_V3 = Global("torch._utils", "_rebuild_tensor_v3")
_REBUILD_PARAMETER = Global("torch._utils", "_rebuild_parameter")
_REBUILD_PARAMETER_WITH_STATE = Global("torch._utils", "_rebuild_parameter_with_state")
_REBUILD_FROM_TYPE_V2 = Global("torch._tensor", "_rebuild_from_type_v2")
_TENSOR = Global("torch", "Tensor")
_UNTYPED_STORAGE = Global("torch.storage", "UntypedStorage")
_SIZE = Global("torch", "Size")
_DEVICE = Global("torch", "device")
_GET_LAYOUT = Global("torch.serialization", "_get_layout")


def _attributes(obj: Tensor) -> dict:
    """The attributes a program set on a plain tensor or a Parameter (its ``__dict__``),
    which ``torch.save`` keeps: ``_rebuild_parameter_with_state`` / ``_rebuild_from_type_v2``
    with the dict as the state, restored by ``torch.load`` and ``cr.load`` alike."""
    if type(obj) is not Tensor and type(obj) is not Parameter:
        return {}
    return dict(getattr(obj, "__dict__", None) or {})


def _user_subclass(obj: Tensor) -> bool:
    """Whether ``obj`` is an instance of a program's own Tensor subclass (not a
    Parameter, nor one of chainrule's tensor kinds: sparse, nested, quantized, ...)."""
    cls = type(obj)
    return (
        cls is not Tensor
        and not isinstance(obj, Parameter)
        and not cls.__module__.startswith("chainrule.")
        and not obj.is_sparse
    )


def _layout(data: Any) -> tuple:
    """Which memory an array views, and how: two arrays with the same address, shape, strides
    and dtype hold the same values, so a view stored as a copy is stored once however often
    it is saved."""
    return (address(data), data.shape, data.strides, data.dtype.str)


class _Collector:
    """Turns tensors and NumPy values into rebuild records and collects their storages.

    A storage is the whole memory of a root array (one per root and kind, so that NumPy
    values keep storages of their own, marked in ``kinds``); an array that cannot be
    described as a view of its root's memory gets a contiguous copy, one per layout.
    """

    def __init__(self) -> None:
        self.storages: dict[str, np.ndarray] = {}
        self.kinds: dict[str, str] = {}
        self._roots: dict[tuple[int, str], tuple[str, Any]] = {}
        self._copies: dict[tuple[tuple, str], tuple[str, Any]] = {}

    def convert(self, obj: Any, path: str) -> Any:
        quantized = quantized_record(obj, self._quantized_storage)
        if quantized is not None:  # a quantized tensor, dtype or scheme
            return quantized
        if isinstance(obj, Tensor) and getattr(obj, "is_nested", False) is True:
            rebuild, args = obj.__reduce__()  # a nested tensor: its dense parts, rebuilt
            return Reduce(Global(rebuild.__module__, rebuild.__name__), args)
        if isinstance(obj, Tensor):
            if type(obj) is not Tensor and obj.is_sparse:
                return None  # the safetensors encoder then raises its NotImplementedError
            if _user_subclass(obj):  # its class kept: torch.save's _rebuild_from_type_v2
                return self._subclass(obj)
            state = _attributes(obj)
            if isinstance(obj, Parameter):
                data = self._tensor(obj._data, False, "tensor")
                if data is None:
                    return None
                if state:  # attributes a program set on it (``p._optim = {...}``)
                    args = (data, bool(obj.requires_grad), OrderedDict(), state)
                    return Reduce(_REBUILD_PARAMETER_WITH_STATE, args)
                return Reduce(_REBUILD_PARAMETER, (data, bool(obj.requires_grad), OrderedDict()))
            record = self._tensor(obj._data, bool(obj.requires_grad), "tensor")
            if record is None or not state:
                return record
            return Reduce(_REBUILD_FROM_TYPE_V2, (record.func, _TENSOR, record.args, state))
        if isinstance(obj, np.ndarray) or hasattr(obj, "__cuda_array_interface__"):
            return self._tensor(obj, False, "ndarray")
        if isinstance(obj, np.generic):
            return self._tensor(np.asarray(obj), False, "scalar")
        if type(obj) is Size:
            return Reduce(_SIZE, (tuple(int(n) for n in obj),))
        if isinstance(obj, PublicDtype):  # torch.float32 is the global "torch float32"
            return Global("torch", str(obj).removeprefix("torch."))
        if isinstance(obj, layout):  # torch.save's form: _get_layout("torch.strided")
            return Reduce(_GET_LAYOUT, (repr(obj),))
        if isinstance(obj, Device):  # torch.device("cuda", 1) is written as that call
            args = (obj.type,) if obj.index is None else (obj.type, int(obj.index))
            return Reduce(_DEVICE, args)
        return None

    def _subclass(self, obj: Tensor) -> Any:
        """An instance of a user's Tensor subclass as ``torch.save`` writes one:
        ``_rebuild_from_type_v2(rebuild, <its class>, args, <its __dict__>)``, which loads
        back as that class (``weights_only=True`` only once the class is allowed with
        ``add_safe_globals``, as in PyTorch)."""
        cls = type(obj)
        if "<locals>" in cls.__qualname__:  # pickle's error for a class it cannot name
            raise AttributeError(f"Can't pickle local object {cls.__qualname__!r}")
        record = self._tensor(obj._data, bool(obj.requires_grad), "tensor")
        if record is None:
            return None
        state = dict(getattr(obj, "__dict__", None) or {})
        kind = Global(cls.__module__, cls.__qualname__)
        return Reduce(_REBUILD_FROM_TYPE_V2, (record.func, kind, record.args, state))

    def _add(self, arr: np.ndarray, kind: str) -> str:
        key = str(len(self.storages))
        self.storages[key] = arr
        if kind != "tensor":
            self.kinds[key] = kind
        return key

    def _storage(self, data: Any, kind: str) -> tuple[str, int, tuple[int, ...]]:
        """The key of the storage holding ``data``, its offset and strides in elements."""
        place = locate(data) if kind != "scalar" else None
        if place is not None:
            found = self._roots.get((id(place.root), kind))
            if found is None:  # the root is kept alive with its key: ids stay unique
                found = self._roots[(id(place.root), kind)] = (
                    self._add(host(place.flat), kind),
                    place.root,
                )
            return found[0], place.offset, place.stride
        identity = (_layout(data), kind)
        found = self._copies.get(identity)
        if found is None:
            flat = np.ascontiguousarray(host(data)).reshape(-1)
            found = self._copies[identity] = (self._add(flat, kind), data)
        return found[0], 0, contiguous_strides(tuple(int(n) for n in data.shape))

    def _quantized_storage(self, data: np.ndarray) -> tuple[str, int, tuple[int, ...], int]:
        key, offset, stride = self._storage(data, "tensor")
        return key, offset, stride, int(self.storages[key].size)

    def _tensor(self, data: Any, requires_grad: bool, kind: str) -> Reduce | None:
        name = data.dtype.name
        if name not in _TYPED_STORAGES and name not in _UNTYPED_DTYPES:
            return None
        key, offset, stride = self._storage(data, kind)
        arr = self.storages[key]
        size = tuple(int(n) for n in data.shape)
        where = str(device_of(data))  # "cuda:0" for a GPU tensor: torch.load puts it back there
        if name in _TYPED_STORAGES:
            pid = PersistentId(
                ("storage", Global("torch", _TYPED_STORAGES[name]), key, where, int(arr.size))
            )
            return Reduce(_REBUILD_V2, (pid, offset, size, stride, requires_grad, OrderedDict()))
        pid = PersistentId(("storage", _UNTYPED_STORAGE, key, where, int(arr.nbytes)))
        args = (pid, offset, size, stride, requires_grad, OrderedDict(), Global("torch", name))
        return Reduce(_REBUILD_V3, args)


def _aligned_entry(name: str, header_offset: int, zip64: bool, alignment: int) -> zipfile.ZipInfo:
    """A stored entry whose data will start on an ``alignment``-byte boundary of the file
    when its local header is written at ``header_offset``, as ``torch.save`` aligns storages
    (so that ``load(..., mmap=True)`` maps aligned arrays): the local header's extra field is
    padded (id ``FB``, PyTorch's padding record), and the archive records the alignment in
    ``.storage_alignment``. A zip64 entry's local header carries 20 more bytes (its sizes
    record), which zipfile writes after this padding."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    fixed = _LOCAL_HEADER + len(name.encode("utf-8")) + _PAD_HEADER + (20 if zip64 else 0)
    pad = -(header_offset + fixed) % alignment
    info.extra = struct.pack("<HH", _PAD_ID, pad) + b"Z" * pad
    return info


def _storage_alignment() -> int:
    alignment = config.save.storage_alignment
    if isinstance(alignment, bool) or not isinstance(alignment, int) or alignment < 1:
        raise ValueError(
            "cr.save: cr.utils.serialization.config.save.storage_alignment must be a "
            f"positive int, got {alignment!r}"
        )
    return alignment


def _zero_crcs(zf: zipfile.ZipFile) -> None:
    """Every entry's CRC-32 written as 0, in its local header now and in the central
    directory when ``zf`` closes: what ``torch.save`` writes under
    ``set_crc32_options(False)``."""
    end = zf.fp.tell()
    for info in zf.infolist():
        info.CRC = 0
        zf.fp.seek(info.header_offset + _CRC_FIELD)
        zf.fp.write(b"\0\0\0\0")
    zf.fp.seek(end)


def write_archive(
    fh: BinaryIO, pkl: bytes, storages: dict[str, np.ndarray], extra: dict[str, bytes]
) -> None:
    """Write a checkpoint zip: ``archive/data.pkl``, the storages and ``extra`` entries, as
    ``cr.utils.serialization.config.save`` says (storage alignment, CRCs or none)."""
    alignment = _storage_alignment()
    with_crcs = bool(config.save.compute_crc32)
    if not with_crcs and not _seekable(fh):  # CRCs are patched in place: build it in memory
        buffer = io.BytesIO()
        write_archive(buffer, pkl, storages, extra)
        fh.write(buffer.getbuffer())
        return
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", pkl)
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/.storage_alignment", str(alignment))
        for key, arr in storages.items():
            if arr.dtype.byteorder == ">":
                arr = arr.astype(arr.dtype.newbyteorder("<"))
            flat = np.ascontiguousarray(arr).reshape(-1).view(np.uint8)
            zip64 = flat.nbytes >= 2**31
            info = _aligned_entry(f"archive/data/{key}", zf.fp.tell(), zip64, alignment)
            with zf.open(info, "w", force_zip64=zip64) as out:
                out.write(memoryview(flat))
        for name, data in extra.items():
            zf.writestr(f"archive/{name}", data)
        zf.writestr("archive/version", "3\n")
        if not with_crcs:
            _zero_crcs(zf)


def _seekable(fh: Any) -> bool:
    try:
        return bool(fh.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def prepare(obj: Any, protocol: int = 2) -> Callable[[BinaryIO], None]:
    """Pickle ``obj`` for ``torch.load(weights_only=True)`` (with ``pickle_protocol``
    ``protocol``, see :func:`.torch_pickler.dumps`); return what writes the file.

    The pickle is built here, before any file is opened, so that an object without a
    PyTorch form fails without touching the target.

    Raises:
        NotTorchStorable: ``obj`` holds a value ``torch.load(weights_only=True)`` would
            refuse (a module, a custom class, a NumPy datetime array, ...).
        ValueError: ``obj`` is nested too deeply (or holds itself).
    """
    collector = _Collector()
    pkl = dumps(obj, collector.convert, protocol)
    extra: dict[str, bytes] = {}
    if collector.kinds:
        record = {"format": "chainrule", "version": _KINDS_VERSION, "kinds": collector.kinds}
        extra[KINDS_ENTRY] = json.dumps(record).encode("utf-8")

    def write(fh: BinaryIO) -> None:
        write_archive(fh, pkl, collector.storages, extra)

    return write


def read_kinds(archive: Archive) -> dict[str, str]:
    """The ``storage key -> "ndarray" | "scalar"`` record of a file :func:`prepare` wrote
    (empty for other archives, e.g. ``torch.save``'s)."""
    if archive._info(KINDS_ENTRY) is None:
        return {}
    raw = archive.read_entry(KINDS_ENTRY)
    try:
        info = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise archive.src.error(f"has a corrupt {KINDS_ENTRY} entry (not JSON)") from None
    if not isinstance(info, dict):
        info = {}  # a JSON list or number: refused below, as a record without a format
    kinds = info.get("kinds")
    version = info.get("version")
    if (
        info.get("format") != "chainrule"
        or not isinstance(version, int)
        or isinstance(version, bool)
        or not isinstance(kinds, dict)
        or not all(isinstance(k, str) and v in _KINDS for k, v in kinds.items())
    ):
        raise archive.src.error(
            f"has a corrupt {KINDS_ENTRY} entry (expected format 'chainrule', a version "
            "and kinds mapping storage keys to 'ndarray' or 'scalar')"
        )
    if version > _KINDS_VERSION:
        raise archive.src.error(
            f"was written by a newer chainrule ({KINDS_ENTRY} version {version}, this one "
            f"reads up to {_KINDS_VERSION})"
        )
    return kinds


def _returning_numpy(rebuild: Callable[..., Any], kinds: dict[str, str]) -> Callable[..., Any]:
    def rebuild_numpy(storage: Any, *args: Any) -> Any:
        tensor = rebuild(storage, *args)
        kind = kinds.get(storage.key) if isinstance(storage, Storage) else None
        if kind is None:
            return tensor
        arr = tensor._data
        if kind == "scalar":
            if arr.ndim != 0:
                raise LoadError(
                    f"cr.load: storage {storage.key!r} is marked a NumPy scalar but holds "
                    f"a tensor of shape {list(arr.shape)}"
                )
            return arr[()]
        return arr

    return rebuild_numpy


def with_kinds(table: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    """``table`` with the tensor rebuild functions returning NumPy values for ``kinds``."""
    if not kinds:
        return table
    out = dict(table)
    for name in ("torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3"):
        out[name] = _returning_numpy(table[name], kinds)
    return out
