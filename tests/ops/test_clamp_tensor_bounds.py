"""``clamp`` with Tensor bounds: PyTorch's gradient routing at ties and crossed bounds.

A tie (``x == min``) sends the whole gradient to ``x``; ``min`` receives it only where
``x < min < max``; ``max`` where ``x > max`` or ``max < min``. (Built from ``maximum`` and
``minimum``, a tie would split the gradient half and half.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("bounds", ["both", "min", "max"])
def test_values_and_gradients_match_torch_with_ties_and_crossed_bounds(bounds: str) -> None:
    # small integers make ties and min > max common; one NaN in x
    x = RNG.integers(0, 4, 60).astype(float)
    lo = RNG.integers(0, 4, 60).astype(float)
    hi = RNG.integers(0, 4, 60).astype(float)
    x[0] = np.nan
    w = RNG.standard_normal(60)
    results = []
    for lib in (cr, torch):
        a, b, c = (lib.tensor(v, requires_grad=True) for v in (x, lo, hi))
        kw = {"both": {"min": b, "max": c}, "min": {"min": b}, "max": {"max": c}}[bounds]
        y = lib.clamp(a, **kw)
        (y * lib.tensor(w)).sum().backward()
        grads = [t.grad.numpy() if t.grad is not None else np.zeros(60) for t in (a, b, c)]
        results.append([y.detach().numpy(), *grads])
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


def test_broadcast_bounds_promotion_and_derivative_checks() -> None:
    x = cr.tensor([[0.2, 1.5, 3.1], [2.2, -1.0, 0.7]], dtype=cr.float64, requires_grad=True)
    lo = cr.tensor([0.0, 1.0, 0.5], dtype=cr.float64, requires_grad=True)
    hi = cr.tensor([[1.0], [2.0]], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda a, b, c: cr.clamp(a, b, c), (x, lo, hi))
    tangents = tuple(cr.ones_like(t) for t in (x, lo, hi))
    _, jvp = cr.func.jvp(lambda a, b, c: cr.clamp(a, b, c), (x, lo, hi), tangents)
    expected = torch.func.jvp(
        lambda a, b, c: torch.clamp(a, b, c),
        tuple(torch.tensor(t.detach().numpy()) for t in (x, lo, hi)),
        tuple(torch.ones(t.shape, dtype=torch.float64) for t in (x, lo, hi)),
    )[1]
    np.testing.assert_array_equal(jvp.numpy(), expected.numpy())
    ints = cr.clamp(cr.tensor([1, 5, 9]), cr.tensor([2.5]))
    assert ints.dtype == cr.float32
    np.testing.assert_array_equal(ints.numpy(), [2.5, 5, 9])
