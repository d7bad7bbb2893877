"""The short CI run of :mod:`.cases_views`: the dim-wise writes (index_fill_, index_copy_,
index_add_, index_reduce_, scatter_*, index_put_, masked_scatter_) on views of a copy of
the leaf, and :mod:`.cases` cases that mix ``...``, None and masks on 0-d and empty
tensors, each run on torch and chainrule and compared. Long hunts: ``python -m
tests.fuzz_indexing.cases_views COUNT SEED``."""

from __future__ import annotations

import numpy as np

from .cases_views import check_any, draw

COUNT = 400


def test_view_writes_agree_with_torch():
    rng = np.random.default_rng(3300)
    failures = []
    for _ in range(COUNT):
        case = draw(rng)
        diffs = check_any(case)
        if diffs:
            failures.append(f"{case!r}\n    " + "\n    ".join(diffs[:3]))
    assert not failures, f"{len(failures)} disagreements:\n" + "\n".join(failures[:5])
