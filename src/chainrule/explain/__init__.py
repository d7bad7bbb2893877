"""Explain a backward pass step by step (``cr.explain``).

``cr.explain.backward(out)`` (or ``out.backward(explain=True)``) reports, for every node in
the engine's reverse topological order, the upstream gradient, the local gradient and the
downstream gradient, and where gradients from several paths are summed.
``cr.explain.expression("(x1+x2)*x3-x4", x1=5, x2=4, x3=3, x4=2)`` does the same for a
small expression, parsed safely (never ``eval``).
"""

from __future__ import annotations

from typing import Any

from .parser import ALLOWED_FUNCTIONS, evaluate, parse, parse_assignments, variables
from .report import Explanation, InputStep, Step
from .trace import backward

__all__ = [
    "ALLOWED_FUNCTIONS",
    "Explanation",
    "InputStep",
    "Step",
    "backward",
    "evaluate",
    "expression",
    "parse",
    "parse_assignments",
    "variables",
]


def expression(text: str, values: dict[str, float] | None = None, **kwargs: Any) -> Explanation:
    """Explain the backward pass of a small expression at the given values.

    Args:
        text: e.g. ``"(x1+x2)*x3-x4"``; numbers, variables, ``+ - * / **``, unary minus and
            the functions in :data:`ALLOWED_FUNCTIONS`.
        values: ``{name: value}``; keyword arguments are merged in.

    Example:
        >>> import chainrule as cr
        >>> e = cr.explain.expression("(x1+x2)*x3-x4", x1=5, x2=4, x3=3, x4=2)
        >>> {k: float(v) for k, v in e.gradients.items()}
        {'x1': 3.0, 'x2': 3.0, 'x3': 9.0, 'x4': -1.0}
    """
    vals = dict(values or {})
    vals.update(kwargs)
    ev = evaluate(text, vals)
    names = dict(ev.inputs)
    names.update(ev.intermediates)
    expl = backward(ev.output, names=names, formulas=ev.formulas, output_name="f")
    # report gradients in the order the variables appear in the expression
    order = [n for n in ev.inputs if n in expl.gradients]
    expl.gradients = {n: expl.gradients[n] for n in order}
    return expl
