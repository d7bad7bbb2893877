"""Joining, splitting and shape utilities PyTorch has at its top level."""

from __future__ import annotations

__all__: list[str] = []
