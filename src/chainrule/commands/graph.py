"""``chainrule graph``: draw the computation graph of a zoo model or of an expression."""

from __future__ import annotations

import argparse
import math
import os
import sys

from ..creation_random import randn
from ..explain import evaluate, parse_assignments, variables
from ..models import get_model
from ..viz import draw_graph, render


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "graph",
        help="draw the computation graph of a model or an expression",
        description="Draw a computation graph as DOT/SVG/PNG. Give an expression such as "
        "'(x1+x2)*x3-x4' (variables default to 1; set them with --at), or "
        "--model NAME to draw a zoo model's forward pass on a random batch.",
    )
    p.add_argument("expression", nargs="?", help='e.g. "(x1+x2)*x3-x4"')
    p.add_argument("--at", default="", help="variable values, e.g. x1=5,x2=4")
    p.add_argument("--model", help="a model name from cr.models (e.g. lenet5)")
    p.add_argument(
        "--input-shape",
        default=None,
        help="input shape for --model without the batch, e.g. 1,28,28",
    )
    p.add_argument("--out", help="output file (.svg, .png, .pdf or .dot); prints DOT if omitted")
    p.add_argument("--saved", action="store_true", help="show the shapes of saved values")
    p.set_defaults(func=run)


def _model_graph(args):
    model = get_model(args.model)
    if args.input_shape:
        try:
            shape = tuple(int(s) for s in args.input_shape.split(","))
        except ValueError:
            raise ValueError(
                f"--input-shape must be comma-separated integers such as 1,28,28, "
                f"got {args.input_shape!r}"
            ) from None
        if not 1 <= len(shape) <= 4 or min(shape) < 1 or math.prod(shape) > 10**7:
            raise ValueError(
                f"--input-shape must be 1 to 4 positive sizes with at most 10**7 "
                f"elements in all, got {args.input_shape!r}"
            )
    else:
        shape = getattr(model, "input_shape", None) or _guess_shape(args.model)
    x = randn(1, *shape)
    out = model(x)
    return draw_graph(
        out,
        params=dict(model.named_parameters()),
        inputs={"input": x},
        show_saved=args.saved,
        title=f"{args.model} forward graph",
        rankdir="TB",
    )


def _guess_shape(name: str) -> tuple:
    name = name.lower()
    if "lenet" in name:
        return (1, 28, 28)
    if "mlp" in name:
        return (784,)
    return (3, 32, 32)


def run(args: argparse.Namespace) -> int:
    try:
        if args.model:
            graph = _model_graph(args)
        elif args.expression:
            values = {n: 1.0 for n in variables(args.expression)}
            values.update(parse_assignments(args.at))
            ev = evaluate(args.expression, values)
            graph = draw_graph(ev.output, inputs=ev.inputs, title=args.expression)
        else:
            print("chainrule graph: give an expression or --model NAME", file=sys.stderr)
            return 2
    except ValueError as err:
        print(f"chainrule graph: {err}", file=sys.stderr)
        return 2
    if not args.out:
        print(graph.source)
        return 0
    ext = os.path.splitext(args.out)[1].lstrip(".").lower() or "svg"
    if ext in ("dot", "gv"):
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(graph.source)
    else:
        try:
            render(graph, args.out, format=ext)
        except RuntimeError as err:
            print(f"chainrule graph: {err}", file=sys.stderr)
            return 1
    print(f"wrote {args.out}")
    return 0
