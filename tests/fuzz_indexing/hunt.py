"""The long hunt of the indexing fuzzer: draws COUNT cases from SEED, runs each on torch and
chainrule, groups the disagreements by their message and shrinks one case per group
greedily (fewer index items, simpler items, a contiguous float64 leaf, a scalar value).
Not a test; run by hand, one at a time (it is single-process)::

    python -m tests.fuzz_indexing.hunt [COUNT] [SEED] [MODE ...]

``MODE``: only cases of these modes (get, set, put, chain, dim).
"""

from __future__ import annotations

import dataclasses
import re
import sys
import time

import numpy as np

from .cases import MODES, Case, check, draw


def signature(diffs: list[str]) -> str:
    """The first difference with numbers and arrays dropped, so one bug groups its cases."""
    msg = re.sub(r"\[[^\]]*\]", "[]", diffs[0])
    msg = re.sub(r"\([^)]*\)", "()", msg)
    return re.sub(r"[-+]?\d[\d.e+-]*", "#", msg)[:140]


def _simpler(case: Case):
    """Cases one step simpler than ``case``."""
    rep = dataclasses.replace
    for field in ("index", "index2"):
        items = getattr(case, field)
        if case.mode == "dim" or not items:
            continue

        def swap(k: int, item: tuple, items: tuple = items, field: str = field) -> Case:
            return rep(case, **{field: items[:k] + (item,) + items[k + 1 :]})

        for k in range(len(items)):
            yield rep(case, **{field: items[:k] + items[k + 1 :]})
        for k, it in enumerate(items):
            if it[0] == "t" and it[1] != (1,) and it[2]:
                yield swap(k, ("t", (1,), it[2][:1], it[3]))
            if it[0] == "t" and (it[3] != "int64" or len(it) > 4):
                yield swap(k, it[:3] + ("int64",))
            if it[0] == "l" and isinstance(it[1], tuple) and len(it[1]) > 1:
                yield swap(k, ("l", it[1][:1]))
            if it[0] == "s" and it[1:] != (None, None, None):
                yield swap(k, ("s", None, None, None))
    if case.layout:
        yield rep(case, layout=0)
    if case.dtype != "float64":
        yield rep(case, dtype="float64")
    if case.bare:
        yield rep(case, bare=False)
    if case.value is not None and case.value[0] == "tensor" and not case.value[3]:
        yield rep(case, value=case.value[:3] + (True,))
    if case.seed:
        yield rep(case, seed=0)


def shrink(case: Case, sig: str, budget: float = 20.0) -> Case:
    end = time.monotonic() + budget
    changed = True
    while changed and time.monotonic() < end:
        changed = False
        for c in _simpler(case):
            d = check(c)
            if d and signature(d) == sig:
                case, changed = c, True
                break
    return case


def hunt(count: int, seed: int, modes: tuple = MODES) -> dict:
    rng = np.random.default_rng(seed)
    groups: dict[str, list] = {}
    start = time.monotonic()
    for n in range(count):
        case = draw(rng, modes)
        diffs = check(case)
        if diffs:
            groups.setdefault(signature(diffs), []).append((case, diffs))
        if (n + 1) % 500 == 0:
            took = time.monotonic() - start
            print(f"{n + 1} cases, {len(groups)} groups, {took:.0f} s", flush=True)
    return groups


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 1000
    seed = int(argv[1]) if len(argv) > 1 else 0
    modes = tuple(argv[2:]) or MODES
    groups = hunt(count, seed, modes)
    total = sum(len(v) for v in groups.values())
    print(f"{count} cases, {total} disagreements in {len(groups)} groups")
    for sig, found in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        case, diffs = found[0]
        small = shrink(case, sig)
        print(f"\n[{len(found)}x] {sig}\n  {small!r}")
        for d in check(small)[:4]:
            print(f"    {d}")
    return 1 if groups else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
