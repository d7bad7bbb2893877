"""Audit of torch.optim parity: optimizer trajectories to 1e-12 in float64 under many option
combinations (lr as a float and as a 0-d tensor, several groups, a parameter without a
gradient), ``state_dict`` layout and round trips, construction errors, and learning-rate
schedules step for step, each against the installed torch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(0)
W0 = RNG.normal(size=(3, 4))
V0 = RNG.normal(size=(4,))
S0 = np.array(0.7)
T0 = RNG.normal(size=(3,))
U0 = RNG.normal(size=(2,))  # not in the loss: its grad stays None


class Scalar:
    """A 0-d tensor option (``lr=torch.tensor(0.01)``), made in each library."""

    def __init__(self, value: float, dtype: str = "float32") -> None:
        self.value, self.dtype = value, dtype

    def __repr__(self) -> str:
        return f"tensor({self.value}, {self.dtype})"


def _lib_value(x, lib):
    if isinstance(x, Scalar):
        return lib.tensor(x.value, dtype=getattr(lib, x.dtype))
    if isinstance(x, tuple):
        return tuple(_lib_value(v, lib) for v in x)
    if isinstance(x, list):
        return [_lib_value(v, lib) for v in x]
    if isinstance(x, dict):
        return {k: _lib_value(v, lib) for k, v in x.items()}
    return x


def _numpy(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t.detach().numpy())


def _params(lib, arrays=(W0, V0, S0, U0), dtype="float64"):
    return [lib.tensor(a.copy(), dtype=getattr(lib, dtype), requires_grad=True) for a in arrays]


def _loss(ps, lib):
    """A smooth loss whose gradients change sign (Rprop) over a matrix, a vector and a 0-d
    parameter; the fourth parameter is left out, so its grad stays None."""
    w, v, s = ps[0], ps[1], ps[2]
    r = w @ v - lib.tensor(T0, dtype=w.dtype)
    return (
        (r * r).sum()
        + 0.05 * (v**4).sum()
        + 0.1 * (w * w).sum()
        + 0.3 * lib.sin(3 * w).sum()
        + s * s * 2
        + s
        + (s * v).sum() * 0.1
    )


def _make(lib, name, kw, params, groups=None):
    cls = getattr(lib.optim, name)
    kw = _lib_value(kw, lib)
    if groups is None:
        return cls(params, **kw)
    made = []
    for g in groups:
        opts = _lib_value({k: v for k, v in g.items() if k != "params"}, lib)
        made.append({"params": [params[i] for i in g["params"]], **opts})
    return cls(made, **kw)


def _trajectory(lib, name, kw, steps, groups=None, snapshot_at=None):
    params = _params(lib)
    opt = _make(lib, name, kw, params, groups)
    path, snapshot = [], None
    for k in range(steps):
        opt.zero_grad()
        _loss(params, lib).backward()
        opt.step()
        path.append([_numpy(p).copy() for p in params])
        if k == snapshot_at:
            snapshot = (path[-1], _copy_state_dict(opt.state_dict()))
    return path, opt, snapshot


def _copy_state_dict(sd):
    """A snapshot: ``state_dict()`` holds the live buffers, which the next step changes."""
    state = {
        k: {n: (v.clone() if hasattr(v, "clone") else v) for n, v in s.items()}
        for k, s in sd["state"].items()
    }
    groups = [dict(g) for g in sd["param_groups"]]
    return {"state": state, "param_groups": groups}


def _same_value(t, c, where):
    if isinstance(t, torch.Tensor):
        assert isinstance(c, cr.Tensor), where
        assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], where
        np.testing.assert_allclose(_numpy(c), _numpy(t), rtol=1e-10, atol=1e-12, err_msg=where)
    elif isinstance(t, (list, tuple)):
        assert len(t) == len(c), where
        for a, b in zip(t, c):
            _same_value(a, b, where)
    else:
        assert not isinstance(c, cr.Tensor), where
        assert t == c or (t != t and c != c), f"{where}: torch {t!r}, chainrule {c!r}"


def _assert_state_dicts_match(tsd, csd):
    assert sorted(tsd["state"]) == sorted(csd["state"])
    for k, ts in tsd["state"].items():
        assert sorted(ts) == sorted(csd["state"][k]), k
        for n, v in ts.items():
            _same_value(v, csd["state"][k][n], f"state[{k}][{n}]")
    assert len(tsd["param_groups"]) == len(csd["param_groups"])
    for tg, cg in zip(tsd["param_groups"], csd["param_groups"]):
        assert sorted(tg) == sorted(cg)
        for key, v in tg.items():
            _same_value(v, cg[key], f"param_groups[{key}]")


LR64 = Scalar(0.02, "float64")  # a float64 0-d lr: torch's arithmetic stays in float64
CASES = [
    ("SGD", {"lr": 0.01, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", {"lr": LR64, "momentum": 0.9, "nesterov": True, "maximize": True, "foreach": True}),
    ("SGD", {"lr": Scalar(0.01), "fused": True}),  # a float32 tensor lr: SGD reads it exactly
    ("Adam", {"lr": 0.01, "betas": (0.5, 0.9), "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"lr": LR64, "decoupled_weight_decay": True, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.01, "eps": 1e-3, "fused": True}),
    ("AdamW", {"lr": LR64, "amsgrad": True, "foreach": False}),
    ("Adamax", {"lr": 0.01, "betas": (0.5, 0.9), "weight_decay": 0.1, "maximize": True}),
    (
        "NAdam",
        {"lr": LR64, "momentum_decay": 0.1, "decoupled_weight_decay": True, "weight_decay": 0.1},
    ),
    ("NAdam", {"lr": 0.01, "eps": 1e-3, "maximize": True}),
    ("RAdam", {"lr": 0.01, "betas": (0.5, 0.8), "weight_decay": 0.1}),
    ("RAdam", {"lr": LR64, "decoupled_weight_decay": True, "weight_decay": 0.1, "maximize": True}),
    ("Adagrad", {"lr": 0.01, "lr_decay": 0.05, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": LR64, "weight_decay": 0.1, "eps": 1e-3, "maximize": True, "fused": True}),
    ("Adadelta", {"lr": 0.5, "rho": 0.5, "weight_decay": 0.1, "maximize": True}),
    ("Adadelta", {"lr": LR64, "rho": 0.0, "eps": 1e-3}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.5, "momentum": 0.9, "centered": True}),
    ("RMSprop", {"lr": LR64, "weight_decay": 0.1, "maximize": True, "foreach": True}),
    ("Rprop", {"lr": 0.01, "maximize": True}),  # was a raw NumPy TypeError on the 0-d parameter
    ("Rprop", {"lr": LR64, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.05), "maximize": True}),
    ("Rprop", {"lr": 0.01, "step_sizes": (1e-3, 0.05)}),
    ("ASGD", {"lr": 0.01, "lambd": 0.05, "alpha": 0.5, "t0": 3, "weight_decay": 0.1}),
    ("ASGD", {"lr": LR64, "t0": 0, "maximize": True}),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-20, 1e-2), "d": 1.5}),
    ("Adafactor", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
]
GROUPS = [{"params": [0, 3], "lr": 0.05, "weight_decay": 0.1}, {"params": [1, 2]}]


def _case_id(case):
    name, kw = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kw.items())


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_trajectory_state_and_resume_match_torch(case):
    """12 steps to 1e-12 (a matrix, a vector, a 0-d parameter and one without a gradient),
    the state dict entry by entry, and a resume from the step-5 state dict (chainrule's own,
    and torch's) that keeps following torch's trajectory."""
    name, kw = case
    tpath, topt, tsnap = _trajectory(torch, name, kw, 12, snapshot_at=5)
    cpath, copt, csnap = _trajectory(cr, name, kw, 12, snapshot_at=5)
    for k, (ts, cs) in enumerate(zip(tpath, cpath)):
        for t, c in zip(ts, cs):
            assert c.dtype == t.dtype and c.shape == t.shape
            np.testing.assert_allclose(c, t, rtol=1e-12, atol=1e-12, err_msg=f"step {k}")
    _assert_state_dicts_match(topt.state_dict(), copt.state_dict())
    torch_sd = {
        "state": {
            k: {n: cr.tensor(_numpy(v)) if isinstance(v, torch.Tensor) else v for n, v in s.items()}
            for k, s in tsnap[1]["state"].items()
        },
        "param_groups": [
            {k: cr.tensor(_numpy(v)) if isinstance(v, torch.Tensor) else v for k, v in g.items()}
            for g in tsnap[1]["param_groups"]
        ],
    }
    for sd in (csnap[1], torch_sd):
        params = [cr.tensor(a.copy(), requires_grad=True) for a in csnap[0]]
        opt = _make(cr, name, kw, params)
        opt.load_state_dict(sd)
        for k in range(6, 12):
            opt.zero_grad()
            _loss(params, cr).backward()
            opt.step()
            for t, p in zip(tpath[k], params):
                np.testing.assert_allclose(_numpy(p), t, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize(
    "name",
    ["SGD", "Adam", "Adamax", "NAdam", "RAdam", "Adagrad", "Adadelta", "RMSprop", "Rprop", "ASGD"],
)
def test_groups_with_their_own_options_match_torch(name):
    tpath, topt, _ = _trajectory(torch, name, {"lr": 0.01}, 8, groups=GROUPS)
    cpath, copt, _ = _trajectory(cr, name, {"lr": 0.01}, 8, groups=GROUPS)
    for ts, cs in zip(tpath, cpath):
        for t, c in zip(ts, cs):
            np.testing.assert_allclose(c, t, rtol=1e-12, atol=1e-12)
    _assert_state_dicts_match(topt.state_dict(), copt.state_dict())


def test_adagrad_makes_every_state_at_construction_like_torch():
    """torch's Adagrad fills ``state`` in ``__init__``: a fresh optimizer's state dict, and a
    parameter that never gets a gradient, list ``step`` 0 and the initial ``sum`` (the
    constructor's ``initial_accumulator_value``, also in a group that gives its own)."""
    sds = []
    for lib in (torch, cr):
        ps = _params(lib)
        opt = lib.optim.Adagrad(
            [{"params": ps[:2]}, {"params": ps[2:], "initial_accumulator_value": 0.25}],
            lr=0.1,
            initial_accumulator_value=0.5,
        )
        fresh = _copy_state_dict(opt.state_dict())
        _loss(ps, lib).backward()
        opt.step()
        sds.append((fresh, opt.state_dict()))
    for tsd, csd in zip(*sds):
        _assert_state_dicts_match(tsd, csd)
    assert sorted(sds[1][1]["state"]) == [0, 1, 2, 3]


def test_adagrad_complex_accumulator_and_fused_check_like_torch():
    """A complex parameter is a pair of reals: both parts of ``sum`` start at
    ``initial_accumulator_value``; ``fused=True`` refuses it at ``step``, not before."""
    z0 = np.array([1.0 + 2.0j, -0.5 + 0.25j, 0.3 - 1.0j])
    results = []
    for lib in (torch, cr):
        z = lib.tensor(z0.copy(), requires_grad=True)
        opt = lib.optim.Adagrad([z], lr=0.1, initial_accumulator_value=0.2)
        first = _numpy(opt.state[z]["sum"]).copy()
        for _ in range(5):
            opt.zero_grad()
            x = lib.view_as_real(z)
            ((x * x).sum() + (x**3).sum()).backward()
            opt.step()
        results.append((first, _numpy(z).copy()))
        fused = lib.optim.Adagrad([z], fused=True)  # construction is fine
        with pytest.raises(RuntimeError, match="fused=True"):
            fused.step()
    np.testing.assert_array_equal(results[1][0], results[0][0])
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12)


def test_adagrad_share_memory_keeps_training():
    ps = _params(cr)
    opt = cr.optim.Adagrad(ps, lr=0.1)
    opt.share_memory()
    assert all(opt.state[p]["sum"].is_shared() for p in ps)
    cps = _params(cr)
    ref = cr.optim.Adagrad(cps, lr=0.1)
    for o, params in ((opt, ps), (ref, cps)):
        _loss(params, cr).backward()
        o.step()
    for p, q in zip(ps, cps):
        np.testing.assert_array_equal(_numpy(p), _numpy(q))


def _named(lib, kind):
    ps = _params(lib)
    if kind == "list":
        opt = lib.optim.Adam([("w", ps[0]), ("v", ps[1]), ("s", ps[2])], lr=0.1)
    elif kind == "groups":
        opt = lib.optim.SGD(
            [{"params": [("w", ps[0])], "lr": 0.1}, {"params": [("v", ps[1]), ("s", ps[2])]}],
            lr=0.01,
            momentum=0.9,
        )
    elif kind == "add_group":
        opt = lib.optim.SGD([("w", ps[0])], lr=0.01)
        opt.add_param_group({"params": [("v", ps[1]), ("s", ps[2])], "lr": 0.2})
    elif kind == "generator":
        opt = lib.optim.RMSprop(((n, p) for n, p in zip("wvs", ps)), lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        _loss(ps, lib).backward()
        opt.step()
    return [_numpy(p).copy() for p in ps], opt


@pytest.mark.parametrize("kind", ["list", "groups", "add_group", "generator"])
def test_named_parameters_like_torch(kind):
    """``Optimizer(model.named_parameters())``: (name, tensor) pairs, kept as each group's
    ``param_names`` (in ``param_groups``, ``state_dict`` and ``repr``)."""
    tvals, topt = _named(torch, kind)
    cvals, copt = _named(cr, kind)
    for t, c in zip(tvals, cvals):
        np.testing.assert_allclose(c, t, rtol=1e-12)
    _assert_state_dicts_match(topt.state_dict(), copt.state_dict())
    assert [g["param_names"] for g in copt.param_groups] == [
        g["param_names"] for g in topt.param_groups
    ]
    assert "param_names: ['w'" in repr(copt)


def test_named_parameters_of_a_module_and_state_dict_names():
    model = cr.nn.Linear(2, 3)
    opt = cr.optim.Adam(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    sd = opt.state_dict()
    plain = cr.optim.Adam(cr.nn.Linear(2, 3).parameters(), lr=0.1)
    plain.load_state_dict(sd)  # torch: the loaded names are taken
    assert plain.param_groups[0]["param_names"] == ["weight", "bias"]
    renamed = cr.optim.Adam([("a", model.weight), ("b", model.bias)], lr=0.1)
    renamed.load_state_dict(cr.optim.Adam(model.parameters(), lr=0.1).state_dict())
    assert renamed.param_groups[0]["param_names"] == ["a", "b"]  # torch: its own names kept


@pytest.mark.parametrize("kind", ["mixed_groups", "mixed_in_group", "add_unnamed"])
def test_named_and_unnamed_parameters_do_not_mix(kind):
    for lib in (torch, cr):
        w, v = _params(lib)[:2]
        with pytest.raises(ValueError, match="with/without names"):
            if kind == "mixed_groups":
                lib.optim.SGD([{"params": [("w", w)]}, {"params": [v]}], lr=0.1)
            elif kind == "mixed_in_group":
                lib.optim.SGD([("w", w), v], lr=0.1)
            else:
                lib.optim.SGD([("w", w)], lr=0.1).add_param_group({"params": [v]})


def test_tensor_lr_must_have_one_element_like_torch():
    for lib in (torch, cr):
        with pytest.raises(ValueError, match="1-element"):
            lib.optim.Adam(_params(lib), lr=lib.tensor([0.1, 0.2]))


def test_sparse_adam_step_is_a_python_int_like_torch():
    e0 = np.random.default_rng(3).normal(size=(6, 3))
    steps = []
    for lib in (torch, cr):
        e = lib.tensor(e0.copy(), requires_grad=True)
        opt = lib.optim.SparseAdam([e], lr=0.1)
        for idx in ([1, 3, 3], [0, 5]):
            opt.zero_grad()
            lib.nn.functional.embedding(lib.tensor(idx), e, sparse=True).pow(2).sum().backward()
            opt.step()
        steps.append((opt.state_dict()["state"][0]["step"], _numpy(e).copy()))
    assert type(steps[1][0]) is int and steps[1][0] == steps[0][0] == 2
    np.testing.assert_allclose(steps[1][1], steps[0][1], rtol=1e-12)


@pytest.mark.parametrize("lr", [1, 0.5, Scalar(0.5, "float64")])
def test_lbfgs_lr_number_or_tensor_like_torch(lr):
    """A 0-d tensor ``lr`` used to crash chainrule's LBFGS (an AttributeError)."""
    out = []
    for lib in (torch, cr):
        ps = _params(lib)
        opt = lib.optim.LBFGS(ps, lr=_lib_value(lr, lib), max_iter=5, history_size=3)

        def closure(opt=opt, ps=ps, lib=lib):
            opt.zero_grad()
            loss = _loss(ps, lib)
            loss.backward()
            return loss

        losses = [opt.step(closure).item() for _ in range(3)]
        out.append((losses, [_numpy(p).copy() for p in ps]))
    np.testing.assert_allclose(out[1][0], out[0][0], rtol=1e-10)
    for t, c in zip(out[0][1], out[1][1]):
        np.testing.assert_allclose(c, t, rtol=1e-9, atol=1e-11)


BAD_OPTIONS = [
    ("SGD", {"lr": -0.1}),
    ("SGD", {"lr": 0.1, "momentum": -0.5}),
    ("SGD", {"lr": 0.1, "nesterov": True}),
    ("SGD", {"lr": 0.1, "fused": True, "foreach": True}),
    ("Adam", {"betas": (1.0, 0.9)}),
    ("Adam", {"betas": (0.9, -0.1)}),
    ("Adam", {"betas": (0, 0.99)}),
    ("Adam", {"lr": Scalar(0.01), "foreach": True}),
    ("Adam", {"lr": "0.1"}),
    ("AdamW", {"eps": -1e-8}),
    ("Adamax", {"betas": (0.9, 1.0)}),
    ("NAdam", {"momentum_decay": -1}),
    ("RAdam", {"weight_decay": -1}),
    ("Adagrad", {"lr_decay": -1}),
    ("Adagrad", {"initial_accumulator_value": -1}),
    ("Adadelta", {"rho": 1.5}),
    ("RMSprop", {"alpha": -1}),
    ("Rprop", {"etas": (1.5, 1.2)}),
    ("ASGD", {"weight_decay": -1}),
    ("Adafactor", {"beta2_decay": 0.5}),
    ("Adafactor", {"d": 0.5}),
    ("SparseAdam", {"lr": 0.0}),
    ("SparseAdam", {"betas": (0.9, -0.1)}),
]


@pytest.mark.parametrize("case", BAD_OPTIONS, ids=_case_id)
def test_bad_options_raise_torchs_error_type(case):
    name, kw = case
    errors = []
    for lib in (torch, cr):
        with pytest.raises(Exception) as info:
            getattr(lib.optim, name)(_params(lib)[:2], **_lib_value(kw, lib))
        errors.append(info.type)
    assert errors[1] is errors[0] or issubclass(errors[1], errors[0])


# ----------------------------------------------------------------------------- schedulers
def _sched_optimizer(lib, kind="sgd"):
    ps = [lib.tensor(a.copy(), requires_grad=True) for a in (W0, V0)]
    if kind == "adam":
        groups = [{"params": [ps[0]], "lr": 0.1}, {"params": [ps[1]], "betas": (0.8, 0.99)}]
        return lib.optim.Adam(groups, lr=0.05)
    groups = [{"params": [ps[0]], "lr": 0.1}, {"params": [ps[1]], "momentum": 0.8}]
    return lib.optim.SGD(groups, lr=0.05, momentum=0.9)


def _s(lib):
    return lib.optim.lr_scheduler


SCHEDULES = {
    "StepLR": lambda lib, o: _s(lib).StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda lib, o: _s(lib).MultiStepLR(o, milestones=[30, 5, 10, 10], gamma=0.3),
    "ExponentialLR": lambda lib, o: _s(lib).ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda lib, o: _s(lib).CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "WarmRestarts": lambda lib, o: _s(lib).CosineAnnealingWarmRestarts(
        o, T_0=5, T_mult=2, eta_min=0.01
    ),
    "CyclicLR": lambda lib, o: _s(lib).CyclicLR(
        o, [0.01, 0.02], [0.1, 0.2], step_size_up=4, step_size_down=3, mode="triangular2"
    ),
    "CyclicLR-exp": lambda lib, o: _s(lib).CyclicLR(
        o, 0.01, 0.1, step_size_up=5, mode="exp_range", gamma=0.95, base_momentum=[0.7, 0.75]
    ),
    "OneCycleLR": lambda lib, o: _s(lib).OneCycleLR(
        o, [0.1, 0.2], total_steps=55, anneal_strategy="linear", three_phase=True, pct_start=0.25
    ),
    "LambdaLR": lambda lib, o: _s(lib).LambdaLR(o, [lambda e: 0.95**e, lambda e: 1 / (1 + e)]),
    "MultiplicativeLR": lambda lib, o: _s(lib).MultiplicativeLR(o, lambda e: 0.95),
    "LinearLR": lambda lib, o: _s(lib).LinearLR(
        o, start_factor=0.5, end_factor=0.0, total_iters=10
    ),
    "ConstantLR": lambda lib, o: _s(lib).ConstantLR(o, factor=0.5, total_iters=4),
    "PolynomialLR": lambda lib, o: _s(lib).PolynomialLR(o, total_iters=20, power=2.0),
    "SequentialLR": lambda lib, o: _s(lib).SequentialLR(
        o,
        [
            _s(lib).LinearLR(o, start_factor=0.5, total_iters=3),
            _s(lib).ExponentialLR(o, gamma=0.9),
            _s(lib).StepLR(o, 3),
        ],
        milestones=[5, 12],
    ),
    # at the milestone MultiplicativeLR restarts at epoch 0 and multiplies (chainrule kept it)
    "SequentialLR-multiplicative": lambda lib, o: _s(lib).SequentialLR(
        o,
        [
            _s(lib).ConstantLR(o, factor=0.5, total_iters=3),
            _s(lib).MultiplicativeLR(o, lambda e: 0.9),
        ],
        milestones=[6],
    ),
    "SequentialLR-restarts": lambda lib, o: _s(lib).SequentialLR(
        o,
        [
            _s(lib).ConstantLR(o, factor=0.5, total_iters=3),
            _s(lib).CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2),
        ],
        milestones=[6],
    ),
    "ChainedScheduler": lambda lib, o: _s(lib).ChainedScheduler(
        [
            _s(lib).LinearLR(o, start_factor=0.2, total_iters=6),
            _s(lib).CosineAnnealingLR(o, T_max=15),
            _s(lib).MultiStepLR(o, milestones=[20, 30]),
        ],
        optimizer=o,
    ),
}


def _snapshot(scheduler, opt):
    lrs = [float(x) for x in scheduler.get_last_lr()]
    moms = [g["momentum"] if "momentum" in g else g["betas"][0] for g in opt.param_groups]
    return lrs + [float(g["lr"]) for g in opt.param_groups] + [float(m) for m in moms]


def _run_schedule(lib, make, kind="sgd", steps=50, last_epoch=None):
    opt = _sched_optimizer(lib, kind)
    sched = make(lib, opt)
    out = [_snapshot(sched, opt)]
    if last_epoch is not None:  # resume: a second scheduler made with last_epoch
        for _ in range(last_epoch):
            opt.step()
            sched.step()
        sched = _with_last_epoch(make, lib, opt, last_epoch)
        out = [_snapshot(sched, opt)]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(_snapshot(sched, opt))
    return out, sched


def _with_last_epoch(make, lib, opt, last_epoch):
    """``make`` with every scheduler constructor given ``last_epoch``."""

    class Module:
        def __getattr__(self, name):
            cls = getattr(_s(lib), name)
            if name == "ChainedScheduler":
                return cls
            return lambda *args, **kw: cls(*args, last_epoch=last_epoch, **kw)

    fake = type("Lib", (), {})()
    fake.optim = type("Optim", (), {})()
    fake.optim.lr_scheduler = Module()
    return make(fake, opt)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_matches_torch_for_50_steps(name):
    """get_last_lr(), each group's lr and momentum (or beta1), and the state dict's keys."""
    kind = "adam" if name == "CyclicLR-exp" else "sgd"
    tseq, tsched = _run_schedule(torch, SCHEDULES[name], kind)
    cseq, csched = _run_schedule(cr, SCHEDULES[name], kind)
    np.testing.assert_allclose(cseq, tseq, rtol=1e-12, atol=1e-15)
    assert sorted(csched.state_dict()) == sorted(tsched.state_dict())
    for key, value in tsched.state_dict().items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert math.isclose(csched.state_dict()[key], value, rel_tol=1e-12), key


@pytest.mark.parametrize(
    "name", ["WarmRestarts", "ExponentialLR", "CosineAnnealingLR", "MultiplicativeLR", "LinearLR"]
)
@pytest.mark.parametrize("last_epoch", [3, 10, 17])
def test_resume_with_last_epoch_matches_torch(name, last_epoch):
    """A scheduler made with ``last_epoch=k`` (after k steps of a first one). For the warm
    restarts torch wraps ``T_cur`` modulo the period: chainrule subtracted one period, so
    it resumed at a different point of the cosine."""
    tseq, _ = _run_schedule(torch, SCHEDULES[name], steps=15, last_epoch=last_epoch)
    cseq, _ = _run_schedule(cr, SCHEDULES[name], steps=15, last_epoch=last_epoch)
    np.testing.assert_allclose(cseq, tseq, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["OneCycleLR", "CyclicLR", "SequentialLR", "WarmRestarts"])
def test_state_dict_round_trip_mid_schedule_matches_torch(name):
    outs = []
    for lib in (torch, cr):
        opt = _sched_optimizer(lib)
        sched = SCHEDULES[name](lib, opt)
        for _ in range(20):
            opt.step()
            sched.step()
        opt2 = _sched_optimizer(lib)
        sched2 = SCHEDULES[name](lib, opt2)
        opt2.load_state_dict(opt.state_dict())
        sched2.load_state_dict(sched.state_dict())
        seq = []
        for _ in range(25):
            opt2.step()
            sched2.step()
            seq.append(_snapshot(sched2, opt2))
        outs.append(seq)
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-12, atol=1e-15)


def test_multiplicative_lr_step_to_epoch_zero_multiplies_like_torch():
    outs = []
    for lib in (torch, cr):
        opt = _sched_optimizer(lib)
        sched = lib.optim.lr_scheduler.MultiplicativeLR(opt, lambda e: 0.9 if e else 0.5)
        seq = []
        for epoch in (3, 0, 5, 0):
            opt.step()
            with pytest.warns(UserWarning, match="epoch parameter"):
                sched.step(epoch)
            seq.append(_snapshot(sched, opt))
        outs.append(seq)
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-12)


