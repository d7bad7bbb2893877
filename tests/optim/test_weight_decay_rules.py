"""The shared weight-decay rules say what they do (issue 10, item 6): ``regularized_grad``
returns a new gradient and modifies nothing; ``decay_weights_`` is the one that shrinks the
parameter in place, and only for decoupled (AdamW) decay."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim._update_helpers import decay_weights_, regularized_grad


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("maximize", [False, True])
def test_regularized_grad_modifies_nothing(decoupled, maximize):
    param, grad = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    group = {
        "lr": 0.1,
        "weight_decay": 0.01,
        "decoupled_weight_decay": decoupled,
        "maximize": maximize,
    }
    out = regularized_grad(param, grad, group)
    np.testing.assert_array_equal(param, [1.0, -2.0])
    np.testing.assert_array_equal(grad, [0.5, 0.25])
    sign = -1.0 if maximize else 1.0
    expected = sign * grad + (0.0 if decoupled else 0.01 * param)
    np.testing.assert_allclose(out, expected)


def test_decay_weights_shrinks_only_decoupled():
    param = np.array([1.0, -2.0])
    decay_weights_(param, {"lr": 0.1, "weight_decay": 0.01})  # L2: not this function's job
    np.testing.assert_array_equal(param, [1.0, -2.0])
    decay_weights_(param, {"lr": 0.1, "weight_decay": 0.01, "decoupled_weight_decay": True})
    np.testing.assert_allclose(param, np.array([1.0, -2.0]) * (1 - 0.1 * 0.01))


@pytest.mark.parametrize("name", ["AdamW", "NAdam", "RAdam"])
def test_decoupled_decay_still_matches_torch(name):
    w0 = np.array([[0.3, -1.2], [0.7, 2.0]])
    g = np.array([[0.1, -0.4], [0.2, 0.05]])
    kw = {"lr": 0.05, "weight_decay": 0.1}
    if name != "AdamW":
        kw["decoupled_weight_decay"] = True
    p = cr.nn.Parameter(cr.tensor(w0, dtype=cr.float64))
    tp = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt, topt = getattr(cr.optim, name)([p], **kw), getattr(torch.optim, name)([tp], **kw)
    for _ in range(3):
        p.grad = cr.tensor(g, dtype=cr.float64)
        tp.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        topt.step()
    np.testing.assert_allclose(p.detach()._data, tp.detach().numpy(), rtol=1e-7, atol=1e-9)
