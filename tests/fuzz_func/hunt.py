"""The long hunt of the ``torch.func`` fuzzer: draws COUNT programs from SEED (transform
compositions of :mod:`.programs`, then module programs of :mod:`.modules`), runs each on
torch and chainrule, groups the disagreements by their message and shrinks one program per
group greedily (fewer steps and layers, simpler options, float64, smaller shapes). Not a
test; run by hand, one at a time (it is single-process)::

    python -m tests.fuzz_func.hunt [COUNT] [SEED] [LAYER ...]

``LAYER``: only programs whose layers are of these kinds (vmap, grad, ..., see ``LAYERS``;
``modules`` for the module programs only); ``+STEP`` (``+fmod_y``): only transform programs
whose body uses one of these body steps (the others are drawn and skipped). The loop is
:mod:`tests.fuzz_common.driver`'s.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from tests.fuzz_common import driver
from tests.fuzz_common.driver import HuntSpec, drop_numbers, parse_args

from . import modules
from .programs import LAYERS, Program, check, draw

__all__ = ["hunt", "main", "shrink", "signature"]


def signature(prog: Any, diffs: list[str]) -> str:
    """The layer kinds and the first difference with numbers and arrays dropped."""
    msg = drop_numbers(re.sub(r"\[[^\]]*\]|\([^)]*\)", "()", diffs[0]))
    kinds = "/".join(la[0] for la in prog.layers) if isinstance(prog, Program) else prog.kind
    return f"{kinds}: {msg[:160]}"


def _simpler_layer(layer: tuple) -> Iterator[tuple]:
    rep = list(layer)
    if layer[0] == "vmap":
        for k, v in ((3, None), (4, "error"), (2, 0), (5, 2), (1, 0)):
            if layer[k] != v:
                yield tuple(rep[:k] + [v] + rep[k + 1 :])
    elif layer[0] in ("grad", "gv", "jacrev", "jacfwd", "hessian") and layer[1] != 0:
        yield tuple(rep[:1] + [0] + rep[2:])
    if layer[0] == "jacrev" and layer[3] is not None:
        yield tuple(rep[:3] + [None])


def _simpler(prog: Any) -> Iterator[Any]:
    """Programs one step simpler than ``prog``."""
    if not isinstance(prog, Program):
        yield from modules.simpler(prog)
        return
    rep = dataclasses.replace
    for k in range(len(prog.body)):
        yield rep(prog, body=prog.body[:k] + prog.body[k + 1 :])
    if len(prog.layers) > 1:
        for k in range(len(prog.layers) - 1):
            yield rep(prog, layers=prog.layers[:k] + prog.layers[k + 1 :])
    for k, layer in enumerate(prog.layers):
        for new in _simpler_layer(layer):
            yield rep(prog, layers=prog.layers[:k] + (new,) + prog.layers[k + 1 :])
    if prog.dtype != "float64":
        yield rep(prog, dtype="float64")
    if prog.out != "tensor":
        yield rep(prog, out="tensor")
    if len(prog.s) == 2:
        yield rep(prog, s=prog.s[1:])
    if any(n > 1 for n in prog.s):
        yield rep(prog, s=tuple(max(1, n - 1) for n in prog.s))
    if prog.seed:
        yield rep(prog, seed=0)


def _check(prog: Any) -> list:
    return check(prog) if isinstance(prog, Program) else modules.check(prog)


def _spec(kinds: tuple = LAYERS, steps: tuple = ()) -> HuntSpec:
    def draw_nth(rng: np.random.Generator, n: int) -> Any:
        if kinds == ("modules",) or (kinds == LAYERS and n % 4 == 3):
            prog = modules.draw(rng)
            return None if steps else prog
        prog = draw(rng, kinds)
        return None if steps and not any(st[0] in steps for st in prog.body) else prog

    return HuntSpec(
        draw=draw_nth,
        check=_check,
        signature=signature,
        simpler=_simpler,
        unit="programs",
        every=200,
    )


def shrink(prog: Any, sig: str, budget: float = 30.0) -> Any:
    """Greedily simplify ``prog`` while its signature stays ``sig``."""
    return driver.shrink(dataclasses.replace(_spec(), budget=budget), prog, sig)


def hunt(count: int, seed: int, kinds: tuple = LAYERS) -> dict:
    """Run ``count`` programs from ``seed``; the disagreements grouped by signature."""
    return driver.hunt(_spec(kinds), count, seed)


def main(argv: list[str]) -> int:
    """Hunt and print one shrunk program per group of disagreements."""
    args = parse_args(argv, count=500, seed=1)
    steps = tuple(w[1:] for w in args.rest if w.startswith("+"))
    kinds = tuple(w for w in args.rest if not w.startswith("+"))
    return driver.main(_spec(kinds or LAYERS, steps), args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
