"""Session 43 of the nn-module fuzzer (seeds 53-; the drawers of :mod:`.kinds_s43` are new:
``MultiheadAttention`` and the Transformer layers called with masks and causal hints): a
fixed sample of drawn cases of each new family, forward and backward against torch; then
the differences found."""

from __future__ import annotations

import numpy as np
import pytest

from .case import Case
from .kinds_s43 import S43_DRAWERS
from .programs import check, draw

__all__: list[str] = []


@pytest.mark.parametrize("kind", sorted(S43_DRAWERS))
@pytest.mark.parametrize("k", range(8))
def test_s43_family_agrees_with_torch(kind, k):
    case = draw(np.random.default_rng(4300 + k), (kind,), weird=0.0)
    assert check(case) == []


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("mask", ["causal", "other"])
def test_mha_is_causal_hint_with_a_mask(train, need_weights, mask):
    # the is_causal hint with a mask given: PyTorch keeps the mask (need_weights, or a key
    # padding mask) or drops it for the causal one; a non-causal mask shows which was used
    attn = ("cmask", 3, "bool") if mask == "causal" else ("bmask", (3, 3), 0.5)
    inputs = (("f", (3, 2, 4)), ("f", (3, 2, 4)), ("f", (3, 2, 4)), ("none",),
              ("val", need_weights), attn, ("val", True), ("val", True))  # fmt: skip
    case = Case("MultiheadAttention", (4, 2), (("dropout", 0.0),), inputs, train, seed=5)
    assert check(case) == []
