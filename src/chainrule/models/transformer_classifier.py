"""A Transformer-encoder sequence classifier (for MNIST-1D-style signals or token sequences).

Each time step is mapped to ``d_model`` features (a Linear map of its ``in_channels`` values,
or an embedding of its token id when ``vocab_size`` is given), a learned position vector is
added, ``num_layers`` pre-norm ``nn.TransformerEncoderLayer`` blocks mix the steps, and the
mean over the (unpadded) steps goes through a final LayerNorm into a linear classifier.
With token input, id ``padding_idx`` marks padding: those positions are excluded from the
attention (``src_key_padding_mask``) and from the mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from ..autograd.tensor import Tensor
from .registry import register_model

__all__ = ["TransformerClassifier", "transformer_classifier"]


class TransformerClassifier(nn.Module):
    """Classify a sequence with a Transformer encoder and mean pooling.

    Args:
        num_classes: output classes.
        in_channels: features per time step (signal input).
        d_model, nhead, num_layers, dim_feedforward, dropout: the encoder's.
        max_len: the longest sequence (size of the position table).
        vocab_size: if given, the input is (N, L) token ids embedded instead of projected.
        padding_idx: the padding token id (token input only).

    Shape:
        signal input (N, in_channels, L) (Conv1d layout) or (N, L) for one feature; token
        input (N, L) integer ids -> logits (N, num_classes).
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        d_model: int = 64,
        nhead: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 128,
        dropout: float = 0.0,
        max_len: int = 512,
        vocab_size: int | None = None,
        padding_idx: int = 0,
    ):
        super().__init__()
        self.in_channels, self.vocab_size, self.max_len = in_channels, vocab_size, max_len
        self.padding_idx = padding_idx
        if vocab_size is None:
            self.input_proj = nn.Linear(in_channels, d_model)
        else:
            self.input_proj = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        self.pos = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.pos.weight, 0.0, 0.02)
        layer = nn.TransformerEncoderLayer(
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
        )
        self.head = nn.Linear(d_model, num_classes)

    def _embed(self, x: Tensor) -> tuple[Tensor, np.ndarray | None]:
        if self.vocab_size is not None:
            if x.ndim != 2 or x.dtype.kind not in "iu":
                raise ValueError(
                    f"TransformerClassifier: expected (N, L) integer token ids, "
                    f"got shape {tuple(x.shape)} of {x.dtype}"
                )
            return self.input_proj(x), x._data == self.padding_idx
        if x.ndim == 2:
            x = x.unsqueeze(1)
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"TransformerClassifier: expected input (N, {self.in_channels}, L) "
                f"or (N, L), got shape {tuple(x.shape)}"
            )
        return self.input_proj(x.transpose(1, 2)), None

    def forward(self, x: Any) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor._new(np.asarray(x))
        h, pad = self._embed(x)
        L = h.shape[1]
        if L > self.max_len:
            raise ValueError(
                f"TransformerClassifier: sequence length {L} exceeds max_len {self.max_len}"
            )
        h = h + self.pos(Tensor._new(np.arange(L, dtype=np.int64)))
        if pad is None:
            return self.head(self.encoder(h).mean(1))
        h = self.encoder(h, src_key_padding_mask=Tensor._new(pad))
        keep = Tensor._new((~pad).astype(h.dtype)[..., None])
        count = Tensor._new(np.maximum((~pad).sum(1, keepdims=True), 1).astype(h.dtype))
        return self.head((h * keep).sum(1) / count)


@register_model
def transformer_classifier(
    num_classes: int = 10,
    in_channels: int = 1,
    d_model: int = 64,
    nhead: int = 4,
    num_layers: int = 2,
    dim_feedforward: int = 128,
    dropout: float = 0.0,
    max_len: int = 512,
    vocab_size: int | None = None,
) -> TransformerClassifier:
    """A pre-norm Transformer-encoder classifier with mean pooling (signals or tokens)."""
    return TransformerClassifier(
        num_classes,
        in_channels,
        d_model,
        nhead,
        num_layers,
        dim_feedforward,
        dropout,
        max_len,
        vocab_size,
    )
