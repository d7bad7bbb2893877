"""cr.nn.utils: gradient clipping and parameter/vector conversion vs torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)


def _params(seed=0):
    rng = np.random.default_rng(seed)
    arrs = [rng.standard_normal(s) * 3 for s in [(3, 4), (5,), (2, 2, 2)]]
    ps, tps = [], []
    for a in arrs:
        p, tp = cr.nn.Parameter(cr.tensor(a)), torch.nn.Parameter(torch.tensor(a))
        g = rng.standard_normal(a.shape) * 2
        p.grad, tp.grad = cr.tensor(g), torch.tensor(g)
        ps.append(p)
        tps.append(tp)
    return ps, tps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ps, tps = _params()
    total = clip_grad_norm_(ps, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    assert total.item() == pytest.approx(ttotal.item(), rel=1e-10)
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-10)


def test_clip_grad_norm_nonfinite_and_value():
    ps, _ = _params()
    ps[0].grad.data[0, 0] = np.nan
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    ps, tps = _params(1)
    clip_grad_value_(ps, 0.7)
    torch.nn.utils.clip_grad_value_(tps, 0.7)
    for p, tp in zip(ps, tps):
        np.testing.assert_array_equal(p.grad.data, tp.grad.numpy())


def test_parameters_vector_roundtrip():
    ps, tps = _params(2)
    v = parameters_to_vector(ps)
    np.testing.assert_array_equal(v.data, torch.nn.utils.parameters_to_vector(tps).detach())
    vector_to_parameters(v * 2, ps)
    np.testing.assert_array_equal(ps[1].data, 2 * tps[1].detach().numpy())
    with pytest.raises(RuntimeError, match="is invalid for input of size"):  # as torch's
        vector_to_parameters(cr.zeros(3), ps)
