"""Similarity/distance functions and layers, ranking losses, and padding layers vs PyTorch
(values and input gradients, float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F

RNG = np.random.default_rng(0)


def _both(fn_cr, fn_torch, *arrays, grad=True):
    xs = [cr.tensor(a, requires_grad=grad) for a in arrays]
    ts = [torch.tensor(a, requires_grad=grad) for a in arrays]
    out, ref = fn_cr(*xs), fn_torch(*ts)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    if grad:
        up = RNG.standard_normal(ref.shape)
        (out * cr.tensor(up)).sum().backward()
        (ref * torch.tensor(up)).sum().backward()
        for x, t in zip(xs, ts):
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("dim", [1, -1, 0])
def test_cosine_similarity(dim):
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    _both(
        lambda x, y: F.cosine_similarity(x, y, dim),
        lambda x, y: torch.nn.functional.cosine_similarity(x, y, dim),
        a,
        b,
    )


def test_cosine_similarity_zero_vector_and_tiny_norm_like_torch():
    a = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    b = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]])
    _both(F.cosine_similarity, torch.nn.functional.cosine_similarity, a, b)
    tiny = F.cosine_similarity(cr.tensor([[1e-9, 0.0]]), cr.tensor([[1.0, 0.0]]))
    assert tiny.item() == pytest.approx(0.1)
    _both(
        lambda x, y: cr.nn.CosineSimilarity(dim=0)(x, y),
        lambda x, y: torch.nn.CosineSimilarity(dim=0)(x, y),
        a,
        b,
    )


@pytest.mark.parametrize("p,keepdim", [(2.0, False), (1.0, True), (3.0, False)])
def test_pairwise_distance(p, keepdim):
    a, b = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    _both(
        lambda x, y: cr.nn.PairwiseDistance(p, keepdim=keepdim)(x, y),
        lambda x, y: torch.nn.PairwiseDistance(p, keepdim=keepdim)(x, y),
        a,
        b,
    )
    # identical points: eps keeps the gradient finite, as in PyTorch
    _both(
        lambda x: F.pairwise_distance(x, x.detach()),
        lambda x: torch.nn.functional.pairwise_distance(x, x.detach()),
        a,
    )


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_triplet_margin_loss(swap, reduction):
    a, p, n = (RNG.standard_normal((5, 3)) for _ in range(3))
    _both(
        lambda x, y, z: cr.nn.TripletMarginLoss(0.5, swap=swap, reduction=reduction)(x, y, z),
        lambda x, y, z: torch.nn.TripletMarginLoss(0.5, swap=swap, reduction=reduction)(x, y, z),
        a,
        p,
        n,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_margin_ranking_loss(reduction):
    x1, x2 = RNG.standard_normal(6), RNG.standard_normal(6)
    y = np.array([1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
    _both(
        lambda a, b: cr.nn.MarginRankingLoss(0.2, reduction=reduction)(a, b, cr.tensor(y)),
        lambda a, b: torch.nn.MarginRankingLoss(0.2, reduction=reduction)(a, b, torch.tensor(y)),
        x1,
        x2,
    )
    with pytest.raises(ValueError, match="reduction"):
        F.margin_ranking_loss(cr.ones(2), cr.ones(2), cr.ones(2), reduction="avg")


@pytest.mark.parametrize(
    "name,args,shape",
    [
        ("ReflectionPad2d", ((1, 2, 0, 3),), (2, 3, 4, 5)),
        ("ReplicationPad2d", (2,), (2, 3, 4, 5)),
        ("CircularPad2d", ((1, 1, 2, 0),), (2, 3, 4, 5)),
        ("ConstantPad2d", ((1, 0, 2, 1), 0.5), (3, 4, 5)),
        ("ReflectionPad1d", (2,), (2, 3, 5)),
        ("ReplicationPad1d", ((0, 3),), (2, 3, 5)),
        ("CircularPad1d", (1,), (3, 5)),
        ("ConstantPad1d", (2, -1.0), (2, 5)),
        ("ConstantPad3d", (1, 2.0), (1, 2, 2, 3, 2)),
        ("ZeroPad1d", ((1, 2),), (2, 3, 4)),
    ],
)
def test_padding_layers(name, args, shape):
    x = RNG.standard_normal(shape)
    _both(getattr(cr.nn, name)(*args), getattr(torch.nn, name)(*args), x)


def test_padding_layer_errors():
    with pytest.raises(ValueError, match="4 ints"):
        cr.nn.ReflectionPad2d((1, 2))
    with pytest.raises(RuntimeError, match="Padding length should be less than"):
        cr.nn.ReflectionPad2d(1)(cr.ones(4))  # F.pad's check, as torch's layer
    with pytest.raises(ValueError, match="3-d .* or 4-d"):
        cr.nn.CircularPad2d(1)(cr.ones(4))  # the circular layers check the rank themselves
