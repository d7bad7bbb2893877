"""Batch norm hands its batch statistics to the caller in a named ``BatchStats`` (issue 10,
item 6: they used to be appended to a list argument), and the running averages it updates
still match PyTorch's."""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr
from chainrule.nn.functional.normalization import normalize_axes
from chainrule.ops.normalization import BatchNormFn, BatchStats


def test_batch_norm_fills_named_stats():
    x = np.random.default_rng(0).normal(size=(6, 3, 4)).astype(np.float64)
    stats = BatchStats()
    BatchNormFn.apply(cr.tensor(x), None, None, 1e-5, stats)
    np.testing.assert_allclose(stats.mean.reshape(3), x.mean(axis=(0, 2)))
    np.testing.assert_allclose(stats.var.reshape(3), x.var(axis=(0, 2)))
    assert stats.unbiased_var is None and stats.count is None


def test_normalize_axes_fills_named_stats():
    x = np.random.default_rng(1).normal(size=(2, 5)).astype(np.float64)
    stats = BatchStats()
    normalize_axes(cr.tensor(x), (1,), 1e-5, stats)
    np.testing.assert_allclose(stats.mean, x.mean(axis=1, keepdims=True))
    np.testing.assert_allclose(stats.var, x.var(axis=1, keepdims=True))


def test_running_statistics_match_torch():
    x = np.random.default_rng(2).normal(size=(8, 3, 5)).astype(np.float64)
    rm, rv = cr.zeros(3, dtype=cr.float64), cr.ones(3, dtype=cr.float64)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for _ in range(2):
        cr.nn.functional.batch_norm(cr.tensor(x), rm, rv, training=True, momentum=0.3)
        torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=0.3)
    np.testing.assert_allclose(rm._data, trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv._data, trv.numpy(), rtol=1e-12)
