"""The short CI run of the indexing fuzzer: a few hundred seeded cases per mode, each run on
torch and chainrule and compared (values, shapes, dtypes, views and strides, gradients,
forward-mode tangents, second derivatives, errors). Long hunts: ``python -m
tests.fuzz_indexing.hunt COUNT SEED``."""

from __future__ import annotations

import numpy as np
import pytest

from .cases import check, draw

COUNT = {"get": 500, "set": 400, "put": 250, "chain": 300, "dim": 200}


@pytest.mark.parametrize("mode", list(COUNT))
def test_indexing_agrees_with_torch(mode):
    rng = np.random.default_rng(sorted(COUNT).index(mode) + 2024)
    failures = []
    for _ in range(COUNT[mode]):
        case = draw(rng, (mode,))
        diffs = check(case)
        if diffs:
            failures.append(f"{case!r}\n    " + "\n    ".join(diffs[:3]))
    assert not failures, f"{len(failures)} disagreements:\n" + "\n".join(failures[:5])
