"""Mutations of the ``data.pkl`` pickle inside a checkpoint archive.

The pickle is split into opcodes with :func:`pickletools.genops` and edited one opcode at a
time: integers (sizes, strides, offsets, numels) and strings (storage keys, dtypes,
locations) replaced by hostile values, opcodes deleted, duplicated, swapped or corrupted,
opcodes with huge lengths inserted, and code execution injected (``GLOBAL os.system`` +
``REDUCE`` and friends, which must never run: each payload touches ``marker``).
"""

from __future__ import annotations

import io
import pickletools
import struct

import numpy as np

from .zip_mutations import read_entries, rebuild

__all__ = ["PICKLE_MUTATIONS", "mutate_archive_pickle", "payloads"]

_INTS = [
    -1,
    0,
    0,
    1,
    2,
    7,
    2**20,
    2**24,
    2**31 - 1,
    2**31,
    2**32,
    2**40,
    2**62,
    2**63,
    -(2**63),
    10**30,
]
_STRS = ["", "cpu", "cuda:0", "cuda:99", "meta", "0", "1", "99", "../0", "data/0", "x" * 300]
_STRS += ["FloatStorage", "BFloat16Storage", "float8_e4m3fn", "__class__", "\udcff", "\x00"]


def ops(data: bytes) -> list[tuple[str, object, int, int]]:
    """``(opcode name, arg, start, end)`` of every opcode (as far as the pickle parses)."""
    out: list = []
    try:
        for op, arg, pos in pickletools.genops(io.BytesIO(data)):
            if out:
                out[-1][3] = pos
            out.append([op.name, arg, pos, len(data)])
            if op.name == "STOP":
                out[-1][3] = pos + 1
    except Exception:  # noqa: BLE001 - a corrupt pickle: keep what parsed
        pass
    return [tuple(o) for o in out]  # type: ignore[misc]


def strip_frames(data: bytes) -> bytes:
    """The pickle without FRAME opcodes (optional in protocol 4), so edits keep it valid."""
    parts, last = [], 0
    for name, _, start, end in ops(data):
        if name == "FRAME":
            parts.append(data[last:start])
            last = end
    return b"".join(parts) + data[last:]


def encode_int(v: int) -> bytes:
    if -(2**31) <= v < 2**31:
        return b"J" + struct.pack("<i", v)
    raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def encode_str(s: str) -> bytes:
    raw = s.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(raw)) + raw


def payloads(marker: str) -> list[bytes]:
    """Pickle fragments that leave nothing on the stack and touch ``marker`` if run."""
    cmd = f"touch {marker}".encode()
    code = f"open({marker!r}, 'w').close()".encode()
    return [
        b"cos\nsystem\n(V" + cmd + b"\ntR0",
        b"cposix\nsystem\n(V" + cmd + b"\ntR0",
        b"cbuiltins\nexec\n(V" + code + b"\ntR0",
        b"c__builtin__\neval\n(V" + code + b"\ntR0",
        b"\x8c\x02os\x8c\x06system\x93(V" + cmd + b"\ntR0",
        b"csubprocess\ncall\n((Vtouch\nV" + marker.encode() + b"\nltR0",
        b"cbuiltins\ngetattr\n(cbuiltins\n__import__\n(Vos\ntRVsystem\ntR(V" + cmd + b"\ntR0",
        b"ccollections\nOrderedDict\n)R}V__setstate__\ncos\nsystem\nsbV" + cmd + b"\nb0",
        b"\x82\x01",  # EXT1: the copyreg extension registry
    ]


def _huge(rng: np.random.Generator) -> bytes:
    n = int(rng.choice([2**31 - 1, 2**32 - 1, 2**40, 2**63 - 1, 2**64 - 1]))
    return bytes(
        rng.choice(
            [
                b"\x8e" + (n & (2**64 - 1)).to_bytes(8, "little"),  # BINBYTES8
                b"\x8d" + (n & (2**64 - 1)).to_bytes(8, "little"),  # BINUNICODE8
                b"\x96" + (n & (2**64 - 1)).to_bytes(8, "little"),  # BYTEARRAY8
                b"\x95" + (n & (2**64 - 1)).to_bytes(8, "little"),  # FRAME
                b"B" + (n & (2**32 - 1)).to_bytes(4, "little"),  # BINBYTES
                b"T" + (n & (2**31 - 1)).to_bytes(4, "little"),  # BINSTRING
                b"\x8b" + (n & (2**31 - 1)).to_bytes(4, "little"),  # LONG4
                b"r" + (n & (2**32 - 1)).to_bytes(4, "little"),  # LONG_BINPUT
                b"j" + (n & (2**32 - 1)).to_bytes(4, "little"),  # LONG_BINGET
                b"I" + str(n).encode() + b"\n",  # INT
            ]
        )
    )


