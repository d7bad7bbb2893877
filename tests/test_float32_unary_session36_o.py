"""Reduced-precision erf as PyTorch's CPU kernel, compared live (session 36, o).

PyTorch's CPU erf for float16 and bfloat16 computes in float32 with Abramowitz & Stegun's
7.1.26 form, ``1 - t e^(-x^2) (p1 t + ... + p5 t^5)``, ``t = 1 / (1 + p |x|)`` (fused
multiply-adds), and rounds once. chainrule took the correctly rounded erf, which differed
on 10% of float16 and 44% of bfloat16 inputs (up to 13,404 bfloat16 ulp near 0, where the
form's absolute error of about 1e-7 is many ulp); it now takes the same steps and is
bit-equal on every finite input of both dtypes. Each check runs on both kernel backends.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule._kernels import numba_available, use_backend

BACKENDS = [
    "numpy",
    pytest.param("numba", marks=pytest.mark.skipif(not numba_available(), reason="no numba")),
]


def _float16_all() -> np.ndarray:
    """Every finite float16 value, as float32."""
    v = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    return v[np.isfinite(v)].astype(np.float32)


def _bfloat16_all() -> np.ndarray:
    """Every finite bfloat16 value, as float32 (exact)."""
    v = (np.arange(2**16, dtype=np.uint32) << 16).view(np.float32)
    return v[np.isfinite(v)]


def _same(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Elementwise: the same float32 bit pattern (NaNs of any payload count as equal)."""
    return (got.view(np.int32) == want.view(np.int32)) | (np.isnan(got) & np.isnan(want))


DTYPES = ["float16", "bfloat16"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_reduced_erf_bit_equal_everywhere(dtype, backend):
    """erf on every finite float16/bfloat16 input, bit for bit as PyTorch's (signed zeros
    included), and the op keeps the dtype."""
    x = _float16_all() if dtype == "float16" else _bfloat16_all()
    want = torch.erf(torch.from_numpy(x).to(getattr(torch, dtype))).float().numpy()
    with use_backend(backend):
        out = cr.erf(cr.tensor(x).to(getattr(cr, dtype)))
    assert out.dtype == getattr(cr, dtype)
    got = out.float().numpy()
    assert _same(got, want).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_reduced_erf_near_zero_and_tails(dtype):
    """The values where the correctly rounded erf was furthest from PyTorch's: tiny inputs
    (the form leaves about 1e-9 at 0, which bfloat16 keeps), the saturation to +-1, NaN and
    +-inf; 0-d and non-contiguous inputs too."""
    x = np.array([0.0, -0.0, 1e-8, -1e-6, 3e-4, 0.01, -0.3, 2.5, -3.9, 4.0, 9.0], np.float32)
    x = np.concatenate([x, [np.nan, np.inf, -np.inf]]).astype(np.float32)
    td, cd = getattr(torch, dtype), getattr(cr, dtype)
    want = torch.erf(torch.from_numpy(x).to(td)).float().numpy()
    assert _same(cr.erf(cr.tensor(x).to(cd)).float().numpy(), want).all()
    strided = torch.erf(torch.from_numpy(x).to(td)[::2]).float().numpy()
    assert _same(cr.erf(cr.tensor(x).to(cd)[::2]).float().numpy(), strided).all()
    for v in (0.01, -0.3):
        got = cr.erf(cr.tensor(v, dtype=cd)).float().numpy()
        assert _same(
            np.atleast_1d(got), np.atleast_1d(torch.erf(torch.tensor(v, dtype=td)).float().numpy())
        ).all()


def test_float32_erf_unchanged():
    """float32 and float64 keep the correctly rounded erf (PyTorch's float32 erf is not the
    reduced form: the form would differ from it on most inputs)."""
    x = np.random.default_rng(0).uniform(-4, 4, 4096).astype(np.float32)
    want = torch.erf(torch.from_numpy(x)).numpy()
    assert _same(cr.erf(cr.tensor(x)).numpy(), want).mean() > 0.95
