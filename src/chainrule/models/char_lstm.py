"""Recurrent models: a character-level LSTM language model and a GRU sequence classifier.

``CharLSTM`` is the classic char-rnn (Karpathy, 2015): embedding -> stacked LSTM -> linear
head giving next-token logits at every position. Its ``generate`` carries the LSTM state
from token to token, so sampling costs one step per new token (a Transformer must re-read
its context window instead).

``GRUClassifier`` reads a signal as a sequence (the 40 values of an MNIST-1D example are 40
time steps of one feature) and classifies it from the last hidden state of the top layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..random import Generator, gen
from .language import _sample_next, generate_tokens
from .registry import register_model

__all__ = ["CharLSTM", "GRUClassifier", "char_lstm", "gru"]


class CharLSTM(nn.Module):
    """Next-token logits from an embedding, a stacked LSTM and a linear head.

    Args:
        vocab_size: number of tokens.
        embedding_dim: width of the token embedding.
        hidden_size: LSTM width.
        num_layers: stacked LSTM layers.
        dropout: dropout between LSTM layers and before the head.

    Shape:
        input (B, T) int64 token ids -> logits (B, T, vocab_size); with ``state`` given or
        ``return_state=True`` the final (h, c) is returned too.
    """

    def __init__(
        self,
        vocab_size: int = 65,
        embedding_dim: int = 128,
        hidden_size: int = 128,
        num_layers: int = 2,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.vocab_size = int(vocab_size)
        self.embedding = nn.Embedding(self.vocab_size, embedding_dim)
        self.lstm = nn.LSTM(
            embedding_dim,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, self.vocab_size)

    def forward(self, idx: Tensor, state: tuple | None = None, return_state: bool = False) -> Any:
        if not isinstance(idx, Tensor):
            idx = Tensor._new(np.asarray(idx))
        if idx.ndim != 2 or idx.dtype.kind not in "iu":
            raise ValueError(
                f"CharLSTM: expected (batch, time) integer token ids, got shape "
                f"{tuple(idx.shape)} of {idx.dtype}"
            )
        out, new_state = self.lstm(self.embedding(idx), state)
        logits = self.head(self.drop(out))
        return (logits, new_state) if return_state or state is not None else logits

    def generate(
        self,
        idx: Any,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: Generator | None = None,
    ) -> Tensor:
        """Append ``max_new_tokens`` sampled tokens to ``idx`` (B, T).

        The prompt is read once; each new token then advances the LSTM one step from its
        carried state. Sampling (temperature, top-k, seeded generator) and argument checks
        are those of :func:`~chainrule.models.language.generate_tokens`.
        """
        prompt = generate_tokens(self, idx, 0, temperature, top_k, generator)._data
        rng = gen(generator)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                logits, state = self(Tensor._new(prompt), return_state=True)
                out = [prompt]
                for _ in range(int(max_new_tokens)):
                    nxt = _sample_next(logits._data[:, -1, :], float(temperature), top_k, rng)
                    nxt = nxt[:, None].astype(np.int64)
                    out.append(nxt)
                    logits, state = self(Tensor._new(nxt), state)
        finally:
            self.train(was_training)
        return Tensor._new(np.concatenate(out, axis=1))


class GRUClassifier(nn.Module):
    """Classify a sequence from the final hidden state of a stacked GRU.

    Args:
        num_classes: output classes.
        in_channels: features per time step.
        hidden_size, num_layers, dropout, bidirectional: the GRU's.

    Shape:
        input (N, in_channels, L) (Conv1d layout: channels are the per-step features, L the
        time steps) or (N, L) for one feature -> logits (N, num_classes).
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.gru = nn.GRU(
            in_channels,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
        )
        dirs = 2 if bidirectional else 1
        self.head = nn.Linear(dirs * hidden_size, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 2:
            x = x.unsqueeze(1)
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"GRUClassifier: expected input (N, {self.in_channels}, L) or "
                f"(N, L), got shape {tuple(x.shape)}"
            )
        _, h_n = self.gru(x.transpose(1, 2))
        dirs = 2 if self.gru.bidirectional else 1
        last = h_n[-1] if dirs == 1 else h_n[-2:].transpose(0, 1).reshape(h_n.shape[1], -1)
        return self.head(last)


@register_model
def char_lstm(
    vocab_size: int = 65,
    embedding_dim: int = 128,
    hidden_size: int = 128,
    num_layers: int = 2,
    dropout: float = 0.0,
) -> CharLSTM:
    """Character-level LSTM language model (char-rnn): embedding, LSTM, linear head."""
    return CharLSTM(vocab_size, embedding_dim, hidden_size, num_layers, dropout)


@register_model
def gru(
    num_classes: int = 10,
    in_channels: int = 1,
    hidden_size: int = 128,
    num_layers: int = 1,
    dropout: float = 0.0,
    bidirectional: bool = False,
) -> GRUClassifier:
    """GRU sequence classifier, e.g. for MNIST-1D read as 40 time steps of one value."""
    return GRUClassifier(num_classes, in_channels, hidden_size, num_layers, dropout, bidirectional)
