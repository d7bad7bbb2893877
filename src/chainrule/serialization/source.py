"""Bounded access to a file that is about to be loaded: the size is what the file *is*.

Every loader reads through :class:`Source`, which knows the real number of bytes available
(from ``fstat`` for regular files, from seeking for seekable file objects, by actually
reading for streams) so that no length claimed *inside* a file can make chainrule allocate
more memory than the file holds. Devices, FIFOs and sockets given as paths are rejected
before anything is read: ``/dev/zero`` is endless and would be read forever.

A source opened with ``mmap_flags`` (``cr.load(..., mmap=True)``, a path only) also hands
out arrays laid over one memory map of the whole file (:meth:`Source.mapped`), each range
checked against the file's real size first.
"""

from __future__ import annotations

import io
import mmap
import os
import stat
from typing import Any, BinaryIO

import numpy as np

from .mmap_options import is_shared

__all__ = ["LoadError", "Source"]

_CHUNK = 1 << 20


class LoadError(ValueError):
    """A file is not a valid checkpoint; the message names the file and what is wrong."""


class Source:
    """A readable, seekable view of a path or file object with a trusted ``size``.

    Args:
        f: a path or a binary file object.
        op: the calling function's name, used in error messages.
        mmap_flags: ``mmap.MAP_PRIVATE`` or ``mmap.MAP_SHARED`` to let :meth:`mapped` lay
            arrays over the file (``f`` must then be a path); ``None`` (default): read only.

    Raises:
        ValueError: ``mmap_flags`` is given with a file object (PyTorch's message).
    """

    def __init__(
        self, f: str | os.PathLike | BinaryIO, op: str = "cr.load", mmap_flags: Any = None
    ) -> None:
        self.op = op
        self._owned = False
        self.path: str | None = None
        self.mmap_flags = mmap_flags
        self._map: mmap.mmap | None = None
        if mmap_flags is not None and not isinstance(f, (str, os.PathLike)):
            raise ValueError("f must be a file path in order to use the mmap argument")
        if hasattr(f, "read"):
            self.where = repr(getattr(f, "name", "<file object>"))
            self.fh, self.start, self.size = _file_object(f, self.where, op)
        else:
            path = os.fspath(f)
            self.path = path
            self.where = repr(path)
            fh = _open_regular(path, op)
            self.fh, self.start, self._owned = fh, 0, True
            self.size = os.fstat(fh.fileno()).st_size

    def close(self) -> None:
        """Close the file; a memory map lives on for as long as arrays lie over it."""
        self._map = None
        if self._owned:
            self.fh.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def error(self, what: str) -> LoadError:
        """A :class:`LoadError` saying ``op: <file>: what``."""
        return LoadError(f"{self.op}: {self.where} {what}")

    def read(self, offset: int, n: int) -> bytes:
        """Exactly ``n`` bytes at ``offset``; the range is checked against the real size."""
        self._check_range(offset, n)
        self.fh.seek(self.start + offset)
        data = self.fh.read(n)
        if len(data) != n:
            raise self.error(
                f"is truncated: expected {n} bytes at offset {offset}, got {len(data)}"
            )
        return data

    def read_into(self, offset: int, out: np.ndarray) -> None:
        """Fill the C-contiguous array ``out`` with the bytes at ``offset``."""
        n = out.nbytes
        self._check_range(offset, n)
        self.fh.seek(self.start + offset)
        view = memoryview(out.reshape(-1).view(np.uint8)) if n else memoryview(b"")
        got = 0
        while got < n:
            k = self.fh.readinto(view[got:])
            if not k:
                raise self.error(f"is truncated: expected {n} bytes at offset {offset}, got {got}")
            got += k

    def mapped(self, offset: int, dtype: np.dtype, numel: int) -> np.ndarray:
        """A 1-d array of ``numel`` elements of ``dtype`` laid over the file at ``offset``.

        Needs ``mmap_flags``. The whole file is mapped once (one mapping however many
        tensors it holds) and every array is a window of it, so tensors of one storage
        share memory and the page cache is not copied. Under ``MAP_PRIVATE`` writes to the
        array stay in this process; under ``MAP_SHARED`` they reach the file.
        """
        nbytes = numel * dtype.itemsize
        self._check_range(offset, nbytes)
        if not numel:
            return np.empty(0, dtype)
        if self._map is None:
            self._map = self._map_file()
        return np.frombuffer(self._map, dtype=dtype, count=numel, offset=offset)

    def _map_file(self) -> mmap.mmap:
        if self.mmap_flags is None or self.path is None:
            raise RuntimeError(f"{self.op}: Source.mapped needs a path opened with mmap_flags")
        try:
            if not is_shared(self.mmap_flags):
                return mmap.mmap(self.fh.fileno(), self.size, access=mmap.ACCESS_COPY)
            with self._open_writable() as fh:
                return mmap.mmap(fh.fileno(), self.size, access=mmap.ACCESS_WRITE)
        except ValueError as exc:  # the file shrank below the size it had when opened
            raise self.error(f"changed while it was being loaded: {exc}") from None

    def _open_writable(self) -> BinaryIO:
        """The same file (same inode as :attr:`fh`) opened read-write, for MAP_SHARED."""
        assert self.path is not None
        try:
            fh = open(self.path, "r+b")  # noqa: SIM115 - closed by the caller's with
        except PermissionError:
            raise PermissionError(
                f"{self.op}: mmap=True with mmap.MAP_SHARED maps the file read-write, but "
                f"{self.where} cannot be opened for writing (permission denied); make it "
                "writable, or load it with mmap.MAP_PRIVATE (the default, see "
                "cr.serialization.set_default_mmap_options), whose writes stay in memory"
            ) from None
        mine, theirs = os.fstat(self.fh.fileno()), os.fstat(fh.fileno())
        if (mine.st_dev, mine.st_ino) != (theirs.st_dev, theirs.st_ino):
            fh.close()
            raise self.error("was replaced by another file while it was being loaded")
        return fh

    def head(self, n: int) -> bytes:
        """The first ``min(n, size)`` bytes (to sniff the format)."""
        return self.read(0, min(n, self.size))

    def fileobj(self) -> BinaryIO:
        """A seekable file object positioned at the start of the data (for ``zipfile``)."""
        if self.start == 0:
            self.fh.seek(0)
            return self.fh
        self.fh.seek(self.start)
        return io.BytesIO(self.fh.read(self.size))

    def _check_range(self, offset: int, n: int) -> None:
        if offset < 0 or n < 0 or offset + n > self.size:
            raise self.error(
                f"is truncated or corrupt: it claims {n} bytes at offset {offset} "
                f"but holds only {self.size} bytes"
            )


