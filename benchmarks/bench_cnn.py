"""CNN benchmark: chainrule vs PyTorch, each in its own process, alternating.

Workloads (float32, CPU):
  * LeNet-5 on 1x28x28, batch 64
  * ResNet-20 (CIFAR, option A) on 3x32x32, batch 64
  * ResNet-18 (CIFAR variant) on 3x32x32, batch 32
For each: a training step (forward, cross-entropy, backward, SGD momentum 0.9 step),
inference (forward under no_grad, eval mode) and inference on one image ("infer1"). Also
the peak memory (max RSS growth over the process baseline, taken after imports, model and
data, and after the optional compiled kernels' runtime is loaded) of a ResNet-20 training
step.

Usage:  python benchmarks/bench_cnn.py [--reps 3] [--steps 20] [--only lenet5,resnet20]
        python benchmarks/bench_cnn.py --profile resnet20   # where chainrule's step spends time
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

WORKLOADS = {  # name: (builder kwargs, input shape, batch, steps factor)
    "lenet5": ((1, 28, 28), 64, 1.0),
    "resnet20": ((3, 32, 32), 64, 0.5),
    "resnet18_cifar": ((3, 32, 32), 32, 0.15),
}


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _torch_model(name: str):
    """The same architectures in plain PyTorch (benchmark-only code)."""
    import torch.nn as tnn

    if name == "lenet5":
        return tnn.Sequential(
            tnn.Conv2d(1, 6, 5, padding=2),
            tnn.ReLU(),
            tnn.MaxPool2d(2),
            tnn.Conv2d(6, 16, 5),
            tnn.ReLU(),
            tnn.MaxPool2d(2),
            tnn.Flatten(),
            tnn.Linear(400, 120),
            tnn.ReLU(),
            tnn.Linear(120, 84),
            tnn.ReLU(),
            tnn.Linear(84, 10),
        )
    import torch

    class Block(tnn.Module):
        def __init__(self, cin, cout, stride, option_a):
            super().__init__()
            self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(cout)
            self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(cout)
            self.option_a, self.extra = option_a, cout - cin
            self.down = None
            if (stride != 1 or cin != cout) and not option_a:
                self.down = tnn.Sequential(
                    tnn.Conv2d(cin, cout, 1, stride, bias=False), tnn.BatchNorm2d(cout)
                )
            self.sc = stride != 1 or cin != cout

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if not self.sc:
                idt = x
            elif self.option_a:
                e = self.extra
                idt = torch.nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, e // 2, e - e // 2))
            else:
                idt = self.down(x)
            return torch.relu(out + idt)

    if name == "resnet20":
        layers, cin = [tnn.Conv2d(3, 16, 3, 1, 1, bias=False), tnn.BatchNorm2d(16), tnn.ReLU()], 16
        for i, c in enumerate((16, 32, 64)):
            for j in range(3):
                layers.append(Block(cin, c, 2 if i and not j else 1, True))
                cin = c
        layers += [tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(64, 10)]
        return tnn.Sequential(*layers)
    layers, cin = [tnn.Conv2d(3, 64, 3, 1, 1, bias=False), tnn.BatchNorm2d(64), tnn.ReLU()], 64
    for i, c in enumerate((64, 128, 256, 512)):
        for j in range(2):
            layers.append(Block(cin, c, 2 if i and not j else 1, False))
            cin = c
    layers += [tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(512, 10)]
    return tnn.Sequential(*layers)


def _load_jit_runtime() -> None:
    """Load Numba and one cached compiled kernel before the memory baseline, when the compiled
    kernels are in use: a one-time cost per process (~120 MB: the runtime, LLVM, the typing
    context), like the libraries PyTorch loads at import, which also fall before the baseline.
    Without this the first compiled call of the first step would be counted as step memory."""
    import numpy as np

    from chainrule._kernels import dispatch, jit

    if jit.backend() == "numba":
        dispatch.relu(np.ones(jit.MIN_PARALLEL_SIZE, np.float32))


def worker(framework: str, name: str, mode: str, steps: int, warm_jit: bool = True) -> dict:
    """One workload's step times (and peak RSS growth) in this process. ``warm_jit=False``
    leaves the compiled kernels' runtime to the first step (benchmarks/mem_profile.py shows
    that cost separately)."""
    if framework == "cr":  # chainrule first, as a script or `chainrule train` would: it
        import chainrule  # noqa: F401  # sets OpenBLAS's spin time before NumPy loads it
    import numpy as np

    shape, batch, _ = WORKLOADS[name]
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((batch,) + shape).astype(np.float32)
    y_np = rng.integers(0, 10, batch)
    if framework == "torch":
        import torch

        torch.manual_seed(0)
        model = _torch_model(name)
        x, y = torch.tensor(x_np), torch.tensor(y_np)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        lossf = torch.nn.CrossEntropyLoss()

        def train_step():
            opt.zero_grad()
            loss = lossf(model(x), y)
            loss.backward()
            opt.step()

        def infer():
            with torch.no_grad():
                model(x)
    else:
        import chainrule as cr

        cr.manual_seed(0)
        model = cr.models.get_model(name, num_classes=10, in_channels=shape[0])
        x, y = cr.tensor(x_np), cr.tensor(y_np)
        opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        lossf = cr.nn.CrossEntropyLoss()

        def train_step():
            opt.zero_grad()
            loss = lossf(model(x), y)
            loss.backward()
            opt.step()

        def infer():
            with cr.no_grad():
                model(x)

        if warm_jit:
            _load_jit_runtime()

    if mode == "infer1":  # inference on a single image (an interactive classifier's case)
        x = x[:1]
    base = _maxrss_mb()  # after imports, model and data: the step's own memory
    if mode == "train":
        model.train()
        fn = train_step
    else:
        model.eval()
        fn = infer
    for _ in range(3):
        fn()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return {"median_ms": 1000 * times[len(times) // 2], "peak_mb": _maxrss_mb() - base}


# cProfile rows grouped by where the time goes: (group, file part, function names or None)
_GROUPS = [
    ("conv GEMMs (matmul inside conv kernels)", "_conv_kernels", None),
    ("im2col gathers + padding copies", "threads.py", {"copy"}),
    ("col2im scatter-adds", "_im2col", {"scatter"}),
    ("pooling", "pooling", None),
    ("batch norm", "normalization", None),
    ("elementwise kernels", "threads.py", {"elementwise", "part"}),
    ("elementwise kernels", "_kernels", None),
]


def profile(name: str, steps: int) -> None:
    """Print where a chainrule training step of ``name`` spends its time (own time of each
    function, summed into groups), from cProfile over ``steps`` steps after a warm-up."""
    import cProfile
    import pstats

    import numpy as np

    import chainrule as cr

    shape, batch, _ = WORKLOADS[name]
    cr.manual_seed(0)
    model = cr.models.get_model(name, num_classes=10, in_channels=shape[0])
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((batch,) + shape).astype(np.float32))
    y = cr.tensor(rng.integers(0, 10, batch))
    opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    lossf = cr.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        lossf(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt
    sums: dict[str, float] = {}
    for (path, _line, func), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        group = next(
            (g for g, part, funcs in _GROUPS if part in path and (funcs is None or func in funcs)),
            "other (engine, autograd, Python, small ops)",
        )
        sums[group] = sums.get(group, 0.0) + own
    print(f"{name} training step: {1000 * total / steps:.1f} ms (cProfile, {steps} steps)")
    for group, t in sorted(sums.items(), key=lambda kv: -kv[1]):
        print(f"  {group:<44}{1000 * t / steps:9.1f} ms {100 * t / total:6.1f}%")


def _run(framework: str, name: str, mode: str, steps: int) -> dict:
    env = dict(os.environ)
    out = subprocess.run(
        [sys.executable, __file__, "--worker", framework, name, mode, str(steps)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--only", default=",".join(WORKLOADS))
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument(
        "--profile",
        choices=sorted(WORKLOADS),
        help="print where chainrule's training step of this workload spends time",
    )
    args = ap.parse_args()
    if args.profile:
        profile(args.profile, max(2, args.steps // 4))
        return
    if args.worker:
        fw, name, mode, steps = args.worker
        print(json.dumps(worker(fw, name, mode, int(steps))))
        return
    try:
        from threadpoolctl import threadpool_info

        blas = [
            (i.get("internal_api"), i.get("architecture"), i.get("num_threads"))
            for i in threadpool_info()
        ]
        print("BLAS:", blas)
    except ImportError:
        pass
    print(f"{'workload':<26}{'chainrule ms':>14}{'torch ms':>12}{'ratio':>8}")
    for name in args.only.split(","):
        steps = max(5, int(args.steps * WORKLOADS[name][2]))
        for mode in ("train", "infer", "infer1"):
            best = {"cr": [], "torch": []}
            peaks = {"cr": [], "torch": []}
            for _ in range(args.reps):
                for fw in ("cr", "torch"):
                    r = _run(fw, name, mode, steps * (10 if mode == "infer1" else 1))
                    best[fw].append(r["median_ms"])
                    peaks[fw].append(r["peak_mb"])
            c, t = min(best["cr"]), min(best["torch"])
            print(f"{name + ' ' + mode:<26}{c:>14.2f}{t:>12.2f}{c / t:>8.2f}x", flush=True)
            if mode == "train":
                pc, pt = min(peaks["cr"]), min(peaks["torch"])
                print(
                    f"{'  peak RSS growth (MB)':<26}{pc:>14.1f}{pt:>12.1f}{pc / pt:>8.2f}x",
                    flush=True,
                )


if __name__ == "__main__":
    main()
