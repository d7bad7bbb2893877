"""Kumaraswamy's variance ``E[X^2] - E[X]^2`` cancels to rounding for a large
``concentration1`` (and goes negative, in torch too): chainrule repeats torch's formula and,
for float32, its rounding (see distributions/kumaraswamy.py), so the values, negative ones
included, are torch's."""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr

VALUES = np.geomspace(1e-3, 1e8, 45)


def test_float32_variance_matches_torch_rounding_and_sign():
    a, b = (v.astype(np.float32) for v in np.meshgrid(VALUES, VALUES))
    ref = torch.distributions.Kumaraswamy(torch.tensor(a), torch.tensor(b)).variance.numpy()
    got = cr.distributions.Kumaraswamy(cr.tensor(a), cr.tensor(b)).variance.numpy()
    assert (ref < 0).sum() > 20  # torch's own variance goes negative there
    assert (got == ref).mean() > 0.97  # bit for bit (0.59 with chainrule's float32 exp)
    assert (np.sign(got) != np.sign(ref)).sum() <= 3
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-6)


def test_variance_gradient_matches_torch():
    a = np.array([0.5, 2.0, 30.0, 1e3], dtype=np.float64)
    b = np.array([3.0, 0.7, 2.0, 5.0], dtype=np.float64)
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
    torch.distributions.Kumaraswamy(ta, tb).variance.sum().backward()
    ca, cb = (cr.tensor(v, requires_grad=True) for v in (a, b))
    v = cr.distributions.Kumaraswamy(ca, cb).variance
    assert v.dtype == cr.float64
    v.sum().backward()
    np.testing.assert_allclose(ca.grad.numpy(), ta.grad.numpy(), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(cb.grad.numpy(), tb.grad.numpy(), rtol=1e-6, atol=1e-12)
