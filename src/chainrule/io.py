"""``cr.save`` / ``cr.load``: state dicts and checkpoints as safetensors, never pickle.

File format (one ``.safetensors`` file, readable by any safetensors reader):

* every Tensor / NumPy array in ``obj`` is stored as a safetensors tensor under its
  flattened path (``"model/fc1.weight"``, ``"optimizer/state/0/momentum_buffer"``);
* the structure around them (dicts, lists, tuples, numbers, strings, booleans, None) is
  JSON in the safetensors metadata header under the key ``"chainrule"``; each array
  appears there as ``{"__tensor__": "<flattened key>", "kind": "tensor" | "ndarray"}``.

Why: safetensors is a flat name -> array map with a small string header. Putting the JSON
tree in that header keeps one self-contained file, and loading only parses JSON and
copies raw bytes, so a file can never run code (unlike pickle). Dicts whose keys are not
all strings (an optimizer's ``state`` is keyed by ints) are stored as
``{"__items__": [[key, value], ...]}`` so the key types survive the round trip.

Writes are atomic: the bytes go to a temporary file in the target's directory, which is
then renamed over the target with ``os.replace``; a crash mid-write leaves the old file.
"""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any, BinaryIO

import numpy as np

from .autograd.tensor import Tensor

__all__ = ["load", "save"]

_META_KEY = "chainrule"
_FORMAT_VERSION = 1
_MARKERS = ("__tensor__", "__items__", "__tuple__", "__scalar__")


def _safetensors_numpy():
    try:
        import safetensors.numpy as st_numpy
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("cr.save / cr.load need the 'safetensors' package: "
                          "pip install safetensors (or pip install chainrule[io])") from exc
    return st_numpy


def _to_numpy(arr: Any) -> np.ndarray:
    if not isinstance(arr, np.ndarray):  # CuPy and other backends
        get = getattr(arr, "get", None)
        arr = get() if get is not None else np.asarray(arr)
    if arr.dtype == object:
        raise TypeError("cr.save: cannot store an array of Python objects (dtype=object); "
                        "only numeric and bool arrays can be saved")
    return arr if arr.flags.c_contiguous else np.array(arr, order="C")  # keeps 0-d shape


