"""Subgroups, all_to_all, object send/scatter, batch_isend_irecv and monitored_barrier on every
rank (run by suite.py as the part ``more``), against what PyTorch's documentation states,
computed here with NumPy. Any failure raises, which aborts the job."""

import datetime
import os

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule.distributed.group import group_of


def expect(exc_type, needle, fn):
    try:
        fn()
    except exc_type as exc:
        assert needle in str(exc), str(exc)
    else:
        raise AssertionError(f"no {exc_type.__name__} for: {needle}")


def check_names(rank, size):
    local = (dist.get_node_local_rank(), os.environ.get("OMPI_COMM_WORLD_LOCAL_RANK"))
    assert local[0] == rank, (rank, local)
    assert dist.get_process_group_ranks(None) == list(range(size))
    world = group_of(None)
    assert dist.group.WORLD is world and dist.GroupMember.WORLD is world  # torch's spellings
    assert dist.get_global_rank(world, 7) == 7 and dist.get_group_rank(world, 7) == 7
    expect(ValueError, "is not registered", lambda: dist.get_global_rank(None, 0))
    expect(ValueError, "is not registered", lambda: dist.get_group_rank(None, 0))
    return 4


def check_subgroups(rank, size):
    n = 0
    for group_size in (1, size):
        cur, subs = dist.new_subgroups(group_size)
        first = rank - rank % group_size
        assert dist.get_process_group_ranks(cur) == list(range(first, first + group_size))
        assert subs == [cur] and dist.get_rank(cur) == rank % group_size
        t = cr.tensor([float(rank)])
        dist.all_reduce(t, group=cur)
        assert t.item() == sum(range(first, first + group_size)), t
        for g in subs:
            dist.destroy_process_group(g)
        n += 1
    if size % 2:
        expect(ValueError, "divisible", lambda: dist.new_subgroups(2))
    expect(ValueError, "must be positive", lambda: dist.new_subgroups(0))
    expect(ValueError, "must not exceed", lambda: dist.new_subgroups(size + 1))
    expect(ValueError, "CUDA", lambda: dist.new_subgroups())
    # The outer ranks together; on 3 ranks, rank 1 is in no subgroup.
    ends = [0, size - 1]
    cur, subs = dist.new_subgroups_by_enumeration([ends])
    if rank not in ends:
        assert cur is None and subs == []
    else:
        assert dist.get_process_group_ranks(cur) == ends
        assert dist.get_global_rank(cur, 1) == size - 1 and dist.get_group_rank(cur, size - 1) == 1
        expect(ValueError, "not part of group", lambda: dist.get_global_rank(cur, 2))
        if size == 3:
            expect(ValueError, "not part of group", lambda: dist.get_group_rank(cur, 1))
        # src is a global rank, group_src a rank of the group (PyTorch's convention).
        t = cr.tensor([float(rank)])
        dist.broadcast(t, src=size - 1, group=cur)
        assert t.item() == size - 1
        t = cr.tensor([float(rank)])
        dist.broadcast(t, group_src=0, group=cur)
        assert t.item() == 0
        expect(ValueError, "specify both", lambda: dist.broadcast(t, src=0, group_src=0, group=cur))
        if size == 3:
            expect(ValueError, "src=1 is not a rank", lambda: dist.broadcast(t, src=1, group=cur))
        box = [None]
        if rank == 0:
            dist.send_object_list([{"to": "end"}], group_dst=1, group=cur)
        else:
            assert dist.recv_object_list(box, group=cur) == 0 and box == [{"to": "end"}]
        for g in subs:
            dist.destroy_process_group(g)
    expect(ValueError, "appeared in both", lambda: dist.new_subgroups_by_enumeration([[0], [0]]))
    expect(ValueError, "out of range", lambda: dist.new_subgroups_by_enumeration([[size]]))
    expect(ValueError, "cannot be empty", lambda: dist.new_subgroups_by_enumeration([]))
    return n + 8


def block(i, j, dtype):
    """What rank i sends rank j: i + j + 1 values, different for every pair."""
    values = 100 * i + 10 * j + np.arange(i + j + 1)
    if np.dtype(dtype).kind == "b":
        return values % 3 == 0
    if np.dtype(dtype).kind == "c":
        return (values + 1j * values).astype(dtype)
    return values.astype(dtype)


