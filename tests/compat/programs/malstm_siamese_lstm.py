"""Siamese LSTM for sentence similarity (Mueller & Thyagarajan 2016, "MaLSTM"), as the public
PyTorch ports of the Quora-question-pairs model write it, size-reduced.

The idioms: one shared ``nn.Embedding(vocab, dim, padding_idx=0)`` + ``nn.LSTM(batch_first=True)``
encoder applied to both sentences; ``lengths = (x != 0).sum(dim=1)`` and
``nn.utils.rnn.pack_padded_sequence(embedded, lengths.cpu(), batch_first=True,
enforce_sorted=False)`` (the LSTM's ``h_n[-1]`` of a packed input comes back in the caller's
order, ``packed.sorted_indices`` / ``unsorted_indices`` read off), beside the older
hand-sorted form (``lengths.sort(0, descending=True)``, ``index_select``, ``enforce_sorted=True``
and the unsort by ``idx_sort.sort(0)``), and ``pad_packed_sequence(..., batch_first=True,
total_length=...)`` gathering the last valid step with ``out.gather(1, (lengths - 1).view(-1, 1,
1).expand(-1, 1, H))``; the Manhattan similarity ``torch.exp(-torch.sum(torch.abs(h1 - h2),
dim=1, keepdim=True))``; ``nn.MSELoss`` against 0/1 labels; ``torch.optim.Adadelta(
model.parameters(), lr=1.0)`` (the paper's optimizer) with ``nn.utils.clip_grad_norm_(
model.parameters(), 1.25)``; evaluation under ``torch.no_grad()`` with ``(pred > 0.5).float()``
accuracy. The Keras original's gradient clipping is the same ``clip_grad_norm_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

VOCAB, EMB, HIDDEN, MAXLEN = 12, 5, 6, 7


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    torch = torch_like

    class MaLSTM(nn.Module):
        def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
            self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers=1, batch_first=True)

        def encode(self, x: Any) -> Any:
            lengths = (x != 0).sum(dim=1)
            embedded = self.embedding(x)
            packed = nn.utils.rnn.pack_padded_sequence(
                embedded, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            _, (h_n, _) = self.lstm(packed)
            return h_n[-1]

        def encode_sorted(self, x: Any) -> Any:
            """The pre-``enforce_sorted=False`` form: sort, pack, run, unsort."""
            lengths = (x != 0).sum(dim=1)
            lengths_sorted, idx_sort = lengths.sort(0, descending=True)
            _, idx_unsort = idx_sort.sort(0)
            x_sorted = x.index_select(0, idx_sort)
            packed = nn.utils.rnn.pack_padded_sequence(
                self.embedding(x_sorted), lengths_sorted.tolist(), batch_first=True
            )
            out, _ = self.lstm(packed)
            out, out_lengths = nn.utils.rnn.pad_packed_sequence(
                out, batch_first=True, total_length=x.size(1)
            )
            assert out.shape[1] == x.size(1)
            last = out.gather(
                1, (out_lengths - 1).view(-1, 1, 1).expand(-1, 1, out.size(2))
            ).squeeze(1)
            return last.index_select(0, idx_unsort)

        def forward(self, left: Any, right: Any) -> Any:
            h1 = self.encode(left)
            h2 = self.encode(right)
            return torch.exp(-torch.sum(torch.abs(h1 - h2), dim=1, keepdim=True))

    return MaLSTM(VOCAB, EMB, HIDDEN)


def _sentences(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of padded token-id sentences; "duplicates" share most of their tokens."""
    left = np.zeros((n, MAXLEN), dtype=np.int64)
    right = np.zeros((n, MAXLEN), dtype=np.int64)
    labels = np.zeros(n)
    for i in range(n):
        la, lb = int(rng.integers(2, MAXLEN + 1)), int(rng.integers(2, MAXLEN + 1))
        a = rng.integers(1, VOCAB, la)
        if i % 2 == 0:
            b = np.resize(a, lb)
            b[-1] = rng.integers(1, VOCAB)
            labels[i] = 1.0
        else:
            b = rng.integers(1, VOCAB, lb)
        left[i, :la] = a
        right[i, :lb] = b
    return left, right, labels


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(11)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []

    left, right, labels = _sentences(rng, 16)
    dataset = torch.utils.data.TensorDataset(
        torch.from_numpy(left), torch.from_numpy(right), torch.from_numpy(labels)
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=False)

    # the two encoders agree, and the packed sequence records its permutation
    x = torch.from_numpy(left[:5])
    with torch.no_grad():
        a, b = model.encode(x), model.encode_sorted(x)
    assert torch.allclose(a, b)
    lengths = (x != 0).sum(dim=1)
    packed = nn.utils.rnn.pack_padded_sequence(
        model.embedding(x), lengths, batch_first=True, enforce_sorted=False
    )
    values += packed.sorted_indices.tolist() + packed.unsorted_indices.tolist()
    values += packed.batch_sizes.tolist()
    values.append(a.sum().item())

    criterion = nn.MSELoss()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    for _epoch in range(3):
        model.train()
        for left_b, right_b, label_b in loader:
            optimizer.zero_grad()
            pred = model(left_b, right_b).squeeze(1)
            loss = criterion(pred, label_b)
            loss.backward()
            total_norm = nn.utils.clip_grad_norm_(model.parameters(), 1.25)
            optimizer.step()
            values += [loss.item(), float(total_norm)]
    # padding_idx keeps the pad row's embedding at zero
    assert model.embedding.weight.grad[0].abs().sum().item() == 0.0

    model.eval()
    with torch.no_grad():
        t_left, t_right, t_labels = _sentences(rng, 8)
        pred = model(torch.from_numpy(t_left), torch.from_numpy(t_right)).squeeze(1)
        acc = ((pred > 0.5).float() == torch.from_numpy(t_labels)).float().mean()
        values += pred.tolist() + [acc.item()]
        values.append(model.encode_sorted(torch.from_numpy(t_right)).sum().item())
    return values
