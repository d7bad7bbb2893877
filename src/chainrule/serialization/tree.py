"""The JSON structure ``cr.save`` keeps beside the arrays of a safetensors file.

Every Tensor / NumPy array is moved out of the object into a flat ``name -> array`` map
and replaced by ``{"__tensor__": name, "kind": "tensor" | "ndarray"}``; dicts with
non-string keys become ``{"__items__": [[key, value], ...]}``, tuples
``{"__tuple__": [...]}`` and NumPy scalars ``{"__scalar__": value, "dtype": "float32"}``.
Complex arrays are stored as real ``(..., 2)`` float arrays (``"complex": true``) and
datetime/timedelta arrays as int64 (``"dtype": "datetime64[ns]"``), since safetensors has
no such dtypes; files that use these need format version 2.

:func:`decode` treats the structure as untrusted: every marker, key, dtype and value is
checked, depth is bounded, and anything malformed raises one :class:`LoadError` that
names the file and what is wrong.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..float8 import is_float8
from ..size import Size
from .source import LoadError, Source

__all__ = ["MAX_DEPTH", "NotStorable", "decode", "encode"]

MAX_DEPTH = 200
_MARKERS = ("__tensor__", "__items__", "__tuple__", "__scalar__")
_SCALAR_DTYPES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)
# the containers stored as JSON; cr.Size is kept as a tuple, an OrderedDict as a dict (in
# order), which is what they are to a state dict
_CONTAINERS = (dict, OrderedDict, list, tuple, Size)
_TIME = re.compile(r"^(datetime64|timedelta64)\[(Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as)\]$")


class NotStorable(TypeError):  # noqa: N818 - a TypeError by PyTorch-style contract
    """An object that the safetensors format cannot hold (``cr.save`` pickles it instead)."""


class Encoder:
    """Turns an object into a JSON-able tree plus a flat map of arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.version = 1

    def encode(self, obj: Any, path: str = "", depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError(
                f"cr.save: the object is nested more than {MAX_DEPTH} levels deep at {path!r}"
            )
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, float)) and not isinstance(obj, np.generic):
            return obj
        if isinstance(obj, (Tensor, np.ndarray)) or hasattr(obj, "__cuda_array_interface__"):
            return self._array(obj, path)
        if isinstance(obj, np.generic):
            return self._scalar(obj, path)
        if isinstance(obj, (dict, list, tuple)) and type(obj) not in _CONTAINERS:
            # a namedtuple, defaultdict or other subclass would load back as its plain base
            # type: cr.save pickles it instead, as torch.save does
            raise NotStorable(
                f"cr.save: cannot store a {type(obj).__name__} (a subclass of "
                f"{type(obj).__mro__[1].__name__}) at {path or '<root>'!r} in safetensors "
                "without losing its type"
            )
        if isinstance(obj, dict):
            return self._dict(obj, path, depth)
        if isinstance(obj, (list, tuple)):
            enc = [
                self.encode(v, f"{path}/{i}" if path else str(i), depth + 1)
                for i, v in enumerate(obj)
            ]
            return {"__tuple__": enc} if isinstance(obj, tuple) else enc
        raise NotStorable(
            f"cr.save: cannot store an object of type {type(obj).__name__} at "
            f"{path or '<root>'!r} in safetensors"
        )

    def _dict(self, obj: dict, path: str, depth: int) -> Any:
        if all(isinstance(k, str) and k not in _MARKERS for k in obj):
            return {
                k: self.encode(v, f"{path}/{k}" if path else k, depth + 1) for k, v in obj.items()
            }
        items = []
        for k, v in obj.items():
            if not (k is None or isinstance(k, (bool, int, float, str))) or isinstance(
                k, np.generic
            ):
                raise NotStorable(
                    f"cr.save: dict key {k!r} at {path or '<root>'!r} has type "
                    f"{type(k).__name__}; keys must be str, int, float, bool or "
                    "None"
                )
            items.append([k, self.encode(v, f"{path}/{k}" if path else str(k), depth + 1)])
        return {"__items__": items}

    def _array(self, obj: Any, path: str) -> dict:
        key = base = path or "tensor"
        n = 1
        while key in self.arrays:  # {"a/b": x} and {"a": {"b": y}} flatten alike
            key, n = f"{base}#{n}", n + 1
        is_tensor = isinstance(obj, Tensor)
        if is_tensor and type(obj) is not Tensor and obj.is_sparse:
            raise NotImplementedError(
                f"cr.save: sparse COO tensors cannot be saved (at {path or '<root>'!r}); "
                "save s.to_dense(), or s._indices() and s._values() and rebuild it with "
                "cr.sparse_coo_tensor"
            )
        arr = _to_numpy(obj._data if is_tensor else obj, path)
        node: dict[str, Any] = {"__tensor__": key, "kind": "tensor" if is_tensor else "ndarray"}
        if arr.dtype.kind == "c":
            arr = np.ascontiguousarray(np.stack([arr.real, arr.imag], axis=-1))
            node["complex"] = True
            self.version = 2
        elif arr.dtype.kind in "mM":
            node["dtype"] = str(arr.dtype)
            arr = arr.view(np.int64)
            self.version = 2
        self.arrays[key] = arr
        if is_tensor and obj.requires_grad:
            node["requires_grad"] = True
        return node

    def _scalar(self, obj: np.generic, path: str) -> dict:
        dtype = obj.dtype
        if dtype.kind in "mM":
            self.version = 2
            return {"__scalar__": int(obj.astype(np.int64)), "dtype": str(dtype)}
        if dtype.name not in _SCALAR_DTYPES:
            raise TypeError(
                f"cr.save: cannot store a NumPy {dtype} scalar at "
                f"{path or '<root>'!r}; supported: {', '.join(_SCALAR_DTYPES)}, "
                "datetime64, timedelta64 (convert long doubles with float(x))"
            )
        if dtype.kind == "c":
            return {"__scalar__": [float(obj.real), float(obj.imag)], "dtype": dtype.name}
        return {"__scalar__": obj.item(), "dtype": dtype.name}


