"""``Comm``: a communicator of the TCP backend with the part of mpi4py's ``Comm`` API that
``cr.distributed`` calls.

A communicator is a list of world ranks plus a context id that keeps its messages apart from
every other communicator's (its point-to-point and its collective messages travel on two
channels of that id). Non-blocking collectives (``Iallreduce``, ``Ibcast``, ...) are queued
to one worker thread per communicator, which runs them in the order they were started; every
rank starts them in the same order, which is all the matching needs (each also carries its
sequence number as its tag). Point-to-point sends go out on the calling thread, receives are
posted to the mesh's mailbox, so sends and receives between the same two ranks may overlap
collectives and each other. The blocking object forms (``bcast``, ``allgather``, ...) wait at
most the process group's timeout and then raise ``DistBackendError``.
"""

from __future__ import annotations

import pickle
import queue
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..work import DistBackendError
from . import algorithms as alg
from .mesh import ANY_SOURCE, Mesh, Posted, TransportError
from .namespace import BYTE, COMM_NULL, IN_PLACE, UNDEFINED
from .requests import Request, Status

__all__ = ["Comm"]


def _contiguous(arr: np.ndarray) -> np.ndarray:
    return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)


class _Message:
    """A probed object message (``improbe``); ``recv()`` unpickles it."""

    def __init__(self, data: bytes):
        self._data = data

    def recv(self) -> Any:
        return pickle.loads(self._data)


