"""The long hunt of the indexing fuzzer: draws COUNT cases from SEED, runs each on torch and
chainrule, groups the disagreements by their message and shrinks one case per group
greedily (fewer index items, simpler items, a contiguous float64 leaf, a scalar value).
Not a test; run by hand, one at a time (it is single-process)::

    python -m tests.fuzz_indexing.hunt [COUNT] [SEED] [MODE ...]

``MODE``: only cases of these modes (get, set, put, chain, dim). The loop is
:mod:`tests.fuzz_common.driver`'s.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterator

from tests.fuzz_common import driver
from tests.fuzz_common.driver import HuntSpec, drop_numbers, parse_args

from .cases import MODES, Case, check, draw

__all__ = ["hunt", "main", "shrink", "signature"]


def signature(diffs: list[str]) -> str:
    """The first difference with numbers and arrays dropped, so one bug groups its cases."""
    msg = re.sub(r"\[[^\]]*\]", "[]", diffs[0])
    return drop_numbers(re.sub(r"\([^)]*\)", "()", msg))[:140]


def _simpler(case: Case) -> Iterator[Case]:
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


def _spec(modes: tuple = MODES) -> HuntSpec:
    return HuntSpec(
        draw=lambda rng, n: draw(rng, modes),
        check=check,
        signature=lambda case, diffs: signature(diffs),
        simpler=_simpler,
        budget=20.0,
        shown=4,
        width=None,
    )


def shrink(case: Case, sig: str, budget: float = 20.0) -> Case:
    """A simpler case with the same signature (greedy, within ``budget`` seconds)."""
    return driver.shrink(dataclasses.replace(_spec(), budget=budget), case, sig)


def hunt(count: int, seed: int, modes: tuple = MODES) -> dict:
    """The disagreements of ``count`` cases drawn from ``seed``, grouped by signature."""
    return driver.hunt(_spec(modes), count, seed)


def main(argv: list[str]) -> int:
    """Hunt and print one shrunk case per group of disagreements."""
    args = parse_args(argv, count=1000, seed=0)
    return driver.main(_spec(tuple(args.rest) or MODES), args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
