"""Sun et al. 2019 "BERT4Rec" as jaywonchung/BERT4Rec-VAE-Pytorch (``models/bert_modules/``,
``dataloaders/bert.py``, ``trainers/bert.py``, ``trainers/utils.py``) writes it, size-reduced.

The idioms: the padding mask ``(x > 0).unsqueeze(1).repeat(1, x.size(1), 1).unsqueeze(1)``;
``TokenEmbedding(nn.Embedding)`` with ``padding_idx=0`` and a learned ``PositionalEmbedding``
read as ``self.pe.weight.unsqueeze(0).repeat(batch_size, 1, 1)``; the hand-written ``GELU``
(``0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * torch.pow(x, 3))))``)
and ``LayerNorm`` (``x.std(-1, keepdim=True)``, ``self.a_2 * (x - mean) / (std + self.eps) +
self.b_2``); ``Attention`` (``torch.matmul(query, key.transpose(-2, -1)) /
math.sqrt(query.size(-1))``, ``scores.masked_fill(mask == 0, -1e9)``, ``F.softmax``);
``MultiHeadedAttention``'s ``[l(x).view(batch_size, -1, self.h, self.d_k).transpose(1, 2) for
l, x in zip(self.linear_layers, (query, key, value))]`` and ``x.transpose(1, 2).contiguous()
.view(batch_size, -1, self.h * self.d_k)``; ``SublayerConnection`` (pre-norm residual) and
``TransformerBlock`` with a ``lambda _x:`` sublayer; the Cloze dataloader (``prob =
self.rng.random()``, ``prob /= self.mask_prob`` choosing ``[MASK]``, a random item or the
item, labels 0 elsewhere, ``tokens[-self.max_len:]``, ``mask_len * [0] + tokens``,
``torch.LongTensor(tokens)``); ``nn.CrossEntropyLoss(ignore_index=0)`` over
``logits.view(-1, logits.size(-1))``; evaluation on ``scores[:, -1, :]`` with ``scores.gather(1,
candidates)`` and ``recalls_and_ndcgs_for_ks`` (``(-scores).argsort(dim=1)``, ``labels.gather(1,
cut)``, ``torch.min(torch.Tensor([k]), labels.sum(1).float())``, ``1 /
torch.log2(position.float())``, ``idcg = torch.Tensor([weights[:min(int(n), k)].sum() for n in
answer_count])``); Adam with ``weight_decay``.

Changed: MovieLens -> 8 NumPy user sequences over 10 items, max_len 6, hidden 8, 2 heads, 2
blocks, dropout 0 (the frameworks' generators differ); candidates are the answer and 3 fixed
negatives; 4 steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

NUM_ITEMS, MAX_LEN, HIDDEN, HEADS, BLOCKS, MASK_PROB = 10, 6, 8, 2, 2, 0.3
MASK_TOKEN = NUM_ITEMS + 1


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class TokenEmbedding(nn.Embedding):
        def __init__(self, vocab_size: int, embed_size: int = 512) -> None:
            super().__init__(vocab_size, embed_size, padding_idx=0)

    class PositionalEmbedding(nn.Module):
        def __init__(self, max_len: int, d_model: int) -> None:
            super().__init__()
            # Compute the positional encodings once in log space.
            self.pe = nn.Embedding(max_len, d_model)

        def forward(self, x: Any) -> Any:
            batch_size = x.size(0)
            return self.pe.weight.unsqueeze(0).repeat(batch_size, 1, 1)

    class BERTEmbedding(nn.Module):
        def __init__(self, vocab_size: int, embed_size: int, max_len: int, dropout=0.1) -> None:
            super().__init__()
            self.token = TokenEmbedding(vocab_size=vocab_size, embed_size=embed_size)
            self.position = PositionalEmbedding(max_len=max_len, d_model=embed_size)
            self.dropout = nn.Dropout(p=dropout)
            self.embed_size = embed_size

        def forward(self, sequence: Any) -> Any:
            x = self.token(sequence) + self.position(sequence)
            return self.dropout(x)

    class GELU(nn.Module):
        def forward(self, x: Any) -> Any:
            return (
                0.5
                * x
                * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * torch.pow(x, 3))))
            )

    class LayerNorm(nn.Module):
        "Construct a layernorm module (See citation for details)."

        def __init__(self, features: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.a_2 = nn.Parameter(torch.ones(features))
            self.b_2 = nn.Parameter(torch.zeros(features))
            self.eps = eps

        def forward(self, x: Any) -> Any:
            mean = x.mean(-1, keepdim=True)
            std = x.std(-1, keepdim=True)
            return self.a_2 * (x - mean) / (std + self.eps) + self.b_2

    class Attention(nn.Module):
        def forward(self, query, key, value, mask=None, dropout=None):
            scores = torch.matmul(query, key.transpose(-2, -1)) / math.sqrt(query.size(-1))
            if mask is not None:
                scores = scores.masked_fill(mask == 0, -1e9)
            p_attn = F.softmax(scores, dim=-1)
            if dropout is not None:
                p_attn = dropout(p_attn)
            return torch.matmul(p_attn, value), p_attn

    class MultiHeadedAttention(nn.Module):
        def __init__(self, h: int, d_model: int, dropout: float = 0.1) -> None:
            super().__init__()
            assert d_model % h == 0
            # We assume d_v always equals d_k
            self.d_k = d_model // h
            self.h = h
            self.linear_layers = nn.ModuleList([nn.Linear(d_model, d_model) for _ in range(3)])
            self.output_linear = nn.Linear(d_model, d_model)
            self.attention = Attention()
            self.dropout = nn.Dropout(p=dropout)

        def forward(self, query, key, value, mask=None):
            batch_size = query.size(0)
            # 1) Do all the linear projections in batch from d_model => h x d_k
            query, key, value = [
                l(x).view(batch_size, -1, self.h, self.d_k).transpose(1, 2)
                for l, x in zip(self.linear_layers, (query, key, value))  # noqa: E741
            ]
            # 2) Apply attention on all the projected vectors in batch.
            x, attn = self.attention(query, key, value, mask=mask, dropout=self.dropout)
            # 3) "Concat" using a view and apply a final linear.
            x = x.transpose(1, 2).contiguous().view(batch_size, -1, self.h * self.d_k)
            return self.output_linear(x)

    class PositionwiseFeedForward(nn.Module):
        def __init__(self, d_model: int, d_ff: int, dropout: float = 0.1) -> None:
            super().__init__()
            self.w_1 = nn.Linear(d_model, d_ff)
            self.w_2 = nn.Linear(d_ff, d_model)
            self.dropout = nn.Dropout(dropout)
            self.activation = GELU()

        def forward(self, x: Any) -> Any:
            return self.w_2(self.dropout(self.activation(self.w_1(x))))

    class SublayerConnection(nn.Module):
        def __init__(self, size: int, dropout: float) -> None:
            super().__init__()
            self.norm = LayerNorm(size)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x: Any, sublayer: Any) -> Any:
            "Apply residual connection to any sublayer with the same size."
            return x + self.dropout(sublayer(self.norm(x)))

    class TransformerBlock(nn.Module):
        def __init__(self, hidden, attn_heads, feed_forward_hidden, dropout) -> None:
            super().__init__()
            self.attention = MultiHeadedAttention(h=attn_heads, d_model=hidden, dropout=dropout)
            self.feed_forward = PositionwiseFeedForward(hidden, feed_forward_hidden, dropout)
            self.input_sublayer = SublayerConnection(size=hidden, dropout=dropout)
            self.output_sublayer = SublayerConnection(size=hidden, dropout=dropout)
            self.dropout = nn.Dropout(p=dropout)

        def forward(self, x: Any, mask: Any) -> Any:
            x = self.input_sublayer(x, lambda _x: self.attention.forward(_x, _x, _x, mask=mask))
            x = self.output_sublayer(x, self.feed_forward)
            return self.dropout(x)

    class BERT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            vocab_size = NUM_ITEMS + 2
            self.embedding = BERTEmbedding(vocab_size, HIDDEN, MAX_LEN, dropout=0.0)
            self.transformer_blocks = nn.ModuleList(
                [TransformerBlock(HIDDEN, HEADS, HIDDEN * 4, 0.0) for _ in range(BLOCKS)]
            )

        def forward(self, x: Any) -> Any:
            mask = (x > 0).unsqueeze(1).repeat(1, x.size(1), 1).unsqueeze(1)
            # embedding the indexed sequence to sequence of vectors
            x = self.embedding(x)
            # running over multiple transformer blocks
            for transformer in self.transformer_blocks:
                x = transformer.forward(x, mask)
            return x

    class BERTModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = BERT()
            self.out = nn.Linear(HIDDEN, NUM_ITEMS + 1)

        def forward(self, x: Any) -> Any:
            x = self.bert(x)
            return self.out(x)

    return BERTModel()


def _cloze(rng: np.random.Generator, seq: list[int]) -> tuple[list[int], list[int]]:
    tokens, labels = [], []
    for s in seq:
        prob = rng.random()
        if prob < MASK_PROB:
            prob /= MASK_PROB
            if prob < 0.8:
                tokens.append(MASK_TOKEN)
            elif prob < 0.9:
                tokens.append(int(rng.integers(1, NUM_ITEMS + 1)))
            else:
                tokens.append(s)
            labels.append(s)
        else:
            tokens.append(s)
            labels.append(0)
    tokens, labels = tokens[-MAX_LEN:], labels[-MAX_LEN:]
    mask_len = MAX_LEN - len(tokens)
    return mask_len * [0] + tokens, mask_len * [0] + labels


def recalls_and_ndcgs_for_ks(torch: Any, scores: Any, labels: Any, ks: list[int]) -> dict:
    metrics = {}
    answer_count = labels.sum(1)
    labels_float = labels.float()
    rank = (-scores).argsort(dim=1)
    cut = rank
    for k in sorted(ks, reverse=True):
        cut = cut[:, :k]
        hits = labels_float.gather(1, cut)
        metrics["Recall@%d" % k] = (  # noqa: UP031 (as in the repo)
            (hits.sum(1) / torch.min(torch.Tensor([k]).to(labels.device), labels.sum(1).float()))
            .mean()
            .cpu()
            .item()
        )
        position = torch.arange(2, 2 + k)
        weights = 1 / torch.log2(position.float())
        dcg = (hits * weights.to(hits.device)).sum(1)
        idcg = torch.Tensor([weights[: min(int(n), k)].sum() for n in answer_count]).to(dcg.device)
        ndcg = (dcg / idcg).mean()
        metrics["NDCG@%d" % k] = ndcg.cpu().item()  # noqa: UP031
    return metrics


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    rng = np.random.default_rng(38)
    users = [list(rng.integers(1, NUM_ITEMS + 1, int(rng.integers(4, 9)))) for _ in range(8)]
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    ce = nn.CrossEntropyLoss(ignore_index=0)
    optimizer = optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    values: list[float] = []
    model.train()
    for _step in range(4):
        batch = [_cloze(rng, [int(i) for i in u]) for u in users]
        seqs = torch.stack([torch.LongTensor(t) for t, _ in batch])
        labels = torch.stack([torch.LongTensor(lab) for _, lab in batch])
        optimizer.zero_grad()
        logits = model(seqs)  # B x T x V
        logits = logits.view(-1, logits.size(-1))  # (B*T) x V
        labels = labels.view(-1)  # B*T
        loss = ce(logits, labels)
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        seqs, candidates = [], []
        for u in users:
            seq = ([int(i) for i in u[:-1]] + [MASK_TOKEN])[-MAX_LEN:]
            seqs.append([0] * (MAX_LEN - len(seq)) + seq)
            candidates.append([int(u[-1])] + [(int(u[-1]) + j) % NUM_ITEMS + 1 for j in (1, 3, 5)])
        seqs, candidates = torch.LongTensor(seqs), torch.LongTensor(candidates)
        labels = torch.LongTensor([[1] + [0] * 3] * len(users))
        scores = model(seqs)  # B x T x V
        scores = scores[:, -1, :]  # B x V
        scores = scores.gather(1, candidates)  # B x C
        metrics = recalls_and_ndcgs_for_ks(torch, scores, labels, [1, 3])
    values += [metrics[k] for k in sorted(metrics)] + scores.flatten().tolist()
    return values
