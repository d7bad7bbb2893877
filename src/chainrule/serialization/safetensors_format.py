"""The safetensors file format, read and written with every length checked.

Layout: an 8-byte little-endian header length ``n``, ``n`` bytes of JSON
``{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__":
{str: str}}``, then the raw little-endian tensor bytes (offsets relative to the end of the
header). Any safetensors reader opens what :func:`write` produces.

Why our own reader: the header is untrusted. Every claim in it (header length, shapes,
offsets, dtypes) is checked against the file's real size before one array byte is
allocated, so a 248-byte file cannot ask for gigabytes, and ``bfloat16`` works through
``ml_dtypes`` when it is installed. With ``cr.load(..., mmap=True)`` the tensors are laid
over a memory map of the file instead of being read (see :meth:`.Source.mapped`).
"""

from __future__ import annotations

import json
import math
from typing import Any, BinaryIO

import numpy as np

from ..float8 import float8_dtype, is_float8
from .mmap_options import is_shared
from .source import Source

__all__ = ["MAX_HEADER_BYTES", "read", "write"]

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors library's own limit
_MAX_NDIM = 64

_DTYPES = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "U16": "uint16",
    "I16": "int16",
    "F16": "float16",
    "U32": "uint32",
    "I32": "int32",
    "F32": "float32",
    "U64": "uint64",
    "I64": "int64",
    "F64": "float64",
    "C64": "complex64",
}
_CODES = {np.dtype(v).str: k for k, v in _DTYPES.items()}
# the safetensors library's float8 codes (ml_dtypes' dtypes, imported on first use)
_FLOAT8 = {
    "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2",
    "F8_E4M3FNUZ": "float8_e4m3fnuz",
    "F8_E5M2FNUZ": "float8_e5m2fnuz",
    "F8_E8M0": "float8_e8m0fnu",
}
_FLOAT8_CODES = {v: k for k, v in _FLOAT8.items()}


def _bfloat16() -> Any:
    try:
        import ml_dtypes
    except ImportError:
        return None
    return np.dtype(ml_dtypes.bfloat16)


def numpy_dtype(code: Any, src: Source, name: str) -> np.dtype:
    """The NumPy dtype for a safetensors dtype code, or a clear error."""
    if code == "BF16":
        bf16 = _bfloat16()
        if bf16 is None:
            raise src.error(
                f"stores tensor {name!r} as bfloat16, which NumPy cannot hold; "
                "pip install ml-dtypes to load it"
            )
        return bf16
    if isinstance(code, str) and code in _FLOAT8:
        return float8_dtype(_FLOAT8[code])
    if not isinstance(code, str) or code not in _DTYPES:
        raise src.error(
            f"has tensor {name!r} with unsupported dtype {code!r}; supported: "
            f"{', '.join(sorted(_DTYPES))}, BF16, {', '.join(sorted(_FLOAT8))}"
        )
    return np.dtype(_DTYPES[code]).newbyteorder("<")


def dtype_code(dtype: np.dtype) -> str:
    """The safetensors code for a NumPy dtype (``TypeError`` if it has none)."""
    bf16 = _bfloat16()
    if bf16 is not None and dtype == bf16:
        return "BF16"
    if is_float8(dtype):
        return _FLOAT8_CODES[dtype.name]
    code = _CODES.get(dtype.newbyteorder("<").str if dtype.byteorder == ">" else dtype.str)
    if code is None:
        raise TypeError(f"cr.save: arrays of dtype {dtype} cannot be stored in safetensors")
    return code


def _shape(value: Any, src: Source, name: str) -> tuple[int, ...]:
    ok = (
        isinstance(value, list)
        and len(value) <= _MAX_NDIM
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value)
    )
    if not ok:
        raise src.error(
            f"has tensor {name!r} with invalid shape {value!r}; expected a list of "
            f"at most {_MAX_NDIM} non-negative integers"
        )
    return tuple(value)


def _offsets(value: Any, src: Source, name: str, data_size: int) -> tuple[int, int]:
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )
    if not ok:
        raise src.error(f"has tensor {name!r} with invalid data_offsets {value!r}")
    begin, end = value
    if not 0 <= begin <= end <= data_size:
        raise src.error(
            f"has tensor {name!r} at bytes [{begin}, {end}) but its data section "
            f"holds only {data_size} bytes; the file is truncated or corrupt"
        )
    return begin, end


