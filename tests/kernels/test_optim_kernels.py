"""The fused Adam/AdamW update, against PyTorch under both kernel paths, and bit for bit
against the NumPy sequence it replaces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule._kernels import jit, optim

OPTS = [
    ("Adam", {}),
    ("Adam", {"weight_decay": 0.1, "maximize": True}),
    ("AdamW", {"weight_decay": 0.05}),
    ("Adam", {"amsgrad": True}),
]


def _run(m, name, kw, dtype, steps=4):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((6, 7)).astype(dtype)
    grads = [rng.standard_normal((6, 7)).astype(dtype) for _ in range(steps)]
    w = m.tensor(w0.copy(), requires_grad=True)
    opt = getattr(m.optim, name)([w], lr=0.01, **kw)
    for g in grads:
        w.grad = m.tensor(g)
        opt.step()
    return w.detach().numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("name", "kw"), OPTS)
def test_adam_vs_torch(kernel_backend, name, kw, dtype):
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(_run(cr, name, kw, dtype), _run(torch, name, kw, dtype), **tol)


@pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_update_is_bit_identical(dtype):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(5000).astype(dtype) for _ in range(4)]
    arrays[3] = np.abs(arrays[3])  # exp_avg_sq >= 0
    t = np.dtype(dtype).type
    scalars = (t(0.1), t(0.999), t(1 - 0.999), t(0.0447), t(1e-8), t(0.0123))
    a = [x.copy() for x in arrays]
    b = [x.copy() for x in arrays]
    optim.adam_step.compiled(*a, *scalars)
    optim.adam_step.fallback(*b, *scalars)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")
def test_training_steps_equal_under_both_paths(monkeypatch):
    monkeypatch.setattr(jit, "MIN_PARALLEL_SIZE", 1)
    out = {}
    for be in ("numpy", "numba"):
        with jit.use_backend(be):
            out[be] = _run(cr, "AdamW", {"weight_decay": 0.01}, "float32", steps=6)
    np.testing.assert_array_equal(out["numpy"], out["numba"])
