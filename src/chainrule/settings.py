"""Process- and thread-level settings PyTorch exposes at its top level (default device, ...)."""

from __future__ import annotations

__all__: list[str] = []
