"""DataLoader worker processes on an augmentation-heavy image pipeline: images/s and speed-up.

An in-memory dataset of ``--images`` random uint8 RGB images (``--size`` x ``--size``, HWC,
as CIFAR stores them) goes through chainrule's own torchvision-style transforms::

    ToTensor -> RandomResizedCrop(size, scale=(0.5, 1)) -> RandomRotation(15, bilinear)
             -> ColorJitter(0.4, 0.4, 0.4, 0.1) -> RandomHorizontalFlip -> Normalize

one epoch, batch 64, shuffled, for each ``--workers`` count (``num_workers=0`` is the
baseline). The same dataset object is also fed through PyTorch's ``torch.utils.data.DataLoader``
(torchvision is not a dependency, so the transforms stay chainrule's and only the loader
machinery differs; the dataset then returns NumPy arrays, which PyTorch's collate turns into
tensors) for ``--torch-workers``, in the same sample order.

Each configuration runs in its own subprocess (a fresh interpreter: no warm pool, no idle
BLAS threads from the previous one); configurations alternate within each of ``--repeats``
rounds and the median epoch time is reported. The epoch time is what a training loop sees:
from ``iter(loader)`` to the last batch, so it includes starting the workers (fork) and
stopping them; the time to the first batch is reported too.

Correctness is checked, not assumed:

* every sample draws its augmentation from a generator reseeded with ``(seed, index)``, so
  the batches must be byte-identical for every ``num_workers`` and for PyTorch's loader; the
  script compares a SHA-256 of every epoch's images and labels and fails if any differs
  (labels are the sample indices, so the digest also pins the shuffled order);
* with the transforms drawing from the *default* generator instead (the usual way), the
  DataLoader's per-worker seeding (``base_seed + worker_id``) must make two runs with the
  same ``cr.manual_seed`` identical, and the sample order must not depend on ``num_workers``.

This script UNSETS ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` for its subprocesses (an old
forced core type slows NumPy's BLAS several-fold) and prints the machine (cores, load
average), which decides what speed-up is possible.

The full run took 3 minutes on the 2-core machine at load average 4.4-5.2 (every
configuration is a fresh interpreter; PyTorch's import alone is 2-5 s); ``--quick`` takes
10-30 s.

Usage::

    python benchmarks/bench_dataloader.py                          # 2,000 images, 3 rounds
    python benchmarks/bench_dataloader.py --quick                  # a few seconds, a smoke test
    python benchmarks/bench_dataloader.py --repeats 5 --workers 0,1,2,4 --torch-workers 0,2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np

BATCH_SIZE = 64
SEED = 1234
UNSET_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# --------------------------------------------------------------------------- the workload
def make_images(n: int, size: int, seed: int = SEED) -> np.ndarray:
    """``n`` random uint8 RGB images, shape (n, size, size, 3)."""
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def build_pipeline(size: int, generator: Any) -> Any:
    """The augmentation pipeline (``generator=None``: the default generator)."""
    from chainrule.data import transforms as T

    return T.Compose(
        [
            T.ToTensor(),
            T.RandomResizedCrop(size, scale=(0.5, 1.0), generator=generator),
            T.RandomRotation(15, interpolation="bilinear", generator=generator),
            T.ColorJitter(0.4, 0.4, 0.4, 0.1, generator=generator),
            T.RandomHorizontalFlip(generator=generator),
            T.Normalize((0.49, 0.48, 0.45), (0.25, 0.24, 0.26)),
        ]
    )


class AugmentedImages:
    """Map-style dataset: ``(augmented image, index)``; the index doubles as the label.

    ``per_sample_seed=True`` reseeds one private generator with ``(seed, index)`` before each
    sample, so an image's augmentation does not depend on which process drew it.
    ``as_numpy=True`` returns the image as a NumPy array (for PyTorch's collate).
    """

    def __init__(
        self,
        images: np.ndarray,
        size: int,
        per_sample_seed: bool = True,
        as_numpy: bool = False,
        seed: int = SEED,
    ) -> None:
        import chainrule as cr

        self.images, self.seed, self.as_numpy = images, seed, as_numpy
        self.generator = cr.Generator() if per_sample_seed else None
        self.pipeline = build_pipeline(size, self.generator)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        if self.generator is not None:
            self.generator.manual_seed(self.seed * 1_000_003 + int(index))
        img = self.pipeline(self.images[index])
        return (img.numpy() if self.as_numpy else img), int(index)


def _as_numpy(t: Any) -> np.ndarray:
    return t.numpy() if hasattr(t, "numpy") else np.asarray(t)


def _digest(batches: list) -> tuple[str, list[int]]:
    """SHA-256 of every batch's images (float32) and labels (int64); the label order."""
    h = hashlib.sha256()
    order: list[int] = []
    for x, y in batches:
        x, y = _as_numpy(x), _as_numpy(y).astype(np.int64)
        h.update(np.ascontiguousarray(x, dtype=np.float32).tobytes())
        h.update(y.tobytes())
        order.extend(y.tolist())
    return h.hexdigest(), order


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished (joined) children, user + system."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _time_epoch(loader: Any) -> tuple[float, float, float, list]:
    """Wall time of one epoch, time to its first batch, CPU time (all processes), batches."""
    cpu0 = _cpu_seconds()
    start = time.perf_counter()
    batches, first = [], None
    for batch in loader:
        if first is None:
            first = time.perf_counter() - start
        batches.append(batch)
    wall = time.perf_counter() - start
    del loader  # the workers have been joined at the end of the epoch
    return wall, first or 0.0, _cpu_seconds() - cpu0, batches


def _cr_order(n: int) -> list[int]:
    """The sample order of chainrule's shuffled loader (generator seeded with SEED)."""
    import chainrule as cr

    ds = cr.utils.data.TensorDataset(cr.arange(n))
    loader = cr.utils.data.DataLoader(
        ds, batch_size=BATCH_SIZE, shuffle=True, generator=cr.Generator().manual_seed(SEED)
    )
    return [int(i) for (b,) in loader for i in b.numpy()]


def child_run(framework: str, workers: int, n: int, size: int) -> dict:
    """One timed epoch in this process; returns the measurement as a dict."""
    import chainrule as cr

    images = make_images(n, size)
    ds = AugmentedImages(images, size, as_numpy=framework == "torch")
    for i in range(min(16, n)):  # warm up: first calls build caches and load code paths
        ds[i]
    if framework == "chainrule":
        loader = cr.utils.data.DataLoader(
            ds,
            batch_size=BATCH_SIZE,
            shuffle=True,
            num_workers=workers,
            generator=cr.Generator().manual_seed(SEED),
        )
    else:
        import torch

        loader = torch.utils.data.DataLoader(
            ds, batch_size=BATCH_SIZE, sampler=_cr_order(n), num_workers=workers
        )
    seconds, first, cpu, batches = _time_epoch(loader)
    digest, order = _digest(batches)
    assert sorted(order) == list(range(n)), f"{framework} {workers}: not one pass over the data"
    return {"seconds": seconds, "first_batch": first, "cpu": cpu, "digest": digest, "n": n}


def child_check(n: int, size: int) -> dict:
    """Per-worker seeding with the default generator: reproducible, order-independent."""
    import chainrule as cr

    images = make_images(n, size)
    ds = AugmentedImages(images, size, per_sample_seed=False)

    def epoch(workers: int) -> tuple[str, list[int]]:
        cr.manual_seed(SEED)
        loader = cr.utils.data.DataLoader(
            ds, batch_size=BATCH_SIZE, shuffle=True, num_workers=workers
        )
        return _digest(list(loader))

    a, b, single = epoch(2), epoch(2), epoch(0)
    assert a == b, "per-worker seeding: two runs with the same seed gave different batches"
    assert a[1] == single[1], "the sample order depends on num_workers"
    return {
        "reproducible": True,
        "same_order": True,
        "images_equal_to_single_process": a[0] == single[0],
        "blas": _blas(),
    }


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl to report the BLAS kernel)"
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return (
        "; ".join(
            f"{i.get('internal_api')} {i.get('version')} kernel "
            f"{i.get('architecture')} {i.get('num_threads')} threads"
            for i in infos
        )
        or "no BLAS found by threadpoolctl"
    )


