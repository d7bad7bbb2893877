"""``torch.utils.serialization.config``: the switches of ``save`` and ``load``, one object.

``config.load``:

- ``mmap`` (False): what ``cr.load(f)`` does when its ``mmap`` argument is None (map the
  file instead of reading it; see :func:`chainrule.io.load`).
- ``endianness`` (None): the byte order of an archive that has no ``byteorder`` record
  (older checkpoints): None or ``LoadEndianness.NATIVE`` read it in this machine's order,
  ``LITTLE``/``BIG`` in that one. A recorded byte order always wins.
- ``mmap_flags`` (``mmap.MAP_PRIVATE``): how a mapped load maps the file; the value that
  ``cr.serialization.set_default_mmap_options`` sets and ``get_default_mmap_options`` reads.
- ``calculate_storage_offsets`` (False): in PyTorch, compute where each storage starts from
  the zip's layout instead of reading its local header. chainrule always reads the local
  header (it checks it), which gives the same tensors; the switch has no effect here.

``config.save``:

- ``compute_crc32`` (True): False writes every entry with CRC 0 (no checksum), as PyTorch
  does; PyTorch and chainrule load such files (neither checks CRCs of stored entries).
- ``storage_alignment`` (64): each storage's bytes start at a multiple of this many bytes
  in the file (recorded in the archive's ``.storage_alignment``).
- ``use_pinned_memory_for_d2h`` (False): in PyTorch, copy CUDA tensors to the host through
  pinned memory when saving; chainrule's CuPy arrays are copied with ``cupy.asnumpy`` either
  way (the same bytes), so the switch has no effect here.

Setting a name that does not exist raises AttributeError, as in PyTorch.
"""

from __future__ import annotations

import enum
import mmap
from typing import Any

__all__ = [
    "LoadEndianness",
    "config",
    "get_crc32_options",
    "get_default_load_endianness",
    "set_crc32_options",
    "set_default_load_endianness",
]


class LoadEndianness(enum.Enum):
    """``torch.serialization.LoadEndianness``: the byte order assumed for archives without
    a ``byteorder`` record."""

    NATIVE = 1
    LITTLE = 2
    BIG = 3


class _Section:
    """A fixed set of named settings: reading or setting any other name is an error."""

    def __init__(self, path: str, defaults: dict[str, Any]) -> None:
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_values", dict(defaults))

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError(f"{self._path}.{name} does not exist")

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._values:
            raise AttributeError(f"{self._path}.{name} does not exist")
        self._values[name] = value

    def __dir__(self) -> list[str]:
        return sorted(self._values)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"{self._path}({items})"


class _Config:
    """``config.load`` and ``config.save``."""

    def __init__(self) -> None:
        path = "chainrule.utils.serialization.config"
        self.load = _Section(
            f"{path}.load",
            {
                "mmap": False,
                "endianness": None,
                "mmap_flags": getattr(mmap, "MAP_PRIVATE", 2),
                "calculate_storage_offsets": False,
            },
        )
        self.save = _Section(
            f"{path}.save",
            {"compute_crc32": True, "use_pinned_memory_for_d2h": False, "storage_alignment": 64},
        )


config = _Config()


def get_default_load_endianness() -> LoadEndianness | None:
    """The byte order assumed for archives without a ``byteorder`` record
    (``config.load.endianness``; None: this machine's)."""
    return config.load.endianness


def set_default_load_endianness(endianness: LoadEndianness | None) -> None:
    """Set the byte order assumed for archives without a ``byteorder`` record.

    Raises:
        TypeError: ``endianness`` is neither a :class:`LoadEndianness` nor None.
    """
    if endianness is not None and not isinstance(endianness, LoadEndianness):
        raise TypeError("Invalid argument type in function set_default_load_endianness")
    config.load.endianness = endianness


def get_crc32_options() -> Any:
    """Whether ``cr.save`` computes the CRC-32 of each entry (``config.save.compute_crc32``)."""
    return config.save.compute_crc32


def set_crc32_options(compute_crc32: bool) -> None:
    """Let ``cr.save`` compute each entry's CRC-32 (True, the default) or write 0 (False)."""
    config.save.compute_crc32 = compute_crc32
