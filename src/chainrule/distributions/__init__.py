"""Probability distributions, mirroring ``torch.distributions``."""

from __future__ import annotations

__all__: list[str] = []
