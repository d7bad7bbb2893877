"""``torch.nn.modules.rnn`` path: re-exports chainrule's recurrent layers."""

from __future__ import annotations

from ..layers import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]
