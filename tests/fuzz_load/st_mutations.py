"""Mutations of safetensors files: the header length, each tensor's dtype / shape /
data_offsets, the header's JSON itself, and chainrule's structure tree in ``__metadata__``.
"""

from __future__ import annotations

import json

import numpy as np

__all__ = ["ST_MUTATIONS", "split"]

_DTYPES = ["F32", "F64", "F16", "BF16", "I64", "U8", "BOOL", "C64", "C128", "F8_E4M3", "I4"]
_DTYPES_BAD = ["", "f32", "X", None, 5, ["F32"], {"a": 1}, "F32 "]
_SHAPES = [[], [0], [-1], [2**62], [2**31, 2**31], [2**64], [1.5], "3", [True], [1] * 65]
_SHAPES += [[[2]], None, [2**63 - 1, 0], [3, -3]]
_SCALAR_DTYPES = ["V1", "V100000", "object", "U10", "S5", "datetime64[ns]", "float128", "O", "?"]


def split(data: bytes) -> tuple[dict, bytes] | None:
    """``(header, data section)`` of a valid-enough safetensors file."""
    if len(data) < 8:
        return None
    n = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8 : 8 + n])
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return (header, data[8 + n :]) if isinstance(header, dict) else None


def join(header: object, body: bytes, pad: bool = True) -> bytes:
    raw = json.dumps(header).encode()
    if pad:
        raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + body


def header_length(rng: np.random.Generator, data: bytes) -> tuple[bytes, str]:
    n = int.from_bytes(data[:8], "little")
    v = int(
        rng.choice([0, 1, 2, n - 1, n + 1, n + 8, len(data) - 8, len(data) - 7, 2**63, 2**64 - 1])
    )
    v &= 2**64 - 1
    return v.to_bytes(8, "little") + data[8:], f"header length {n} -> {v}"


def _tensors(header: dict) -> list[str]:
    return [k for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)]


def tensor_field(rng: np.random.Generator, data: bytes) -> tuple[bytes, str] | None:
    parts = split(data)
    if parts is None or not _tensors(parts[0]):
        return None
    header, body = parts
    names = _tensors(header)
    name = names[int(rng.integers(len(names)))]
    info = header[name]
    field = str(rng.choice(["dtype", "shape", "data_offsets", "data_offsets", "drop", "extra"]))
    if field == "dtype":
        pool = _DTYPES + _DTYPES_BAD
        info["dtype"] = pool[int(rng.integers(len(pool)))]
    elif field == "shape":
        info["shape"] = _SHAPES[int(rng.integers(len(_SHAPES)))]
    elif field == "data_offsets":
        b, e = info.get("data_offsets", [0, 0])
        other = header[names[int(rng.integers(len(names)))]].get("data_offsets", [0, 0])
        size = len(body)
        picks = [
            [b, e + 1],
            [e, b],
            [-1, e],
            [0, 2**64],
            [b + 1, e + 1],
            other,
            [b, size + 1],
            [size, size],
            [1.0, 2.0],
            [b],
            None,
            [2**63, 2**63 + (e - b)],
            [b - 2**64, e - 2**64],
        ]
        info["data_offsets"] = picks[int(rng.integers(len(picks)))]
    elif field == "drop":
        if info:
            del info[str(rng.choice(list(info)))]
    else:
        info[str(rng.choice(["extra", "dtype "]))] = "F32"
    return join(header, body), f"tensor {name!r} {field} -> {info.get(field, '-')!r}"


