"""Collectives on tensors, in place on their NumPy buffers (``torch.distributed`` semantics).

Each function checks its arguments, runs the cross-rank consistency check (``checks.py``),
starts the MPI non-blocking collective on the tensors' own arrays (``MPI.IN_PLACE`` where the
result overwrites the input, so ``all_reduce`` copies nothing) and returns a :class:`Work`
with ``async_op=True`` or waits for it otherwise. Copies happen only where the API's layout
differs from MPI's: a list of output tensors (``all_gather``, ``gather``), a list of inputs
(``reduce_scatter``, ``scatter``), or a non-contiguous tensor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from .checks import array_of, check_consistent, writable_buffer
from .group import ProcessGroup, _mpi, group_of, root_rank
from .membership import member_only
from .reduce_op import ReduceOp, mpi_op
from .work import Work

__all__ = [
    "all_gather",
    "all_gather_into_tensor",
    "all_reduce",
    "all_to_all_single",
    "barrier",
    "broadcast",
    "gather",
    "reduce",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "scatter",
]

_OP_CODES = {op: i for i, op in enumerate(ReduceOp)}


def _run(
    group: ProcessGroup,
    request: Any,
    finish: Callable | None,
    where: str,
    async_op: bool,
    result: list,
) -> Work | None:
    work = Work([request], finish, where, group.timeout_s, group.rank(), result)
    if async_op:
        return work
    work.wait()
    return None


def _chain(*steps: Callable | None) -> Callable:
    def run() -> None:
        for step in steps:
            if step is not None:
                step()

    return run


def _avg(buf: np.ndarray, op: ReduceOp, size: int) -> Callable | None:
    if op is not ReduceOp.AVG:
        return None

    def divide() -> None:
        np.divide(buf, size, out=buf, casting="unsafe")

    return divide


@member_only()
def all_reduce(
    tensor: Tensor,
    op: ReduceOp = ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Reduce ``tensor`` over all ranks with ``op``; every rank gets the result in place."""
    where = "cr.distributed.all_reduce"
    g = group_of(group)
    buf, done = writable_buffer(tensor, where)
    mop = mpi_op(_mpi(), op, buf.dtype, where)
    check_consistent(g, "all_reduce", buf.shape, buf.dtype, (_OP_CODES[op], 0), ("op", ""))
    req = g.comm.Iallreduce(_mpi().IN_PLACE, buf, op=mop)
    return _run(g, req, _chain(_avg(buf, op, g.size()), done), where, async_op, [tensor])


@member_only()
def reduce(
    tensor: Tensor,
    dst: int | None = None,
    op: ReduceOp = ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
    group_dst: int | None = None,
) -> Work | None:
    """Reduce ``tensor`` over all ranks into rank ``dst``'s tensor (others keep theirs)."""
    where = "cr.distributed.reduce"
    g = group_of(group)
    root = root_rank(g, dst, group_dst, "dst", where)
    buf, done = writable_buffer(tensor, where)
    MPI = _mpi()
    mop = mpi_op(MPI, op, buf.dtype, where)
    check_consistent(g, "reduce", buf.shape, buf.dtype, (_OP_CODES[op], root), ("op", "dst"))
    if g.rank() == root:
        req = g.comm.Ireduce(MPI.IN_PLACE, buf, op=mop, root=root)
        finish = _chain(_avg(buf, op, g.size()), done)
    else:
        req = g.comm.Ireduce(buf, None, op=mop, root=root)
        finish = None
    return _run(g, req, finish, where, async_op, [tensor])


@member_only()
def broadcast(
    tensor: Tensor,
    src: int | None = None,
    group: ProcessGroup | None = None,
    async_op: bool = False,
    group_src: int | None = None,
) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into every other rank's ``tensor``, in place."""
    where = "cr.distributed.broadcast"
    g = group_of(group)
    root = root_rank(g, src, group_src, "src", where)
    buf, done = writable_buffer(tensor, where)
    check_consistent(g, "broadcast", buf.shape, buf.dtype, (root, 0), ("src", ""))
    req = g.comm.Ibcast(buf, root=root)
    return _run(g, req, done, where, async_op, [tensor])