def test_warm_restarts_leave_step_count_alone_like_torch():
    counts = []
    for lib in (torch, cr):
        opt = _sched_optimizer(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3)
        for _ in range(7):
            opt.step()
            sched.step()
        counts.append(sched.state_dict()["_step_count"])
    assert counts[1] == counts[0]


@pytest.mark.parametrize(
    "metrics_kw",
    [
        {"patience": 2, "factor": 0.5},
        {"mode": "max", "threshold_mode": "abs", "patience": 1, "min_lr": 0.02},
        {"patience": 0, "cooldown": 2, "factor": 0.5, "min_lr": [0.03, 0.001]},
    ],
)
def test_reduce_on_plateau_matches_torch(metrics_kw):
    rng = np.random.default_rng(1)
    metrics = list(np.round(np.cumsum(rng.normal(size=40) * 0.1) + 1.0, 1))
    outs = []
    for lib in (torch, cr):
        opt = _sched_optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **metrics_kw)
        seq = []
        for m in metrics:
            opt.step()
            sched.step(lib.tensor(m))
            seq.append(_snapshot(sched, opt))
        outs.append((seq, sorted(sched.state_dict())))
    np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=1e-12)
    assert outs[1][1] == outs[0][1]


BAD_SCHEDULES = {
    "CyclicLR-mode": lambda lib, o: _s(lib).CyclicLR(o, 0.01, 0.1, mode="bogus"),
    "CyclicLR-groups": lambda lib, o: _s(lib).CyclicLR(o, [0.01], 0.1),
    "OneCycleLR-steps": lambda lib, o: _s(lib).OneCycleLR(o, 0.1, total_steps=0),
    "OneCycleLR-pct": lambda lib, o: _s(lib).OneCycleLR(o, 0.1, total_steps=10, pct_start=1.5),
    "OneCycleLR-past-end": lambda lib, o: [
        s.step() for s in [_s(lib).OneCycleLR(o, 0.1, total_steps=3)] for _ in range(4)
    ],
    "LambdaLR-groups": lambda lib, o: _s(lib).LambdaLR(o, [lambda e: 1.0]),
    "LinearLR-start": lambda lib, o: _s(lib).LinearLR(o, start_factor=0),
    "ConstantLR-factor": lambda lib, o: _s(lib).ConstantLR(o, factor=2),
    "WarmRestarts-T0": lambda lib, o: _s(lib).CosineAnnealingWarmRestarts(o, T_0=0),
    "SequentialLR-milestones": lambda lib, o: _s(lib).SequentialLR(
        o, [_s(lib).StepLR(o, 2), _s(lib).StepLR(o, 3)], milestones=[1, 2]
    ),
    "ChainedScheduler-plateau": lambda lib, o: _s(lib).ChainedScheduler(
        [_s(lib).StepLR(o, 2), _s(lib).ReduceLROnPlateau(o)]
    ),
    "Plateau-factor": lambda lib, o: _s(lib).ReduceLROnPlateau(o, factor=1.0),
    "Plateau-metric": lambda lib, o: _s(lib).ReduceLROnPlateau(o).step(lib.tensor([1.0, 2.0])),
    "resume-without-initial_lr": lambda lib, o: _s(lib).StepLR(o, 2, last_epoch=5),
}


@pytest.mark.parametrize("name", sorted(BAD_SCHEDULES))
def test_bad_schedules_raise_torchs_error_type(name):
    errors = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the step-order warning of the past-end case
        for lib in (torch, cr):
            with pytest.raises(Exception) as info:
                BAD_SCHEDULES[name](lib, _sched_optimizer(lib))
            errors.append(info.type)
    assert errors[1] is errors[0] or issubclass(errors[1], errors[0])
