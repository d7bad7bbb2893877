"""Every scheduler's lr (and momentum) sequence over ~30 steps equals torch's."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import lr_scheduler as crs

TS = torch.optim.lr_scheduler


def _make_opts(opt_name="SGD", **kw):
    """Two parameter groups with different lrs, in both frameworks (no grads: steps no-op)."""
    kw = kw or {"momentum": 0.9}
    cps = [cr.tensor(np.ones(2), requires_grad=True) for _ in range(2)]
    tps = [torch.ones(2, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    copt = getattr(cr.optim, opt_name)(
        [{"params": [cps[0]]}, {"params": [cps[1]], "lr": 0.05}], lr=0.1, **kw
    )
    topt = getattr(torch.optim, opt_name)(
        [{"params": [tps[0]]}, {"params": [tps[1]], "lr": 0.05}], lr=0.1, **kw
    )
    return copt, topt


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _run_pair(copt, csched, topt, tsched, steps=30, check_momentum=False, metrics=None):
    for i in range(steps):
        assert csched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15), (
            f"step {i}"
        )
        assert [g["lr"] for g in copt.param_groups] == pytest.approx(
            [g["lr"] for g in topt.param_groups], rel=1e-12, abs=1e-15
        )
        if check_momentum:
            assert _momenta(copt) == pytest.approx(_momenta(topt), rel=1e-12)
        copt.step()
        topt.step()
        if metrics is None:
            csched.step()
            tsched.step()
        else:
            csched.step(metrics[i])
            tsched.step(metrics[i])


SCHEDULES = {
    "StepLR": (
        lambda o: crs.StepLR(o, step_size=4, gamma=0.5),
        lambda o: TS.StepLR(o, step_size=4, gamma=0.5),
    ),
    "MultiStepLR": (
        lambda o: crs.MultiStepLR(o, [3, 8, 8, 20], gamma=0.3),
        lambda o: TS.MultiStepLR(o, [3, 8, 8, 20], gamma=0.3),
    ),
    "ConstantLR": (
        lambda o: crs.ConstantLR(o, factor=0.25, total_iters=6),
        lambda o: TS.ConstantLR(o, factor=0.25, total_iters=6),
    ),
    "ExponentialLR": (
        lambda o: crs.ExponentialLR(o, gamma=0.9),
        lambda o: TS.ExponentialLR(o, gamma=0.9),
    ),
    "InverseTimeLR": (
        lambda o: crs.InverseTimeLR(o, decay_rate=0.3),
        lambda o: TS.LambdaLR(o, lambda k: 1 / (1 + 0.3 * k)),
    ),
    "LambdaLR": (
        lambda o: crs.LambdaLR(o, lambda k: 0.95**k * (1 + k % 3)),
        lambda o: TS.LambdaLR(o, lambda k: 0.95**k * (1 + k % 3)),
    ),
    "LambdaLR-per-group": (
        lambda o: crs.LambdaLR(o, [lambda k: 1 / (k + 1), lambda k: 0.9**k]),
        lambda o: TS.LambdaLR(o, [lambda k: 1 / (k + 1), lambda k: 0.9**k]),
    ),
    "CosineAnnealingLR": (
        lambda o: crs.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
        lambda o: TS.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    ),
    "LinearLR": (
        lambda o: crs.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=12),
        lambda o: TS.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=12),
    ),
    "OneCycleLR-cos": (
        lambda o: crs.OneCycleLR(o, max_lr=[1.0, 0.4], total_steps=30),
        lambda o: TS.OneCycleLR(o, max_lr=[1.0, 0.4], total_steps=30),
    ),
    "OneCycleLR-linear-3phase": (
        lambda o: crs.OneCycleLR(
            o,
            max_lr=0.5,
            epochs=5,
            steps_per_epoch=6,
            pct_start=0.4,
            anneal_strategy="linear",
            three_phase=True,
            div_factor=10.0,
            final_div_factor=100.0,
            base_momentum=0.8,
            max_momentum=0.9,
        ),
        lambda o: TS.OneCycleLR(
            o,
            max_lr=0.5,
            epochs=5,
            steps_per_epoch=6,
            pct_start=0.4,
            anneal_strategy="linear",
            three_phase=True,
            div_factor=10.0,
            final_div_factor=100.0,
            base_momentum=0.8,
            max_momentum=0.9,
        ),
    ),
    "SequentialLR": (
        lambda o: crs.SequentialLR(
            o,
            [
                crs.LinearLR(o, start_factor=0.2, total_iters=5),
                crs.CosineAnnealingLR(o, T_max=12, eta_min=0.01),
                crs.ExponentialLR(o, gamma=0.8),
            ],
            milestones=[5, 17],
        ),
        lambda o: TS.SequentialLR(
            o,
            [
                TS.LinearLR(o, start_factor=0.2, total_iters=5),
                TS.CosineAnnealingLR(o, T_max=12, eta_min=0.01),
                TS.ExponentialLR(o, gamma=0.8),
            ],
            milestones=[5, 17],
        ),
    ),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_lr_sequence_matches_torch(name):
    make_c, make_t = SCHEDULES[name]
    copt, topt = _make_opts()
    _run_pair(copt, make_c(copt), topt, make_t(topt), check_momentum="OneCycle" in name)


def test_cosine_annealing_past_t_max_matches_torch():
    copt, topt = _make_opts()
    _run_pair(
        copt,
        crs.CosineAnnealingLR(copt, T_max=7),
        topt,
        TS.CosineAnnealingLR(topt, T_max=7),
        steps=40,
    )


def test_cosine_closed_form_agrees_with_recursion():
    copt, _ = _make_opts()
    sched = crs.CosineAnnealingLR(copt, T_max=10, eta_min=0.001)
    for k in range(1, 25):
        copt.step()  # first, as PyTorch asks (no gradients: changes nothing)
        sched.step()
        expect = 0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * k / 10)) / 2
        assert sched.get_last_lr()[0] == pytest.approx(expect, rel=1e-12)


def test_two_chained_schedulers_match_torch():
    copt, topt = _make_opts()
    c1, c2 = crs.ExponentialLR(copt, 0.9), crs.MultiStepLR(copt, [4, 9], 0.5)
    t1, t2 = TS.ExponentialLR(topt, 0.9), TS.MultiStepLR(topt, [4, 9], 0.5)
    for _ in range(15):
        copt.step()
        topt.step()
        c1.step(), c2.step(), t1.step(), t2.step()
        assert c2.get_last_lr() == pytest.approx(t2.get_last_lr(), rel=1e-12)


def test_one_cycle_cycles_adam_beta1_like_torch():
    copt, topt = _make_opts("Adam", betas=(0.9, 0.99))
    _run_pair(
        copt,
        crs.OneCycleLR(copt, max_lr=0.01, total_steps=30, pct_start=0.25),
        topt,
        TS.OneCycleLR(topt, max_lr=0.01, total_steps=30, pct_start=0.25),
        check_momentum=True,
    )
    assert copt.param_groups[0]["betas"][1] == 0.99


def test_one_cycle_errors():
    copt, _ = _make_opts()
    with pytest.raises(ValueError, match="total_steps"):
        crs.OneCycleLR(copt, max_lr=0.1)
    with pytest.raises(ValueError, match="pct_start"):
        crs.OneCycleLR(copt, max_lr=0.1, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy"):
        crs.OneCycleLR(copt, max_lr=0.1, total_steps=10, anneal_strategy="exp")
    ada, _ = _make_opts("Adagrad", lr_decay=0.0)
    with pytest.raises(ValueError, match="momentum or beta1"):
        crs.OneCycleLR(ada, max_lr=0.1, total_steps=10)
    sched = crs.OneCycleLR(copt, max_lr=0.1, total_steps=3)
    copt.step()  # first, as PyTorch asks (no gradients: changes nothing)
    for _ in range(2):
        sched.step()
    with pytest.raises(ValueError, match="total steps is 3"):
        sched.step()
        sched.step()


PLATEAU = [
    (
        {},
        [5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3],
    ),
    (
        {"patience": 2, "factor": 0.5, "cooldown": 2, "min_lr": [0.01, 0.02]},
        [
            10,
            9,
            9.0,
            8.9999,
            9,
            9,
            9,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            6,
            6,
            6,
            6,
            6,
            6,
            6,
            6,
            6,
            6,
            6,
            6,
            6,
            6,
            6,
            6,
        ],
    ),
    (
        {"mode": "max", "patience": 1, "threshold": 0.1, "threshold_mode": "abs", "factor": 0.3},
        [
            0.1,
            0.5,
            0.55,
            0.58,
            0.7,
            0.72,
            0.75,
            0.9,
            0.9,
            0.9,
            0.95,
            1.0,
            1.05,
            1.2,
            1.2,
            1.2,
            1.2,
            1.2,
            1.2,
            1.2,
            1.2,
            1.2,
            1.2,
            1.2,
            1.2,
            1.2,
            1.2,
            1.2,
            1.2,
            1.2,
        ],
    ),
    (
        {"mode": "max", "patience": 0, "threshold": 0.05, "eps": 1e-3},
        list(np.linspace(1.0, 1.5, 30)),
    ),
]


@pytest.mark.parametrize("kw, metrics", PLATEAU)
def test_reduce_on_plateau_matches_torch(kw, metrics):
    copt, topt = _make_opts()
    csched, tsched = crs.ReduceLROnPlateau(copt, **kw), TS.ReduceLROnPlateau(topt, **kw)
    _run_pair(copt, csched, topt, tsched, metrics=metrics)
    assert csched.num_bad_epochs == tsched.num_bad_epochs and csched.best == tsched.best
    assert csched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)


def test_reduce_on_plateau_accepts_tensor_metric_and_validates():
    copt, _ = _make_opts()
    sched = crs.ReduceLROnPlateau(copt, patience=0)
    sched.step(cr.tensor(1.0))
    sched.step(cr.tensor(2.0))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.005])
    with pytest.raises(ValueError, match=r"^Factor should be < 1\.0\.$"):
        crs.ReduceLROnPlateau(copt, factor=1.0)
    with pytest.raises(ValueError, match="^mode lowest is unknown!$"):
        crs.ReduceLROnPlateau(copt, mode="lowest")
    with pytest.raises(ValueError, match="^threshold mode pct is unknown!$"):
        crs.ReduceLROnPlateau(copt, threshold_mode="pct")
    with pytest.raises(ValueError, match="min_lrs"):
        crs.ReduceLROnPlateau(copt, min_lr=[0.1])


RESUMABLE = [
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "InverseTimeLR",
    "LambdaLR",
    "CosineAnnealingLR",
    "LinearLR",
    "OneCycleLR-cos",
    "SequentialLR",
    "OneCycleLR-linear-3phase",
]


@pytest.mark.parametrize("name", RESUMABLE)
def test_state_dict_is_json_and_resumes(name):
    make_c, make_t = SCHEDULES[name]
    copt, topt = _make_opts()
    csched, tsched = make_c(copt), make_t(topt)
    _run_pair(copt, csched, topt, tsched, steps=12, check_momentum=True)
    sd = json.loads(json.dumps(csched.state_dict()))  # no optimizer, no functions
    osd = json.loads(json.dumps(copt.state_dict()))
    assert "optimizer" not in sd
    copt2, _ = _make_opts()
    csched2 = make_c(copt2)  # create first: its initial step writes the lr
    copt2.load_state_dict(osd)
    csched2.load_state_dict(sd)
    _run_pair(copt2, csched2, topt, tsched, steps=15, check_momentum=True)


def test_plateau_state_dict_round_trip():
    copt, topt = _make_opts()
    metrics = PLATEAU[1][1]
    kw = PLATEAU[1][0]
    csched, tsched = crs.ReduceLROnPlateau(copt, **kw), TS.ReduceLROnPlateau(topt, **kw)
    _run_pair(copt, csched, topt, tsched, steps=10, metrics=metrics)
    sd = json.loads(json.dumps(csched.state_dict()))
    copt2, _ = _make_opts()
    copt2.load_state_dict(copt.state_dict())
    csched2 = crs.ReduceLROnPlateau(copt2)
    csched2.load_state_dict(sd)
    _run_pair(copt2, csched2, topt, tsched, steps=20, metrics=metrics[10:])


def test_lambda_state_dict_keeps_callable_object_state():
    class Warm:
        def __init__(self):
            self.scale = 1.0

        def __call__(self, k):
            return self.scale * (k + 1)

    copt, _ = _make_opts()
    fn = Warm()
    sched = crs.LambdaLR(copt, fn)
    fn.scale = 0.5
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"scale": 0.5}, {"scale": 0.5}]
    fn2 = Warm()
    sched2 = crs.LambdaLR(_make_opts()[0], fn2)
    sched2.load_state_dict(sd)
    assert fn2.scale == 0.5
    plain = crs.LambdaLR(_make_opts()[0], lambda k: 1.0)
    assert plain.state_dict()["lr_lambdas"] == [None, None]


def test_scheduler_validation_errors():
    copt, _ = _make_opts()
    with pytest.raises(TypeError, match="Optimizer"):
        crs.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="step_size"):
        crs.StepLR(copt, step_size=0)
    with pytest.raises(ValueError, match="Starting multiplicative factor expected"):
        crs.LinearLR(copt, start_factor=0.0)
    with pytest.raises(ValueError, match="decay_rate"):
        crs.InverseTimeLR(copt, decay_rate=-1.0)
    with pytest.raises(ValueError, match="lr_lambdas"):
        crs.LambdaLR(copt, [lambda k: 1.0])
    with pytest.raises(ValueError, match="milestone"):
        crs.SequentialLR(copt, [crs.StepLR(copt, 2), crs.StepLR(copt, 3)], milestones=[])
    other, _ = _make_opts()
    with pytest.raises(ValueError, match="^SequentialLR expects all schedulers to belong"):
        crs.SequentialLR(copt, [crs.StepLR(other, 2)], milestones=[])
    with pytest.raises(KeyError, match="initial_lr"):
        crs.StepLR(_make_opts()[0], step_size=2, last_epoch=3)


def test_lecture_time_based_decay_converges_on_a_quadratic():
    """Gradient descent with alpha_k = alpha_0 / (1 + tau k) on f(x) = (x - 3)^T A (x - 3)."""
    a = cr.tensor([1.0, 10.0])
    x = cr.tensor([0.0, 0.0], requires_grad=True)
    opt = cr.optim.SGD([x], lr=0.09)
    sched = crs.InverseTimeLR(opt, decay_rate=0.01)
    losses = []
    for k in range(300):
        assert opt.param_groups[0]["lr"] == pytest.approx(0.09 / (1 + 0.01 * k))
        opt.zero_grad()
        loss = (a * (x - 3.0) ** 2).sum()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    np.testing.assert_allclose(x.data, [3.0, 3.0], atol=1e-6)
    assert losses[-1] < 1e-10 < losses[0]
    # the step sizes still sum past any bound (harmonic), the squares stay bounded
    lrs = 0.09 / (1 + 0.01 * np.arange(10**6))
    assert lrs.sum() > 50 and (lrs**2).sum() < 1.0
