"""The zip checkpoint archive that ``torch.save`` writes (and chainrule's pickled objects).

Layout (PyTorch >= 1.6)::

    <name>/data.pkl        the pickled object; tensors refer to storages by persistent id
                           ("storage", <storage type>, "<key>", "<location>", <numel>)
    <name>/data/<key>      raw bytes of one storage (numel elements, uncompressed)
    <name>/byteorder       "little" or "big"
    <name>/version ...     format bookkeeping

:class:`Archive` opens one, checks every storage's claimed size against the entry's real
size before allocating, and turns persistent ids into :class:`Storage` objects (a 1-d
NumPy array, read once and shared by every tensor viewing it). Tensors are then built as
strided views by :func:`tensor_view`, with the view's extent checked against the storage.

With ``cr.load(..., mmap=True)`` (a :class:`Source` opened with ``mmap_flags``) a storage
stored uncompressed and little-endian is not read but laid over a memory map of the file:
its data offset comes from the entry's *local* header (read from the file, never taken from
the central directory) and its whole byte range is checked to lie inside the file first.
"""

from __future__ import annotations

import math
import sys
import zipfile
import zlib
from typing import Any

import numpy as np

from .._memory import root_array
from .config import LoadEndianness, config
from .mmap_options import is_shared
from .source import LoadError, Source

__all__ = [
    "STORAGE_DTYPES",
    "Archive",
    "CopyBudget",
    "Storage",
    "StorageType",
    "is_zip",
    "owned_copy",
    "tensor_view",
]

ZIP_MAGIC = b"PK\x03\x04"
_LOCAL_HEADER = 30  # bytes of a zip local file header before its name and extra field
_MAX_DEFLATE_RATIO = 1100  # deflate cannot expand more than ~1032x
_MAX_NDIM = 64
# what zipfile raises on a corrupt entry: its own errors, a decompressor's (zlib.error for a
# deflated entry, lzma's for an LZMA one), NotImplementedError for an unknown method and
# RuntimeError for an entry flagged as encrypted
_ENTRY_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    zlib.error,
)
try:
    import lzma

    _ENTRY_ERRORS += (lzma.LZMAError,)
except ImportError:  # a Python built without lzma cannot open such entries at all
    pass


def is_zip(head: bytes) -> bool:
    return head[:4] == ZIP_MAGIC


class StorageType:
    """What a storage class global (``torch.FloatStorage``) resolves to: its dtype name."""

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"StorageType({self.dtype!r})"


