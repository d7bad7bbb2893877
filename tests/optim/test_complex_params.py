"""Optimizers on complex parameters update the real and imaginary parts as separate real
parameters (PyTorch's ``view_as_real``), and keep complex state of the parameter's shape."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

OPTIMIZERS = {
    "SGD": {"lr": 0.1, "momentum": 0.9},
    "Adam": {"lr": 0.1},
    "AdamW": {"lr": 0.1, "weight_decay": 0.1},
    "Adamax": {"lr": 0.1},
    "NAdam": {"lr": 0.1},
    "RAdam": {"lr": 0.1},
    "RMSprop": {"lr": 0.05, "momentum": 0.5},
    "Adagrad": {"lr": 0.1},
    "Adadelta": {"lr": 1.0},
    "ASGD": {"lr": 0.1},
    "Rprop": {"lr": 0.1},
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_complex_parameter_updates_match_torch(name: str) -> None:
    rng = np.random.default_rng(0)
    w0 = (rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))).astype(np.complex64)
    grads = [
        (rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))).astype(np.complex64)
        for _ in range(8)
    ]
    results = []
    for lib in (cr, torch):
        p = lib.nn.Parameter(lib.tensor(w0.copy()))
        opt = getattr(lib.optim, name)([p], **OPTIMIZERS[name])
        for g in grads:
            p.grad = lib.tensor(g)
            opt.step()
        state = opt.state_dict()["state"][0]
        shapes = {
            k: (tuple(v.shape), str(v.dtype).replace("torch.", ""))
            for k, v in state.items()
            if hasattr(v, "shape") and v.ndim > 0
        }
        results.append((p.detach().numpy(), shapes))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=2e-5, atol=1e-6)
    assert results[0][1] == results[1][1]
