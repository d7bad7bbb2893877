"""nn.utils.parametrize and parametrizations.weight_norm / spectral_norm against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils import parametrizations as TP
from torch.nn.utils import parametrize as TZ

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import parametrizations as CP
from chainrule.nn.utils import parametrize as CZ

LAYERS = [
    ("Linear", (4, 3), (2, 4)),
    ("Conv2d", (2, 3, 2), (1, 2, 4, 4)),
    ("ConvTranspose2d", (2, 3, 2), (1, 2, 3, 3)),
]


def _pair(name, args):
    mt = getattr(torch.nn, name)(*args).double()
    mc = getattr(nn, name)(*args, dtype=cr.float64)
    mc.load_state_dict({k: cr.tensor(v.numpy()) for k, v in mt.state_dict().items()})
    return mt, mc


def _check_step(mt, mc, shape, seed):
    a = np.random.default_rng(seed).standard_normal(shape)
    xt, xc = torch.tensor(a, requires_grad=True), cr.tensor(a, requires_grad=True)
    yt, yc = mt(xt), mc(xc)
    np.testing.assert_allclose(yc.data, yt.detach().numpy(), atol=1e-12)
    (yt**2).sum().backward()
    (yc**2).sum().backward()
    np.testing.assert_allclose(xc.grad.data, xt.grad.numpy(), atol=1e-10)
    names_t = [k for k, _ in mt.named_parameters()]
    assert [k for k, _ in mc.named_parameters()] == names_t
    for (k, pt), (_, pc) in zip(mt.named_parameters(), mc.named_parameters()):
        np.testing.assert_allclose(pc.grad.data, pt.grad.numpy(), atol=1e-10, err_msg=k)
    for k, v in mt.state_dict().items():
        np.testing.assert_allclose(mc.state_dict()[k].data, v.numpy(), atol=1e-12, err_msg=k)


@pytest.mark.parametrize("name, args, shape", LAYERS)
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(name, args, shape, dim):
    mt, mc = _pair(name, args)
    TP.weight_norm(mt, dim=dim)
    CP.weight_norm(mc, dim=dim)
    assert list(mc.state_dict()) == list(mt.state_dict())
    assert type(mc).__name__ == type(mt).__name__ == f"Parametrized{name}"
    _check_step(mt, mc, shape, 0)
    w = np.random.default_rng(1).standard_normal(tuple(mt.weight.shape))
    with torch.no_grad():
        mt.weight = torch.tensor(w)  # right_inverse: g = ||w||, v = w
    mc.weight = cr.tensor(w)
    np.testing.assert_allclose(mc.weight.data, w, atol=1e-12)
    _check_step(mt, mc, shape, 2)


@pytest.mark.parametrize("name, args, shape", LAYERS)
def test_spectral_norm_matches_torch_train_and_eval(name, args, shape):
    mt, mc = _pair(name, args)
    TP.spectral_norm(mt, n_power_iterations=2)
    CP.spectral_norm(mc, n_power_iterations=2)
    assert list(mc.state_dict()) == list(mt.state_dict())
    # u and v start random: copy PyTorch's so the power iterations agree
    mc.load_state_dict({k: cr.tensor(v.numpy()) for k, v in mt.state_dict().items()})
    for seed, training in enumerate([True, True, False, False]):
        mt.train(training)
        mc.train(training)
        for p in list(mt.parameters()):
            p.grad = None
        mc.zero_grad()
        _check_step(mt, mc, shape, seed)


def test_spectral_norm_sigma_is_the_largest_singular_value():
    m = CP.spectral_norm(nn.Linear(5, 4, dtype=cr.float64), n_power_iterations=30)
    m(cr.randn(1, 5, dtype=cr.float64))
    w = m.weight.data
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False)[0], 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="no parameter or buffer"):
        CP.spectral_norm(nn.Linear(2, 2), name="nope")
    with pytest.raises(ValueError, match="positive"):
        CP.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)


class _Symmetric:
    """The same parametrization in both frameworks: X -> triu(X) + triu(X, 1)^T."""

    @staticmethod
    def make(lib):
        class Symmetric(lib.nn.Module):
            def forward(self, x):
                return x.triu() + x.triu(1).transpose(-1, -2)

            def right_inverse(self, a):
                return a.triu()

        return Symmetric()


class _Scale:
    @staticmethod
    def make(lib):
        class Scale(lib.nn.Module):
            def forward(self, x):
                return 2 * x

            def right_inverse(self, a):
                return a / 2

        return Scale()


def test_custom_chain_cached_and_remove_match_torch():
    mt, mc = _pair("Linear", (3, 3))
    for mod, lib, z in ((mt, torch, TZ), (mc, cr, CZ)):
        z.register_parametrization(mod, "weight", _Symmetric.make(lib))
        z.register_parametrization(mod, "weight", _Scale.make(lib))
        assert z.is_parametrized(mod) and z.is_parametrized(mod, "weight")
        assert not z.is_parametrized(mod, "bias")
    assert list(mc.state_dict()) == list(mt.state_dict())
    np.testing.assert_allclose(mc.weight.data, mt.weight.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(mc.weight.data, mc.weight.data.T)
    _check_step(mt, mc, (2, 3), 0)
    with CZ.cached():
        assert mc.weight is mc.weight
    assert mc.weight is not mc.weight
    w = np.random.default_rng(3).standard_normal((3, 3))
    w = w + w.T
    with torch.no_grad():
        mt.weight = torch.tensor(w)
    mc.weight = cr.tensor(w)
    np.testing.assert_allclose(mc.weight.data, w, atol=1e-12)
    np.testing.assert_allclose(
        mc.parametrizations.weight.original.data,
        mt.parametrizations.weight.original.detach().numpy(),
    )
    TZ.remove_parametrizations(mt, "weight")
    CZ.remove_parametrizations(mc, "weight")
    assert type(mc) is nn.Linear and list(mc.state_dict()) == list(mt.state_dict())
    np.testing.assert_allclose(mc.weight.data, w, atol=1e-12)


def test_remove_leave_parametrized_false_and_errors():
    m = nn.Linear(3, 3)
    original = m.weight.data.numpy().copy()
    CZ.register_parametrization(m, "weight", _Scale.make(cr))
    CZ.remove_parametrizations(m, "weight", leave_parametrized=False)
    np.testing.assert_allclose(m.weight.data, original / 2)  # right_inverse stored w / 2
    assert isinstance(m.weight, nn.Parameter)
    with pytest.raises(ValueError, match="does not have a parametrization"):
        CZ.remove_parametrizations(m, "weight")
    with pytest.raises(ValueError, match="does not have a parameter"):
        CZ.register_parametrization(m, "nope", _Scale.make(cr))
    with pytest.raises(TypeError, match="nn.Module"):
        CZ.register_parametrization(m, "weight", lambda x: x)

    class Shrink(nn.Module):
        def forward(self, x):
            return x[:1]

    with pytest.raises(ValueError, match="shape"):
        CZ.register_parametrization(m, "weight", Shrink())
    wn = CP.weight_norm(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="sequence of tensors"):
        CZ.remove_parametrizations(wn, "weight", leave_parametrized=False)


def test_weight_norm_gradcheck_and_optimizer_trains_originals():
    m = CP.weight_norm(nn.Linear(3, 2, dtype=cr.float64))
    g = m.parametrizations.weight.original0
    v = m.parametrizations.weight.original1
    wn = m.parametrizations.weight[0]
    assert cr.autograd.gradcheck(lambda a, b: wn(a, b), (g, v))
    assert cr.autograd.gradgradcheck(lambda a, b: wn(a, b), (g, v))
    opt = cr.optim.SGD(m.parameters(), lr=0.1)
    before = g.data.numpy().copy()
    m(cr.randn(4, 3, dtype=cr.float64)).pow(2).sum().backward()
    opt.step()
    assert not np.allclose(g.data, before)


def test_deepcopy_gets_its_own_class_and_pickling_is_refused():
    import copy
    import pickle

    m = CP.spectral_norm(nn.Linear(3, 2)).eval()
    m2 = copy.deepcopy(m)
    assert type(m2) is not type(m) and type(m2).__name__ == "ParametrizedLinear"
    np.testing.assert_array_equal(m2.weight.data, m.weight.data)
    CZ.remove_parametrizations(m2, "weight")
    assert type(m2) is nn.Linear and m.weight.shape == (2, 3)  # the original is untouched
    with pytest.raises(RuntimeError, match="state_dict"):
        pickle.dumps(m)


def test_parametrized_buffer_matches_torch():
    class Holder:
        @staticmethod
        def make(lib):
            m = lib.nn.Module()
            m.register_buffer("scale", lib.tensor(np.arange(4.0)))
            return m

    mt, mc = Holder.make(torch), Holder.make(cr)
    TZ.register_parametrization(mt, "scale", _Scale.make(torch))
    CZ.register_parametrization(mc, "scale", _Scale.make(cr))
    assert list(mc.state_dict()) == list(mt.state_dict()) == ["parametrizations.scale.original"]
    assert list(mc.parameters()) == []
    np.testing.assert_allclose(mc.scale.data, mt.scale.numpy())
