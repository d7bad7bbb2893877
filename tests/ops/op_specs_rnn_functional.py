"""Op specs for the raw recurrent functions (``torch.lstm_cell``, ``gru_cell``, ``rnn_tanh_cell``,
``rnn_relu_cell``, ``lstm``, ``gru``, ``rnn_tanh``, ``rnn_relu``) and the other raw top-level
functions of ``ops/raw_functional.py``; appended to the central table in tests/ops/op_specs.py.
"""

from __future__ import annotations

from .op_specs import OpSpec  # noqa: F401

__all__ = ["SPECS"]

SPECS: list = []
