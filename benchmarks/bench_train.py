"""One training step, chainrule vs PyTorch (and hand-written NumPy), in separate processes.

A step is forward, loss, backward and an SGD-momentum update:

* ``mlp``:  MLP 784-512-256-10 (ReLU), batch 128, cross-entropy;
* ``tanh``: MLP 10-64-64-1 (tanh), batch 32, MSE.

Each framework runs in its own subprocess (in one process PyTorch's and OpenBLAS's idle
threads steal each other's cores), the processes alternate for ``--rounds`` rounds, each
reports the median of ``--steps`` timed steps after a warm-up, and the best median per
framework is compared. ``--profile`` prints a cProfile of chainrule's tanh-MLP step.

Usage::

    python benchmarks/bench_train.py                 # both workloads, 3 rounds
    python benchmarks/bench_train.py --profile       # where the small-MLP step spends time
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

WORKLOADS = {
    "mlp": {"sizes": (784, 512, 256, 10), "batch": 128, "act": "relu", "loss": "ce"},
    "tanh": {"sizes": (10, 64, 64, 1), "batch": 32, "act": "tanh", "loss": "mse"},
}
LR, MOMENTUM = 0.01, 0.9


def _data(w: dict):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((w["batch"], w["sizes"][0])).astype(np.float32)
    if w["loss"] == "ce":
        y = rng.integers(0, w["sizes"][-1], w["batch"]).astype(np.int64)
    else:
        y = rng.standard_normal((w["batch"], w["sizes"][-1])).astype(np.float32)
    return x, y


def _chainrule_step(w: dict):
    import chainrule as cr
    from chainrule import nn
    from chainrule.nn import functional as F

    cr.manual_seed(0)
    s = w["sizes"]
    layers = []
    for i in range(len(s) - 1):
        layers.append(nn.Linear(s[i], s[i + 1]))
        if i < len(s) - 2:
            layers.append(nn.ReLU() if w["act"] == "relu" else nn.Tanh())
    model = nn.Sequential(*layers)
    opt = cr.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    x, y = _data(w)
    x, y = cr.tensor(x), cr.tensor(y)
    loss_fn = F.cross_entropy if w["loss"] == "ce" else F.mse_loss

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _torch_step(w: dict):
    import torch
    from torch import nn

    torch.manual_seed(0)
    s = w["sizes"]
    layers = []
    for i in range(len(s) - 1):
        layers.append(nn.Linear(s[i], s[i + 1]))
        if i < len(s) - 2:
            layers.append(nn.ReLU() if w["act"] == "relu" else nn.Tanh())
    model = nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    x, y = _data(w)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = nn.functional.cross_entropy if w["loss"] == "ce" else nn.functional.mse_loss

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _numpy_step(w: dict):
    """The same step written by hand: the floor a framework on NumPy can reach."""
    import numpy as np

    rng = np.random.default_rng(0)
    s = w["sizes"]
    ws = [
        (rng.uniform(-1, 1, (s[i], s[i + 1])) / np.sqrt(s[i])).astype(np.float32)
        for i in range(len(s) - 1)
    ]
    bs = [np.zeros(s[i + 1], np.float32) for i in range(len(s) - 1)]
    params = ws + bs
    bufs = [np.zeros_like(p) for p in params]
    x, y = _data(w)
    relu = w["act"] == "relu"

    def step():
        hs = [x]
        for i in range(len(ws)):
            z = hs[-1] @ ws[i] + bs[i]
            if i < len(ws) - 1:
                z = np.maximum(z, 0) if relu else np.tanh(z)
            hs.append(z)
        out = hs[-1]
        if w["loss"] == "ce":
            e = np.exp(out - out.max(1, keepdims=True))
            p = e / e.sum(1, keepdims=True)
            p[np.arange(len(y)), y] -= 1
            g = p / len(y)
        else:
            g = 2 * (out - y) / out.size
        grads_w, grads_b = [None] * len(ws), [None] * len(ws)
        for i in reversed(range(len(ws))):
            grads_w[i] = hs[i].T @ g
            grads_b[i] = g.sum(0)
            if i:
                g = g @ ws[i].T
                g = g * (hs[i] > 0) if relu else g * (1 - hs[i] * hs[i])
        for p, gr, b in zip(params, grads_w + grads_b, bufs):
            b *= MOMENTUM
            b += gr
            p -= LR * b

    return step


def worker(framework: str, workload: str, steps: int, warmup: int) -> dict:
    w = WORKLOADS[workload]
    step = {"chainrule": _chainrule_step, "torch": _torch_step, "numpy": _numpy_step}[framework](w)
    if framework == "torch":
        import torch

        torch.set_num_threads(2)
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return {"median_ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times)}


def _blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    import numpy  # noqa: F401

    info = [
        f"{d.get('internal_api')} {d.get('architecture')} threads={d.get('num_threads')}"
        for d in threadpool_info()
        if d.get("user_api") == "blas"
    ]
    return "; ".join(info) or "unknown"


def profile(workload: str, steps: int) -> None:
    import cProfile
    import pstats

    step = _chainrule_step(WORKLOADS[workload])
    for _ in range(50):
        step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    stats = pstats.Stats(prof)
    print(f"cProfile of {steps} chainrule {workload} steps (per-step times: divide by {steps})")
    stats.sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    ap.add_argument("--frameworks", nargs="+", default=["chainrule", "torch", "numpy"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "WORKLOAD"))
    ap.add_argument("--json", help="write the results as JSON here")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.steps, args.warmup)))
        return 0
    if args.profile:
        profile("tanh", args.steps * 5)
        return 0
    print(f"BLAS: {_blas_info()}")
    best: dict = {}
    for r in range(args.rounds):
        for wl in args.workloads:
            for fw in args.frameworks:
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--worker",
                        fw,
                        wl,
                        "--steps",
                        str(args.steps),
                        "--warmup",
                        str(args.warmup),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                res = json.loads(out.stdout.strip().splitlines()[-1])
                key = (wl, fw)
                best[key] = min(best.get(key, float("inf")), res["median_ms"])
                print(
                    f"round {r + 1} {wl:5s} {fw:9s} median {res['median_ms']:8.3f} ms", flush=True
                )
    print("\nbest medians (ms/step) and ratio chainrule / torch")
    print("| workload | chainrule | PyTorch | NumPy by hand | ratio |")
    print("|---|---|---|---|---|")
    rows = {}
    for wl in args.workloads:
        cr_ms, th_ms = best.get((wl, "chainrule")), best.get((wl, "torch"))
        np_ms = best.get((wl, "numpy"))
        ratio = cr_ms / th_ms if cr_ms and th_ms else float("nan")
        rows[wl] = {"chainrule": cr_ms, "torch": th_ms, "numpy": np_ms, "ratio": ratio}

        def fmt(v):
            return f"{v:.3f}" if v else "-"

        print(f"| {wl} | {fmt(cr_ms)} | {fmt(th_ms)} | {fmt(np_ms)} | {ratio:.2f}x |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
