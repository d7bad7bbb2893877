"""Session 42 of the indexing fuzzer (seeds 4423-; the dim ops of :mod:`.dim_ops_s42` are
new: the out-of-place functional and method forms of the index writes, ``scatter_add``,
``scatter_reduce``, ``index_add``, ``index_copy``, ``index_fill``, ``masked_fill``, ``put``):
the first drawn cases of every new op pinned through :func:`.cases.check`."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from .case_observe import observe
from .cases import check, draw
from .dim_ops_s42 import DIM_OPS_S42

__all__: list[str] = []


def _first_cases(op: str, k: int = 4) -> list:
    """The first ``k`` ``dim``-mode cases of ``op`` drawn from seed 4423 that torch runs."""
    rng = np.random.default_rng(4423)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while len(out) < k:
            case = draw(rng, ("dim",))
            if case.op == op and "out" in observe(torch, case):
                out.append(case)
    return out


@pytest.mark.parametrize("op", DIM_OPS_S42)
def test_s42_dim_op_cases_agree(op):
    for case in _first_cases(op):
        assert check(case) == [], case