def _memos(table: list) -> tuple[list[int], list[int]]:
    """Memo indices of globals (a rebuild function first) and of the arguments of REDUCEs."""
    glob, args, count, prev = [], [], 0, None
    for name, arg, _, _ in table:
        if name in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"):
            index = count if name == "MEMOIZE" else int(arg)  # type: ignore[arg-type]
            count += 1
            if prev is not None and prev[0] in ("GLOBAL", "STACK_GLOBAL"):
                rebuild = "rebuild" in str(prev[1])
                if rebuild:
                    glob.insert(0, index)
                else:
                    glob.append(index)
            last_put = index
        elif (
            name == "REDUCE"
            and prev is not None
            and prev[0] in ("BINPUT", "LONG_BINPUT", "MEMOIZE")
        ):
            args.append(last_put)
        prev = (name, arg)
    return glob, args


_CODES = {op.name: op for op in pickletools.opcodes}


def reduce_subtrees(table: list) -> list[tuple[int, int]]:
    """``(start, end)`` byte ranges of the opcodes that build each REDUCE's result from
    nothing below it on the stack (a callable and its arguments), by simulating the stack."""
    stack: list[int] = []  # for each item, the index of the opcode its building began at
    marks: list[tuple[int, int]] = []  # (stack length, opcode index) of each MARK
    found = []
    for k, (name, _, _, _) in enumerate(table):
        code = _CODES[name]
        before = code.stack_before
        if name == "MARK":
            marks.append((len(stack), k))
            continue
        if pickletools.markobject in before:
            if not marks:
                return found
            depth, first = marks.pop()
            del stack[depth:]
            popped = [first]
            n_rest = len(before) - 2  # items below the mark (e.g. the list of APPENDS)
        else:
            popped, n_rest = [], len(before)
        if n_rest > len(stack):
            return found
        popped += stack[len(stack) - n_rest :] if n_rest else []
        del stack[len(stack) - n_rest :]
        start = min(popped, default=k)
        stack += [start] * len(code.stack_after)
        if name == "REDUCE" and stack:
            found.append((table[stack[-1]][2], table[k][3]))
    return found


def amplify(rng: np.random.Generator, data: bytes) -> tuple[bytes, str]:
    """Rebuild one tensor (any REDUCE) many times over, as a hostile pickle would to turn one
    small storage into many copies: by calling a memoized rebuild function on memoized
    arguments, or by repeating the opcodes that build it."""
    table = ops(data)
    if not table or table[-1][0] != "STOP":
        return data, "amplify: no STOP"
    glob, args = _memos(table)
    n = int(rng.choice([10, 300, 3000]))
    stop = table[-1][2]
    if glob and args and rng.random() < 0.5:
        g = glob[0] if rng.random() < 0.7 else glob[int(rng.integers(len(glob)))]
        t = args[int(rng.integers(len(args)))]
        call = b"j" + g.to_bytes(4, "little") + b"j" + t.to_bytes(4, "little") + b"R"
        how = f"amplify memo {g}({t}) x{n}"
    else:
        trees = reduce_subtrees(table)
        if not trees:
            return data, "amplify: no REDUCE"
        a, b = trees[int(rng.integers(len(trees)))]
        call = data[a:b]
        how = f"amplify ops [{a}, {b}) x{n}"
    return data[:stop] + b"(" + call * n + b"l." + data[stop + 1 :], how


