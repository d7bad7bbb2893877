"""Safe saving and loading: ``cr.serialization`` mirrors ``torch.serialization``.

``cr.save`` / ``cr.load`` (in :mod:`chainrule.io`) use the pieces here: a bounded file
reader (:mod:`.source`), PyTorch's zip checkpoint archive (:mod:`.archive`), which
``cr.save`` writes so that ``torch.load(weights_only=True)`` reads it (:mod:`.torch_writer`,
:mod:`.torch_pickler`) and ``cr.load`` reads from PyTorch and chainrule alike
(:mod:`.torch_format`, :mod:`.pickle_format`), the safetensors format
(:mod:`.safetensors_format`, :mod:`.tree`) and the restricted unpickler (:mod:`.unpickle`).
The weights-only allowlist is managed with :func:`add_safe_globals`, :func:`safe_globals`,
:func:`get_safe_globals` and :func:`clear_safe_globals`, as in PyTorch 2.6+. How
``cr.load(..., mmap=True)`` maps files is read and set with
:func:`get_default_mmap_options` and :func:`set_default_mmap_options` (:mod:`.mmap_options`).
All the switches of saving and loading (the default ``mmap``, the byte order of archives
without a record, CRCs, storage alignment) live in one object,
``cr.utils.serialization.config`` (:mod:`.config`), with PyTorch's functions around it
(:func:`set_crc32_options`, :func:`set_default_load_endianness`, ...).
"""

from __future__ import annotations

from .config import (
    LoadEndianness,
    get_crc32_options,
    get_default_load_endianness,
    set_crc32_options,
    set_default_load_endianness,
)
from .mmap_options import get_default_mmap_options, set_default_mmap_options
from .safe_globals import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals
from .source import LoadError

__all__ = [
    "LoadEndianness",
    "LoadError",
    "add_safe_globals",
    "clear_safe_globals",
    "get_crc32_options",
    "get_default_load_endianness",
    "get_default_mmap_options",
    "get_safe_globals",
    "load",
    "safe_globals",
    "save",
    "set_crc32_options",
    "set_default_load_endianness",
    "set_default_mmap_options",
]


def __getattr__(name: str):
    if name in ("save", "load"):  # torch.serialization.save / load
        from .. import io  # in here: io imports serialization (a cycle at import time)

        return getattr(io, name)
    raise AttributeError(f"module 'chainrule.serialization' has no attribute {name!r}")
