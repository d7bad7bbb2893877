"""A small pickle writer that names PyTorch's globals without importing torch.

``torch.load(weights_only=True)`` accepts a pickle that builds only containers and
primitive values and calls only a fixed set of globals (``torch._utils._rebuild_tensor_v2``,
``torch.FloatStorage``, ``collections.OrderedDict``, ...). Python's own picklers cannot
write such a name unless the object behind it can be imported, so chainrule writes the
opcodes itself, the way ``torch.save`` lays them out with Python's pickler for the
``pickle_protocol`` given (1 to 5; 2, ``torch.save``'s default, is the one that
``torch.load(weights_only=True)`` reads in full; 3 writes ``bytes`` as ``BINBYTES`` and
globals under ``builtins``; 4 and 5 add ``PROTO``'s ``FRAME`` (one frame for the whole
pickle), ``SHORT_BINUNICODE``, ``STACK_GLOBAL``/``MEMOIZE`` and ``EMPTY_SET``/``ADDITEMS``,
which ``torch.load`` reads only with ``weights_only=False``, as for ``torch.save``'s file):

* ``None``, bools, ints, floats, strings, bytes, bytearrays and complex numbers;
* tuples, lists, dicts, ``collections.OrderedDict`` and sets (exact types only: a
  subclass could carry state a weights-only load cannot restore); an ``OrderedDict``'s own
  attributes, such as a state dict's ``_metadata`` (the module versions), follow its items
  as a ``BUILD`` with the attribute dict, as Python's pickler (and so ``torch.save``) writes
  them and as ``torch.load(weights_only=True)`` restores them;
* :class:`Global` (a ``module.name`` written by name), :class:`Reduce` (``func(*args)``)
  and :class:`PersistentId` (a storage reference, resolved by the loader).

Anything else is handed to a ``convert`` hook (tensors become :class:`Reduce` records);
what the hook does not take raises :class:`NotTorchStorable`, so the caller can fall back
to another format. Shared or cyclic containers are written once per occurrence (a cycle
ends at the depth limit); only globals are memoised.
"""

from __future__ import annotations

import struct
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

from .tree import MAX_DEPTH

__all__ = ["Global", "NotTorchStorable", "PersistentId", "Reduce", "dumps"]

_BATCH = 1000  # items per APPENDS / SETITEMS, as Python's pickler batches them


class NotTorchStorable(TypeError):  # noqa: N818 - a TypeError, like tree.NotStorable
    """A value that a ``torch.load(weights_only=True)``-readable pickle cannot hold."""


class Global:
    """The global ``module.name`` (e.g. ``torch._utils._rebuild_tensor_v2``), by name only."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name


class Reduce:
    """The object the unpickler builds by calling ``func(*args)``."""

    __slots__ = ("args", "func")

    def __init__(self, func: Global, args: tuple) -> None:
        self.func = func
        self.args = args


class PersistentId:
    """An object the unpickler's ``persistent_load`` resolves from ``value`` (a storage)."""

    __slots__ = ("value",)

    def __init__(self, value: tuple) -> None:
        self.value = value


_OD = Global("collections", "OrderedDict")
_COUNTER = Global("collections", "Counter")  # MultiStepLR milestones; torch allows it
_SET = Global("__builtin__", "set")
_BYTEARRAY = Global("__builtin__", "bytearray")
_COMPLEX = Global("__builtin__", "complex")
_ENCODE = Global("_codecs", "encode")


