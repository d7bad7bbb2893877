"""PyTorch's raw top-level functions behind its nn layers: the recurrent cells and loops
(``torch.lstm_cell``, ``gru_cell``, ``rnn_tanh_cell``, ``rnn_relu_cell``, ``lstm``, ``gru``,
``rnn_tanh``, ``rnn_relu``) and the other raw forms torch exports at the top level."""

from __future__ import annotations

__all__: list[str] = []
