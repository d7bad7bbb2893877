"""Gaps found by the session-24 (batch i) drop-in programs (``sd_vae_blocks``,
``torchvision_box_coder_anchors``, ``dpm_solver_multistep``, ``controlnet_zero_conv``,
``speculative_decoding_sampling``), each checked against PyTorch.

- ``quantile`` / ``nanquantile`` computed the rank ``q * (n - 1)`` in float64 whatever the
  input's dtype. PyTorch computes it in the input's dtype, so for a float32 tensor the rank
  (and the interpolation weight) carries float32's rounding: ``quantile(arange(100001.),
  0.3)`` is 30000.002 in PyTorch, and was 30000.0 here (diffusers' dynamic thresholding takes
  ``torch.quantile`` of float32 samples).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("fn", ["quantile", "nanquantile"])
@pytest.mark.parametrize("q", [0.3, 0.123456, 0.995])
def test_quantile_float32_rank_rounds_in_float32(fn: str, q: float) -> None:
    a = np.arange(100_001, dtype=np.float32)
    want = getattr(torch, fn)(torch.tensor(a), q).item()
    got = getattr(chainrule, fn)(chainrule.tensor(a), q).item()
    assert got == want


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "nearest", "midpoint"])
def test_quantile_float32_tensor_q_along_dim(interpolation: str) -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 50_001)).astype(np.float32) * 100
    a[1, 7] = np.nan
    q = np.array([0.995, 0.3, 0.7071], dtype=np.float32)
    for fn in ("quantile", "nanquantile"):
        want = getattr(torch, fn)(
            torch.tensor(a), torch.tensor(q), dim=1, interpolation=interpolation
        )
        got = getattr(chainrule, fn)(
            chainrule.tensor(a), chainrule.tensor(q), dim=1, interpolation=interpolation
        )
        assert got.dtype == chainrule.float32
        # PyTorch's lerp fuses a multiply-add: the last bit may differ, the weight may not
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=0)
