"""Discrete Fourier transforms, mirroring ``torch.fft``."""

from __future__ import annotations

__all__: list[str] = []
