"""``cr.ao.nn.quantized.dynamic``: layers whose weights are int8 and whose activations are
quantized on every call (what ``quantize_dynamic`` swaps in)."""

from __future__ import annotations

from .linear import Linear
from .rnn import GRU, LSTM

__all__ = ["GRU", "LSTM", "Linear"]
