"""More tensor constructors PyTorch has at its top level (logspace, window functions, ...)."""

from __future__ import annotations

__all__: list[str] = []
