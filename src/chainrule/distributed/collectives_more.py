"""``all_to_all`` on lists of tensors, ``monitored_barrier``, and the ``*_single`` aliases.

``all_to_all`` lets every pair of ranks exchange a tensor of its own size (the tensors rank
``i`` sends to rank ``j`` and rank ``j`` receives from rank ``i`` must match, as PyTorch
requires), so it runs as one ``MPI_Ialltoallv`` over the tensors' bytes. Before it, unless the
debug level is ``OFF``, the ranks exchange their byte counts so that a mismatch raises the same
clear error everywhere instead of an MPI truncation error on one rank.

``monitored_barrier`` is a barrier that names the ranks that did not arrive: every rank checks
in with rank 0 and waits for its answer, using MPI's largest tag on the group's communicator.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Sequence

import numpy as np

from ..autograd.tensor import Tensor
from .checks import DebugLevel, array_of, check_consistent, get_debug_level
from .collectives import all_gather_into_tensor, reduce_scatter_tensor
from .group import ProcessGroup, _mpi, group_of, max_tag
from .membership import member_only
from .reduce_op import ReduceOp
from .work import DistBackendError, Work, wait_requests

__all__ = ["all_gather_single", "all_to_all", "monitored_barrier", "reduce_scatter_single"]


def _tensor_list(tensors: object, n: int, where: str, name: str) -> list[np.ndarray]:
    if not isinstance(tensors, Sequence) or isinstance(tensors, Tensor):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type List[cr.Tensor] "
            f"but got {type(tensors)} instead."
        )
    if len(tensors) != n:
        raise ValueError(f"{where}: {name} has {len(tensors)} tensors; expected world_size={n}")
    return [array_of(t, where, f"{name}[{i}]") for i, t in enumerate(tensors)]


def _check_counts(group: ProcessGroup, sent: np.ndarray, wanted: np.ndarray, where: str) -> None:
    """Every rank's byte counts to and from every other rank; the same error on all ranks
    when what rank i sends to rank j is not what rank j expects from rank i."""
    size = group.size()
    table = np.empty((size, 2, size), np.int64)
    req = group.comm.Iallgather(np.stack([sent, wanted]), table)
    wait_requests([req], group.timeout_s, where, group.rank())
    bad = [
        f"rank {i} sends {table[i, 0, j]} bytes to rank {j}, which expects {table[j, 1, i]}"
        for i in range(size)
        for j in range(size)
        if table[i, 0, j] != table[j, 1, i]
    ]
    if bad:
        raise RuntimeError(
            f"{where}: input and output tensors must have the same size for every pair of "
            f"ranks: {'; '.join(bad)}"
        )


@member_only()
def all_to_all(
    output_tensor_list: list,
    input_tensor_list: list,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Send ``input_tensor_list[j]`` to rank ``j`` and receive rank ``j``'s tensor for this rank
    into ``output_tensor_list[j]``, in place; the tensors may differ in size from pair to pair.
    """
    where = "cr.distributed.all_to_all"
    g = group_of(group)
    size = g.size()
    outs = _tensor_list(output_tensor_list, size, where, "output_tensor_list")
    ins = _tensor_list(input_tensor_list, size, where, "input_tensor_list")
    dtypes = {a.dtype for a in outs + ins}
    if len(dtypes) > 1:
        raise ValueError(
            "Invalid usage of tensors with different dtypes: found "
            f"{', '.join(sorted(map(str, dtypes)))} ({where})"
        )
    for i, a in enumerate(outs):
        if not a.flags.writeable:
            raise ValueError(f"{where}: output_tensor_list[{i}] is read-only")
    dtype = outs[0].dtype
    send = np.concatenate([np.ascontiguousarray(a).reshape(-1).view(np.uint8) for a in ins])
    scounts = np.array([a.nbytes for a in ins], np.int64)
    rcounts = np.array([a.nbytes for a in outs], np.int64)
    if get_debug_level() is not DebugLevel.OFF and size > 1:
        check_consistent(g, "all_to_all", (), dtype)
        _check_counts(g, scounts, rcounts, where)
    recv = np.empty(int(rcounts.sum()), np.uint8)
    sdispl = np.concatenate([[0], np.cumsum(scounts)[:-1]])
    rdispl = np.concatenate([[0], np.cumsum(rcounts)[:-1]])
    MPI = _mpi()
    req = g.comm.Ialltoallv(
        [send, (scounts.tolist(), sdispl.tolist()), MPI.BYTE],
        [recv, (rcounts.tolist(), rdispl.tolist()), MPI.BYTE],
    )

    def copy_out() -> None:
        for t, a, start, n in zip(output_tensor_list, outs, rdispl, rcounts):
            piece = recv[start : start + n].view(dtype).reshape(a.shape)
            np.copyto(a, piece)
            t._vc[0] += 1

    work = Work([req], copy_out, where, g.timeout_s, g.rank(), list(output_tensor_list))
    if async_op:
        return work
    work.wait()
    return None


