"""A bug hunter for the differential fuzzer, without Hypothesis: draws many random programs
(as :mod:`tests.fuzz.test_random_programs` does), runs each on torch and chainrule, groups the
disagreements by their message and shrinks one program per group greedily (fewer steps,
fewer leaves, smaller ints and shapes). Not a test; run by hand::

    python -m tests.fuzz.hunt [count] [seed] [kind ...] [--weighted]

``kind``: only programs using at least one of these step kinds (``--weighted``: drawn about
half of the time, so that most programs use one). The loop is
:mod:`tests.fuzz_common.driver`'s.
"""

from __future__ import annotations

import re
import sys
import traceback
import warnings
from collections.abc import Iterator

import numpy as np
import torch

import chainrule as cr
from tests.fuzz_common import driver
from tests.fuzz_common.driver import HuntSpec, drop_numbers, parse_args

from .forward import assert_same_forward, forward_checked, run_forward
from .programs import KINDS, Program, Step, assert_same, run

__all__ = ["check", "draw", "main", "shrink", "signature"]

_DTYPES = ["float64", "float32", "int64", "bool"]


def draw(rng: np.random.Generator, kinds: tuple = KINDS) -> Program:
    """A random program: one to three leaves, three to eight steps of ``kinds``."""
    leaves = []
    mode = rng.choice(["float64", "float64", "float32", "mixed"])
    for _ in range(rng.integers(1, 4)):
        shape = tuple(int(s) for s in rng.integers(1, 4, rng.integers(0, 4)))
        dtype = str(rng.choice(_DTYPES)) if mode == "mixed" else str(mode)
        leaves.append((shape, bool(rng.integers(0, 3)), bool(rng.integers(0, 5) == 0), dtype))
    steps = tuple(
        Step(
            str(rng.choice(kinds)),
            tuple(int(i) for i in rng.integers(0, 12, 5)),
            float(rng.choice([0.5, -1.5, 2.0, 0.25])),
        )
        for _ in range(rng.integers(3, 9))
    )
    return Program(tuple(leaves), steps, int(rng.integers(0, 2**16)), bool(rng.integers(0, 2)))


def check(prog: Program) -> str | None:
    """None if torch and chainrule agree on ``prog``, else a one-line description."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = run(torch, prog)
            assert_same(ref, run(cr, prog, skip=ref.skipped))
            if forward_checked(prog):
                assert_same_forward(run_forward(torch, prog), run_forward(cr, prog))
    except AssertionError as exc:
        return " ".join(str(exc).split())[:300]
    except Exception:  # noqa: BLE001 - a crash of the harness itself
        return "CRASH " + traceback.format_exc().splitlines()[-1][:300]
    return None


def signature(msg: str) -> str:
    """The message with numbers dropped, so one bug groups its failures."""
    return drop_numbers(re.sub(r"Mismatched elements.*", "", msg))[:120]


def _replace(prog: Program, leaves: tuple | None = None, steps: tuple | None = None) -> Program:
    return Program(
        prog.leaves if leaves is None else leaves,
        prog.steps if steps is None else steps,
        prog.seed,
        prog.double,
    )


def _simpler(prog: Program) -> Iterator[Program]:
    """Programs one step simpler than ``prog``: a step or a leaf less, a smaller leaf, a
    smaller step int, single precision."""
    leaves, steps = prog.leaves, prog.steps
    for i in range(len(steps)):
        yield _replace(prog, steps=steps[:i] + steps[i + 1 :])
    for i in range(len(leaves)):
        if len(leaves) > 1:
            yield _replace(prog, leaves=leaves[:i] + leaves[i + 1 :])
        shape, rg, nc, dt = leaves[i]
        for new in (
            (shape[:-1], rg, nc, dt),
            (tuple(max(1, s - 1) for s in shape), rg, nc, dt),
            (shape, rg, False, dt),
            (shape, False, nc, dt),
            (shape, rg, nc, "float64"),
        ):
            if new != leaves[i]:
                yield _replace(prog, leaves=leaves[:i] + (new,) + leaves[i + 1 :])
    for i, st in enumerate(steps):
        for j, v in enumerate(st.ints):
            for w in (0, v // 2, v - 1):
                if 0 <= w < v:
                    new = Step(st.kind, st.ints[:j] + (w,) + st.ints[j + 1 :], st.val)
                    yield _replace(prog, steps=steps[:i] + (new,) + steps[i + 1 :])
    if prog.double:
        yield Program(leaves, steps, prog.seed, False)


def _spec(want: tuple = (), weighted: bool = False) -> HuntSpec:
    # --weighted: the wanted kinds drawn about half of the time (not only filtered for), so a
    # hunt of new kinds checks most of its programs
    kinds = KINDS + tuple(want) * max(1, len(KINDS) // max(1, len(want))) if weighted else KINDS

    def draw_wanted(rng: np.random.Generator, n: int) -> Program | None:
        prog = draw(rng, kinds)
        return None if want and not any(st.kind in want for st in prog.steps) else prog

    def check_list(prog: Program) -> list[str]:
        msg = check(prog)
        return [] if msg is None else [msg]

    return HuntSpec(
        draw=draw_wanted,
        check=check_list,
        signature=lambda prog, diffs: signature(diffs[0]),
        simpler=_simpler,
        every=0,
        budget=None,
        pick=lambda found: min(found, key=lambda f: len(f[0].steps)),
        style="plain",
    )


def shrink(prog: Program, sig: str) -> Program:
    """A smaller program with the same signature ``sig`` (greedy, until no step helps)."""
    return driver.shrink(_spec(), prog, sig)


def main() -> None:
    """Hunt ``count`` programs from ``seed`` (the command line) and print the groups."""
    args = parse_args(sys.argv[1:], count=500, seed=0)
    spec = _spec(tuple(args.rest), "--weighted" in args.flags)
    driver.main(spec, args)


if __name__ == "__main__":
    main()
