"""``cr.save`` / ``cr.load``: PyTorch's zip checkpoint format, and safetensors.

File formats:

* **zip archive** (``torch.save``'s format): what ``cr.save`` writes by default. For
  tensors, Parameters, state dicts, optimizer state and other nests of tensors, NumPy
  values, numbers, strings and None, the pickle inside names only PyTorch's tensor rebuild
  functions (:mod:`chainrule.serialization.torch_writer`), so ``torch.load`` reads it with
  its default ``weights_only=True``. Anything else, such as a whole ``nn.Module``, is
  pickled into the same layout, as ``torch.save`` does. ``cr.load`` also reads PyTorch's
  own ``.pt`` / ``.pth`` files, without importing torch.
* **safetensors** (what ``cr.save`` writes to a path ending in ``.safetensors``, and for
  values PyTorch's format has no safe form for, such as NumPy datetime arrays; what older
  chainrule versions wrote by default): every array is a safetensors tensor under its
  flattened path (``"model/fc1.weight"``), and the structure around them is JSON in the
  header's metadata under ``"chainrule"`` (see :mod:`chainrule.serialization.tree`). Any
  safetensors reader opens the file; loading it parses JSON and copies bytes, never code.

``cr.load`` is weights-only by default, as in PyTorch 2.6+: a pickle may name only tensor
rebuild functions, containers and primitive types (plus what
``cr.serialization.add_safe_globals`` allows); ``weights_only=False`` unpickles anything
and is for trusted files only. Every length a file claims is checked against its real size
before memory is allocated (:mod:`chainrule.serialization.source`).

Writes are atomic: bytes go to ``.tmp-chainrule-<pid>-<random>`` in the target's
directory (created with the usual umask), which is renamed over the target with
``os.replace``; a crash mid-write leaves the old file, and the temporary left by a killed
process is removed by the next save to that directory
(:mod:`chainrule.serialization.atomic_write`). Where loaded tensors go (``map_location``) is
:mod:`chainrule.serialization.load_devices`.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable
from typing import Any, BinaryIO

from .autograd.tensor import Tensor
from .serialization import pickle_format, safetensors_format, torch_writer
from .serialization.archive import is_zip
from .serialization.atomic_write import write_atomic
from .serialization.config import config as serialization_config
from .serialization.load_devices import device_rule, move, tp_name
from .serialization.mmap_options import get_default_mmap_options
from .serialization.protocol import read_protocol
from .serialization.source import Source
from .serialization.torch_pickler import NotTorchStorable
from .serialization.tree import NotStorable, decode, encode

__all__ = ["load", "save"]

_META_KEY = "chainrule"
_FORMAT_VERSION = 2


def _safetensors_writer(tree: Any, arrays: dict, version: int) -> Callable[[BinaryIO], None]:
    meta = json.dumps({"format": "chainrule", "version": version, "tree": tree}, allow_nan=True)

    def write(fh: BinaryIO) -> None:
        safetensors_format.write(fh, arrays, {_META_KEY: meta})

    return write


def _pickle_writer(obj: Any, reason: NotStorable, protocol: int) -> Callable[[BinaryIO], None]:
    def write(fh: BinaryIO) -> None:
        try:
            pickle_format.write(fh, obj, protocol)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise TypeError(
                f"{reason}, and pickling it failed: {exc}. Supported without "
                "pickling: Tensors, NumPy arrays, numbers, strings, None, and "
                "dicts/lists/tuples of these"
            ) from None

    return write


def save(
    obj: Any,
    f: str | os.PathLike | BinaryIO,
    pickle_module: Any = None,
    pickle_protocol: int = 2,
    _use_new_zipfile_serialization: bool = True,
    _disable_byteorder_record: bool = False,
) -> None:
    """Save a state dict, a nest of tensors, or (pickled) any other object to a file.

    Mirrors ``torch.save``, and writes its zip checkpoint format: a file holding tensors,
    Parameters, NumPy arrays and scalars, ``cr.Size``, numbers, strings, bytes, None and
    dicts/OrderedDicts/lists/tuples/sets of these (e.g. ``model.state_dict()`` or
    ``optimizer.state_dict()``) names only PyTorch's tensor rebuild functions, so
    ``torch.load(f)`` (``weights_only=True``) reads it in PyTorch, and ``cr.load`` reads it
    without running code from the file. NumPy values come back from ``cr.load`` as NumPy
    values and from ``torch.load`` as tensors (see :mod:`chainrule.serialization.torch_writer`).
    A state dict's ``_metadata`` (the module versions that ``load_state_dict`` passes to each
    module's ``_load_from_state_dict``) is kept as ``torch.save`` keeps it, so ``torch.load``
    and ``cr.load`` both give it back.

    Safetensors + JSON, which any safetensors reader opens, is written instead to a path
    (or a file object's ``name``) ending in ``.safetensors``, and for an object holding a
    value that PyTorch's format has no weights-only form for but safetensors has (a NumPy
    datetime array). Anything else (a whole ``nn.Module``, a custom object, a namedtuple,
    ``defaultdict`` or other container subclass, whose type safetensors' JSON would drop)
    is pickled into the zip layout, as ``torch.save`` does; reading it back needs
    ``cr.load(f, weights_only=False)`` (trusted files only) or
    ``cr.serialization.add_safe_globals``. ``cr.load`` reads every one of these. The
    safetensors form holds no attributes of a dict, so a state dict saved to a
    ``.safetensors`` path loses its ``_metadata`` (it loads as a checkpoint without versions).

    Args:
        obj: what to save, e.g. ``{"model": model.state_dict(), "optimizer": opt.state_dict()}``.
        f: a path (written atomically through a temporary file and ``os.replace``) or a
            binary file object opened for writing.
        pickle_module: ``None`` or the standard ``pickle`` module (PyTorch's default);
            another module raises NotImplementedError (chainrule writes its own pickles).
        pickle_protocol: ``data.pkl``'s protocol, as ``torch.save``'s (``None``: Python's
            default, a negative int: the highest); ``cr.load`` reads them all, ``torch.load``
            what it reads of ``torch.save``'s file (weights-only: not 4 and 5). 0 (text
            persistent ids, which ``torch.load`` cannot read either) raises
            NotImplementedError, and so does any but the default for a ``.safetensors``
            target, which holds no pickle.
        _use_new_zipfile_serialization: ``True`` (PyTorch's default, and the zip format
            written here); ``False`` (PyTorch's pre-1.6 format) raises NotImplementedError.
        _disable_byteorder_record: ``False`` (the default: the archive records its byte
            order); ``True`` raises NotImplementedError.

    Raises:
        TypeError: ``obj`` holds something no format can store (a lambda, an object
            array, a long double).
        FileNotFoundError: the target directory does not exist.
    """
    if pickle_module is not None and pickle_module is not pickle:
        raise NotImplementedError(
            f"cr.save: pickle_module={getattr(pickle_module, '__name__', pickle_module)!r} is "
            "not supported; chainrule writes its own pickles (pass None or pickle)"
        )
    protocol = read_protocol("cr.save", pickle_protocol)
    # a protocol asked for (not the default): refused where no pickle is written (_writer)
    asked = pickle_protocol is not None and protocol != 2
    if protocol == 0:
        raise NotImplementedError(  # torch.load cannot read torch.save's protocol-0 tensor
            "cr.save: pickle_protocol=0 is not supported (its text persistent ids cannot "
            "name a storage); use 1 or higher"
        )
    if _disable_byteorder_record:
        raise NotImplementedError(
            "cr.save: _disable_byteorder_record=True is not supported; the archive always "
            "records its byte order"
        )
    if not _use_new_zipfile_serialization:
        raise NotImplementedError(
            "cr.save: _use_new_zipfile_serialization=False (PyTorch's legacy, pre-1.6 format) "
            "is not supported; chainrule writes the zip format that torch.load reads"
        )
    if not isinstance(f, str | bytes | os.PathLike) and not hasattr(f, "write"):
        raise AttributeError(  # PyTorch's words
            "expected 'f' to be string, path, or a file-like object with a 'write' attribute"
        )
    _save(obj, f, allow_pickle=True, protocol=protocol, asked=asked)


def _save(
    obj: Any,
    f: str | os.PathLike | BinaryIO,
    allow_pickle: bool,
    protocol: int = 2,
    asked: bool = False,
) -> None:
    """:func:`save`; with ``allow_pickle=False`` an object that neither PyTorch's format
    nor safetensors can hold raises ``TypeError`` instead of being pickled (training
    checkpoints must stay loadable by a weights-only load). ``asked``: ``protocol`` was
    given, not the default (refused for a ``.safetensors`` target, see :func:`_writer`)."""
    writer = _writer(obj, f, allow_pickle, protocol, asked)
    if hasattr(f, "write"):
        writer(f)  # type: ignore[arg-type]
        return
    write_atomic(os.fspath(f), writer)


def _wants_safetensors(f: str | os.PathLike | BinaryIO) -> bool:
    name = getattr(f, "name", None) if hasattr(f, "write") else os.fspath(f)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    return isinstance(name, str) and name.lower().endswith(".safetensors")


def _writer(
    obj: Any,
    f: str | os.PathLike | BinaryIO,
    allow_pickle: bool,
    protocol: int = 2,
    asked: bool = False,
) -> Callable[[BinaryIO], None]:
    """The function that writes ``obj``: PyTorch's format, else safetensors, else pickle.

    A ``.safetensors`` target holds no pickle, so a ``pickle_protocol`` asked for there
    (``asked``) would be ignored: it raises NotImplementedError instead (PyTorch has no such
    format; an object only pickling can hold is pickled with it, as before)."""
    wants_safetensors = _wants_safetensors(f)
    if not wants_safetensors:
        try:
            return torch_writer.prepare(obj, protocol)
        except NotTorchStorable:
            pass
    try:
        tree, arrays, version = encode(obj)
        if asked and wants_safetensors:
            raise NotImplementedError(
                f"cr.save: a pickle_protocol other than the default (here protocol {protocol}) "
                "is not supported for a .safetensors target (safetensors + JSON holds no "
                "pickle); leave pickle_protocol out or save to a path not ending in .safetensors"
            )
        return _safetensors_writer(tree, arrays, version)
    except NotStorable as exc:
        if not allow_pickle:
            raise
        return _pickle_writer(obj, exc, protocol)


def _looks_like_safetensors(src: Source) -> bool:
    if src.size < 10:
        return False
    n = int.from_bytes(src.read(0, 8), "little")
    return 8 + n <= src.size and src.read(8, 1) == b"{"


def _load_safetensors(src: Source) -> Any:
    arrays, meta = safetensors_format.read(src)
    text = meta.get(_META_KEY)
    if text is None:  # a plain safetensors file (e.g. from another library): flat dict
        return {k: Tensor._make(v, False, None, 0) for k, v in arrays.items()}
    try:
        info = json.loads(text)
    except RecursionError:
        raise src.error("has a chainrule structure nested too deeply") from None
    except ValueError as exc:
        raise src.error(f"has a corrupt chainrule structure header: {exc}") from None
    if not isinstance(info, dict) or info.get("format") != "chainrule" or "tree" not in info:
        raise src.error(
            "has a corrupt chainrule structure header (expected an object with "
            "'format': 'chainrule' and a 'tree')"
        )
    version = info.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise src.error(f"has an invalid chainrule format version {str(version)[:40]!r}")
    if version > _FORMAT_VERSION:
        raise src.error(
            f"was written by a newer chainrule (format version {version}, this "
            f"one reads up to {_FORMAT_VERSION})"
        )
    return decode(info["tree"], arrays, src)


def load(
    f: str | os.PathLike | BinaryIO,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Load what :func:`save` or ``torch.save`` wrote, or any safetensors file.

    Tensors come back as ``cr.Tensor`` (``requires_grad`` as saved, Parameters as
    ``nn.Parameter``), NumPy arrays as NumPy arrays, tuples as tuples, int dict keys as ints.
    A plain safetensors file loads as a flat ``{name: Tensor}`` dict.

    Args:
        f: a path or a binary file object.
        map_location: a device to move tensors to (``None`` / ``"cpu"`` keep them on CPU), a
            dict from saved locations to devices (``{"cuda:0": "cpu"}``), or a function
            ``f(storage, location)`` returning the storage to use (see
            :func:`chainrule.serialization.load_devices.device_rule`).
        pickle_module: not supported (chainrule uses its own unpicklers).
        weights_only: ``True`` or ``None`` (default): rebuild only tensors, containers and
            primitive values (and ``add_safe_globals`` entries); never run code from the
            file. ``False``: unpickle anything, which **can execute arbitrary code**; use
            it only for files you trust, e.g. a whole module you saved yourself.
        mmap: ``True``: do not read the tensors' bytes but memory-map the file, as
            ``torch.load(f, mmap=True)`` does: each storage is a window of one mapping of
            the file (tensors viewing one storage still share memory), and pages are read
            only when used. ``f`` must then be a path. How the file is mapped is set with
            ``cr.serialization.set_default_mmap_options``: ``mmap.MAP_PRIVATE`` (default)
            keeps writes to the tensors in memory, ``mmap.MAP_SHARED`` writes them to the
            file (which must be writable). Storages that are compressed or big-endian have
            no usable bytes in the file: they are read into memory under MAP_PRIVATE and
            refused under MAP_SHARED. Safetensors files are mapped the same way. Truncating
            the file while its tensors are alive crashes the process (SIGBUS), as with any
            memory map. ``False``: read everything into memory. ``None`` (default): as
            ``cr.utils.serialization.config.load.mmap`` says (False unless set).

    Raises:
        FileNotFoundError: the path does not exist.
        pickle.UnpicklingError: a weights-only load met a global it does not allow.
        ValueError: (:class:`~chainrule.serialization.LoadError`) the file is truncated,
            corrupt, not a regular file, or claims more data than it holds; or ``mmap=True``
            with a file object instead of a path.
        PermissionError: ``mmap=True`` under ``mmap.MAP_SHARED`` on a read-only file.
    """
    if pickle_module is not None:
        raise NotImplementedError(
            "cr.load: pickle_module= is not supported; chainrule uses "
            "its own (restricted) unpicklers"
        )
    if pickle_load_args:
        raise NotImplementedError(
            f"cr.load: unsupported argument(s) {', '.join(sorted(pickle_load_args))}"
        )
    if not isinstance(f, str | bytes | os.PathLike) and not hasattr(f, "seek"):
        raise AttributeError(  # PyTorch's words (its seekable check of a buffer)
            f"'{tp_name(f)}' object has no attribute 'seek'. You can only torch.load from a "
            "file that is seekable. Please pre-load the data into a buffer like io.BytesIO "
            "and try to load from it instead."
        )
    # PyTorch reads any other value by its truth (``if weights_only:``), as here
    weights_only = True if weights_only is None else bool(weights_only)
    locations: dict[int, str] = {}  # storages saved from a GPU: where torch.save found them
    where = ["the file"]  # the file, for errors about its saved locations
    # built (and a bad map_location refused) before reading; it reads ``locations`` later
    device_of = None if map_location == "cpu" else device_rule(map_location, locations, where)
    if mmap is None:
        mmap = serialization_config.load.mmap
    with Source(f, "cr.load", get_default_mmap_options() if mmap else None) as src:
        where[0] = src.where
        head = src.head(8)
        if is_zip(head):
            obj = pickle_format.load_archive(src, weights_only, locations)
        elif pickle_format.is_legacy_pickle(head) and not _looks_like_safetensors(src):
            raise pickle_format.legacy_error(src)
        else:  # safetensors, or an error saying why the file is not one
            obj = _load_safetensors(src)
    if device_of is None or (map_location is None and not locations):
        return obj  # everything was read into host memory: nothing to move
    return move(obj, device_of, 0)
