"""cr.func.functional_call against torch.func.functional_call: values, gradients w.r.t. the
given dict, restoring the module, tied weights, strictness and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.func import functional_call


def _pair():
    cr.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2))
    t = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(), torch.nn.Linear(4, 2)
    ).double()
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    return m.double(), t


def test_values_and_gradients_match_torch():
    m, t = _pair()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3))
    new = {k: rng.standard_normal(v.shape) for k, v in m.named_parameters()}
    ours = {k: cr.tensor(v, requires_grad=True) for k, v in new.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in new.items()}
    out = functional_call(m, ours, (cr.tensor(x),))
    ref = torch.func.functional_call(t, theirs, (torch.tensor(x),))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10)
    out.square().sum().backward()
    ref.square().sum().backward()
    for k in new:
        np.testing.assert_allclose(
            ours[k].grad.numpy(), theirs[k].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=k
        )
    # the module's own parameters were neither used nor changed
    for k, p in m.named_parameters():
        assert p.grad is None, k
        assert not np.allclose(p.detach().numpy(), new[k])


def test_per_sample_gradients_through_functional_call():
    m, _ = _pair()
    m.eval()
    names = [k for k, _ in m.named_parameters()]
    x = cr.randn(4, 3, dtype=cr.float64)
    y = cr.randn(4, 2, dtype=cr.float64)

    def grads(xs, ys):
        params = {k: v.detach().requires_grad_() for k, v in m.named_parameters()}
        loss = (functional_call(m, params, (xs,)) - ys).square().sum()
        return cr.autograd.grad(loss, [params[k] for k in names])

    per_sample = [grads(x[i : i + 1], y[i : i + 1]) for i in range(4)]
    full = grads(x, y)
    for j, k in enumerate(names):
        np.testing.assert_allclose(
            sum(g[j].numpy() for g in per_sample), full[j].numpy(), rtol=1e-10, err_msg=k
        )


def test_module_is_restored_even_when_the_call_raises():
    m, _ = _pair()
    before = {k: v for k, v in m.named_parameters()}
    with pytest.raises((RuntimeError, ValueError)):
        functional_call(m, {"0.weight": cr.zeros(4, 5, dtype=cr.float64)}, (cr.zeros(2, 3),))
    for k, v in m.named_parameters():
        assert v is before[k]


def test_tied_weights_strict_and_errors():
    cr.manual_seed(0)
    emb = nn.Embedding(5, 3)
    head = nn.Linear(3, 5, bias=False)
    head.weight = emb.weight
    model = nn.Sequential(emb, head)
    w = cr.ones(5, 3)
    out = functional_call(model, {"0.weight": w}, (cr.tensor([1, 2]),))
    np.testing.assert_allclose(out.numpy(), np.full((2, 5), 3.0))  # the head used w too
    with pytest.raises(ValueError, match="tied"):
        functional_call(model, {"0.weight": w, "1.weight": cr.zeros(5, 3)}, (cr.tensor([1]),))
    with pytest.raises(RuntimeError, match="Missing key"):  # PyTorch's error
        functional_call(nn.Linear(2, 2), {"weight": cr.zeros(2, 2)}, (cr.zeros(1, 2),), strict=True)
    lin = nn.Linear(2, 2)  # an unknown name is a plain attribute during the call (PyTorch)
    functional_call(lin, {"nope": cr.zeros(2)}, (cr.zeros(1, 2),))
    assert not hasattr(lin, "nope")
    with pytest.raises(AttributeError, match="no attribute"):
        functional_call(lin, {"sub.nope": cr.zeros(2)}, (cr.zeros(1, 2),))
    with pytest.raises(TypeError, match="must be a Tensor"):
        functional_call(nn.Linear(2, 2), {"weight": np.zeros((2, 2))}, (cr.zeros(1, 2),))
