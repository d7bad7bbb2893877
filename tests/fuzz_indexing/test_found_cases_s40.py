"""Session 40 of the indexing fuzzer (seeds 4416-4418; the dim ops of :mod:`.dim_ops_s40`
are new: ``out=`` forms of ``gather``/``index_select``/``take``/``masked_select``,
``take_along_dim`` without a dim and two dim-wise writes chained on one clone): no chainrule
bug found; the first drawn cases of every new op pinned through :func:`.cases.check`, and
the torch bug the op steers around (``take_along_dim(x, i)`` of a non-contiguous ``x``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from .case_observe import observe
from .cases import check, draw
from .dim_ops_s40 import DIM_OPS_S40

__all__: list[str] = []


def _first_cases(op: str, k: int = 3) -> list:
    """The first ``k`` ``dim``-mode cases of ``op`` drawn from seed 4418 that torch runs."""
    rng = np.random.default_rng(4418)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while len(out) < k:
            case = draw(rng, ("dim",))
            if case.op == op and "out" in observe(torch, case):
                out.append(case)
    return out


@pytest.mark.parametrize("op", DIM_OPS_S40)
def test_s40_dim_op_cases_agree(op):
    for case in _first_cases(op):
        assert check(case) == [], case


def _take_along_flat(lib):
    x = lib.arange(12.0).reshape(3, 4).t()  # non-contiguous
    return lib.take_along_dim(x, lib.tensor([0, 5, 11, 1]))


def test_take_along_dim_without_dim_flattens_a_transposed_input():
    # torch 2.13's view(-1) refuses the transposed x (a torch bug: the docs say the input is
    # treated as flattened); chainrule reads x in its logical order, as torch does for a
    # contiguous copy, which is what the fuzzer compares
    want = torch.take_along_dim(torch.arange(12.0).reshape(3, 4).t().contiguous(),
                                torch.tensor([0, 5, 11, 1]))  # fmt: skip
    assert _take_along_flat(cr).tolist() == want.tolist() == [0.0, 9.0, 11.0, 4.0]
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        _take_along_flat(torch)
