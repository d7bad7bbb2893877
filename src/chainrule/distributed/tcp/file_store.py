"""``FileStore``: a store in a file that every rank can open (a local or shared file system).

The file is a log of records (set a key, delete a key) appended under an exclusive
``flock``; reading it back in order gives the current keys. ``add`` and ``compare_set`` read
and append under the same lock, so they are atomic across processes. Waiting for a key polls
the file. As in PyTorch the file must not hold another run's keys: use a new path per run
(the store removes the file when the last process that opened it calls ``close``, which
``destroy_process_group`` does for a store made from ``init_method="file://..."``).
"""

from __future__ import annotations

import datetime
import fcntl
import os
import struct
from collections.abc import Callable, Sequence
from typing import Any

from .store import DistStoreError, Store, poll_until

__all__ = ["FileStore"]

_LEN = struct.Struct("<I")
_USERS = "__cr_file_users"


def _parse(blob: bytes) -> dict[str, bytes]:
    data: dict[str, bytes] = {}
    i = 0
    while i < len(blob):
        kind = blob[i : i + 1]
        (klen,) = _LEN.unpack_from(blob, i + 1)
        key = blob[i + 5 : i + 5 + klen].decode()
        i += 5 + klen
        if kind == b"S":
            (vlen,) = _LEN.unpack_from(blob, i)
            data[key] = blob[i + 4 : i + 4 + vlen]
            i += 4 + vlen
        else:
            data.pop(key, None)
    return data


def _set_record(key: str, value: bytes) -> bytes:
    k = key.encode()
    return b"S" + _LEN.pack(len(k)) + k + _LEN.pack(len(value)) + value


def _delete_record(key: str) -> bytes:
    k = key.encode()
    return b"D" + _LEN.pack(len(k)) + k


class FileStore(Store):
    """A store kept in the file ``file_name`` (``torch.distributed.FileStore``).

    Args:
        file_name: the path every process opens (created if missing).
        world_size: accepted for PyTorch's signature; not needed here.
    """

    def __init__(self, file_name: str, world_size: int = -1):
        super().__init__(datetime.timedelta(seconds=300))
        self.path = os.fspath(file_name)
        self.world_size = world_size
        self._closed = False
        self._add(_USERS, 1)

    def _locked(self, body: Callable[[dict[str, bytes]], tuple[Any, bytes]]) -> Any:
        """Run ``body`` on the current keys under the lock; append the record it returns."""
        with open(self.path, "a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                f.seek(0)
                result, record = body(_parse(f.read()))
                if record:
                    f.write(record)
                    f.flush()
                return result
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def get(self, key: str) -> bytes:
        """The value of ``key``, waiting for it to be set (at most the store's timeout)."""
        seconds = self.timeout.total_seconds()
        value = self._get(str(key), seconds)
        if value is None:
            raise DistStoreError(f"Timeout waiting for key: {key} after {int(seconds * 1000)} ms")
        return value

    def _timeout_error(self, keys: Sequence[str], seconds: float) -> DistStoreError:
        return DistStoreError("Wait timeout")

    def _keys(self) -> dict[str, bytes]:
        return self._locked(lambda data: (data, b""))

    def _set(self, key: str, value: bytes) -> None:
        self._locked(lambda data: (None, _set_record(key, value)))

    def _get(self, key: str, timeout: float) -> bytes | None:
        found: list[bytes] = []

        def present() -> bool:
            data = self._keys()
            if key in data:
                found.append(data[key])
            return bool(found)

        return found[0] if poll_until(present, timeout) else None

    def _add(self, key: str, amount: int) -> int:
        def body(data: dict[str, bytes]) -> tuple[int, bytes]:
            value = int(data.get(key, b"0")) + amount
            return value, _set_record(key, str(value).encode())

        return self._locked(body)

    def _compare_set(self, key: str, expected: bytes, desired: bytes) -> bytes:
        def body(data: dict[str, bytes]) -> tuple[bytes, bytes]:
            current = data.get(key)
            if current is None and expected:
                return expected, b""
            if current is not None and current != expected:
                return current, b""
            return desired, _set_record(key, desired)

        return self._locked(body)

    def _wait(self, keys: list[str], timeout: float) -> bool:
        return poll_until(lambda: all(k in self._keys() for k in keys), timeout)

    def _check(self, keys: list[str]) -> bool:
        data = self._keys()
        return all(k in data for k in keys)

    def _delete(self, key: str) -> bool:
        """True, whether or not the key existed (PyTorch's FileStore answers so)."""
        return self._locked(lambda data: (True, _delete_record(key) if key in data else b""))

    def _num_keys(self) -> int:
        """Counts the store's own user-count key too, as PyTorch's FileStore does."""
        return len(self._keys())

    def close(self) -> None:
        """Leave the store; the last process to leave removes the file."""
        if self._closed:
            return
        self._closed = True

        def body(data: dict[str, bytes]) -> tuple[int, bytes]:
            value = int(data.get(_USERS, b"1")) - 1
            return value, _set_record(_USERS, str(value).encode())

        if self._locked(body) <= 0:
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
