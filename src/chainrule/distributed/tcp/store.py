"""Key-value stores for the rendezvous (``torch.distributed.Store`` and its in-process forms).

Ranks find each other through a store: each writes its address under its rank and reads the
others'. :class:`Store` is the API every store offers (PyTorch's subset: ``set``, ``get`` that
waits for the key, ``add``, ``wait``, ``check``, ``delete_key``, ``num_keys``,
``compare_set``); :class:`HashStore` keeps the keys in this process (for threads, and for
tests), :class:`PrefixStore` puts a namespace in front of another store's keys. Values are
bytes; a ``str`` value is stored as its UTF-8 bytes. Counters made by ``add`` are stored as
decimal text, as PyTorch does, so ``get`` on one returns e.g. ``b"3"``.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Sequence

from ..work import DistError

__all__ = [
    "DistNetworkError",
    "DistStoreError",
    "HashStore",
    "KeyTable",
    "PrefixStore",
    "Store",
    "as_bytes",
    "poll_until",
]

_DEFAULT_TIMEOUT = datetime.timedelta(seconds=300)


class DistStoreError(DistError):
    """A store operation failed or timed out (``torch.distributed.DistStoreError``)."""


class DistNetworkError(DistError):
    """A connection could not be made or broke (``torch.distributed.DistNetworkError``)."""


def as_bytes(value: str | bytes | bytearray, where: str) -> bytes:
    """A store value as bytes (``str`` as UTF-8)."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return bytes(value)  # PyTorch also takes a list of byte values
    raise TypeError(f"{where}: value must be str or bytes, got {type(value).__name__}")


def _seconds(timeout: datetime.timedelta, where: str) -> float:
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"{where}: timeout must be a datetime.timedelta, got {timeout!r}")
    return timeout.total_seconds()


