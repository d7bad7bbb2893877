"""Session 46 of the optimizer fuzzer (seeds 7123-): nested composite schedulers (a
``ChainedScheduler`` or a ``SequentialLR`` inside a ``SequentialLR``), pinned."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from .program_compare import check
from .programs import Program

__all__: list[str] = []


def _run(lib, inner: str) -> tuple:
    """A SequentialLR whose first member is ``inner`` (a composite of two StepLRs), stepped
    6 times: the lrs and the nested last_epoch / state-dict keys along the way."""
    p = lib.nn.Parameter(lib.tensor([1.0], dtype=lib.float64))
    opt = lib.optim.SGD([p], lr=1.0)
    sched = lib.optim.lr_scheduler
    a, b = sched.StepLR(opt, 2, gamma=0.5), sched.StepLR(opt, 1, gamma=2.0)
    if inner == "ChainedScheduler":
        first = sched.ChainedScheduler([a, b])
    else:
        first = sched.SequentialLR(opt, [a, b], milestones=[2])
    outer = sched.SequentialLR(opt, [first, sched.ExponentialLR(opt, 0.9)], milestones=[4])
    lrs, epochs = [outer.get_last_lr()], [(a.last_epoch, b.last_epoch)]
    for _ in range(6):
        opt.step()
        outer.step()
        lrs.append(outer.get_last_lr())
        epochs.append((a.last_epoch, b.last_epoch))
    keys = sorted(outer.state_dict()["_schedulers"][0])
    return lrs, epochs, keys


@pytest.mark.parametrize("inner", ["ChainedScheduler", "SequentialLR"])
def test_sequential_lr_undoes_the_steps_of_nested_composites(inner):
    # seed 7123: torch's SequentialLR.recursive_undo steps every leaf scheduler back, into
    # nested composites; chainrule decremented each member's own last_epoch (a nested
    # SequentialLR's, not its members'; a ChainedScheduler has none: AttributeError)
    with warnings.catch_warnings():
        # (the nested composites step their members at construction, before any
        # optimizer.step(): PyTorch's order warning, in both)
        warnings.simplefilter("ignore")
        want, got = _run(torch, inner), _run(cr, inner)
    np.testing.assert_allclose(np.array(got[0]), np.array(want[0]), rtol=1e-12)
    assert got[1:] == want[1:]


def test_seed_7123_case():
    prog = Program(
        "Adamax",
        params=(((1,), False), ((1, 1, 1), False), ((), False)),
        groups=(((1,), ()), ((0,), ())),
        extra=(((2,), (("lr", 0.002),)),),
        sched=(
            "SequentialLR",
            (
                ("schedulers", (
                    ("ChainedScheduler", (
                        ("schedulers", (("StepLR", (("step_size", 3), ("gamma", 2.0))),)),
                    )),
                    ("MultiplicativeLR", (("lr_lambda", "saw"),)),
                    ("StepLR", (("step_size", 2), ("gamma", 2.0))),
                )),
                ("milestones", (1, 7)),
            ),
        ),
    )  # fmt: skip
    assert check(prog) == []
