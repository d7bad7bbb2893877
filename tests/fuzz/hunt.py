"""A bug hunter for the differential fuzzer, without Hypothesis: draws many random programs
(as :mod:`tests.fuzz.test_random_programs` does), runs each on torch and chainrule, groups the
disagreements by their message and shrinks one program per group greedily (fewer steps,
fewer leaves, smaller ints and shapes). Not a test; run by hand::

    python -m tests.fuzz.hunt [count] [seed] [kind ...]

``kind``: only programs using at least one of these step kinds.
"""

from __future__ import annotations

import re
import sys
import traceback
import warnings

import numpy as np
import torch

import chainrule as cr

from .forward import assert_same_forward, forward_checked, run_forward
from .programs import KINDS, Program, Step, assert_same, run

_DTYPES = ["float64", "float32", "int64", "bool"]


def draw(rng: np.random.Generator, kinds: tuple = KINDS) -> Program:
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
    msg = re.sub(r"Mismatched elements.*", "", msg)
    return re.sub(r"[-+]?\d[\d.e+-]*", "#", msg)[:120]


def shrink(prog: Program, sig: str) -> Program:
    def same(p: Program) -> bool:
        m = check(p)
        return m is not None and signature(m) == sig

    changed = True
    while changed:
        changed = False
        cands = []
        for i in range(len(prog.steps)):
            cands.append(
                Program(prog.leaves, prog.steps[:i] + prog.steps[i + 1 :], prog.seed, prog.double)
            )
        for i in range(len(prog.leaves)):
            if len(prog.leaves) > 1:
                cands.append(
                    Program(
                        prog.leaves[:i] + prog.leaves[i + 1 :], prog.steps, prog.seed, prog.double
                    )
                )
            shape, rg, nc, dt = prog.leaves[i]
            for new in (
                (shape[:-1], rg, nc, dt),
                (tuple(max(1, s - 1) for s in shape), rg, nc, dt),
                (shape, rg, False, dt),
                (shape, False, nc, dt),
                (shape, rg, nc, "float64"),
            ):
                if new != prog.leaves[i]:
                    cands.append(
                        Program(
                            prog.leaves[:i] + (new,) + prog.leaves[i + 1 :],
                            prog.steps,
                            prog.seed,
                            prog.double,
                        )
                    )
        for i, st in enumerate(prog.steps):
            for j, v in enumerate(st.ints):
                for w in (0, v // 2, v - 1):
                    if 0 <= w < v:
                        ints = st.ints[:j] + (w,) + st.ints[j + 1 :]
                        new = Step(st.kind, ints, st.val)
                        cands.append(
                            Program(
                                prog.leaves,
                                prog.steps[:i] + (new,) + prog.steps[i + 1 :],
                                prog.seed,
                                prog.double,
                            )
                        )
        if prog.double:
            cands.append(Program(prog.leaves, prog.steps, prog.seed, False))
        for c in cands:
            if same(c):
                prog, changed = c, True
                break
    return prog


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    want = tuple(sys.argv[3:])
    rng = np.random.default_rng(seed)
    found: dict = {}
    for _ in range(count):
        prog = draw(rng)
        if want and not any(st.kind in want for st in prog.steps):
            continue
        msg = check(prog)
        if msg is None:
            continue
        sig = signature(msg)
        found.setdefault(sig, []).append(prog)
    for sig, progs in found.items():
        small = shrink(min(progs, key=lambda p: len(p.steps)), sig)
        print(f"== {len(progs)}x {sig}\n   {check(small)}\n   {small!r}\n", flush=True)


if __name__ == "__main__":
    main()
