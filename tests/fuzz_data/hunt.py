"""The long hunt of the data-pipeline fuzzer: draws COUNT programs from SEED, runs each on
torch and chainrule, groups the disagreements by their message and shrinks one program per
group greedily (fewer actions, no sampler or batch sampler, fewer loader options, a smaller
dataset). Not a test; run by hand, one at a time (single-process)::

    python -m tests.fuzz_data.hunt [COUNT] [SEED] [workers] [KIND ...]

``workers``: also draw ``num_workers=2`` (slow); ``KIND``: only these dataset kinds
(tensor, map, iter, concat, subset, split, chain, stack).
"""

from __future__ import annotations

import dataclasses
import re
import sys
import time
from collections.abc import Iterator

import numpy as np

from .pipeline_run import check
from .pipelines import Program, draw


def signature(diffs: list[str]) -> str:
    """The first difference with numbers and lists dropped."""
    msg = re.sub(r"\[[^\]]*\]", "[]", diffs[0])
    msg = re.sub(r"[-+]?\d[\d.e+-]*", "#", msg)
    return msg[:160]


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


def shrink(prog: Program, sig: str, budget: float = 30.0) -> Program:
    """A smaller program with the same first difference (greedy, within ``budget`` s)."""
    end = time.monotonic() + budget
    changed = True
    while changed and time.monotonic() < end:
        changed = False
        for p in _simpler(prog):
            try:
                d = check(p)
            except Exception:  # noqa: BLE001 - a broken simplification is skipped
                continue
            if d and signature(d) == sig:
                prog, changed = p, True
                break
    return prog


def hunt(count: int, seed: int, workers: bool = False, kinds: tuple | None = None) -> dict:
    """The disagreements of ``count`` programs drawn from ``seed``, grouped by signature."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list] = {}
    start = time.monotonic()
    for n in range(count):
        prog = draw(rng, kinds, workers)
        diffs = check(prog)
        if diffs:
            groups.setdefault(signature(diffs), []).append((prog, diffs))
        if (n + 1) % 1000 == 0:
            took = time.monotonic() - start
            print(f"{n + 1} programs, {len(groups)} groups, {took:.0f} s", flush=True)
    return groups


def main(argv: list[str]) -> int:
    """Hunt and print one shrunk program per group of disagreements."""
    count = int(argv[0]) if argv else 1000
    seed = int(argv[1]) if len(argv) > 1 else 0
    rest = argv[2:]
    workers = bool(rest) and rest[0] == "workers"
    kinds = tuple(rest[1:] if workers else rest) or None
    groups = hunt(count, seed, workers, kinds)
    total = sum(len(v) for v in groups.values())
    print(f"{count} programs, {total} disagreements in {len(groups)} groups")
    for sig, found in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        prog, _ = found[0]
        small = shrink(prog, sig)
        print(f"\n[{len(found)}x] {sig}\n  {small!r}")
        for d in check(small)[:3]:
            print(f"    {d[:400]}")
    return 1 if groups else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
