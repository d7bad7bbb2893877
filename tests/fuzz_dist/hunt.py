"""The long hunt of the distribution fuzzer: draws COUNT cases from SEED, checks each against
torch, groups the disagreements by their message and shrinks one case per group (float64, no
validation, no edge values) while the message stays the same. Not a test; run by hand::

    python -m tests.fuzz_dist.hunt [COUNT] [SEED] [FAMILY ...]

The loop is :mod:`tests.fuzz_common.driver`'s.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import warnings

from tests.fuzz_common import driver
from tests.fuzz_common.driver import HuntSpec, drop_numbers, parse_args

from .cases import Case, check, draw
from .families import NAMES

__all__ = ["hunt", "main", "safe_check", "shrink", "signature"]


def signature(case: Case, diffs: list[str]) -> str:
    """The family and the first difference with numbers and arrays dropped."""
    msg = drop_numbers(re.sub(r"\([^()]*\)", "()", diffs[0]))
    return f"{case.family}: {msg[:140]}"


def safe_check(case: Case) -> list[str]:
    """:func:`.cases.check` without warnings; a crash of the harness is a difference too."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return check(case)
    except Exception as exc:  # noqa: BLE001 - a crash of the harness is a finding too
        return [f"harness crash: {type(exc).__name__}: {str(exc)[:200]}"]


def _spec(families: tuple = NAMES) -> HuntSpec:
    return HuntSpec(
        draw=lambda rng, n: draw(rng, families),
        check=safe_check,
        signature=signature,
        simpler=lambda case: (),
    )


def _edit(name: str, simple: object):
    def edit(case: Case) -> Case | None:
        return (
            None if getattr(case, name) == simple else dataclasses.replace(case, **{name: simple})
        )

    return edit


_EDITS = (_edit("dtype", "float64"), _edit("va", False), _edit("edge", False))


def shrink(case: Case, sig: str) -> Case:
    """``case`` in float64, without validation and without edge values, where each of those
    keeps the signature ``sig`` (one pass)."""
    return driver.one_pass(_spec(), case, sig, _EDITS)


def hunt(count: int, seed: int, families: tuple = NAMES) -> dict:
    """The disagreements of ``count`` cases drawn from ``seed``, grouped by signature."""
    return driver.hunt(_spec(families), count, seed)


def main(argv: list[str]) -> int:
    """Hunt and print one shrunk case per group of disagreements."""
    args = parse_args(argv, count=1000, seed=0)
    spec = _spec(tuple(args.rest) or NAMES)
    return driver.report(spec, args.count, driver.hunt(spec, args.count, args.seed), shrink)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
