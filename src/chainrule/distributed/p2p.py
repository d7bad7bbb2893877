"""Point-to-point transfers: ``send``/``recv`` and their non-blocking ``isend``/``irecv``.

Messages are matched by (source, tag) in MPI order, on the process group's own communicator,
so they never mix with collectives or with the user's own mpi4py traffic. ``recv`` without a
``src`` takes a message from any rank and returns the sender's rank, as in PyTorch.
``batch_isend_irecv`` starts a list of :class:`P2POp` sends and receives together.
"""

from __future__ import annotations

from collections.abc import Callable

from ..autograd.tensor import Tensor
from .checks import array_of, writable_buffer
from .group import ProcessGroup, _mpi, group_of, root_rank
from .membership import member_only
from .work import Work

__all__ = ["P2POp", "batch_isend_irecv", "irecv", "isend", "recv", "send"]


def _peer(
    peer: int | None, group_peer: int | None, name: str, where: str, group: ProcessGroup
) -> int:
    if peer is None and group_peer is None:
        raise ValueError(f"{where}: {name} (or group_{name}) is required")
    value = root_rank(group, peer, group_peer, name, where)
    if value == group.rank():
        raise ValueError(
            f"{where}: {name} is this process's own rank ({group.ranks[value]}); send/recv "
            "need two different ranks"
        )
    return value


def _tag(tag: int, where: str) -> int:
    tag = int(tag)
    if tag < 0:
        raise ValueError(f"{where}: tag must be non-negative, got {tag}")
    return tag


@member_only()
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


@member_only()
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
        return g.ranks[status.Get_source()]  # the sender's global rank, as PyTorch

    return Work([req], finish, where, g.timeout_s, g.rank(), [tensor], statuses=[status])


def send(
    tensor: Tensor,
    dst: int | None = None,
    group: ProcessGroup | None = None,
    tag: int = 0,
    group_dst: int | None = None,
) -> None:
    """Send ``tensor`` to rank ``dst`` and wait until the buffer may be reused. On a rank
    outside ``group``: ``ValueError("Invalid process group specified")``, as PyTorch."""
    group_of(group)
    isend(tensor, dst, group, tag, group_dst).wait()


@member_only(-1, "irecv")
def recv(
    tensor: Tensor,
    src: int | None = None,
    group: ProcessGroup | None = None,
    tag: int = 0,
    group_src: int | None = None,
) -> int:
    """Receive into ``tensor`` from ``src`` (any rank when None); returns the sender's global
    rank (-1 on a rank outside ``group``, with PyTorch's warning)."""
    group_of(group)
    work = irecv(tensor, src, group, tag, group_src)
    work.wait()
    return work._value


class P2POp:
    """One send or receive for :func:`batch_isend_irecv`: ``op`` is :func:`isend` or
    :func:`irecv`, ``peer`` the other process's global rank (or ``group_peer`` its rank in
    ``group``), ``tag`` matches a send with a receive."""

    def __init__(
        self,
        op: Callable,
        tensor: Tensor,
        peer: int | None = None,
        group: ProcessGroup | None = None,
        tag: int = 0,
        group_peer: int | None = None,
    ):
        if op not in (isend, irecv):
            raise ValueError(
                "Invalid ``op``. Expected ``op`` to be of type ``cr.distributed.isend`` or "
                f"``cr.distributed.irecv``, got {getattr(op, '__name__', op)!r}."
            )
        if not isinstance(tensor, Tensor):
            raise TypeError(
                "Invalid function argument. Expected parameter `tensor` of type cr.Tensor but "
                f"got {type(tensor)} instead."
            )
        g = group_of(group)
        if peer is None and group_peer is None:
            raise ValueError("P2POp: peer (a global rank) or group_peer (a group rank) is required")
        index = root_rank(g, peer, group_peer, "peer", "P2POp")
        self.op = op
        self.tensor = tensor
        self.group = g
        self.peer = g.ranks[index]
        self.group_peer = index
        self.tag = tag

    def __repr__(self) -> str:
        return (
            f"P2POp({self.op.__name__} peer={self.peer}, group_peer={self.group_peer}, "
            f"tag={self.tag}, shape={tuple(self.tensor.shape)}, dtype={self.tensor.dtype})"
        )


def batch_isend_irecv(p2p_op_list: list) -> list[Work]:
    """Start every send and receive of ``p2p_op_list`` and return their :class:`Work` handles.

    All are MPI non-blocking operations started before any is waited on, so the order of the
    list cannot deadlock; several messages between the same two ranks in the same direction
    match in list order.
    """
    if not p2p_op_list:
        raise IndexError("batch_isend_irecv: p2p_op_list is empty; pass at least one P2POp")
    if not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError(
            "Invalid ``p2p_op_list``. Each op is expected to to be of type "
            "``cr.distributed.P2POp``."
        )
    return [
        p.op(p.tensor, group=p.group, tag=p.tag, **{f"group_{_ROLE[p.op]}": p.group_peer})
        for p in p2p_op_list
    ]


_ROLE = {isend: "dst", irecv: "src"}
