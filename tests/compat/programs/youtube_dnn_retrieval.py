"""A "Deep Neural Networks for YouTube Recommendations" (Covington et al. 2016) candidate
generator as the PyTorch reproductions write it (DeepMatch/torch-rechub-style ``YoutubeDNN``
with in-batch negatives), size-reduced.

The idioms: the watch history as a ragged batch, ``lengths = torch.tensor([len(h) for h in
histories])``, ``offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])``
read by ``nn.EmbeddingBag(num_videos, dim, mode="mean", padding_idx=0,
include_last_offset=True)``; search tokens through the functional ``F.embedding_bag(tokens,
weight, offsets, mode="sum", per_sample_weights=tfidf)``; the example-age features
(``torch.bucketize(age, boundaries)`` into an ``nn.Embedding`` plus ``age``, ``age ** 2`` and
``age.sqrt()`` stacked by ``torch.stack(..., dim=1)``); ``torch.cat`` of all features into an
``nn.Sequential`` ReLU tower and ``F.normalize(user, dim=-1)``; the output video vectors
shared with the history embedding (``self.history.weight``); in-batch negatives over the
batch's distinct targets, ``cand, labels = torch.unique(target, return_inverse=True)``,
``logits = user @ F.normalize(item_table[cand], dim=-1).T / temperature`` and
``F.cross_entropy(logits, labels)``; ``torch.optim.Adam`` with a ``weight_decay`` group for the
tower only; evaluation under ``torch.inference_mode()`` over the whole corpus, the watched
videos masked with ``scores[torch.repeat_interleave(torch.arange(B), lengths), flat_history] =
float("-inf")`` and the padding video with ``scores[:, 0] = float("-inf")``,
``torch.topk(scores, k).indices``, recall@k as ``torch.isin(target, topk_row)`` per user
(``torch.stack`` of the per-row results) and ``.float().mean()``.

Changed: 20 videos, 12 search tokens, 8 users with NumPy-drawn histories, queries and targets;
embedding 6, one hidden layer of 10; 6 full-batch steps; no negative sampling beyond the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

N_VIDEOS, N_TOKENS, DIM, HIDDEN, N_USERS, N_AGE_BUCKETS = 20, 12, 6, 10, 8, 4
AGE_BOUNDARIES = [1.0, 7.0, 30.0]


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn, F = torch.nn, torch.nn.functional

    class YoutubeDNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.history = nn.EmbeddingBag(
                N_VIDEOS, DIM, mode="mean", padding_idx=0, include_last_offset=True
            )
            self.search = nn.Parameter(torch.randn(N_TOKENS, DIM) * 0.1)
            self.age_bucket = nn.Embedding(N_AGE_BUCKETS, 2)
            self.tower = nn.Sequential(
                nn.Linear(2 * DIM + 2 + 3, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, DIM)
            )
            self.register_buffer("boundaries", torch.tensor(AGE_BOUNDARIES))
            self.temperature = 0.2

        def user_vector(self, history, offsets, tokens, token_offsets, tfidf, age):
            watched = self.history(history, offsets)
            searched = F.embedding_bag(
                tokens, self.search, token_offsets, mode="sum", per_sample_weights=tfidf
            )
            bucket = self.age_bucket(torch.bucketize(age, self.boundaries))
            age_feats = torch.stack([age / 30.0, (age / 30.0) ** 2, (age / 30.0).sqrt()], dim=1)
            x = torch.cat([watched, searched, bucket, age_feats], dim=1)
            return F.normalize(self.tower(x), dim=-1)

        def forward(self, batch: dict, target: Any) -> Any:
            user = self.user_vector(**batch)
            cand, labels = torch.unique(target, return_inverse=True)
            items = F.normalize(self.history.weight[cand], dim=-1)
            logits = user @ items.T / self.temperature
            return F.cross_entropy(logits, labels), logits

    return YoutubeDNN()


def _data(rng: np.random.Generator) -> tuple[list, list, np.ndarray, np.ndarray, np.ndarray]:
    histories = [
        rng.integers(1, N_VIDEOS, int(rng.integers(1, 5))).tolist() for _ in range(N_USERS)
    ]
    histories[3] = [0, 0]  # a cold-start user: padding only (a zero bag)
    queries = [rng.integers(0, N_TOKENS, int(rng.integers(1, 4))).tolist() for _ in range(N_USERS)]
    tfidf = rng.random(sum(len(q) for q in queries)) + 0.5
    ages = rng.random(N_USERS) * 60.0
    targets = rng.integers(1, N_VIDEOS, N_USERS)
    targets[5] = targets[2]  # a repeated target: one candidate, two positives
    return histories, queries, tfidf, ages, targets


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(11)
    histories, queries, tfidf_np, ages, targets = _data(rng)
    model = make_model(torch)
    load_numpy_state(torch, model, init)

    lengths = torch.tensor([len(h) for h in histories])
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    flat_history = torch.tensor([v for h in histories for v in h])
    q_lengths = torch.tensor([len(q) for q in queries])
    token_offsets = torch.cat([torch.zeros(1, dtype=torch.long), q_lengths.cumsum(0)[:-1]])
    batch = {
        "history": flat_history,
        "offsets": offsets,
        "tokens": torch.tensor([t for q in queries for t in q]),
        "token_offsets": token_offsets,
        "tfidf": torch.tensor(tfidf_np),
        "age": torch.tensor(ages),
    }
    target = torch.tensor(targets)

    values: list[float] = []
    cand, labels = torch.unique(target, return_inverse=True)
    values += [float(len(cand)), float(labels.dtype == torch.int64)] + labels.tolist()
    values += torch.bucketize(batch["age"], model.boundaries).tolist()
    values.append(model.history(flat_history, offsets)[3].abs().sum().item())  # the zero bag

    decay = [p for n, p in model.named_parameters() if n.startswith("tower") and p.ndim == 2]
    rest = [p for n, p in model.named_parameters() if not (n.startswith("tower") and p.ndim == 2)]
    optimizer = torch.optim.Adam(
        [{"params": decay, "weight_decay": 1e-3}, {"params": rest, "weight_decay": 0.0}], lr=0.05
    )
    for _ in range(6):
        model.train()
        loss, logits = model(batch, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), float(tuple(logits.shape) == (N_USERS, len(cand)))]
    values.append(model.history.weight.grad[0].abs().sum().item())  # padding_idx: no gradient

    model.eval()
    with torch.inference_mode():
        user = model.user_vector(**batch)
        item_index = F.normalize(model.history.weight, dim=-1)
        scores = user @ item_index.T
        B = user.shape[0]
        scores[torch.repeat_interleave(torch.arange(B), lengths), flat_history] = float("-inf")
        scores[:, 0] = float("-inf")
        topk = torch.topk(scores, 5).indices
        hits = torch.stack([torch.isin(target[i], topk[i]) for i in range(B)])
        values += [hits.float().mean().item(), float(scores.isinf().sum().item())]
        values += scores.masked_fill(scores.isinf(), 0.0).sum(1).tolist()
    values.append(float(scores.requires_grad) + float(scores.is_inference()))
    return values
