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
@pytest.mark.parametrize(
    "mode", [0, optim.MAXIMIZE | optim.WEIGHT_DECAY, optim.DECAY], ids=["plain", "l2", "decay"]
)
@pytest.mark.parametrize("w", [0.1, 0.75], ids=["lerp_low", "lerp_high"])
def test_compiled_update_is_bit_identical(dtype, mode, w):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(5000).astype(dtype) for _ in range(4)]
    arrays[3] = np.abs(arrays[3])  # exp_avg_sq >= 0
    # (1 - beta1, beta2, 1 - beta2, bc2_sqrt, eps, -step_size, weight_decay, decay, 1): Python
    # floats, rounded by the kernel (and its fallback) to the arrays' dtype
    scalars = (w, 0.999, 1 - 0.999, 0.0447, 1e-8, -0.0123, 0.01, 1 - 1e-4, 1.0)
    a = [x.copy() for x in arrays]
    b = [x.copy() for x in arrays]
    optim.adam_step.compiled(*a, scalars, mode)
    optim.adam_step.fallback(*b, scalars, mode)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    c = [x.copy() for x in arrays]  # the scalars as an array of the dtype: the same bits
    optim.adam_step.compiled(*c, np.array(scalars, dtype), mode)
    for x, y in zip(a, c):
        np.testing.assert_array_equal(x, y)


@pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")
def test_training_steps_equal_under_both_paths(monkeypatch):
    monkeypatch.setattr(jit, "MIN_PARALLEL_SIZE", 1)
    out = {}
    for be in ("numpy", "numba"):
        with jit.use_backend(be):
            out[be] = _run(cr, "AdamW", {"weight_decay": 0.01}, "float32", steps=6)
    np.testing.assert_array_equal(out["numpy"], out["numba"])
