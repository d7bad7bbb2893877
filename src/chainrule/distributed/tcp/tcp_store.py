"""``TCPStore``: a store served over TCP by one process (the master), used by all ranks.

The master runs a small server (a thread per client connection) around a :class:`KeyTable`;
every ``TCPStore`` object, the master's included, is a client with one connection. A request
is a command byte and a list of byte strings; the server answers with a status byte and a
list of byte strings. Nothing is unpickled, so a stray connection to the port cannot run
code. Blocking ``get``/``wait`` wait on the server, which answers when the keys appear or the
client's timeout passed. The server's socket sets ``SO_REUSEADDR``, so a run may reuse the
port of the run that just ended.
"""

from __future__ import annotations

import datetime
import socket
import struct
import threading
import time

from .store import DistNetworkError, DistStoreError, KeyTable, Store
from .wire import PeerClosed, connect, listen, recv_exact, set_nodelay

__all__ = ["TCPStore"]

_SET, _GET, _ADD, _CAS, _WAIT, _CHECK, _DEL, _NUM = range(8)
_OK, _TIMEOUT, _ERROR = range(3)
_WORKERS = "__cr_store_workers"
_COUNT = struct.Struct("<BI")
_LEN = struct.Struct("<I")


def _send_parts(sock: socket.socket, code: int, parts: list[bytes]) -> None:
    chunks = [_COUNT.pack(code, len(parts))]
    for p in parts:
        chunks += [_LEN.pack(len(p)), p]
    sock.sendall(b"".join(chunks))


def _recv_parts(sock: socket.socket, eof_ok: bool = False) -> tuple[int, list[bytes]] | None:
    head = recv_exact(sock, _COUNT.size, eof_ok)
    if head is None:
        return None
    code, n = _COUNT.unpack(head)
    parts = []
    for _ in range(n):
        (length,) = _LEN.unpack(recv_exact(sock, _LEN.size))
        parts.append(recv_exact(sock, length))
    return code, parts


def _answer(table: KeyTable, cmd: int, args: list[bytes]) -> tuple[int, list[bytes]]:
    """The server's reply to one request."""
    if cmd == _SET:
        table.set(args[0].decode(), args[1])
        return _OK, []
    if cmd == _GET:
        value = table.get(args[0].decode(), int(args[1]) / 1000)
        return (_TIMEOUT, []) if value is None else (_OK, [value])
    if cmd == _ADD:
        return _OK, [str(table.add(args[0].decode(), int(args[1]))).encode()]
    if cmd == _CAS:
        return _OK, [table.compare_set(args[0].decode(), args[1], args[2])]
    if cmd == _WAIT:
        ok = table.wait([a.decode() for a in args[1:]], int(args[0]) / 1000)
        return (_OK if ok else _TIMEOUT), []
    if cmd == _CHECK:
        return _OK, [b"1" if table.check([a.decode() for a in args]) else b"0"]
    if cmd == _DEL:
        return _OK, [b"1" if table.delete(args[0].decode()) else b"0"]
    if cmd == _NUM:
        return _OK, [str(table.num_keys()).encode()]
    return _ERROR, [f"unknown store command {cmd}".encode()]


