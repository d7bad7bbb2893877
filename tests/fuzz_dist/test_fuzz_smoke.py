"""The short CI run of the distribution fuzzer: a few seeded cases of every family (random
batch shapes, broadcast and edge parameters, float32/float64, validate_args on and off,
invalid parameters) built in torch and chainrule and compared (moments, entropy, log_prob /
cdf / icdf, support, expand, samples, rsample and log_prob gradients, kl_divergence, errors).
Long hunts: ``python -m tests.fuzz_dist.hunt COUNT SEED [FAMILY ...]``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from .cases import check, draw
from .families import NAMES

COUNT = 3  # cases per family (~10 s of CPU for all of them)


@pytest.mark.parametrize("family", NAMES)
def test_distributions_agree_with_torch(family):
    rng = np.random.default_rng(NAMES.index(family) + 3300)
    failures = []
    for _ in range(COUNT):
        case = draw(rng, (family,))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            diffs = check(case)
        if diffs:
            failures.append(f"{case!r}\n    " + "\n    ".join(d[:300] for d in diffs[:3]))
    assert not failures, f"{len(failures)} disagreements:\n" + "\n".join(failures[:5])
