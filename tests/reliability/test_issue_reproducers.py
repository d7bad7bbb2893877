"""The silent-wrong-value reproducers of issue 9 (sections 3 and 5), each against PyTorch.

The differential table (test_bad_inputs_vs_torch) covers errors and values; these tests
cover what a table cannot: gradients through wrapped indices, writes through views,
implemented options (``scale_grad_by_freq``, ``create_graph``) and seeding.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.data)


def test_gather_family_rejects_negative_indices_instead_of_wrapping() -> None:
    x = cr.arange(6.0).reshape(2, 3)
    idx = cr.tensor([[-1], [0]])
    for call in (
        lambda: cr.gather(x, 1, idx),
        lambda: cr.scatter(x, 1, idx, 1.0),
        lambda: cr.scatter_add(x, 1, idx, x),
        lambda: cr.index_select(x, 1, cr.tensor([-1])),
    ):
        with pytest.raises(IndexError, match="out of (DATA )?bounds"):
            call()


def test_take_along_dim_wraps_negative_indices_like_torch_with_the_same_gradient() -> None:
    a = np.arange(6.0).reshape(2, 3)
    idx = np.array([[-1], [0]])
    grads = []
    for lib in (cr, torch):
        x = lib.tensor(a, requires_grad=True)
        y = lib.take_along_dim(x, lib.tensor(idx), 1)
        (y * lib.tensor([[2.0], [3.0]], dtype=lib.float64)).sum().backward()
        grads.append((_np(y), _np(x.grad)))
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])


def test_gather_output_has_the_index_shape() -> None:
    """NumPy's take_along_axis broadcasts; torch.gather reads x[:idx.shape[0]] instead."""
    a = np.arange(6.0).reshape(2, 3)
    idx = np.array([[1, 0]])
    got = cr.gather(cr.tensor(a), 0, cr.tensor(idx))
    want = torch.gather(torch.tensor(a), 0, torch.tensor(idx))
    np.testing.assert_array_equal(_np(got), _np(want))


def test_view_is_a_view_or_raises() -> None:
    x = cr.zeros(2, 3)
    x.view(6)[1] = 5.0
    assert x[0, 1].item() == 5.0
    with pytest.raises(RuntimeError, match=r"Use \.reshape"):
        x.t().view(6)
    assert x.t().reshape(6).shape == (6,)


def test_flip_and_repeat_copy_like_torch() -> None:
    x = cr.ones(2, 3)
    x.flip(0).mul_(2.0)
    x.repeat(1, 1).mul_(2.0)
    assert float(x.sum().item()) == 6.0


def test_embedding_scale_grad_by_freq_matches_torch() -> None:
    w = np.random.default_rng(0).standard_normal((4, 2))
    idx = np.array([[0, 1, 1], [3, 1, 0]])
    grads = []
    for lib in (cr, torch):
        weight = lib.tensor(w, requires_grad=True)
        out = lib.nn.functional.embedding(lib.tensor(idx), weight, scale_grad_by_freq=True)
        (out * lib.arange(12.0, dtype=lib.float64).reshape(2, 3, 2)).sum().backward()
        grads.append(_np(weight.grad))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
    layer = cr.nn.Embedding(4, 2, scale_grad_by_freq=True)
    layer(cr.tensor([1, 1])).sum().backward()
    np.testing.assert_allclose(_np(layer.weight.grad)[1], [1.0, 1.0])


def test_embedding_sparse_gives_a_sparse_grad() -> None:
    layer = cr.nn.Embedding(3, 2, sparse=True)
    layer(cr.tensor([2, 0, 2])).sum().backward()
    assert layer.weight.grad.is_sparse
    np.testing.assert_allclose(_np(layer.weight.grad.to_dense()), [[1, 1], [0, 0], [2, 2]])


def test_jacobian_create_graph() -> None:
    a = np.array([0.3, -0.7, 1.1])
    outs = []
    for lib in (cr, torch):
        x = lib.tensor(a, requires_grad=True)
        f = lambda t: (t**3).sum() * t  # noqa: E731
        detached = lib.autograd.functional.jacobian(f, x)
        assert not detached.requires_grad
        jac = lib.autograd.functional.jacobian(f, x, create_graph=True)
        jac.sum().backward()
        outs.append((_np(detached), _np(x.grad)))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12)


def test_negative_seed_wraps_like_torch_and_is_reproducible() -> None:
    assert cr.manual_seed(-5).initial_seed() == torch.manual_seed(-5).initial_seed()
    a = cr.rand(3)
    cr.manual_seed(-5)
    np.testing.assert_array_equal(_np(a), _np(cr.rand(3)))


def test_where_with_only_a_condition_is_nonzero_as_tuple() -> None:
    a = np.array([[0.0, 1.0], [2.0, 0.0]])
    got = cr.where(cr.tensor(a) > 0)
    want = torch.where(torch.tensor(a) > 0)
    assert len(got) == len(want) == 2
    for g, w in zip(got, want):
        np.testing.assert_array_equal(_np(g), _np(w))


def test_std_var_and_norm_gradients_at_the_issue_points() -> None:
    for op in ("std", "var"):
        x = cr.ones(3, requires_grad=True)
        getattr(x, op)().backward()
        assert np.array_equal(_np(x.grad), np.zeros(3))
    x = cr.zeros(3, requires_grad=True)
    x.norm().backward()
    assert np.array_equal(_np(x.grad), np.zeros(3))


def test_batchnorm_negative_eps_raises_in_forward_like_torch() -> None:
    bn = cr.nn.BatchNorm1d(3, eps=-1)
    with pytest.raises(ValueError, match="eps"):
        bn(cr.ones(2, 3))