# --------------------------------------------------------------------------- the driver
def _env() -> dict:
    env = dict(os.environ)
    for var in UNSET_ENV:
        env.pop(var, None)
    return env


def _spawn(args: list[str]) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), *args]
    res = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    if res.returncode != 0:
        raise RuntimeError(f"benchmark subprocess {' '.join(args)} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _machine(torch_version: str | None) -> list[str]:
    import chainrule as cr

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"machine: {_cpu_model()}, {os.cpu_count()} CPUs ({cores} usable by this process)",
        f"load average before the run: {_loadavg()}",
        f"Python {platform.python_version()}, NumPy {np.__version__}, chainrule "
        f"{getattr(cr, '__version__', '?')}, PyTorch {torch_version or 'not installed'}",
        f"note: {' / '.join(UNSET_ENV)} are unset for the benchmark subprocesses",
    ]


def _loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _torch_version() -> str | None:
    try:
        import importlib.metadata as md

        return md.version("torch")
    except Exception:
        return None


def _int_list(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--quick", action="store_true", help="tiny smoke run: 128 images, workers 0,2, one round"
    )
    p.add_argument("--repeats", type=int, default=None, help="rounds (default 3; quick 1)")
    p.add_argument(
        "--workers",
        type=_int_list,
        default=None,
        help="num_workers values for chainrule (default 0,1,2,4; quick 0,2)",
    )
    p.add_argument(
        "--torch-workers",
        type=_int_list,
        default=None,
        help="num_workers values for PyTorch's DataLoader (default 0,2; empty to skip)",
    )
    p.add_argument("--images", type=int, default=None, help="dataset size (default 2000)")
    p.add_argument("--size", type=int, default=32, help="image side in pixels (default 32)")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.add_argument(
        "--child", nargs=4, metavar=("FRAMEWORK", "WORKERS", "N", "SIZE"), help=argparse.SUPPRESS
    )
    p.add_argument("--check", nargs=2, metavar=("N", "SIZE"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        fw, w, n, s = a.child
        print(json.dumps(child_run(fw, int(w), int(n), int(s))))
        return 0
    if a.check:
        print(json.dumps(child_check(int(a.check[0]), int(a.check[1]))))
        return 0
    return drive(a)


def drive(a: argparse.Namespace) -> int:
    repeats = a.repeats or (1 if a.quick else 3)
    workers = a.workers if a.workers is not None else ([0, 2] if a.quick else [0, 1, 2, 4])
    n = a.images or (128 if a.quick else 2000)
    torch_version = _torch_version()
    torch_workers = a.torch_workers if a.torch_workers is not None else [0, 2]
    if torch_version is None:
        torch_workers = []
    if 0 not in workers:
        workers = [0, *workers]
    for line in _machine(torch_version):
        print(line)
    timed_torch = (
        f"PyTorch's DataLoader timed with num_workers {torch_workers} on the same dataset"
        if torch_workers
        else "PyTorch's DataLoader not timed"
    )
    print(
        f"workload: {n} uint8 RGB images {a.size}x{a.size}, batch {BATCH_SIZE}, one shuffled "
        f"epoch; {repeats} round(s); {timed_torch} (torchvision not used)"
    )
    check = _spawn(["--check", str(min(n, 256)), str(a.size)])
    print(
        f"check (default generator, per-worker seeding): same seed -> same batches with "
        f"num_workers=2: {check['reproducible']}; same sample order as num_workers=0: "
        f"{check['same_order']}; augmentation equal to num_workers=0: "
        f"{check['images_equal_to_single_process']} (expected False: each worker has its "
        f"own stream)"
    )
    print(f"BLAS: {check['blas']}")
    configs = [("chainrule", w) for w in workers] + [("torch", w) for w in torch_workers]
    runs: dict[tuple[str, int], list[dict]] = {c: [] for c in configs}
    for r in range(repeats):
        order = configs if r % 2 == 0 else configs[::-1]
        for fw, w in order:
            runs[(fw, w)].append(_spawn(["--child", fw, str(w), str(n), str(a.size)]))
    digests = {run["digest"] for rs in runs.values() for run in rs}
    if len(digests) != 1:
        bad = {f"{fw}:{w}": sorted({x["digest"][:12] for x in rs}) for (fw, w), rs in runs.items()}
        print(f"FAIL: batches differ between configurations: {bad}")
        return 1
    print(
        "check (per-sample seeding): every configuration and round produced byte-identical "
        f"batches (sha256 {digests.pop()[:16]})"
    )
    print(f"load average after the run: {_loadavg()}")
    print()
    table = report(runs, n)
    for line in table:
        print(line)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({f"{fw}:{w}": rs for (fw, w), rs in runs.items()}, f, indent=1)
    return 0


def report(runs: dict, n: int) -> list[str]:
    """A Markdown table: median epoch, images/s, speed-up vs the same loader's num_workers=0,
    and the CPU time the epoch cost in all processes (the loader's overhead, whatever the load).
    """
    lines = [
        "| loader | num_workers | epoch (median) | first batch | images/s | speed-up | "
        "CPU s (all processes) |",
        "|---|---|---|---|---|---|---|",
    ]
    base = {
        fw: statistics.median(x["seconds"] for x in rs) for (fw, w), rs in runs.items() if w == 0
    }
    for (fw, w), rs in runs.items():
        sec = statistics.median(x["seconds"] for x in rs)
        first = statistics.median(x["first_batch"] for x in rs)
        cpu = statistics.median(x["cpu"] for x in rs)
        speed = f"{base[fw] / sec:.2f}x" if fw in base else "-"
        name = "chainrule" if fw == "chainrule" else "PyTorch (chainrule transforms)"
        lines.append(
            f"| {name} | {w} | {sec:.2f} s | {first * 1e3:.0f} ms | {n / sec:.0f} | "
            f"{speed} | {cpu:.2f} |"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
