"""Every collective against a NumPy reference, on every rank (run by suite.py).

Each rank builds every rank's inputs from a seeded generator, so it can compute the expected
result of a collective itself. Any failure raises, which aborts the job (init_process_group
installs the abort hook).
"""

import warnings

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule.distributed import ReduceOp

DTYPES = [
    "float32",
    "float64",
    "float16",
    "complex64",
    "int8",
    "uint8",
    "int16",
    "int32",
    "int64",
    "bool",
]


def data(rank, dtype, shape=(2, 3), salt=0):
    rng = np.random.default_rng(1000 * salt + rank)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dt.kind == "u":
        return rng.integers(0, 4, size=shape).astype(dt)
    if dt.kind == "i":
        return rng.integers(-3, 4, size=shape).astype(dt)
    if dt.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    return rng.standard_normal(shape).astype(dt)


def ops_for(dtype):
    kind = np.dtype(dtype).kind
    ops = [ReduceOp.SUM, ReduceOp.PRODUCT]
    if kind != "c":
        ops += [ReduceOp.MIN, ReduceOp.MAX]
    if kind in "fc":
        ops.append(ReduceOp.AVG)
    if kind in "iub":
        ops += [ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR]
    return ops


def reference(op, stack, dtype):
    if np.dtype(dtype).kind == "b":
        fn = {
            ReduceOp.SUM: np.any,
            ReduceOp.MAX: np.any,
            ReduceOp.BOR: np.any,
            ReduceOp.PRODUCT: np.all,
            ReduceOp.MIN: np.all,
            ReduceOp.BAND: np.all,
            ReduceOp.BXOR: lambda a, axis: np.logical_xor.reduce(a, axis=axis),
        }[op]
        return fn(stack, axis=0)
    wide = stack.astype(
        np.complex128
        if stack.dtype.kind == "c"
        else np.float64
        if stack.dtype.kind == "f"
        else np.int64
    )
    out = {
        ReduceOp.SUM: lambda a: a.sum(0),
        ReduceOp.PRODUCT: lambda a: a.prod(0),
        ReduceOp.MIN: lambda a: a.min(0),
        ReduceOp.MAX: lambda a: a.max(0),
        ReduceOp.AVG: lambda a: a.sum(0) / len(a),
        ReduceOp.BAND: lambda a: np.bitwise_and.reduce(a, 0),
        ReduceOp.BOR: lambda a: np.bitwise_or.reduce(a, 0),
        ReduceOp.BXOR: lambda a: np.bitwise_xor.reduce(a, 0),
    }[op](wide)
    return out.astype(dtype)


def close(got, want, dtype, what):
    tol = {"float16": 1e-2, "float32": 1e-5, "complex64": 1e-5}.get(dtype, 1e-12)
    if np.dtype(dtype).kind in "fc":
        ok = np.allclose(got, want, rtol=tol, atol=tol)
    else:
        ok = np.array_equal(got, want)
    if not ok:
        raise AssertionError(f"{what} [{dtype}]: got {got!r}, expected {want!r}")


def check_all_reduce(rank, size):
    n = 0
    for dtype in DTYPES:
        stack = np.stack([data(r, dtype) for r in range(size)])
        for op in ops_for(dtype):
            t = cr.tensor(data(rank, dtype))
            arr = t._data
            assert dist.all_reduce(t, op=op) is None
            assert t._data is arr  # in place on the same buffer
            close(t._data, reference(op, stack, dtype), dtype, f"all_reduce {op}")
            n += 1
    # Non-contiguous tensor (a transposed view): reduced through a temporary, written back.
    base = cr.tensor(data(rank, "float64", (3, 4)))
    view = base.t()
    dist.all_reduce(view)
    want = np.stack([data(r, "float64", (3, 4)) for r in range(size)]).sum(0)
    close(base._data, want, "float64", "all_reduce non-contiguous")
    # async_op: a Work handle; the result is there after wait().
    t = cr.tensor(data(rank, "float32"))
    work = dist.all_reduce(t, op=ReduceOp.AVG, async_op=True)
    assert isinstance(work, dist.Work)
    assert work.wait() and work.is_completed() and work.result()[0] is t
    close(
        t._data, np.stack([data(r, "float32") for r in range(size)]).mean(0), "float32", "async AVG"
    )
    return n + 2


