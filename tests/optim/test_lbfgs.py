"""LBFGS against torch.optim.LBFGS: the same iterates on a small float64 regression."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(3)
X = RNG.normal(size=(20, 3))
Y = (np.tanh(X @ np.array([1.5, -2.0, 0.5])) + 0.1 * RNG.normal(size=20))[:, None]
W0 = RNG.normal(size=(3, 1)) * 0.1


def _problem(lib):
    w = lib.tensor(W0.copy(), requires_grad=True)
    b = lib.tensor(np.zeros(1), requires_grad=True)
    x, y = lib.tensor(X), lib.tensor(Y)

    def loss_fn():
        pred = lib.tanh(x @ w + b)
        return ((pred - y) ** 2).mean() + 0.01 * (w**4).sum()

    return [w, b], loss_fn


def _run(lib, steps, **kw):
    params, loss_fn = _problem(lib)
    opt = lib.optim.LBFGS(params, **kw)

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    losses = [float(opt.step(closure).detach()) for _ in range(steps)]
    state = opt.state[params[0]]
    return [p.detach().numpy().copy() for p in params], losses, state


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"line_search_fn": "strong_wolfe"},
        {"lr": 0.5, "max_iter": 4, "history_size": 3},
        {"lr": 0.8, "max_iter": 7, "history_size": 2, "line_search_fn": "strong_wolfe"},
        {"max_iter": 3, "max_eval": 5, "line_search_fn": "strong_wolfe"},
    ],
)
def test_iterates_match_torch(kw):
    ours, our_losses, our_state = _run(cr, 4, **kw)
    ref, ref_losses, ref_state = _run(torch, 4, **kw)
    np.testing.assert_allclose(our_losses, ref_losses, rtol=1e-10, atol=1e-13)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert our_state["n_iter"] == ref_state["n_iter"]
    assert our_state["func_evals"] == ref_state["func_evals"]


def test_converges_to_optimum_on_quadratic():
    a = np.array([[3.0, 1.0], [1.0, 2.0]])
    rhs = np.array([1.0, -1.0])
    x = cr.tensor(np.zeros(2), requires_grad=True)
    opt = cr.optim.LBFGS([x], line_search_fn="strong_wolfe", tolerance_grad=1e-12)
    at, bt = cr.tensor(a), cr.tensor(rhs)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x * (at @ x)).sum() - (bt * x).sum()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(x.detach().numpy(), np.linalg.solve(a, rhs), atol=1e-6)


def test_errors():
    p = cr.tensor(np.zeros(2), requires_grad=True)
    q = cr.tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        cr.optim.LBFGS([{"params": [p]}, {"params": [q]}])
    for lib, param in ((cr, p), (torch, torch.zeros(2, requires_grad=True))):
        # an unknown line search is accepted and refused when step reaches it, as torch
        opt = lib.optim.LBFGS([param], line_search_fn="armijo")

        def closure(opt=opt, param=param):
            opt.zero_grad()
            loss = ((param - 1) ** 2).sum()
            loss.backward()
            return loss

        with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
            opt.step(closure)
        with pytest.raises(TypeError, match="closure"):
            lib.optim.LBFGS([param]).step()


def test_state_keeps_torchs_entries():
    """The state holds torch's entries, ``al`` (the two-loop's alphas, one slot per history
    entry, None until used) included, as tensors."""
    states = []
    for lib in (cr, torch):
        param = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        opt = lib.optim.LBFGS([param], history_size=4, max_iter=6)

        def closure(opt=opt, param=param):
            opt.zero_grad()
            loss = ((param - 3) ** 4).sum()
            loss.backward()
            return loss

        opt.step(closure)
        states.append(opt.state[param])
    mine, theirs = states
    assert sorted(mine) == sorted(theirs)
    assert len(mine["al"]) == len(theirs["al"]) == 4
    for a, b in zip(mine["al"], theirs["al"]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a.item(), b.item(), rtol=1e-10)


def test_sparse_adam_refuses_a_dense_gradient():
    p = cr.tensor([1.0], requires_grad=True)
    opt = cr.optim.SparseAdam([p])
    (p * 2).sum().backward()
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients"):
        opt.step()
