"""``state_dict`` / ``load_state_dict`` of the schedulers made of schedulers (``ChainedScheduler``,
``SequentialLR``), which share one implementation (``scheduler_base.nested_state_dict``):
the same keys as torch's, and a scheduler resumed from a saved state gives the lrs torch's
uninterrupted one gives."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import lr_scheduler as crs

TS = torch.optim.lr_scheduler


def _opt(lib):
    if lib is torch:
        params = [torch.ones(2, dtype=torch.float64, requires_grad=True)]
    else:
        params = [cr.tensor(np.ones(2), requires_grad=True)]
    return lib.optim.SGD(params, lr=0.1, momentum=0.9)


def _chained(lib, opt):
    sched = TS if lib is torch else crs
    return sched.ChainedScheduler(
        [sched.ConstantLR(opt, factor=0.5, total_iters=4), sched.ExponentialLR(opt, gamma=0.9)]
    )


def _sequential(lib, opt):
    sched = TS if lib is torch else crs
    warm = sched.LinearLR(opt, start_factor=0.2, total_iters=3)
    decay = sched.ExponentialLR(opt, gamma=0.8)
    return sched.SequentialLR(opt, [warm, decay], milestones=[3])


@pytest.mark.parametrize("make", [_chained, _sequential], ids=["chained", "sequential"])
def test_resumed_from_state_dict_as_torch_uninterrupted(make):
    topt, copt = _opt(torch), _opt(cr)
    tsched, csched = make(torch, topt), make(cr, copt)
    for _ in range(5):
        topt.step(), tsched.step()
        copt.step(), csched.step()
    saved = json.loads(json.dumps(csched.state_dict()))  # numbers and lists only
    assert set(saved) == set(tsched.state_dict())
    assert len(saved["_schedulers"]) == 2
    copt2 = _opt(cr)
    copt2.load_state_dict(copt.state_dict())
    resumed = make(cr, copt2)
    resumed.load_state_dict(saved)
    for group, lr in zip(copt2.param_groups, resumed.get_last_lr()):
        group["lr"] = lr  # a new schedule re-set the lr when constructed, as torch's
    for i in range(8):
        topt.step(), tsched.step()
        copt2.step(), resumed.step()
        assert resumed.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12), i
        assert copt2.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)
