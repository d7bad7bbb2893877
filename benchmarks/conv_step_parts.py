"""Where a CNN training step spends its time in the convolution kernels, without a profiler.

cProfile inflates Python-heavy parts; this wraps the conv kernel functions
(``ops/_conv_kernels.py``: the three products, the im2col gather, the padding copies,
col2im) with wall-clock timers in one real training step loop, and also counts the bytes
the im2col gathers write. Nested calls are counted in both (the stride-1 input gradient
runs ``conv_forward``).

Usage:  python benchmarks/conv_step_parts.py [--model resnet20] [--batch 64] [--steps 10]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.ops import _conv_kernels as K
from chainrule.ops import _im2col as I


def _timed(totals: dict, key: str, fn: Callable) -> Callable:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[key] = totals.get(key, 0.0) + time.perf_counter() - t

    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet20")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()

    totals: dict[str, float] = {}
    gathered = {"bytes": 0, "calls": 0}
    gather = K.gather

    def counting_gather(out: Any, win: Any) -> None:
        gathered["bytes"] += out.nbytes
        gathered["calls"] += 1
        gather(out, win)

    K.gather = _timed(totals, "im2col gathers", counting_gather)
    I.parallel_copy = _timed(totals, "gathers + padding copies", I.parallel_copy)
    K.scatter_add = _timed(totals, "col2im scatter-adds", K.scatter_add)
    for name in ("conv_forward", "conv_input_grad", "conv_weight_grad"):
        setattr(K, name, _timed(totals, name, getattr(K, name)))

    in_ch = 1 if args.model == "lenet5" else 3
    size = 28 if args.model == "lenet5" else 32
    cr.manual_seed(0)
    model = cr.models.get_model(args.model, num_classes=10, in_channels=in_ch)
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((args.batch, in_ch, size, size)).astype(np.float32))
    y = cr.tensor(rng.integers(0, 10, args.batch))
    opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = cr.nn.CrossEntropyLoss()

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    totals.clear()
    gathered.update(bytes=0, calls=0)
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    n = args.steps
    print(f"{args.model} batch {args.batch}: step median {1e3 * np.median(times):.1f} ms")
    print(
        f"  im2col gathers write {gathered['bytes'] / n / 1e6:.0f} MB per step "
        f"in {gathered['calls'] / n:.0f} calls"
    )
    for key, total in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {key:28s} {1e3 * total / n:8.1f} ms/step")


if __name__ == "__main__":
    main()
