"""``torch.nn.modules.adaptive`` path: re-exports chainrule's AdaptiveLogSoftmaxWithLoss."""

from __future__ import annotations

from ..layers import AdaptiveLogSoftmaxWithLoss
from ..layers.adaptive_softmax import _ASMoutput

__all__ = ["AdaptiveLogSoftmaxWithLoss", "_ASMoutput"]
