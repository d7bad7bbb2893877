"""Unpicklers for ``data.pkl`` inside a checkpoint archive: restricted and unrestricted.

A pickle is a small program: its ``GLOBAL`` opcodes name any importable callable and its
``REDUCE`` opcodes call them, which is how a malicious ``.pt`` file runs ``os.system``.
:class:`WeightsOnlyUnpickler` (``cr.load``'s default, as in PyTorch 2.6+) resolves a name
only through a fixed table of rebuild functions and container types, plus what the user
allowed with :func:`~chainrule.serialization.add_safe_globals`; every other name is
refused before anything is called.

Before either unpickler runs, :func:`prescan` walks the opcodes once (without executing
them) and rejects any length or memo index that the pickle's real size cannot back:
CPython's unpickler allocates a ``BINBYTES8`` buffer or grows its memo to the claimed size
*before* reading, so a 20-byte pickle could otherwise reserve gigabytes.
"""

from __future__ import annotations

import builtins
import codecs
import collections
import io
import pickle
import pickletools
from collections.abc import Callable
from typing import Any

from .safe_globals import lookup
from .source import LoadError

__all__ = ["FullUnpickler", "Unsupported", "WeightsOnlyUnpickler", "prescan", "unpickle"]


class Unsupported:
    """A global that a format's table knows but chainrule cannot rebuild (a torch dtype it
    does not have, such as ``torch.float8_e4m3fn``): naming it raises a LoadError saying
    so, instead of the weights-only refusal, which would wrongly blame the file's safety."""

    def __init__(self, what: str) -> None:
        self.what = what


def _from_table(table: dict[str, Any], full: str, where: str) -> Any:
    found = table[full]
    if isinstance(found, Unsupported):
        raise LoadError(f"cr.load: {where} uses {found.what}, which chainrule does not support")
    return found


# Harmless names any weights-only load may use (protocol 2 spells builtins "__builtin__").
_BASE: dict[str, Any] = {
    "collections.OrderedDict": collections.OrderedDict,
    "collections.Counter": collections.Counter,  # MultiStepLR's milestones (torch allows it)
    "builtins.set": builtins.set,
    "__builtin__.set": builtins.set,
    "builtins.frozenset": builtins.frozenset,
    "__builtin__.frozenset": builtins.frozenset,
    "builtins.complex": builtins.complex,
    "__builtin__.complex": builtins.complex,
    "builtins.slice": builtins.slice,
    "__builtin__.slice": builtins.slice,
}