class CopyBudget:
    """The bytes that copies made while loading one file may still take: copies of expanded
    (zero-stride) tensors, and of tensors a rebuild function needs to own. Each copy is
    bounded by its storage, but a few hundred bytes of pickle can name the same storage
    thousands of times; together they may take :data:`_EXPAND_COPY_BYTES` plus the file's
    own size, never what the file merely claims."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, nbytes: int) -> bool:
        """Reserve ``nbytes`` if that many are left."""
        if nbytes > self.left:
            return False
        self.left -= nbytes
        return True


class Storage:
    """One storage of the archive: a flat array of ``numel`` elements. Storages of one file
    share its :class:`CopyBudget` (a storage built outside an archive gets its own)."""

    def __init__(self, array: np.ndarray, key: str, budget: CopyBudget | None = None) -> None:
        self.array = array
        self.key = key
        self.budget = budget or CopyBudget(_EXPAND_COPY_BYTES + array.nbytes)
        self._variants: dict[str, Storage] = {}

    def variant(self, name: str, fn: Any) -> Storage:
        """This storage with ``fn`` (``np.conj``, ``np.negative``) applied to every element,
        computed once per storage however many tensors ask for it (so its memory is
        bounded by the file's size)."""
        found = self._variants.get(name)
        if found is None:
            found = self._variants[name] = Storage(fn(self.array), self.key, self.budget)
        return found

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def __len__(self) -> int:
        return int(self.array.shape[0])


# The dtypes a checkpoint's storages may hold (bfloat16 too, through ml_dtypes): one list
# for saving (pickle_format) and loading.
STORAGE_DTYPES = (
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "uint16",
    "uint32",
    "uint64",
)


def _np_dtype(name: str, where: str) -> np.dtype:
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError:
            raise LoadError(
                f"cr.load: {where} holds bfloat16 tensors, which NumPy cannot "
                "hold; pip install ml-dtypes to load them (or convert them to "
                "float32 in PyTorch with .float() before saving)"
            ) from None
        return np.dtype(ml_dtypes.bfloat16)
    if name not in STORAGE_DTYPES:
        raise LoadError(f"cr.load: {where} holds a storage of unsupported dtype {name!r}")
    return np.dtype(name)


class Archive:
    """A checkpoint zip archive opened from a :class:`Source`."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.where = src.where
        try:
            self.zf = zipfile.ZipFile(src.fileobj())
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            # NotImplementedError: an entry claims a zip version zipfile cannot read
            raise src.error(f"is a corrupt zip archive: {exc}") from None
        pkls = [i for i in infos if i.filename.endswith("data.pkl") and i.filename.count("/") <= 1]
        if len(pkls) != 1:
            raise src.error(
                "is a zip archive but not a PyTorch/chainrule checkpoint (expected "
                f"exactly one <name>/data.pkl entry, found {len(pkls)})"
            )
        self.prefix = pkls[0].filename[: -len("data.pkl")]
        self._infos = {i.filename: i for i in infos}
        self._storages: dict[str, Storage] = {}
        self._budget = CopyBudget(_EXPAND_COPY_BYTES + src.size)
        # id(root of a storage's array) -> the location torch.save recorded, when not "cpu"
        self.locations: dict[int, str] = {}
        order = self._small_entry("byteorder", default=_assumed_byteorder()).decode(
            "ascii", "replace"
        )
        if order not in ("little", "big"):
            raise src.error(f"has an invalid byteorder entry {order!r}")
        self.big_endian = order == "big"

    def close(self) -> None:
        self.zf.close()

    def _info(self, name: str) -> zipfile.ZipInfo | None:
        return self._infos.get(self.prefix + name)

    def _check_size(self, info: zipfile.ZipInfo) -> None:
        if info.compress_type == zipfile.ZIP_STORED:
            ok = info.file_size <= self.src.size
        else:
            ok = info.compress_size <= self.src.size and info.file_size <= _MAX_DEFLATE_RATIO * max(
                info.compress_size, 1
            )
        if not ok:
            raise self.src.error(
                f"has entry {info.filename!r} claiming {info.file_size} bytes, "
                f"more than its {self.src.size}-byte archive can hold"
            )

    def read_entry(self, name: str) -> bytes:
        """The bytes of ``<prefix>/name``, with its size bounded by the archive's.

        A stored entry is read from its local header's data offset without zipfile's CRC
        check, as PyTorch reads every entry: ``torch.save`` under
        ``torch.serialization.set_crc32_options(False)`` writes CRC 0 for all of them."""
        info = self._info(name)
        if info is None:
            raise self.src.error(f"has no entry {self.prefix + name!r}")
        self._check_size(info)
        if info.compress_type == zipfile.ZIP_STORED:
            out = np.empty(info.file_size, np.uint8)
            self.src.read_into(self._data_offset(info), out)
            return out.tobytes()
        try:
            with self.zf.open(info) as fh:
                data = fh.read(info.file_size + 1)
        except _ENTRY_ERRORS as exc:
            raise self.src.error(f"has a corrupt entry {info.filename!r}: {exc}") from None
        if len(data) != info.file_size:
            raise self.src.error(f"has a corrupt entry {info.filename!r} (size mismatch)")
        return data

    def _small_entry(self, name: str, default: bytes) -> bytes:
        info = self._info(name)
        if info is None:
            return default
        if info.file_size > 64:
            raise self.src.error(f"has an oversized {name!r} entry ({info.file_size} bytes)")
        return self.read_entry(name).strip()

    def storage(self, key: Any, dtype_name: Any, numel: Any) -> Storage:
        """The storage ``data/<key>`` of ``numel`` elements of ``dtype_name``."""
        if (
            not isinstance(key, str)
            or not isinstance(numel, int)
            or isinstance(numel, bool)
            or numel < 0
            or not isinstance(dtype_name, str)
        ):
            raise self.src.error(
                f"has an invalid storage reference ({key!r}, {dtype_name!r}, {numel!r})"
            )
        dtype = _np_dtype(dtype_name, self.where)
        cached = self._storages.get(key)
        if cached is not None:
            if cached.dtype != dtype or len(cached) != numel:
                raise self.src.error(f"refers to storage {key!r} with two different types")
            return cached
        info = self._info(f"data/{key}")
        if info is None:
            raise self.src.error(f"refers to storage {key!r}, which is not in the archive")
        self._check_size(info)
        if info.file_size != numel * dtype.itemsize:
            raise self.src.error(
                f"has storage {key!r} of {info.file_size} bytes, but the pickle "
                f"claims {numel} elements of {dtype} ({numel * dtype.itemsize} "
                "bytes)"
            )
        arr = self._mapped(info, key, dtype, numel)
        if arr is None:
            arr = self._read_storage(info, key, dtype, numel)
        storage = Storage(arr, key, self._budget)
        self._storages[key] = storage
        return storage

    def _read_storage(
        self, info: zipfile.ZipInfo, key: str, dtype: np.dtype, numel: int
    ) -> np.ndarray:
        """A fresh array holding the (size-checked) entry ``info``, in native byte order.

        A stored entry is read straight from the file at its local header's data offset,
        without zipfile's CRC check, as PyTorch reads it: a file whose tensors were written
        in place through ``mmap.MAP_SHARED`` (by chainrule or PyTorch) has stale CRCs and
        still loads.
        """
        arr = np.empty(numel, dtype.newbyteorder(">") if self.big_endian else dtype)
        if info.compress_type == zipfile.ZIP_STORED:
            self.src.read_into(self._data_offset(info), arr)
            return arr.astype(dtype) if self.big_endian else arr
        view = memoryview(arr.view(np.uint8)) if numel else memoryview(bytearray())
        try:
            with self.zf.open(info) as fh:
                got = 0
                while got < info.file_size:
                    k = fh.readinto(view[got:])
                    if not k:
                        break
                    got += k
        except _ENTRY_ERRORS as exc:
            raise self.src.error(f"has a corrupt storage {key!r}: {exc}") from None
        if got != info.file_size:
            raise self.src.error(f"has a truncated storage {key!r}")
        if self.big_endian:
            arr = arr.astype(dtype)
        return arr

    def _mapped(
        self, info: zipfile.ZipInfo, key: str, dtype: np.dtype, numel: int
    ) -> np.ndarray | None:
        """The storage laid over the file's memory map, or None to read it (no ``mmap``).

        A compressed or big-endian storage has no bytes in the file that the tensor could
        use as they are: under MAP_PRIVATE it is read into memory instead (what the
        tensor holds is the same, and writes never reach the file either way); under
        MAP_SHARED, whose writes must reach the file, it raises NotImplementedError.
        """
        flags = self.src.mmap_flags
        if flags is None:
            return None
        why = (
            "is compressed"
            if info.compress_type != zipfile.ZIP_STORED
            else "is big-endian"
            if self.big_endian
            else None
        )
        if why is not None:
            if not is_shared(flags):
                return None
            raise NotImplementedError(
                f"cr.load: mmap=True with mmap.MAP_SHARED: storage {key!r} of "
                f"{self.where} {why}, so it cannot be mapped for writing back to the file; "
                "load it with mmap.MAP_PRIVATE (the default) or without mmap"
            )
        return self.src.mapped(self._data_offset(info), dtype, numel)

    def _data_offset(self, info: zipfile.ZipInfo) -> int:
        """Where the bytes of the stored entry ``info`` start in the file, from its local
        header; the whole entry is checked to lie inside the file."""
        head = self.src.read(info.header_offset, _LOCAL_HEADER)
        flags = int.from_bytes(head[6:8], "little")
        method = int.from_bytes(head[8:10], "little")
        name_len = int.from_bytes(head[26:28], "little")
        extra_len = int.from_bytes(head[28:30], "little")
        if head[:4] != ZIP_MAGIC or method != zipfile.ZIP_STORED or flags & 1:
            raise self.src.error(
                f"has a corrupt local header for entry {info.filename!r} (no signature, "
                "or compressed/encrypted where the directory says stored)"
            )
        name = self.src.read(info.header_offset + _LOCAL_HEADER, name_len)
        if name.decode("utf-8" if flags & 0x800 else "cp437", "replace") != info.orig_filename:
            raise self.src.error(
                f"has a local header named {name[:80]!r} for entry {info.filename!r}"
            )
        start = info.header_offset + _LOCAL_HEADER + name_len + extra_len
        if start + info.file_size > self.src.size:
            raise self.src.error(
                f"has entry {info.filename!r} whose {info.file_size} bytes at offset "
                f"{start} run past the end of its {self.src.size}-byte file"
            )
        return start

    def persistent_load(self, pid: Any) -> Storage:
        """Resolve ``("storage", storage_type, key, location, numel)``."""
        if not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage":
            raise self.src.error(f"has an unsupported persistent id {str(pid)[:80]!r}")
        _, stype, key, location, numel = pid
        if isinstance(stype, StorageType):
            stype = stype.dtype
        storage = self.storage(key, stype, numel)
        if isinstance(location, str) and location != "cpu":
            self.locations[id(root_array(storage.array))] = location[:64]  # torch.save's
        return storage


def _int_tuple(value: Any, what: str, where: str) -> tuple[int, ...]:
    if (
        isinstance(value, (list, tuple))
        and len(value) <= _MAX_NDIM
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        return tuple(value)
    raise LoadError(f"cr.load: {where} has a tensor with invalid {what} {str(value)[:80]}")


_EXPAND_COPY_BYTES = 1 << 26  # 64 MiB: the most an expanded tensor's copy may add


def tensor_view(storage: Any, offset: Any, size: Any, stride: Any, where: str) -> np.ndarray:
    """The array of a tensor viewing ``storage``; its whole extent is checked first.

    Tensors that view the same storage share memory (as after ``torch.load``), except that
    views with a zero stride (expanded tensors) are copied, since writing through them
    would change several elements at once. A copy larger than both its storage and
    :data:`_EXPAND_COPY_BYTES` is not made (a few bytes of file could otherwise claim
    terabytes): such a tensor stays a read-only view, as ``Tensor.expand`` makes, whose
    in-place ops raise PyTorch's error for expanded tensors. Neither is a copy that would
    exceed what the storage's :class:`CopyBudget` has left (many expanded tensors of one
    small file).
    """
    if not isinstance(storage, Storage):
        raise LoadError(
            f"cr.load: {where} rebuilds a tensor from {type(storage).__name__}, "
            "not from a storage of the archive"
        )
    size = _int_tuple(size, "size", where)
    stride = _int_tuple(stride, "stride", where)
    if (
        not isinstance(offset, int)
        or isinstance(offset, bool)
        or offset < 0
        or len(stride) != len(size)
    ):
        raise LoadError(
            f"cr.load: {where} has a tensor with invalid offset/stride "
            f"({offset!r}, {stride!r}) for size {size!r}"
        )
    if math.prod(size) == 0:
        return np.empty(size, storage.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= len(storage):
        raise LoadError(
            f"cr.load: {where} has a tensor of size {list(size)} (offset {offset}, "
            f"stride {list(stride)}) reaching element {last} of storage "
            f"{storage.key!r}, which holds {len(storage)}"
        )
    item = storage.dtype.itemsize
    base = storage.array[offset:]
    if item == 1 and base.dtype.kind == "f":  # float8_e5m2: NumPy cannot rebuild its
        base = base.view(np.uint8)  # interface ('<f1'), so strided as bytes, then viewed
    view = np.lib.stride_tricks.as_strided(
        base, shape=size, strides=tuple(s * item for s in stride)
    ).view(storage.dtype)
    if any(s == 0 and n > 1 for n, s in zip(size, stride)):
        if view.nbytes <= max(storage.array.nbytes, _EXPAND_COPY_BYTES) and storage.budget.take(
            view.nbytes
        ):
            return view.copy()
        view.flags.writeable = False
    return view


def owned_copy(view: np.ndarray, storage: Storage, where: str) -> np.ndarray:
    """A C-contiguous copy of ``view`` (an array :func:`tensor_view` made of ``storage``),
    for a rebuild function that must own its data; refused with a LoadError when the copy
    is more than the file's :class:`CopyBudget` allows (an expanded or overlapping view
    of a few bytes claiming terabytes)."""
    if not storage.budget.take(view.nbytes):
        raise LoadError(
            f"cr.load: {where} has a tensor of size {list(view.shape)} viewing storage "
            f"{storage.key!r} with overlapping or zero strides, whose copy would take "
            f"{view.nbytes} bytes, far more than the file holds"
        )
    return np.array(view)


def _assumed_byteorder() -> bytes:
    """The byte order of an archive without a ``byteorder`` record (older checkpoints):
    ``config.load.endianness`` (``set_default_load_endianness``), this machine's when it is
    None or NATIVE, as PyTorch."""
    endianness = config.load.endianness
    if endianness is LoadEndianness.LITTLE:
        return b"little"
    if endianness is LoadEndianness.BIG:
        return b"big"
    return sys.byteorder.encode("ascii")
