"""``cr.utils.tensorboard``: TensorBoard logging with PyTorch's ``SummaryWriter`` API."""

from __future__ import annotations

from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
