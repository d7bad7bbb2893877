"""The mesh: one TCP connection between every pair of ranks, and the mailbox that matches
arriving messages with posted receives.

A message carries a header of three int64: its channel (a communicator's context id, times
two, plus one for collectives), its tag and its length in bytes. Messages between two ranks
travel in order on their one connection; one reader thread per peer drains that connection
all the time, so a sender never blocks for long and two ranks sending to each other cannot
deadlock. The reader matches each message with the first posted receive of the same
(channel, source, tag), as MPI does, and reads the payload straight into that receive's
buffer; a message nobody waits for yet is kept ("unexpected") until a receive claims it.

When a connection breaks (the peer crashed or exited), every receive that waits on that
peer fails at once, as do later sends to it and receives from it, so no operation on a live
rank hangs on a dead one.
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any

import numpy as np

from .wire import recv_exact, recv_into

__all__ = ["ANY_SOURCE", "Mesh", "Posted", "TransportError"]

ANY_SOURCE = -1
_HEADER = struct.Struct("<qqq")


class TransportError(RuntimeError):
    """A connection to a peer broke, or a message did not fit its receive."""


class Posted:
    """A receive waiting for a message: its buffer (None: take a message of any size as
    bytes), and once done the source, the byte count and the data or the error."""

    __slots__ = ("channel", "source", "tag", "buffer", "done", "error", "data", "nbytes", "got")

    def __init__(self, channel: int, source: int, tag: int, buffer: np.ndarray | None):
        self.channel, self.source, self.tag = channel, source, tag
        self.buffer = buffer
        self.done = False
        self.error: str | None = None
        self.data: Any = None
        self.nbytes = 0
        self.got = -1  # the world rank it came from

    def matches(self, channel: int, source: int, tag: int) -> bool:
        return (
            self.channel == channel
            and self.tag == tag
            and (self.source == ANY_SOURCE or self.source == source)
        )


def _bytes_view(arr: np.ndarray) -> memoryview:
    return memoryview(arr.reshape(-1).view(np.uint8))


class Mesh:
    """Connections from this rank to every other rank of the world, with their readers."""

    def __init__(self, rank: int, size: int, socks: dict[int, socket.socket]):
        self.rank, self.size = rank, size
        self.socks = socks
        self.cond = threading.Condition()
        self.posted: list[Posted] = []
        self.unexpected: list[tuple[int, int, int, bytes]] = []  # channel, source, tag, data
        self.dead: dict[int, str] = {}
        self.closed = False
        self.next_context = 1  # 0 is the world communicator's
        self._send_locks = {peer: threading.Lock() for peer in socks}
        self._readers = [
            threading.Thread(
                target=self._read_loop, args=(peer, s), name=f"cr-gloo-recv-{peer}", daemon=True
            )
            for peer, s in socks.items()
        ]
        for t in self._readers:
            t.start()

    # -- sending -------------------------------------------------------------------------
    def send(self, dest: int, channel: int, tag: int, payload: np.ndarray | bytes) -> None:
        """Send one message to world rank ``dest`` (blocks only while the bytes go out)."""
        view = payload if isinstance(payload, (bytes, bytearray)) else _bytes_view(payload)
        if dest == self.rank:
            self._arrive(dest, channel, tag, bytes(view))
            return
        if dest in self.dead:
            raise TransportError(self._dead_text(dest))
        header = _HEADER.pack(channel, tag, len(view))
        try:
            with self._send_locks[dest]:
                self.socks[dest].sendall(header)
                if len(view):
                    self.socks[dest].sendall(view)
        except OSError as exc:
            self._mark_dead(dest, f"{type(exc).__name__}: {exc}")
            raise TransportError(self._dead_text(dest)) from None

    # -- receiving -----------------------------------------------------------------------
    def post(self, channel: int, source: int, tag: int, buffer: np.ndarray | None) -> Posted:
        """Post a receive; it completes at once when a matching message already arrived."""
        p = Posted(channel, source, tag, buffer)
        with self.cond:
            for i, (ch, src, tg, data) in enumerate(self.unexpected):
                if p.matches(ch, src, tg):
                    del self.unexpected[i]
                    self._fill(p, src, data)
                    self.cond.notify_all()
                    return p
            if source != ANY_SOURCE and source in self.dead:
                p.error, p.done = self._dead_text(source), True
                return p
            if self.closed:
                p.error, p.done = "the process group was destroyed", True
                return p
            self.posted.append(p)
        return p

    def cancel(self, p: Posted) -> bool:
        """Withdraw a receive that has not matched yet; False if it already completed."""
        with self.cond:
            if p in self.posted:
                self.posted.remove(p)
                p.error, p.done = "cancelled", True
                self.cond.notify_all()
                return True
            return False

    def probe(self, channel: int, source: int, tag: int) -> tuple[int, bytes] | None:
        """Take the first arrived message matching (channel, source, tag), or None."""
        with self.cond:
            for i, (ch, src, tg, data) in enumerate(self.unexpected):
                if ch == channel and tg == tag and source in (ANY_SOURCE, src):
                    del self.unexpected[i]
                    return src, data
            if source != ANY_SOURCE and source in self.dead:
                raise TransportError(self._dead_text(source))
        return None

    def wait(self, p: Posted, timeout: float | None = None) -> bool:
        """Block until ``p`` completed (True) or ``timeout`` seconds passed (False)."""
        with self.cond:
            return self.cond.wait_for(lambda: p.done, timeout)

    def _fill(self, p: Posted, source: int, data: bytes) -> None:
        p.got, p.nbytes = source, len(data)
        if p.buffer is None:
            p.data = data
        elif len(data) > p.buffer.nbytes:
            p.error = (
                f"message truncated: rank {source} sent {len(data)} bytes to a receive of "
                f"{p.buffer.nbytes} bytes (the tensors' shapes or dtypes differ)"
            )
        else:
            _bytes_view(p.buffer)[: len(data)] = data
        p.done = True  # last: a waiter that sees it finds the data in place

    def _arrive(self, source: int, channel: int, tag: int, data: bytes) -> None:
        with self.cond:
            for p in self.posted:
                if p.matches(channel, source, tag):
                    self.posted.remove(p)
                    self._fill(p, source, data)
                    break
            else:
                self.unexpected.append((channel, source, tag, data))
            self.cond.notify_all()

    def _read_loop(self, peer: int, sock: socket.socket) -> None:
        reason = "was closed by the peer"
        try:
            while True:
                header = recv_exact(sock, _HEADER.size, eof_ok=True)
                if header is None:
                    break
                channel, tag, n = _HEADER.unpack(header)
                with self.cond:
                    target = next((p for p in self.posted if p.matches(channel, peer, tag)), None)
                    direct = (
                        target is not None
                        and target.buffer is not None
                        and target.buffer.nbytes == n
                    )
                    if direct:
                        self.posted.remove(target)
                if direct:
                    recv_into(sock, _bytes_view(target.buffer))
                    with self.cond:
                        target.got, target.nbytes, target.done = peer, n, True
                        self.cond.notify_all()
                    continue
                data = bytearray(n)
                if n:
                    recv_into(sock, memoryview(data))
                self._arrive(peer, channel, tag, data)
        except OSError as exc:
            reason = f"broke ({type(exc).__name__}: {exc})"
        self._mark_dead(peer, reason)
        with self.cond:
            if self.closed:
                sock.close()

    def _mark_dead(self, peer: int, reason: str) -> None:
        with self.cond:
            if peer in self.dead:
                return
            self.dead[peer] = reason
            for p in [p for p in self.posted if p.source == peer]:
                self.posted.remove(p)
                p.error, p.done = self._dead_text(peer), True
            self.cond.notify_all()

    def _dead_text(self, peer: int) -> str:
        why = "the process group was destroyed" if self.closed else self.dead.get(peer, "")
        return (
            f"connection to rank {peer} {why}. This is typically caused by rank {peer} "
            "crashing or exiting; check its output."
        )

    def close(self) -> None:
        """Stop: fail pending receives, half-close every connection (what was sent still
        arrives) and let the readers end when the peers close their side."""
        with self.cond:
            self.closed = True
            for p in self.posted:
                p.error, p.done = "the process group was destroyed", True
            self.posted = []
            self.cond.notify_all()
        for s, reader in zip(self.socks.values(), self._readers):
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            if not reader.is_alive():
                s.close()
