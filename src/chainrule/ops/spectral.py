"""Short-time Fourier transforms at torch's top level: ``stft`` and ``istft`` (built on the
FFT ops of ``ops/fft.py``)."""

from __future__ import annotations

__all__: list[str] = []
