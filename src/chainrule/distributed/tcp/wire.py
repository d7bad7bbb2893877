"""Byte-level helpers for the TCP backend: exact reads, listening and connecting sockets.

Every connection of the backend (store clients, the mesh between ranks) is a plain stream
socket; a message is a fixed-size header followed by its payload, read with
:func:`recv_exact` / :func:`recv_into` so that short reads never split a message.
"""

from __future__ import annotations

import socket
import time

__all__ = ["PeerClosed", "connect", "listen", "recv_exact", "recv_into", "set_nodelay"]


class PeerClosed(ConnectionError):
    """The other end closed the connection (end of stream) in the middle of a message."""


def recv_into(sock: socket.socket, view: memoryview) -> None:
    """Fill ``view`` (a byte memoryview) from ``sock``; PeerClosed on end of stream."""
    got, n = 0, len(view)
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise PeerClosed("connection closed by peer")
        got += k


def recv_exact(sock: socket.socket, n: int, eof_ok: bool = False) -> bytes | None:
    """``n`` bytes from ``sock``; None at a clean end of stream when ``eof_ok`` (no byte of
    the message read yet), PeerClosed otherwise."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            if got == 0 and eof_ok:
                return None
            raise PeerClosed("connection closed by peer")
        got += k
    return bytes(buf)


def set_nodelay(sock: socket.socket) -> None:
    """Send small messages at once (collectives are latency-bound)."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def listen(port: int = 0, backlog: int = 128) -> socket.socket:
    """A listening socket on every interface (IPv6 and IPv4 where the system allows), with
    ``SO_REUSEADDR`` so that a port freed by a finished run can be bound again at once."""
    if socket.has_dualstack_ipv6():
        try:
            return socket.create_server(
                ("", port), family=socket.AF_INET6, backlog=backlog, dualstack_ipv6=True
            )
        except OSError:
            pass
    return socket.create_server(("", port), family=socket.AF_INET, backlog=backlog)


def connect(host: str, port: int, deadline: float) -> socket.socket:
    """Connect to ``host:port``, retrying until ``deadline`` (``time.monotonic``) while the
    other side is not listening yet.

    Raises:
        TimeoutError: no connection before the deadline (the last error is chained).
    """
    delay = 0.01
    last: Exception | None = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"could not connect to ({host}, {port})") from last
        try:
            sock = socket.create_connection((host, port), timeout=max(left, 0.01))
        except OSError as exc:
            last = exc
            time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, 0.5)
            continue
        sock.settimeout(None)
        set_nodelay(sock)
        return sock
