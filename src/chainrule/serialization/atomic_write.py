"""Atomic writes for ``cr.save`` (split from :mod:`chainrule.io`): the bytes go to
``.tmp-chainrule-<pid>-<random>.part`` in the target's directory (created with the usual
umask), which is renamed over the target with ``os.replace``; a crash mid-write leaves the
old file, and the temporary left by a killed process is removed by the next save to that
directory (:func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["TMP_PREFIX", "remove_stale_temporaries", "write_atomic"]

TMP_PREFIX = ".tmp-chainrule-"
_TMP_RE = re.compile(r"^\.tmp-chainrule-(\d+)-[0-9a-f]+\.part$")
_LEGACY_TMP_RE = re.compile(r"^\.tmp-[A-Za-z0-9_]{8}\.safetensors$")  # before the pid naming
_STALE_SECONDS = 24 * 3600
_LEGACY_STALE_SECONDS = 3600


def write_atomic(path: str, writer: Callable[[BinaryIO], None]) -> None:
    """Write ``path`` with ``writer(file)`` through a temporary in its directory, renamed
    over it once complete (the temporary is removed if ``writer`` raises)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"cr.save: directory {directory!r} does not exist; create it "
            "first (e.g. os.makedirs(dir, exist_ok=True))"
        )
    remove_stale_temporaries(directory)
    tmp = os.path.join(directory, f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale_temporaries(directory: str) -> None:
    """Delete temporaries of ours left in ``directory`` by saves that were killed: those of
    processes that no longer exist (or older than a day), and old-style ``.tmp-*`` ones
    older than an hour. Temporaries of running saves are left alone."""
    now = time.time()
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        m = _TMP_RE.match(name)
        legacy = m is None and _LEGACY_TMP_RE.match(name) is not None
        if m is None and not legacy:
            continue
        full = os.path.join(directory, name)
        try:
            age = now - os.lstat(full).st_mtime
            if legacy:
                stale = age > _LEGACY_STALE_SECONDS
            else:
                pid = int(m.group(1))  # type: ignore[union-attr]
                stale = age > _STALE_SECONDS or (pid != os.getpid() and not _pid_alive(pid))
            if stale:
                os.unlink(full)
        except OSError:
            continue
