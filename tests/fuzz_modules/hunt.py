"""The long hunt of the nn-module fuzzer: draws COUNT constructions from SEED, runs each on
torch and chainrule, groups the disagreements by module and message and shrinks one case per
group greedily (fewer keyword arguments, smaller inputs, eval mode). Not a test; run by
hand, single-process::

    python -m tests.fuzz_modules.hunt [COUNT] [SEED] [KIND ...] [--plain]

``KIND``: only these families (``Linear``, ``Conv``, ..., see ``programs.KINDS``);
``--plain``: no odd-typed arguments (``programs.P_WEIRD`` = 0).
"""

from __future__ import annotations

import dataclasses
import re
import sys
import time

import numpy as np

from .programs import KINDS, Case, check, draw

__all__ = ["signature", "shrink", "hunt", "main"]


def signature(case: Case, diffs: list[str]) -> str:
    """The module and the first difference with numbers and arrays dropped."""
    msg = re.sub(r"\[[^\]]*\]", "[]", diffs[0])
    msg = re.sub(r"[-+]?\d[\d.e+-]*", "#", msg)
    return f"{case.name}: {msg[:140]}"


def _simpler(case: Case):
    rep = dataclasses.replace
    for k in range(len(case.kwargs)):
        yield rep(case, kwargs=case.kwargs[:k] + case.kwargs[k + 1 :])
    if case.train:
        yield rep(case, train=False)
    if case.seed:
        yield rep(case, seed=0)


def shrink(case: Case, sig: str, budget: float = 20.0) -> Case:
    """A simpler case with the same signature (greedy, within ``budget`` seconds)."""
    end = time.monotonic() + budget
    changed = True
    while changed and time.monotonic() < end:
        changed = False
        for c in _simpler(case):
            try:
                d = check(c)
            except Exception:  # noqa: BLE001 - a broken simplification is skipped
                continue
            if d and signature(c, d) == sig:
                case, changed = c, True
                break
    return case


def hunt(count: int, seed: int, kinds: tuple = KINDS, weird: float | None = None) -> dict:
    """Draw and check ``count`` cases: the disagreements grouped by :func:`signature`
    (``weird``: the rate of odd-typed arguments, ``programs.P_WEIRD`` by default)."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list] = {}
    start = time.monotonic()
    for n in range(count):
        case = draw(rng, kinds, weird)
        try:
            diffs = check(case)
        except Exception as exc:  # noqa: BLE001 - the harness itself failed: reported
            diffs = [f"harness: {type(exc).__name__}: {exc}"]
        if diffs:
            groups.setdefault(signature(case, diffs), []).append((case, diffs))
        if (n + 1) % 500 == 0:
            took = time.monotonic() - start
            print(f"{n + 1} cases, {len(groups)} groups, {took:.0f} s", flush=True)
    return groups


def main(argv: list[str]) -> int:
    """Run a hunt and print each group's shrunk case and first differences."""
    plain = "--plain" in argv
    argv = [a for a in argv if a != "--plain"]
    count = int(argv[0]) if argv else 1000
    seed = int(argv[1]) if len(argv) > 1 else 0
    kinds = tuple(argv[2:]) or KINDS
    groups = hunt(count, seed, kinds, 0.0 if plain else None)
    total = sum(len(v) for v in groups.values())
    print(f"{count} cases, {total} disagreements in {len(groups)} groups")
    for sig, found in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        case, _ = found[0]
        small = shrink(case, sig)
        print(f"\n[{len(found)}x] {sig}\n  {small!r}")
        for d in check(small)[:3]:
            print(f"    {d[:400]}")
    return 1 if groups else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
