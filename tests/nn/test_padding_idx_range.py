"""An embedding's ``padding_idx`` outside ``[-num_embeddings, num_embeddings)`` is PyTorch's
AssertionError (still a ValueError here); ``F.embedding`` accepted it silently."""

from __future__ import annotations

import pytest
import torch

import chainrule as cr

CASES = {
    "Embedding_high": lambda t: t.nn.Embedding(10, 3, padding_idx=10),
    "Embedding_low": lambda t: t.nn.Embedding(10, 3, padding_idx=-11),
    "EmbeddingBag": lambda t: t.nn.EmbeddingBag(10, 3, padding_idx=10),
    "F_embedding_high": lambda t: t.nn.functional.embedding(
        t.tensor([1]), t.ones(10, 3), padding_idx=10
    ),
    "F_embedding_low": lambda t: t.nn.functional.embedding(
        t.tensor([1]), t.ones(10, 3), padding_idx=-11
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_out_of_range_padding_idx_is_assertion_error_as_torch(case):
    with pytest.raises(AssertionError, match="(?i)padding_idx must be within num_embeddings"):
        CASES[case](torch)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        CASES[case](cr)
    with pytest.raises(ValueError):
        CASES[case](cr)


def test_negative_padding_idx_in_range_still_zeroes_its_gradient():
    w = cr.ones(5, 2, requires_grad=True)
    cr.nn.functional.embedding(cr.tensor([4, 1, 4]), w, padding_idx=-1).sum().backward()
    assert w.grad[4].tolist() == [0.0, 0.0] and w.grad[1].tolist() == [1.0, 1.0]
