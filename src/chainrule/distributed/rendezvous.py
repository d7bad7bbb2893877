"""``rendezvous`` and ``register_rendezvous_handler``: how processes find each other.

A rendezvous turns a URL into the triple every process needs before it can connect: a
store all of them share, this process's rank and the number of processes. As in PyTorch a
handler is a generator function ``handler(url, **kwargs)`` chosen by the URL's scheme; it
yields the triple once (a second ``next`` raises, as a re-rendezvous is not possible). Three
handlers come built in, the ones ``init_process_group`` understands:

* ``env://``: a :class:`TCPStore` on ``MASTER_ADDR:MASTER_PORT`` (served by rank 0), the rank
  and world size from the URL's query or else from ``RANK`` and ``WORLD_SIZE``;
* ``tcp://host:port?rank=R&world_size=N``: a :class:`TCPStore` on that address;
* ``file:///path?rank=R&world_size=N``: a :class:`FileStore` in that file.

A handler registered for another scheme is what ``init_process_group(init_method=
"scheme://...")`` then uses (its store must be a ``cr.distributed`` store).
"""

from __future__ import annotations

import datetime
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from .tcp import FileStore, Store
from .tcp.rendezvous import _env_error, _env_value, _integer, _tcp_store

__all__ = ["from_user_handler", "is_user_scheme", "register_rendezvous_handler", "rendezvous"]

Rendezvous = Iterator[tuple[Store, int, int]]

_DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)  # as init_process_group's default


def _query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlparse(url).query))


def _timeout_s(kwargs: dict[str, Any]) -> float:
    timeout = kwargs.get("timeout", _DEFAULT_TIMEOUT)
    return float(timeout.total_seconds())


def _no_rerendezvous(scheme: str, word: str = "re-rendezvous") -> RuntimeError:
    return RuntimeError(f"Unable to perform {word} using {scheme}:// method")


def _rank_and_size(url: str, scheme: str) -> tuple[int, int]:
    query = _query(url)
    if "rank" not in query:
        raise _env_error(scheme, "rank parameter missing")
    if "world_size" not in query:
        raise _env_error(scheme, "world size parameter missing")
    return _integer(query["rank"], "rank", scheme), _integer(
        query["world_size"], "world_size", scheme
    )


def _env_handler(url: str, **kwargs: Any) -> Rendezvous:
    """``env://``: rank and world size from the query, else ``RANK``/``WORLD_SIZE``."""
    query = _query(url)
    rank = _integer(query.get("rank") or _env_value("RANK"), "RANK", "env")
    world_size = _integer(query.get("world_size") or _env_value("WORLD_SIZE"), "WORLD_SIZE", "env")
    host = _env_value("MASTER_ADDR")
    port = _integer(_env_value("MASTER_PORT"), "MASTER_PORT", "env")
    yield _tcp_store(host, port, rank, world_size, _timeout_s(kwargs)), rank, world_size
    raise _no_rerendezvous("env")


def _tcp_handler(url: str, **kwargs: Any) -> Rendezvous:
    """``tcp://host:port?rank=R&world_size=N``: a TCPStore on that address."""
    parsed = urllib.parse.urlparse(url)
    if not parsed.port:
        raise _env_error("tcp", "port number missing")
    rank, world_size = _rank_and_size(url, "tcp")
    store = _tcp_store(parsed.hostname or "", parsed.port, rank, world_size, _timeout_s(kwargs))
    yield store, rank, world_size
    raise _no_rerendezvous("tcp")


def _file_handler(url: str, **kwargs: Any) -> Rendezvous:
    """``file:///path?rank=R&world_size=N``: a FileStore in that file (the path only: in
    ``file://name`` the name is a host, so the path is missing, as PyTorch answers)."""
    parsed = urllib.parse.urlparse(url)
    if not parsed.path:
        raise _env_error("file", "path missing")
    rank, world_size = _rank_and_size(url, "file")
    store = FileStore(urllib.parse.unquote(parsed.path), world_size)
    store.set_timeout(datetime.timedelta(seconds=_timeout_s(kwargs)))
    yield store, rank, world_size
    raise _no_rerendezvous("file", "rerendezvous")


_HANDLERS: dict[Any, Callable[..., Rendezvous]] = {
    "env": _env_handler,
    "tcp": _tcp_handler,
    "file": _file_handler,
}


def register_rendezvous_handler(scheme: str, handler: Callable[..., Rendezvous]) -> None:
    """Make URLs ``scheme://...`` rendezvous through ``handler``.

    ``handler(url, **kwargs)`` must return an iterator (a generator function) whose first item
    is ``(store, rank, world_size)``. The scheme is matched as :func:`urllib.parse.urlparse`
    reads it, in lower case, so register it in lower case.

    Raises:
        RuntimeError: a handler is already registered for ``scheme`` (``env``, ``tcp`` and
            ``file`` are built in).
    """
    if scheme in _HANDLERS:
        raise RuntimeError(f"Rendezvous handler for {scheme}:// already registered")
    _HANDLERS[scheme] = handler


def _check_int(value: Any, name: str) -> None:
    if not isinstance(value, int):
        raise RuntimeError(f"`{name}` must be an integer. {value}")


def rendezvous(url: str, rank: int = -1, world_size: int = -1, **kwargs: Any) -> Rendezvous:
    """The handler of ``url``'s scheme, called: an iterator yielding ``(store, rank,
    world_size)``.

    A ``rank`` or ``world_size`` other than -1 is added to the URL's query (``rank=..``,
    ``world_size=..``) before the handler sees it; ``kwargs`` (e.g. ``timeout``, a
    ``timedelta``: how long the store waits) are passed to the handler.

    Raises:
        RuntimeError: ``url`` is not a string, ``rank``/``world_size`` not integers, or no
            handler is registered for the scheme.
        AssertionError: ``rank``/``world_size`` given while the URL's query has one already.
    """
    if not isinstance(url, str):
        raise RuntimeError(f"`url` must be a string. {type(url)}: {url}")
    _check_int(rank, "rank")
    _check_int(world_size, "world_size")
    if rank != -1 or world_size != -1:
        parsed = urllib.parse.urlparse(url)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        if "rank" in query or "world_size" in query:
            raise AssertionError(
                f"The url: {url} has node-specific arguments(rank, world_size) already."
            )
        extra = [f"rank={rank}"] if rank != -1 else []
        extra += [f"world_size={world_size}"] if world_size != -1 else []
        url = url + ("&" if parsed.query else "?") + "&".join(extra)
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in _HANDLERS:
        raise RuntimeError(f"No rendezvous handler for {scheme}://")
    return _HANDLERS[scheme](url, **kwargs)


def is_user_scheme(init_method: str | None) -> bool:
    """True when ``init_method`` has a scheme other than the built-in env, tcp and file:
    ``init_process_group`` then rendezvous through :func:`from_user_handler` (which says when
    no handler is registered for it)."""
    if init_method in (None, "env://"):
        return False
    return urllib.parse.urlparse(str(init_method)).scheme not in ("env", "tcp", "file")


def from_user_handler(
    init_method: str, rank: int, world_size: int, timeout_s: float
) -> tuple[Store, int, int]:
    """``(store, rank, world_size)`` from the handler registered for ``init_method``'s scheme,
    called as PyTorch's ``init_process_group`` calls it (rank and world size in the URL when
    given, ``timeout`` as a keyword)."""
    found = rendezvous(init_method, rank, world_size, timeout=datetime.timedelta(seconds=timeout_s))
    return next(found)
