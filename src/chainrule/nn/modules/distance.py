"""``torch.nn.modules.distance`` path: re-exports chainrule's distances."""

from __future__ import annotations

from ..layers import CosineSimilarity, PairwiseDistance

__all__ = ["CosineSimilarity", "PairwiseDistance"]