def check_movement(rank, size):
    n = 0
    for dtype in DTYPES:
        mine = data(rank, dtype)
        every = [data(r, dtype) for r in range(size)]
        src = size - 1
        t = cr.tensor(mine.copy())
        dist.broadcast(t, src=src)
        close(t._data, every[src], dtype, "broadcast")
        outs = [cr.tensor(np.zeros_like(mine)) for _ in range(size)]
        dist.all_gather(outs, cr.tensor(mine))
        for r in range(size):
            close(outs[r]._data, every[r], dtype, "all_gather")
        cat = cr.tensor(np.zeros((2 * size, 3), dtype))
        dist.all_gather_into_tensor(cat, cr.tensor(mine))
        close(cat._data, np.concatenate(every), dtype, "all_gather_into_tensor (concat)")
        stacked = cr.tensor(np.zeros((size, 2, 3), dtype))
        dist.all_gather_into_tensor(stacked, cr.tensor(mine), async_op=True).wait()
        close(stacked._data, np.stack(every), dtype, "all_gather_into_tensor (stack)")
        dst = 1 % size
        glist = [cr.tensor(np.zeros_like(mine)) for _ in range(size)] if rank == dst else None
        dist.gather(cr.tensor(mine), glist, dst=dst)
        if rank == dst:
            for r in range(size):
                close(glist[r]._data, every[r], dtype, "gather")
        pieces = [data(r, dtype, salt=7) for r in range(size)]
        out = cr.tensor(np.zeros_like(mine))
        dist.scatter(out, [cr.tensor(p) for p in pieces] if rank == 0 else None, src=0)
        close(out._data, pieces[rank], dtype, "scatter")
        n += 6
    return n


def check_reduce_scatter(rank, size):
    n = 0
    for dtype in ["float64", "float32", "int32", "int64"]:
        inputs = {r: [data(r, dtype, salt=10 + k) for k in range(size)] for r in range(size)}
        for op in ops_for(dtype):
            if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR):
                continue
            want = reference(op, np.stack([inputs[r][rank] for r in range(size)]), dtype)
            out = cr.tensor(np.zeros((2, 3), dtype))
            dist.reduce_scatter(out, [cr.tensor(a) for a in inputs[rank]], op=op)
            close(out._data, want, dtype, f"reduce_scatter {op}")
            out2 = cr.tensor(np.zeros((2, 3), dtype))
            dist.reduce_scatter_tensor(out2, cr.tensor(np.concatenate(inputs[rank])), op=op)
            close(out2._data, want, dtype, f"reduce_scatter_tensor {op}")
            red = cr.tensor(inputs[rank][0].copy())
            dist.reduce(red, dst=0, op=op)
            if rank == 0:
                close(
                    red._data,
                    reference(op, np.stack([inputs[r][0] for r in range(size)]), dtype),
                    dtype,
                    f"reduce {op}",
                )
            n += 3
    blocks = np.arange(size * 2, dtype=np.float64).reshape(size * 2, 1) + 100 * rank
    out = cr.tensor(np.zeros_like(blocks))
    dist.all_to_all_single(out, cr.tensor(blocks))
    want = np.concatenate(
        [
            np.arange(size * 2, dtype=np.float64).reshape(size, 2, 1)[rank] + 100 * r
            for r in range(size)
        ]
    )
    close(out._data, want, "float64", "all_to_all_single")
    return n + 1


