"""The long hunt of the optimizer fuzzer: draws COUNT programs from SEED, runs each on torch
and chainrule, groups the disagreements by their message and shrinks one program per group
greedily (fewer actions, no scheduler, fewer groups, default options, float64). Not a test;
run by hand, one at a time (it is single-process)::

    python -m tests.fuzz_optim.hunt [COUNT] [SEED] [OPTIMIZER ...]

``OPTIMIZER``: only programs of these classes (SGD, Adam, ..., see ``OPTIMIZERS``).
"""

from __future__ import annotations

import dataclasses
import re
import sys
import time

import numpy as np

from .programs import OPTIMIZERS, Program, check, draw


def signature(prog: Program, diffs: list[str]) -> str:
    """The class and the first difference with numbers and arrays dropped."""
    msg = re.sub(r"\[[^\]]*\]", "[]", diffs[0])
    msg = re.sub(r"[-+]?\d[\d.e+-]*", "#", msg)
    return f"{prog.opt}: {msg[:140]}"


def _simpler(prog: Program):
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


def shrink(prog: Program, sig: str, budget: float = 30.0) -> Program:
    end = time.monotonic() + budget
    changed = True
    while changed and time.monotonic() < end:
        changed = False
        for p in _simpler(prog):
            try:
                d = check(p)
            except Exception:  # noqa: BLE001 - a broken simplification is skipped
                continue
            if d and signature(p, d) == sig:
                prog, changed = p, True
                break
    return prog


def hunt(count: int, seed: int, opts: tuple = OPTIMIZERS) -> dict:
    rng = np.random.default_rng(seed)
    groups: dict[str, list] = {}
    start = time.monotonic()
    for n in range(count):
        prog = draw(rng, opts)
        diffs = check(prog)
        if diffs:
            groups.setdefault(signature(prog, diffs), []).append((prog, diffs))
        if (n + 1) % 500 == 0:
            took = time.monotonic() - start
            print(f"{n + 1} programs, {len(groups)} groups, {took:.0f} s", flush=True)
    return groups


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 1000
    seed = int(argv[1]) if len(argv) > 1 else 0
    opts = tuple(argv[2:]) or OPTIMIZERS
    groups = hunt(count, seed, opts)
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
