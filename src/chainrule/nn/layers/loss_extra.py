"""Loss modules for :mod:`chainrule.nn.functional.loss_extra` (PyTorch's names and
constructor signatures). As PyTorch's, their repr shows no arguments (``SoftMarginLoss()``);
TripletMarginWithDistanceLoss shows its distance module when it has one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...autograd.tensor import Tensor
from ..functional import loss_extra as LF
from .distance import PairwiseDistance
from .loss import _Loss, _WeightedLoss

__all__ = [
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "PoissonNLLLoss",
    "SoftMarginLoss",
    "TripletMarginWithDistanceLoss",
]


class _PlainReprLoss(_Loss):
    def extra_repr(self) -> str:  # PyTorch's losses print no arguments
        return ""


class GaussianNLLLoss(_PlainReprLoss):
    """½ (log max(var, eps) + (input - target)² / max(var, eps)) (+ ½ log 2π if ``full``).

    Shape: input (N, *) or (*); target the input's shape (or broadcastable); var the
    input's shape, one dimension fewer, or with one dimension of size 1 (or a float).
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__(None, None, reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target: Tensor, var: Tensor | float) -> Tensor:
        return LF.gaussian_nll_loss(
            input, target, var, full=self.full, eps=self.eps, reduction=self.reduction
        )


class PoissonNLLLoss(_PlainReprLoss):
    """Poisson NLL e^x - y x (``log_input``) or x - y log(x + eps), + Stirling if ``full``.

    Shape: (*), target the input's shape.
    """

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        size_average: Any = None,
        eps: float = 1e-8,
        reduce: Any = None,
        reduction: str = "mean",
    ):
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return LF.poisson_nll_loss(
            log_input,
            target,
            log_input=self.log_input,
            full=self.full,
            eps=self.eps,
            reduction=self.reduction,
        )


class SoftMarginLoss(_PlainReprLoss):
    """log(1 + e^(-y x)) for y in {1, -1}. Shape: (*), target the input's shape."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """One-versus-all logistic loss averaged over the C classes. Shape: input and target
    (N, C) or (C,); ``weight`` (C,) rescales each class."""

    def extra_repr(self) -> str:
        return ""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.multilabel_soft_margin_loss(input, target, self.weight, reduction=self.reduction)


class HingeEmbeddingLoss(_PlainReprLoss):
    """x where y = 1, max(0, margin - x) where y = -1. Shape: (*), target the input's shape."""

    def __init__(
        self,
        margin: float = 1.0,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class MultiLabelMarginLoss(_PlainReprLoss):
    """Multi-label hinge loss. Shape: input (C,) or (N, C); target int64 of the same shape,
    class indices ended by -1."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.multilabel_margin_loss(input, target, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_PlainReprLoss):
    """max(d(a, p) - d(a, n) + margin, 0) for a distance ``d`` (default PairwiseDistance()).

    Shape: anchor, positive, negative (N, D) or (D,) for the default distance; any shapes the
    given ``distance_function`` accepts otherwise.
    """

    def __init__(
        self,
        *,
        distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
        margin: float = 1.0,
        swap: bool = False,
        reduction: str = "mean",
    ):
        super().__init__(None, None, reduction)
        if margin <= 0:
            raise ValueError(
                "TripletMarginWithDistanceLoss: expected margin to be greater than 0, got "
                f"{margin} instead"
            )
        self.distance_function = (
            distance_function if distance_function is not None else PairwiseDistance()
        )
        self.margin, self.swap = margin, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return LF.triplet_margin_with_distance_loss(
            anchor,
            positive,
            negative,
            distance_function=self.distance_function,
            margin=self.margin,
            swap=self.swap,
            reduction=self.reduction,
        )
