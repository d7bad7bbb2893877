"""The weight table of ``nn.Embedding`` and ``nn.EmbeddingBag`` (built by one helper of
``nn/layers/embedding.py``): a given ``_weight`` must have the table's shape (torch's
AssertionError and message), ``_freeze`` stops its gradient, a negative ``padding_idx`` is
counted from the end and its row is zero after ``reset_parameters``, as in torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.mark.parametrize("layer", ["Embedding", "EmbeddingBag"])
def test_weight_of_another_shape_is_refused_as_torch(layer):
    with pytest.raises(AssertionError, match="Shape of weight does not match") as want:
        getattr(torch.nn, layer)(4, 3, _weight=torch.zeros(3, 4))
    with pytest.raises(AssertionError, match="Shape of weight does not match") as got:
        getattr(cr.nn, layer)(4, 3, _weight=cr.zeros(3, 4))
    assert str(got.value).startswith(str(want.value))


@pytest.mark.parametrize("layer", ["Embedding", "EmbeddingBag"])
def test_given_weight_is_kept_and_requires_grad_as_torch(layer):
    values = np.arange(12.0).reshape(4, 3)
    t = getattr(torch.nn, layer)(4, 3, _weight=torch.tensor(values))
    c = getattr(cr.nn, layer)(4, 3, _weight=cr.tensor(values))
    np.testing.assert_array_equal(c.weight.detach().numpy(), t.weight.detach().numpy())
    assert c.weight.requires_grad == t.weight.requires_grad


@pytest.mark.parametrize("freeze", [True, False])
def test_embedding_freeze_as_torch(freeze):
    t = torch.nn.Embedding(4, 3, _weight=torch.ones(4, 3), _freeze=freeze)
    c = cr.nn.Embedding(4, 3, _weight=cr.ones(4, 3), _freeze=freeze)
    assert c.weight.requires_grad == t.weight.requires_grad == (not freeze)
    fresh_t, fresh_c = (
        torch.nn.Embedding(4, 3, _freeze=freeze),
        cr.nn.Embedding(4, 3, _freeze=freeze),
    )
    assert fresh_c.weight.requires_grad == fresh_t.weight.requires_grad


@pytest.mark.parametrize("layer", ["Embedding", "EmbeddingBag"])
def test_negative_padding_idx_counts_from_the_end_and_zeroes_its_row(layer):
    t = getattr(torch.nn, layer)(5, 3, padding_idx=-2, dtype=torch.float64)
    c = getattr(cr.nn, layer)(5, 3, padding_idx=-2, dtype=cr.float64)
    assert c.padding_idx == t.padding_idx == 3
    assert c.weight.shape == t.weight.shape
    assert c.weight.dtype == cr.float64
    np.testing.assert_array_equal(c.weight.detach().numpy()[3], np.zeros(3))
    assert np.all(c.weight.detach().numpy()[[0, 1, 2, 4]] != 0)
