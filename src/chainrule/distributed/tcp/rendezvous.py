"""Rendezvous of the TCP ("gloo") backend: find the ranks through a store, then connect them.

As in PyTorch the store comes from ``init_method``:

* ``"env://"`` (the default): a :class:`TCPStore` on ``MASTER_ADDR:MASTER_PORT`` served by
  rank 0; ``RANK`` and ``WORLD_SIZE`` come from the environment unless passed as arguments.
* ``"tcp://host:port"``: the same on that address; ``rank``/``world_size`` are arguments or
  the URL's query (``?rank=0&world_size=2``).
* ``"file:///path"``: a :class:`FileStore` in that file.
* or the caller's ``store=`` (then ``rank`` and ``world_size`` must be given).

Each rank then listens on a free port (on every interface), publishes ``host port`` under its
rank (the host from :func:`advertised_host`), connects to every lower rank and accepts the
higher ones (a full mesh), and checks in once connected; rank 0 waits for every check-in
before returning. A store made here for ``env://`` or
``tcp://`` is then closed at once (its port is free again when ``init_process_group``
returns); a ``file://`` store is left at ``destroy_process_group``.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import socket
import struct
import time
import urllib.parse
from typing import Any

from .comm import Comm
from .file_store import FileStore
from .mesh import Mesh
from .store import DistStoreError, Store
from .tcp_store import TCPStore
from .wire import connect, listen, recv_exact, set_nodelay

__all__ = ["advertised_host", "init_world"]

_HELLO = struct.Struct("<qq")
_SIOCGIFADDR = 0x8915
_MAGIC = 0x63725F676C6F6F  # "cr_gloo"
_GENERATION = [0]  # init_process_group calls in this process: a fresh key prefix for each


def _env_error(scheme: str, what: str) -> ValueError:
    return ValueError(f"Error initializing torch.distributed using {scheme}:// rendezvous: {what}")


def _env_value(name: str) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        raise _env_error("env", f"environment variable {name} expected, but not set")
    return value


def _integer(text: Any, name: str, scheme: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise _env_error(scheme, f"{name} must be an integer, got {text!r}") from None


def _from_env(rank: int, world_size: int, timeout_s: float) -> tuple[Store, int, int, bool]:
    if rank < 0:
        rank = _integer(_env_value("RANK"), "RANK", "env")
    if world_size < 0:
        world_size = _integer(_env_value("WORLD_SIZE"), "WORLD_SIZE", "env")
    host = _env_value("MASTER_ADDR")
    port = _integer(_env_value("MASTER_PORT"), "MASTER_PORT", "env")
    return _tcp_store(host, port, rank, world_size, timeout_s), rank, world_size, True


def _tcp_store(host: str, port: int, rank: int, size: int, timeout_s: float) -> TCPStore:
    return TCPStore(
        host, port, size, rank == 0, datetime.timedelta(seconds=timeout_s), wait_for_workers=False
    )


def _from_url(
    url: str, rank: int, world_size: int, timeout_s: float
) -> tuple[Store, int, int, bool]:
    parsed = urllib.parse.urlparse(url)
    query = dict(urllib.parse.parse_qsl(parsed.query))
    scheme = parsed.scheme
    if rank < 0:
        if "rank" not in query:
            raise _env_error(scheme, "rank parameter missing")
        rank = _integer(query["rank"], "rank", scheme)
    if world_size < 0:
        if "world_size" not in query:
            raise _env_error(scheme, "world size parameter missing")
        world_size = _integer(query["world_size"], "world_size", scheme)
    if scheme == "tcp":
        if not parsed.hostname or parsed.port is None:
            raise _env_error("tcp", f"port number missing in {url!r}")
        store = _tcp_store(parsed.hostname, parsed.port, rank, world_size, timeout_s)
        return store, rank, world_size, True
    path = urllib.parse.unquote(parsed.path if not parsed.netloc else parsed.netloc + parsed.path)
    return FileStore(path, world_size), rank, world_size, True


def _interface_address(name: str) -> str:
    """The IPv4 address of network interface ``name`` (Linux ``SIOCGIFADDR``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), _SIOCGIFADDR, struct.pack("256s", name[:15].encode()))
        except OSError as exc:
            raise ValueError(
                f"GLOO_SOCKET_IFNAME={name!r}: no IPv4 address for this interface ({exc})"
            ) from None
    return socket.inet_ntoa(packed[20:24])


