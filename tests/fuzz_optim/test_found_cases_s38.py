"""Session 38 of the optimizer fuzzer (seeds 7106-7108): the one disagreement found is a torch
quirk the comparison steers around (:func:`.program_compare.check`): pinned here, with what
each library does."""

from __future__ import annotations

import warnings

import pytest
import torch

import chainrule as cr

from .programs import Program, check


def test_seed_7107_foreach_differentiable_step_without_gradients():
    prog = Program(
        "Adamax", params=(((1, 1), False), ((), False), ((1, 1), False)),
        groups=(((2, 0), (("foreach", True), ("differentiable", True))), ((1,), ())),
        actions=(("step",),),
    )  # fmt: skip
    assert check(prog) == []


@pytest.mark.parametrize("name", ["Adamax", "Adagrad", "Adadelta"])
def test_foreach_differentiable_without_gradients(name):
    """torch asserts at a step of these three even with no gradient (a torch quirk);
    chainrule's step has nothing to update and returns; with a gradient, chainrule refuses
    a group's differentiable=True (NotImplementedError)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = torch.nn.Parameter(torch.ones(2))
        opt = getattr(torch.optim, name)([p], lr=0.01, foreach=True, differentiable=True)
        with pytest.raises(AssertionError, match="_foreach ops don't support autograd"):
            opt.step()
        q = cr.nn.Parameter(cr.ones(2))
        # (in a group: chainrule refuses differentiable=True among the defaults at once)
        group = {"params": [q], "foreach": True, "differentiable": True}
        opt = getattr(cr.optim, name)([group], lr=0.01)
        assert opt.step() is None
        q.grad = cr.ones(2)
        with pytest.raises(NotImplementedError, match="differentiable=True"):
            opt.step()
