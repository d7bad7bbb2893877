"""``chainrule evaluate DIR``: reload a trained run and evaluate it on the test set."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate", help="evaluate a trained run directory on the held-out test set",
        description="Rebuild the model from DIR/config.json, load DIR/model.safetensors and "
                    "the fitted preprocessing, and report test loss, accuracy and per-class "
                    "accuracy.")
    p.add_argument("run_dir", metavar="DIR", help="the --out directory of `chainrule train`")
    p.add_argument("--data-root", default=None, help="folder holding the data files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..train.job import evaluate_run

    evaluate_run(args.run_dir, data_root=args.data_root)
    return 0
