"""The long hunt of the distribution fuzzer: draws COUNT cases from SEED, checks each against
torch, groups the disagreements by their message and shrinks one case per group (float64, no
validation, no edge values) while the message stays the same. Not a test; run by hand::

    python -m tests.fuzz_dist.hunt [COUNT] [SEED] [FAMILY ...]
"""

from __future__ import annotations

import dataclasses
import re
import sys
import time
import warnings

import numpy as np

from .cases import Case, check, draw
from .families import NAMES


def signature(case: Case, diffs: list[str]) -> str:
    """The family and the first difference with numbers and arrays dropped."""
    msg = re.sub(r"\([^()]*\)", "()", diffs[0])
    msg = re.sub(r"[-+]?\d[\d.e+-]*", "#", msg)
    return f"{case.family}: {msg[:140]}"


def safe_check(case: Case) -> list[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return check(case)
    except Exception as exc:  # noqa: BLE001 - a crash of the harness is a finding too
        return [f"harness crash: {type(exc).__name__}: {str(exc)[:200]}"]


def shrink(case: Case, sig: str) -> Case:
    for field, simple in (("dtype", "float64"), ("va", False), ("edge", False)):
        if getattr(case, field) != simple:
            c = dataclasses.replace(case, **{field: simple})
            d = safe_check(c)
            if d and signature(c, d) == sig:
                case = c
    return case


def hunt(count: int, seed: int, families: tuple = NAMES) -> dict:
    rng = np.random.default_rng(seed)
    groups: dict[str, list] = {}
    start = time.monotonic()
    for n in range(count):
        case = draw(rng, families)
        diffs = safe_check(case)
        if diffs:
            groups.setdefault(signature(case, diffs), []).append((case, diffs))
        if (n + 1) % 500 == 0:
            took = time.monotonic() - start
            print(f"{n + 1} cases, {len(groups)} groups, {took:.0f} s", flush=True)
    return groups


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 1000
    seed = int(argv[1]) if len(argv) > 1 else 0
    families = tuple(argv[2:]) or NAMES
    groups = hunt(count, seed, families)
    total = sum(len(v) for v in groups.values())
    print(f"{count} cases, {total} disagreements in {len(groups)} groups")
    for sig, found in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        small = shrink(found[0][0], sig)
        print(f"\n[{len(found)}x] {sig}\n  {small!r}")
        for d in safe_check(small)[:3]:
            print(f"    {d[:400]}")
    return 1 if groups else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
