"""The Optimizer protocol: groups, zero_grad, closure, state_dict, validation, repr."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def _p(values, **kw):
    return cr.tensor(
        np.asarray(values, dtype=np.float64), dtype=cr.float64, requires_grad=True, **kw
    )


def _quad_grad(p):
    (p * p).sum().backward()


def test_zero_grad_set_to_none_and_zeros():
    a, b = _p([1.0, 2.0]), _p([3.0])
    opt = cr.optim.SGD([a, b], lr=0.1)
    _quad_grad(a)
    _quad_grad(b)
    opt.zero_grad(set_to_none=False)
    assert np.array_equal(a.grad.data, [0.0, 0.0]) and np.array_equal(b.grad.data, [0.0])
    _quad_grad(a)
    assert np.array_equal(a.grad.data, [2.0, 4.0])  # accumulates from zero again
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_params_without_grad_are_skipped_and_version_bumped():
    a, b = _p([1.0, 2.0]), _p([5.0])
    opt = cr.optim.Adam([a, b], lr=0.1)
    _quad_grad(a)
    v = a._version
    opt.step()
    assert a._version == v + 1
    assert np.array_equal(b.data, [5.0]) and b not in opt.state
    assert opt.state[a]["step"] == 1


def test_closure_runs_with_grad_enabled_and_returns_loss():
    a = _p([1.0, -2.0])
    opt = cr.optim.SGD([a], lr=0.25)
    calls = []

    def closure():
        calls.append(cr.is_grad_enabled())
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    with cr.no_grad():
        loss = opt.step(closure)
    assert calls == [True]
    assert loss.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.data, [0.5, -1.0])  # a - 0.25 * 2a


def test_per_group_options_and_add_param_group():
    a, b, c = _p([1.0]), _p([1.0]), _p([1.0])
    opt = cr.optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[0]["momentum"] == 0 and opt.param_groups[1]["momentum"] == 0.9
    opt.add_param_group({"params": [c], "lr": 0.01})
    assert opt.param_groups[2]["lr"] == 0.01 and opt.param_groups[2]["dampening"] == 0
    for p in (a, b, c):
        _quad_grad(p)
    opt.step()
    np.testing.assert_allclose([a.item(), b.item(), c.item()], [0.8, 0.0, 0.98])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_add_param_group_matches_torch_over_steps():
    rng = np.random.default_rng(1)
    arrs = [rng.normal(size=3), rng.normal(size=2)]
    cps = [_p(x) for x in arrs]
    tps = [torch.tensor(x, requires_grad=True) for x in arrs]
    copt = cr.optim.Adam([cps[0]], lr=0.1)
    topt = torch.optim.Adam([tps[0]], lr=0.1)
    copt.add_param_group({"params": [cps[1]], "lr": 0.03, "betas": (0.5, 0.9)})
    topt.add_param_group({"params": [tps[1]], "lr": 0.03, "betas": (0.5, 0.9)})
    for _ in range(15):
        for opt, ps in ((copt, cps), (topt, tps)):
            opt.zero_grad()
            ((ps[0] ** 2).sum() * 3 + (ps[1] ** 4).sum()).backward()
            opt.step()
    for c, t in zip(cps, tps):
        np.testing.assert_allclose(c.data, t.detach().numpy(), rtol=1e-7)


def test_required_lr_without_default():
    class Plain(cr.optim.Optimizer):
        def __init__(self, params):
            from chainrule.optim.optimizer import required

            super().__init__(params, {"lr": required})

    with pytest.raises(ValueError, match="required optimization parameter lr"):
        Plain([_p([1.0])])
    opt = Plain([{"params": [_p([1.0])], "lr": 0.1}])
    assert opt.param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: cr.optim.SGD([p], lr=-0.1), "learning rate"),
        (lambda p: cr.optim.SGD([p], lr=0.1, momentum=-1), "momentum"),
        (lambda p: cr.optim.SGD([p], lr=0.1, nesterov=True), "Nesterov"),
        (
            lambda p: cr.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
            "Nesterov",
        ),
        (lambda p: cr.optim.Adam([p], betas=(1.0, 0.999)), "beta parameter at index 0: 1.0"),
        (lambda p: cr.optim.Adam([p], betas=(0.9, -0.1)), "beta parameter at index 1: -0.1"),
        (lambda p: cr.optim.AdamW([p], weight_decay=-1), "weight_decay"),
        (lambda p: cr.optim.Adam([p], eps=-1e-8), "eps"),
        (lambda p: cr.optim.Adamax([p], betas=(0.9, 1.5)), "beta parameter at index 1: 1.5"),
        (lambda p: cr.optim.NAdam([p], momentum_decay=-1), "momentum_decay"),
        (lambda p: cr.optim.Adagrad([p], lr_decay=-1), "lr_decay"),
        (lambda p: cr.optim.Adagrad([p], initial_accumulator_value=-1), "initial_accumulator"),
        (lambda p: cr.optim.RMSprop([p], alpha=-0.5), "alpha"),
        (lambda p: cr.optim.Adadelta([p], rho=1.5), "rho"),
        (lambda p: cr.optim.SGD([], lr=0.1), "empty parameter list"),
        (lambda p: cr.optim.SGD([p * 2], lr=0.1), "non-leaf"),
        (lambda p: cr.optim.SGD([float("nan")], lr=0.1), None),
    ],
)
def test_argument_validation(make, match):
    p = _p([1.0])
    if match is None:
        with pytest.raises(TypeError, match="can only optimize Tensors"):
            make(p)
    else:
        with pytest.raises(ValueError, match=match):
            make(p)


def test_type_errors():
    p = _p([1.0])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        cr.optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        cr.optim.SGD([{"params": {p}}], lr=0.1)


def test_grad_shape_mismatch_is_an_error():
    p = _p([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"assigned grad has data of a different size"):
        p.grad = cr.tensor([1.0, 2.0, 3.0])  # refused at assignment, as in PyTorch


def test_load_state_dict_mismatch_errors():
    a, b = _p([1.0]), _p([1.0, 2.0])
    opt = cr.optim.Adam([a, b])
    _quad_grad(a)
    _quad_grad(b)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="parameter groups"):
        cr.optim.Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="has 2 parameters"):
        cr.optim.Adam([a]).load_state_dict(sd)
    with pytest.raises(ValueError, match="shape"):
        cr.optim.Adam([b, a]).load_state_dict(sd)


def test_load_state_dict_shares_matching_tensors_and_restores_group_options():
    a = _p([1.0, 2.0])
    opt = cr.optim.SGD([a], lr=0.1, momentum=0.9)
    _quad_grad(a)
    opt.step()
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = 0.05
    b = _p([1.0, 2.0])
    opt2 = cr.optim.SGD([b], lr=0.1, momentum=0.9)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.05 and opt2.param_groups[0]["params"][0] is b
    buf = opt2.state[b]["momentum_buffer"]
    # as torch's value.to(dtype, device): a tensor of the right dtype is kept, not copied
    assert buf is sd["state"][0]["momentum_buffer"]


def test_repr_lists_groups_and_options():
    opt = cr.optim.SGD(
        [{"params": [_p([1.0])]}, {"params": [_p([2.0])], "lr": 0.5}], lr=0.1, momentum=0.9
    )
    text = repr(opt)
    assert text.startswith("SGD (") and "Parameter Group 1" in text
    assert "lr: 0.5" in text and "momentum: 0.9" in text


def test_lecture_momentum_form_equals_sgd_momentum():
    """Lectures: d = mu d + alpha g, theta = theta - d; SGD keeps alpha out of the buffer."""
    theta = np.array([3.0, -1.0])
    p = _p(theta)
    opt = cr.optim.SGD([p], lr=0.1, momentum=0.8)
    d = np.zeros(2)
    for _ in range(10):
        g = 2 * theta * np.array([1.0, 10.0])
        d = 0.8 * d + 0.1 * g
        theta = theta - d
        opt.zero_grad()
        (p * p * cr.tensor([1.0, 10.0])).sum().backward()
        opt.step()
    np.testing.assert_allclose(p.data, theta, rtol=1e-12)


def test_lecture_adagrad_form():
    """Lectures: r = r + g*g; d = g / (delta + sqrt(r)); theta = theta - alpha d."""
    theta = np.array([1.0, -2.0, 0.5])
    p = _p(theta)
    opt = cr.optim.Adagrad([p], lr=0.3, eps=1e-7)
    r = np.zeros(3)
    for _ in range(10):
        g = 4 * theta**3
        r = r + g * g
        theta = theta - 0.3 * g / (1e-7 + np.sqrt(r))
        opt.zero_grad()
        (p**4).sum().backward()
        opt.step()
    np.testing.assert_allclose(p.data, theta, rtol=1e-12)


def test_works_with_nn_module_parameters_like_torch():
    torch.manual_seed(0)
    tlin = torch.nn.Linear(4, 3).double()
    clin = cr.nn.Linear(4, 3)
    clin.weight.data = cr.tensor(tlin.weight.detach().numpy().copy())
    clin.bias.data = cr.tensor(tlin.bias.detach().numpy().copy())
    x = np.random.default_rng(2).normal(size=(5, 4))
    copt = cr.optim.AdamW(clin.parameters(), lr=0.05)  # a generator, as model.parameters()
    topt = torch.optim.AdamW(tlin.parameters(), lr=0.05)
    for _ in range(8):
        copt.zero_grad()
        (clin(cr.tensor(x)) ** 2).mean().backward()
        copt.step()
        topt.zero_grad()
        (tlin(torch.tensor(x)) ** 2).mean().backward()
        topt.step()
    np.testing.assert_allclose(clin.weight.data, tlin.weight.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(clin.bias.data, tlin.bias.detach().numpy(), rtol=1e-6)


def test_state_dict_survives_cr_save_and_load(tmp_path):
    """Optimizer and scheduler state go through cr.save (safetensors + JSON, no pickle)."""
    p = _p([1.0, -2.0, 3.0])
    opt = cr.optim.Adam([p], lr=0.1, amsgrad=True)
    sched = cr.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=20)
    for _ in range(3):
        opt.zero_grad()
        (p**4).sum().backward()
        opt.step()
        sched.step()
    cr.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ckpt")
    loaded = cr.load(tmp_path / "ckpt")
    q = _p(p.data.numpy().copy())
    opt2 = cr.optim.Adam([q], lr=0.1, amsgrad=True)
    sched2 = cr.optim.lr_scheduler.OneCycleLR(opt2, max_lr=0.5, total_steps=20)
    opt2.load_state_dict(loaded["opt"])
    sched2.load_state_dict(loaded["sched"])
    for o, s, t in ((opt, sched, p), (opt2, sched2, q)):
        for _ in range(4):
            o.zero_grad()
            (t**4).sum().backward()
            o.step()
            s.step()
    np.testing.assert_array_equal(q.data, p.data)
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert opt2.param_groups[0]["betas"] == opt.param_groups[0]["betas"]
