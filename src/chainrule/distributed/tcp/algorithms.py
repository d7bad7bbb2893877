"""The collectives of the TCP backend, written with point-to-point messages.

Each function runs on the communicator's worker thread with a :class:`Links` object that
sends to and receives from the other ranks under the collective's own tag. The topology is
the simplest correct one for a few ranks: the root talks to every rank directly, and the
all-to-all patterns send one message to each peer. Receives are posted before this rank's
sends so that arriving payloads land in their final buffers without a copy. Reductions
combine the ranks' arrays in rank order on one rank (rank 0, or the root), so every rank of an
``all_reduce`` gets bit-identical results, which data-parallel replicas need to stay in sync.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np

from .mesh import Posted, TransportError

__all__ = [
    "Links",
    "allgather",
    "allgather_objects",
    "allreduce",
    "alltoall",
    "alltoallv",
    "barrier",
    "bcast",
    "bcast_object",
    "gather",
    "gather_objects",
    "reduce",
    "reduce_scatter_block",
    "scatter",
    "scatter_objects",
]


class Links:
    """Sends and receives between the ranks of one communicator, for one collective."""

    def __init__(
        self,
        rank: int,
        size: int,
        send: Callable[[int, Any], None],
        post: Callable[[int, np.ndarray | None], Posted],
        wait: Callable[[Posted], None],
    ):
        self.rank, self.size = rank, size
        self.send, self.post = send, post
        self._wait = wait

    def wait(self, p: Posted) -> Posted:
        """Block until ``p`` completed; raise TransportError if it failed."""
        self._wait(p)
        if p.error is not None:
            raise TransportError(p.error)
        return p

    def others(self) -> list[int]:
        return [r for r in range(self.size) if r != self.rank]


def _rows(arr: np.ndarray, n: int) -> np.ndarray:
    """``arr``'s bytes as ``n`` equal rows (views, for sending and receiving in place)."""
    return arr.reshape(-1).view(np.uint8).reshape(n, -1)


def _combine_in_order(blocks: list[np.ndarray], op: Any, out: np.ndarray) -> None:
    """``out = blocks[0] op blocks[1] op ...`` (left to right, in rank order)."""
    acc = np.array(blocks[0], copy=True)
    for b in blocks[1:]:
        op.combine(acc, b)
    np.copyto(out, acc)


def reduce(links: Links, buf: np.ndarray, op: Any, root: int) -> None:
    """Combine every rank's ``buf``; the result replaces ``buf`` on ``root`` only."""
    if links.rank != root:
        links.send(root, buf)
        return
    flat = buf.reshape(-1)
    posted = {r: links.post(r, np.empty_like(flat)) for r in links.others()}
    blocks = [flat if r == root else links.wait(posted[r]).buffer for r in range(links.size)]
    _combine_in_order(blocks, op, flat)


def bcast(links: Links, buf: np.ndarray, root: int) -> None:
    """Copy ``root``'s ``buf`` into every rank's ``buf``."""
    if links.rank == root:
        for r in links.others():
            links.send(r, buf)
    else:
        links.wait(links.post(root, buf))


def allreduce(links: Links, buf: np.ndarray, op: Any) -> None:
    """Reduce to rank 0, then broadcast: every rank ends with the same bits."""
    reduce(links, buf, op, 0)
    bcast(links, buf, 0)


def gather(links: Links, send: np.ndarray, recv: np.ndarray | None, root: int) -> None:
    """Rank ``r``'s ``send`` into row ``r`` of ``recv`` on ``root``."""
    if links.rank != root:
        links.send(root, send)
        return
    rows = _rows(recv, links.size)
    posted = [links.post(r, rows[r]) for r in links.others()]
    rows[root] = send.reshape(-1).view(np.uint8)
    for p in posted:
        links.wait(p)


def scatter(links: Links, send: np.ndarray | None, recv: np.ndarray, root: int) -> None:
    """Row ``r`` of ``root``'s ``send`` into rank ``r``'s ``recv``."""
    if links.rank != root:
        links.wait(links.post(root, recv))
        return
    rows = _rows(send, links.size)
    for r in links.others():
        links.send(r, rows[r])
    recv.reshape(-1).view(np.uint8)[:] = rows[root]


