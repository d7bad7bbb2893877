"""Joining, splitting and shape utilities PyTorch has at its top level (filled in by this session's work)."""

from __future__ import annotations

__all__: list[str] = []
