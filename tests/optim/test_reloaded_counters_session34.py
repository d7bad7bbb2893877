"""Optimizer counters after ``load_state_dict`` keep the dtype PyTorch gives them.

PyTorch casts every non-``step`` state tensor to a floating-point parameter's dtype when
loading: NAdam's ``mu_product`` (float32 while training) becomes float64 for a float64
parameter and is multiplied in float64 from then on. chainrule rounded it to float32 after
every step, so a resumed run drifted from PyTorch's (~1e-10 in mu_product).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def _resumed(m, name, kwargs, dtype_name):
    dtype = getattr(m, dtype_name)
    w = m.nn.Parameter(m.tensor([1.0, -2.0, 3.0], dtype=dtype))
    opt = getattr(m.optim, name)([w], **kwargs)
    for _ in range(3):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    w2 = m.nn.Parameter(w.detach().clone())
    opt2 = getattr(m.optim, name)([w2], **kwargs)
    opt2.load_state_dict(opt.state_dict())
    for _ in range(4):
        opt2.zero_grad()
        (w2**2).sum().backward()
        opt2.step()
    state = {k: (str(v.dtype), v.item()) for k, v in opt2.state[w2].items() if v.ndim == 0}
    return w2.detach().numpy(), state


@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("NAdam", {"lr": 0.1}),
        ("NAdam", {"lr": 0.1, "decoupled_weight_decay": True, "weight_decay": 0.1}),
        ("ASGD", {"lr": 0.1, "t0": 1}),
    ],
)
@pytest.mark.parametrize("default64", [False, True])
def test_resumed_counters_as_torch(name, kwargs, dtype_name, default64):
    try:
        if default64:
            torch.set_default_dtype(torch.float64)
            cr.set_default_dtype(cr.float64)
        want_w, want_state = _resumed(torch, name, kwargs, dtype_name)
        got_w, got_state = _resumed(cr, name, kwargs, dtype_name)
    finally:
        torch.set_default_dtype(torch.float32)
        cr.set_default_dtype(cr.float32)
    assert got_state == want_state  # dtypes and values, bit for bit
    np.testing.assert_allclose(
        got_w, want_w, rtol=0, atol=1e-6 if dtype_name == "float32" else 1e-15
    )
