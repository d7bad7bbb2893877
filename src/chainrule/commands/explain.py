"""``chainrule explain EXPR --at x1=5,...``: walk the backward pass of an expression."""

from __future__ import annotations

import argparse
import sys

from ..explain import expression, parse_assignments


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "explain",
        help="explain the backward pass of an expression step by step",
        description="Evaluate an expression (numbers, variables, + - * / **, unary minus and "
        "exp, log, sin, cos, tanh, sigmoid, relu, sqrt, abs, ...) and print every "
        "backward step: upstream gradient U, local gradient L, and U x L. The "
        "expression is parsed safely, never eval'd.",
    )
    p.add_argument("expression", help='e.g. "(x1+x2)*x3-x4"')
    p.add_argument("--at", default="", help="variable values, e.g. x1=5,x2=4,x3=3,x4=2")
    p.add_argument("--format", choices=["text", "table", "markdown", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        expl = expression(args.expression, parse_assignments(args.at))
    except (ValueError, OverflowError, ZeroDivisionError, RecursionError) as err:
        print(f"chainrule explain: {err}", file=sys.stderr)
        return 2
    if args.format == "text":
        print(f"f = {args.expression}   at {args.at}\n" if args.at else f"f = {args.expression}\n")
        print(expl.to_text())
    elif args.format == "table":
        print(expl.table())
    elif args.format == "markdown":
        print(expl.to_markdown())
    else:
        print(expl.to_json())
    return 0
