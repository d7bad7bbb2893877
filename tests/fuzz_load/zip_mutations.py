"""Mutations of zip checkpoint archives: header fields, structural truncation, entries.

The archive is parsed just enough (by signature) to know where each record and field is:
local file headers, central directory entries, the end-of-central-directory record and its
ZIP64 counterparts. Entry-level mutations rebuild the archive with :mod:`zipfile`.
"""

from __future__ import annotations

import io
import struct
import warnings
import zipfile

import numpy as np

__all__ = ["ZIP_MUTATIONS", "boundaries", "fields", "read_entries", "rebuild"]

# signature -> (record name, {field: (offset, width)})
_RECORDS = {
    b"PK\x03\x04": (
        "local",
        {
            "flags": (6, 2),
            "method": (8, 2),
            "crc": (14, 4),
            "csize": (18, 4),
            "usize": (22, 4),
            "name_len": (26, 2),
            "extra_len": (28, 2),
        },
    ),
    b"PK\x01\x02": (
        "central",
        {
            "flags": (8, 2),
            "method": (10, 2),
            "crc": (16, 4),
            "csize": (20, 4),
            "usize": (24, 4),
            "name_len": (28, 2),
            "extra_len": (30, 2),
            "comment_len": (32, 2),
            "disk": (34, 2),
            "offset": (42, 4),
        },
    ),
    b"PK\x05\x06": (
        "eocd",
        {
            "disk": (4, 2),
            "cd_disk": (6, 2),
            "n_disk": (8, 2),
            "n_total": (10, 2),
            "cd_size": (12, 4),
            "cd_offset": (16, 4),
            "comment_len": (20, 2),
        },
    ),
    b"PK\x06\x06": (
        "eocd64",
        {
            "size": (4, 8),
            "n_disk": (24, 8),
            "n_total": (32, 8),
            "cd_size": (40, 8),
            "cd_offset": (48, 8),
        },
    ),
    b"PK\x06\x07": ("locator64", {"disk": (4, 4), "eocd64_offset": (8, 8), "n_disks": (16, 4)}),
}


def _records(data: bytes) -> list[tuple[int, bytes]]:
    found = []
    for sig in _RECORDS:
        start = 0
        while (i := data.find(sig, start)) >= 0:
            found.append((i, sig))
            start = i + 1
    return sorted(found)


def fields(data: bytes) -> list[tuple[str, int, int]]:
    """Every length/offset field of the archive: ``(label, offset, width)``."""
    out = []
    for pos, sig in _records(data):
        rec, table = _RECORDS[sig]
        for field, (off, width) in table.items():
            if pos + off + width <= len(data):
                out.append((f"{rec}@{pos}.{field}", pos + off, width))
    return out


def boundaries(data: bytes) -> list[int]:
    """Offsets where a structure starts or ends (records, names, extra fields, data)."""
    cuts = {0, len(data)}
    for pos, sig in _records(data):
        cuts.add(pos)
        rec, table = _RECORDS[sig]
        for off, width in table.values():
            cuts.add(pos + off)
            cuts.add(pos + off + width)
        if rec == "local" and pos + 30 <= len(data):
            n, e = struct.unpack_from("<HH", data, pos + 26)
            csize = struct.unpack_from("<I", data, pos + 18)[0]
            cuts.update({pos + 30, pos + 30 + n, pos + 30 + n + e, pos + 30 + n + e + csize})
        elif rec == "central" and pos + 46 <= len(data):
            n, e, c = struct.unpack_from("<HHH", data, pos + 28)
            cuts.update({pos + 46, pos + 46 + n, pos + 46 + n + e, pos + 46 + n + e + c})
    return sorted(c for c in cuts if 0 <= c <= len(data))


