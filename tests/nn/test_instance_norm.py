"""InstanceNorm1d/2d/3d and F.instance_norm against PyTorch (float64, copied weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F

CONFIGS = [
    dict(),
    dict(affine=True),
    dict(track_running_stats=True),
    dict(affine=True, track_running_stats=True, momentum=0.3),
    dict(affine=True, bias=False),
    dict(track_running_stats=True, momentum=None),
]


def _pair(name, kw, seed):
    mt = getattr(torch.nn, name)(3, **kw).double()
    mc = getattr(cr.nn, name)(3, **kw, dtype=cr.float64)
    rng = np.random.default_rng(seed)
    sd = {k: v.detach().numpy().copy() for k, v in mt.state_dict().items()}
    for k in ("weight", "bias"):
        if k in sd:
            sd[k] = rng.standard_normal(3)
    mt.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    mc.load_state_dict({k: cr.tensor(v) for k, v in sd.items()})
    assert list(mc.state_dict()) == list(mt.state_dict())
    return mt, mc


@pytest.mark.parametrize(
    "name, shape",
    [
        ("InstanceNorm1d", (2, 3, 5)),
        ("InstanceNorm2d", (2, 3, 4, 3)),
        ("InstanceNorm3d", (2, 3, 2, 3, 2)),
        ("InstanceNorm2d", (3, 4, 3)),
    ],
)
@pytest.mark.parametrize("kw", CONFIGS, ids=[str(c) for c in CONFIGS])
def test_matches_torch_train_then_eval(name, shape, kw):
    mt, mc = _pair(name, kw, 0)
    rng = np.random.default_rng(1)
    for training in (True, True, False):
        mt.train(training)
        mc.train(training)
        a = rng.standard_normal(shape) * 2 + 0.5
        xt, xc = torch.tensor(a, requires_grad=True), cr.tensor(a, requires_grad=True)
        yt, yc = mt(xt), mc(xc)
        np.testing.assert_allclose(yc.data, yt.detach().numpy(), atol=1e-10)
        g = rng.standard_normal(shape)
        yt.backward(torch.tensor(g))
        yc.backward(cr.tensor(g))
        np.testing.assert_allclose(xc.grad.data, xt.grad.numpy(), atol=1e-10)
        for (k, pt), (k2, pc) in zip(mt.named_parameters(), mc.named_parameters()):
            assert k == k2
            np.testing.assert_allclose(pc.grad.data, pt.grad.numpy(), atol=1e-10)
        for k, v in mt.state_dict().items():
            np.testing.assert_allclose(mc.state_dict()[k].data, v.numpy(), atol=1e-12)
    assert repr(mc) == repr(mt)


def test_functional_with_running_stats_and_eval():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((2, 3, 6))
    rm_t, rv_t = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    rm_c, rv_c = cr.zeros(3, dtype=cr.float64), cr.ones(3, dtype=cr.float64)
    yt = torch.nn.functional.instance_norm(torch.tensor(a), rm_t, rv_t, momentum=0.2)
    yc = F.instance_norm(cr.tensor(a), rm_c, rv_c, momentum=0.2)
    np.testing.assert_allclose(yc.data, yt.numpy(), atol=1e-10)
    np.testing.assert_allclose(rm_c.data, rm_t.numpy(), atol=1e-12)
    np.testing.assert_allclose(rv_c.data, rv_t.numpy(), atol=1e-12)
    yt = torch.nn.functional.instance_norm(torch.tensor(a), rm_t, rv_t, use_input_stats=False)
    yc = F.instance_norm(cr.tensor(a), rm_c, rv_c, use_input_stats=False)
    np.testing.assert_allclose(yc.data, yt.numpy(), atol=1e-10)


def test_gradcheck_affine():
    rng = np.random.default_rng(3)
    x = cr.tensor(rng.standard_normal((2, 2, 3)), requires_grad=True)
    w = cr.tensor(rng.standard_normal(2), requires_grad=True)
    b = cr.tensor(rng.standard_normal(2), requires_grad=True)

    def fn(x, w, b):
        return F.instance_norm(x, weight=w, bias=b)

    assert cr.autograd.gradcheck(fn, (x, w, b))
    assert cr.autograd.gradgradcheck(fn, (x, w, b))


def test_errors():
    with pytest.raises(ValueError, match="3D or 4D"):
        cr.nn.InstanceNorm2d(3)(cr.randn(2, 3))
    with pytest.raises(ValueError, match="num_features"):
        cr.nn.InstanceNorm1d(4, affine=True)(cr.randn(2, 3, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        cr.nn.InstanceNorm1d(4)(cr.randn(2, 3, 5))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(cr.randn(2, 3, 1))
    with pytest.raises(RuntimeError, match="weight should contain 6 elements not 4"):
        F.instance_norm(cr.randn(2, 3, 4), weight=cr.ones(2))  # PyTorch's type and words
