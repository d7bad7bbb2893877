"""The Forgetting Transformer (FoX, Lin et al., ICLR 2025, ``zhixuan-lin/forgetting-
transformer``): softmax attention whose logits are decayed by a data-dependent forget gate,
``o_i = sum_j softmax(q_i k_j + D_ij) v_j`` with ``D_ij = sum_{l=j+1..i} log f_l``, in the
reference's plain-PyTorch form, and the "Pro" block's extras.

The idioms kept: ``fgate_logit = self.fgate_proj(x)`` per head and ``log_fgate =
F.logsigmoid(fgate_logit.float())``; the cumulative ``c = torch.cumsum(log_fgate, dim=-1)`` and
the bias ``D = c[..., :, None] - c[..., None, :]`` masked above the diagonal with
``torch.triu(torch.ones(..., dtype=torch.bool), diagonal=1)`` and ``masked_fill(-inf)``;
``F.scaled_dot_product_attention(q, k, v, attn_mask=D)`` with a float mask, checked against the
explicit ``softmax(q @ k.T * scale + D) @ v``; the Pro block's QK-norm (``nn.RMSNorm`` on the
head dimension), output gate ``torch.sigmoid(self.ogate_proj(x))``, and the data-dependent
key shift ``k = alpha * k + (1 - alpha) * F.pad(k, (0, 0, 1, -1))`` (a one-token shift with
a negative pad); the forget-gate bias initialised so that ``sigmoid(b)`` starts near 1
(``nn.init.constant_``), which FoX found helps; the gate values' mean reported.

Changed: width 16, 2 heads of 8, sequences of 8, batches of 3, one block, 4 AdamW steps of
next-token prediction on a repeating pattern over 9 symbols, in float32.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # the reference computes the forget gates in float32 (``.float()``)
DIM, HEADS, HEAD_DIM, SEQ, BATCH, VOCAB, STEPS = 16, 2, 8, 8, 3, 9, 4


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    class ForgettingAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q_proj = nn.Linear(DIM, DIM, bias=False)
            self.k_proj = nn.Linear(DIM, DIM, bias=False)
            self.v_proj = nn.Linear(DIM, DIM, bias=False)
            self.fgate_proj = nn.Linear(DIM, HEADS)
            self.ogate_proj = nn.Linear(DIM, DIM, bias=False)
            self.shift_proj = nn.Linear(DIM, HEADS, bias=False)
            self.q_norm = nn.RMSNorm(HEAD_DIM)
            self.k_norm = nn.RMSNorm(HEAD_DIM)
            self.o_proj = nn.Linear(DIM, DIM, bias=False)
            nn.init.constant_(self.fgate_proj.bias, 3.0)

        def heads(self, t: Any) -> Any:
            b, n, _ = t.shape
            return t.view(b, n, HEADS, HEAD_DIM).transpose(1, 2)

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            b, n, _ = x.shape
            q = self.q_norm(self.heads(self.q_proj(x)))
            k = self.heads(self.k_proj(x))
            alpha = torch.sigmoid(self.shift_proj(x)).transpose(1, 2)[..., None]
            k = alpha * k + (1 - alpha) * F.pad(k, (0, 0, 1, -1))
            k = self.k_norm(k)
            v = self.heads(self.v_proj(x))
            log_fgate = F.logsigmoid(self.fgate_proj(x).float()).transpose(1, 2)  # b h n
            c = torch.cumsum(log_fgate, dim=-1)
            D = c[..., :, None] - c[..., None, :]
            future = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
            D = D.masked_fill(future, float("-inf"))
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=D.to(q.dtype))
            ref = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(HEAD_DIM) + D, dim=-1) @ v
            agree = torch.allclose(o, ref, atol=1e-5)
            o = o.transpose(1, 2).reshape(b, n, DIM) * torch.sigmoid(self.ogate_proj(x))
            return self.o_proj(o), agree, log_fgate.exp().mean()

    class FoX(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, DIM)
            self.norm1 = nn.RMSNorm(DIM)
            self.attn = ForgettingAttention()
            self.norm2 = nn.RMSNorm(DIM)
            self.mlp = nn.Sequential(nn.Linear(DIM, 2 * DIM), nn.SiLU(), nn.Linear(2 * DIM, DIM))
            self.head = nn.Linear(DIM, VOCAB)

        def forward(self, tokens: Any) -> tuple[Any, Any, Any]:
            h = self.embed(tokens)
            a, agree, gate = self.attn(self.norm1(h))
            h = h + a
            h = h + self.mlp(self.norm2(h))
            return self.head(h), agree, gate

    return FoX()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(29)
    values: list[float] = []
    for _ in range(STEPS):
        start = rng.integers(0, VOCAB, (BATCH, 1))
        tokens = as_tensor(torch, (start + np.arange(SEQ + 1) * 4) % VOCAB)
        logits, agree, gate = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), float(agree), gate.item()]
        values.append(model.attn.fgate_proj.bias.grad.abs().sum().item())
    return values