class _Server:
    """The master's server: accepts clients and answers their requests until closed."""

    def __init__(self, port: int):
        self.table = KeyTable()
        self.sock = listen(port)
        self.port = self.sock.getsockname()[1]
        self.clients: list[socket.socket] = []
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)  # notified as each client hangs up
        self.closed = False
        threading.Thread(target=self._accept, name="cr-tcpstore", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            set_nodelay(conn)
            with self.lock:
                self.clients.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            while (request := _recv_parts(conn, eof_ok=True)) is not None:
                code, parts = _answer(self.table, *request)
                _send_parts(conn, code, parts)
        except (OSError, ValueError, IndexError):
            pass
        finally:
            with self.lock:
                if conn in self.clients:
                    self.clients.remove(conn)
                self.idle.notify_all()
            conn.close()

    def close(self, linger: float = 0.0) -> None:
        """Stop accepting, then end the clients' connections: at once, or (``linger``
        seconds at most) once each client has hung up, so that a reply already being sent
        (the last rank's ``add`` that completed the rendezvous) still reaches it."""
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (Linux)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            if linger > 0:
                self.idle.wait_for(lambda: not self.clients, timeout=linger)
            clients = list(self.clients)
        for c in clients:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class TCPStore(Store):
    """A store on ``host_name:port`` served by the process with ``is_master=True``
    (``torch.distributed.TCPStore``).

    Args:
        host_name: the master's address.
        port: its port (the master may pass 0 to take a free one; read it back from ``port``).
        world_size: how many stores will connect; with ``wait_for_workers`` the master's
            constructor waits for all of them.
        is_master: run the server in this process.
        timeout: how long to connect, and how long ``get``/``wait`` wait.
        wait_for_workers: see ``world_size``.

    Raises:
        DistNetworkError: no server answered on ``host_name:port`` within ``timeout``.
        DistStoreError: the master's wait for the workers timed out.
    """

    def __init__(
        self,
        host_name: str,
        port: int,
        world_size: int | None = None,
        is_master: bool = False,
        timeout: datetime.timedelta = datetime.timedelta(seconds=300),
        wait_for_workers: bool = True,
        multi_tenant: bool = False,
        master_listen_fd: int | None = None,
        use_libuv: bool = True,
    ):
        super().__init__(timeout)
        if master_listen_fd is not None:
            raise NotImplementedError("TCPStore: master_listen_fd is not supported in chainrule")
        self.host = host_name
        self._server = _Server(int(port)) if is_master else None
        self.port = self._server.port if self._server is not None else int(port)
        self._lock = threading.Lock()
        seconds = timeout.total_seconds()
        try:
            self._sock = connect(host_name, self.port, time.monotonic() + seconds)
        except TimeoutError:
            if self._server is not None:
                self._server.close()
            raise DistNetworkError(
                f"The client socket has timed out after {int(seconds * 1000)}ms while trying "
                f"to connect to ({host_name}, {self.port})."
            ) from None
        self.local_host = self._sock.getsockname()[0]
        if self.local_host.startswith("::ffff:"):
            self.local_host = self.local_host[len("::ffff:") :]
        self._call(_ADD, [_WORKERS.encode(), b"1"])
        if is_master and world_size is not None and wait_for_workers:
            self._await_workers(int(world_size), seconds)

    def _await_workers(self, world_size: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while int(self._call(_ADD, [_WORKERS.encode(), b"0"])[1][0]) < world_size:
            if time.monotonic() > deadline:
                raise DistStoreError(
                    f"TCPStore: timed out after {int(seconds * 1000)}ms waiting for "
                    f"{world_size} workers to connect"
                )
            time.sleep(0.01)

    def _call(self, cmd: int, parts: list[bytes]) -> tuple[int, list[bytes]]:
        if self._sock is None:
            raise DistStoreError("TCPStore: the store was closed")
        try:
            with self._lock:
                _send_parts(self._sock, cmd, parts)
                reply = _recv_parts(self._sock)
        except (OSError, PeerClosed) as exc:
            raise DistNetworkError(
                f"TCPStore: lost the connection to the store at ({self.host}, {self.port}): {exc}"
            ) from None
        if reply[0] == _ERROR:
            raise DistStoreError(reply[1][0].decode())
        return reply

    @property
    def libuvBackend(self) -> bool:  # noqa: N802 - PyTorch's name
        return False

    def _set(self, key: str, value: bytes) -> None:
        self._call(_SET, [key.encode(), value])

    def _get(self, key: str, timeout: float) -> bytes | None:
        code, parts = self._call(_GET, [key.encode(), str(int(timeout * 1000)).encode()])
        return parts[0] if code == _OK else None

    def _add(self, key: str, amount: int) -> int:
        return int(self._call(_ADD, [key.encode(), str(amount).encode()])[1][0])

    def _compare_set(self, key: str, expected: bytes, desired: bytes) -> bytes:
        return self._call(_CAS, [key.encode(), expected, desired])[1][0]

    def _wait(self, keys: list[str], timeout: float) -> bool:
        ms = str(int(timeout * 1000)).encode()
        return self._call(_WAIT, [ms] + [k.encode() for k in keys])[0] == _OK

    def _check(self, keys: list[str]) -> bool:
        return self._call(_CHECK, [k.encode() for k in keys])[1][0] == b"1"

    def _delete(self, key: str) -> bool:
        return self._call(_DEL, [key.encode()])[1][0] == b"1"

    def _num_keys(self) -> int:
        return int(self._call(_NUM, [])[1][0])

    def close(self, linger: float = 0.0) -> None:
        """Close this client's connection, and the server if this is the master (also done
        when the store is garbage-collected, as PyTorch's destructor does); ``linger``: how
        long the server waits for the other clients to hang up first (see ``_Server``)."""
        sock, server = getattr(self, "_sock", None), getattr(self, "_server", None)
        self._sock, self._server = None, None
        if sock is not None:
            sock.close()
        if server is not None:
            server.close(linger)

    def __del__(self) -> None:
        self.close()