def check_p2p_and_groups(rank, size):
    right, left = (rank + 1) % size, (rank - 1) % size
    send = cr.tensor(np.full(5, rank, np.int64))
    recv = cr.tensor(np.zeros(5, np.int64))
    work = dist.isend(send, dst=right, tag=3)
    src = dist.recv(recv, src=None, tag=3)
    work.wait()
    assert src == left and (recv._data == left).all(), (src, recv)
    box = cr.tensor(np.zeros(5, np.int64))
    if rank == 0:
        dist.send(cr.tensor(np.arange(5)), dst=size - 1)
    elif rank == size - 1:
        w = dist.irecv(box, src=0)
        w.wait()
        assert (box._data == np.arange(5)).all()
    evens = dist.new_group([r for r in range(size) if r % 2 == 0])
    if rank % 2 == 0:
        t = cr.tensor([float(rank)])
        dist.all_reduce(t, group=evens)
        assert t.item() == sum(r for r in range(size) if r % 2 == 0)
        assert dist.get_world_size(evens) == (size + 1) // 2
    else:  # PyTorch's marker; collectives on it do nothing and warn, as torch's
        assert evens == dist.GroupMember.NON_GROUP_MEMBER
        assert dist.get_rank(evens) == dist.get_world_size(evens) == -1
        t = cr.tensor([float(rank)])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert dist.all_reduce(t, group=evens) is None and t.item() == rank
            assert dist.recv(t, src=0, group=evens) == -1
        assert [str(w.message) for w in caught] == [
            f"Running {op} on global rank {rank} which does not belong to the given group."
            for op in ("all_reduce", "irecv")
        ]
        try:
            dist.send(t, dst=0, group=evens)
            raise AssertionError("send on a non-member must raise")
        except ValueError as e:
            assert str(e) == "Invalid process group specified"
    objs = [None] * size
    dist.all_gather_object(objs, {"rank": rank})
    assert [o["rank"] for o in objs] == list(range(size))
    box = [f"from {rank}"]
    dist.broadcast_object_list(box, src=0)
    assert box == ["from 0"]
    dist.barrier()
    return 4


def check_mismatch(rank, size):
    """Mismatched shapes/dtypes/ops raise the same clear error on every rank (no hang)."""
    cases = [
        (lambda: dist.all_reduce(cr.zeros(3 + rank)), "shape=(3,)"),
        (
            lambda: dist.all_reduce(cr.zeros(3, dtype=cr.float32 if rank else cr.float64)),
            "dtype=float64",
        ),
        (lambda: dist.all_reduce(cr.zeros(3), op=ReduceOp.MAX if rank else ReduceOp.SUM), "op="),
        (lambda: dist.broadcast(cr.zeros(2), src=rank), "src="),
        (lambda: dist.barrier() if rank else dist.all_reduce(cr.zeros(1)), "barrier()"),
    ]
    for fn, needle in cases:
        try:
            fn()
        except RuntimeError as exc:
            msg = str(exc)
            assert "do not match" in msg and needle in msg and "rank 1" in msg, msg
        else:
            raise AssertionError(f"no error for a mismatched call ({needle})")
    for fn, exc_type, needle in [
        (
            lambda: dist.all_reduce(cr.zeros(3, dtype=cr.int32), op=ReduceOp.AVG),
            ValueError,
            "AVG needs a floating-point",
        ),
        (lambda: dist.all_reduce([1.0]), TypeError, "must be a cr.Tensor"),
        (lambda: dist.all_reduce(cr.zeros(2), op="sum"), TypeError, "ReduceOp"),
        (lambda: dist.broadcast(cr.zeros(2), src=size), ValueError, "not a rank"),
        (lambda: dist.all_gather([cr.zeros(2)], cr.zeros(2)), ValueError, "world_size"),
    ]:
        try:
            fn()
        except exc_type as exc:
            assert needle in str(exc), str(exc)
        else:
            raise AssertionError(f"no {exc_type.__name__} for: {needle}")
    return len(cases) + 5


def run(rank, size):
    """All collective checks; returns how many ran."""
    import os

    assert os.environ["RANK"] == str(rank) and os.environ["WORLD_SIZE"] == str(size)
    assert os.environ["LOCAL_RANK"] == str(rank)  # one machine
    assert dist.is_initialized() and dist.get_backend() == "mpi"
    n = check_all_reduce(rank, size)
    n += check_movement(rank, size)
    n += check_reduce_scatter(rank, size)
    n += check_p2p_and_groups(rank, size)
    return n + check_mismatch(rank, size)
