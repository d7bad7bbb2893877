"""The Gloo (TCP) backend across real processes: every collective, subgroups, point-to-point,
objects and DistributedDataParallel, started with the standard library's ``multiprocessing``
(spawn), as PyTorch's tutorial starts its ranks.

The MPI tests' worker checks (``workers/``) run unchanged on the TCP backend: they compare
every collective with NumPy references and DDP training with one process on the whole batch,
so both backends are held to the same expectations. ``run_ranks`` is shared with the other
``test_tcp_*`` files.
"""

from __future__ import annotations

import datetime
import multiprocessing
import os
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

import chainrule as cr
import chainrule.distributed as dist

WORKERS = str(Path(__file__).parent / "workers")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(target, rank, size, port, queue, args):
    os.environ.update(
        {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "OMP_NUM_THREADS": "1",
            "TORCH_DISTRIBUTED_DEBUG": "INFO",
        }
    )
    sys.path.insert(0, WORKERS)
    try:
        queue.put((rank, True, target(rank, size, *args)))
    except BaseException:  # noqa: BLE001 - reported to the test
        queue.put((rank, False, traceback.format_exc()))


def run_ranks(target, size, *args, timeout=60.0, expect_exit=()):
    """Run ``target(rank, size, *args)`` in ``size`` spawned processes (``MASTER_ADDR`` and a
    free ``MASTER_PORT`` set) and return their results in rank order; a rank's exception fails
    the test with its traceback. Ranks in ``expect_exit`` may end without reporting."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    port = free_port()
    procs = [
        ctx.Process(target=_entry, args=(target, r, size, port, queue, args), daemon=True)
        for r in range(size)
    ]
    results: dict[int, object] = {}
    try:
        for p in procs:
            p.start()
        deadline = time.monotonic() + timeout
        while len(results) < size - len(expect_exit):
            left = deadline - time.monotonic()
            assert left > 0, f"ranks {sorted(set(range(size)) - set(results))} did not finish"
            try:
                rank, ok, value = queue.get(timeout=min(left, 1.0))
            except Exception:  # noqa: BLE001 - queue.Empty: check for dead ranks, go on
                dead = [r for r, p in enumerate(procs) if p.exitcode not in (None, 0)]
                dead = [r for r in dead if r not in results and r not in expect_exit]
                assert not dead, (
                    f"ranks {dead} died: exit codes {[procs[r].exitcode for r in dead]}"
                )
                continue
            assert ok, f"rank {rank} failed:\n{value}"
            results[rank] = value
        for p in procs:
            p.join(timeout=max(deadline - time.monotonic(), 1.0))
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join(5)
    return [results.get(r) for r in range(size)]


# -- targets (run in the spawned ranks) ---------------------------------------------------
def _mpi_suite(rank, size):
    """The MPI workers' checks, on the TCP backend."""
    import collectives
    import ddp
    import ddp_cnn
    import more

    dist.init_process_group("gloo", rank=rank, world_size=size)
    assert dist.get_backend() == "gloo" and dist.group.WORLD.name() == "gloo"
    n = collectives.check_all_reduce(rank, size)
    n += collectives.check_movement(rank, size)
    n += collectives.check_reduce_scatter(rank, size)
    n += collectives.check_p2p_and_groups(rank, size)
    n += collectives.check_mismatch(rank, size)
    n += more.check_subgroups(rank, size)
    n += more.check_all_to_all(rank, size)
    n += more.check_objects_and_p2p(rank, size)
    n += more.check_monitored_barrier(rank, size)
    n += ddp.run(rank, size) + ddp_cnn.run(rank, size)
    dist.destroy_process_group()
    return n


def test_mpi_worker_checks_on_three_ranks():
    """Every collective (each reduce op and dtype), subgroups, all_to_all, objects, p2p,
    monitored_barrier, and DDP (MLP + SGD, CNN + SyncBatchNorm + Adam) vs one process."""
    counts = run_ranks(_mpi_suite, 3, timeout=120)
    assert counts[0] > 200 and len(set(counts)) == 1, counts


