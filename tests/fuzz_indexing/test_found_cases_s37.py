"""Session 37 of the indexing fuzzer (seeds 4405-4408; the dim ops ``scatter_add_`` and
``scatter_reduce_`` are new): cases over them pinned, run on torch and chainrule through
:func:`.cases.check`, and the known difference the draw steers around."""

from __future__ import annotations

import pytest
import torch

import chainrule as cr

from .cases import Case, check

_GATHER_IDX = (("t", (2, 2), (0, 0, 1, 0), "int64"),)

AGREE = {
    "scatter_add_duplicates": Case(
        (2, 3), mode="dim", index=_GATHER_IDX, value=("tensor", (2, 2), "float64", False),
        index2=(("i", 0),), op="scatter_add_", seed=3,
    ),
    **{
        f"scatter_reduce_{how}_{'self' if seed // 4 % 2 == 0 else 'noself'}": Case(
            (2, 3), mode="dim", index=_GATHER_IDX, value=("tensor", (2, 2), "float64", False),
            index2=(("i", 1),), op="scatter_reduce_", seed=seed,
        )
        for seed, how in ((0, "sum"), (1, "mean"), (2, "amax"), (7, "amin"), (5, "mean"))
    },
    "scatter_reduce_int64": Case(
        (3,), "int64", mode="dim", index=(("t", (2,), (2, 2), "int64"),),
        value=("tensor", (2,), "int64", False), index2=(("i", 0),), op="scatter_reduce_", seed=2,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", AGREE)
def test_scatter_cases_agree(name):
    assert check(AGREE[name]) == []


@pytest.mark.xfail(
    strict=True,
    reason="torch 2.13's forward-mode scatter_reduce_(reduce='prod') fails whatever has a "
    "tangent ('Expected a proper Tensor but got None ... for argument #1 src'), chainrule "
    "computes it (case_observe.py draws no prod)",
)
def test_forward_mode_scatter_reduce_prod():
    def tangent(lib):
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            x = fwad.make_dual(lib.tensor([1.0, 2.0, 3.0]), lib.ones(3))
            y = x.clone().scatter_reduce_(0, lib.tensor([0, 0]), lib.tensor([0.5, 2.0]), "prod")
            return fwad.unpack_dual(y).tangent.tolist()

    assert tangent(torch) == tangent(cr)
