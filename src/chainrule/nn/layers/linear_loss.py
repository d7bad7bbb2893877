"""``LinearCrossEntropyLoss``: a linear head and the cross-entropy of its logits as one
module (``torch.nn.LinearCrossEntropyLoss``), with ``LinearCrossEntropyOptions`` (its
chunked path's settings, ``torch.nn.LinearCrossEntropyOptions``)."""

from __future__ import annotations

import math
from typing import Any

from ...autograd.tensor import Tensor
from .. import functional as F
from ..functional.linear_loss import LinearCrossEntropyOptions
from .linear import Linear
from .loss import _WeightedLoss

__all__ = ["LinearCrossEntropyLoss", "LinearCrossEntropyOptions"]


class LinearCrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of ``Linear(in_features, num_classes * prod(out_features))``'s logits.

    The weight is stored flat in ``self.linear`` (a :class:`Linear` of
    ``C * prod(out_features)`` outputs, PyTorch's layout and initialisation) and reshaped to
    ``(C, *out_features, in_features)`` on each call of
    :func:`~chainrule.nn.functional.linear_cross_entropy`; the bias likewise.

    Shape: input (in_features,) or (N, in_features); target class indices (), (N,) or
    (N, *out_features), or class probabilities (C,) or (N, C, *out_features); output
    that of the loss (see ``F.linear_cross_entropy``).
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        *,
        out_features: tuple[int, ...] = (),
        bias: bool = False,
        device: Any = None,
        dtype: Any = None,
        reduction: str = "mean",
        weight: Tensor | None = None,
        ignore_index: int | None = None,
        label_smoothing: float = 0.0,
        options: LinearCrossEntropyOptions | None = None,
    ) -> None:
        if weight is not None and tuple(weight.shape) != (num_classes,):
            raise RuntimeError(
                f"expected weight shape to be {(num_classes,)}, got {tuple(weight.shape)}"
            )
        if label_smoothing < 0 or label_smoothing > 1.0:
            raise RuntimeError(
                f"expected label_smoothing to be in range [0, 1], got {label_smoothing}"
            )
        super().__init__(weight=weight, reduction=reduction)
        self.num_classes = num_classes
        self.out_features = tuple(out_features)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.linear = Linear(
            in_features,
            math.prod(self.out_features, start=num_classes),
            bias=bias,
            device=device,
            dtype=dtype,
        )
        self.options = options

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        shape = (self.num_classes, *self.out_features)
        linear_weight = self.linear.weight.reshape((*shape, self.linear.in_features))
        bias = self.linear.bias
        return F.linear_cross_entropy(
            input,
            linear_weight,
            target,
            linear_bias=None if bias is None else bias.reshape(shape),
            weight=self.weight,
            reduction=self.reduction,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            options=self.options,
        )

    def extra_repr(self) -> str:
        return (
            f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
            f"out_features={self.out_features}, bias={self.linear.bias is not None}, "
            f"reduction={self.reduction}, ignore_index={self.ignore_index}, "
            f"label_smoothing={self.label_smoothing}, options={self.options}"
        )
