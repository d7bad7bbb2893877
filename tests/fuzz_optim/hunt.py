"""The long hunt of the optimizer fuzzer: draws COUNT programs from SEED, runs each on torch
and chainrule, groups the disagreements by their message and shrinks one program per group
greedily (fewer actions, no scheduler, fewer groups, default options, float64). Not a test;
run by hand, one at a time (it is single-process)::

    python -m tests.fuzz_optim.hunt [COUNT] [SEED] [OPTIMIZER ...]

``OPTIMIZER``: only programs of these classes (SGD, Adam, ..., see ``OPTIMIZERS``). The
loop is :mod:`tests.fuzz_common.driver`'s.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterator

from tests.fuzz_common import driver
from tests.fuzz_common.driver import HuntSpec, drop_numbers, parse_args

from .programs import OPTIMIZERS, Program, check, draw

__all__ = ["hunt", "main", "shrink", "signature"]


def signature(prog: Program, diffs: list[str]) -> str:
    """The class and the first difference with numbers and arrays dropped."""
    msg = drop_numbers(re.sub(r"\[[^\]]*\]", "[]", diffs[0]))
    return f"{prog.opt}: {msg[:140]}"


def _simpler(prog: Program) -> Iterator[Program]:
    """Programs one step simpler than ``prog``."""
    rep = dataclasses.replace
    acts = prog.actions
    for k in range(len(acts)):
        if acts[k][0] == "grad" and k + 1 < len(acts) and acts[k + 1] == ("step",):
            yield rep(prog, actions=acts[:k] + acts[k + 2 :])
        yield rep(prog, actions=acts[:k] + acts[k + 1 :])
    if prog.sched is not None:
        yield rep(prog, sched=None, actions=tuple(a for a in acts if a[0] != "sched"))
    for k in range(len(prog.defaults)):
        yield rep(prog, defaults=prog.defaults[:k] + prog.defaults[k + 1 :])
    for g, (idx, opts) in enumerate(prog.groups):
        for k in range(len(opts)):
            group = (idx, opts[:k] + opts[k + 1 :])
            yield rep(prog, groups=prog.groups[:g] + (group,) + prog.groups[g + 1 :])
    if len(prog.groups) == 1 and not prog.groups[0][1]:
        yield rep(prog, groups=())
    if prog.dtype != "float64":
        yield rep(prog, dtype="float64")
    for k, (shape, cplx) in enumerate(prog.params):
        if cplx:
            yield rep(prog, params=prog.params[:k] + ((shape, False),) + prog.params[k + 1 :])
        if any(s > 1 for s in shape):
            small = tuple(min(s, 1) for s in shape)
            yield rep(prog, params=prog.params[:k] + ((small, cplx),) + prog.params[k + 1 :])
    if prog.seed:
        yield rep(prog, seed=0)


def _spec(opts: tuple = OPTIMIZERS) -> HuntSpec:
    return HuntSpec(
        draw=lambda rng, n: draw(rng, opts),
        check=check,
        signature=signature,
        simpler=_simpler,
        unit="programs",
    )


def shrink(prog: Program, sig: str, budget: float = 30.0) -> Program:
    """A smaller program with the same signature (greedy, within ``budget`` seconds)."""
    return driver.shrink(dataclasses.replace(_spec(), budget=budget), prog, sig)


def hunt(count: int, seed: int, opts: tuple = OPTIMIZERS) -> dict:
    """The disagreements of ``count`` programs drawn from ``seed``, grouped by signature."""
    return driver.hunt(_spec(opts), count, seed)


def main(argv: list[str]) -> int:
    """Hunt and print one shrunk program per group of disagreements."""
    args = parse_args(argv, count=1000, seed=0)
    return driver.main(_spec(tuple(args.rest) or OPTIMIZERS), args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
