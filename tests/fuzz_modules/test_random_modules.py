"""The short CI run of the nn-module fuzzer: a few seeded random constructions of every
module family (random valid and invalid constructor arguments) built in torch and
chainrule, compared on construction errors, parameters, buffers, repr, state_dict keys,
outputs and gradients. Long hunts: ``python -m tests.fuzz_modules.hunt COUNT SEED``."""

from __future__ import annotations

import numpy as np
import pytest

from .programs import KINDS, check, draw

COUNT = 3  # cases per family (~9 s for all 48 families on one idle core)


@pytest.mark.parametrize("kind", KINDS)
def test_module_constructions_agree_with_torch(kind):
    rng = np.random.default_rng(KINDS.index(kind) + 3500)
    failures = []
    for _ in range(COUNT):
        case = draw(rng, (kind,))
        diffs = check(case)
        if diffs:
            failures.append(f"{case!r}\n    " + "\n    ".join(d[:300] for d in diffs[:3]))
    assert not failures, f"{len(failures)} disagreements:\n" + "\n".join(failures[:5])
