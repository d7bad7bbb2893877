"""Module: registration, traversal, modes, state_dict errors, hooks vs torch, printing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.bn = nn.BatchNorm1d(3)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(3, 2)
        self.register_buffer("scale", cr.ones(1))
        self.register_buffer("tmp", cr.zeros(1), persistent=False)

    def forward(self, x):
        return self.fc2(self.drop(self.bn(self.fc1(x)).relu())) * self.scale


def test_registration_and_traversal_match_torch_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "bn", "drop", "fc2"]
    assert [n for n, _ in net.named_children()] == ["fc1", "bn", "drop", "fc2"]
    assert {n for n, _ in net.named_buffers()} == {
        "scale",
        "tmp",
        "bn.running_mean",
        "bn.running_var",
        "bn.num_batches_tracked",
    }
    assert list(net.state_dict()) == [
        "scale",
        "fc1.weight",
        "fc1.bias",
        "bn.weight",
        "bn.bias",
        "bn.running_mean",
        "bn.running_var",
        "bn.num_batches_tracked",
        "fc2.weight",
        "fc2.bias",
    ]
    assert net.num_parameters() == 4 * 3 + 3 + 3 + 3 + 3 * 2 + 2
    shared = nn.Sequential(net.fc1, net.fc1)
    assert len(list(shared.parameters())) == 2


def test_train_eval_zero_grad_apply():
    net = Net()
    net.eval()
    assert not any(m.training for m in net.modules())
    x = cr.randn(5, 4)
    np.testing.assert_array_equal(net(x).data, net(x).data)  # eval is deterministic
    net.train()
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen[0] == "Linear"


def test_state_dict_roundtrip_and_errors():
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    sd = a.state_dict()
    del sd["fc2.bias"]
    sd["extra"] = cr.zeros(1)
    with pytest.raises(RuntimeError, match=r"Missing key\(s\).*fc2.bias") as err:
        b.load_state_dict(sd)
    assert "Unexpected key(s)" in str(err.value) and '"extra"' in str(err.value)
    res = b.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["fc2.bias"] and res.unexpected_keys == ["extra"]
    sd = a.state_dict()
    sd["fc1.weight"] = cr.zeros(2, 2)
    with pytest.raises(RuntimeError, match=r"size mismatch for fc1.weight.*\[2, 2\].*\[3, 4\]"):
        b.load_state_dict(sd)


def _torch_twin():
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    tm.double()
    m.double()
    m.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return m, tm


def test_forward_and_pre_hooks_vs_torch():
    m, tm = _torch_twin()
    calls = []
    for mod, log in ((m, "cr"), (tm, "torch")):
        mod[0].register_forward_pre_hook(lambda mod_, args, log=log: (args[0] * 2,))
        h = mod[2].register_forward_hook(lambda mod_, args, out, log=log: out + 1)
        mod[1].register_forward_hook(lambda mod_, args, out, log=log: calls.append(log))
    x = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(
        m(cr.tensor(x)).data, tm(torch.tensor(x)).detach().numpy(), rtol=1e-12
    )
    assert calls == ["cr", "torch"]
    h.remove()


def test_full_backward_hook_vs_torch():
    m, tm = _torch_twin()
    seen = {"cr": [], "torch": []}

    def make(key):
        def hook(mod, grad_input, grad_output):
            seen[key].append((grad_input[0], grad_output[0]))
            return (grad_input[0] * 3,)

        return hook

    m[1].register_full_backward_hook(make("cr"))
    tm[1].register_full_backward_hook(make("torch"))
    x = np.random.default_rng(1).standard_normal((5, 3))
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    m(cx).sum().backward()
    tm(tx).sum().backward()
    (gi, go), (tgi, tgo) = seen["cr"][0], seen["torch"][0]
    np.testing.assert_allclose(gi.data, tgi.numpy(), rtol=1e-12)
    np.testing.assert_allclose(go.data, tgo.numpy(), rtol=1e-12)
    np.testing.assert_allclose(cx.grad.data, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(m[0].weight.grad.data, tm[0].weight.grad.numpy(), rtol=1e-12)


def test_printed_tree_matches_torch():
    tm = torch.nn.Sequential(
        torch.nn.Linear(3, 4),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.1),
        torch.nn.Sequential(torch.nn.LayerNorm(4), torch.nn.Linear(4, 1)),
    )
    m = nn.Sequential(
        nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.1), nn.Sequential(nn.LayerNorm(4), nn.Linear(4, 1))
    )
    assert repr(m) == repr(tm)


def test_registration_errors():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(cr.zeros(1))

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__\(\)"):
        Bad()
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        lin.weight = cr.zeros(2, 2)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = lin.nope
