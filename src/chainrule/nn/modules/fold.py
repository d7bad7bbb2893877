"""``torch.nn.modules.fold`` path: re-exports chainrule's Fold and Unfold."""

from __future__ import annotations

from ..layers import Fold, Unfold

__all__ = ["Fold", "Unfold"]
