"""Session 44 of the indexing fuzzer (seeds 4428-; the dim ops of :mod:`.dim_ops_s44` are
new: index reads and writes of a rolled, flipped or turned view of ``x``): the first drawn
cases of each new op against torch; then the differences found."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from .case_observe import observe
from .cases import check, draw
from .dim_ops_s44 import DIM_OPS_S44

__all__: list[str] = []


def _first_cases(op: str, k: int = 4) -> list:
    """The first ``k`` ``dim``-mode cases of ``op`` drawn from seed 4428 that torch runs."""
    rng = np.random.default_rng(4428)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while len(out) < k:
            case = draw(rng, ("dim",))
            if case.op == op and "out" in observe(torch, case):
                out.append(case)
    return out


@pytest.mark.parametrize("op", DIM_OPS_S44)
def test_s44_dim_op_cases_agree(op):
    for case in _first_cases(op):
        assert check(case) == [], case
