"""Winograd weight gradient against chainrule's im2col one and PyTorch's, per layer.

For 3x3 stride-1 'same' float32 convolutions (ResNet-20's three shapes at batch 64: 16
channels at 32x32, 32 at 16x16, 64 at 8x8; ResNet-18 (CIFAR)'s 128 at 16x16 and 256 at 8x8 at
batch 32), the weight gradient timed in three kinds of process, alternating, each its own
process:

  * ``old``: chainrule's current path, ``ops._conv_kernels.conv_weight_grad`` (what
    ``F.conv2d``'s backward calls, without the Tensor wrapper);
  * ``new``: :func:`chainrule._kernels.winograd_wgrad.conv3x3_weight_grad`;
  * ``torch``: ``aten.convolution_backward`` with only the weight gradient asked for.

Inputs and output gradients are laid out as in a chainrule network ((C, N, H, W) memory) and
as in a PyTorch one (NCHW). Each process times ``--calls`` calls after a warm-up and reports
the minimum; the table shows the minimum over ``--reps`` processes (and their median), new /
old and new / torch, and each path's largest error against PyTorch's float64 gradient,
relative to its largest magnitude (``--errors``).

Usage:  python benchmarks/bench_winograd_wgrad.py [--threads 2] [--reps 5] [--calls 50]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

SHAPES = [(16, 32, 64), (32, 16, 64), (64, 8, 64), (128, 16, 32), (256, 8, 32)]  # (ch, hw, n)
FRAMEWORKS = ("old", "new", "torch")


def _data(ch: int, hw: int, batch: int) -> tuple:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((ch, batch, hw, hw)).astype(np.float32).transpose(1, 0, 2, 3)
    g = rng.standard_normal((ch, batch, hw, hw)).astype(np.float32).transpose(1, 0, 2, 3)
    return x, g  # (N, C, H, W) views of (C, N, H, W) memory, as in a chainrule network


def _call(fw: str, x, g):  # noqa: ANN001, ANN202
    """A function computing one weight gradient of the 'same' 3x3 conv in framework ``fw``."""
    import numpy as np

    ch = x.shape[1]
    pad = (1, 1, 1, 1)
    if fw == "torch":
        import torch

        tx = torch.tensor(np.ascontiguousarray(x))
        tg = torch.tensor(np.ascontiguousarray(g))
        tw = torch.zeros((ch, ch, 3, 3))

        def call():  # noqa: ANN202
            with torch.no_grad():
                return torch.ops.aten.convolution_backward(
                    tg, tx, tw, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1,
                    [False, True, False],
                )[1].numpy()  # fmt: skip

        return call
    from chainrule._kernels import winograd_wgrad
    from chainrule.ops import _conv_kernels as ck

    if fw == "old":
        return lambda: ck.conv_weight_grad(x, g, (ch, ch, 3, 3), (1, 1), pad, (1, 1), 1)
    return lambda: winograd_wgrad.conv3x3_weight_grad(x, g, pad)


def worker(fw: str, ch: int, hw: int, batch: int, threads: int, calls: int) -> dict:
    """Times of ``calls`` calls of one layer's weight gradient in this process."""
    if fw == "torch":
        import torch

        torch.set_num_threads(threads)
    else:
        import chainrule

        chainrule.set_num_threads(threads)
    call = _call(fw, *_data(ch, hw, batch))
    for _ in range(5):
        call()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    times.sort()
    return {"min_ms": 1000 * times[0], "median_ms": 1000 * times[len(times) // 2]}


def errors(ch: int, hw: int, batch: int) -> dict:
    """Each path's largest error against PyTorch's float64 weight gradient, relative to its
    largest magnitude."""
    import numpy as np
    import torch

    x, g = _data(ch, hw, batch)
    ref = torch.ops.aten.convolution_backward(
        torch.tensor(g, dtype=torch.float64), torch.tensor(x, dtype=torch.float64),
        torch.zeros((ch, ch, 3, 3), dtype=torch.float64), None, [1, 1], [1, 1], [1, 1], False,
        [0, 0], 1, [False, True, False],
    )[1].numpy()  # fmt: skip
    scale = np.abs(ref).max()
    return {fw: float(np.abs(_call(fw, x, g)() - ref).max() / scale) for fw in FRAMEWORKS}


def _run(*args: object) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5, help="processes per framework and layer")
    ap.add_argument("--calls", type=int, default=50, help="timed calls per process")
    ap.add_argument("--shapes", default="all", help="comma-separated indices into SHAPES")
    ap.add_argument("--errors", action="store_true", help="also print float32 errors")
    ap.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        fw, ch, hw, batch, threads, calls = args.worker
        print(json.dumps(worker(fw, int(ch), int(hw), int(batch), int(threads), int(calls))))
        return
    shapes = SHAPES if args.shapes == "all" else [SHAPES[int(i)] for i in args.shapes.split(",")]
    print(f"threads={args.threads} reps={args.reps} calls={args.calls}; min ms (median of mins)")
    head = f"{'layer':<18}{'old':>16}{'new':>16}{'torch':>16}{'new/old':>9}{'new/torch':>10}"
    print(head + ("   err old / new / torch" if args.errors else ""))
    for ch, hw, batch in shapes:
        mins: dict[str, list[float]] = {fw: [] for fw in FRAMEWORKS}
        for _ in range(args.reps):
            for fw in FRAMEWORKS:
                mins[fw].append(_run(fw, ch, hw, batch, args.threads, args.calls)["min_ms"])
        best = {fw: min(v) for fw, v in mins.items()}
        mid = {fw: sorted(v)[len(v) // 2] for fw, v in mins.items()}
        cells = "".join(f"{best[fw]:>7.3f} ({mid[fw]:.3f})".rjust(16) for fw in FRAMEWORKS)
        line = f"{f'{ch}ch{hw}x{hw} b{batch}':<18}{cells}"
        line += f"{best['new'] / best['old']:>9.2f}{best['new'] / best['torch']:>10.2f}"
        if args.errors:
            e = errors(ch, hw, batch)
            line += "   " + " / ".join(f"{e[fw]:.1e}" for fw in FRAMEWORKS)
        print(line, flush=True)


if __name__ == "__main__":
    main()