def _overlap(rank, size):
    """Operations between the same ranks in flight together match by (source, tag, group)."""
    dist.init_process_group(
        "gloo", rank=rank, world_size=size, timeout=datetime.timedelta(seconds=30)
    )
    peer = 1 - rank
    big = np.arange(300_000, dtype=np.float64)  # 2.4 MB: larger than the socket buffers
    sends = [dist.isend(cr.tensor(big + 10 * rank + tag), dst=peer, tag=tag) for tag in (5, 6)]
    pending = cr.tensor(np.full(4, float(rank)))
    work = dist.all_reduce(pending, async_op=True)  # a collective while p2p is in flight
    boxes = {tag: cr.zeros(300_000, dtype=cr.float64) for tag in (6, 5)}
    for tag in (6, 5):  # received in the other order than sent
        assert dist.recv(boxes[tag], src=peer, tag=tag) == peer
        assert np.array_equal(boxes[tag]._data, big + 10 * peer + tag)
    for w in sends:
        w.wait()
    work.wait()
    assert np.array_equal(pending._data, np.full(4, 1.0))
    group = dist.new_group([0, 1])
    # The same tag on two groups: each receive gets its own group's message.
    if rank == 0:
        dist.send(cr.tensor([1.0]), dst=1, group=group, tag=0)
        dist.send(cr.tensor([2.0]), dst=1, tag=0)
    else:
        a, b = cr.zeros(1), cr.zeros(1)
        dist.recv(b, src=0, tag=0)
        dist.recv(a, src=0, tag=0, group=group)
        assert (a.item(), b.item()) == (1.0, 2.0)
    # Several async collectives queued at once, waited in reverse order.
    tensors = [cr.tensor(np.full(3, float(k + rank))) for k in range(4)]
    works = [dist.all_reduce(t, op=dist.ReduceOp.MAX, async_op=True) for t in tensors]
    for w in reversed(works):
        w.wait()
    assert [t._data[0] for t in tensors] == [k + 1.0 for k in range(4)]
    dist.destroy_process_group()
    return True


def test_overlapping_messages_match_by_source_tag_and_group():
    assert run_ranks(_overlap, 2) == [True, True]


def _init_methods(rank, size, port, path):
    """Every rendezvous: env:// twice on the same port, tcp:// with the rank in the URL,
    file://, and stores made by the caller."""
    seen = []

    def check(tag):
        t = cr.tensor([float(rank + 1)])
        dist.all_reduce(t)
        seen.append((tag, t.item(), dist.get_backend()))
        dist.destroy_process_group()

    for _ in range(2):  # the port of the run that just ended is free again (SO_REUSEADDR)
        dist.init_process_group("gloo", rank=rank, world_size=size)
        check("env")
    dist.init_process_group(rank=rank, world_size=size)  # backend=None: Gloo, "undefined"
    check("default")
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}?rank={rank}&world_size=2")
    check("tcp")
    dist.init_process_group("gloo", init_method=f"file://{path}", rank=rank, world_size=size)
    check("file")
    store = dist.TCPStore("127.0.0.1", port, size, rank == 0, datetime.timedelta(seconds=30))
    dist.init_process_group("gloo", store=dist.PrefixStore("run", store), rank=rank, world_size=2)
    check("tcpstore")
    store.close()
    fstore = dist.FileStore(path + ".store", size)
    dist.init_process_group("gloo", store=fstore, rank=rank, world_size=size)
    check("filestore")
    return seen, os.path.exists(path)


def test_init_methods_and_port_reuse():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rendezvous")
        results = run_ranks(_init_methods, 2, free_port(), path)
    names = ["env", "env", "default", "tcp", "file", "tcpstore", "filestore"]
    for seen, file_left in results:
        assert [s[0] for s in seen] == names
        assert all(s[1] == 3.0 for s in seen)
        backends = [s[2] for s in seen]
        assert backends == ["gloo", "gloo", "undefined", "gloo", "gloo", "gloo", "gloo"]
        assert not file_left  # file:// removes its file at destroy, as PyTorch
