"""Native Sparse Attention (DeepSeek's NSA, Yuan et al. 2025) in plain PyTorch, as the
reference implementations write it before a Triton kernel (``native-sparse-attention-pytorch``,
``fla``'s ``naive_nsa``): three branches over the same queries, gated per head.

The idioms kept: the compression branch (keys and values cut into overlapping blocks with
``k.unfold(1, block, stride)``, an intra-block position embedding added, each block flattened
and mapped by an MLP to one compressed token; queries attend to the compressed tokens whose
block has ended, a boolean mask built from ``torch.arange``); the selection branch (the
compressed attention probabilities summed over the heads of a GQA group as block importance,
``masked_fill`` of future blocks with ``-inf``, the first and the current block forced in,
``importance.topk(n, dim=-1).indices``, a token mask built with ``scatter`` of the chosen
blocks and ``repeat_interleave`` to tokens, then ``F.scaled_dot_product_attention`` with that
boolean ``attn_mask`` and ``enable_gqa=True``); the sliding-window branch (a band mask from
``(i - j) < window``); the gates ``torch.sigmoid(self.to_gates(x))`` split per branch with
``rearrange``-style ``view``/``permute``; ``torch.einsum`` for the compressed scores.

Changed: dimension 16, 4 query heads over 2 key/value heads, sequences of 16, compression
blocks of 4 with stride 2, selection blocks of 4 (top 2 besides the forced ones), window 4,
3 AdamW steps of next-token prediction over 11 symbols.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, HEADS, KV_HEADS, HEAD_DIM, SEQ, BATCH, VOCAB, STEPS = 16, 4, 2, 4, 16, 2, 11, 3
CMP_BLOCK, CMP_STRIDE, SEL_BLOCK, SEL_TOP, WINDOW = 4, 2, 4, 2, 4


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    class NativeSparseAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.to_q = nn.Linear(DIM, HEADS * HEAD_DIM, bias=False)
            self.to_kv = nn.Linear(DIM, 2 * KV_HEADS * HEAD_DIM, bias=False)
            self.k_pos = nn.Parameter(torch.zeros(KV_HEADS, CMP_BLOCK, HEAD_DIM))
            self.v_pos = nn.Parameter(torch.zeros(KV_HEADS, CMP_BLOCK, HEAD_DIM))
            self.k_compress = nn.Sequential(nn.Linear(CMP_BLOCK * HEAD_DIM, HEAD_DIM), nn.SiLU(),
                                            nn.Linear(HEAD_DIM, HEAD_DIM))  # fmt: skip
            self.v_compress = nn.Sequential(nn.Linear(CMP_BLOCK * HEAD_DIM, HEAD_DIM), nn.SiLU(),
                                            nn.Linear(HEAD_DIM, HEAD_DIM))  # fmt: skip
            self.to_gates = nn.Linear(DIM, 3 * HEADS)
            self.to_out = nn.Linear(HEADS * HEAD_DIM, DIM, bias=False)

        def compress(self, t: Any, pos: Any, mlp: Any) -> Any:
            blocks = t.unfold(2, CMP_BLOCK, CMP_STRIDE).transpose(-1, -2)  # b h n block d
            blocks = blocks + pos[:, None]
            return mlp(blocks.flatten(-2))

        def forward(self, x: Any) -> tuple[Any, Any]:
            b, n, _ = x.shape
            q = self.to_q(x).view(b, n, HEADS, HEAD_DIM).transpose(1, 2)
            k, v = self.to_kv(x).view(b, n, 2, KV_HEADS, HEAD_DIM).permute(2, 0, 3, 1, 4)
            group = HEADS // KV_HEADS
            # compression branch
            ck = self.compress(k, self.k_pos, self.k_compress)
            cv = self.compress(v, self.v_pos, self.v_compress)
            n_cmp = ck.shape[2]
            block_end = torch.arange(n_cmp) * CMP_STRIDE + CMP_BLOCK - 1
            visible = block_end[None, :] <= torch.arange(n)[:, None]
            qg = q.view(b, KV_HEADS, group, n, HEAD_DIM)
            scores = torch.einsum("bhgid,bhjd->bhgij", qg, ck) / math.sqrt(HEAD_DIM)
            scores = scores.masked_fill(~visible, float("-inf"))
            probs = scores.softmax(dim=-1).nan_to_num(0.0)
            cmp_out = torch.einsum("bhgij,bhjd->bhgid", probs, cv).reshape(b, HEADS, n, HEAD_DIM)
            # selection branch: compressed probabilities -> selection-block importance
            n_sel = n // SEL_BLOCK
            owner = torch.clamp(block_end // SEL_BLOCK, max=n_sel - 1)
            importance = torch.zeros(b, KV_HEADS, n, n_sel).index_add(
                -1, owner, probs.detach().sum(2)
            )
            query_block = torch.arange(n) // SEL_BLOCK
            future = torch.arange(n_sel)[None, :] > query_block[:, None]
            importance = importance + 1e-3 * torch.arange(n_sel)  # ties: the later block
            importance = importance.masked_fill(future, float("-inf"))
            importance[..., 0] = float("inf")
            importance = importance.scatter(-1, query_block.expand(b, KV_HEADS, n)[..., None],
                                            float("inf"))  # fmt: skip
            chosen = importance.topk(min(SEL_TOP + 1, n_sel), dim=-1).indices
            block_mask = torch.zeros(b, KV_HEADS, n, n_sel, dtype=torch.bool).scatter(
                -1, chosen, True
            )
            token_mask = block_mask.repeat_interleave(SEL_BLOCK, dim=-1)
            causal = torch.ones(n, n, dtype=torch.bool).tril()
            sel_mask = (token_mask & causal).repeat_interleave(group, dim=1)
            sel_out = F.scaled_dot_product_attention(q, k, v, attn_mask=sel_mask,
                                                     enable_gqa=True)  # fmt: skip
            # sliding-window branch
            i, j = torch.arange(n)[:, None], torch.arange(n)[None, :]
            band = (j <= i) & ((i - j) < WINDOW)
            win_out = F.scaled_dot_product_attention(q, k, v, attn_mask=band, enable_gqa=True)
            gates = torch.sigmoid(self.to_gates(x)).view(b, n, 3, HEADS).permute(2, 0, 3, 1)
            out = gates[0, ..., None] * cmp_out + gates[1, ..., None] * sel_out
            out = out + gates[2, ..., None] * win_out
            return self.to_out(out.transpose(1, 2).reshape(b, n, -1)), chosen

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, DIM)
            self.norm = nn.RMSNorm(DIM)
            self.attn = NativeSparseAttention()
            self.head = nn.Linear(DIM, VOCAB)

        def forward(self, tokens: Any) -> tuple[Any, Any]:
            h = self.embed(tokens)
            a, chosen = self.attn(self.norm(h))
            return self.head(h + a), chosen

    return Model()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    rng = np.random.default_rng(11)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    values: list[float] = []
    for _ in range(STEPS):
        start = rng.integers(0, VOCAB, (BATCH, 1))
        tokens = as_tensor(torch, (start + 3 * np.arange(SEQ + 1)) % VOCAB)
        logits, chosen = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.attn.k_pos.grad.abs().sum().item()]
        values += chosen.sort(dim=-1).values[0, :, -1].flatten().tolist()
    return values
