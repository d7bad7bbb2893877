"""cr.models.transformer_classifier: shapes, padding, and that it learns."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import models


def test_signal_input_shapes_and_errors():
    m = models.get_model(
        "transformer_classifier",
        num_classes=10,
        in_channels=2,
        d_model=16,
        nhead=2,
        num_layers=1,
        max_len=8,
    )
    assert m(cr.randn(3, 2, 8)).shape == (3, 10)
    one = models.get_model(
        "transformer_classifier", in_channels=1, d_model=16, nhead=2, num_layers=1
    )
    assert one(cr.randn(3, 40)).shape == (3, 10)  # (N, L): one feature per step
    with pytest.raises(ValueError, match="expected input"):
        m(cr.randn(3, 5, 8))
    with pytest.raises(ValueError, match="max_len"):
        m(cr.randn(3, 2, 9))
    assert len(m.encoder.layers) == 1 and m.encoder.layers[0].norm_first


def test_token_input_ignores_padding():
    cr.manual_seed(0)
    m = models.transformer_classifier(
        num_classes=3, vocab_size=20, d_model=16, nhead=2, num_layers=2
    ).double()
    m.eval()
    short = m(cr.tensor(np.array([[3, 4, 5]]))).data
    padded = m(cr.tensor(np.array([[3, 4, 5, 0, 0, 0]]))).data
    np.testing.assert_allclose(short, padded, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="token ids"):
        m(cr.randn(2, 5))


def test_learns_a_sequence_rule():
    """Label = whether the first half of the signal has the larger sum (needs the positions)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 1, 8)).astype(np.float32)
    y = (x[:, 0, :4].sum(1) > x[:, 0, 4:].sum(1)).astype(np.int64)
    cr.manual_seed(0)
    m = models.transformer_classifier(
        num_classes=2, d_model=16, nhead=2, num_layers=1, dim_feedforward=32, max_len=8
    )
    opt = cr.optim.Adam(m.parameters(), lr=3e-3)
    xt, yt = cr.tensor(x), cr.tensor(y)
    for _ in range(60):
        loss = cr.nn.functional.cross_entropy(m(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = (m(xt).detach().numpy().argmax(1) == y).mean()
    assert acc >= 0.9, (acc, float(loss.data))