def mutate_pickle(rng: np.random.Generator, data: bytes, marker: str) -> tuple[bytes, str]:
    if rng.random() < 0.8:
        data = strip_frames(data)
    table = ops(data)
    kind = str(
        rng.choice(
            ["inject", "int", "int", "str", "str", "delete", "dup", "swap", "byte", "cut", "huge"]
            + ["amplify"]
        )
    )
    if kind == "amplify":
        return amplify(rng, data)
    if kind == "inject" or not table:
        p = payloads(marker)
        k = int(rng.integers(len(p)))
        at = 2 if data[:1] == b"\x80" else 0
        if table and rng.random() < 0.5:  # anywhere between two opcodes
            at = table[int(rng.integers(len(table)))][2]
        return data[:at] + p[k] + data[at:], f"inject payload {k} at {at}"
    kinds = {
        "int": [o for o in table if isinstance(o[1], int) and o[0] not in ("PROTO", "FRAME")],
        "str": [o for o in table if isinstance(o[1], str)],
    }
    if kind in kinds and not kinds[kind]:
        kind = "byte"
    if kind == "int":
        name, arg, start, end = kinds["int"][int(rng.integers(len(kinds["int"])))]
        v = int(rng.choice(_INTS)) if rng.random() < 0.7 else int(arg) + int(rng.integers(-3, 4))
        if name.endswith("GET") or name.endswith("PUT"):
            v = abs(v) % 2**32
            new = (
                b"j" + v.to_bytes(4, "little")
                if name.endswith("GET")
                else b"r" + v.to_bytes(4, "little")
            )
        else:
            new = encode_int(v)
        return data[:start] + new + data[end:], f"int op {name}@{start} {arg} -> {v}"
    if kind == "str":
        name, arg, start, end = kinds["str"][int(rng.integers(len(kinds["str"])))]
        s = str(rng.choice(_STRS))
        return data[:start] + encode_str(s) + data[end:], f"str op {name}@{start} {arg!r} -> {s!r}"
    name, arg, start, end = table[int(rng.integers(len(table)))]
    if kind == "delete":
        return data[:start] + data[end:], f"delete op {name}@{start}"
    if kind == "dup":
        return data[:end] + data[start:end] + data[end:], f"duplicate op {name}@{start}"
    if kind == "swap":
        j = int(rng.integers(len(table)))
        _, _, s2, e2 = table[j]
        if s2 < start:
            start, end, s2, e2 = s2, e2, start, end
        if s2 < end:
            return data[:start] + data[end:], f"delete op {name}@{start}"
        out = data[:start] + data[s2:e2] + data[end:s2] + data[start:end] + data[e2:]
        return out, f"swap ops @{start} and @{s2}"
    if kind == "byte":
        b = int(rng.integers(0, 256))
        return data[:start] + bytes([b]) + data[start + 1 :], f"opcode {name}@{start} -> {b:#x}"
    if kind == "cut":
        return data[:start], f"cut pickle before {name}@{start}"
    return data[:start] + _huge(rng) + data[start:], f"huge-length op before {name}@{start}"


def mutate_archive_pickle(
    rng: np.random.Generator, data: bytes, marker: str
) -> tuple[bytes, str] | None:
    try:
        entries = read_entries(data)
    except Exception:  # noqa: BLE001 - not an archive any more
        return None
    for i, (name, raw) in enumerate(entries):
        if name.endswith("data.pkl"):
            new, desc = mutate_pickle(rng, raw, marker)
            entries[i] = (name, new)
            return rebuild(entries), f"pickle: {desc}"
    return None


def legacy_pickles(data: bytes) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each pickle at the front of a legacy (pre-1.6) stream: the
    magic number, the protocol, the system info, the object, the storage keys; the raw
    storage bytes follow."""
    spans, pos = [], 0
    while pos < len(data) and len(spans) < 5:
        end = None
        for op, _, at in pickletools.genops(io.BytesIO(data[pos:])):
            if op.name == "STOP":
                end = pos + at + 1
                break
        if end is None:
            break
        spans.append((pos, end))
        pos = end
    return spans


def mutate_legacy_pickle(
    rng: np.random.Generator, data: bytes, marker: str
) -> tuple[bytes, str] | None:
    """One of the pickles of a legacy stream mutated as :func:`mutate_pickle` does."""
    try:
        spans = legacy_pickles(data)
    except Exception:  # noqa: BLE001 - not a pickle stream any more
        return None
    if not spans:
        return None
    k = int(rng.integers(len(spans)))
    start, end = spans[k]
    new, desc = mutate_pickle(rng, data[start:end], marker)
    return data[:start] + new + data[end:], f"pickle {k} of the stream: {desc}"


PICKLE_MUTATIONS = {"pickle": mutate_archive_pickle}
LEGACY_MUTATIONS = {"lpickle": mutate_legacy_pickle}
