"""The short CI run of the transforms fuzzer (:mod:`.transforms`): seeded random transforms
(``biject_to``/``transform_to`` of every constraint kind, composed scalar transforms,
inverses, ``IndependentTransform``) and a Normal pushed through each, compared with torch.
Long hunts: ``python -m tests.fuzz_dist.transforms COUNT SEED``."""

from __future__ import annotations

import numpy as np
import pytest

from .transforms import check, draw


@pytest.mark.parametrize("seed", range(4))
def test_transforms_agree_with_torch(seed):
    rng = np.random.default_rng(seed + 4400)
    failures = []
    for _ in range(40):
        spec = draw(rng)
        diffs = check(spec)
        if diffs:
            failures.append(f"{spec!r}\n    " + "\n    ".join(d[:300] for d in diffs[:3]))
    assert not failures, f"{len(failures)} disagreements:\n" + "\n".join(failures[:5])
