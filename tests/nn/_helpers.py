"""Shared helpers for nn tests: compare chainrule against torch in float64."""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr


def pair(*shape, seed=0, scale=1.0):
    """The same float64 data as a chainrule leaf and a torch leaf."""
    arr = np.random.default_rng(seed).standard_normal(shape) * scale
    return cr.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


def close(a, b, tol=1e-10):
    a = a.data if isinstance(a, cr.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, (torch.Tensor, cr.Tensor)) else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def close_rel(a, b, tol=1e-9):
    """Max absolute error relative to 1 + max|b| (conv/pool outputs span many magnitudes)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    err = np.abs(a - b).max() / (1 + np.abs(b).max())
    assert err < tol, err


def copy_params(cr_mod, torch_mod):
    """Copy torch's parameters/buffers into the chainrule module (by state_dict name)."""
    sd = {k: cr.tensor(v.detach().numpy().copy()) for k, v in torch_mod.state_dict().items()}
    cr_mod.load_state_dict(sd)