def _check_list(
    tensors: Any, n: int, shape: tuple, dtype: np.dtype, where: str, name: str
) -> list[np.ndarray]:
    if not isinstance(tensors, Sequence) or len(tensors) != n:
        got = len(tensors) if isinstance(tensors, Sequence) else type(tensors).__name__
        raise ValueError(f"{where}: {name} must be a list of world_size={n} tensors, got {got}")
    arrays = [array_of(t, where, f"{name}[{i}]") for i, t in enumerate(tensors)]
    for i, a in enumerate(arrays):
        if a.shape != shape or a.dtype != dtype:
            raise ValueError(
                f"{where}: {name}[{i}] has shape {tuple(a.shape)} and dtype {a.dtype}; "
                f"expected shape {shape} and dtype {dtype} like the tensor"
            )
    return arrays


def _scatter_rows(stacked: np.ndarray, tensors: list) -> Callable:
    def copy_out() -> None:
        for row, t in zip(stacked, tensors):
            np.copyto(t._data, row)
            t._vc[0] += 1

    return copy_out


@member_only()
def all_gather(
    tensor_list: list, tensor: Tensor, group: ProcessGroup | None = None, async_op: bool = False
) -> Work | None:
    """Every rank's ``tensor``, gathered into ``tensor_list[r]`` on every rank."""
    where = "cr.distributed.all_gather"
    g = group_of(group)
    src = np.ascontiguousarray(array_of(tensor, where))
    _check_list(tensor_list, g.size(), src.shape, src.dtype, where, "tensor_list")
    check_consistent(g, "all_gather", src.shape, src.dtype)
    stacked = np.empty((g.size(),) + src.shape, src.dtype)
    req = g.comm.Iallgather(src, stacked)
    return _run(g, req, _scatter_rows(stacked, tensor_list), where, async_op, list(tensor_list))


def _stacked_shape(big: tuple, small: tuple, size: int, where: str, names: tuple) -> None:
    concat = (small[0] * size,) + small[1:] if small else None
    if big != concat and big != (size,) + small:
        raise ValueError(
            f"{where}: {names[0]} has shape {big}; with world_size={size} and "
            f"{names[1]} of shape {small} it must be {concat or '-'} (concatenated) "
            f"or {(size,) + small} (stacked)"
        )


