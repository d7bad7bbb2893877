"""A GPT-style causal language model written by hand, the way from-scratch tutorials do:
a causal mask kept as a buffer (``register_buffer`` of ``tril(ones)``), ``masked_fill`` with
``float("-inf")``, ``einsum`` attention scores, ``F.scaled_dot_product_attention(is_causal=True)``
in a second head for comparison, weight tying (``head.weight = tok.weight``), pre-LayerNorm
residual blocks in a ``ModuleList``, AdamW with decay/no-decay parameter groups, and greedy
decoding with ``topk`` under ``@no_grad()``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

VOCAB, D, HEADS, BLOCK, LAYERS = 13, 8, 2, 6, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(D, 3 * D)
            self.proj = nn.Linear(D, D)
            self.register_buffer(
                "mask", torch_like.tril(torch_like.ones(BLOCK, BLOCK)).view(1, 1, BLOCK, BLOCK)
            )

        def forward(self, x: Any) -> Any:
            b, t, c = x.size()
            q, k, v = self.qkv(x).split(D, dim=2)
            q, k, v = (z.view(b, t, HEADS, c // HEADS).transpose(1, 2) for z in (q, k, v))
            att = torch_like.einsum("bhid,bhjd->bhij", q, k) / math.sqrt(k.size(-1))
            att = att.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf"))
            y = F.softmax(att, dim=-1) @ v
            y_fused = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            y = (y + y_fused) / 2  # the two must agree; averaging keeps both in the graph
            return self.proj(y.transpose(1, 2).contiguous().view(b, t, c))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
            self.attn = CausalSelfAttention()
            self.mlp = nn.Sequential(
                nn.Linear(D, 4 * D), nn.GELU(approximate="tanh"), nn.Linear(4 * D, D)
            )

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class TinyGPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok = nn.Embedding(VOCAB, D)
            self.pos = nn.Embedding(BLOCK, D)
            self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
            self.ln_f = nn.LayerNorm(D)
            self.head = nn.Linear(D, VOCAB, bias=False)
            self.head.weight = self.tok.weight  # weight tying

        def forward(self, idx: Any, targets: Any = None) -> tuple[Any, Any]:
            t = idx.size(1)
            pos = torch_like.arange(0, t, dtype=torch_like.long)
            x = self.tok(idx) + self.pos(pos)
            for block in self.blocks:
                x = block(x)
            logits = self.head(self.ln_f(x))
            loss = None
            if targets is not None:
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
            return logits, loss

        @torch_like.no_grad()
        def generate(self, idx: Any, steps: int) -> Any:
            for _ in range(steps):
                logits, _ = self(idx[:, -BLOCK:])
                _, next_id = torch_like.topk(logits[:, -1, :], k=1, dim=-1)
                idx = torch_like.cat((idx, next_id), dim=1)
            return idx

    return TinyGPT()


def run(torch_like: Any, init: dict | None) -> list[float]:
    rng = np.random.default_rng(17)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    assert model.head.weight is model.tok.weight
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch_like.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=3e-3,
        betas=(0.9, 0.95),
    )
    losses = []
    for _step in range(3):
        chunk = rng.integers(0, VOCAB, (2, BLOCK + 1))
        x, y = as_tensor(torch_like, chunk[:, :-1]), as_tensor(torch_like, chunk[:, 1:])
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch_like.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    out = model.generate(as_tensor(torch_like, np.array([[1, 2]])), steps=5)
    return [*losses, *out[0].tolist()]