class _Writer:
    def __init__(self, convert: Callable[[Any, str], Any], protocol: int = 2) -> None:
        self.protocol = protocol
        # PROTO n from protocol 2 on (protocol 1 has no header), as Python's pickler writes
        self.out = bytearray(b"\x80" + protocol.to_bytes(1, "little") if protocol >= 2 else b"")
        self.convert = convert
        self.memo: dict[tuple[str, str], int] = {}
        true, false = (b"\x88", b"\x89") if protocol >= 2 else (b"I01\n", b"I00\n")
        self.dispatch: dict[type, Callable[[Any, str, int], None]] = {
            type(None): lambda obj, path, depth: self.out.extend(b"N"),
            bool: lambda obj, path, depth: self.out.extend(true if obj else false),
            int: lambda obj, path, depth: self._int(obj),
            float: lambda obj, path, depth: self.out.extend(b"G" + struct.pack(">d", obj)),
            str: lambda obj, path, depth: self._str(obj),
            bytes: self._bytes,
            bytearray: self._bytearray,
            complex: lambda obj, path, depth: self._reduce(
                _COMPLEX, (obj.real, obj.imag), path, depth
            ),
            tuple: self._tuple,
            list: self._list,
            dict: self._dict,
            OrderedDict: self._dict,
            Counter: lambda obj, path, depth: self._reduce(_COUNTER, (dict(obj),), path, depth),
            set: self._set,
            Global: lambda obj, path, depth: self._global(obj),
            Reduce: lambda obj, path, depth: self._reduce(obj.func, obj.args, path, depth),
            PersistentId: self._persistent_id,
        }

    def save(self, obj: Any, path: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise ValueError(
                f"cr.save: the object is nested more than {MAX_DEPTH} levels deep at {path!r}"
            )
        write = self.dispatch.get(type(obj))
        if write is None:
            converted = self.convert(obj, path)
            if converted is None:
                raise NotTorchStorable(
                    f"cr.save: an object of type {type(obj).__name__} at "
                    f"{path or '<root>'!r} has no PyTorch checkpoint form"
                )
            obj = converted
            write = self.dispatch.get(type(obj))
            if write is None:
                raise NotTorchStorable(f"cr.save: cannot write {type(obj).__name__} at {path!r}")
        write(obj, path, depth)

    def _int(self, value: int) -> None:
        if 0 <= value < 0x100:
            self.out.extend(b"K" + value.to_bytes(1, "little"))
        elif 0 <= value < 0x10000:
            self.out.extend(b"M" + value.to_bytes(2, "little"))
        elif -(2**31) <= value < 2**31:
            self.out.extend(b"J" + value.to_bytes(4, "little", signed=True))
        elif self.protocol < 2:  # LONG, as text
            self.out.extend(b"L" + repr(value).encode("ascii") + b"L\n")
        else:
            raw = value.to_bytes((value.bit_length() >> 3) + 1, "little", signed=True)
            if len(raw) < 0x100:
                self.out.extend(b"\x8a" + len(raw).to_bytes(1, "little") + raw)  # LONG1
            else:
                self.out.extend(b"\x8b" + len(raw).to_bytes(4, "little") + raw)  # LONG4

    def _str(self, text: str) -> None:
        raw = text.encode("utf-8", "surrogatepass")
        if self.protocol >= 4 and len(raw) < 0x100:  # SHORT_BINUNICODE
            self.out.extend(b"\x8c" + len(raw).to_bytes(1, "little") + raw)
        elif len(raw) > 0xFFFFFFFF:  # BINUNICODE8 (protocol 4 on; Python refuses before)
            self._require(4, "a string of 4 GiB or more")
            self.out.extend(b"\x8d" + len(raw).to_bytes(8, "little") + raw)
        else:
            self.out.extend(b"X" + len(raw).to_bytes(4, "little") + raw)  # BINUNICODE

    def _require(self, protocol: int, what: str) -> None:
        if self.protocol < protocol:
            raise ValueError(
                f"cr.save: {what} needs pickle_protocol {protocol} or higher, got {self.protocol}"
            )

    def _bytes(self, data: bytes, path: str, depth: int) -> None:
        if self.protocol < 3:  # Python's form before BINBYTES: _codecs.encode(text, latin1)
            self._reduce(_ENCODE, (data.decode("latin1"), "latin1"), path, depth)
        elif len(data) < 0x100:  # SHORT_BINBYTES
            self.out.extend(b"C" + len(data).to_bytes(1, "little") + data)
        elif len(data) > 0xFFFFFFFF:  # BINBYTES8
            self._require(4, "a bytes object of 4 GiB or more")
            self.out.extend(b"\x8e" + len(data).to_bytes(8, "little") + data)
        else:
            self.out.extend(b"B" + len(data).to_bytes(4, "little") + data)  # BINBYTES

    def _bytearray(self, data: bytearray, path: str, depth: int) -> None:
        if self.protocol >= 5:  # BYTEARRAY8
            self.out.extend(b"\x96" + len(data).to_bytes(8, "little") + data)
        else:
            self._reduce(_BYTEARRAY, (bytes(data),), path, depth)

    def _set(self, items: set, path: str, depth: int) -> None:
        if self.protocol < 4:  # set(list), as Python pickles it before EMPTY_SET
            self._reduce(_SET, (list(items),), path, depth)
            return
        self.out.extend(b"\x8f")  # EMPTY_SET
        ordered = list(items)
        for start in range(0, len(ordered), _BATCH):
            self.out.extend(b"(")  # MARK
            for item in ordered[start : start + _BATCH]:
                self.save(item, f"{path}/{{}}" if path else "{}", depth + 1)
            self.out.extend(b"\x90")  # ADDITEMS

    def _global(self, glob: Global) -> None:
        key = (glob.module, glob.name)
        index = self.memo.get(key)
        if index is not None:  # BINGET / LONG_BINGET
            self.out.extend(
                b"h" + index.to_bytes(1, "little")
                if index < 0x100
                else b"j" + index.to_bytes(4, "little")
            )
            return
        module = glob.module
        if module == "__builtin__" and self.protocol >= 3:
            module = "builtins"  # Python 2's name only before protocol 3
        index = self.memo[key] = len(self.memo)
        if self.protocol >= 4:
            self._str(module)
            self._str(glob.name)
            self.out.extend(b"\x93\x94")  # STACK_GLOBAL, MEMOIZE
            return
        self.out.extend(f"c{module}\n{glob.name}\n".encode("ascii"))  # GLOBAL
        self.out.extend(
            b"q" + index.to_bytes(1, "little")
            if index < 0x100
            else b"r" + index.to_bytes(4, "little")
        )

    def _reduce(self, func: Global, args: tuple, path: str, depth: int) -> None:
        self._global(func)
        self._tuple(args, path, depth)
        self.out.extend(b"R")  # REDUCE

    def _persistent_id(self, pid: PersistentId, path: str, depth: int) -> None:
        self._tuple(pid.value, path, depth)
        self.out.extend(b"Q")  # BINPERSID

    def _tuple(self, items: tuple, path: str, depth: int) -> None:
        if not items:
            self.out.extend(b")")  # EMPTY_TUPLE
            return
        short = len(items) <= 3 and self.protocol >= 2  # TUPLE1/2/3 from protocol 2 on
        if not short:
            self.out.extend(b"(")  # MARK
        for i, item in enumerate(items):
            self.save(item, f"{path}/{i}" if path else str(i), depth + 1)
        self.out.extend({1: b"\x85", 2: b"\x86", 3: b"\x87"}[len(items)] if short else b"t")

    def _list(self, items: list, path: str, depth: int) -> None:
        self.out.extend(b"]")  # EMPTY_LIST
        for start in range(0, len(items), _BATCH):
            batch = items[start : start + _BATCH]
            if len(batch) > 1:
                self.out.extend(b"(")
            for i, item in enumerate(batch, start):
                self.save(item, f"{path}/{i}" if path else str(i), depth + 1)
            self.out.extend(b"e" if len(batch) > 1 else b"a")  # APPENDS / APPEND

    def _dict(self, obj: dict, path: str, depth: int) -> None:
        if type(obj) is OrderedDict:
            self._reduce(_OD, (), path, depth)
        else:
            self.out.extend(b"}")  # EMPTY_DICT
        items = list(obj.items())
        for start in range(0, len(items), _BATCH):
            batch = items[start : start + _BATCH]
            if len(batch) > 1:
                self.out.extend(b"(")
            for key, value in batch:
                here = f"{path}/{key}" if path else str(key)
                self.save(key, here, depth + 1)
                self.save(value, here, depth + 1)
            self.out.extend(b"u" if len(batch) > 1 else b"s")  # SETITEMS / SETITEM
        attrs = vars(obj) if type(obj) is OrderedDict else None
        if attrs:  # e.g. a state dict's _metadata: restored onto the dict by BUILD
            self._dict(dict(attrs), f"{path}/__dict__" if path else "__dict__", depth + 1)
            self.out.extend(b"b")  # BUILD


def dumps(obj: Any, convert: Callable[[Any, str], Any], protocol: int = 2) -> bytes:
    """Pickle ``obj`` as ``torch.save`` does, so that ``torch.load`` can read it
    (``weights_only=True`` for protocols 2 and 3, as for ``torch.save``'s own files).

    Args:
        obj: the object; its containers and primitive values are written directly.
        convert: called as ``convert(value, path)`` for any other value; returns a
            :class:`Reduce`, :class:`Global`, :class:`PersistentId` or plain value to
            write instead, or ``None`` if the value cannot be written.
        protocol: the pickle protocol, 1 to 5 (0's text persistent ids cannot name a
            storage; the caller refuses it).

    Raises:
        NotTorchStorable: a value has no form that a weights-only torch load accepts.
        ValueError: the object is nested more than ``MAX_DEPTH`` levels deep.
    """
    if not 1 <= protocol <= 5:
        raise ValueError(f"cr.save: cannot write pickle protocol {protocol} (1 to 5 are written)")
    writer = _Writer(convert, protocol)
    writer.save(obj, "", 0)
    writer.out.extend(b".")  # STOP
    body = writer.out[2:]
    if protocol < 4 or len(body) < 4:  # Python frames no body under 4 bytes
        return bytes(writer.out)
    # protocol 4 on: the body after PROTO in a FRAME (one frame: any size is valid)
    return bytes(writer.out[:2] + b"\x95" + len(body).to_bytes(8, "little") + body)
