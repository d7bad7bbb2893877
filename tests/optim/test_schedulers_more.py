"""PolynomialLR, MultiplicativeLR, CosineAnnealingWarmRestarts, CyclicLR, ChainedScheduler
against torch.optim.lr_scheduler: the same lr (and momentum) at every step."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import lr_scheduler as crs

TS = torch.optim.lr_scheduler


def _make_opts(opt_name="SGD", **kw):
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


def _run_pair(copt, csched, topt, tsched, steps=40, check_momentum=False, epochs=None):
    for i in range(steps):
        assert csched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15), (
            f"step {i}"
        )
        assert [g["lr"] for g in copt.param_groups] == pytest.approx(
            [g["lr"] for g in topt.param_groups], rel=1e-12, abs=1e-15
        )
        if check_momentum:
            assert _momenta(copt) == pytest.approx(_momenta(topt), rel=1e-12), f"step {i}"
        copt.step()
        topt.step()
        if epochs is None:
            csched.step()
            tsched.step()
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's epoch-argument deprecation
                csched.step(epochs[i])
                tsched.step(epochs[i])


SCHEDULES = {
    "PolynomialLR": (
        lambda o: crs.PolynomialLR(o, total_iters=7, power=2.0),
        lambda o: TS.PolynomialLR(o, total_iters=7, power=2.0),
    ),
    "PolynomialLR-default": (lambda o: crs.PolynomialLR(o), lambda o: TS.PolynomialLR(o)),
    "MultiplicativeLR": (
        lambda o: crs.MultiplicativeLR(o, lambda e: 0.95 ** (e % 3)),
        lambda o: TS.MultiplicativeLR(o, lambda e: 0.95 ** (e % 3)),
    ),
    "WarmRestarts": (
        lambda o: crs.CosineAnnealingWarmRestarts(o, T_0=5, eta_min=0.001),
        lambda o: TS.CosineAnnealingWarmRestarts(o, T_0=5, eta_min=0.001),
    ),
    "WarmRestarts-Tmult": (
        lambda o: crs.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
        lambda o: TS.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    ),
    "CyclicLR": (
        lambda o: crs.CyclicLR(o, 0.01, 0.1, step_size_up=4),
        lambda o: TS.CyclicLR(o, 0.01, 0.1, step_size_up=4),
    ),
    "CyclicLR-tri2": (
        lambda o: crs.CyclicLR(
            o, [0.01, 0.02], [0.1, 0.3], step_size_up=3, step_size_down=5, mode="triangular2"
        ),
        lambda o: TS.CyclicLR(
            o, [0.01, 0.02], [0.1, 0.3], step_size_up=3, step_size_down=5, mode="triangular2"
        ),
    ),
    "CyclicLR-exp": (
        lambda o: crs.CyclicLR(o, 0.01, 0.1, step_size_up=2, mode="exp_range", gamma=0.9),
        lambda o: TS.CyclicLR(o, 0.01, 0.1, step_size_up=2, mode="exp_range", gamma=0.9),
    ),
    "CyclicLR-custom": (
        lambda o: crs.CyclicLR(
            o, 0.01, 0.1, step_size_up=3, scale_fn=lambda x: 0.5**x, scale_mode="iterations"
        ),
        lambda o: TS.CyclicLR(
            o, 0.01, 0.1, step_size_up=3, scale_fn=lambda x: 0.5**x, scale_mode="iterations"
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_lr_sequence_matches_torch(name):
    copt, topt = _make_opts()
    make_c, make_t = SCHEDULES[name]
    _run_pair(copt, make_c(copt), topt, make_t(topt), check_momentum=name.startswith("Cyclic"))


def test_cyclic_lr_cycles_adam_beta1_like_torch():
    copt, topt = _make_opts("Adam", betas=(0.9, 0.999))
    _run_pair(
        copt,
        crs.CyclicLR(copt, 0.001, 0.01, step_size_up=3, base_momentum=0.85, max_momentum=0.95),
        topt,
        TS.CyclicLR(topt, 0.001, 0.01, step_size_up=3, base_momentum=0.85, max_momentum=0.95),
        check_momentum=True,
    )


def test_cyclic_lr_errors_match_torch():
    copt, topt = _make_opts("Adagrad", lr_decay=0.0)
    with pytest.raises(ValueError, match="momentum"):
        TS.CyclicLR(topt, 0.01, 0.1)
    with pytest.raises(ValueError, match="momentum or beta1"):
        crs.CyclicLR(copt, 0.01, 0.1)
    copt, _ = _make_opts()
    with pytest.raises(ValueError, match="^mode is invalid and scale_fn is None$"):
        crs.CyclicLR(copt, 0.01, 0.1, mode="zigzag")
    with pytest.raises(ValueError, match="^max_lr must have the same length"):
        crs.CyclicLR(copt, 0.01, [0.1, 0.2, 0.3])


def test_warm_restarts_with_fractional_epochs_matches_torch():
    for t_mult in (1, 2):
        copt, topt = _make_opts()
        epochs = [i * 0.37 for i in range(1, 41)]
        _run_pair(
            copt,
            crs.CosineAnnealingWarmRestarts(copt, T_0=2, T_mult=t_mult),
            topt,
            TS.CosineAnnealingWarmRestarts(topt, T_0=2, T_mult=t_mult),
            epochs=epochs,
        )


@pytest.mark.parametrize(
    "kwargs", [{"T_0": 0}, {"T_0": 2.0}, {"T_0": 2, "T_mult": 0}, {"T_0": 2, "eta_min": "x"}]
)
def test_warm_restarts_validation_matches_torch(kwargs):
    copt, topt = _make_opts()
    with pytest.raises(ValueError):
        TS.CosineAnnealingWarmRestarts(topt, **kwargs)
    with pytest.raises(ValueError):
        crs.CosineAnnealingWarmRestarts(copt, **kwargs)


def test_chained_scheduler_matches_torch():
    copt, topt = _make_opts()
    c = crs.ChainedScheduler(
        [
            crs.ConstantLR(copt, factor=0.5, total_iters=4),
            crs.ExponentialLR(copt, gamma=0.9),
            crs.PolynomialLR(copt, total_iters=10),
        ]
    )
    t = TS.ChainedScheduler(
        [
            TS.ConstantLR(topt, factor=0.5, total_iters=4),
            TS.ExponentialLR(topt, gamma=0.9),
            TS.PolynomialLR(topt, total_iters=10),
        ]
    )
    _run_pair(copt, c, topt, t, steps=15)
    state = json.loads(json.dumps(c.state_dict()))
    assert len(state["_schedulers"]) == 3


def test_chained_scheduler_rejects_mixed_optimizers_and_plateau():
    a, _ = _make_opts()
    b, _ = _make_opts()
    with pytest.raises(ValueError, match="same optimizer"):
        crs.ChainedScheduler([crs.ExponentialLR(a, 0.9), crs.ExponentialLR(b, 0.9)])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        crs.ChainedScheduler([crs.ReduceLROnPlateau(a)])


@pytest.mark.parametrize("name", ["PolynomialLR", "WarmRestarts-Tmult", "CyclicLR"])
def test_state_dict_is_json_and_resumes(name):
    make_c, make_t = SCHEDULES[name]
    copt, topt = _make_opts()
    s, t = make_c(copt), make_t(topt)
    for _ in range(5):
        copt.step()
        s.step()
        topt.step()
        t.step()
    saved = json.loads(json.dumps(s.state_dict()))
    copt2, _ = _make_opts()
    copt2.load_state_dict(copt.state_dict())
    s2 = make_c(copt2)
    s2.load_state_dict(saved)
    # a closed-form schedule re-set the lr when constructed (as torch's does): restore it
    for group, lr in zip(copt2.param_groups, s2.get_last_lr()):
        group["lr"] = lr
    _run_pair(copt2, s2, topt, t, steps=10)


def test_multiplicative_lr_state_dict_drops_functions_and_checks_count():
    copt, _ = _make_opts()
    s = crs.MultiplicativeLR(copt, [lambda e: 0.9, lambda e: 0.8])
    assert s.state_dict()["lr_lambdas"] == [None, None]
    with pytest.raises(ValueError, match="^Expected 2 lr_lambdas, but got 1$"):
        crs.MultiplicativeLR(copt, [lambda e: 0.9])


def test_every_torch_scheduler_exists():
    names = {
        n
        for n in dir(TS)
        if not n.startswith("_")
        and n[0].isupper()
        and isinstance(getattr(TS, n), type)
        and issubclass(getattr(TS, n), TS.LRScheduler)
    }
    missing = {n for n in names if not hasattr(crs, n)}
    assert not missing, missing
