"""Rprop, ASGD, Adafactor and Muon against torch.optim: 20 steps in float64, state, flags."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.optim._muon as torch_muon
from optim_helpers import cr_loss, cr_params, to_numpy_state_dict, torch_loss, torch_params

import chainrule as cr

CASES = [
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2)}),
    ("Rprop", {"lr": 0.02, "maximize": True, "foreach": False}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.02, "lambd": 0.05, "alpha": 0.6, "t0": 3, "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.001, "t0": 0, "maximize": True, "foreach": False}),
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-20, 1e-2), "d": 1.5}),
    ("Adafactor", {"lr": 0.02, "weight_decay": 0.1, "maximize": True, "foreach": False}),
]


def _ids(case):
    name, kw = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kw.items())


def _step(opt, params, loss_fn):
    opt.zero_grad()
    loss = loss_fn(params)
    loss.backward()
    opt.step()
    return loss.item()


def _assert_close(cps, tps, rtol=1e-12):
    for c, t in zip(cps, tps):
        np.testing.assert_allclose(c.data, t.detach().numpy(), rtol=rtol, atol=1e-14)


def _json_round_trip(sd):
    """Arrays aside (as safetensors would hold them), everything else through JSON."""
    arrays, state = {}, {}
    for k, s in sd["state"].items():
        state[str(k)] = {}
        for n, v in s.items():
            if isinstance(v, (np.ndarray, cr.Tensor)):
                arrays[f"{k}.{n}"] = np.array(v, copy=True)
                state[str(k)][n] = {"__array__": f"{k}.{n}"}
            else:
                state[str(k)][n] = v
    meta = json.loads(json.dumps({"state": state, "param_groups": sd["param_groups"]}))
    for s in meta["state"].values():
        for n, v in list(s.items()):
            if isinstance(v, dict):
                s[n] = arrays[v["__array__"]]
    return meta


def _copies(params):
    return [cr.tensor(p.data.numpy().copy(), dtype=cr.float64, requires_grad=True) for p in params]


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_matches_torch_state_and_resumes(case):
    name, kw = case
    cps, tps = cr_params(), torch_params()
    copt = getattr(cr.optim, name)(cps, **kw)
    topt = getattr(torch.optim, name)(tps, **kw)
    for _ in range(10):
        lc, lt = _step(copt, cps, cr_loss), _step(topt, tps, torch_loss)
        assert lc == pytest.approx(lt, rel=1e-12)
    _assert_close(cps, tps)
    assert cps[2].grad is None and np.array_equal(cps[2].data, tps[2].detach().numpy())

    csd, tsd = copt.state_dict(), to_numpy_state_dict(topt.state_dict())
    assert sorted(csd["state"]) == sorted(tsd["state"]) == [0, 1]
    for k in csd["state"]:
        assert sorted(csd["state"][k]) == sorted(tsd["state"][k])
        for n, v in csd["state"][k].items():
            np.testing.assert_allclose(v, tsd["state"][k][n], rtol=1e-12, atol=1e-14)
    tgroup = tsd["param_groups"][0]
    assert sorted(csd["param_groups"][0]) == sorted(tgroup)
    for key, value in csd["param_groups"][0].items():
        assert value == tgroup[key], key

    cps2, cps3 = _copies(cps), _copies(cps)
    copt2 = getattr(cr.optim, name)(cps2, **kw)
    copt2.load_state_dict(_json_round_trip(csd))
    copt3 = getattr(cr.optim, name)(cps3, **kw)
    copt3.load_state_dict(tsd)  # resume from torch's own state
    for _ in range(10):
        _step(topt, tps, torch_loss)
        for opt, ps in ((copt, cps), (copt2, cps2), (copt3, cps3)):
            _step(opt, ps, cr_loss)
    for ps in (cps, cps2, cps3):
        _assert_close(ps, tps)


def test_asgd_averages_after_t0():
    cps, tps = cr_params(), torch_params()
    copt = cr.optim.ASGD(cps, lr=0.02, t0=2)
    topt = torch.optim.ASGD(tps, lr=0.02, t0=2)
    for _ in range(8):
        _step(copt, cps, cr_loss)
        _step(topt, tps, torch_loss)
    ax_c, ax_t = copt.state[cps[0]]["ax"], topt.state[tps[0]]["ax"].numpy()
    assert not np.allclose(ax_c, cps[0].data)  # a real average, not the iterate
    np.testing.assert_allclose(ax_c, ax_t, rtol=1e-12)
    # mu = 1/6, held (as torch holds it) in the float32 optimizer scalar dtype
    assert copt.state[cps[0]]["mu"] == topt.state[tps[0]]["mu"].item() == float(np.float32(1 / 6))


def test_asgd_eta_follows_the_default_dtype():
    """torch keeps eta in float32 unless the default dtype is float64; so does chainrule."""
    for cdt, tdt in ((cr.float64, torch.float64), (cr.float32, torch.float32)):
        old_c, old_t = cr.get_default_dtype(), torch.get_default_dtype()
        cr.set_default_dtype(cdt)
        torch.set_default_dtype(tdt)
        try:
            cps, tps = cr_params(), torch_params()
            copt, topt = cr.optim.ASGD(cps, lr=0.1 / 3), torch.optim.ASGD(tps, lr=0.1 / 3)
            for _ in range(3):
                _step(copt, cps, cr_loss)
                _step(topt, tps, torch_loss)
            assert copt.state[cps[0]]["eta"] == topt.state[tps[0]]["eta"].item()
            _assert_close(cps, tps)
        finally:
            cr.set_default_dtype(old_c)
            torch.set_default_dtype(old_t)


def test_rprop_complex_parameters_match_torch():
    rng = np.random.default_rng(1)
    z0 = rng.normal(size=(3,)) + 1j * rng.normal(size=(3,))
    c = cr.tensor(z0.copy(), requires_grad=True)
    t = torch.tensor(z0.copy(), requires_grad=True)
    copt, topt = cr.optim.Rprop([c], lr=0.1), torch.optim.Rprop([t], lr=0.1)
    target = np.array([1.0 - 1j, 0.5j, 2.0])
    for _ in range(6):  # gradient of |z - target|^2, set by hand: the same for both
        grad = 2 * (c.data.numpy() - target)
        c.grad, t.grad = cr.tensor(grad.copy()), torch.tensor(grad.copy())
        copt.step()
        topt.step()
    np.testing.assert_allclose(c.data, t.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(copt.state[c]["step_size"], topt.state[t]["step_size"].numpy())


def test_adafactor_batched_matrices_and_float32():
    rng = np.random.default_rng(2)
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        w0 = rng.normal(size=(2, 3, 4)).astype(dtype)
        c = cr.tensor(w0.copy(), requires_grad=True)
        t = torch.tensor(w0.copy(), requires_grad=True)
        copt, topt = cr.optim.Adafactor([c], lr=0.05), torch.optim.Adafactor([t], lr=0.05)
        for _ in range(5):
            for opt, p in ((copt, c), (topt, t)):
                opt.zero_grad()
                ((p**3).sum() + (p * p).sum(-1).sum()).backward()
                opt.step()
        np.testing.assert_allclose(c.data, t.detach().numpy(), rtol=rtol)
        assert c.data.dtype == dtype
        assert copt.state[c]["row_var"].shape == (2, 3, 1)
        assert copt.state[c]["col_var"].shape == (2, 1, 4)
        np.testing.assert_allclose(
            copt.state[c]["col_var"], topt.state[t]["col_var"].numpy(), rtol=rtol
        )


def test_adafactor_load_state_dict_checks_factored_shapes():
    cps = cr_params()
    opt = cr.optim.Adafactor(cps)
    _step(opt, cps, cr_loss)
    sd = opt.state_dict()
    sd["state"][0]["row_var"] = np.zeros((4, 1))
    with pytest.raises(ValueError, match="row_var"):
        cr.optim.Adafactor(_copies(cps)).load_state_dict(sd)


def _f64_newtonschulz(grad, ns_coefficients, ns_steps, eps):
    """torch's iteration, in the gradient's dtype instead of bfloat16."""
    a, b, c = ns_coefficients
    x = grad.T if grad.size(0) > grad.size(1) else grad
    x = x / x.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if grad.size(0) > grad.size(1) else x


def _muon_params(lib):
    rng = np.random.default_rng(3)
    shapes = [(3, 5), (6, 2), (4, 4)]
    arrays = [rng.normal(size=s) for s in shapes]
    if lib is cr:
        return [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in arrays]
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


def _muon_loss(ps):
    return sum(((p - 0.3) ** 4).sum() + (p.sum(0) ** 2).sum() for p in ps)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"lr": 0.02, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0},
        {"lr": 0.01, "adjust_lr_fn": "match_rms_adamw", "ns_steps": 3, "eps": 1e-5},
        {"lr": 0.01, "adjust_lr_fn": "original", "ns_coefficients": (2.0, -1.5, 0.5)},
    ],
)
def test_muon_matches_torch(kw, monkeypatch):
    cps, tps = _muon_params(cr), _muon_params(torch)
    real = [p.detach().clone().requires_grad_(True) for p in tps]
    copt, real_opt = cr.optim.Muon(cps, **kw), torch.optim.Muon(real, **kw)
    for _ in range(5):
        _step(copt, cps, _muon_loss)
        _step(real_opt, real, _muon_loss)
    # torch itself runs Newton-Schulz in bfloat16: close, to its precision
    for c, t in zip(cps, real):
        np.testing.assert_allclose(c.data, t.detach().numpy(), rtol=0, atol=2e-2)
    # with torch's iteration in float64, every other line of torch's Muon agrees to 1e-12
    monkeypatch.setattr(torch_muon, "_zeropower_via_newtonschulz", _f64_newtonschulz)
    cps, tps = _muon_params(cr), _muon_params(torch)
    copt, topt = cr.optim.Muon(cps, **kw), torch.optim.Muon(tps, **kw)
    for _ in range(8):
        _step(copt, cps, _muon_loss)
        _step(topt, tps, _muon_loss)
    _assert_close(cps, tps)
    csd, tsd = copt.state_dict(), to_numpy_state_dict(topt.state_dict())
    assert sorted(csd["state"][0]) == sorted(tsd["state"][0]) == ["momentum_buffer"]
    assert sorted(csd["param_groups"][0]) == sorted(tsd["param_groups"][0])
    copt2 = cr.optim.Muon(_copies(cps), **kw)
    copt2.load_state_dict(tsd)
    np.testing.assert_allclose(
        copt2.state[copt2.param_groups[0]["params"][1]]["momentum_buffer"],
        tsd["state"][1]["momentum_buffer"],
    )


def test_muon_rejects_non_matrix_parameters_and_bad_options():
    with pytest.raises(ValueError, match="only supports 2D parameters"):
        cr.optim.Muon([cr.zeros(3, requires_grad=True)])
    w = [cr.zeros(2, 2, requires_grad=True)]
    with pytest.raises(ValueError, match="not supported"):
        cr.optim.Muon(w, adjust_lr_fn="sqrt")
    for bad in ({"lr": -1.0}, {"momentum": -0.1}, {"weight_decay": -1.0}):
        with pytest.raises(ValueError):
            cr.optim.Muon(w, **bad)
    opt = cr.optim.Muon(w, ns_steps=100)
    w[0].grad = cr.ones(2, 2)
    with pytest.raises(ValueError, match="less than 100"):
        opt.step()


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("Rprop", {"lr": -0.1}),
        ("Rprop", {"etas": (1.5, 1.2)}),
        ("Rprop", {"etas": (0.5, 0.9)}),
        ("ASGD", {"lr": -0.1}),
        ("ASGD", {"weight_decay": -1.0}),
        ("Adafactor", {"lr": -0.1}),
        ("Adafactor", {"beta2_decay": 0.1}),
        ("Adafactor", {"eps": (-1.0, 1e-3)}),
        ("Adafactor", {"eps": (None, -1.0)}),
        ("Adafactor", {"d": 0.5}),
        ("Adafactor", {"weight_decay": -0.1}),
    ],
)
def test_bad_options_raise_value_error_like_torch(name, kw):
    with pytest.raises(ValueError) as t_err:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw)
    with pytest.raises(ValueError) as c_err:
        getattr(cr.optim, name)([cr.zeros(2, requires_grad=True)], **kw)
    assert str(c_err.value) == str(t_err.value)  # torch's text, word for word


@pytest.mark.parametrize(
    ("name", "flag"),
    [
        ("Rprop", "capturable"),
        ("Rprop", "differentiable"),
        ("ASGD", "capturable"),
        ("ASGD", "differentiable"),
    ],
)
def test_unsupported_flags_raise_not_implemented(name, flag):
    # foreach=True is accepted (tests/optim/test_optimizer_flags.py); these two are not
    p = cr.zeros(2, requires_grad=True)
    with pytest.raises(NotImplementedError, match=flag):
        getattr(cr.optim, name)([p], **{flag: True})
    # a parameter group that asks for it is refused at step time
    opt = getattr(cr.optim, name)([{"params": [p], flag: True}])
    p.grad = cr.ones(2)
    with pytest.raises(NotImplementedError, match=flag):
        opt.step()


def test_adafactor_and_muon_reject_complex():
    z = cr.tensor(np.ones((2, 2), complex), requires_grad=True)
    z.grad = cr.tensor(np.ones((2, 2), complex))
    for cls in (cr.optim.Adafactor, cr.optim.Muon):
        with pytest.raises(RuntimeError, match="complex"):
            cls([z]).step()


def test_signatures_match_torch():
    import inspect

    for name in ("Rprop", "ASGD", "Adafactor", "Muon"):
        cs = inspect.signature(getattr(cr.optim, name))
        ts = inspect.signature(getattr(torch.optim, name))
        assert [(p.name, p.kind, p.default) for p in cs.parameters.values()] == [
            (p.name, p.kind, p.default) for p in ts.parameters.values()
        ], name


@pytest.mark.parametrize(
    ("name", "kw"), [("Rprop", {}), ("ASGD", {"t0": 1}), ("Adafactor", {}), ("Muon", {})]
)
def test_state_dict_survives_cr_save_and_load(name, kw, tmp_path):
    rng = np.random.default_rng(6)
    arrays = [rng.normal(size=(3, 4))] + ([] if name == "Muon" else [rng.normal(size=(4,))])
    ps = [cr.tensor(a, requires_grad=True) for a in arrays]
    opt = getattr(cr.optim, name)(ps, **kw)

    def run(o, params):
        for _ in range(3):
            o.zero_grad()
            sum(((p - 0.5) ** 4).sum() for p in params).backward()
            o.step()

    run(opt, ps)
    cr.save(opt.state_dict(), tmp_path / "opt.pt")
    ps2 = [cr.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ps]
    opt2 = getattr(cr.optim, name)(ps2, **kw)
    opt2.load_state_dict(cr.load(tmp_path / "opt.pt"))
    run(opt, ps)
    run(opt2, ps2)
    for a, b in zip(ps, ps2):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