def _interesting(value: int, width: int, rng: np.random.Generator) -> int:
    top = (1 << (8 * width)) - 1
    picks = [0, 1, top, top - 1, top // 2, top // 2 + 1, value + 1, value - 1, value * 2]
    picks += [value + 8, value - 8, int(rng.integers(0, top, endpoint=True))]
    return int(picks[rng.integers(len(picks))]) & top


def mutate_field(rng: np.random.Generator, data: bytes) -> tuple[bytes, str] | None:
    table = fields(data)
    if not table:
        return None
    label, off, width = table[rng.integers(len(table))]
    old = int.from_bytes(data[off : off + width], "little")
    new = _interesting(old, width, rng)
    out = data[:off] + new.to_bytes(width, "little") + data[off + width :]
    return out, f"field {label} {old} -> {new}"


def truncate_boundary(rng: np.random.Generator, data: bytes) -> tuple[bytes, str]:
    cut = boundaries(data)[rng.integers(len(boundaries(data)))]
    cut = max(0, cut + int(rng.choice([-1, 0, 0, 1])))
    return data[:cut], f"truncate at boundary {cut}/{len(data)}"


def read_entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def rebuild(entries: list[tuple[str, bytes]], deflate: frozenset = frozenset()) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are a mutation
        with zipfile.ZipFile(buf, "w") as zf:
            for name, raw in entries:
                method = zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED
                zf.writestr(zipfile.ZipInfo(name), raw, compress_type=method)
    return buf.getvalue()


def _pick(rng: np.random.Generator, entries: list) -> int:
    return int(rng.integers(len(entries)))


def entry_op(rng: np.random.Generator, data: bytes) -> tuple[bytes, str] | None:
    """Rename, duplicate, delete, resize or compress one entry; or add a hostile one."""
    try:
        entries = read_entries(data)
    except Exception:  # noqa: BLE001 - an earlier edit broke the archive
        return None
    if not entries:
        return None
    prefix = entries[0][0].split("/")[0]
    i = _pick(rng, entries)
    name, raw = entries[i]
    op = str(rng.choice(["rename", "duplicate", "delete", "resize", "deflate", "add", "swap"]))
    if op == "rename":
        new = str(
            rng.choice(
                [
                    name + "x",
                    name.upper(),
                    f"{prefix}/data/{rng.integers(0, 9)}",
                    f"{prefix}/data.pkl",
                    f"other/{name.split('/', 1)[-1]}",
                    "data.pkl",
                    f"{prefix}/../data.pkl",
                    f"{prefix}/data/0/1",
                ]
            )
        )
        entries[i] = (new, raw)
    elif op == "duplicate":
        other = bytes(rng.integers(0, 256, len(raw), dtype=np.uint8)) if rng.random() < 0.5 else raw
        entries.insert(int(rng.integers(len(entries) + 1)), (name, other))
    elif op == "delete":
        del entries[i]
    elif op == "resize":
        k = int(rng.integers(1, 9))
        raw = raw[:-k] if rng.random() < 0.5 else raw + bytes(k)
        entries[i] = (name, raw)
    elif op == "deflate":
        return rebuild(entries, frozenset({name})), f"deflate entry {name}"
    elif op == "add":
        extra = {
            f"{prefix}/byteorder": [b"big", b"middle", b"x" * 100, b"\xff\xfe", b""],
            f"{prefix}/version": [b"99", b"-1", b"x"],
            f"{prefix}/.format_version": [b"1", b"9" * 30],
            f"{prefix}/data.pkl": [b"\x80\x02}q\x00.", b"", b"\x80"],
            f"{prefix}/.data/serialization_id": [b"\x00" * 40],
            f"{prefix}/.data/chainrule.json": [
                b"[1]",
                b"7",
                b"null",
                b'{"format": "chainrule", "version": 1, "kinds": {"0": "scalar"}}',
                b'{"format": "chainrule", "version": 1, "kinds": {"0": "ndarray", "9": 1}}',
                b'{"format": "chainrule", "version": 9, "kinds": {}}',
                b"\xff{}",
            ],
        }
        new = str(rng.choice(list(extra)))
        entries = [(n, r) for n, r in entries if n != new or rng.random() < 0.3]
        entries.append((new, extra[new][rng.integers(len(extra[new]))]))
        op = f"add {new}"
    else:  # swap the contents of two entries
        j = _pick(rng, entries)
        entries[i], entries[j] = (name, entries[j][1]), (entries[j][0], raw)
        op = f"swap with {entries[j][0]}"
    return rebuild(entries), f"entry {op} {name}"


ZIP_MUTATIONS = {
    "zip_field": mutate_field,
    "zip_truncate": truncate_boundary,
    "zip_entry": entry_op,
}
