"""A character-level language model step by step: ``nn.Embedding`` -> ``nn.LSTM(batch_first=True)``
-> ``nn.Linear``, cross-entropy over the flattened sequence, truncated backpropagation through
time (the hidden state carried across batches with ``.detach()``), gradient clipping, Adam.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

TEXT = "the quick brown fox jumps over the lazy dog; the dog sleeps. "
VOCAB = sorted(set(TEXT))
SEQ, BATCH, EMBED, HIDDEN = 6, 3, 5, 7


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class CharLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(len(VOCAB), EMBED)
            self.lstm = nn.LSTM(EMBED, HIDDEN, num_layers=2, batch_first=True)
            self.head = nn.Linear(HIDDEN, len(VOCAB))

        def forward(self, tokens: Any, hidden: Any = None) -> tuple[Any, Any]:
            out, hidden = self.lstm(self.embed(tokens), hidden)
            return self.head(out), hidden

    return CharLM()


def run(torch_like: Any, init: dict | None) -> list[float]:
    ids = np.array([VOCAB.index(c) for c in TEXT])
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch_like.optim.Adam(model.parameters(), lr=0.01)
    criterion = torch_like.nn.CrossEntropyLoss()
    hidden = None
    losses = []
    for step in range(3):
        starts = np.arange(BATCH) * 17 + step * SEQ
        window = np.stack([ids[s : s + SEQ + 1] for s in starts])
        inputs = as_tensor(torch_like, window[:, :-1])
        targets = as_tensor(torch_like, window[:, 1:])
        if hidden is not None:
            hidden = tuple(h.detach() for h in hidden)
        optimizer.zero_grad()
        logits, hidden = model(inputs, hidden)
        loss = criterion(logits.reshape(-1, len(VOCAB)), targets.reshape(-1))
        loss.backward()
        torch_like.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        losses.append(loss.item())

    # Greedy generation of a few characters under no_grad.
    model.eval()
    with torch_like.no_grad():
        token = as_tensor(torch_like, np.array([[VOCAB.index("t")]]))
        state, generated = None, []
        for _ in range(4):
            logits, state = model(token, state)
            token = logits[:, -1].argmax(dim=-1, keepdim=True)
            generated.append(token.item())
    return [*losses, *generated]
