"""torch.optim's implementation-selection flags on every chainrule optimizer, against torch.

``foreach`` and ``fused`` are accepted with every value, stored in the parameter groups as torch
stores them and select nothing else (chainrule has one implementation of each update rule);
torch's own refusals of them are mirrored; ``capturable=True`` and ``differentiable=True``
raise NotImplementedError (see src/chainrule/optim/_flags.py).
"""

from __future__ import annotations

import inspect
import json
import re

import numpy as np
import pytest
import torch
from optim_helpers import cr_loss, cr_params, to_numpy_state_dict, torch_loss, torch_params

import chainrule as cr

# every optimizer both libraries have whose constructor takes only parameters and options
NAMES = [
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "NAdam",
    "RAdam",
    "Rprop",
    "ASGD",
    "Adafactor",
    "Muon",
]
FUSED = ["SGD", "Adam", "AdamW", "Adagrad"]  # torch's optimizers with a `fused` flag
FLAGS = ("foreach", "fused", "capturable", "differentiable")


def _flags(name):
    """The implementation-selection flags torch's constructor of ``name`` takes."""
    return [f for f in FLAGS if f in inspect.signature(getattr(torch.optim, name)).parameters]


def _cr_param():
    # 2-D so that Muon (matrices only) takes it too
    return cr.tensor(np.arange(12.0).reshape(3, 4) / 10, dtype=cr.float64, requires_grad=True)


def _torch_param():
    return torch.tensor(np.arange(12.0).reshape(3, 4) / 10, requires_grad=True)


def _with_grad(p, lib):
    p.grad = lib.ones(3, 4, dtype=lib.float64)
    return p


def _cr_step(opt, params):
    opt.zero_grad()
    cr_loss(params).backward()
    opt.step()


def _torch_step(opt, params):
    opt.zero_grad()
    torch_loss(params).backward()
    opt.step()


def _signature(cls):
    return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]


@pytest.mark.parametrize("name", [*NAMES, "SparseAdam", "LBFGS"])
def test_signature_matches_torch(name):
    """Parameter names, order, kinds (positional / keyword-only) and defaults."""
    assert _signature(getattr(cr.optim, name)) == _signature(getattr(torch.optim, name))


def test_flag_parameters_are_the_ones_asked_for():
    """Guards the table above: the nine older optimizers now take all of torch's flags."""
    for name in NAMES:
        assert set(_flags(name)) <= set(inspect.signature(getattr(cr.optim, name)).parameters)
    assert [n for n in NAMES if "fused" in _flags(n)] == FUSED


@pytest.mark.parametrize("name", NAMES)
def test_param_group_keys_and_defaults_match_torch(name):
    copt = getattr(cr.optim, name)([_cr_param()])
    topt = getattr(torch.optim, name)([_torch_param()])
    cg, tg = copt.param_groups[0], topt.param_groups[0]
    assert sorted(cg) == sorted(tg)
    for key in tg:
        if key != "params":
            assert cg[key] == tg[key], key
    assert sorted(copt.state_dict()["param_groups"][0]) == sorted(
        topt.state_dict()["param_groups"][0]
    )


_STORED = [
    (name, flag, value)
    for name in NAMES
    for flag in ("foreach", "fused")
    if flag in _flags(name)
    for value in (None, False, True)
]


@pytest.mark.parametrize(("name", "flag", "value"), _STORED)
def test_foreach_and_fused_are_accepted_and_stored_like_torch(name, flag, value):
    copt = getattr(cr.optim, name)([_cr_param()], **{flag: value})
    topt = getattr(torch.optim, name)([_torch_param()], **{flag: value})
    assert copt.param_groups[0][flag] is value
    assert topt.param_groups[0][flag] is value
    assert copt.defaults[flag] is value
    assert copt.state_dict()["param_groups"][0][flag] is value
    # and a step runs (torch's CPU implementations all do for float64)
    _with_grad(copt.param_groups[0]["params"][0], cr)
    copt.step()


@pytest.mark.parametrize("name", FUSED)
def test_fused_with_foreach_true_raises_like_torch(name):
    message = re.escape("`fused` and `foreach` cannot be `True` together.")
    with pytest.raises(RuntimeError, match=message):
        getattr(torch.optim, name)([_torch_param()], fused=True, foreach=True)
    with pytest.raises(RuntimeError, match=message):
        getattr(cr.optim, name)([_cr_param()], fused=True, foreach=True)
    # either one alone, or with the other False, is fine in both
    for kw in ({"fused": True, "foreach": False}, {"fused": False, "foreach": True}):
        getattr(torch.optim, name)([_torch_param()], **kw)
        getattr(cr.optim, name)([_cr_param()], **kw)


@pytest.mark.parametrize("name", FUSED)
def test_fused_with_differentiable_raises_like_torch(name):
    """torch refuses the combination itself (RuntimeError), before differentiable's own
    NotImplementedError in chainrule."""
    message = re.escape("`fused` does not support `differentiable`")
    with pytest.raises(RuntimeError, match=message):
        getattr(torch.optim, name)([_torch_param()], fused=True, differentiable=True)
    with pytest.raises(RuntimeError, match=message):
        getattr(cr.optim, name)([_cr_param()], fused=True, differentiable=True)


