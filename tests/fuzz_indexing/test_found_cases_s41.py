"""Session 41 of the indexing fuzzer (seeds 4421-; the dim ops of :mod:`.dim_ops_s41` are
new: ``index_put_`` with ``accumulate`` along a dim and ``Tensor.index_put``, ``scatter_``
with ``reduce=``, ``put_`` of what ``take`` read, ``masked_fill_``/``index_fill_`` with a 0-d
tensor value that requires grad): the first drawn cases of every new op pinned through
:func:`.cases.check`, and the torch gap the reduce= forms steer around."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from .case_observe import observe
from .cases import check, draw
from .dim_ops_s41 import DIM_OPS_S41

__all__: list[str] = []


def _first_cases(op: str, k: int = 3) -> list:
    """The first ``k`` ``dim``-mode cases of ``op`` drawn from seed 4421 that torch runs."""
    rng = np.random.default_rng(4421)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while len(out) < k:
            case = draw(rng, ("dim",))
            if case.op == op and "out" in observe(torch, case):
                out.append(case)
    return out


@pytest.mark.parametrize("op", DIM_OPS_S41)
def test_s41_dim_op_cases_agree(op):
    for case in _first_cases(op):
        assert check(case) == [], case


def test_fill_with_a_tensor_value_sends_its_gradient_back():
    # masked_fill_ with a 0-d value made from x: x's gradient has the value's share too
    grads = []
    for lib in (torch, cr):
        x = lib.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=lib.float64, requires_grad=True)
        mask = lib.tensor([[True, False], [False, True]])
        y = x.clone().masked_fill_(mask, x.sum() * 0.25 + 0.5)
        (y * lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64)).sum().backward()
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1] == [[1.25, 3.25], [4.25, 1.25]]


@pytest.mark.parametrize("how", ["add", "multiply"])
def test_scatter_reduce_argument_has_no_derivative_in_torch(how):
    # torch 2.13 has no derivative of scatter_ with reduce=; since session 47 chainrule
    # records the same NotImplemented node (its values: the reduction's)
    def run(lib, backward=True):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True)
        y = x.clone().scatter_(0, lib.tensor([[1, 0]]), 1.5, reduce=how)
        if backward:
            y.sum().backward()
        return y

    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="derivative for aten::scatter_ is not implemented"):
            run(lib)
    want = {"add": [[1.0, 3.5], [4.5, 4.0]], "multiply": [[1.0, 3.0], [4.5, 4.0]]}[how]
    assert run(cr, False).tolist() == run(torch, False).tolist() == want
