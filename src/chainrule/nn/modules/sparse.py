"""``torch.nn.modules.sparse`` path: re-exports chainrule's embeddings."""

from __future__ import annotations

from ..layers import Embedding, EmbeddingBag

__all__ = ["Embedding", "EmbeddingBag"]