def _encode(obj: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    """Turn ``obj`` into a JSON-able tree, moving arrays into ``arrays``."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)) and not isinstance(obj, np.generic):
        return obj
    if isinstance(obj, (Tensor, np.ndarray)) or hasattr(obj, "__cuda_array_interface__"):
        key = base = path or "tensor"
        n = 1
        while key in arrays:  # {"a/b": x} and {"a": {"b": y}} flatten alike: disambiguate
            key, n = f"{base}#{n}", n + 1
        kind = "tensor" if isinstance(obj, Tensor) else "ndarray"
        arrays[key] = _to_numpy(obj.data if isinstance(obj, Tensor) else obj)
        node = {"__tensor__": key, "kind": kind}
        if isinstance(obj, Tensor) and obj.requires_grad:
            node["requires_grad"] = True
        return node
    if isinstance(obj, np.generic):
        if obj.dtype == object:
            raise TypeError("cr.save: cannot store a NumPy object scalar")
        return {"__scalar__": obj.item(), "dtype": str(obj.dtype)}
    if isinstance(obj, dict):
        plain = all(isinstance(k, str) and k not in _MARKERS for k in obj)
        if plain:
            return {k: _encode(v, f"{path}/{k}" if path else k, arrays) for k, v in obj.items()}
        items = []
        for k, v in obj.items():
            if not (k is None or isinstance(k, (bool, int, float, str))):
                raise TypeError(f"cr.save: dict key {k!r} at {path or '<root>'!r} has type "
                                f"{type(k).__name__}; keys must be str, int, float, bool or None")
            items.append([k, _encode(v, f"{path}/{k}" if path else str(k), arrays)])
        return {"__items__": items}
    if isinstance(obj, (list, tuple)):
        enc = [_encode(v, f"{path}/{i}" if path else str(i), arrays) for i, v in enumerate(obj)]
        return {"__tuple__": enc} if isinstance(obj, tuple) else enc
    raise TypeError(f"cr.save: cannot store an object of type {type(obj).__name__} at "
                    f"{path or '<root>'!r}; supported: Tensors, NumPy arrays, numbers, strings, "
                    "None, and dicts/lists/tuples of these (call .state_dict() on modules and "
                    "optimizers)")


def _decode(node: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    if isinstance(node, list):
        return [_decode(v, arrays, where) for v in node]
    if not isinstance(node, dict):
        return node
    if "__tensor__" in node:
        key = node["__tensor__"]
        if key not in arrays:
            raise ValueError(f"cr.load: {where} is corrupt: the structure refers to tensor "
                             f"{key!r}, which is not in the file")
        arr = arrays[key]
        if node.get("kind") == "ndarray":
            return arr
        return Tensor._make(arr, bool(node.get("requires_grad", False)), None, 0)
    if "__items__" in node:
        return {(tuple(k) if isinstance(k, list) else k): _decode(v, arrays, where)
                for k, v in node["__items__"]}
    if "__tuple__" in node:
        return tuple(_decode(v, arrays, where) for v in node["__tuple__"])
    if "__scalar__" in node:
        return np.dtype(node["dtype"]).type(node["__scalar__"])
    return {k: _decode(v, arrays, where) for k, v in node.items()}


def _serialize(obj: Any) -> bytes:
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, "", arrays)
    meta = json.dumps({"format": "chainrule", "version": _FORMAT_VERSION, "tree": tree},
                      allow_nan=True)
    return _safetensors_numpy().save(arrays, metadata={_META_KEY: meta})


def save(obj: Any, f: str | os.PathLike | BinaryIO) -> None:
    """Save a state dict (or any nest of Tensors, arrays, numbers, strings) to a file.

    Mirrors ``torch.save`` for the objects a checkpoint holds, but writes safetensors +
    JSON instead of pickle, so loading it can never execute code.

    Args:
        obj: Tensors, NumPy arrays, numbers, strings, None, and dicts / lists / tuples of
            these, e.g. ``{"model": model.state_dict(), "optimizer": opt.state_dict()}``.
        f: a path (written atomically through a temporary file and ``os.replace``) or a
            binary file object opened for writing.

    Raises:
        TypeError: ``obj`` contains something that is not storable (a Module, a function...).
        ImportError: the optional ``safetensors`` package is missing.
    """
    data = _serialize(obj)
    if hasattr(f, "write"):
        f.write(data)  # type: ignore[union-attr]
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cr.save: directory {directory!r} does not exist; create it "
                                "first (e.g. os.makedirs(dir, exist_ok=True))")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _parse(data: bytes, where: str) -> Any:
    st_numpy = _safetensors_numpy()
    if len(data) < 8:
        raise ValueError(f"cr.load: {where} is not a chainrule/safetensors file (only "
                         f"{len(data)} bytes)")
    header_len = int.from_bytes(data[:8], "little")
    if header_len <= 0 or 8 + header_len > len(data):
        raise ValueError(f"cr.load: {where} is not a valid safetensors file (header length "
                         f"{header_len} does not fit in {len(data)} bytes); the file is "
                         "truncated or corrupt")
    try:
        header = json.loads(data[8:8 + header_len])
        arrays = st_numpy.load(data)
    except Exception as exc:  # safetensors raises its own SafetensorError
        raise ValueError(f"cr.load: {where} is corrupt or not a safetensors file: {exc}") from exc
    meta = (header.get("__metadata__") or {}).get(_META_KEY)
    if meta is None:  # a plain safetensors file (e.g. from another library): flat dict
        return {k: Tensor._make(v, False, None, 0) for k, v in arrays.items()}
    try:
        info = json.loads(meta)
        tree = info["tree"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"cr.load: {where} has a corrupt chainrule structure header: "
                         f"{exc}") from exc
    if int(info.get("version", 0)) > _FORMAT_VERSION:
        raise ValueError(f"cr.load: {where} was written by a newer chainrule (format version "
                         f"{info['version']}, this one reads up to {_FORMAT_VERSION})")
    return _decode(tree, arrays, where)


def load(f: str | os.PathLike | BinaryIO, map_location: Any = None,
         weights_only: bool = True) -> Any:
    """Load what :func:`save` wrote (or any plain safetensors file, as a flat dict).

    Tensors come back as ``cr.Tensor`` (``requires_grad`` as saved), NumPy arrays as NumPy
    arrays, tuples as tuples, and int dict keys as ints.

    Args:
        f: a path or a binary file object.
        map_location: a device to move tensors to (``"cpu"`` or ``None`` keeps them on CPU).
        weights_only: accepted for PyTorch compatibility; loading never runs code anyway.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file is truncated, corrupt or not a safetensors file.
    """
    if hasattr(f, "read"):
        where = repr(getattr(f, "name", "<file object>"))
        data = f.read()  # type: ignore[union-attr]
    else:
        path = os.fspath(f)
        where = repr(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"cr.load: no such file {path!r}")
        if os.path.isdir(path):
            raise IsADirectoryError(f"cr.load: {path!r} is a directory, not a checkpoint file")
        with open(path, "rb") as fh:
            data = fh.read()
    obj = _parse(data, where)
    if map_location not in (None, "cpu"):
        obj = _move(obj, map_location)
    return obj


def _move(obj: Any, device: Any) -> Any:
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: _move(v, device) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_move(v, device) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_move(v, device) for v in obj)
    return obj
