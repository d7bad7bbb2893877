"""Similarity/distance layers and the ranking losses built on them (PyTorch's modules)."""

from __future__ import annotations

from typing import Any

from ...autograd.tensor import Tensor
from ..functional import distance as D
from ..module import Module
from .loss import _Loss

__all__ = ["CosineSimilarity", "MarginRankingLoss", "PairwiseDistance", "TripletMarginLoss"]


class CosineSimilarity(Module):
    """Cosine similarity along ``dim`` (see ``F.cosine_similarity``)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return D.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """p-norm distance between rows (see ``F.pairwise_distance``)."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return D.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class TripletMarginLoss(_Loss):
    """max(d(a, p) - d(a, n) + margin, 0) (see ``F.triplet_margin_loss``). As PyTorch's, a
    margin <= 0 is refused (ValueError) and the legacy ``size_average`` / ``reduce`` flags
    come before ``reduction``."""

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(
                f"TripletMarginLoss: expected margin to be greater than 0, got {margin} instead"
            )
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return D.triplet_margin_loss(
            anchor,
            positive,
            negative,
            self.margin,
            self.p,
            self.eps,
            self.swap,
            reduction=self.reduction,
        )


class MarginRankingLoss(_Loss):
    """max(0, -y (x1 - x2) + margin) (see ``F.margin_ranking_loss``); PyTorch's signature,
    with the legacy ``size_average`` / ``reduce`` flags before ``reduction``."""

    def __init__(
        self,
        margin: float = 0.0,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return D.margin_ranking_loss(input1, input2, target, self.margin, reduction=self.reduction)
