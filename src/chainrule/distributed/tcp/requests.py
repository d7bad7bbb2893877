"""Requests and statuses of the TCP backend, shaped like mpi4py's ``MPI.Request``/``Status``.

``cr.distributed`` waits on its operations through ``Request.Testall`` (see ``work.py``), so
a request here answers the same calls as an mpi4py one: ``Testall``, ``Test``, ``Wait``,
``Cancel`` and comparison with ``REQUEST_NULL`` (true once completed). A request completes
when the communicator's worker thread finished its collective, when its receive matched a
message, or at once for a send (the bytes are out when ``Isend`` returns). A failed one
raises :class:`TransportFailure` (a ``DistBackendError``) from ``Test``/``Testall``/``Wait``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from ..work import DistBackendError
from .mesh import ANY_SOURCE, Posted

__all__ = ["REQUEST_NULL", "Request", "Status", "TransportFailure"]


class TransportFailure(DistBackendError):
    """The TCP backend failed: a peer's connection broke or a message did not fit."""


class Status:
    """The source (a rank of the communicator) and byte count of a completed receive."""

    def __init__(self) -> None:
        self.source = ANY_SOURCE
        self.count = 0

    def Get_source(self) -> int:  # noqa: N802 - mpi4py's name
        return self.source

    def Get_count(self, datatype: Any = None) -> int:  # noqa: N802 - mpi4py's name
        return self.count


class Request:
    """One non-blocking operation of a communicator.

    Args:
        cond: the mesh's condition variable, notified whenever any operation completes.
        posted: for a receive, the posted receive it waits on.
        to_rank: maps the world rank a message came from to the communicator's rank.
        cancel: withdraws the posted receive (``Cancel``).
        finish: turns the received bytes into the result (object receives).
    """

    def __init__(
        self,
        cond: threading.Condition | None,
        posted: Posted | None = None,
        to_rank: Callable[[int], int] | None = None,
        cancel: Callable[[Posted], bool] | None = None,
        finish: Callable[[Any], Any] | None = None,
    ):
        self._cond = cond
        self._posted = posted
        self._to_rank = to_rank
        self._cancel = cancel
        self._finish = finish
        self._done = posted is None and cond is None
        self._error: str | None = None
        self.source = ANY_SOURCE
        self.count = 0
        self.value: Any = None

    __hash__ = object.__hash__

    def _complete(self, error: str | None = None) -> None:
        """Mark done (called with the condition held, or before anyone else sees it)."""
        self._error = error
        self._done = True

    def _finished(self) -> bool:
        if self._done:
            return True
        p = self._posted
        if p is None or not p.done:
            return False
        if p.error is not None:
            self._complete(p.error)
            return True
        self.source = self._to_rank(p.got) if self._to_rank is not None else p.got
        self.count = p.nbytes
        if self._finish is not None:
            self.value = self._finish(p.data)
        self._complete()
        return True

    def _raise(self) -> None:
        if self._error is not None and self._error != "cancelled":
            raise TransportFailure(self._error)

    def Test(self, status: Status | None = None) -> bool:  # noqa: N802 - mpi4py's name
        """True once completed; raises if it failed."""
        if not self._finished():
            return False
        self._raise()
        if status is not None:
            status.source, status.count = self.source, self.count
        return True

    def Wait(self, status: Status | None = None) -> bool:  # noqa: N802 - mpi4py's name
        """Block until completed (no time limit: ``work.py`` polls ``Testall`` for that)."""
        if self._cond is not None:
            with self._cond:
                self._cond.wait_for(self._finished)
        return self.Test(status)

    def Cancel(self) -> None:  # noqa: N802 - mpi4py's name
        """Withdraw a receive that has not matched a message yet."""
        if self._posted is not None and self._cancel is not None:
            self._cancel(self._posted)

    @staticmethod
    def Testall(requests: Sequence[Request], statuses: list | None = None) -> bool:  # noqa: N802
        """True when every request completed; fills ``statuses`` (one per request) then."""
        if not all(r._finished() for r in requests):
            return False
        for i, r in enumerate(requests):
            r.Test(None if statuses is None else statuses[i])
        return True

    def __eq__(self, other: object) -> bool:
        if other is REQUEST_NULL:
            return self is REQUEST_NULL or self._finished()
        return self is other

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)


REQUEST_NULL = Request(None)
