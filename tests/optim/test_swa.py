"""optim.swa_utils against torch.optim.swa_utils: averaged weights, SWALR, update_bn."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.optim import swa_utils as tswa

import chainrule as cr
from chainrule.optim import swa_utils as cswa

RNG = np.random.default_rng(7)
X = RNG.normal(size=(16, 4))
Y = RNG.normal(size=(16, 1))


def _models():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(
        torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.Linear(5, 1)
    ).double()
    cm = cr.nn.Sequential(
        cr.nn.Linear(4, 5, dtype=cr.float64),
        cr.nn.BatchNorm1d(5, dtype=cr.float64),
        cr.nn.Linear(5, 1, dtype=cr.float64),
    )
    cm.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    return cm, tm


def _train_and_average(make_avg, steps=5):
    cm, tm = _models()
    c_avg, t_avg = make_avg(cr, cswa, cm), make_avg(torch, tswa, tm)
    copt = cr.optim.SGD(cm.parameters(), lr=0.1)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    for i in range(steps):
        for lib, m, opt, avg in ((cr, cm, copt, c_avg), (torch, tm, topt, t_avg)):
            sl = slice(4 * (i % 4), 4 * (i % 4) + 4)
            opt.zero_grad()
            loss = ((m(lib.tensor(X[sl])) - lib.tensor(Y[sl])) ** 2).mean()
            loss.backward()
            opt.step()
            avg.update_parameters(m)
    return c_avg, t_avg


def _assert_same_state(c_avg, t_avg):
    ours = c_avg.state_dict()
    ref = t_avg.state_dict()
    assert list(ours) == list(ref)
    for k, v in ref.items():
        np.testing.assert_allclose(
            np.asarray(ours[k].numpy() if hasattr(ours[k], "numpy") else ours[k]),
            v.numpy(),
            rtol=1e-12,
            atol=1e-14,
            err_msg=k,
        )


AVERAGERS = {
    "swa": lambda lib, swa, m: swa.AveragedModel(m),
    "ema-multi": lambda lib, swa, m: swa.AveragedModel(
        m, multi_avg_fn=swa.get_ema_multi_avg_fn(0.9)
    ),
    "ema-fn": lambda lib, swa, m: swa.AveragedModel(m, avg_fn=swa.get_ema_avg_fn(0.8)),
    "ema-multi-buffers": lambda lib, swa, m: swa.AveragedModel(
        m, multi_avg_fn=swa.get_ema_multi_avg_fn(0.6), use_buffers=True
    ),
    "swa-buffers": lambda lib, swa, m: swa.AveragedModel(m, use_buffers=True),
    "ema-buffers": lambda lib, swa, m: swa.AveragedModel(
        m, avg_fn=swa.get_ema_avg_fn(0.7), use_buffers=True
    ),
}


@pytest.mark.parametrize("name", sorted(AVERAGERS))
def test_averaged_model_matches_torch(name):
    c_avg, t_avg = _train_and_average(AVERAGERS[name])
    _assert_same_state(c_avg, t_avg)
    c_avg.eval()
    t_avg.eval()
    np.testing.assert_allclose(
        c_avg(cr.tensor(X)).detach().numpy(), t_avg(torch.tensor(X)).detach().numpy(), rtol=1e-10
    )


def test_swa_multi_refuses_integer_buffers_like_torch():
    for lib, swa in ((cr, cswa), (torch, tswa)):
        with pytest.raises(RuntimeError):
            swa.get_swa_multi_avg_fn()([lib.tensor(3)], [lib.tensor(8)], lib.tensor(1))
    with pytest.raises(ValueError, match="decay"):
        cswa.get_ema_multi_avg_fn(1.5)


def test_averaged_model_is_a_copy():
    cm, _ = _models()
    avg = cswa.AveragedModel(cm)
    assert avg.module[0].weight is not cm[0].weight
    with pytest.raises(AssertionError, match="^Only one of avg_fn and multi_avg_fn"):
        cswa.AveragedModel(
            cm, avg_fn=cswa.get_swa_avg_fn(), multi_avg_fn=cswa.get_swa_multi_avg_fn()
        )


def test_update_bn_matches_torch():
    c_avg, t_avg = _train_and_average(AVERAGERS["swa"])
    c_loader = cr.utils.data.DataLoader(
        cr.utils.data.TensorDataset(cr.tensor(X), cr.tensor(Y)), batch_size=4
    )
    t_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(Y)), batch_size=4
    )
    c_avg.eval()
    t_avg.eval()
    cswa.update_bn(c_loader, c_avg)
    tswa.update_bn(t_loader, t_avg)
    assert not c_avg.training
    assert c_avg.module[1].momentum == t_avg.module[1].momentum == 0.1
    _assert_same_state(c_avg, t_avg)


def _opts():
    cps = [cr.tensor(np.ones(2), requires_grad=True) for _ in range(2)]
    tps = [torch.ones(2, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    copt = cr.optim.SGD([{"params": [cps[0]]}, {"params": [cps[1]], "lr": 0.3}], lr=0.1)
    topt = torch.optim.SGD([{"params": [tps[0]]}, {"params": [tps[1]], "lr": 0.3}], lr=0.1)
    return copt, topt


@pytest.mark.parametrize(
    "kw",
    [
        {"swa_lr": 0.05},
        {"swa_lr": [0.01, 0.5], "anneal_epochs": 3},
        {"swa_lr": 0.02, "anneal_epochs": 4, "anneal_strategy": "linear"},
        {"swa_lr": 0.2, "anneal_epochs": 0},
    ],
)
def test_swalr_matches_torch(kw):
    copt, topt = _opts()
    cs, ts = cswa.SWALR(copt, **kw), tswa.SWALR(topt, **kw)
    for i in range(15):
        assert cs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12), i
        copt.step()
        topt.step()
        cs.step()
        ts.step()
    json.dumps(cs.state_dict())


def test_swalr_after_cosine_schedule_matches_torch():
    copt, topt = _opts()
    cc = cr.optim.lr_scheduler.CosineAnnealingLR(copt, T_max=10)
    tc = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=10)
    cs, ts = (
        cswa.SWALR(copt, swa_lr=0.01, anneal_epochs=2),
        tswa.SWALR(topt, swa_lr=0.01, anneal_epochs=2),
    )
    for i in range(12):
        for opt, sched in ((copt, cc if i < 5 else cs), (topt, tc if i < 5 else ts)):
            opt.step()
            sched.step()
        assert [g["lr"] for g in copt.param_groups] == pytest.approx(
            [g["lr"] for g in topt.param_groups], rel=1e-12
        ), i


@pytest.mark.parametrize(
    "kw", [{"anneal_strategy": "exp"}, {"anneal_epochs": -1}, {"anneal_epochs": 1.5}]
)
def test_swalr_errors_match_torch(kw):
    copt, topt = _opts()
    with pytest.raises(ValueError):
        tswa.SWALR(topt, swa_lr=0.1, **kw)
    with pytest.raises(ValueError):
        cswa.SWALR(copt, swa_lr=0.1, **kw)


def test_deepcopy_of_tensors_follows_torch():
    import copy

    p = cr.nn.Parameter(cr.tensor([1.0, 2.0]))
    p.grad = cr.tensor([0.5, 0.5])
    q = copy.deepcopy(p)
    assert type(q) is cr.nn.Parameter and q.requires_grad and q is not p
    q.data[0] = 9.0
    assert p[0].item() == 1.0
    tp = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    tp.grad = torch.tensor([0.5, 0.5])
    assert q.grad is None and copy.deepcopy(tp).grad is None  # a Parameter's copy drops grad
    t = cr.tensor([1.0, 2.0], requires_grad=True)  # a plain leaf's copy keeps its grad
    t.grad = cr.tensor([0.5, 0.5])
    u = copy.deepcopy(t)
    assert u.grad is not t.grad
    np.testing.assert_array_equal(u.grad.numpy(), [0.5, 0.5])
    shared = [p, p]
    a, b = copy.deepcopy(shared)
    assert a is b  # the memo keeps shared tensors shared
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(p * 2)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(torch.ones(1, requires_grad=True) * 2)
