"""``chainrule inspect-init``: the lectures' initialization experiment, per-layer statistics."""

from __future__ import annotations

import argparse
import os
import sys

from ..diagnostics.init_study import init_study
from ._validate import check_int, check_real


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "inspect-init",
        help="activation statistics across depth for an initialization",
        description="Forward a random batch through DEPTH layers of WIDTH units with the "
        "chosen activation and weight init (small: 0.01*randn, large: 0.05*randn, "
        "xavier: randn/sqrt(Din), kaiming: randn*sqrt(2/Din)); print the per-layer "
        "mean/std table and write the histogram figure.",
    )
    p.add_argument("--activation", choices=["tanh", "relu", "sigmoid"], default="tanh")
    p.add_argument(
        "--init",
        default="small",
        help="small | large | xavier | kaiming | a number (the weight std)",
    )
    p.add_argument("--depth", type=int, default=7)
    p.add_argument("--width", type=int, default=4096)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="directory for the histogram figure (PNG)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    init: str | float = args.init
    try:
        init = float(args.init)
    except ValueError:
        pass
    try:
        check_int("--depth", args.depth, 1, 200)
        check_int("--width", args.width, 1, 16384)
        check_int("--batch", args.batch, 1, 65536)
        check_int("--seed", args.seed, 0, 2**63 - 1)
        if isinstance(init, float):
            check_real("--init", init, 0.0, low_open=True)
    except ValueError as err:
        print(f"chainrule inspect-init: {err}", file=sys.stderr)
        return 2
    try:
        study = init_study(
            args.activation,
            init,
            depth=args.depth,
            width=args.width,
            batch=args.batch,
            seed=args.seed,
        )
    except ValueError as err:
        print(f"chainrule inspect-init: {err}", file=sys.stderr)
        return 2
    print(study.table())
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, f"init_{args.activation}_{args.init}.png")
        study.plot(path)
        print(f"wrote {path}")
    return 0
