"""The variable-length sequence utilities of ``torch.nn.utils.rnn`` as their reference pages
show them (https://pytorch.org/docs/stable/nn.html#utility-functions): ``pack_sequence(seqs,
enforce_sorted=False)`` fed straight to an ``nn.GRU``, ``unpack_sequence(packed_output)``
(the per-sequence list back, in the original order), ``pad_sequence(seqs, batch_first=True,
padding_value=-1.0, padding_side="left")`` for a left-padded decoder-style batch and
``unpad_sequence(padded, lengths, batch_first=True)``; the ``PackedSequence`` fields
``batch_sizes`` / ``sorted_indices`` / ``unsorted_indices``; the last hidden state of a packed
bidirectional GRU ``h_n.view(num_layers, 2, B, H)`` read per direction; training on the
concatenation of the unpacked outputs.

Changed: five integer-coded sequences of lengths 2-6 over an 8-token vocabulary, one-layer
GRU of 6 units, four Adam steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

V, E, H = 8, 5, 6


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(V, E)
            self.gru = nn.GRU(E, H, bidirectional=True)
            self.out = nn.Linear(2 * H, V)
            self.left = nn.LSTM(E, H, batch_first=True)

        def forward(self, seqs: list) -> tuple[Any, Any, Any]:
            packed = torch.nn.utils.rnn.pack_sequence(
                [self.emb(s) for s in seqs], enforce_sorted=False
            )
            out, h_n = self.gru(packed)
            per_seq = torch.nn.utils.rnn.unpack_sequence(out)
            logits = self.out(torch.cat(per_seq))
            last = h_n.view(1, 2, len(seqs), H)
            return logits, last[0, 0] + last[0, 1], packed

    return Tagger()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rnn_utils = torch.nn.utils.rnn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    rng = np.random.default_rng(4)
    values: list[float] = []
    for _ in range(4):
        lengths = [int(n) for n in rng.integers(2, 7, 5)]
        seqs = [as_tensor(torch_like, rng.integers(0, V, n)) for n in lengths]
        logits, h_last, packed = model(seqs)
        target = torch.cat([torch.roll(s, -1) for s in seqs])
        loss = nn.functional.cross_entropy(logits, target)
        # left-padded batch through the LSTM, then unpadded again
        padded = rnn_utils.pad_sequence(
            [model.emb(s) for s in seqs], batch_first=True, padding_value=-1.0,
            padding_side="left",
        )  # fmt: skip
        out, _ = model.left(padded)
        lens = torch.tensor(lengths)
        right = rnn_utils.pad_sequence([model.emb(s) for s in seqs], batch_first=True)
        unpadded = rnn_utils.unpad_sequence(right, lens, batch_first=True)
        loss = loss + 0.1 * out[:, -1].pow(2).mean() + 0.01 * h_last.pow(2).sum()
        loss = loss + 0.01 * sum(u.sum() for u in unpadded)
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(loss.item())
        values.extend(float(v) for v in packed.batch_sizes)
        values.extend(float(v) for v in packed.sorted_indices)
        values.extend(float(v) for v in packed.unsorted_indices)
    return values