def _open_regular(path: str, op: str) -> BinaryIO:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{op}: no such file {path!r}") from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{op}: {path!r} is a directory, not a checkpoint file")
    if not stat.S_ISREG(st.st_mode):
        raise LoadError(
            f"{op}: {path!r} is not a regular file (a device, FIFO or socket); "
            "checkpoints are read only from regular files"
        )
    fh = open(path, "rb")  # noqa: SIM115 - closed by Source.close
    if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # replaced between stat and open
        fh.close()
        raise LoadError(f"{op}: {path!r} is not a regular file")
    return fh


def _file_object(f: Any, where: str, op: str) -> tuple[Any, int, int]:
    """(seekable file, start offset, size) for a user's file object."""
    fileno = getattr(f, "fileno", None)
    if fileno is not None:
        try:
            mode = os.fstat(fileno()).st_mode
        except (OSError, io.UnsupportedOperation, ValueError):
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            raise LoadError(
                f"{op}: {where} is not a regular file (a device, FIFO or socket); "
                "read it into an io.BytesIO first if it is finite"
            )
    seekable = getattr(f, "seekable", None)
    if seekable is not None and seekable():
        start = f.tell()
        end = f.seek(0, io.SEEK_END)
        f.seek(start)
        return f, start, max(end - start, 0)
    buf = io.BytesIO()  # a stream: its size is what it actually delivers
    while True:
        chunk = f.read(_CHUNK)
        if not chunk:
            break
        buf.write(chunk)
    return buf, 0, buf.tell()