@pytest.mark.parametrize("name", FUSED)
def test_fused_rejects_complex_parameters_like_torch(name):
    message = "`fused=True` requires all the params to be floating point"
    tz = torch.ones(2, dtype=torch.complex128, requires_grad=True)
    tz.grad = torch.ones(2, dtype=torch.complex128)
    with pytest.raises(RuntimeError, match=message):
        getattr(torch.optim, name)([tz], lr=0.1, fused=True).step()
    z = cr.tensor(np.ones(2, complex), requires_grad=True)
    z.grad = cr.tensor(np.ones(2, complex))
    opt = getattr(cr.optim, name)([z], lr=0.1, fused=True)
    with pytest.raises(RuntimeError, match=message):
        opt.step()
    np.testing.assert_array_equal(z.data, np.ones(2, complex))  # nothing was updated
    # a parameter group that asks for fused is checked the same way
    opt = getattr(cr.optim, name)([{"params": [z], "fused": True}], lr=0.1)
    with pytest.raises(RuntimeError, match=message):
        opt.step()


_UNSUPPORTED = [
    (name, flag)
    for name in NAMES
    for flag in ("capturable", "differentiable")
    if flag in _flags(name)
]


@pytest.mark.parametrize(("name", "flag"), _UNSUPPORTED)
def test_capturable_and_differentiable_true_raise_not_implemented(name, flag):
    with pytest.raises(NotImplementedError, match=f"{name}: {flag}=True"):
        getattr(cr.optim, name)([_cr_param()], **{flag: True})
    # a parameter group that asks for it is refused at step, before anything changes
    p = _with_grad(_cr_param(), cr)
    before = p.data.numpy().copy()
    opt = getattr(cr.optim, name)([{"params": [p], flag: True}])
    assert opt.param_groups[0][flag] is True
    with pytest.raises(NotImplementedError, match=flag):
        opt.step()
    np.testing.assert_array_equal(p.data, before)
    # False (the default) is accepted, stored and steps
    q = _with_grad(_cr_param(), cr)
    opt = getattr(cr.optim, name)([q], **{flag: False})
    assert opt.param_groups[0][flag] is False
    opt.step()
    assert not np.array_equal(q.data, before)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_tensor_lr_or_betas_with_foreach_raise_like_torch(name):
    for lib, make in ((torch, _torch_param), (cr, _cr_param)):
        cls = getattr(lib.optim, name)
        with pytest.raises(ValueError, match="lr as a Tensor is not supported"):
            cls([make()], lr=lib.tensor(0.01), foreach=True)
        betas = (lib.tensor(0.9), lib.tensor(0.99))
        with pytest.raises(ValueError, match=re.escape("betas[0] as a Tensor is not supported")):
            cls([make()], betas=betas, foreach=True)
        # a group with a Tensor lr and foreach=True is refused at step
        p = _with_grad(make(), lib)
        opt = cls([{"params": [p], "lr": lib.tensor(0.01), "foreach": True}])
        with pytest.raises(RuntimeError, match="lr as a Tensor is not supported"):
            opt.step()


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("SGD", {"momentum": 0.5, "weight_decay": 0.1}),
        ("Adam", {}),
        ("AdamW", {"amsgrad": True}),
        ("RMSprop", {"momentum": 0.5}),
        ("Adagrad", {"lr_decay": 0.1}),
        ("Adadelta", {}),
        ("Adamax", {}),
        ("NAdam", {"decoupled_weight_decay": True, "weight_decay": 0.1}),
        ("RAdam", {"decoupled_weight_decay": True, "weight_decay": 0.1}),
    ],
)
def test_tensor_lr_steps_like_torch(name, kw):
    """A 0-d Tensor lr (torch's ``float | Tensor``) updates the parameters as torch does.
    torch keeps the float32 lr in its arithmetic, hence the float32-sized tolerance."""
    cp, tp = _with_grad(_cr_param(), cr), _with_grad(_torch_param(), torch)
    copt = getattr(cr.optim, name)([cp], lr=cr.tensor(0.1), **kw)
    topt = getattr(torch.optim, name)([tp], lr=torch.tensor(0.1), **kw)
    for _ in range(3):
        copt.step()
        topt.step()
    assert not np.allclose(cp.data, np.arange(12.0).reshape(3, 4) / 10)
    np.testing.assert_allclose(cp.data, tp.detach().numpy(), rtol=1e-6, atol=1e-7)


