"""A short seeded run of the loading fuzzer: every seed loads, and a few dozen mutants
(byte edits, zip headers and entries, pickle opcodes and payloads, safetensors headers)
each load or fail clearly, in a memory-limited subprocess. The hunt runs many more by hand:
``python -m tests.fuzz_load.hunt COUNT SEED``."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from .mutate import Mutant, draw
from .runner import run_mutants
from .seeds import write_seeds

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux-specific"
)


def test_seeds_load_and_mutants_fail_clearly(tmp_path):
    seed_dir = tmp_path / "seeds"
    seed_dir.mkdir()
    seeds = write_seeds(str(seed_dir))
    assert {s.fmt for s in seeds} == {"zip", "st", "legacy"}
    mutants = [Mutant(s, s.data, "unchanged", e) for s in seeds for e in s.entries]
    rng = np.random.default_rng(20261205)
    cases = tmp_path / "cases"
    mutants += [draw(rng, seeds, str(cases / f"PWNED-{i}")) for i in range(40)]
    records = run_mutants(mutants, str(cases))
    bad = [(r["mutant"], r["verdicts"]) for r in records if r["verdicts"]]
    assert not bad, bad
    for rec in records[:-40]:  # the seeds themselves: every one loads, except the legacy
        expect_ok = rec["mutant"].seed.fmt != "legacy"
        assert (rec["cr"]["type"] is None) == expect_ok, (rec["mutant"], rec["cr"])
    refused = sum(1 for r in records[-40:] if r["cr"]["type"] is not None)
    assert 5 < refused < 40  # the mutants are not all trivially accepted or refused
