"""The long hunt of the data-pipeline fuzzer: draws COUNT programs from SEED, runs each on
torch and chainrule, groups the disagreements by their message and shrinks one program per
group greedily (fewer actions, no sampler or batch sampler, fewer loader options, a smaller
dataset). Not a test; run by hand, one at a time (single-process)::

    python -m tests.fuzz_data.hunt [COUNT] [SEED] [workers] [KIND ...]

``workers``: also draw ``num_workers=2`` (slow); ``KIND``: only these dataset kinds
(tensor, map, iter, concat, subset, split, chain, stack). The loop is
:mod:`tests.fuzz_common.driver`'s.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterator

from tests.fuzz_common import driver
from tests.fuzz_common.driver import HuntSpec, drop_numbers, parse_args

from .pipeline_run import check
from .pipelines import Program, draw

__all__ = ["hunt", "main", "shrink", "signature"]


def signature(diffs: list[str]) -> str:
    """The first difference with numbers and lists dropped."""
    return drop_numbers(re.sub(r"\[[^\]]*\]", "[]", diffs[0]))[:160]


def _simpler(prog: Program) -> Iterator[Program]:
    """Programs one step simpler than ``prog``."""
    rep = dataclasses.replace
    acts = prog.actions
    for k in range(len(acts)):
        yield rep(prog, actions=acts[:k] + acts[k + 1 :])
    if prog.sampler is not None:
        yield rep(prog, sampler=None)
    if prog.batch_sampler is not None:
        yield rep(prog, batch_sampler=None)
    for k in range(len(prog.loader)):
        yield rep(prog, loader=prog.loader[:k] + prog.loader[k + 1 :])
    ds = prog.dataset
    if ds[0] == "tensor" and ds[1] > 1:
        yield rep(prog, dataset=("tensor", ds[1] - 1))
    elif ds[0] in ("map", "iter", "stack") and ds[2] > 1:
        yield rep(prog, dataset=(*ds[:2], ds[2] - 1, *ds[3:]))
    if ds[0] != "tensor" and ds[1] != "int":
        yield rep(prog, dataset=(ds[0], "int", *ds[2:]))
    if prog.seed:
        yield rep(prog, seed=0)


def _spec(workers: bool = False, kinds: tuple | None = None) -> HuntSpec:
    return HuntSpec(
        draw=lambda rng, n: draw(rng, kinds, workers),
        check=check,
        signature=lambda prog, diffs: signature(diffs),
        simpler=_simpler,
        unit="programs",
        every=1000,
    )


def shrink(prog: Program, sig: str, budget: float = 30.0) -> Program:
    """A smaller program with the same first difference (greedy, within ``budget`` s)."""
    return driver.shrink(dataclasses.replace(_spec(), budget=budget), prog, sig)


def hunt(count: int, seed: int, workers: bool = False, kinds: tuple | None = None) -> dict:
    """The disagreements of ``count`` programs drawn from ``seed``, grouped by signature."""
    return driver.hunt(_spec(workers, kinds), count, seed)


def main(argv: list[str]) -> int:
    """Hunt and print one shrunk program per group of disagreements."""
    args = parse_args(argv, count=1000, seed=0)
    rest = args.rest
    workers = bool(rest) and rest[0] == "workers"
    kinds = tuple(rest[1:] if workers else rest) or None
    return driver.main(_spec(workers, kinds), args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
