"""Hunt for loading bugs with mutated files; not a test, run by hand::

    python -m tests.fuzz_load.hunt [COUNT] [SEED] [FORMAT ...] [--sweep] [--reference] [--dir DIR]

Writes the seed files (:mod:`.seeds`), checks that each loads, then loads COUNT random
mutants (``--sweep``: also every seed truncated at every structural boundary; ``FORMAT``:
only the mutants of seeds of these formats: ``zip``, ``legacy``, ``st``) in
memory-limited subprocesses, groups the misbehaviours by message and prints one example of
each (its file is kept under ``DIR/findings``). ``--reference`` also loads every mutant with
``torch.load`` / ``safetensors`` and reports where they and chainrule disagree on accepting
it (information, not failures: either may be stricter). The command line is read by
:func:`tests.fuzz_common.driver.parse_args`; the mutants run in batches of subprocesses
(:mod:`.runner`), so the loop is this module's own.
"""

from __future__ import annotations

import collections
import os
import shutil
import sys
import tempfile

import numpy as np

from tests.fuzz_common.driver import parse_args

from .mutate import Mutant, draw, sweep_truncations
from .runner import run_mutants, signature
from .seeds import write_seeds

__all__ = ["hunt", "main", "report"]

_BATCH = 400


def hunt(
    count: int,
    seed: int,
    workdir: str,
    sweep: bool = False,
    reference: bool = False,
    formats: tuple = (),
) -> list[dict]:
    """Run the seeds, the sweep and ``count`` random mutants; every record (see
    :func:`.runner.run_mutants`). ``formats``: only mutants of seeds of these formats
    (drawn as without the filter, the others dropped)."""
    seed_dir = os.path.join(workdir, "seeds")
    os.makedirs(seed_dir, exist_ok=True)
    seeds = write_seeds(seed_dir)
    mutants: list[Mutant] = [Mutant(s, s.data, "unchanged", e) for s in seeds for e in s.entries]
    if sweep:
        mutants += sweep_truncations(seeds)
    rng = np.random.default_rng(seed)
    case_dir = os.path.join(workdir, "cases")
    for i in range(count):
        mutants.append(draw(rng, seeds, os.path.join(case_dir, f"PWNED-{i}")))
    if formats:
        mutants = [m for m in mutants if m.seed.fmt in formats]
    records = []
    for b in range(0, len(mutants), _BATCH):
        if os.path.isdir(case_dir):
            shutil.rmtree(case_dir)
        batch = run_mutants(mutants[b : b + _BATCH], case_dir, reference)
        for rec in batch:  # keep the files of misbehaving mutants
            if rec["verdicts"]:
                with open(rec["path"], "rb") as fh:
                    rec["data"] = fh.read()
        records += batch
    return records


def _accepts(res: dict | None) -> bool | None:
    return None if res is None or res.get("type") in ("HANG", "CRASH") else res["type"] is None


def report(records: list[dict], workdir: str) -> int:
    """Print the findings grouped by signature; the number of groups."""
    groups: dict[str, list[dict]] = collections.defaultdict(list)
    for rec in records:
        for v in rec["verdicts"]:
            groups[signature(v)].append(rec)
    found = os.path.join(workdir, "findings")
    os.makedirs(found, exist_ok=True)
    for k, (sig, recs) in enumerate(sorted(groups.items(), key=lambda kv: -len(kv[1]))):
        ex = min(recs, key=lambda r: len(r.get("data", b"")))
        m = ex["mutant"]
        keep = os.path.join(found, f"{k:03d}-{os.path.basename(ex['path'])}")
        with open(keep, "wb") as fh:
            fh.write(ex.get("data", m.data))
        print(f"== {len(recs)}x {sig}\n   {ex['verdicts']}\n   {m!r}\n   kept as {keep}\n")
    seen = collections.Counter()
    examples: dict = {}
    for rec in records:
        mine, theirs = _accepts(rec["cr"]), _accepts(rec["ref"])
        if rec["ref"] is None or mine is None or theirs is None or mine == theirs:
            continue
        key = (rec["mutant"].seed.fmt, "cr accepts, ref refuses" if mine else "ref accepts")
        seen[key] += 1
        kind = rec["mutant"].how.split(":")[0].split(" ")[0]
        examples.setdefault(key, {}).setdefault(kind, (rec["mutant"], rec["cr"], rec["ref"]))
    for key, n in seen.items():
        print(f"-- reference: {n}x {key}; by mutation: {sorted(examples[key])}")
        for m, mine, theirs in list(examples[key].values())[:4]:
            print(f"   {m!r}")
            print(f"     cr: {mine.get('type')}: {mine.get('message', '')[:150]}")
            print(f"     ref: {theirs.get('type')}: {theirs.get('message', '')[:150]}")
    kinds = collections.Counter(r["mutant"].how.split(":")[0].split(" ")[0] for r in records)
    refused = sum(1 for r in records if r["cr"] and r["cr"].get("type"))
    print(
        f"{len(records)} loads ({refused} refused), {len(groups)} kinds of finding; {dict(kinds)}"
    )
    return len(groups)


def main() -> None:
    """Hunt with the command line's count, seed, flags and directory; print the report."""
    args = parse_args(sys.argv[1:], count=300, seed=0, options=("--dir",))
    workdir = args.options.get("--dir") or tempfile.mkdtemp(prefix="fuzz_load-")
    count, seed = args.count, args.seed
    print(f"fuzz_load: {count} mutants, seed {seed}, files under {workdir}", flush=True)
    sweep, reference = "--sweep" in args.flags, "--reference" in args.flags
    report(hunt(count, seed, workdir, sweep, reference, tuple(args.rest)), workdir)


if __name__ == "__main__":
    main()