def _latin1_encode(text: Any, encoding: str = "latin1", errors: str = "strict") -> bytes:
    """``_codecs.encode`` as protocol 2 uses it for bytes, and nothing more."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise pickle.UnpicklingError(
            "Weights only load failed: _codecs.encode is allowed only as encode(str, 'latin1')"
        )
    return codecs.encode(text, "latin1")


_BASE["_codecs.encode"] = _latin1_encode  # protocol 2 writes bytes this way


def _bytearray(source: Any = b"", encoding: Any = None) -> bytearray:
    """``bytearray`` as pickle rebuilds one (from bytes, or from a str and ``latin-1`` under
    protocol 2), which PyTorch's weights-only load allows; never ``bytearray(n)``, which
    would allocate ``n`` bytes that the file does not hold."""
    if isinstance(source, bytes) and encoding is None:
        return bytearray(source)
    if isinstance(source, str) and encoding in ("latin1", "latin-1"):
        return bytearray(source, "latin-1")
    raise pickle.UnpicklingError(
        "Weights only load failed: bytearray is allowed only from bytes, or from a str with "
        f"'latin-1', got bytearray({type(source).__name__}, {encoding!r})"
    )


def _rebuild_nested(kind: Any, state: Any, seqlen: Any = None) -> Any:
    """A nested tensor as ``cr.save`` writes one (its layout and dense parts)."""
    from ..nested._tensor import _rebuild_nested as rebuild  # noqa: PLC0415 - import cycle

    if kind not in ("jagged", "strided") or not isinstance(state, tuple):
        raise pickle.UnpicklingError(f"Weights only load failed: bad nested tensor {kind!r}")
    return rebuild(kind, state, seqlen)


_BASE["chainrule.nested._tensor._rebuild_nested"] = _rebuild_nested
_BASE["builtins.bytearray"] = _bytearray
_BASE["__builtin__.bytearray"] = _bytearray


def prescan(data: bytes, where: str, op: str = "cr.load") -> None:
    """Check a pickle's opcodes for lengths and memo indices beyond its real size.

    Raises:
        LoadError: the pickle is truncated, corrupt, or claims more than it holds.
    """
    limit = len(data)
    try:
        for opcode, arg, pos in pickletools.genops(io.BytesIO(data)):
            name = opcode.name
            if name in ("PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"):
                if not isinstance(arg, int) or arg < 0 or arg > limit:
                    raise LoadError(
                        f"{op}: {where} has a corrupt pickle: memo index {arg!r} "
                        f"at byte {pos} exceeds the pickle's {limit} bytes"
                    )
            elif name == "FRAME" and arg > limit - (pos or 0):
                raise LoadError(
                    f"{op}: {where} has a corrupt pickle: a frame of {arg} bytes at "
                    f"byte {pos} runs past its end"
                )
    except LoadError:
        raise
    except (ValueError, EOFError) as exc:  # genops checks every counted length
        raise LoadError(f"{op}: {where} has a truncated or corrupt pickle: {exc}") from None


class WeightsOnlyUnpickler(pickle.Unpickler):
    """Resolve globals only through ``table``, the base containers and the user allowlist.

    Args:
        file: the pickle bytes as a file object.
        table: ``"module.name" -> object`` rebuild functions of the file format.
        persistent_load: resolves the archive's storage references.
        where: the file, for messages.
    """

    def __init__(
        self, file: Any, table: dict[str, Any], persistent_load: Callable, where: str
    ) -> None:
        super().__init__(file, encoding="utf-8")
        self._table = table
        self._persistent = persistent_load
        self._where = where

    def find_class(self, module: str, name: str) -> Any:
        full = f"{module}.{name}"
        if full in self._table:
            return _from_table(self._table, full, self._where)
        if full in _BASE:
            return _BASE[full]
        allowed = lookup(module, name)
        if allowed is not None:
            return allowed
        raise pickle.UnpicklingError(
            f"Weights only load failed: {self._where} uses the global {full}, which a "
            "weights-only load (the default of cr.load) refuses because unpickling it can "
            "run arbitrary code. If you trust the file, load it with "
            "cr.load(f, weights_only=False), or allow this one global with "
            f"cr.serialization.add_safe_globals([{name}]) (or the safe_globals context "
            "manager)."
        )

    def persistent_load(self, pid: Any) -> Any:
        return self._persistent(pid)


class FullUnpickler(pickle.Unpickler):
    """An ordinary unpickler (``weights_only=False``) that still rebuilds the archive's
    tensors as chainrule tensors. It runs whatever the file names: trusted files only."""

    def __init__(
        self, file: Any, table: dict[str, Any], persistent_load: Callable, where: str = ""
    ) -> None:
        super().__init__(file, encoding="utf-8")
        self._table = table
        self._persistent = persistent_load
        self._where = where

    def find_class(self, module: str, name: str) -> Any:
        full = f"{module}.{name}"
        if full in self._table:
            return _from_table(self._table, full, self._where)
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        return self._persistent(pid)


def unpickle(
    data: bytes, table: dict[str, Any], persistent_load: Callable, where: str, weights_only: bool
) -> Any:
    """Prescan and unpickle ``data`` with the restricted or the full unpickler."""
    prescan(data, where)
    fh = io.BytesIO(data)
    if weights_only:
        unpickler: pickle.Unpickler = WeightsOnlyUnpickler(fh, table, persistent_load, where)
    else:
        unpickler = FullUnpickler(fh, table, persistent_load, where)
    try:
        return unpickler.load()
    except LoadError as exc:  # from a rebuild function, which does not know the file
        if where in str(exc):
            raise
        raise LoadError(f"{exc} (file {where})") from None
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if where in text:  # the weights-only refusal of a global, which names the file
            raise
        if text.startswith("Weights only load failed"):  # from an allowed rebuild function
            raise pickle.UnpicklingError(f"{text} (file {where})") from None
        # CPython's own complaints about the opcodes ("odd number of items for SETITEMS",
        # "Memo value not found", "unexpected MARK found"): a corrupt pickle
        raise LoadError(f"cr.load: {where} has a corrupt pickle: {text}") from None
    except NotImplementedError:
        raise
    except RecursionError:
        raise LoadError(f"cr.load: {where} holds a structure nested too deeply") from None
    except Exception as exc:
        if not weights_only:
            _name_file(exc, where)  # whatever the file's program raised
            raise
        if isinstance(exc, (MemoryError, OSError)):
            raise  # out of memory; the file system (MAP_SHARED on a read-only file)
        # EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError, ... from the
        # unpickler or from a rebuild function given arguments it does not take
        raise LoadError(
            f"cr.load: {where} has a corrupt pickle: {type(exc).__name__}: {exc}"
        ) from None


def _name_file(exc: BaseException, where: str) -> None:
    """Note on ``exc`` (a full unpickle's error, raised as it is, as by ``torch.load``: an
    ``AttributeError`` for a class that no longer exists, a ``TypeError`` from a function
    the pickle calls) which file it came from, in its traceback (Python 3.11+)."""
    add_note = getattr(exc, "add_note", None)
    if add_note is not None:
        add_note(f"(while unpickling {where} with cr.load(..., weights_only=False))")
