"""``F.embedding(max_norm=...)`` renormalises the looked-up rows in place for every
``norm_type`` PyTorch accepts (0, 1, 2, inf, negative, fractional), then looks them up."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.mark.parametrize("norm_type", [0.0, 1.0, 2.0, 3.5, float("inf"), -1.0])
def test_max_norm_renormalises_like_torch(norm_type: float) -> None:
    w = np.random.default_rng(0).standard_normal((5, 3))
    results = []
    for lib in (cr, torch):
        weight = lib.tensor(w.copy(), requires_grad=True)
        out = lib.nn.functional.embedding(
            lib.tensor([1, 2, 1]), weight, max_norm=1.0, norm_type=norm_type
        )
        out.sum().backward()
        results.append((out.detach().numpy(), weight.detach().numpy(), weight.grad.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
