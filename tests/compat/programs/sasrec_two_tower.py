"""SASRec (Kang & McAuley 2018) as pmixer/SASRec.pytorch and RecBole write it, and a
two-tower retrieval model trained with in-batch negatives and the logQ sampling-bias
correction (Yi et al. 2019, as TorchRec / Merlin-style ports write it), size-reduced.

The idioms, SASRec: ``nn.Embedding(item_num + 1, hidden_units, padding_idx=0)`` for items and
positions, ``seqs *= self.item_emb.embedding_dim ** 0.5``, ``poss = np.tile(np.arange(1,
log_seqs.shape[1] + 1), [log_seqs.shape[0], 1])``, ``poss *= log_seqs != 0`` (padding
positions take embedding 0), ``timeline_mask = torch.BoolTensor(log_seqs == 0)``, ``seqs *=
~timeline_mask.unsqueeze(-1)``, ``attention_mask = ~torch.tril(torch.ones((tl, tl),
dtype=torch.bool))``, ``nn.MultiheadAttention`` on ``torch.transpose(seqs, 0, 1)`` with
``attn_mask=attention_mask``, ``seqs = Q + mha_outputs``, the point-wise feed-forward as two
``Conv1d(kernel_size=1)`` on ``inputs.transpose(-1, -2)`` with ``outputs += inputs``,
``LayerNorm(eps=1e-8)``; the logits ``(log_feats * pos_embs).sum(dim=-1)``, ``indices =
np.where(pos != 0)``, ``bce_criterion(pos_logits[indices], pos_labels[indices])``, the
``l2_emb * torch.norm(param)`` term, ``Adam(betas=(0.9, 0.98))``; RecBole's
``gather_indexes`` (``gather_index.view(-1, 1, 1).expand(-1, -1, output.shape[-1])``,
``output.gather(dim=1, index=gather_index).squeeze(1)``) and its additive mask
(``torch.tril(extended_attention_mask.expand((-1, -1, L, -1)))``, ``torch.where(mask, 0.0,
-10000.0)``); ``predict``'s ``item_embs.matmul(final_feat.unsqueeze(-1)).squeeze(-1)``.
Two-tower: ``F.normalize`` embeddings, ``logits = q @ k.T / temperature``, the streaming
frequency estimate (``B[h] = (1 - alpha) * B[h] + alpha * (t - A[h])``, ``A[h] = t``, over
``torch.unique`` ids) and ``logits - torch.log(p)``, same-item collisions masked by
``masked_fill(~torch.eye(...) & (ids[:, None] == ids[None, :]), finfo.min)``,
``F.cross_entropy(logits, torch.arange(B))``; recall@k from ``scores.topk(k).indices``,
``torch.isin`` and ``(topk == target.unsqueeze(1)).any(dim=1)``.

Changed: MovieLens -> NumPy sequences of 6 steps over 15 items, hidden 8, 2 heads, 2 blocks,
dropout 0; three SASRec steps and three two-tower steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

ITEMS, MAXLEN, HIDDEN, HEADS, BLOCKS, BATCH, USERS = 15, 6, 8, 2, 2, 5, 7


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class PointWiseFeedForward(nn.Module):
        def __init__(self, hidden_units: int, dropout_rate: float) -> None:
            super().__init__()
            self.conv1 = nn.Conv1d(hidden_units, hidden_units, kernel_size=1)
            self.dropout1 = nn.Dropout(p=dropout_rate)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv1d(hidden_units, hidden_units, kernel_size=1)
            self.dropout2 = nn.Dropout(p=dropout_rate)

        def forward(self, inputs: Any) -> Any:
            outputs = self.dropout2(
                self.conv2(self.relu(self.dropout1(self.conv1(inputs.transpose(-1, -2)))))
            )
            outputs = outputs.transpose(-1, -2)
            outputs += inputs
            return outputs

    class SASRec(nn.Module):
        def __init__(self, item_num: int) -> None:
            super().__init__()
            self.item_num = item_num
            self.item_emb = nn.Embedding(item_num + 1, HIDDEN, padding_idx=0)
            self.pos_emb = nn.Embedding(MAXLEN + 1, HIDDEN, padding_idx=0)
            self.emb_dropout = nn.Dropout(p=0.0)
            self.attention_layernorms = nn.ModuleList()
            self.attention_layers = nn.ModuleList()
            self.forward_layernorms = nn.ModuleList()
            self.forward_layers = nn.ModuleList()
            self.last_layernorm = nn.LayerNorm(HIDDEN, eps=1e-8)
            for _ in range(BLOCKS):
                self.attention_layernorms.append(nn.LayerNorm(HIDDEN, eps=1e-8))
                self.attention_layers.append(nn.MultiheadAttention(HIDDEN, HEADS, 0.0))
                self.forward_layernorms.append(nn.LayerNorm(HIDDEN, eps=1e-8))
                self.forward_layers.append(PointWiseFeedForward(HIDDEN, 0.0))

        def log2feats(self, log_seqs: np.ndarray) -> Any:
            seqs = self.item_emb(torch.LongTensor(log_seqs))
            seqs *= self.item_emb.embedding_dim**0.5
            poss = np.tile(np.arange(1, log_seqs.shape[1] + 1), [log_seqs.shape[0], 1])
            poss *= log_seqs != 0
            seqs += self.pos_emb(torch.LongTensor(poss))
            seqs = self.emb_dropout(seqs)
            timeline_mask = torch.BoolTensor(log_seqs == 0)
            seqs *= ~timeline_mask.unsqueeze(-1)
            tl = seqs.shape[1]
            attention_mask = ~torch.tril(torch.ones((tl, tl), dtype=torch.bool))
            for i in range(len(self.attention_layers)):
                seqs = torch.transpose(seqs, 0, 1)
                Q = self.attention_layernorms[i](seqs)
                mha_outputs, _ = self.attention_layers[i](Q, seqs, seqs, attn_mask=attention_mask)
                seqs = Q + mha_outputs
                seqs = torch.transpose(seqs, 0, 1)
                seqs = self.forward_layernorms[i](seqs)
                seqs = self.forward_layers[i](seqs)
                seqs *= ~timeline_mask.unsqueeze(-1)
            return self.last_layernorm(seqs)

        def forward(self, log_seqs: np.ndarray, pos_seqs: np.ndarray, neg_seqs: Any) -> Any:
            log_feats = self.log2feats(log_seqs)
            pos_embs = self.item_emb(torch.LongTensor(pos_seqs))
            neg_embs = self.item_emb(torch.LongTensor(neg_seqs))
            pos_logits = (log_feats * pos_embs).sum(dim=-1)
            neg_logits = (log_feats * neg_embs).sum(dim=-1)
            return pos_logits, neg_logits

        def predict(self, log_seqs: np.ndarray, item_indices: np.ndarray) -> Any:
            log_feats = self.log2feats(log_seqs)
            final_feat = log_feats[:, -1, :]
            item_embs = self.item_emb(torch.LongTensor(item_indices))
            return item_embs.matmul(final_feat.unsqueeze(-1)).squeeze(-1)

    def gather_indexes(output: Any, gather_index: Any) -> Any:
        gather_index = gather_index.view(-1, 1, 1).expand(-1, -1, output.shape[-1])
        output_tensor = output.gather(dim=1, index=gather_index)
        return output_tensor.squeeze(1)

    def extended_attention_mask(item_seq: Any) -> Any:
        attention_mask = item_seq != 0
        ext = attention_mask.unsqueeze(1).unsqueeze(2)  # (B, 1, 1, L)
        ext = torch.tril(ext.expand((-1, -1, item_seq.size(-1), -1)))
        return torch.where(ext, 0.0, -10000.0)

    class Tower(nn.Module):
        def __init__(self, n_ids: int, n_feats: int) -> None:
            super().__init__()
            self.id_emb = nn.Embedding(n_ids, HIDDEN)
            self.mlp = nn.Sequential(nn.Linear(HIDDEN + n_feats, 12), nn.ReLU(), nn.Linear(12, 6))

        def forward(self, ids: Any, feats: Any) -> Any:
            x = torch.cat([self.id_emb(ids), feats], dim=-1)
            return F.normalize(self.mlp(x), p=2, dim=-1)

    class TwoTower(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.query_tower = Tower(USERS, 3)
            self.candidate_tower = Tower(ITEMS + 1, 2)

    return SASRec, TwoTower, gather_indexes, extended_attention_mask


def make_model(torch_like: Any) -> Any:
    SASRec, TwoTower, _, _ = _classes(torch_like)
    model = torch_like.nn.Module()
    model.sasrec = SASRec(ITEMS)
    model.two_tower = TwoTower()
    return model


def _sequences(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left-padded histories (0 = padding), next-item targets and sampled negatives."""
    seq = np.zeros((BATCH, MAXLEN), dtype=np.int64)
    pos = np.zeros((BATCH, MAXLEN), dtype=np.int64)
    neg = np.zeros((BATCH, MAXLEN), dtype=np.int64)
    for u in range(BATCH):
        length = int(rng.integers(2, MAXLEN + 2))
        items = (int(rng.integers(1, ITEMS + 1)) + np.arange(length)) % ITEMS + 1
        hist, nxt = items[:-1][-MAXLEN:], items[1:][-MAXLEN:]
        seq[u, MAXLEN - len(hist) :] = hist
        pos[u, MAXLEN - len(nxt) :] = nxt
        for j in range(MAXLEN - len(nxt), MAXLEN):
            t = int(rng.integers(1, ITEMS + 1))
            while t in items:
                t = int(rng.integers(1, ITEMS + 1))
            neg[u, j] = t
    return seq, pos, neg


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    _, _, gather_indexes, extended_attention_mask = _classes(torch_like)
    holder = make_model(torch_like)
    load_numpy_state(torch, holder, init)
    model, two_tower = holder.sasrec, holder.two_tower
    rng = np.random.default_rng(11)
    values: list[float] = []

    # SASRec training (pmixer's main.py)
    bce_criterion = torch.nn.BCEWithLogitsLoss()
    adam_optimizer = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.9, 0.98))
    model.train()
    for _ in range(3):
        seq, pos, neg = _sequences(rng)
        pos_logits, neg_logits = model(seq, pos, neg)
        pos_labels, neg_labels = torch.ones(pos_logits.shape), torch.zeros(neg_logits.shape)
        adam_optimizer.zero_grad()
        indices = np.where(pos != 0)
        loss = bce_criterion(pos_logits[indices], pos_labels[indices])
        loss += bce_criterion(neg_logits[indices], neg_labels[indices])
        for param in model.item_emb.parameters():
            loss += 0.001 * torch.norm(param)
        loss.backward()
        adam_optimizer.step()
        values += [loss.item(), model.item_emb.weight.grad[0].abs().sum().item()]

    # evaluation: the last position's features, by slicing and by RecBole's gather_indexes
    model.eval()
    seq, pos, _ = _sequences(rng)
    with torch.no_grad():
        feats = model.log2feats(seq)
        item_seq = torch.LongTensor(seq)
        item_seq_len = (item_seq != 0).sum(dim=1)
        # right-aligned sequences: the last valid position is always MAXLEN - 1
        last = gather_indexes(feats, torch.full_like(item_seq_len, MAXLEN - 1))
        values.append((last - feats[:, -1, :]).abs().max().item())
        values += item_seq_len.tolist()
        ext = extended_attention_mask(item_seq)
        values += [ext.sum().item(), float(ext.shape[2])]
        candidates = np.stack([np.concatenate([[p[-1]], np.arange(1, 6)]) for p in pos])
        predictions = -model.predict(seq, candidates)
        # a candidate list may hold the target twice: its two scores then differ by an ulp
        # (rounding order), and which ranks first is noise, so ranks are taken on scores
        # rounded to 1e-9 (ties broken by position in both libraries)
        rank = predictions.round(decimals=9).argsort(stable=True).argsort()[:, 0]
        values += rank.tolist() + [predictions.sum().item()]

    # two-tower retrieval with in-batch negatives and the logQ correction
    optimizer = torch.optim.Adagrad(two_tower.parameters(), lr=0.1)
    temperature, alpha = 0.2, 0.25
    A = torch.zeros(ITEMS + 1)  # last step each item was seen
    B = torch.full((ITEMS + 1,), 4.0)  # estimated steps between sightings
    for t in range(1, 4):
        users = as_tensor(torch, rng.permutation(USERS)[:BATCH])
        items = as_tensor(torch, rng.integers(1, ITEMS + 1, BATCH))
        user_feats = as_tensor(torch, rng.normal(size=(BATCH, 3)))
        item_feats = as_tensor(torch, rng.normal(size=(BATCH, 2)))
        with torch.no_grad():
            seen = torch.unique(items)
            B[seen] = (1 - alpha) * B[seen] + alpha * (t - A[seen])
            A[seen] = float(t)
        p = 1.0 / B[items]
        q = two_tower.query_tower(users, user_feats)
        k = two_tower.candidate_tower(items, item_feats)
        logits = q @ k.T / temperature
        logits = logits - torch.log(p).unsqueeze(0)
        collide = (items[:, None] == items[None, :]) & ~torch.eye(BATCH, dtype=torch.bool)
        logits = logits.masked_fill(collide, torch.finfo(logits.dtype).min)
        labels = torch.arange(BATCH)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), B.sum().item(), int(collide.sum())]

    # recall@k over the whole catalogue
    with torch.no_grad():
        users = torch.arange(USERS)
        q = two_tower.query_tower(users, as_tensor(torch, rng.normal(size=(USERS, 3))))
        all_items = torch.arange(1, ITEMS + 1)
        k = two_tower.candidate_tower(all_items, as_tensor(torch, rng.normal(size=(ITEMS, 2))))
        scores = q @ k.T
        target = as_tensor(torch, rng.integers(0, ITEMS, USERS))
        for top in (1, 3, 5):
            topk = scores.topk(top, dim=1).indices
            hit = (topk == target.unsqueeze(1)).any(dim=1)
            values.append(hit.float().mean().item())
            values.append(sum(bool(torch.isin(target[i], topk[i])) for i in range(USERS)))
        values.append(torch.isin(all_items - 1, scores.topk(2, dim=1).indices).sum().item())
    return values