def all_gather_single(
    output_tensor: Tensor,
    input_tensor: Tensor,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Same as :func:`all_gather_into_tensor` (PyTorch's other name for it)."""
    return all_gather_into_tensor(output_tensor, input_tensor, group, async_op)


def reduce_scatter_single(
    output: Tensor,
    input: Tensor,
    op: ReduceOp = ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Same as :func:`reduce_scatter_tensor` (PyTorch's other name for it)."""
    return reduce_scatter_tensor(output, input, op, group, async_op)


def _poll(requests: list, deadline: float) -> bool:
    """Wait for ``requests`` until ``deadline`` (``time.monotonic``); False if it passed."""
    MPI = _mpi()
    spins = 0
    while not MPI.Request.Testall(requests):
        spins += 1
        if spins > 200:
            time.sleep(min(1e-3, 1e-6 * (spins - 200)))
        if time.monotonic() > deadline:
            return False
    return True


@member_only()
def monitored_barrier(
    group: ProcessGroup | None = None,
    timeout: datetime.timedelta | None = None,
    wait_all_ranks: bool = False,
) -> None:
    """A barrier that reports which ranks did not reach it within ``timeout``.

    Every rank other than 0 checks in with rank 0 and waits for its answer; rank 0 waits for
    all of them. Rank 0 raises naming the first missing rank (all of them with
    ``wait_all_ranks=True``); the others raise when rank 0 does not answer in time.

    Raises:
        TypeError: ``timeout`` is not a ``datetime.timedelta``.
        DistBackendError: a rank did not arrive within ``timeout`` (default: the group's).
    """
    g = group_of(group)
    if timeout is not None and not isinstance(timeout, datetime.timedelta):
        raise TypeError(
            f"Expected timeout argument to be of type datetime.timedelta, got {timeout!r} "
            "(monitored_barrier)"
        )
    seconds = g.timeout_s if timeout is None else timeout.total_seconds()
    size, me = g.size(), g.rank()
    if size == 1:
        return
    MPI = _mpi()
    tag = max_tag()
    deadline = time.monotonic() + max(seconds, 0.0)
    ms = int(seconds * 1000)
    token = np.zeros(1, np.uint8)
    if me != 0:
        boxes = np.zeros(1, np.uint8)
        requests = [g.comm.Isend(token, dest=0, tag=tag), g.comm.Irecv(boxes, source=0, tag=tag)]
        if not _poll(requests, deadline):
            requests[1].Cancel()  # the answer that did not come; the check-in may stay queued
            requests[1].Wait()
            raise DistBackendError(
                f"[Rank {g.ranks[me]}]: monitored_barrier timed out after {ms} ms waiting for "
                "rank 0 (rank 0, or another rank rank 0 waits for, did not reach the barrier)"
            )
        return
    boxes = np.zeros(size, np.uint8)
    pending = {r: g.comm.Irecv(boxes[r : r + 1], source=r, tag=tag) for r in range(1, size)}
    missing = []
    for r, req in pending.items():
        if not _poll([req], deadline):
            missing.append(r)
            if not wait_all_ranks:
                break
    if missing:
        for req in pending.values():
            if req != MPI.REQUEST_NULL:
                req.Cancel()
                req.Wait()
        names = ", ".join(str(g.ranks[r]) for r in missing)
        label = "Rank" if len(missing) == 1 else "Ranks"
        raise DistBackendError(
            f"[Rank {g.ranks[0]}]: {label} {names} failed to pass monitoredBarrier in {ms} ms"
        )
    acks = [g.comm.Isend(token, dest=r, tag=tag) for r in range(1, size)]
    wait_requests(acks, seconds if seconds > 0 else None, "monitored_barrier", me)
