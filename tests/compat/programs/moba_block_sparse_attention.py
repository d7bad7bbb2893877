"""MoBA, Moonshot AI's mixture of block attention (MoonshotAI/MoBA, ``moba/moba_naive.py``), the
reference path over packed variable-length sequences, inside a tiny causal LM trained a few
steps.

The idioms kept: ``cu_seqlens`` (``F.pad(torch.cumsum(lengths, 0), (1, 0))``) read with
``.item()``; per sequence, the block keys ``k_[block_start:block_end].mean(dim=0,
keepdim=True)`` joined with ``torch.cat``; the fp32 gate ``torch.einsum("shd,nhd->hsn", q_,
key_gate_weight)`` (``.type(torch.float32)`` / ``.type_as(k)``); the future blocks set to
``-inf`` and the current block to ``inf`` by slice assignment ``gate[:, : (i + 1) *
chunk, i] = float("-inf")``; ``torch.topk(gate, k=min(topk, num_block), dim=-1,
largest=True, sorted=False)``, ``gate_top_k_val.min(dim=-1)``, ``need_attend = gate >=
...unsqueeze(-1)`` and'ed with ``torch.zeros(..., dtype=torch.bool).scatter_(dim=-1,
index=gate_top_k_idx, value=True)``; ``gate[need_attend] = 0``, ``gate[~need_attend] =
-float("inf")``; ``gate.repeat_interleave(chunk, dim=-1)[:, :, :batch_size]`` and
``masked_fill_`` of ``torch.ones_like(gate, dtype=torch.bool).tril().logical_not()``; ``qk
+= gate; qk *= softmax_scale``; ``o_ += torch.einsum("hxy,yhd->xhd", p, v_)`` into a slice of
``o = torch.zeros_like(q)`` (an in-place add through a view that gives ``o`` its graph).

Checked as the repository's tests do: with ``topk >= num_block`` MoBA is full causal attention
(``F.scaled_dot_product_attention(..., is_causal=True)`` per sequence).

Changed: two packed sequences of 7 and 5 tokens, 2 heads of 4, chunk 2, top-3 blocks, one layer,
4 AdamW steps, in float32.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

# float32 as MoBA runs (its gate is float32 whatever the model's dtype)
DTYPE = "float32"
VOCAB, DIM, HEADS, HEAD_DIM, CHUNK, TOPK, STEPS = 11, 8, 2, 4, 2, 3, 4


def moba_attn_varlen_naive(torch: Any, q: Any, k: Any, v: Any, cu_seqlens: Any,
                           moba_chunk_size: int, moba_topk: int) -> Any:  # fmt: skip
    batch = cu_seqlens.numel() - 1
    softmax_scale = q.shape[-1] ** (-0.5)
    o = torch.zeros_like(q)
    for batch_idx in range(batch):
        batch_start = cu_seqlens[batch_idx].item()
        batch_end = cu_seqlens[batch_idx + 1].item()
        q_ = q[batch_start:batch_end]
        k_ = k[batch_start:batch_end]
        v_ = v[batch_start:batch_end]
        o_ = o[batch_start:batch_end]
        key_gate_weight = []
        batch_size = batch_end - batch_start
        num_block = math.ceil(batch_size / moba_chunk_size)
        for block_idx in range(0, num_block):
            block_start = block_idx * moba_chunk_size
            block_end = min(batch_size, block_start + moba_chunk_size)
            key_gate_weight.append(k_[block_start:block_end].mean(dim=0, keepdim=True))
        key_gate_weight = torch.cat(key_gate_weight, dim=0)
        q_ = q_.type(torch.float32)
        key_gate_weight = key_gate_weight.type(torch.float32)
        gate = torch.einsum("shd,nhd->hsn", q_, key_gate_weight)
        key_gate_weight = key_gate_weight.type_as(k)
        q_ = q_.type_as(k)
        for i in range(num_block):
            gate[:, : (i + 1) * moba_chunk_size, i] = float("-inf")
            gate[:, i * moba_chunk_size : (i + 1) * moba_chunk_size, i] = float("inf")
        gate_top_k_val, gate_top_k_idx = torch.topk(
            gate, k=min(moba_topk, num_block), dim=-1, largest=True, sorted=False
        )
        gate_top_k_val, _ = gate_top_k_val.min(dim=-1)
        need_attend = gate >= gate_top_k_val.unsqueeze(-1)
        gate_idx_mask = torch.zeros(need_attend.shape, dtype=torch.bool, device=q.device)
        gate_idx_mask = gate_idx_mask.scatter_(dim=-1, index=gate_top_k_idx, value=True)
        need_attend = torch.logical_and(need_attend, gate_idx_mask)
        gate[need_attend] = 0
        gate[~need_attend] = -float("inf")
        gate = gate.repeat_interleave(moba_chunk_size, dim=-1)[:, :, :batch_size]
        gate.masked_fill_(
            torch.ones_like(gate, dtype=torch.bool).tril().logical_not(), -float("inf")
        )
        q_ = q_.type(torch.float32)
        k_ = k_.type(torch.float32)
        v_ = v_.type(torch.float32)
        qk = torch.einsum("xhd,yhd->hxy", q_, k_)
        qk += gate
        qk *= softmax_scale
        p = qk.softmax(dim=-1)
        o_ += torch.einsum("hxy,yhd->xhd", p, v_).type_as(o_)
        o = o.type_as(q)
    return o


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class MobaLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, DIM)
            self.norm = nn.LayerNorm(DIM)
            self.qkv = nn.Linear(DIM, 3 * HEADS * HEAD_DIM, bias=False)
            self.o_proj = nn.Linear(HEADS * HEAD_DIM, DIM, bias=False)
            self.head = nn.Linear(DIM, VOCAB)

        def forward(self, ids: Any, cu_seqlens: Any, topk: int = TOPK, full: bool = False) -> Any:
            torch = torch_like
            x = self.embed(ids)
            q, k, v = self.qkv(self.norm(x)).view(-1, 3, HEADS, HEAD_DIM).unbind(dim=1)
            if full:
                outs = []
                for s, e in zip(cu_seqlens[:-1].tolist(), cu_seqlens[1:].tolist()):
                    qs, ks, vs = (t[s:e].transpose(0, 1) for t in (q, k, v))
                    o = torch.nn.functional.scaled_dot_product_attention(qs, ks, vs, is_causal=True)
                    outs.append(o.transpose(0, 1))
                o = torch.cat(outs)
            else:
                o = moba_attn_varlen_naive(torch, q, k, v, cu_seqlens, CHUNK, topk)
            x = x + self.o_proj(o.reshape(-1, HEADS * HEAD_DIM))
            return self.head(x)

    return MobaLM()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    rng = np.random.default_rng(46)
    lengths = torch.tensor([7, 5])
    cu_seqlens = F.pad(torch.cumsum(lengths, 0), (1, 0))
    values: list[float] = []
    for _ in range(STEPS):
        ids = as_tensor(torch, rng.integers(0, VOCAB, size=int(lengths.sum())))
        targets = torch.roll(ids, -1)
        keep = torch.ones_like(ids, dtype=torch.bool)
        keep[cu_seqlens[1:] - 1] = False  # no target past the end of a sequence
        logits = model(ids, cu_seqlens)
        loss = F.cross_entropy(logits[keep], targets[keep])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        values.append(loss.item())
    with torch.no_grad():
        ids = as_tensor(torch, rng.integers(0, VOCAB, size=12))
        sparse = model(ids, cu_seqlens, topk=1)
        dense = model(ids, cu_seqlens, topk=4)
        full = model(ids, cu_seqlens, full=True)
    values += [float((dense - full).abs().max() < 1e-5), sparse.sum().item(), dense.sum().item()]
    return values