def check_all_to_all(rank, size):
    n = 0
    for dtype in ("float64", "float16", "complex64", "int32", "bool"):
        ins = [cr.tensor(block(rank, j, dtype)) for j in range(size)]
        outs = [cr.tensor(np.zeros(rank + j + 1, dtype)) for j in range(size)]
        buffers = [t._data for t in outs]
        assert dist.all_to_all(outs, ins) is None
        for j in range(size):
            assert outs[j]._data is buffers[j]  # in place
            assert np.array_equal(outs[j]._data, block(j, rank, dtype)), (dtype, j, outs[j])
        n += 1
    # PyTorch's documented example: rank r's input is arange(size) + r * size in chunks of 1.
    ins = [cr.tensor([rank * size + j]) for j in range(size)]
    outs = [cr.tensor([-1]) for _ in range(size)]
    work = dist.all_to_all(outs, ins, async_op=True)
    assert isinstance(work, dist.Work) and work.wait() and work.result()[0] is outs[0]
    assert [t.item() for t in outs] == [j * size + rank for j in range(size)]
    two_d = [cr.tensor(np.full((2, 2), 10.0 * rank + j)) for j in range(size)]
    got = [cr.zeros(2, 2, dtype=cr.float64) for _ in range(size)]
    dist.all_to_all(got, two_d)
    assert all((got[j]._data == 10.0 * j + rank).all() for j in range(size))
    expect(
        ValueError,
        "world_size",
        lambda: dist.all_to_all([cr.zeros(1)], [cr.zeros(1)] * size),
    )
    expect(TypeError, "List[cr.Tensor]", lambda: dist.all_to_all(cr.zeros(size), [cr.zeros(1)]))
    expect(
        ValueError,
        "different dtypes",
        lambda: dist.all_to_all([cr.zeros(1, dtype=cr.float64)] * size, [cr.zeros(1)] * size),
    )
    # Rank 0 sends one value too many to rank 1: every rank raises the same error.
    ins = [cr.zeros(2 if (rank == 0 and j == 1) else 1) for j in range(size)]
    expect(
        RuntimeError,
        "rank 0 sends 8 bytes to rank 1, which expects 4",
        lambda: dist.all_to_all([cr.zeros(1) for _ in range(size)], ins),
    )
    # The *_single names are all_gather_into_tensor and reduce_scatter_tensor.
    mine = np.arange(2.0) + 2 * rank
    out = cr.zeros(2 * size, dtype=cr.float64)
    dist.all_gather_single(out, cr.tensor(mine))
    assert np.array_equal(out._data, np.arange(2.0 * size))
    red = cr.zeros(2, dtype=cr.float64)
    dist.reduce_scatter_single(red, cr.tensor(np.arange(2.0 * size)))
    assert np.array_equal(red._data, size * np.arange(2.0 * rank, 2.0 * rank + 2))
    return n + 8


def check_objects_and_p2p(rank, size):
    out = [None, "kept"]
    objs = [{"r": r, "list": list(range(r))} for r in range(size)] if rank == size - 1 else None
    dist.scatter_object_list(out, objs, src=size - 1)
    assert out == [{"r": rank, "list": list(range(rank))}, "kept"], out
    expect(ValueError, "size at least 1", lambda: dist.scatter_object_list([], [1] * size))
    if rank == 0:
        expect(ValueError, "non-None", lambda: dist.scatter_object_list([None], None, src=0))
    objects = ["foo", 12, {1: 2}]
    if rank == 0:
        dist.send_object_list(objects, dst=1)
        expect(ValueError, "Invalid destination rank", lambda: dist.send_object_list([1], dst=0))
    elif rank == 1:
        box = [None, None, None]
        assert dist.recv_object_list(box, src=0) == 0 and box == objects
        expect(ValueError, "Invalid source rank", lambda: dist.recv_object_list([1], src=1))
    # A tensor send and an object send between the same ranks do not get mixed up.
    if rank == 0:
        dist.send(cr.tensor([5.0]), dst=1)
        dist.send_object_list(["after"], dst=1)
    elif rank == 1:
        box = [None]
        assert dist.recv_object_list(box) == 0 and box == ["after"]
        t = cr.zeros(1)
        dist.recv(t, src=0)
        assert t.item() == 5.0
    # batch_isend_irecv: PyTorch's documented ring example.
    right, left = (rank + 1) % size, (rank - 1) % size
    send = cr.tensor(np.arange(2, dtype=np.float32) + 2 * rank)
    recv = cr.tensor(np.full(2, -1, np.float32))
    recv_op = dist.P2POp(dist.irecv, recv, left)
    send_op = dist.P2POp(dist.isend, send, right, tag=0)
    assert recv_op.peer == left and recv_op.group_peer == left and send_op.tag == 0
    works = dist.batch_isend_irecv([recv_op, send_op])  # receive first: still no deadlock
    assert len(works) == 2 and all(isinstance(w, dist.Work) for w in works)
    for w in works:
        w.wait()
    assert np.array_equal(recv._data, np.arange(2, dtype=np.float32) + 2 * left), recv
    expect(ValueError, "Invalid ``op``", lambda: dist.P2POp(dist.send, send, right))
    expect(ValueError, "specify both", lambda: dist.P2POp(dist.isend, send, 1, None, 0, 1))
    expect(IndexError, "empty", lambda: dist.batch_isend_irecv([]))
    expect(ValueError, "P2POp", lambda: dist.batch_isend_irecv([send]))
    return 9


def check_monitored_barrier(rank, size):
    dist.monitored_barrier()
    dist.monitored_barrier(timeout=datetime.timedelta(seconds=30), wait_all_ranks=True)
    expect(TypeError, "datetime.timedelta", lambda: dist.monitored_barrier(timeout=3))
    # Only rank 0 comes: it names the missing ranks after the timeout; the others never
    # checked in, so nothing is left over for the next barrier.
    if rank == 0:
        missing = ", ".join(str(r) for r in range(1, size))
        label = "Rank 1" if size == 2 else f"Ranks {missing}"
        expect(
            dist.DistBackendError,
            f"{label} failed to pass monitoredBarrier in 300 ms",
            lambda: dist.monitored_barrier(
                timeout=datetime.timedelta(seconds=0.3), wait_all_ranks=True
            ),
        )
    dist.barrier()
    dist.monitored_barrier()
    return 4


def run(rank, size):
    """All checks of this part; returns how many ran."""
    n = check_names(rank, size)
    n += check_subgroups(rank, size)
    n += check_all_to_all(rank, size)
    n += check_objects_and_p2p(rank, size)
    return n + check_monitored_barrier(rank, size)
