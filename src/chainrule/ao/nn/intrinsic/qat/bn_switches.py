"""The batch-norm switches torch's fused QAT modules share (``ConvBn2d``, ``LinearBn1d``):
freezing ``bn``'s running statistics, letting it update them again, and a ``train`` that
leaves a frozen ``bn`` in evaluation mode."""

from __future__ import annotations

from typing import Any

__all__ = ["BnStatsSwitches"]


class BnStatsSwitches:
    """Mixin for a module with a ``bn`` child and a ``freeze_bn`` flag."""

    freeze_bn: bool
    bn: Any

    def update_bn_stats(self) -> Any:
        """Let ``bn`` use batch statistics and update its running ones (``bn`` in training
        mode, even in an evaluation-mode module, as torch's)."""
        self.freeze_bn = False
        self.bn.training = True
        return self

    def freeze_bn_stats(self) -> Any:
        """Fix ``bn``'s running statistics: it normalizes with them from now on."""
        self.freeze_bn = True
        self.bn.training = False
        return self

    def train(self, mode: bool = True) -> Any:
        """Set the training flag; ``bn``'s follows it unless its statistics are frozen."""
        self.training = mode
        if not self.freeze_bn:
            for module in self.children():  # type: ignore[attr-defined] - a Module's
                module.train(mode)
        return self
