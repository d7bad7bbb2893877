"""The loop every fuzzer's ``hunt.py`` shares: read ``COUNT SEED [REST ...]`` from the command
line, draw COUNT cases from ``numpy.random.default_rng(SEED)``, check each against torch,
group the disagreements by a signature (the message with its numbers dropped), shrink one
case per group greedily while the signature stays the same, and print one report line block
per group.

A fuzzer describes itself with a :class:`HuntSpec` (how to draw, check, sign and simplify a
case, what to call its cases, how often to print progress, how to print a group) and calls
:func:`main`, or :func:`hunt`, :func:`shrink` and :func:`report` one by one when it needs
to. The drawing order is the fuzzer's own (``spec.draw`` gets the generator and the case
number), so the same seed gives the same cases as before the loop was shared.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Args",
    "HuntSpec",
    "drop_numbers",
    "hunt",
    "main",
    "one_pass",
    "parse_args",
    "report",
    "shrink",
]

_NUMBER = re.compile(r"[-+]?\d[\d.e+-]*")


def drop_numbers(msg: str) -> str:
    """``msg`` with every number replaced by ``#``, so the failures of one bug that differ
    only in values, shapes or counts share a signature."""
    return _NUMBER.sub("#", msg)


@dataclass
class Args:
    """A hunt's command line: the case count, the seed, the remaining positional words
    (kinds, modes, families ...), the ``--flags`` given and the ``--option VALUE`` pairs."""

    count: int
    seed: int
    rest: list[str]
    flags: set[str] = field(default_factory=set)
    options: dict[str, str] = field(default_factory=dict)


def parse_args(
    argv: Sequence[str], count: int = 1000, seed: int = 0, options: Iterable[str] = ()
) -> Args:
    """Read ``[COUNT] [SEED] [REST ...]`` from ``argv`` (defaults ``count`` and ``seed``);
    words starting with ``--`` are flags, except the names in ``options``, which take the
    next word as their value."""
    argv = list(argv)
    opts: dict[str, str] = {}
    for name in options:
        if name in argv:
            k = argv.index(name)
            opts[name] = argv[k + 1]
            del argv[k : k + 2]
    flags = {a for a in argv if a.startswith("--")}
    words = [a for a in argv if not a.startswith("--")]
    return Args(
        int(words[0]) if words else count,
        int(words[1]) if len(words) > 1 else seed,
        words[2:],
        flags,
        opts,
    )


@dataclass
class HuntSpec:
    """What one fuzzer plugs into the shared loop.

    ``draw(rng, n)``: the ``n``-th case, or ``None`` to skip it (a kind filter);
    ``check(case)``: the list of differences from torch (empty or ``None``: they agree);
    ``signature(case, diffs)``: the group key; ``simpler(case)``: cases one step simpler,
    simplest-first; ``unit``: what the cases are called in the report; ``every``: print a
    progress line every that many cases (0: never); ``budget``: seconds a shrink may take
    (``None``: until no step helps); ``shown`` / ``width``: how many differences of a
    shrunk case are printed and how many characters of each (``None``: all);
    ``pick(found)``: the ``(case, diffs)`` of a group to shrink (default: the first);
    ``style``: ``"table"`` (a count line, then the groups largest first) or ``"plain"``
    (the groups in the order found, each as ``== Nx SIG`` / first difference / case).
    """

    draw: Callable[[np.random.Generator, int], Any]
    check: Callable[[Any], list[str] | None]
    signature: Callable[[Any, list[str]], str]
    simpler: Callable[[Any], Iterable[Any]]
    unit: str = "cases"
    every: int = 500
    budget: float | None = 30.0
    shown: int = 3
    width: int | None = 400
    pick: Callable[[list], tuple] | None = None
    style: str = "table"


def hunt(spec: HuntSpec, count: int, seed: int) -> dict[str, list[tuple[Any, list[str]]]]:
    """Draw and check ``count`` cases from ``seed``: the disagreements as ``(case, diffs)``
    lists keyed by signature, in the order their groups were first met."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list[tuple[Any, list[str]]]] = {}
    start = time.monotonic()
    for n in range(count):
        case = spec.draw(rng, n)
        if case is None:
            continue
        diffs = spec.check(case)
        if diffs:
            groups.setdefault(spec.signature(case, diffs), []).append((case, diffs))
        if spec.every and (n + 1) % spec.every == 0:
            took = time.monotonic() - start
            print(f"{n + 1} {spec.unit}, {len(groups)} groups, {took:.0f} s", flush=True)
    return groups


def shrink(spec: HuntSpec, case: Any, sig: str) -> Any:
    """Greedily simplify ``case`` while its signature stays ``sig``: take the first simpler
    case that keeps it, start again from there, stop when none does or the budget is spent.
    A simplification whose check raises is skipped."""
    end = None if spec.budget is None else time.monotonic() + spec.budget
    changed = True
    while changed and (end is None or time.monotonic() < end):
        changed = False
        for c in spec.simpler(case):
            try:
                d = spec.check(c)
            except Exception:  # noqa: BLE001 - a broken simplification is skipped
                continue
            if d and spec.signature(c, d) == sig:
                case, changed = c, True
                break
    return case


def one_pass(spec: HuntSpec, case: Any, sig: str, edits: Iterable[Callable[[Any], Any]]) -> Any:
    """Try each edit once, in order, on the case so far (an edit returns a simpler case, or
    ``None`` when it does not apply), keeping those that keep the signature ``sig``; for
    fuzzers whose few simplifications are independent."""
    for edit in edits:
        c = edit(case)
        if c is None:
            continue
        d = spec.check(c)
        if d and spec.signature(c, d) == sig:
            case = c
    return case


def report(
    spec: HuntSpec,
    count: int,
    groups: dict[str, list[tuple[Any, list[str]]]],
    shrinker: Callable[[Any, str], Any] | None = None,
) -> int:
    """Print each group with its shrunk case (``shrinker(case, sig)``, :func:`shrink` by
    default) and that case's first differences; 1 if there were disagreements, else 0."""
    shrinker = shrinker or (lambda case, sig: shrink(spec, case, sig))
    items = list(groups.items())
    if spec.style == "table":
        total = sum(len(v) for v in groups.values())
        print(f"{count} {spec.unit}, {total} disagreements in {len(groups)} groups")
        items.sort(key=lambda kv: -len(kv[1]))
    for sig, found in items:
        case = (spec.pick(found) if spec.pick else found[0])[0]
        small = shrinker(case, sig)
        diffs = spec.check(small) or []
        if spec.style == "plain":
            print(
                f"== {len(found)}x {sig}\n   {diffs[0] if diffs else None}\n   {small!r}\n",
                flush=True,
            )
            continue
        print(f"\n[{len(found)}x] {sig}\n  {small!r}")
        for d in diffs[: spec.shown]:
            print(f"    {d if spec.width is None else d[: spec.width]}")
    return 1 if groups else 0


def main(spec: HuntSpec, args: Args) -> int:
    """Hunt ``args.count`` cases from ``args.seed`` and print the report; the exit status."""
    return report(spec, args.count, hunt(spec, args.count, args.seed))
