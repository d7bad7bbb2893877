"""The short CI run of the SWA fuzzer (:mod:`.swa`): seeded training loops with an
AveragedModel, SWALR (alone, after another scheduler, in a SequentialLR), update_bn and
state-dict round trips, run on torch and chainrule and compared. Long hunts: ``python -m
tests.fuzz_optim.swa COUNT SEED``."""

from __future__ import annotations

import numpy as np

from .swa import check, draw

COUNT = 60


def test_swa_loops_agree_with_torch():
    rng = np.random.default_rng(3200)
    failures = []
    for _ in range(COUNT):
        prog = draw(rng)
        diffs = check(prog)
        if diffs:
            failures.append(f"{prog!r}\n    " + "\n    ".join(d[:300] for d in diffs[:3]))
    assert not failures, f"{len(failures)} disagreements:\n" + "\n".join(failures[:5])
