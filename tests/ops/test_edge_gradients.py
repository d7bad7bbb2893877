"""Gradients at kinks, ties and zeros follow PyTorch's conventions (no NaN where torch has none)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

X = np.array([0.0, -1.0, 2.0, 2.0, 0.5, 0.0])
Y = np.array([0.0, 1.0, 2.0, -1.0, 0.5, 3.0])

EDGES = {
    "pow0": lambda x, y: x**0,
    "pow0_float": lambda x, y: x**0.0,
    "pow_tensor_zero_exp": lambda x, y: x.abs() ** (y * 0),
    "pow2_at_0": lambda x, y: x**2,
    "pow1": lambda x, y: x**1,
    "abs_at_0": lambda x, y: x.abs(),
    "relu_at_0": lambda x, y: x.relu(),
    "clamp_at_bounds": lambda x, y: x.clamp(0.0, 2.0),
    "max_ties": lambda x, y: x.max(),
    "amax_ties_dim": lambda x, y: x.reshape(2, 3).amax(0),
    "maximum_ties": lambda x, y: (
        torch.maximum(x, y) if isinstance(x, torch.Tensor) else cr.maximum(x, y)
    ),
    "minimum_ties": lambda x, y: (
        torch.minimum(x, y) if isinstance(x, torch.Tensor) else cr.minimum(x, y)
    ),
    "norm_at_zero": lambda x, y: (x * 0).norm(),
    "norm_dim_zero_row": lambda x, y: (
        (
            x * torch.tensor([0.0, 0, 0, 1, 1, 1], dtype=x.dtype)
            if isinstance(x, torch.Tensor)
            else x * cr.tensor(np.array([0.0, 0, 0, 1, 1, 1]))
        )
        .reshape(2, 3)
        .norm(dim=1)
    ),
    "prod_two_zeros": lambda x, y: x.prod(),
    "where_nan_branch_safe": lambda x, y: (
        (x.abs() + 1).log().where(x > 0, y)
        if isinstance(x, cr.Tensor)
        else torch.where(x > 0, (x.abs() + 1).log(), y)
    ),
}


@pytest.mark.parametrize("name", sorted(EDGES))
def test_edge_gradient_matches_torch(name):
    fn = EDGES[name]
    x, y = cr.tensor(X, requires_grad=True), cr.tensor(Y, requires_grad=True)
    tx, ty = torch.tensor(X, requires_grad=True), torch.tensor(Y, requires_grad=True)
    out, tout = fn(x, y), fn(tx, ty)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    for v, tv in ((x, tx), (y, ty)):
        if tv.grad is None:
            continue
        g = v.grad.numpy() if v.grad is not None else np.zeros(v.shape)
        np.testing.assert_allclose(g, tv.grad.numpy(), rtol=1e-12, atol=0, err_msg=name)


@pytest.mark.parametrize(
    "idx",
    [
        (0, slice(0, 1), [0, 0]),
        (1, slice(None), [2, 0, 2]),
        (Ellipsis, 1, [0, 1]),
        (0, None, [1, 2]),
    ],
)
def test_int_beside_index_array_follows_torch(idx):
    """An int index selects first (basic indexing), as in PyTorch, not NumPy's advanced rule."""
    a = np.arange(24.0).reshape(2, 3, 4)
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    tidx = tuple(torch.tensor(i) if isinstance(i, list) else i for i in idx)
    out, tout = x[idx], tx[tidx]
    assert out.shape == tuple(tout.shape)
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    up = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(cr.tensor(up))
    tout.backward(torch.tensor(up))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
