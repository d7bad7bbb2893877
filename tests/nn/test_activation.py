"""Activation functions and modules: forward/backward vs torch, gradcheck, constants."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck, gradgradcheck

from ._helpers import close, pair

TF = torch.nn.functional

CASES = [
    ("relu", {}),
    ("relu6", {}),
    ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {"alpha": 0.7}),
    ("selu", {}),
    ("celu", {"alpha": 1.3}),
    ("gelu", {}),
    ("gelu", {"approximate": "tanh"}),
    ("silu", {}),
    ("mish", {}),
    ("softplus", {"beta": 2.0, "threshold": 5.0}),
    ("sigmoid", {}),
    ("hardsigmoid", {}),
    ("hardswish", {}),
    ("tanh", {}),
    ("hardtanh", {"min_val": -0.5, "max_val": 0.8}),
    ("softsign", {}),
    ("logsigmoid", {}),
    ("tanhshrink", {}),
    ("softmax", {"dim": 1}),
    ("log_softmax", {"dim": 0}),
    ("softmin", {"dim": 1}),
    ("threshold", {"threshold": 0.1, "value": -2.0}),
]


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}{i}" for i, (n, _) in enumerate(CASES)])
def test_functional_matches_torch(name, kw):
    x, tx = pair(6, 7, scale=4.0)
    y = getattr(F, name)(x, **kw)
    ty = getattr(TF, name)(tx, **kw)
    # torch rounds 1/alpha (celu) and 1/6 (hardsigmoid backward) to float32
    tol = 1e-6 if name in ("celu", "hardsigmoid", "hardswish") else 1e-10
    close(y, ty, tol)
    g = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    close(x.grad, tx.grad, tol)


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}{i}" for i, (n, _) in enumerate(CASES)])
def test_functional_gradcheck(name, kw):
    x = cr.tensor(np.random.default_rng(2).standard_normal((2, 3)) * 2, requires_grad=True)
    assert gradcheck(lambda t: getattr(F, name)(t, **kw), (x,))


@pytest.mark.parametrize("name", ["gelu", "silu", "mish", "elu", "softplus"])
def test_double_backward(name):
    x = cr.tensor(np.random.default_rng(3).standard_normal((2, 3)), requires_grad=True)
    assert gradgradcheck(getattr(F, name), (x,))


MODULES = [
    ("ReLU", (), {}),
    ("ReLU6", (), {}),
    ("LeakyReLU", (0.1,), {}),
    ("ELU", (), {"alpha": 2.0}),
    ("SELU", (), {}),
    ("CELU", (), {"alpha": 0.5}),
    ("GELU", (), {"approximate": "tanh"}),
    ("SiLU", (), {}),
    ("Mish", (), {}),
    ("Softplus", (), {"beta": 0.5}),
    ("Sigmoid", (), {}),
    ("Hardsigmoid", (), {}),
    ("Tanh", (), {}),
    ("Hardtanh", (-2.0, 2.0), {}),
    ("Softmax", (), {"dim": -1}),
    ("LogSoftmax", (), {"dim": 1}),
    ("Softsign", (), {}),
    ("Softmin", (), {"dim": 1}),
    ("Threshold", (0.5, 20.0), {}),
    ("Hardswish", (), {}),
]


@pytest.mark.parametrize("name,args,kw", MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch(name, args, kw):
    x, tx = pair(4, 5, seed=4, scale=3.0)
    m, tm = getattr(cr.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    y, ty = m(x), tm(tx)
    tol = 1e-6 if name in ("CELU", "Hardsigmoid", "Hardswish") else 1e-10
    close(y, ty, tol)
    y.sum().backward()
    ty.sum().backward()
    close(x.grad, tx.grad, tol)
    assert repr(m) == repr(tm)


def test_inplace_flag_accepted():
    x = cr.randn(3)
    assert cr.nn.ReLU(inplace=True)(x).shape == (3,)
    assert repr(cr.nn.ReLU(inplace=True)) == "ReLU(inplace=True)"


def test_prelu_per_channel_vs_torch():
    x, tx = pair(3, 4, 2, 2, seed=5)
    m, tm = cr.nn.PReLU(4, init=0.1).double(), torch.nn.PReLU(4, init=0.1).double()
    tm.weight.data = torch.tensor([0.1, -0.2, 0.3, 0.5], dtype=torch.float64)
    m.weight.data[:] = tm.weight.detach().numpy()
    y, ty = m(x), tm(tx)
    close(y, ty)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    close(x.grad, tx.grad)
    close(m.weight.grad, tm.weight.grad)
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel"):
        m(cr.randn(2, 3, dtype=cr.float64))  # PyTorch's words
    with pytest.raises(RuntimeError, match="prelu: Type promoting not supported"):
        m(cr.randn(2, 4))  # a float32 input for float64 weights: checked first, as PyTorch


def test_selu_constants_exact():
    from chainrule.nn.functional.activation import SELU_ALPHA, SELU_SCALE

    assert SELU_ALPHA == 1.6732632423543772848170429916717
    assert SELU_SCALE == 1.0507009873554804934193349852946


def test_no_nan_gradient_for_large_inputs():
    x = cr.tensor([1000.0, -1000.0, 0.0], dtype=cr.float64, requires_grad=True)
    for fn in (F.elu, F.celu, F.selu, F.softplus, F.mish, F.logsigmoid, F.silu):
        x.grad = None
        fn(x).sum().backward()
        assert np.isfinite(x.grad.data).all(), fn.__name__


def test_maxout_formula_and_gradient():
    m = cr.nn.Maxout(3, 2, pieces=4).double()
    x = cr.tensor(np.random.default_rng(6).standard_normal((5, 3)), requires_grad=True)
    y = m(x)
    w, b = m.weight._data.reshape(2, 4, 3), m.bias._data.reshape(2, 4)
    expected = (np.einsum("ni,jki->njk", x._data, w) + b).max(-1)
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)
    assert gradcheck(lambda t: m(t), (x,))
    assert "pieces=4" in repr(m)


def test_errors():
    with pytest.raises(TypeError, match="floating"):
        F.gelu(cr.tensor([1, 2]))
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(cr.randn(2), approximate="fast")
    with pytest.raises(ValueError, match="approximate"):  # raised when called, as PyTorch
        cr.nn.GELU("fast")(cr.randn(2))