def allgather(links: Links, send: np.ndarray, recv: np.ndarray) -> None:
    """Every rank's ``send`` into row ``r`` of every rank's ``recv``."""
    rows = _rows(recv, links.size)
    posted = [links.post(r, rows[r]) for r in links.others()]
    rows[links.rank] = send.reshape(-1).view(np.uint8)
    for r in links.others():
        links.send(r, send)
    for p in posted:
        links.wait(p)


def alltoall(links: Links, send: np.ndarray, recv: np.ndarray) -> None:
    """Row ``j`` of rank ``i``'s ``send`` into row ``i`` of rank ``j``'s ``recv``."""
    srows, rrows = _rows(send, links.size), _rows(recv, links.size)
    posted = [links.post(r, rrows[r]) for r in links.others()]
    rrows[links.rank] = srows[links.rank]
    for r in links.others():
        links.send(r, srows[r])
    for p in posted:
        links.wait(p)


def alltoallv(
    links: Links, send: np.ndarray, sparts: tuple, recv: np.ndarray, rparts: tuple
) -> None:
    """As :func:`alltoall` with a byte count and offset per peer (``(counts, displs)``)."""
    sbytes, rbytes = send.reshape(-1).view(np.uint8), recv.reshape(-1).view(np.uint8)
    (scounts, sdispls), (rcounts, rdispls) = sparts, rparts

    def piece(arr: np.ndarray, counts: list, displs: list, r: int) -> np.ndarray:
        return arr[int(displs[r]) : int(displs[r]) + int(counts[r])]

    posted = [links.post(r, piece(rbytes, rcounts, rdispls, r)) for r in links.others()]
    me = links.rank
    mine = piece(sbytes, scounts, sdispls, me)
    target = piece(rbytes, rcounts, rdispls, me)
    if mine.size != target.size:
        raise TransportError(
            f"alltoallv: this rank sends {mine.size} bytes to itself but expects {target.size}"
        )
    target[:] = mine
    for r in links.others():
        links.send(r, piece(sbytes, scounts, sdispls, r))
    for p in posted:
        links.wait(p)
        if p.nbytes != p.buffer.nbytes:
            raise TransportError(
                f"alltoallv: received {p.nbytes} bytes where {p.buffer.nbytes} were expected"
            )


def reduce_scatter_block(links: Links, send: np.ndarray, recv: np.ndarray, op: Any) -> None:
    """Combine block ``r`` of every rank's ``send`` (``size`` equal blocks) into rank ``r``'s
    ``recv``, in rank order."""
    blocks = send.reshape(links.size, -1)
    me = links.rank
    posted = {r: links.post(r, np.empty_like(blocks[me])) for r in links.others()}
    for r in links.others():
        links.send(r, np.ascontiguousarray(blocks[r]))
    parts = [blocks[me] if r == me else links.wait(posted[r]).buffer for r in range(links.size)]
    _combine_in_order(parts, op, recv.reshape(-1))


def barrier(links: Links) -> None:
    """Return once every rank has entered (an empty message to and from every peer)."""
    posted = [links.post(r, None) for r in links.others()]
    for r in links.others():
        links.send(r, b"")
    for p in posted:
        links.wait(p)


# -- pickled objects (the ranks trust each other, as with torch's object collectives) -------
def bcast_object(links: Links, obj: Any, root: int) -> Any:
    if links.rank == root:
        data = pickle.dumps(obj)
        for r in links.others():
            links.send(r, data)
        return obj
    return pickle.loads(links.wait(links.post(root, None)).data)


def gather_objects(links: Links, obj: Any, root: int) -> list | None:
    if links.rank != root:
        links.send(root, pickle.dumps(obj))
        return None
    posted = {r: links.post(r, None) for r in links.others()}
    return [
        obj if r == root else pickle.loads(links.wait(posted[r]).data) for r in range(links.size)
    ]


def scatter_objects(links: Links, objs: Any, root: int) -> Any:
    if links.rank != root:
        return pickle.loads(links.wait(links.post(root, None)).data)
    items = list(objs)
    if len(items) != links.size:
        raise TransportError(f"scatter: {len(items)} objects for {links.size} ranks")
    for r in links.others():
        links.send(r, pickle.dumps(items[r]))
    return items[root]


def allgather_objects(links: Links, obj: Any) -> list:
    posted = {r: links.post(r, None) for r in links.others()}
    data = pickle.dumps(obj)
    for r in links.others():
        links.send(r, data)
    return [
        obj if r == links.rank else pickle.loads(links.wait(posted[r]).data)
        for r in range(links.size)
    ]
