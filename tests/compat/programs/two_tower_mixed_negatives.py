"""A two-tower retrieval model trained with in-batch plus uniformly sampled ("mixed", Yang et
al. 2020) negatives and the logQ correction computed from known sampling probabilities, in the
style of the PyTorch two-tower examples (TorchRec's ``two_tower`` retrieval example, the
"Sampling-bias-corrected neural modeling" reproductions), with NCF-style towers, size-reduced.
``sasrec_two_tower`` covers the streaming frequency estimate; this one covers the rest.

The idioms: towers built from ``nn.Embedding`` ids plus ``nn.EmbeddingBag`` side features
(``mode="mean"`` over item tags with ``offsets``, ``mode="sum"`` with ``per_sample_weights``
over the user's history), ``torch.cat`` into an ``nn.Sequential`` MLP and ``F.normalize(...,
dim=-1)``; a learnable CLIP-style temperature ``nn.Parameter(torch.tensor(math.log(1 /
0.07)))`` used as ``self.logit_scale.exp().clamp(max=100)``; item popularity from
``torch.bincount(item_ids, minlength=num_items)``, the in-batch sampling probability ``q =
batch_size * freq / freq.sum()`` gathered by ``q[item_ids]`` and ``torch.full((n_neg,),
n_neg / num_items)`` for the uniform negatives, ``log_q = torch.log(torch.cat([...]))``;
scores ``user @ torch.cat([pos_items, neg_items]).T * scale - log_q``; accidental hits removed
with ``scores.masked_fill(hit_mask, float("-inf"))`` where ``hit_mask = (item_ids[:, None] ==
cand_ids[None, :]) & ~torch.eye(B, n_cand, dtype=torch.bool)``; ``F.cross_entropy(scores,
torch.arange(B))``; ``AdamW`` with a parameter group that excludes the temperature and
embeddings from weight decay (``named_parameters()`` filtered by name / ``p.ndim``);
evaluation by full-corpus scoring, already-seen items excluded with ``scores.scatter_(1,
seen, float("-inf"))``, ``torch.topk(scores, k, dim=1).indices``, recall@k as ``(topk ==
target[:, None]).any(dim=1).float().mean()``, the rank of the target as ``(scores >
scores.gather(1, target[:, None])).sum(dim=1)`` and MRR ``(1.0 / (rank + 1)).mean()`` (integer
true division into the default dtype).

Changed: MovieLens -> 10 users, 16 items with 2-3 tags each and NumPy-drawn interactions and
negatives; embedding 6, one hidden layer of 8, batch 5, 4 uniform negatives, 6 steps. The MRR
is taken in the default dtype, not the examples' ``(rank + 1).float()``: a float32 mean of ten
reciprocals differs in the last bit between PyTorch's vectorised CPU sum and a sequential or
pairwise one (1.20076883 vs 1.20076871), a summation-order difference, not an API gap.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

USERS, ITEMS, TAGS, EMB, HID, BATCH, N_NEG = 10, 16, 5, 6, 8, 5, 4


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class Tower(nn.Module):
        def __init__(self, num_ids: int, num_feats: int, bag_mode: str) -> None:
            super().__init__()
            self.id_emb = nn.Embedding(num_ids, EMB)
            self.feat_bag = nn.EmbeddingBag(num_feats, EMB, mode=bag_mode)
            self.mlp = nn.Sequential(nn.Linear(2 * EMB, HID), nn.ReLU(), nn.Linear(HID, EMB))

        def forward(self, ids: Any, feats: Any, offsets: Any, weights: Any = None) -> Any:
            bag = self.feat_bag(feats, offsets, per_sample_weights=weights)
            x = torch.cat([self.id_emb(ids), bag], dim=-1)
            return F.normalize(self.mlp(x), dim=-1)

    class TwoTower(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.user_tower = Tower(USERS, ITEMS, "sum")
            self.item_tower = Tower(ITEMS, TAGS, "mean")
            self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    return TwoTower()


def _data() -> dict:
    rng = np.random.default_rng(5)
    tags = [rng.choice(TAGS, size=rng.integers(2, 4), replace=False) for _ in range(ITEMS)]
    pop = np.linspace(2.0, 0.2, ITEMS)
    pop /= pop.sum()
    history = [
        rng.choice(ITEMS, size=rng.integers(1, 4), replace=False, p=pop) for _ in range(USERS)
    ]
    batches = []
    for _ in range(6):
        users = rng.choice(USERS, size=BATCH, replace=False)
        items = rng.choice(ITEMS, size=BATCH, p=pop)
        negs = rng.integers(0, ITEMS, size=N_NEG)
        batches.append((users, items, negs))
    all_items = np.concatenate([b[1] for b in batches])
    targets = rng.choice(ITEMS, size=USERS, p=pop)
    return {"tags": tags, "history": history, "batches": batches, "all_items": all_items,
            "targets": targets}  # fmt: skip


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    d = _data()

    def bags(lists: list[np.ndarray], ids: Any) -> tuple[Any, Any]:
        chosen = [lists[i] for i in ids.tolist()]
        flat = torch.tensor(np.concatenate(chosen), dtype=torch.long)
        lengths = torch.tensor([len(c) for c in chosen])
        offsets = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(lengths, 0)[:-1]])
        return flat, offsets

    def user_embed(users: Any) -> Any:
        feats, offsets = bags(d["history"], users)
        # more recent history items weigh more
        weights = torch.cat(
            [torch.linspace(0.5, 1.0, len(d["history"][u])) for u in users.tolist()]
        )
        return model.user_tower(users, feats, offsets, weights)

    def item_embed(items: Any) -> Any:
        feats, offsets = bags(d["tags"], items)
        return model.item_tower(items, feats, offsets)

    freq = torch.bincount(as_tensor(torch, d["all_items"]), minlength=ITEMS).float()
    values: list[float] = [float(freq.sum()), float(freq.max())]

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "emb" in name or "bag" in name else decay).append(p)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=0.05,
    )

    model.train()
    for users_np, items_np, negs_np in d["batches"]:
        users, item_ids, neg_ids = (as_tensor(torch, a) for a in (users_np, items_np, negs_np))
        u = user_embed(users)
        cand_ids = torch.cat([item_ids, neg_ids])
        v = item_embed(cand_ids)
        scale = model.logit_scale.exp().clamp(max=100)
        q = BATCH * freq / freq.sum()
        log_q = torch.log(torch.cat([q[item_ids], torch.full((N_NEG,), N_NEG / ITEMS)]))
        scores = u @ v.T * scale - log_q
        hit_mask = (item_ids[:, None] == cand_ids[None, :]) & ~torch.eye(
            BATCH, BATCH + N_NEG, dtype=torch.bool
        )
        scores = scores.masked_fill(hit_mask, float("-inf"))
        loss = F.cross_entropy(scores, torch.arange(BATCH))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), float(hit_mask.sum()), model.logit_scale.item()]

    model.eval()
    with torch.no_grad():
        users = torch.arange(USERS)
        u = user_embed(users)
        v = item_embed(torch.arange(ITEMS))
        scores = u @ v.T
        seen = torch.tensor([h[0] for h in d["history"]])[:, None]
        scores.scatter_(1, seen, float("-inf"))
        target = as_tensor(torch, d["targets"])
        for k in (1, 3, 5):
            topk = torch.topk(scores, k, dim=1).indices
            values.append(float((topk == target[:, None]).any(dim=1).float().mean()))
        rank = (scores > scores.gather(1, target[:, None])).sum(dim=1)
        values += [float((1.0 / (rank + 1)).mean())] + rank.tolist()
    return values
