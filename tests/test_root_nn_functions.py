"""Functions PyTorch has at the top level as well as in ``torch.nn.functional``
(``torch.conv2d``, ``torch.layer_norm``, ...): chainrule's root gives the same ones, with the
same leading parameters, called as PyTorch code calls them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(0)


def _pair(*shape):
    a = RNG.standard_normal(shape)
    return cr.tensor(a), torch.tensor(a)


@pytest.mark.parametrize("name", sorted(cr._root_names.NN_ROOT))
def test_root_function_is_the_functional_one_and_exists_in_torch(name):
    assert getattr(cr, name) is getattr(cr.nn.functional, name)
    assert hasattr(torch, name)
    assert callable(getattr(torch, name))


def test_positional_calls_as_pytorch_code_writes_them():
    x, tx = _pair(2, 3, 6, 6)
    w, tw = _pair(4, 3, 3, 3)
    cases = [
        (lambda m, a, b: m.conv2d(a, b, None, 1, 1), (x, w), (tx, tw)),
        (lambda m, a: m.max_pool2d(a, 2, 2, 0, 1, False), (x,), (tx,)),
        (lambda m, a: m.layer_norm(a, (6,), None, None, 1e-5), (x,), (tx,)),
        (lambda m, a: m.group_norm(a, 3, None, None, 1e-5), (x,), (tx,)),
        (lambda m, a: m.pixel_shuffle(a[:, :2].reshape(2, 4, 3, 6), 2), (x,), (tx,)),
        (lambda m, a: m.threshold(a, 0.1, -1.0), (x,), (tx,)),
        (lambda m, a, b: m.cosine_similarity(a, b, 1, 1e-8), (x, x * 2 + 1), (tx, tx * 2 + 1)),
    ]
    for fn, cr_args, t_args in cases:
        np.testing.assert_allclose(
            fn(cr, *cr_args).numpy(), fn(torch, *t_args).numpy(), rtol=1e-12, atol=1e-12
        )


def test_left_out_names_are_absent_rather_than_different():
    # torch's root forms of these differ from the F forms (argument order, int reductions)
    for name in ("embedding", "dropout", "batch_norm", "ctc_loss", "kl_div"):
        assert not hasattr(cr, name) or getattr(cr, name) is not getattr(cr.nn.functional, name)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
def test_pdist_with_identical_rows_matches_torch(p):
    """Two equal rows: distance 0 with the norm's zero subgradient, as PyTorch's pdist. (No
    tied maxima for p = inf: there chainrule splits the gradient among the ties, as
    ``torch.linalg.vector_norm`` does, where PyTorch's pdist gives each the full gradient.)"""
    a = np.array([[1.0, 2.0, 0.5], [1.0, 2.0, 0.5], [0.0, 1.0, -1.0], [3.0, -2.5, 0.25]])
    c, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    w = RNG.standard_normal(6)
    (cr.pdist(c, p) * cr.tensor(w)).sum().backward()
    (torch.pdist(t, p) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(cr.pdist(c, p).detach().numpy(), torch.pdist(t, p).detach().numpy())
    np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)
