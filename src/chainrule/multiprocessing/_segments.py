"""Shared-memory segments: the memory behind shared tensors, one anonymous file per tensor.

A segment is an anonymous in-memory file (``os.memfd_create``) mapped with ``mmap``
(``MAP_SHARED``), so every process that maps it sees the same pages. It has no name: nothing
appears in ``/dev/shm``, nothing can leak there, and Python's ``resource_tracker`` (which
warns about "leaked shared_memory objects" for named segments) never hears of it. Its pages
are freed by the kernel when the last process closes its descriptor and its mapping.

Another process reaches a segment through a copy of its file descriptor, sent by
``multiprocessing.reduction.DupFd`` (inherited by a spawned child, or passed over a Unix
socket to a queue's reader), and a forked child inherits both. Each process keeps one
mapping per segment: receiving a second tensor of a segment it already maps reuses that
mapping (found by the file's inode), so the arrays alias exactly.

The registry holds mappings weakly: when no array refers to a mapping any longer, the
mapping is unmapped and its descriptor closed.
"""

from __future__ import annotations

import mmap
import os
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._memory import root_array

__all__ = ["Segment", "allocate", "attach", "root_array", "segment_of"]


@dataclass(frozen=True)
class Segment:
    """One mapping of a shared file in this process.

    Attributes:
        buffer: the ``mmap`` object (arrays over the segment have it as their ``base``).
        fd: this process's descriptor of the file, kept open to send it on.
        size: the mapping's length in bytes.
        address: where the mapping starts in this process's memory.
        key: ``(st_dev, st_ino)`` of the file: the same in every process that maps it.
    """

    buffer: mmap.mmap
    fd: int
    size: int
    address: int
    key: tuple[int, int]


# id(mmap) -> (a weak reference to it, (fd, size, address, key)): the mapping is held
# weakly, so it dies with the last array over it.
_BY_BUFFER: dict[int, tuple[weakref.ref, tuple]] = {}
_BY_KEY: dict[tuple[int, int], int] = {}  # file identity -> id(mmap) of this process's mapping


def _register(fd: int, size: int) -> Segment:
    buf = mmap.mmap(fd, size)  # MAP_SHARED, read and write
    address = np.frombuffer(buf, dtype=np.uint8, count=1).ctypes.data
    st = os.fstat(fd)
    seg = Segment(buf, fd, size, address, (st.st_dev, st.st_ino))
    ident = id(buf)
    _BY_BUFFER[ident] = (weakref.ref(buf), (fd, size, address, seg.key))
    _BY_KEY[seg.key] = ident
    # The finalizer must not hold the segment (it holds the mmap): only plain values.
    weakref.finalize(buf, _release, ident, fd, seg.key)
    return seg


def _release(ident: int, fd: int, key: tuple[int, int]) -> None:
    """The mapping died: forget it and close this process's descriptor."""
    _BY_BUFFER.pop(ident, None)
    if _BY_KEY.get(key) == ident:
        del _BY_KEY[key]
    try:
        os.close(fd)
    except OSError:  # already closed (interpreter shutdown)
        pass


def allocate(nbytes: int) -> Segment:
    """A new zero-filled segment of at least ``nbytes`` bytes (one byte for empty tensors,
    since a mapping cannot be empty)."""
    size = max(int(nbytes), 1)
    fd = os.memfd_create("chainrule-shared-tensor", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, size)
        return _register(fd, size)
    except BaseException:
        os.close(fd)
        raise


def attach(fd: int, size: int) -> Segment:
    """This process's mapping of the segment behind descriptor ``fd`` (received from another
    process): the existing mapping when there is one (``fd`` is then closed, unless it is
    that mapping's own, as when a spawned child's tensors on one segment share one inherited
    descriptor), else a new one that takes ownership of ``fd``."""
    st = os.fstat(fd)
    ident = _BY_KEY.get((st.st_dev, st.st_ino))
    if ident is not None:
        seg = _segment(ident)
        if seg is not None:
            if fd != seg.fd:
                os.close(fd)
            return seg
    return _register(fd, size)


def segment_of(arr: Any) -> Segment | None:
    """The segment whose memory ``arr`` views, or None when ``arr`` is not in one."""
    if not isinstance(arr, np.ndarray):
        return None
    buf = root_array(arr).base
    if buf is None:
        return None
    seg = _segment(id(buf))
    return seg if seg is not None and seg.buffer is buf else None


def _segment(ident: int) -> Segment | None:
    """The live segment registered under ``ident``, or None."""
    entry = _BY_BUFFER.get(ident)
    buf = entry[0]() if entry is not None else None
    return None if buf is None else Segment(buf, *entry[1])
