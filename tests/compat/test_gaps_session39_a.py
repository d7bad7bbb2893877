"""Gaps found by the session-39 drop-in programs (helper a: recommenders, speech front-ends,
graph pooling, flows, RL augmentation, implicit shapes).

Each test pins one fix against the installed PyTorch: a batch norm whose ``num_features`` is a
shape rather than an int (SincNet's ``nn.BatchNorm1d([self.input_dim], momentum=0.05)``, which
``torch.empty`` accepts), checked by the element count of its running statistics or weight.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _both() -> list[Any]:
    return [torch, cr]


@pytest.mark.parametrize("track", [True, False])
@pytest.mark.parametrize("num_features", [[5], (5,)])
def test_batch_norm_num_features_as_shape(num_features: Any, track: bool) -> None:
    """``BatchNorm1d([5])``: the same repr, parameters, training and eval outputs and
    gradients as PyTorch's."""
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    out = {}
    for lib in _both():
        bn = lib.nn.BatchNorm1d(num_features, momentum=0.05, track_running_stats=track)
        t = lib.tensor(x, requires_grad=True)
        y = bn(t)
        (y * lib.arange(5.0)).sum().backward()
        bn.eval()
        z = bn(lib.tensor(x + 1.0))
        out[lib.__name__] = (repr(bn), bn.weight.shape, y.detach().numpy(), t.grad.numpy(),
                             z.detach().numpy())  # fmt: skip
    want, got = out["torch"], out["chainrule"]
    assert got[0] == want[0]
    assert tuple(got[1]) == tuple(want[1])
    for a, b in zip(got[2:], want[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_shape_features_channel_mismatch(affine: bool) -> None:
    """A wrong channel count against a ``[5]``-shaped batch norm: PyTorch's RuntimeError,
    naming the statistics' element count (not the list)."""
    errors = {}
    for lib in _both():
        bn = lib.nn.BatchNorm1d([5], affine=affine)
        with pytest.raises(RuntimeError) as info:
            bn(lib.ones(4, 3))
        errors[lib.__name__] = str(info.value)
    assert errors["chainrule"].startswith("running_mean should contain 3 elements not 5")
    assert errors["torch"].startswith("running_mean should contain 3 elements not 5")


def test_batch_norm_shape_features_without_stats_or_affine() -> None:
    """With neither statistics nor affine parameters PyTorch normalises any channel count;
    so does chainrule (nothing to check the count against)."""
    x = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    got = cr.nn.BatchNorm1d([5], affine=False, track_running_stats=False)(cr.tensor(x))
    want = torch.nn.BatchNorm1d([5], affine=False, track_running_stats=False)(torch.tensor(x))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)
