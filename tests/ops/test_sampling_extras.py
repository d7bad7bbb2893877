"""poisson, F.gumbel_softmax and Tensor.apply_: distributions, straight-through gradients and
the errors PyTorch raises."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F


def test_poisson_mean_dtype_and_errors():
    rates = cr.tensor([0.0, 1.5, 20.0])
    draws = np.stack(
        [cr.poisson(rates, cr.Generator().manual_seed(i)).numpy() for i in range(2000)]
    )
    assert draws.dtype == np.float32 and (draws[:, 0] == 0).all()
    np.testing.assert_allclose(draws.mean(0), [0.0, 1.5, 20.0], rtol=0.05, atol=0.05)
    for bad in ([-1.0], [float("nan")]):
        with pytest.raises(RuntimeError, match="rate"):
            cr.poisson(cr.tensor(bad))
        with pytest.raises(RuntimeError):
            torch.poisson(torch.tensor(bad))


def test_gumbel_softmax_soft_hard_and_straight_through_gradient():
    probs = np.array([0.1, 0.6, 0.3])
    logits = cr.tensor(np.log(np.tile(probs, (4000, 1))), requires_grad=True)
    cr.manual_seed(0)  # torch's signature: no generator= (session 40)
    y = F.gumbel_softmax(logits, tau=0.5, hard=True)
    values = y.detach().numpy()
    assert set(np.unique(values)) == {0.0, 1.0} and (values.sum(1) == 1).all()
    np.testing.assert_allclose(values.mean(0), probs, atol=0.03)  # argmax ~ categorical
    (y * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert np.abs(logits.grad.numpy()).sum() > 0  # the soft sample's gradient flows
    soft = F.gumbel_softmax(cr.zeros(5, 4), tau=2.0)
    np.testing.assert_allclose(soft.numpy().sum(1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="tau"):
        F.gumbel_softmax(cr.zeros(2, 2), tau=0.0)


def test_apply_maps_in_place_like_torch():
    x, t = cr.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.apply_(lambda v: v * v + 1).tolist() == t.apply_(lambda v: v * v + 1).tolist()
    assert x._version == t._version == 0  # PyTorch's element loops leave the counter alone
    with pytest.raises(RuntimeError, match="requires grad"):
        cr.ones(2, requires_grad=True).apply_(abs)


def test_poisson_and_binomial_accept_zero_dim_inputs() -> None:
    # NumPy returns a Python scalar for 0-d parameters; the result is still a 0-d tensor
    cr.manual_seed(0)
    p = cr.poisson(cr.tensor(3.0))
    b = cr.binomial(cr.tensor(5.0), cr.tensor(0.5))
    assert p.shape == () and p.dtype == cr.float32 and float(p) >= 0
    assert b.shape == () and b.dtype == cr.float32 and 0 <= float(b) <= 5