@member_only()
def all_gather_into_tensor(
    output_tensor: Tensor,
    input_tensor: Tensor,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Every rank's ``input_tensor`` concatenated (dim 0) or stacked into ``output_tensor``."""
    where = "cr.distributed.all_gather_into_tensor"
    g = group_of(group)
    src = np.ascontiguousarray(array_of(input_tensor, where, "input_tensor"))
    out, done = writable_buffer(output_tensor, where, "output_tensor")
    _stacked_shape(out.shape, src.shape, g.size(), where, ("output_tensor", "input_tensor"))
    if out.dtype != src.dtype:
        raise ValueError(
            f"{where}: output_tensor dtype {out.dtype} differs from input_tensor dtype {src.dtype}"
        )
    check_consistent(g, "all_gather_into_tensor", src.shape, src.dtype)
    req = g.comm.Iallgather(src, out)
    return _run(g, req, done, where, async_op, [output_tensor])


@member_only()
def reduce_scatter(
    output: Tensor,
    input_list: list,
    op: ReduceOp = ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Reduce ``input_list[r]`` over all ranks and put the result in rank ``r``'s ``output``."""
    where = "cr.distributed.reduce_scatter"
    g = group_of(group)
    out, done = writable_buffer(output, where, "output")
    arrays = _check_list(input_list, g.size(), out.shape, out.dtype, where, "input_list")
    mop = mpi_op(_mpi(), op, out.dtype, where)
    check_consistent(g, "reduce_scatter", out.shape, out.dtype, (_OP_CODES[op], 0), ("op", ""))
    send = np.stack(arrays)
    req = g.comm.Ireduce_scatter_block(send, out, op=mop)
    return _run(g, req, _chain(_avg(out, op, g.size()), done), where, async_op, [output])


@member_only()
def reduce_scatter_tensor(
    output: Tensor,
    input: Tensor,
    op: ReduceOp = ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Reduce ``input`` (world_size blocks along dim 0) and give rank ``r`` block ``r``."""
    where = "cr.distributed.reduce_scatter_tensor"
    g = group_of(group)
    out, done = writable_buffer(output, where, "output")
    send = np.ascontiguousarray(array_of(input, where, "input"))
    _stacked_shape(send.shape, out.shape, g.size(), where, ("input", "output"))
    if out.dtype != send.dtype:
        raise ValueError(f"{where}: output dtype {out.dtype} differs from input dtype {send.dtype}")
    mop = mpi_op(_mpi(), op, out.dtype, where)
    check_consistent(
        g, "reduce_scatter_tensor", out.shape, out.dtype, (_OP_CODES[op], 0), ("op", "")
    )
    req = g.comm.Ireduce_scatter_block(send, out, op=mop)
    return _run(g, req, _chain(_avg(out, op, g.size()), done), where, async_op, [output])


@member_only()
def gather(
    tensor: Tensor,
    gather_list: list | None = None,
    dst: int | None = None,
    group: ProcessGroup | None = None,
    async_op: bool = False,
    group_dst: int | None = None,
) -> Work | None:
    """Every rank's ``tensor`` into ``gather_list[r]`` on rank ``dst`` only."""
    where = "cr.distributed.gather"
    g = group_of(group)
    root = root_rank(g, dst, group_dst, "dst", where)
    src = np.ascontiguousarray(array_of(tensor, where))
    is_root = g.rank() == root
    if is_root:
        _check_list(gather_list, g.size(), src.shape, src.dtype, where, "gather_list")
    elif gather_list:
        raise ValueError(
            f"{where}: gather_list must be None or empty on non-destination "
            f"ranks (this is rank {g.rank()}, dst is {root})"
        )
    check_consistent(g, "gather", src.shape, src.dtype, (root, 0), ("dst", ""))
    stacked = np.empty((g.size(),) + src.shape, src.dtype) if is_root else None
    req = g.comm.Igather(src, stacked, root=root)
    finish = _scatter_rows(stacked, gather_list) if is_root else None
    return _run(g, req, finish, where, async_op, list(gather_list or []))


@member_only()
def scatter(
    tensor: Tensor,
    scatter_list: list | None = None,
    src: int | None = None,
    group: ProcessGroup | None = None,
    async_op: bool = False,
    group_src: int | None = None,
) -> Work | None:
    """Rank ``src``'s ``scatter_list[r]`` into rank ``r``'s ``tensor``."""
    where = "cr.distributed.scatter"
    g = group_of(group)
    root = root_rank(g, src, group_src, "src", where)
    out, done = writable_buffer(tensor, where)
    send = None
    if g.rank() == root:
        arrays = _check_list(scatter_list, g.size(), out.shape, out.dtype, where, "scatter_list")
        send = np.stack(arrays)
    elif scatter_list:
        raise ValueError(
            f"{where}: scatter_list must be None or empty on non-source ranks "
            f"(this is rank {g.rank()}, src is {root})"
        )
    check_consistent(g, "scatter", out.shape, out.dtype, (root, 0), ("src", ""))
    req = g.comm.Iscatter(send, out, root=root)
    return _run(g, req, done, where, async_op, [tensor])


@member_only()
def all_to_all_single(
    output: Tensor,
    input: Tensor,
    output_split_sizes: list | None = None,
    input_split_sizes: list | None = None,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Split ``input`` into world_size equal blocks along dim 0 and send block ``r`` to rank
    ``r``; ``output`` receives one block from every rank, in rank order."""
    where = "cr.distributed.all_to_all_single"
    if output_split_sizes is not None or input_split_sizes is not None:
        raise NotImplementedError(
            f"{where}: output_split_sizes/input_split_sizes (uneven "
            "splits) are not implemented; use equal blocks"
        )
    g = group_of(group)
    out, done = writable_buffer(output, where, "output")
    send = np.ascontiguousarray(array_of(input, where, "input"))
    if out.shape != send.shape or out.dtype != send.dtype:
        raise ValueError(
            f"{where}: output {tuple(out.shape)} {out.dtype} must match input {tuple(send.shape)} "
            f"{send.dtype}"
        )
    if send.ndim == 0 or send.shape[0] % g.size():
        raise ValueError(
            f"{where}: input's first dimension must be divisible by world_size="
            f"{g.size()}, got shape {tuple(send.shape)}"
        )
    check_consistent(g, "all_to_all_single", send.shape, send.dtype)
    req = g.comm.Ialltoall(send, out)
    return _run(g, req, done, where, async_op, [output])


@member_only()
def barrier(
    group: ProcessGroup | None = None, async_op: bool = False, device_ids: list | None = None
) -> Work | None:
    """Wait until every rank of the group reached this call."""
    g = group_of(group)
    check_consistent(g, "barrier")
    return _run(g, g.comm.Ibarrier(), None, "cr.distributed.barrier", async_op, [])