class KeyTable:
    """Keys and values behind a condition variable: the state of a HashStore and of a
    TCPStore server. Waits take seconds (None: forever) and return None/False on timeout."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.cond = threading.Condition()

    def set(self, key: str, value: bytes) -> None:
        with self.cond:
            self.data[key] = value
            self.cond.notify_all()

    def get(self, key: str, timeout: float | None) -> bytes | None:
        with self.cond:
            if self.cond.wait_for(lambda: key in self.data, timeout):
                return self.data[key]
            return None

    def add(self, key: str, amount: int) -> int:
        with self.cond:
            value = int(self.data.get(key, b"0")) + int(amount)
            self.data[key] = str(value).encode()
            self.cond.notify_all()
            return value

    def compare_set(self, key: str, expected: bytes, desired: bytes) -> bytes:
        with self.cond:
            current = self.data.get(key)
            if current is None:
                if expected:
                    return expected  # PyTorch answers the expected value for a missing key
                self.data[key] = desired
            elif current == expected:
                self.data[key] = desired
            else:
                return current
            self.cond.notify_all()
            return desired

    def wait(self, keys: Sequence[str], timeout: float | None) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: all(k in self.data for k in keys), timeout)

    def check(self, keys: Sequence[str]) -> bool:
        with self.cond:
            return all(k in self.data for k in keys)

    def delete(self, key: str) -> bool:
        with self.cond:
            return self.data.pop(key, None) is not None

    def num_keys(self) -> int:
        with self.cond:
            return len(self.data)


class Store:
    """The store API (``torch.distributed.Store``); subclasses implement the ``_``-methods.

    ``get`` and ``wait`` block until the keys exist, at most ``timeout`` (the store's, set at
    construction or by ``set_timeout``), then raise :class:`DistStoreError`.
    """

    def __init__(self, timeout: datetime.timedelta = _DEFAULT_TIMEOUT):
        self._timeout = timeout

    @property
    def timeout(self) -> datetime.timedelta:
        return self._timeout

    def set_timeout(self, timeout: datetime.timedelta) -> None:
        _seconds(timeout, "Store.set_timeout")
        self._timeout = timeout

    def _timeout_error(self, keys: Sequence[str], seconds: float) -> DistStoreError:
        names = ", ".join(f"/{k}" for k in keys)
        return DistStoreError(f"wait timeout after {int(seconds * 1000)}ms, keys: {names}")

    def set(self, key: str, value: str | bytes) -> None:
        """Set ``key`` to ``value`` (waking ranks waiting for it)."""
        self._set(str(key), as_bytes(value, "Store.set"))

    def get(self, key: str) -> bytes:
        """The value of ``key``, waiting for it to be set (at most the store's timeout)."""
        seconds = self._timeout.total_seconds()
        value = self._get(str(key), seconds)
        if value is None:
            raise self._timeout_error([str(key)], seconds)
        return value

    def add(self, key: str, amount: int) -> int:
        """Add ``amount`` to the counter ``key`` (created at 0) and return the new value."""
        return self._add(str(key), int(amount))

    def compare_set(self, key: str, expected_value: str | bytes, desired_value: str | bytes):
        """Set ``key`` to ``desired_value`` if it holds ``expected_value`` (or is missing and
        ``expected_value`` is empty); return the value it holds afterwards."""
        return self._compare_set(
            str(key),
            as_bytes(expected_value, "Store.compare_set"),
            as_bytes(desired_value, "Store.compare_set"),
        )

    def wait(self, keys: Sequence[str], timeout: datetime.timedelta | None = None) -> None:
        """Block until every key in ``keys`` is set, at most ``timeout`` (default: the
        store's)."""
        keys = [str(k) for k in keys]
        seconds = _seconds(timeout or self._timeout, "Store.wait")
        if not self._wait(keys, seconds):
            raise self._timeout_error(keys, seconds)

    def check(self, keys: Sequence[str]) -> bool:
        """True when every key in ``keys`` is set (never waits)."""
        return self._check([str(k) for k in keys])

    def delete_key(self, key: str) -> bool:
        """Remove ``key``; True if it existed."""
        return self._delete(str(key))

    def num_keys(self) -> int:
        """How many keys are set."""
        return self._num_keys()

    def multi_get(self, keys: Sequence[str]) -> list[bytes]:
        """The values of ``keys`` (each waited for as by ``get``)."""
        return [self.get(k) for k in keys]

    def multi_set(self, keys: Sequence[str], values: Sequence[str | bytes]) -> None:
        """Set every key of ``keys`` to the value at the same position of ``values``."""
        for k, v in zip(keys, values, strict=True):
            self.set(k, v)

    # Implemented by each store: keys are str, values bytes, waits in seconds.
    def _set(self, key: str, value: bytes) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement set")

    def _get(self, key: str, timeout: float) -> bytes | None:
        raise NotImplementedError(f"{type(self).__name__} does not implement get")

    def _add(self, key: str, amount: int) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not implement add")

    def _compare_set(self, key: str, expected: bytes, desired: bytes) -> bytes:
        raise NotImplementedError(f"{type(self).__name__} does not implement compare_set")

    def _wait(self, keys: list[str], timeout: float) -> bool:
        raise NotImplementedError(f"{type(self).__name__} does not implement wait")

    def _check(self, keys: list[str]) -> bool:
        raise NotImplementedError(f"{type(self).__name__} does not implement check")

    def _delete(self, key: str) -> bool:
        raise NotImplementedError(f"{type(self).__name__} does not implement delete_key")

    def _num_keys(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not implement num_keys")


class HashStore(Store):
    """A store inside this process (``torch.distributed.HashStore``): threads share it."""

    def __init__(self) -> None:
        super().__init__()
        self._table = KeyTable()

    def _timeout_error(self, keys: Sequence[str], seconds: float) -> DistStoreError:
        return DistStoreError("Wait timeout")

    def _set(self, key: str, value: bytes) -> None:
        self._table.set(key, value)

    def _get(self, key: str, timeout: float) -> bytes | None:
        return self._table.get(key, timeout)

    def _add(self, key: str, amount: int) -> int:
        return self._table.add(key, amount)

    def _compare_set(self, key: str, expected: bytes, desired: bytes) -> bytes:
        return self._table.compare_set(key, expected, desired)

    def _wait(self, keys: list[str], timeout: float) -> bool:
        return self._table.wait(keys, timeout)

    def _check(self, keys: list[str]) -> bool:
        return self._table.check(keys)

    def _delete(self, key: str) -> bool:
        return self._table.delete(key)

    def _num_keys(self) -> int:
        return self._table.num_keys()


class PrefixStore(Store):
    """Another store's keys under ``prefix + "/"`` (``torch.distributed.PrefixStore``), so
    several users of one store cannot collide."""

    def __init__(self, prefix: str, store: Store):
        if not isinstance(store, Store):
            raise TypeError(f"PrefixStore: store must be a Store, got {type(store).__name__}")
        super().__init__(store.timeout)
        self.underlying_store = store
        self._prefix = f"{prefix}/"

    def _k(self, key: str) -> str:
        return self._prefix + key

    def _timeout_error(self, keys: Sequence[str], seconds: float) -> DistStoreError:
        inner = self.underlying_store
        return inner._timeout_error([self._k(k) for k in keys], seconds)

    def set_timeout(self, timeout: datetime.timedelta) -> None:
        super().set_timeout(timeout)
        self.underlying_store.set_timeout(timeout)

    def _set(self, key: str, value: bytes) -> None:
        self.underlying_store._set(self._k(key), value)

    def _get(self, key: str, timeout: float) -> bytes | None:
        return self.underlying_store._get(self._k(key), timeout)

    def _add(self, key: str, amount: int) -> int:
        return self.underlying_store._add(self._k(key), amount)

    def _compare_set(self, key: str, expected: bytes, desired: bytes) -> bytes:
        return self.underlying_store._compare_set(self._k(key), expected, desired)

    def _wait(self, keys: list[str], timeout: float) -> bool:
        return self.underlying_store._wait([self._k(k) for k in keys], timeout)

    def _check(self, keys: list[str]) -> bool:
        return self.underlying_store._check([self._k(k) for k in keys])

    def _delete(self, key: str) -> bool:
        return self.underlying_store._delete(self._k(key))

    def _num_keys(self) -> int:
        return self.underlying_store._num_keys()


def poll_until(test, timeout: float, first: float = 0.002, longest: float = 0.05) -> bool:
    """Call ``test()`` until it is true or ``timeout`` seconds passed, sleeping in growing
    steps (for stores that cannot be notified, such as a shared file)."""
    deadline = time.monotonic() + timeout
    delay = first
    while not test():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(delay, left))
        delay = min(delay * 2, longest)
    return True