class Comm:
    """A group of ranks on the mesh (see the module docstring).

    Args:
        mesh: the connections of this process.
        context: the id that separates this communicator's messages.
        members: the world ranks of the members, in communicator-rank order.
        timeout_s: how long the blocking object forms wait.
        on_free: called by ``Free`` (the world communicator closes the mesh there).
    """

    def __init__(
        self,
        mesh: Mesh,
        context: int,
        members: list[int],
        timeout_s: float,
        on_free: Callable[[], None] | None = None,
    ):
        self.mesh = mesh
        self.context = context
        self.members = list(members)
        self.timeout_s = timeout_s
        self._rank = self.members.index(mesh.rank)
        self._p2p, self._coll = 2 * context, 2 * context + 1
        self._on_free = on_free
        self._seq = 0
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._freed = False

    def Get_rank(self) -> int:  # noqa: N802 - mpi4py's names from here on
        return self._rank

    def Get_size(self) -> int:  # noqa: N802
        return len(self.members)

    def __repr__(self) -> str:
        return f"<tcp.Comm context={self.context} rank={self._rank} size={len(self.members)}>"

    # -- the worker thread --------------------------------------------------------------
    def _links(self, tag: int) -> alg.Links:
        mesh, members, channel = self.mesh, self.members, self._coll

        def send(to: int, payload: Any) -> None:
            mesh.send(members[to], channel, tag, payload)

        def post(frm: int, buffer: np.ndarray | None) -> Posted:
            return mesh.post(channel, members[frm], tag, buffer)

        return alg.Links(self._rank, len(members), send, post, mesh.wait)

    def _submit(self, body: Callable[[alg.Links], Any]) -> Request:
        req = Request(self.mesh.cond)
        with self._lock:
            if self._freed:
                raise DistBackendError("this process group was destroyed")
            tag = self._seq
            self._seq += 1
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name=f"cr-gloo-comm-{self.context}", daemon=True
                )
                self._worker.start()
            self._jobs.put((body, tag, req))
        return req

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            body, tag, req = job
            value, error = None, None
            try:
                value = body(self._links(tag))
            except (TransportError, OSError) as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - reported to the waiting rank
                error = f"{type(exc).__name__}: {exc}"
            with self.mesh.cond:
                req.value = value
                req._complete(error)
                self.mesh.cond.notify_all()

    def _blocking(self, body: Callable[[alg.Links], Any], where: str) -> Any:
        req = self._submit(body)
        with self.mesh.cond:
            finished = self.mesh.cond.wait_for(req._finished, self.timeout_s)
        if not finished:
            raise DistBackendError(
                f"{where}: rank {self._rank} timed out after {self.timeout_s:g} s waiting for "
                "the other ranks (one has probably failed, hung or skipped this call)"
            )
        req._raise()
        return req.value

    # -- non-blocking collectives -------------------------------------------------------
    def Iallreduce(self, sendbuf: Any, recvbuf: np.ndarray, op: Any) -> Request:  # noqa: N802
        if sendbuf is not IN_PLACE:
            np.copyto(recvbuf, sendbuf)
        return self._submit(lambda L: alg.allreduce(L, recvbuf, op))

    def Ireduce(self, sendbuf: Any, recvbuf: Any, op: Any, root: int = 0) -> Request:  # noqa: N802
        if self._rank == root:
            if sendbuf is not IN_PLACE:
                np.copyto(recvbuf, sendbuf)
            buf = recvbuf
        else:
            buf = _contiguous(np.asarray(sendbuf)).copy()
        return self._submit(lambda L: alg.reduce(L, buf, op, root))

    def Ibcast(self, buf: np.ndarray, root: int = 0) -> Request:  # noqa: N802
        return self._submit(lambda L: alg.bcast(L, buf, root))

    def Iallgather(self, sendbuf: np.ndarray, recvbuf: np.ndarray) -> Request:  # noqa: N802
        send = _contiguous(sendbuf).copy()
        return self._submit(lambda L: alg.allgather(L, send, recvbuf))

    def Igather(self, sendbuf: np.ndarray, recvbuf: Any, root: int = 0) -> Request:  # noqa: N802
        send = _contiguous(sendbuf).copy()
        return self._submit(lambda L: alg.gather(L, send, recvbuf, root))

    def Iscatter(self, sendbuf: Any, recvbuf: np.ndarray, root: int = 0) -> Request:  # noqa: N802
        send = None if sendbuf is None else _contiguous(sendbuf).copy()
        return self._submit(lambda L: alg.scatter(L, send, recvbuf, root))

    def Ialltoall(self, sendbuf: np.ndarray, recvbuf: np.ndarray) -> Request:  # noqa: N802
        send = _contiguous(sendbuf).copy()
        return self._submit(lambda L: alg.alltoall(L, send, recvbuf))

    def Ialltoallv(self, sendspec: list, recvspec: list) -> Request:  # noqa: N802
        (send, sparts, sdt), (recv, rparts, rdt) = sendspec, recvspec
        if sdt is not BYTE or rdt is not BYTE:
            raise NotImplementedError("tcp.Comm.Ialltoallv: only BYTE counts are supported")
        send = _contiguous(send).copy()
        return self._submit(lambda L: alg.alltoallv(L, send, sparts, recv, rparts))

    def Ireduce_scatter_block(  # noqa: N802
        self, sendbuf: np.ndarray, recvbuf: np.ndarray, op: Any
    ) -> Request:
        send = _contiguous(sendbuf).copy()
        return self._submit(lambda L: alg.reduce_scatter_block(L, send, recvbuf, op))

    def Ibarrier(self) -> Request:  # noqa: N802
        return self._submit(alg.barrier)

    # -- blocking object collectives ----------------------------------------------------
    def bcast(self, obj: Any, root: int = 0) -> Any:
        return self._blocking(lambda L: alg.bcast_object(L, obj, root), "broadcast_object_list")

    def gather(self, obj: Any, root: int = 0) -> list | None:
        return self._blocking(lambda L: alg.gather_objects(L, obj, root), "gather_object")

    def scatter(self, objs: Any, root: int = 0) -> Any:
        return self._blocking(lambda L: alg.scatter_objects(L, objs, root), "scatter_object_list")

    def allgather(self, obj: Any) -> list:
        return self._blocking(lambda L: alg.allgather_objects(L, obj), "all_gather_object")

    # -- point to point -----------------------------------------------------------------
    def _world_rank(self, rank: int) -> int:
        return ANY_SOURCE if rank == ANY_SOURCE else self.members[rank]

    def _send(self, dest: int, tag: int, payload: Any) -> Request:
        req = Request(None)  # done: the bytes are out when mesh.send returns
        try:
            self.mesh.send(self.members[dest], self._p2p, tag, payload)
        except TransportError as exc:
            req._complete(str(exc))
        return req

    def Isend(self, buf: np.ndarray, dest: int, tag: int = 0) -> Request:  # noqa: N802
        return self._send(dest, tag, _contiguous(buf))

    def isend(self, obj: Any, dest: int, tag: int = 0) -> Request:
        return self._send(dest, tag, pickle.dumps(obj))

    def Irecv(self, buf: np.ndarray, source: int = ANY_SOURCE, tag: int = 0) -> Request:  # noqa: N802
        posted = self.mesh.post(self._p2p, self._world_rank(source), tag, buf)
        return Request(self.mesh.cond, posted, self.members.index, self.mesh.cancel)

    def improbe(
        self, source: int = ANY_SOURCE, tag: int = 0, status: Status | None = None
    ) -> _Message | None:
        try:
            found = self.mesh.probe(self._p2p, self._world_rank(source), tag)
        except TransportError as exc:
            raise DistBackendError(str(exc)) from None
        if found is None:
            return None
        if status is not None:
            status.source, status.count = self.members.index(found[0]), len(found[1])
        return _Message(found[1])

    # -- communicators ------------------------------------------------------------------
    def Split(self, color: int = 0, key: int = 0) -> Comm | Any:  # noqa: N802
        """A communicator of the ranks that passed the same ``color`` (ordered by ``key``,
        then rank), or ``COMM_NULL`` for ``UNDEFINED``. Every rank of this one must call it."""
        mine = (int(color), int(key), self.mesh.next_context)
        table = self._blocking(lambda L: alg.allgather_objects(L, mine), "new_group")
        context = max(row[2] for row in table)
        self.mesh.next_context = context + 1
        if color == UNDEFINED:
            return COMM_NULL
        ranks = sorted((row[1], r) for r, row in enumerate(table) if row[0] == color)
        return Comm(self.mesh, context, [self.members[r] for _, r in ranks], self.timeout_s)

    def Dup(self) -> Comm:  # noqa: N802
        return self.Split(0, self._rank)

    def Free(self) -> None:  # noqa: N802
        """Stop the worker thread (after the jobs already queued); the world closes the mesh."""
        with self._lock:
            if self._freed:
                return
            self._freed = True
            if self._worker is not None:
                self._jobs.put(None)
        if self._on_free is not None:
            self._on_free()
