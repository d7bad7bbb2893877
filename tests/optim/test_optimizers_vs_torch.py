"""Every optimizer, several option combinations: 20 steps agree with torch to 1e-6."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from optim_helpers import cr_loss, cr_params, to_numpy_state_dict, torch_loss, torch_params

import chainrule as cr

CASES = [
    ("SGD", {"lr": 0.02}),
    ("SGD", {"lr": 0.02, "momentum": 0.9}),
    ("SGD", {"lr": 0.02, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.02, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.002, "momentum": 0.5, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    (
        "Adagrad",
        {
            "lr": 0.1,
            "lr_decay": 0.05,
            "weight_decay": 0.1,
            "initial_accumulator_value": 0.5,
            "eps": 1e-6,
        },
    ),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.3}),
    ("RMSprop", {"lr": 0.002, "centered": True, "maximize": True}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("Adam", {"lr": 0.01, "maximize": True, "eps": 1e-4}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True, "betas": (0.5, 0.9)}),
    ("Adamax", {"lr": 0.05}),
    ("Adamax", {"lr": 0.05, "betas": (0.7, 0.95), "weight_decay": 0.1, "eps": 1e-3}),
    ("NAdam", {"lr": 0.05}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.05}),
    ("RAdam", {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1}),
    ("Adadelta", {"lr": 0.5, "maximize": True}),
    ("Rprop", {"lr": 0.02}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2), "maximize": True}),
    ("ASGD", {"lr": 0.02}),
    ("ASGD", {"lr": 0.02, "lambd": 0.05, "alpha": 0.6, "t0": 3, "weight_decay": 0.1}),
    ("Adafactor", {"lr": 0.05}),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-20, 1e-2), "d": 1.5}),
    # the implementation-selection flags: stored, same update rule (optim/_flags.py)
    ("SGD", {"lr": 0.02, "momentum": 0.9, "foreach": True}),
    ("SGD", {"lr": 0.02, "momentum": 0.9, "nesterov": True, "fused": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "foreach": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "fused": True}),
    ("AdamW", {"lr": 0.05, "fused": True, "foreach": False}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "fused": True}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.3, "foreach": True}),
]


def _ids(case):
    name, kw = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kw.items())


def _cr_step(opt, params):
    opt.zero_grad()
    loss = cr_loss(params)
    loss.backward()
    opt.step()
    return loss.item()


def _torch_step(opt, params):
    opt.zero_grad()
    loss = torch_loss(params)
    loss.backward()
    opt.step()
    return loss.item()


def _assert_close(cps, tps):
    for c, t in zip(cps, tps):
        np.testing.assert_allclose(c.data, t.detach().numpy(), rtol=1e-6, atol=1e-9)


def _json_round_trip(sd):
    """What cr.save will do: arrays aside (safetensors), the rest through JSON."""
    arrays = {}
    state = {}
    for k, s in sd["state"].items():
        state[str(k)] = {}
        for n, v in s.items():
            if isinstance(v, (np.ndarray, cr.Tensor)):
                arrays[f"{k}.{n}"] = np.array(v, copy=True)
                state[str(k)][n] = {"__array__": f"{k}.{n}"}
            else:
                state[str(k)][n] = v
    text = json.dumps({"state": state, "param_groups": sd["param_groups"]})
    meta = json.loads(text)
    for s in meta["state"].values():
        for n, v in list(s.items()):
            if isinstance(v, dict):
                s[n] = arrays[v["__array__"]]
    return meta


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_matches_torch_and_resumes_from_state_dict(case):
    name, kw = case
    cps, tps = cr_params(), torch_params()
    copt = getattr(cr.optim, name)(cps, **kw)
    topt = getattr(torch.optim, name)(tps, **kw)
    for _ in range(10):
        lc, lt = _cr_step(copt, cps), _torch_step(topt, tps)
        assert lc == pytest.approx(lt, rel=1e-6)
    _assert_close(cps, tps)
    assert cps[2].grad is None and np.array_equal(cps[2].data, tps[2].detach().numpy())

    # resume: a new optimizer over copies of the parameters, state through JSON
    sd = copt.state_dict()
    cps2 = [cr.tensor(p.data.numpy().copy(), dtype=cr.float64, requires_grad=True) for p in cps]
    copt2 = getattr(cr.optim, name)(cps2, **kw)
    copt2.load_state_dict(_json_round_trip(sd))
    # and one that resumes from torch's own state_dict
    cps3 = [cr.tensor(p.data.numpy().copy(), dtype=cr.float64, requires_grad=True) for p in cps]
    copt3 = getattr(cr.optim, name)(cps3, **kw)
    copt3.load_state_dict(to_numpy_state_dict(topt.state_dict()))
    for _ in range(10):
        _torch_step(topt, tps)
        _cr_step(copt, cps)
        _cr_step(copt2, cps2)
        _cr_step(copt3, cps3)
    _assert_close(cps, tps)
    _assert_close(cps2, tps)
    _assert_close(cps3, tps)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_float32_parameters_stay_float32(name):
    p = cr.tensor(np.ones(5, np.float32), requires_grad=True)
    opt = getattr(cr.optim, name)([p], lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    assert p.data.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray))


def test_state_dict_layout_matches_torch():
    cps, tps = cr_params(), torch_params()
    copt = cr.optim.Adam(cps, lr=0.1, amsgrad=True)
    topt = torch.optim.Adam(tps, lr=0.1, amsgrad=True)
    _cr_step(copt, cps)
    _torch_step(topt, tps)
    csd, tsd = copt.state_dict(), topt.state_dict()
    assert sorted(csd["state"]) == sorted(tsd["state"]) == [0, 1]
    for k in csd["state"]:
        assert sorted(csd["state"][k]) == sorted(tsd["state"][k])
        assert csd["state"][k]["step"] == tsd["state"][k]["step"].item()
    assert csd["param_groups"][0]["params"] == tsd["param_groups"][0]["params"] == [0, 1, 2]
    for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"):
        assert csd["param_groups"][0][key] == tsd["param_groups"][0][key]
