"""Stick-breaking attention (Tan et al., "Scaling Stick-Breaking Attention", ICLR 2025;
``shawntan/stickbreaking-attention``'s PyTorch reference ``sb_ref.stickbreaking``): each query
breaks a stick from the nearest key backwards, ``A_ij = beta_ij * prod_{j<k<i} (1 - beta_ik)``
with ``beta = sigmoid(q.k / sqrt(d))``, computed in log space; no position embedding.

The idioms kept: ``mask = torch.ones(length, length).triu(0).bool()`` and ``cum_weight =
torch.ones(length, length).tril(-1)``; ``logits = (q @ k.transpose(-1, -2)) /
math.sqrt(q.shape[-1])`` upcast with ``.float()``; ``log_z = F.logsigmoid(logits)
.masked_fill(mask, -1e5)``, ``log_beta = F.logsigmoid(-logits).masked_fill(mask, 0)``; the
reversed cumulative sum as a matrix product ``torch.einsum("bhij,jk->bhik", log_beta,
cum_weight)``; ``att = log_att.exp()`` and the leftover stick ``rem = 1 - att.sum(dim=-1)``
given to the query's own value (the reference layer's ``o + rem[..., None] * v``); the
attention row checked against the product written as a Python loop over ``k`` with
``torch.prod``; ``torch.nn.utils.clip_grad_norm_`` before ``AdamW``.

Changed: width 16, 2 heads, sequences of 8, batches of 3, one block, 4 steps of next-token
prediction over 7 symbols, float32 (the reference upcasts bfloat16 logits to float32).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
DIM, HEADS, SEQ, BATCH, VOCAB, STEPS = 16, 2, 8, 3, 7, 4


def stickbreaking(torch: Any, q: Any, k: Any, v: Any, mask: Any, cum_weight: Any) -> Any:
    F = torch.nn.functional
    logits = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    original_dtype = logits.dtype
    logits = logits.float()
    log_z = F.logsigmoid(logits).masked_fill(mask, -1e5).to(original_dtype)
    log_beta = F.logsigmoid(-logits).masked_fill(mask, 0).to(original_dtype)
    re_cum_log_beta = torch.einsum("bhij,jk->bhik", log_beta, cum_weight.to(log_beta))
    log_att = log_z + re_cum_log_beta
    att = log_att.exp()
    return att @ v, 1 - att.sum(dim=-1), att, logits


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn

    class SBAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(DIM, 3 * DIM, bias=False)
            self.out = nn.Linear(DIM, DIM, bias=False)
            self.last = None

        def forward(self, x: Any) -> Any:
            b, n, _ = x.shape
            q, k, v = self.qkv(x).view(b, n, 3, HEADS, -1).permute(2, 0, 3, 1, 4)
            mask = torch.ones(n, n).triu(0).bool()
            cum_weight = torch.ones(n, n).tril(-1)
            o, rem, att, logits = stickbreaking(torch, q, k, v, mask, cum_weight)
            o = o + rem[..., None] * v
            self.last = (att.detach(), logits.detach())
            return self.out(o.transpose(1, 2).reshape(b, n, DIM))

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, DIM)
            self.norm = nn.LayerNorm(DIM)
            self.attn = SBAttention()
            self.head = nn.Linear(DIM, VOCAB)

        def forward(self, tokens: Any) -> Any:
            h = self.embed(tokens)
            return self.head(h + self.attn(self.norm(h)))

    return Model()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(37)
    values: list[float] = []
    for _ in range(STEPS):
        start = rng.integers(0, VOCAB, (BATCH, 1))
        tokens = as_tensor(torch, (start + np.arange(SEQ + 1) ** 2) % VOCAB)
        logits = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values += [loss.item(), norm.item()]
    att, scores = model.attn.last
    i = SEQ - 1
    beta = torch.sigmoid(scores[0, 0, i])
    row = torch.stack([beta[j] * torch.prod(1 - beta[j + 1 : i]) for j in range(i)])
    values.append(float(torch.allclose(att[0, 0, i, :i], row, atol=1e-6)))
    return values + att[0, 1, i].tolist() + [att[..., :].sum(-1).max().item()]
