"""Shared helpers: the same small problem built in chainrule and in torch."""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr

RNG = np.random.default_rng(0)
W0 = RNG.normal(size=(3, 4))
V0 = RNG.normal(size=(4,))
T0 = RNG.normal(size=(3,))
U0 = RNG.normal(size=(2,))  # never used in the loss: its grad stays None


def cr_params():
    return [cr.tensor(a.copy(), dtype=cr.float64, requires_grad=True) for a in (W0, V0, U0)]


def torch_params():
    return [torch.tensor(a.copy(), dtype=torch.float64, requires_grad=True) for a in (W0, V0, U0)]


def loss_fn(w, v, t, lib):
    """A smooth non-quadratic loss: ||W v - t||^2 + 0.05 sum(v^4) + 0.1 sum(W^2)."""
    r = w @ v - t
    return (r * r).sum() + 0.05 * (v**4).sum() + 0.1 * (w * w).sum()


def cr_loss(params):
    w, v, _ = params
    return loss_fn(w, v, cr.tensor(T0), cr)


def torch_loss(params):
    w, v, _ = params
    return loss_fn(w, v, torch.tensor(T0), torch)


def to_numpy_state_dict(sd):
    """torch state_dict -> arrays and numbers (what a safetensors + JSON file holds)."""
    state = {}
    for k, s in sd["state"].items():
        state[k] = {
            n: (v.item() if v.ndim == 0 else v.detach().numpy().copy())
            if isinstance(v, torch.Tensor)
            else v
            for n, v in s.items()
        }
    return {"state": state, "param_groups": [dict(g) for g in sd["param_groups"]]}
