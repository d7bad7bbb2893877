"""Data parallelism on one machine: 1 process x 2 threads vs 2 processes x 1 thread (DDP),
and the all-reduce bandwidth of ``cr.distributed`` for 1-100 MB buffers.

Training steps (forward, loss, backward, SGD-momentum update) at a fixed *global* batch:

* ``mlp``:      MLP 784-512-256-10 (ReLU), global batch 128, inputs (N, 784);
* ``lenet5``:   LeNet-5, global batch 128, inputs (N, 1, 28, 28);
* ``resnet20``: ResNet-20 (CIFAR), global batch 64, inputs (N, 3, 32, 32), SyncBatchNorm.

The single process runs with 2 intra-op/BLAS threads and the whole batch; the two MPI
processes each run 1 thread, half the batch, and DistributedDataParallel. Each reports the
median of ``--steps`` timed steps after warm-up (a rank's step ends when its gradients are
averaged, so the DDP time is the slowest rank's). For DDP the script also times the same step
inside ``no_sync()`` (no communication): the difference is the communication that backward did
not hide.

Usage::

    python benchmarks/bench_distributed.py                       # everything (~10 min)
    python benchmarks/bench_distributed.py --models mlp --sizes-mb 1 10 --steps 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MODELS = {"mlp": ((784,), 128), "lenet5": ((1, 28, 28), 128), "resnet20": ((3, 32, 32), 64)}
SIZES_MB = (1, 4, 16, 64, 100)


def _build(name: str):
    import chainrule as cr

    cr.manual_seed(0)
    if name == "mlp":
        nn = cr.nn
        return nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
        )
    in_channels = MODELS[name][0][0]
    return cr.models.get_model(name, num_classes=10, in_channels=in_channels)


def _time_steps(step, steps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def worker_step(name: str, steps: int, distributed: bool) -> None:
    """One process's measurement; prints one JSON line (rank 0 only when distributed)."""
    import numpy as np

    import chainrule as cr
    import chainrule.distributed as dist

    shape, global_batch = MODELS[name]
    model = _build(name)
    size, rank = 1, 0
    if distributed:
        dist.init_process_group("mpi")
        size, rank = dist.get_world_size(), dist.get_rank()
        model = cr.nn.parallel.DistributedDataParallel(
            cr.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        )
    batch = global_batch // size
    rng = np.random.default_rng(rank)
    x = cr.tensor(rng.standard_normal((batch,) + shape).astype(np.float32))
    y = cr.tensor(rng.integers(0, 10, batch))
    opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = cr.nn.CrossEntropyLoss()

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    result = {
        "model": name,
        "processes": size,
        "batch_per_process": batch,
        "threads": cr.get_num_threads(),
        "step_ms": 1e3 * _time_steps(step, steps),
    }
    if distributed:
        with model.no_sync():
            result["no_comm_step_ms"] = 1e3 * _time_steps(step, steps)
        gathered = [None] * size
        dist.all_gather_object(gathered, result)
        result["step_ms"] = max(r["step_ms"] for r in gathered)
        result["no_comm_step_ms"] = max(r["no_comm_step_ms"] for r in gathered)
        result["parameters"] = sum(p.numel() for p in model.parameters())
        dist.destroy_process_group()
    if rank == 0:
        print(json.dumps(result), flush=True)


def worker_allreduce(sizes_mb: list[float], repeats: int) -> None:
    """All-reduce bandwidth for float32 buffers of the given sizes (rank 0 prints)."""
    import numpy as np

    import chainrule as cr
    import chainrule.distributed as dist

    dist.init_process_group("mpi")
    dist.set_debug_level(dist.DebugLevel.OFF)  # measure the transfer, not the check
    n = dist.get_world_size()
    for mb in sizes_mb:
        t = cr.tensor(np.ones(int(mb * 2**20) // 4, np.float32))
        dist.all_reduce(t)
        times = []
        for _ in range(repeats):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(t)
            times.append(time.perf_counter() - start)
        sec = statistics.median(times)
        nbytes = t._data.nbytes
        if dist.get_rank() == 0:
            print(
                json.dumps(
                    {
                        "size_mb": mb,
                        "ms": 1e3 * sec,
                        "algbw_gbs": nbytes / sec / 1e9,
                        "busbw_gbs": 2 * (n - 1) / n * nbytes / sec / 1e9,
                    }
                ),
                flush=True,
            )
    dist.destroy_process_group()


def _run(cmd: list[str], threads: int) -> list[dict]:
    from chainrule.distributed.launcher import launch_environment

    env = launch_environment()
    env.update(
        {
            "CHAINRULE_NUM_THREADS": str(threads),
            "OPENBLAS_NUM_THREADS": str(threads),
            "OMP_NUM_THREADS": str(threads),
        }
    )
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--sizes-mb", nargs="+", type=float, default=list(SIZES_MB))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--worker", choices=("step", "allreduce"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--distributed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "step":
        return worker_step(args.model, args.steps, args.distributed)
    if args.worker == "allreduce":
        return worker_allreduce(args.sizes_mb, args.repeats)

    from chainrule.distributed.launcher import mpirun_command

    me = [sys.executable, os.path.abspath(__file__)]
    print(
        "| model | 1 proc x 2 threads (ms) | 2 procs x 1 thread, DDP (ms) | same, no_sync (ms) "
        "| exposed comm. (ms) |"
    )
    print("|---|---|---|---|---|")
    for name in args.models:
        single = _run(
            me + ["--worker", "step", "--model", name, "--steps", str(args.steps)], threads=2
        )[0]
        multi = _run(
            mpirun_command(
                args.nproc,
                me
                + [
                    "--worker",
                    "step",
                    "--model",
                    name,
                    "--steps",
                    str(args.steps),
                    "--distributed",
                ],
            ),
            threads=1,
        )[0]
        exposed = multi["step_ms"] - multi["no_comm_step_ms"]
        print(
            f"| {name} ({multi['parameters']:,} params) | {single['step_ms']:.1f} | "
            f"{multi['step_ms']:.1f} | {multi['no_comm_step_ms']:.1f} | {exposed:.1f} |",
            flush=True,
        )
    print("\n| buffer (MB) | all-reduce (ms) | algorithm bandwidth (GB/s) | bus bandwidth (GB/s) |")
    print("|---|---|---|---|")
    rows = _run(
        mpirun_command(
            args.nproc,
            me
            + [
                "--worker",
                "allreduce",
                "--repeats",
                str(args.repeats),
                "--sizes-mb",
                *map(str, args.sizes_mb),
            ],
        ),
        threads=1,
    )
    for r in rows:
        print(f"| {r['size_mb']:g} | {r['ms']:.2f} | {r['algbw_gbs']:.2f} | {r['busbw_gbs']:.2f} |")


if __name__ == "__main__":
    main()