_STEP_CASES = [
    (name, {flag: True, **extra})
    for name, extra in [
        ("SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
        ("Adam", {"amsgrad": True, "weight_decay": 0.1}),
        ("AdamW", {"maximize": True}),
        ("RMSprop", {"centered": True, "momentum": 0.3}),
        ("Adagrad", {"lr_decay": 0.05, "weight_decay": 0.1}),
        ("Adadelta", {"weight_decay": 0.1}),
        ("Adamax", {"weight_decay": 0.1}),
        ("NAdam", {"decoupled_weight_decay": True, "weight_decay": 0.1}),
        ("RAdam", {"weight_decay": 0.1}),
        ("Rprop", {"maximize": True}),
        ("ASGD", {"t0": 2, "weight_decay": 0.1}),
        ("Adafactor", {"weight_decay": 0.1}),
    ]
    for flag in ("foreach", "fused")
    if flag in _flags(name)
]


# torch's multi-tensor ASGD computes its new eta = lr / (1 + lambd lr step)^alpha from the
# float32 step tensor (its for-loop, and chainrule, from the step as a Python float), so torch's
# foreach=True and foreach=False ASGD themselves differ by ~1e-8: float rounding, as documented.
_TORCH_FOREACH_ROUNDING = {("ASGD", "foreach"): 1e-7}


def _run(lib, name, kw, steps=5):
    params = cr_params() if lib is cr else torch_params()
    opt = getattr(lib.optim, name)(params, **kw)
    for _ in range(steps):
        (_cr_step if lib is cr else _torch_step)(opt, params)
    return [p.data.numpy() if lib is cr else p.detach().numpy() for p in params]


@pytest.mark.parametrize(("name", "kw"), _STEP_CASES, ids=lambda c: str(c))
def test_steps_with_foreach_or_fused_match_torch_float64(name, kw):
    """torch's multi-tensor and fused kernels compute the same update rule as chainrule's one
    implementation: five float64 steps agree to 1e-12 (with torch's for-loop too)."""
    kw = {"lr": {"Adadelta": 1.0, "Rprop": 0.01}.get(name, 0.05), **kw}
    flag = "fused" if "fused" in kw else "foreach"
    loop_kw = {k: v for k, v in kw.items() if k != flag}
    ours = _run(cr, name, kw)
    assert ours[0].tolist() != torch_params()[0].tolist()  # it moved
    for c, t in zip(ours, _run(torch, name, loop_kw)):
        np.testing.assert_allclose(c, t, rtol=1e-12, atol=1e-12)
    atol = _TORCH_FOREACH_ROUNDING.get((name, flag), 1e-12)
    for c, t in zip(ours, _run(torch, name, kw)):
        np.testing.assert_allclose(c, t, rtol=1e-12, atol=atol)


@pytest.mark.parametrize("name", FUSED)
def test_load_torch_state_dict_takes_its_flags_and_continues(name):
    """Loading torch's state_dict (here of a fused optimizer) takes the saved groups' flags,
    as torch's load_state_dict does, and the steps continue in step with torch."""
    cps, tps = cr_params(), torch_params()
    topt = getattr(torch.optim, name)(tps, lr=0.05, fused=True)
    for _ in range(3):
        _torch_step(topt, tps)
    cps = [cr.tensor(t.detach().numpy().copy(), requires_grad=True) for t in tps]
    copt = getattr(cr.optim, name)(cps, lr=0.05)
    assert copt.param_groups[0]["fused"] is None
    copt.load_state_dict(to_numpy_state_dict(topt.state_dict()))
    assert copt.param_groups[0]["fused"] is True
    assert sorted(copt.param_groups[0]) == sorted(topt.param_groups[0])
    for _ in range(3):
        _torch_step(topt, tps)
        _cr_step(copt, cps)
    for c, t in zip(cps, tps):
        np.testing.assert_allclose(c.data, t.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_flags_survive_a_json_state_dict_round_trip():
    p = _cr_param()
    opt = cr.optim.Adam([p], foreach=True, fused=False)
    groups = json.loads(json.dumps(opt.state_dict()["param_groups"]))
    opt2 = cr.optim.Adam([_cr_param()])
    opt2.load_state_dict({"state": {}, "param_groups": groups})
    assert opt2.param_groups[0]["foreach"] is True
    assert opt2.param_groups[0]["fused"] is False


@pytest.mark.parametrize("name", NAMES[:9])
def test_state_dict_without_the_flags_still_loads_and_steps(name):
    """A checkpoint written before these optimizers took the flags has groups without them."""
    p = _with_grad(_cr_param(), cr)
    opt = getattr(cr.optim, name)([p])
    opt.step()
    sd = opt.state_dict()
    for group in sd["param_groups"]:
        for flag in FLAGS:
            group.pop(flag, None)
    opt2 = getattr(cr.optim, name)([p])
    opt2.load_state_dict(sd)
    before = p.data.numpy().copy()
    opt2.step()
    assert not np.array_equal(p.data, before)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "NAdam", "RAdam"])
def test_tensor_betas_step_like_torch(name):
    # torch accepts Tensor betas (float32 0-d tensors; its arithmetic then rounds through
    # float32, hence the 1e-6 tolerance); chainrule used to fail inside NumPy
    results = []
    for lib in (torch, cr):
        p = lib.nn.Parameter(lib.tensor([1.0, 2.0], dtype=lib.float64))
        opt = getattr(lib.optim, name)([p], lr=0.1, betas=(lib.tensor(0.9), lib.tensor(0.99)))
        for _ in range(3):
            opt.zero_grad()
            (p * p).sum().backward()
            opt.step()
        results.append(p.detach().numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)