def _to_numpy(arr: Any, path: str) -> np.ndarray:
    if not isinstance(arr, np.ndarray):  # CuPy and other backends
        get = getattr(arr, "get", None)
        arr = get() if get is not None else np.asarray(arr)
    if arr.dtype == object:
        raise TypeError(
            "cr.save: cannot store an array of Python objects (dtype=object) at "
            f"{path or '<root>'!r}; only numeric and bool arrays can be saved"
        )
    if arr.dtype.kind in "fc" and arr.dtype.itemsize > (8 if arr.dtype.kind == "f" else 16):
        raise TypeError(
            f"cr.save: cannot store a {arr.dtype} (long double) array at "
            f"{path or '<root>'!r}: its layout is platform-specific; convert it "
            "with .astype(np.float64) or np.complex128"
        )
    if arr.dtype.kind in "SUV" and arr.dtype.name != "bfloat16" and not is_float8(arr.dtype):
        raise TypeError(
            f"cr.save: cannot store an array of dtype {arr.dtype} at "
            f"{path or '<root>'!r}; only numeric and bool arrays can be saved"
        )
    return arr if arr.flags.c_contiguous else np.array(arr, order="C")  # keeps 0-d shape


class Decoder:
    """Rebuilds the saved object from its tree, checking every node."""

    def __init__(self, arrays: dict[str, np.ndarray], src: Source) -> None:
        self.arrays = arrays
        self.src = src

    def bad(self, what: str) -> LoadError:
        return self.src.error(f"has a corrupt chainrule structure: {what}")

    def decode(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise self.bad(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, list):
            return [self.decode(v, depth + 1) for v in node]
        if not isinstance(node, dict):
            return node
        if "__tensor__" in node:
            return self._tensor(node)
        if "__items__" in node:
            return self._items(node["__items__"], depth)
        if "__tuple__" in node:
            if not isinstance(node["__tuple__"], list):
                raise self.bad(f"__tuple__ holds {type(node['__tuple__']).__name__}, not a list")
            return tuple(self.decode(v, depth + 1) for v in node["__tuple__"])
        if "__scalar__" in node:
            return self._scalar(node.get("__scalar__"), node.get("dtype"))
        return {k: self.decode(v, depth + 1) for k, v in node.items()}

    def _items(self, items: Any, depth: int) -> dict:
        if not isinstance(items, list):
            raise self.bad(f"__items__ holds {type(items).__name__}, not a list of pairs")
        out = {}
        for pair in items:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise self.bad(f"__items__ entry {str(pair)[:60]} is not a [key, value] pair")
            key = pair[0]
            if not (key is None or isinstance(key, (bool, int, float, str))):
                raise self.bad(f"__items__ key {str(key)[:60]} is not a str, number, bool or null")
            out[key] = self.decode(pair[1], depth + 1)
        return out

    def _tensor(self, node: dict) -> Any:
        key = node["__tensor__"]
        if not isinstance(key, str) or key not in self.arrays:
            raise self.src.error(
                f"is corrupt: the structure refers to tensor {str(key)[:60]!r}, "
                "which is not in the file"
            )
        kind, grad = node.get("kind", "tensor"), node.get("requires_grad", False)
        if kind not in ("tensor", "ndarray") or not isinstance(grad, bool):
            raise self.bad(f"tensor {key!r} has kind {kind!r} / requires_grad {grad!r}")
        arr = self.arrays[key]
        if node.get("complex", False) is True:
            if arr.dtype not in (np.float32, np.float64) or arr.ndim < 1 or arr.shape[-1] != 2:
                raise self.bad(
                    f"complex tensor {key!r} is stored as {arr.dtype} "
                    f"{list(arr.shape)}, not as (..., 2) floats"
                )
            pair = arr
            arr = np.empty(
                pair.shape[:-1], np.complex64 if pair.dtype == np.float32 else np.complex128
            )
            arr.real, arr.imag = pair[..., 0], pair[..., 1]
        elif "dtype" in node:
            dtype = node["dtype"]
            if not isinstance(dtype, str) or not _TIME.match(dtype) or arr.dtype != np.int64:
                raise self.bad(f"tensor {key!r} has invalid dtype {str(dtype)[:40]!r}")
            arr = arr.view(np.dtype(dtype))
        if grad and arr.dtype.kind not in "fc":
            raise self.bad(f"tensor {key!r} of dtype {arr.dtype} cannot require grad")
        if kind == "ndarray":
            return arr
        return Tensor._make(arr, grad, None, 0)

    def _scalar(self, value: Any, dtype: Any) -> Any:
        if not isinstance(dtype, str):
            raise self.bad(f"scalar dtype {str(dtype)[:40]!r} is not a string")
        if _TIME.match(dtype):
            if not isinstance(value, int) or isinstance(value, bool):
                raise self.bad(f"{dtype} scalar holds {str(value)[:40]}, not an integer")
            if not -(2**63) <= value < 2**63:
                raise self.bad(f"{dtype} scalar {str(value)[:40]} is out of range")
            return np.int64(value).view(np.dtype(dtype))
        if dtype not in _SCALAR_DTYPES:
            raise self.bad(f"scalar dtype {dtype[:40]!r} is not one of {', '.join(_SCALAR_DTYPES)}")
        np_type = np.dtype(dtype).type
        if dtype.startswith("complex"):
            if not (
                isinstance(value, list)
                and len(value) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            ):
                raise self.bad(f"{dtype} scalar holds {str(value)[:40]}, not [real, imag]")
            return np_type(complex(value[0], value[1]))
        want = bool if dtype == "bool" else (int, float) if dtype.startswith("float") else int
        if not isinstance(value, want) or (dtype != "bool" and isinstance(value, bool)):
            raise self.bad(f"{dtype} scalar holds {str(value)[:40]}")
        if dtype.startswith(("int", "uint")):
            info = np.iinfo(np_type)
            if not info.min <= value <= info.max:
                raise self.bad(f"{dtype} scalar {str(value)[:40]} is out of range")
        return np_type(value)


def encode(obj: Any) -> tuple[Any, dict[str, np.ndarray], int]:
    """(tree, arrays, format version) for ``obj``; raises :class:`NotStorable`."""
    enc = Encoder()
    tree = enc.encode(obj)
    return tree, enc.arrays, enc.version


def decode(tree: Any, arrays: dict[str, np.ndarray], src: Source) -> Any:
    """Rebuild the object from a tree read from ``src`` (see :class:`Decoder`)."""
    return Decoder(arrays, src).decode(tree)
