"""The short CI run of the optimizer fuzzer: seeded random training loops (every class in
torch.optim, random per-group options and flags, missing gradients, zero_grad,
add_param_group, state_dict round trips, schedulers, invalid options) run on torch and
chainrule and compared after every step. Long hunts: ``python -m tests.fuzz_optim.hunt
COUNT SEED``."""

from __future__ import annotations

import numpy as np
import pytest

from .programs import OPTIMIZERS, check, draw

COUNT = 30  # programs per optimizer class (~12 s for all of them on one core)


@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_training_loops_agree_with_torch(opt):
    rng = np.random.default_rng(OPTIMIZERS.index(opt) + 3100)
    failures = []
    for _ in range(COUNT):
        prog = draw(rng, (opt,))
        diffs = check(prog)
        if diffs:
            failures.append(f"{prog!r}\n    " + "\n    ".join(d[:300] for d in diffs[:3]))
    assert not failures, f"{len(failures)} disagreements:\n" + "\n".join(failures[:5])
