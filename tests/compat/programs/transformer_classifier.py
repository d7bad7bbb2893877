"""A tiny sequence classifier on ``nn.TransformerEncoder`` (batch_first, no dropout): token
embedding plus a learned position embedding, a padding mask, masked mean pooling and a linear
head, trained with AdamW and a warm-up ``LambdaLR`` schedule.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

VOCAB, D_MODEL, SEQ, N_CLASSES = 11, 8, 5, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok = nn.Embedding(VOCAB, D_MODEL, padding_idx=0)
            self.pos = nn.Parameter(torch_like.zeros(1, SEQ, D_MODEL))
            layer = nn.TransformerEncoderLayer(
                D_MODEL, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
            self.head = nn.Linear(D_MODEL, N_CLASSES)
            nn.init.normal_(self.pos, std=0.1)

        def forward(self, tokens: Any) -> Any:
            pad = tokens == 0
            h = self.encoder(self.tok(tokens) + self.pos, src_key_padding_mask=pad)
            keep = (~pad).unsqueeze(-1).to(h.dtype)
            return self.head((h * keep).sum(1) / keep.sum(1))

    return Classifier()


def run(torch_like: Any, init: dict | None) -> list[float]:
    rng = np.random.default_rng(9)
    tokens = rng.integers(1, VOCAB, (4, SEQ))
    tokens[0, 3:] = 0
    tokens[2, 4:] = 0
    x = as_tensor(torch_like, tokens)
    y = as_tensor(torch_like, rng.integers(0, N_CLASSES, 4))
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch_like.optim.AdamW(model.parameters(), lr=0.01)
    scheduler = torch_like.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 3))
    losses = []
    model.train()
    for _step in range(4):
        optimizer.zero_grad()
        loss = torch_like.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses
