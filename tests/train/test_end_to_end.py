"""Slow end-to-end check: a small MLP learns real data (Fashion-MNIST if installed)."""

from __future__ import annotations

import time

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import Standardize
from chainrule.data.datasets import load_data
from chainrule.train import Trainer
from chainrule.utils.data import DataLoader, TensorDataset


def _data():
    try:
        x, y, xt, yt, _ = load_data("fashion-mnist")
        return "fashion-mnist", x[:12000], y[:12000], xt[:5000], yt[:5000], 0.75
    except (RuntimeError, FileNotFoundError, OSError):
        x, y, xt, yt, _ = load_data("mnist1d")
        return "mnist1d", x, y, xt, yt, 0.35  # chance is 10% on both


@pytest.mark.slow
def test_mlp_learns_real_data():
    start = time.perf_counter()
    cr.manual_seed(0)
    name, x, y, xt, yt, floor = _data()
    prep = Standardize()
    x, xt = prep.fit_transform(x), prep.transform(xt)
    model = nn.Sequential(nn.Linear(x.shape[1], 128), nn.ReLU(), nn.Linear(128, 10))
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    train = DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=64, shuffle=True)
    test = DataLoader(TensorDataset(cr.tensor(xt), cr.tensor(yt)), batch_size=1000)
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, verbose=False)
    epochs = max(1, -(-400 // len(train)))  # a few hundred steps
    hist = trainer.fit(train, epochs=epochs).history
    result = trainer.evaluate(test)
    assert hist["loss"][-1] < hist["loss"][0] or epochs == 1
    assert result["acc"] > floor, f"{name}: test accuracy {result['acc']:.3f} <= {floor}"
    assert np.isfinite(result["loss"])
    assert time.perf_counter() - start < 120