def header_json(rng: np.random.Generator, data: bytes) -> tuple[bytes, str] | None:
    parts = split(data)
    if parts is None:
        return None
    header, body = parts
    n = int.from_bytes(data[:8], "little")
    raw = data[8 : 8 + n]
    op = str(rng.choice(["meta", "del", "dupkey", "bytes", "notobj", "nopad", "deep", "nul"]))
    if op == "meta":
        header["__metadata__"] = [None, [1], {"k": 1}, "s", {"k": None}][int(rng.integers(5))]
    elif op == "del":
        names = _tensors(header)
        if names:
            del header[names[int(rng.integers(len(names)))]]
    elif op == "dupkey":  # a JSON object with one key twice: the last one wins in Python
        names = _tensors(header) or ["x"]
        k = json.dumps(names[0]).encode()
        text = raw.rstrip()[:-1] + b"," + k + b':{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
        return len(text).to_bytes(8, "little") + text + body, "duplicate key"
    elif op == "bytes":
        i = int(rng.integers(len(raw))) if raw else 0
        text = (
            raw[:i] + bytes([int(rng.choice([0x80, 0xFF, 0xC3, 0xED, 0x00, 0x22]))]) + raw[i + 1 :]
        )
        return data[:8] + text + body, f"header byte {i}"
    elif op == "notobj":
        return join([header], body), "header is a list"
    elif op == "nopad":
        return join(header, body, pad=False), "unpadded header"
    elif op == "deep":
        text = b'{"a":' + b"[" * 50_000 + b"]" * 50_000 + b"}"
        return len(text).to_bytes(8, "little") + text + body, "deep header"
    else:
        text = raw.rstrip() + b"\x00" * 7
        return len(text).to_bytes(8, "little") + text + body, "NUL padding"
    return join(header, body), f"header {op}"


def _nodes(tree: object, out: list) -> list:
    out.append(tree)
    if isinstance(tree, dict):
        for v in tree.values():
            _nodes(v, out)
    elif isinstance(tree, list):
        for v in tree:
            _nodes(v, out)
    return out


def chainrule_tree(rng: np.random.Generator, data: bytes) -> tuple[bytes, str] | None:
    parts = split(data)
    if parts is None:
        return None
    header, body = parts
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or not isinstance(meta.get("chainrule"), str):
        return None
    info = json.loads(meta["chainrule"])
    op = str(rng.choice(["version", "format", "node", "node", "node", "notree"]))
    if op == "version":
        info["version"] = [0, 3, "2", True, 1.5, None, 2**70][int(rng.integers(7))]
    elif op == "format":
        info["format"] = "torch"
    elif op == "notree":
        del info["tree"]
    else:
        nodes = [n for n in _nodes(info.get("tree"), []) if isinstance(n, dict)]
        if not nodes:
            return None
        node = nodes[int(rng.integers(len(nodes)))]
        key = str(
            rng.choice(
                ["__tensor__", "kind", "__scalar__", "dtype", "__items__", "__tuple__", "complex"]
            )
        )
        values = [
            "missing",
            "ndarray",
            "parameter",
            2**80,
            -1,
            1e308,
            [[1, 2, 3]],
            [[1]],
            {"a": 1},
            True,
            None,
            "x" * 1000,
        ]
        values += _SCALAR_DTYPES
        node[key] = values[int(rng.integers(len(values)))]
        op = f"node {key} -> {str(node[key])[:30]!r}"
    meta["chainrule"] = json.dumps(info)
    return join(header, body), f"chainrule tree {op}"


def truncate_boundary(rng: np.random.Generator, data: bytes) -> tuple[bytes, str]:
    cuts = {0, 4, 7, 8, len(data)}
    n = int.from_bytes(data[:8], "little") if len(data) >= 8 else 0
    cuts |= {8 + n - 1, 8 + n, 8 + n + 1}
    parts = split(data)
    if parts is not None:
        for info in parts[0].values():
            offs = info.get("data_offsets") if isinstance(info, dict) else None
            if isinstance(offs, list):
                cuts |= {8 + n + int(o) for o in offs if isinstance(o, int)}
    cuts_l = sorted(c for c in cuts if 0 <= c <= len(data))
    cut = cuts_l[int(rng.integers(len(cuts_l)))]
    return data[:cut], f"truncate at boundary {cut}/{len(data)}"


ST_MUTATIONS = {
    "st_length": header_length,
    "st_tensor": tensor_field,
    "st_tensor2": tensor_field,
    "st_json": header_json,
    "st_tree": chainrule_tree,
    "st_truncate": truncate_boundary,
}
