"""LazyLinear / LazyConv1d / LazyConv2d against PyTorch's lazy modules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

CASES = [
    ("LazyLinear", (3,), {}, (2, 5)),
    ("LazyLinear", (4,), dict(bias=False), (2, 3, 6)),
    ("LazyConv2d", (4, 3), dict(padding=1), (2, 2, 5, 5)),
    ("LazyConv2d", (4, 3), dict(groups=2, stride=2), (4, 6, 6)),
    ("LazyConv1d", (3, 2), {}, (2, 3, 7)),
]


@pytest.mark.parametrize("name, args, kw, shape", CASES)
def test_matches_torch_with_optimizer_built_before_first_forward(name, args, kw, shape):
    mt, mc = getattr(torch.nn, name)(*args, **kw), getattr(nn, name)(*args, **kw)
    assert repr(mc) == repr(mt)
    assert mc.has_uninitialized_params() and mt.has_uninitialized_params()
    assert list(mc.state_dict()) == list(mt.state_dict())
    ot = torch.optim.SGD(mt.parameters(), lr=0.1, momentum=0.9)  # before materialising
    oc = cr.optim.SGD(mc.parameters(), lr=0.1, momentum=0.9)
    a = np.random.default_rng(0).standard_normal(shape)
    mt(torch.tensor(a, dtype=torch.float32))
    mc(cr.tensor(a, dtype=cr.float32))
    assert type(mc).__name__ == type(mt).__name__ == name[4:]
    assert repr(mc) == repr(mt)
    mt.double()
    mc.double()
    mc.load_state_dict({k: cr.tensor(v.numpy()) for k, v in mt.state_dict().items()})
    for _ in range(2):
        ot.zero_grad()
        oc.zero_grad()
        xt, xc = torch.tensor(a, requires_grad=True), cr.tensor(a, requires_grad=True)
        yt, yc = mt(xt), mc(xc)
        np.testing.assert_allclose(yc.data, yt.detach().numpy(), atol=1e-12)
        (yt**2).sum().backward()
        (yc**2).sum().backward()
        np.testing.assert_allclose(xc.grad.data, xt.grad.numpy(), atol=1e-10)
        ot.step()
        oc.step()
    for k, v in mt.state_dict().items():
        np.testing.assert_allclose(mc.state_dict()[k].data, v.numpy(), atol=1e-10)


def test_initialisation_draws_like_the_eager_layer():
    x = cr.randn(2, 5)
    cr.manual_seed(0)
    lazy = nn.LazyLinear(3)
    lazy(x)
    cr.manual_seed(0)
    eager = nn.Linear(5, 3)
    np.testing.assert_array_equal(lazy.weight.data, eager.weight.data)
    np.testing.assert_array_equal(lazy.bias.data, eager.bias.data)


def test_dtype_and_load_state_dict_materialise():
    m = nn.LazyLinear(3, dtype=cr.float64)
    m(cr.randn(2, 4, dtype=cr.float64))
    assert m.weight.dtype == np.float64
    m = nn.LazyConv2d(2, 3).double()  # a cast before the first forward carries over
    m(cr.randn(1, 2, 4, 4, dtype=cr.float64))
    assert m.weight.dtype == m.bias.dtype == np.float64
    src = nn.Linear(5, 3)
    lazy = nn.LazyLinear(3)
    lazy.load_state_dict(src.state_dict())
    assert not lazy.has_uninitialized_params() and lazy.in_features == 5
    np.testing.assert_array_equal(lazy.weight.data, src.weight.data)
    x = cr.randn(2, 5)
    np.testing.assert_array_equal(lazy(x).data, src(x).data)


def test_uninitialised_parameter_errors():
    m = nn.LazyLinear(3)
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        _ = m.weight.shape
    with pytest.raises(RuntimeError, match="3D .unbatched. or 4D"):
        nn.LazyConv2d(2, 3)(cr.randn(5, 5))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(cr.randn(1, 3, 5, 5))
