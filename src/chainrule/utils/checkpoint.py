"""Activation checkpointing, mirroring ``torch.utils.checkpoint``."""

from __future__ import annotations

__all__: list[str] = []
