"""Winograd F(2x2, 3x3) against chainrule's im2col convolution and PyTorch, per layer.

For ResNet-20's three 3x3 stride-1 convolution shapes (16 channels at 32x32, 32 at 16x16, 64
at 8x8; float32), at batch 64 and batch 1: the forward product and the input gradient, timed
in three kinds of process, alternating, each its own process:

  * ``old``: chainrule's current path (``ops._conv_kernels.conv_forward`` /
    ``conv_input_grad``, what ``F.conv2d`` and its backward call, without the Tensor wrapper);
  * ``new``: :func:`chainrule._kernels.winograd.conv3x3`;
  * ``torch``: ``torch.nn.functional.conv2d`` and ``aten.convolution_backward`` (input only).

Inputs are laid out as in a chainrule network ((C, N, H, W) memory) and as in a PyTorch one
(NCHW). Each process times ``--calls`` calls after a warm-up, ``--reps`` times over, and
reports the minimum; the table shows the minimum over processes and new / old, new / torch.

Usage:  python benchmarks/bench_winograd.py [--threads 2] [--reps 5] [--calls 50]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

SHAPES = [(16, 32), (32, 16), (64, 8)]  # (channels, height = width)
FRAMEWORKS = ("old", "new", "torch")


def worker(fw: str, ch: int, hw: int, batch: int, op: str, threads: int, calls: int) -> dict:
    """Times of ``calls`` calls of one layer's ``op`` ('fwd' or 'igrad') in this process."""
    if fw != "torch":
        import chainrule

        chainrule.set_num_threads(threads)
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, ch, hw, hw)).astype(np.float32)
    w = (rng.standard_normal((ch, ch, 3, 3)) * 0.1).astype(np.float32)
    pad = (1, 1, 1, 1)
    if fw == "torch":
        import torch
        import torch.nn.functional as TF

        torch.set_num_threads(threads)
        tx, tw = torch.tensor(x), torch.tensor(w)
        if op == "fwd":

            def call():
                with torch.no_grad():
                    TF.conv2d(tx, tw, padding=1)
        else:

            def call():
                with torch.no_grad():
                    torch.ops.aten.convolution_backward(
                        tx, tx, tw, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1,
                        [True, False, False],
                    )  # fmt: skip
    else:
        from chainrule._kernels import winograd
        from chainrule.ops import _conv_kernels as ck

        xc = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)  # CNHW memory
        if fw == "old" and op == "fwd":

            def call():
                ck.conv_forward(xc, w, None, (1, 1), pad, (1, 1), 1)
        elif fw == "old":

            def call():
                ck.conv_input_grad(xc, w, x.shape, (1, 1), pad, (1, 1), 1)
        elif op == "fwd":

            def call():
                winograd.conv3x3(xc, w, pad)
        else:

            def call():
                winograd.conv3x3(xc, w, (1, 1, 1, 1), flip=True)

    for _ in range(5):
        call()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    times.sort()
    return {"min_ms": 1000 * times[0], "median_ms": 1000 * times[len(times) // 2]}


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
    ap.add_argument("--batches", default="64,1")
    ap.add_argument("--ops", default="fwd,igrad")
    ap.add_argument("--worker", nargs=7, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        fw, ch, hw, batch, op, threads, calls = args.worker
        print(json.dumps(worker(fw, int(ch), int(hw), int(batch), op, int(threads), int(calls))))
        return
    print(f"threads={args.threads} reps={args.reps} calls={args.calls}; min ms (median of mins)")
    print(f"{'layer':<24}{'old':>14}{'new':>14}{'torch':>14}{'new/old':>9}{'new/torch':>10}")
    for batch in map(int, args.batches.split(",")):
        calls = args.calls * (10 if batch == 1 else 1)
        for op in args.ops.split(","):
            for ch, hw in SHAPES:
                mins: dict[str, list[float]] = {fw: [] for fw in FRAMEWORKS}
                for _ in range(args.reps):
                    for fw in FRAMEWORKS:
                        r = _run(fw, ch, hw, batch, op, args.threads, calls)
                        mins[fw].append(r["min_ms"])
                best = {fw: min(v) for fw, v in mins.items()}
                mid = {fw: sorted(v)[len(v) // 2] for fw, v in mins.items()}
                cells = "".join(
                    f"{best[fw]:>7.3f} ({mid[fw]:.3f})"[:14].rjust(14) for fw in FRAMEWORKS
                )
                name = f"{op} {ch}ch{hw}x{hw} b{batch}"
                print(
                    f"{name:<24}{cells}{best['new'] / best['old']:>9.2f}"
                    f"{best['new'] / best['torch']:>10.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