def read_header(src: Source) -> tuple[dict, int]:
    """The parsed JSON header and the offset of the data section, all lengths checked."""
    if src.size < 8:
        raise src.error(f"is not a chainrule/safetensors file (only {src.size} bytes)")
    n = int.from_bytes(src.read(0, 8), "little")
    if n < 2 or 8 + n > src.size or n > MAX_HEADER_BYTES:
        raise src.error(
            f"is not a valid safetensors file: its header length {n} does not fit "
            f"in its {src.size} bytes; the file is truncated or corrupt"
        )
    raw = src.read(8, n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise src.error("has a header nested too deeply to be a safetensors header") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise src.error(f"is corrupt or not a safetensors file: bad JSON header ({exc})") from None
    if not isinstance(header, dict):
        raise src.error("is not a safetensors file: its header is not a JSON object")
    meta = header.get("__metadata__", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise src.error("has an invalid __metadata__ entry (must map strings to strings)")
    return header, 8 + n


def read(src: Source) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All tensors of a safetensors file and its metadata: fresh, writable arrays, or with
    ``cr.load(..., mmap=True)`` (``src.mmap_flags``) windows of a memory map of the file."""
    header, data_start = read_header(src)
    data_size = src.size - data_start
    specs = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict):
            raise src.error(f"has an invalid entry for tensor {name!r}: {info!r}")
        dtype = numpy_dtype(info.get("dtype"), src, name)
        shape = _shape(info.get("shape"), src, name)
        begin, end = _offsets(info.get("data_offsets"), src, name, data_size)
        need = math.prod(shape) * dtype.itemsize
        if need != end - begin:
            raise src.error(
                f"has tensor {name!r} of shape {list(shape)} and dtype {dtype} "
                f"({need} bytes) stored in {end - begin} bytes; the file is corrupt"
            )
        specs.append((name, dtype, shape, begin))
    _check_coverage(src, header, data_size)
    arrays = {}
    for name, dtype, shape, begin in specs:  # every size is now bounded by the file's size
        if src.mmap_flags is not None:
            arrays[name] = _mapped(src, name, dtype, shape, data_start + begin)
            continue
        arr = np.empty(shape, dtype)
        src.read_into(data_start + begin, arr)
        arrays[name] = arr.astype(arr.dtype.newbyteorder("="), copy=False)
    return arrays, dict(header.get("__metadata__") or {})


def _check_coverage(src: Source, header: dict, data_size: int) -> None:
    """The tensors' byte ranges must tile the data section exactly, as the safetensors
    library requires: no two overlap, no gap lies between them and none is left at the end.
    A header length that is off by a few bytes (its JSON still parsing) would otherwise shift
    every tensor onto its neighbour's bytes and load garbage without an error."""
    ranges = sorted(
        (tuple(info["data_offsets"]), name)
        for name, info in header.items()
        if name != "__metadata__"
    )
    end = 0
    for (begin, stop), name in ranges:
        if begin != end:
            what = "overlaps the tensor before it" if begin < end else "leaves a gap before it"
            raise src.error(
                f"has tensor {name!r} at bytes [{begin}, {stop}), which {what} (that one "
                f"ends at byte {end}); the file is corrupt"
            )
        end = stop
    if end != data_size:
        raise src.error(
            f"is corrupt: its tensors cover {end} of the {data_size} bytes after its header "
            "(a wrong header length, or bytes appended to the file)"
        )


def _mapped(src: Source, name: str, dtype: np.dtype, shape: tuple, offset: int) -> np.ndarray:
    """Tensor ``name`` laid over the file's memory map (``mmap=True``). Its little-endian
    bytes are used as they are on a little-endian machine; elsewhere they are converted
    into memory under MAP_PRIVATE and refused under MAP_SHARED, whose writes must reach
    the file."""
    arr = src.mapped(offset, dtype, math.prod(shape)).reshape(shape)
    if arr.dtype.isnative:
        return arr
    if is_shared(src.mmap_flags):
        raise NotImplementedError(
            f"cr.load: mmap=True with mmap.MAP_SHARED: tensor {name!r} of {src.where} is "
            "little-endian, which this machine cannot use in place; load it with "
            "mmap.MAP_PRIVATE (the default) or without mmap"
        )
    return arr.astype(arr.dtype.newbyteorder("="))


def write(fh: BinaryIO, arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write ``arrays`` (C-contiguous) and ``metadata`` as a safetensors file to ``fh``.

    Tensors are laid out by decreasing item size so that each starts aligned to its item
    size (the header is padded to a multiple of 8 bytes), as the safetensors library does.
    """
    order = sorted(arrays, key=lambda k: -arrays[k].dtype.itemsize)
    header: dict[str, Any] = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for key in order:
        arr = arrays[key]
        header[key] = {
            "dtype": dtype_code(arr.dtype),
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + arr.nbytes],
        }
        offset += arr.nbytes
    raw = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    fh.write(len(raw).to_bytes(8, "little"))
    fh.write(raw)
    for key in order:
        arr = arrays[key]
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        if arr.nbytes:
            fh.write(memoryview(np.ascontiguousarray(arr).reshape(-1).view(np.uint8)))
