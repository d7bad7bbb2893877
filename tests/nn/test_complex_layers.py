"""Complex layers as in PyTorch: initialisation draws both parts, dropout refuses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.mark.parametrize("lib", [torch, cr], ids=["torch", "chainrule"])
def test_complex_init_fills_both_parts(lib):
    lib.manual_seed(0)
    x = lib.empty(100_000, dtype=lib.cfloat)
    lib.nn.init.normal_(x, 1.0, 2.0)
    re, im = x.real.numpy(), x.imag.numpy()
    np.testing.assert_allclose([re.mean(), im.mean()], [1.0, 1.0], atol=0.03)
    np.testing.assert_allclose([re.std(), im.std()], [2 / np.sqrt(2)] * 2, rtol=0.02)
    lib.nn.init.uniform_(x, -1.0, 3.0)
    for part in (x.real.numpy(), x.imag.numpy()):
        assert -1.0 <= part.min() < -0.99 and 2.99 < part.max() < 3.0
    layer = lib.nn.Linear(100, 50, dtype=lib.cfloat)
    w = layer.weight.detach()
    bound = 1 / np.sqrt(100)  # kaiming_uniform(a=sqrt(5)) bound, per part
    for part in (w.real.numpy(), w.imag.numpy()):
        assert np.abs(part).max() <= bound and part.std() > 0.8 * bound / np.sqrt(3)


@pytest.mark.parametrize(
    "call",
    [
        lambda F, z: F.dropout(z, 0.5),
        lambda F, z: F.dropout2d(z.reshape(1, 4, 2, 2), 0.5),
    ],
    ids=["dropout", "dropout2d"],
)
def test_complex_dropout_refuses_as_torch(call):
    for lib in (torch, cr):
        z = lib.ones(4, 4, dtype=lib.cfloat)
        with pytest.raises(NotImplementedError):
            call(lib.nn.functional, z)
        # eval mode, p = 0 and p = 1 pass through (no mask is drawn)
        for p, training in ((0.0, True), (1.0, True), (0.5, False)):
            out = lib.nn.functional.dropout(z, p, training=training)
            assert out.dtype == z.dtype
