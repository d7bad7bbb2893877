"""``Work``: the handle of a non-blocking collective, and the timed wait behind every collective.

Every collective in ``cr.distributed`` is started as an MPI non-blocking operation
(``Iallreduce``, ``Ibcast``, ...). ``async_op=True`` returns the :class:`Work`; otherwise the
call waits on it at once. Waiting polls ``MPI.Request.Testall`` rather than calling the blocking
``MPI_Waitall`` so that a deadline can be enforced: a rank that died, hangs or skipped the
collective makes the others raise :class:`DistBackendError` after the process group's
``timeout`` instead of blocking forever (an uncaught error then aborts the whole MPI job, see
``init_process_group``). Polling also drives MPI's progress engine, which without a progress
thread only advances a non-blocking collective inside MPI calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["DistBackendError", "DistError", "Work", "wait_requests"]


class DistError(RuntimeError):
    """Base class of distributed errors (``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """The communication backend failed or timed out (``torch.distributed.DistBackendError``)."""


def _mpi():
    """The namespace of the default group's backend (mpi4py's ``MPI`` or ``tcp.namespace``)."""
    from .group import _mpi as backend_namespace  # noqa: PLC0415 - group imports tcp, which imports work

    return backend_namespace()


def wait_requests(
    requests: list, timeout_s: float | None, where: str, rank: int, statuses: list | None = None
) -> None:
    """Wait for MPI ``requests`` (completed ones become ``REQUEST_NULL``), at most ``timeout_s``;
    ``statuses`` (a list of ``MPI.Status``, one per request) receives their statuses.

    Spins briefly, then sleeps in growing steps (up to 1 ms) so that an oversubscribed machine
    (more ranks than cores) keeps making progress on the other ranks.
    """
    if not requests:
        return
    MPI = _mpi()
    if _test_all(MPI, requests, statuses, where):
        return
    start = time.monotonic()
    spins = 0
    while not _test_all(MPI, requests, statuses, where):
        spins += 1
        if spins > 200:
            time.sleep(min(1e-3, 1e-6 * (spins - 200)))
        if timeout_s is not None and spins % 16 == 0 and time.monotonic() - start > timeout_s:
            raise DistBackendError(
                f"{where}: rank {rank} timed out after {timeout_s:g} s waiting for the other "
                "ranks. A rank has probably failed, hung, or skipped this collective (every rank "
                "must call the same collectives in the same order). Raise the limit with "
                "init_process_group(timeout=datetime.timedelta(seconds=...)) if the work is "
                "just slow."
            )


def _test_all(MPI, requests: list, statuses: list | None, where: str) -> bool:
    try:
        return MPI.Request.Testall(requests, statuses)
    except MPI.Exception as exc:
        raise DistBackendError(
            f"{where}: MPI reported an error: {exc.Get_error_string()}. "
            "Check that all ranks pass tensors of the same shape and dtype."
        ) from None


class Work:
    """A started collective or point-to-point transfer (``torch.distributed.Work``).

    Args:
        requests: the MPI requests to complete.
        finish: called once when they all completed (e.g. divide for AVG, copy results out).
        where: the operation's name, for error messages.
        timeout_s: the process group's default timeout.
        rank: this process's rank, for error messages.
        result: the tensors ``result()`` returns.
        statuses: ``MPI.Status`` objects filled in when the requests complete (receives).
    """

    def __init__(
        self,
        requests: Sequence,
        finish: Callable[[], Any] | None,
        where: str,
        timeout_s: float | None,
        rank: int,
        result: list | None = None,
        statuses: list | None = None,
    ):
        self._requests = list(requests)
        self._statuses = statuses
        self._finish = finish
        self._where = where
        self._timeout_s = timeout_s
        self._rank = rank
        self._result = result or []
        self._done = False
        self._value: Any = None

    def _complete(self) -> None:
        self._done = True
        self._requests = []
        if self._finish is not None:
            finish, self._finish = self._finish, None
            self._value = finish()

    def is_completed(self) -> bool:
        """True once the operation finished (and its results are in place); never blocks."""
        if not self._done and (
            not self._requests or _test_all(_mpi(), self._requests, self._statuses, self._where)
        ):
            self._complete()
        return self._done

    def wait(self, timeout: Any = None) -> bool:
        """Block until the operation finished; raise :class:`DistBackendError` after ``timeout``
        (a ``timedelta`` or seconds; default: the process group's timeout)."""
        if not self._done:
            limit = self._timeout_s if timeout is None else _seconds(timeout)
            wait_requests(self._requests, limit, self._where, self._rank, self._statuses)
            self._complete()
        return True

    def is_success(self) -> bool:
        """True once completed (failures raise instead of completing)."""
        return self._done

    def result(self) -> list:
        """The output tensors of the operation."""
        return list(self._result)

    def __repr__(self) -> str:
        state = "completed" if self._done else "pending"
        return f"<Work {self._where} ({state})>"


def _seconds(timeout: Any) -> float:
    if hasattr(timeout, "total_seconds"):
        return float(timeout.total_seconds())
    value = float(timeout)
    if value <= 0:
        raise ValueError(f"Work.wait: timeout must be positive, got {timeout!r}")
    return value
