"""Collectives and point-to-point transfers of picklable Python objects (``*_object*``).

As in PyTorch these pickle the objects, so use them only between your own processes, for small
metadata (a run directory, a metric); tensors go through the array collectives. The
point-to-point ones (``send_object_list``/``recv_object_list``) use a tag of their own (one below
MPI's largest), so they never match a tensor ``send``/``recv`` between the same ranks.
"""

from __future__ import annotations

import time
from typing import Any

from .group import ProcessGroup, _mpi, group_of, max_tag, root_rank
from .membership import member_only
from .work import DistBackendError, wait_requests

__all__ = [
    "all_gather_object",
    "broadcast_object_list",
    "gather_object",
    "recv_object_list",
    "scatter_object_list",
    "send_object_list",
]


def _check_device(device: Any, where: str) -> None:
    if device is not None and str(getattr(device, "type", device)).split(":")[0] != "cpu":
        raise NotImplementedError(
            f"{where}: device={device!r}: the MPI backend moves the pickled objects through CPU "
            "memory; leave device out or pass 'cpu'"
        )


@member_only()
def broadcast_object_list(
    object_list: list,
    src: int | None = None,
    group: ProcessGroup | None = None,
    device: Any = None,
    group_src: int | None = None,
) -> None:
    """Replace every rank's ``object_list`` items, in place, with rank ``src``'s (a global rank;
    ``group_src`` is a rank of ``group``)."""
    where = "broadcast_object_list"
    g = group_of(group)
    _check_device(device, where)
    root = root_rank(g, src, group_src, "src", where)
    if not isinstance(object_list, list):
        raise TypeError(
            f"broadcast_object_list: object_list must be a list, got {type(object_list).__name__}"
        )
    received = g.comm.bcast(object_list if g.rank() == root else None, root=root)
    if len(received) != len(object_list):
        raise ValueError(
            f"broadcast_object_list: rank {g.ranks[root]} sent {len(received)} objects but "
            f"this rank's list has {len(object_list)} slots"
        )
    object_list[:] = received


@member_only()
def all_gather_object(object_list: list, obj: Any, group: ProcessGroup | None = None) -> None:
    """Fill ``object_list`` (length world_size) with every rank's ``obj``."""
    g = group_of(group)
    if not isinstance(object_list, list) or len(object_list) != g.size():
        raise ValueError(
            f"all_gather_object: object_list must be a list of world_size={g.size()} slots"
        )
    object_list[:] = g.comm.allgather(obj)


@member_only()
def gather_object(
    obj: Any,
    object_gather_list: list | None = None,
    dst: int | None = None,
    group: ProcessGroup | None = None,
    group_dst: int | None = None,
) -> None:
    """Every rank's ``obj`` into ``object_gather_list`` on rank ``dst``."""
    g = group_of(group)
    root = root_rank(g, dst, group_dst, "dst", "gather_object")
    gathered = g.comm.gather(obj, root=root)
    if g.rank() == root:
        if not isinstance(object_gather_list, list) or len(object_gather_list) != g.size():
            raise ValueError(
                f"gather_object: object_gather_list must be a list of world_size="
                f"{g.size()} slots on the destination rank"
            )
        object_gather_list[:] = gathered


@member_only()
def scatter_object_list(
    scatter_object_output_list: list,
    scatter_object_input_list: list | None = None,
    src: int | None = None,
    group: ProcessGroup | None = None,
    group_src: int | None = None,
) -> None:
    """Rank ``src``'s ``scatter_object_input_list[r]`` into element 0 of rank ``r``'s
    ``scatter_object_output_list`` (the input list is ignored on the other ranks)."""
    where = "scatter_object_list"
    g = group_of(group)
    root = root_rank(g, src, group_src, "src", where)
    if not isinstance(scatter_object_output_list, list) or not scatter_object_output_list:
        raise ValueError(
            "Expected argument scatter_object_output_list to be a list of size at least 1."
        )
    send = None
    if g.rank() == root:
        if scatter_object_input_list is None:
            raise ValueError("source rank must provide non-None scatter_object_input_list")
        send = list(scatter_object_input_list)
        if len(send) != g.size():
            raise ValueError(
                f"{where}: scatter_object_input_list has {len(send)} objects; it must hold one "
                f"per rank of the group ({g.size()})"
            )
    scatter_object_output_list[0] = g.comm.scatter(send, root=root)


def _object_tag(comm: Any) -> int:
    return max_tag() - 1


@member_only()
def send_object_list(
    object_list: list,
    dst: int | None = None,
    group: ProcessGroup | None = None,
    device: Any = None,
    group_dst: int | None = None,
    use_batch: bool = False,
) -> None:
    """Send the objects of ``object_list`` to rank ``dst``, which receives them with
    :func:`recv_object_list` into a list of the same length. ``use_batch`` changes nothing
    here (MPI needs no extra communicator for a pair of ranks)."""
    where = "send_object_list"
    g = group_of(group)
    _check_device(device, where)
    if dst is None and group_dst is None:
        raise ValueError(f"{where}: dst (or group_dst) is required")
    peer = root_rank(g, dst, group_dst, "dst", where)
    if peer == g.rank():
        raise ValueError(
            "Invalid destination rank: destination rank should not be the same as the rank "
            "of the current process."
        )
    req = g.comm.isend(list(object_list), dest=peer, tag=_object_tag(g.comm))
    wait_requests([req], g.timeout_s, where, g.rank())


@member_only()
def recv_object_list(
    object_list: list,
    src: int | None = None,
    group: ProcessGroup | None = None,
    device: Any = None,
    group_src: int | None = None,
    use_batch: bool = False,
) -> int:
    """Replace ``object_list``'s items with those rank ``src`` sent (from any rank when
    ``src`` and ``group_src`` are None); returns the sender's global rank.

    Raises:
        ValueError: the sender sent a different number of objects than ``object_list`` holds.
        DistBackendError: nothing arrived within the process group's timeout.
    """
    where = "recv_object_list"
    g = group_of(group)
    _check_device(device, where)
    MPI = _mpi()
    source = MPI.ANY_SOURCE
    if src is not None or group_src is not None:
        source = root_rank(g, src, group_src, "src", where)
        if source == g.rank():
            raise ValueError(
                "Invalid source rank: source rank should not be the same as the rank of the "
                "current process."
            )
    if not isinstance(object_list, list):
        raise TypeError(f"{where}: object_list must be a list, got {type(object_list).__name__}")
    status = MPI.Status()
    start, spins = time.monotonic(), 0
    while (msg := g.comm.improbe(source=source, tag=_object_tag(g.comm), status=status)) is None:
        spins += 1
        if spins > 200:
            time.sleep(min(1e-3, 1e-6 * (spins - 200)))
        if spins % 16 == 0 and time.monotonic() - start > g.timeout_s:
            raise DistBackendError(
                f"{where}: rank {g.rank()} timed out after {g.timeout_s:g} s waiting for objects "
                "from the sender"
            )
    received = msg.recv()
    sender = g.ranks[status.Get_source()]
    if len(received) != len(object_list):
        raise ValueError(
            f"{where}: rank {sender} sent {len(received)} objects but this rank's list has "
            f"{len(object_list)} slots; sender and receiver must use lists of the same length"
        )
    object_list[:] = received
    return sender
