"""``chainrule generate RUN``: print a sample from a trained language model.

Example::

    chainrule train --data tiny-shakespeare --model gpt --out runs/shakespeare
    chainrule generate runs/shakespeare --prompt "ROMEO:" --tokens 300
"""

from __future__ import annotations

import argparse
import sys

from ..train.lm import sample_from_run


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "generate",
        help="sample text from a trained language model run",
        description="Rebuild the language model of a `chainrule train --data text:...` run and "
        "print a sample continuing --prompt.",
    )
    p.add_argument("run", help="the run directory (--out of chainrule train)")
    p.add_argument("--prompt", default="\n", help="text to continue (default: a newline)")
    p.add_argument(
        "--tokens",
        type=_non_negative_int,
        default=300,
        help="number of tokens to generate (default: %(default)s)",
    )
    p.add_argument("--temperature", type=_positive_float, default=1.0)
    p.add_argument(
        "--top-k",
        type=_non_negative_int,
        default=None,
        help="sample among the k most likely tokens only",
    )
    p.add_argument("--seed", type=_non_negative_int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        text = sample_from_run(
            args.run,
            prompt=args.prompt,
            tokens=args.tokens,
            temperature=args.temperature,
            top_k=args.top_k or None,
            seed=args.seed,
        )
    except (FileNotFoundError, ValueError) as e:
        hint = ""
        if isinstance(e, FileNotFoundError):
            hint = " (RUN is the --out directory of `chainrule train --data text...`)"
        print(f"chainrule generate: {e}{hint}", file=sys.stderr)
        return 2
    print(text)
    return 0
