"""Binary cross-entropy with an integer or bool target raises as PyTorch does (a target of
probabilities must be floating), instead of returning a value."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.mark.parametrize("target_dtype", ["int64", "int32", "bool"])
@pytest.mark.parametrize("with_logits", [True, False])
def test_integer_targets_raise_like_torch(target_dtype, with_logits):
    x = np.array([0.2, -1.0, 0.5], np.float32)
    t = np.array([0, 1, 1]).astype(target_dtype)
    tf = torch.nn.functional
    cf = cr.nn.functional
    if with_logits:
        calls = (
            lambda: tf.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(t)),
            lambda: cf.binary_cross_entropy_with_logits(cr.tensor(x), cr.tensor(t)),
        )
    else:
        calls = (
            lambda: tf.binary_cross_entropy(torch.tensor(x).sigmoid(), torch.tensor(t)),
            lambda: cf.binary_cross_entropy(cr.tensor(x).sigmoid(), cr.tensor(t)),
        )
    with pytest.raises(RuntimeError) as want:
        calls[0]()
    with pytest.raises(RuntimeError) as got:
        calls[1]()
    assert "binary_cross_entropy" in str(got.value)
    if not (with_logits and target_dtype == "bool"):  # torch's bool message is incidental
        assert str(want.value).split("(")[0].strip() in str(got.value)


def test_floating_targets_still_work():
    x = cr.tensor(np.array([0.2, -1.0], np.float32))
    t = cr.tensor(np.array([0.0, 1.0], np.float32))
    got = cr.nn.functional.binary_cross_entropy_with_logits(x, t)
    want = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor([0.2, -1.0]), torch.tensor([0.0, 1.0])
    )
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
