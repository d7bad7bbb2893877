"""Point-to-point transfers: ``send``/``recv`` and their non-blocking ``isend``/``irecv``.

Messages are matched by (source, tag) in MPI order, on the process group's own communicator,
so they never mix with collectives or with the user's own mpi4py traffic. ``recv`` without a
``src`` takes a message from any rank and returns the sender's rank, as in PyTorch.
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from .checks import array_of, writable_buffer
from .group import ProcessGroup, _mpi, group_of
from .work import Work

__all__ = ["irecv", "isend", "recv", "send"]


def _peer(
    peer: int | None, group_peer: int | None, name: str, where: str, group: ProcessGroup
) -> int:
    value = group_peer if group_peer is not None else peer
    if value is None:
        raise ValueError(f"{where}: {name} is required")
    value = int(value)
    if not 0 <= value < group.size():
        raise ValueError(
            f"{where}: {name}={value} is not a rank of the group (size {tuple(group.size())})"
        )
    if value == group.rank():
        raise ValueError(
            f"{where}: {name}={value} is this process's own rank; send/recv "
            "need two different ranks"
        )
    return value


def _tag(tag: int, where: str) -> int:
    tag = int(tag)
    if tag < 0:
        raise ValueError(f"{where}: tag must be non-negative, got {tag}")
    return tag


def isend(
    tensor: Tensor,
    dst: int | None = None,
    group: ProcessGroup | None = None,
    tag: int = 0,
    group_dst: int | None = None,
) -> Work:
    """Start sending ``tensor`` to rank ``dst``; ``wait()`` before changing the tensor."""
    where = "cr.distributed.isend"
    g = group_of(group)
    peer = _peer(dst, group_dst, "dst", where, g)
    arr = array_of(tensor, where)
    buf = arr if arr.flags.c_contiguous else arr.copy()
    req = g.comm.Isend(buf, dest=peer, tag=_tag(tag, where))
    return Work([req], None, where, g.timeout_s, g.rank(), [tensor])


def irecv(
    tensor: Tensor,
    src: int | None = None,
    group: ProcessGroup | None = None,
    tag: int = 0,
    group_src: int | None = None,
) -> Work:
    """Start receiving into ``tensor`` from rank ``src`` (any rank when None)."""
    where = "cr.distributed.irecv"
    g = group_of(group)
    MPI = _mpi()
    source = (
        MPI.ANY_SOURCE
        if src is None and group_src is None
        else _peer(src, group_src, "src", where, g)
    )
    buf, done = writable_buffer(tensor, where)
    status = MPI.Status()
    req = g.comm.Irecv(buf, source=source, tag=_tag(tag, where))
    expected = buf.nbytes

    def finish() -> int:
        received = status.Get_count(MPI.BYTE)
        if received != expected:
            raise RuntimeError(
                f"{where}: received {received} bytes from rank "
                f"{status.Get_source()} but the tensor holds {expected}; sender "
                "and receiver must use tensors of the same shape and dtype"
            )
        done()
        return status.Get_source()

    return Work([req], finish, where, g.timeout_s, g.rank(), [tensor], statuses=[status])


def send(
    tensor: Tensor,
    dst: int | None = None,
    group: ProcessGroup | None = None,
    tag: int = 0,
    group_dst: int | None = None,
) -> None:
    """Send ``tensor`` to rank ``dst`` and wait until the buffer may be reused."""
    isend(tensor, dst, group, tag, group_dst).wait()


def recv(
    tensor: Tensor,
    src: int | None = None,
    group: ProcessGroup | None = None,
    tag: int = 0,
    group_src: int | None = None,
) -> int:
    """Receive into ``tensor`` from ``src`` (any rank when None); returns the sender's rank."""
    work = irecv(tensor, src, group, tag, group_src)
    work.wait()
    return work._value