def advertised_host(store: Store) -> str:
    """The address other ranks reach this one at: that of the interface named by
    ``GLOO_SOCKET_IFNAME`` (PyTorch's variable; the first of a comma-separated list) when set,
    else the one this process reaches the TCP store's host from, else this machine's name
    resolved, else the loopback address."""
    interface = os.environ.get("GLOO_SOCKET_IFNAME")
    if interface:
        return _interface_address(interface.split(",")[0].strip())
    inner = store
    while hasattr(inner, "underlying_store"):
        inner = inner.underlying_store
    if isinstance(inner, TCPStore):
        return inner.local_host
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def _connect_mesh(store: Store, prefix: str, rank: int, size: int, timeout_s: float) -> Mesh:
    deadline = time.monotonic() + timeout_s
    listener = listen(0)
    socks: dict[int, socket.socket] = {}
    try:
        port = listener.getsockname()[1]
        store.set(f"{prefix}addr/{rank}", f"{advertised_host(store)} {port}")
        for peer in range(rank):
            host, peer_port = store.get(f"{prefix}addr/{peer}").decode().rsplit(" ", 1)
            try:
                sock = connect(host, int(peer_port), deadline)
            except TimeoutError:
                raise DistStoreError(
                    f"init_process_group: rank {rank} could not connect to rank {peer} at "
                    f"{host}:{peer_port} within {timeout_s:g} s"
                ) from None
            sock.sendall(_HELLO.pack(_MAGIC, rank))
            socks[peer] = sock
        listener.settimeout(max(deadline - time.monotonic(), 0.001))
        while len(socks) < size - 1:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                missing = sorted(set(range(rank + 1, size)) - set(socks))
                raise DistStoreError(
                    f"init_process_group: rank {rank} timed out after {timeout_s:g} s waiting "
                    f"for ranks {missing} to connect"
                ) from None
            conn.settimeout(max(deadline - time.monotonic(), 0.001))
            magic, peer = _HELLO.unpack(recv_exact(conn, _HELLO.size))
            conn.settimeout(None)
            if magic != _MAGIC or not rank < peer < size or peer in socks:
                conn.close()
                continue
            set_nodelay(conn)
            socks[peer] = conn
    except BaseException:
        for s in socks.values():
            s.close()
        raise
    finally:
        listener.close()
    return Mesh(rank, size, socks)


def init_world(
    init_method: str | None,
    store: Store | None,
    world_size: int,
    rank: int,
    timeout_s: float,
) -> Comm:
    """Rendezvous and connect all ranks; the world communicator of this process.

    Raises:
        ValueError: a missing rank, world size or address (PyTorch's messages), or bad values.
        RuntimeError: an ``init_method`` scheme other than env, tcp and file.
        DistNetworkError / DistStoreError: the store or a peer could not be reached in time.
    """
    rank = -1 if rank is None else int(rank)
    world_size = -1 if world_size is None else int(world_size)
    if store is not None:
        if world_size <= 0:
            raise ValueError("world_size must be positive if using store")
        if rank < 0:
            raise ValueError("rank must be non-negative if using store")
        if not isinstance(store, Store):
            raise TypeError(
                "init_process_group: store must be a cr.distributed Store (TCPStore, FileStore, "
                f"HashStore, PrefixStore), got {type(store).__name__}"
            )
        owned = False
    elif init_method in (None, "env://"):
        store, rank, world_size, owned = _from_env(rank, world_size, timeout_s)
    else:
        scheme = urllib.parse.urlparse(str(init_method)).scheme
        if scheme not in ("tcp", "file"):
            raise RuntimeError(f"No rendezvous handler for {scheme}://")
        store, rank, world_size, owned = _from_url(init_method, rank, world_size, timeout_s)
    if world_size <= 0 or not 0 <= rank < world_size:
        raise ValueError(
            f"init_process_group: rank must be in [0, world_size), got rank={rank} and "
            f"world_size={world_size}"
        )
    _GENERATION[0] += 1
    prefix = f"cr_gloo/{_GENERATION[0]}/"
    try:
        mesh = _connect_mesh(store, prefix, rank, world_size, timeout_s)
        store.add(f"{prefix}ready", 1)
        if rank == 0:
            _wait_count(store, f"{prefix}ready", world_size, timeout_s)
    except BaseException:
        if owned:
            store.close()
        raise
    if owned and isinstance(store, TCPStore):
        # Nobody needs it any more: free MASTER_PORT now, so that a rank that finishes this
        # run early and starts the next one on the same port cannot reach this run's server.
        # The master lets the other ranks hang up first (each does so right after its
        # "ready"; a few seconds at most): closing their connections at once could cut the
        # reply to the last rank's add (seen as "connection closed by peer" under load).
        store.close(linger=min(timeout_s, 5.0))

    def release() -> None:
        mesh.close()
        if owned and isinstance(store, FileStore):
            store.close()  # the last rank to leave removes the file, as PyTorch

    comm = Comm(mesh, 0, list(range(world_size)), timeout_s, on_free=release)
    return comm


def _wait_count(store: Store, key: str, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while store.add(key, 0) < count:
        if time.monotonic() > deadline:
            raise DistStoreError(
                f"init_process_group: timed out after {timeout_s:g} s waiting for "
                f"{count} ranks to connect"
            )
        time.sleep(0.002)
