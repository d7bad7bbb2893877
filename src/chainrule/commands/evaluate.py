"""``chainrule evaluate DIR``: reload a trained run and evaluate it on the test set."""

from __future__ import annotations

import argparse
import pickle
import sys

from ._classifier import evaluate_run


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="evaluate a trained run directory on the held-out test set",
        description="Rebuild the model from DIR/config.json, load DIR/model.safetensors and "
        "the fitted preprocessing, and report test loss, accuracy and per-class "
        "accuracy.",
    )
    p.add_argument("run_dir", metavar="DIR", help="the --out directory of `chainrule train`")
    p.add_argument("--data-root", default=None, help="folder holding the data files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate the run; a missing, corrupt or hostile run directory exits with status 2."""
    try:
        evaluate_run(args.run_dir, data_root=args.data_root)
    except (ValueError, OSError, RuntimeError, pickle.UnpicklingError) as err:
        msg = str(err)
        print(msg if msg.startswith("chainrule") else f"chainrule evaluate: {msg}", file=sys.stderr)
        return 2
    return 0
