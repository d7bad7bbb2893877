"""Bounded access to a file that is about to be loaded: the size is what the file *is*.

Every loader reads through :class:`Source`, which knows the real number of bytes available
(from ``fstat`` for regular files, from seeking for seekable file objects, by actually
reading for streams) so that no length claimed *inside* a file can make chainrule allocate
more memory than the file holds. Devices, FIFOs and sockets given as paths are rejected
before anything is read: ``/dev/zero`` is endless and would be read forever.
"""

from __future__ import annotations

import io
import os
import stat
from typing import Any, BinaryIO

import numpy as np

__all__ = ["LoadError", "Source"]

_CHUNK = 1 << 20


class LoadError(ValueError):
    """A file is not a valid checkpoint; the message names the file and what is wrong."""


class Source:
    """A readable, seekable view of a path or file object with a trusted ``size``.

    Args:
        f: a path or a binary file object.
        op: the calling function's name, used in error messages.
    """

    def __init__(self, f: str | os.PathLike | BinaryIO, op: str = "cr.load") -> None:
        self.op = op
        self._owned = False
        if hasattr(f, "read"):
            self.where = repr(getattr(f, "name", "<file object>"))
            self.fh, self.start, self.size = _file_object(f, self.where, op)
        else:
            path = os.fspath(f)
            self.where = repr(path)
            fh = _open_regular(path, op)
            self.fh, self.start, self._owned = fh, 0, True
            self.size = os.fstat(fh.fileno()).st_size

    def close(self) -> None:
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
