"""Mixture-of-Depths, as the public PyTorch re-implementations of Raposo et al. write it
(astramind-ai/Mixture-of-depths' ``MoD`` wrapper, George Grigorev's nanoGPT MoD, kyegomez's
``MoD``): a per-token router picks the top-k tokens of each sequence to go through a block,
the rest skip it; size-reduced to a two-layer causal transformer (capacity 1/2 of 8 tokens).

The idioms: ``router_logits = self.router(x)`` of shape (b, s, 1), ``torch.topk(router_logits,
k, dim=1, sorted=False)`` followed by ``selected_tokens, index = torch.sort(selected_tokens,
dim=1)`` (the causal order back, whatever order the unsorted top-k gave) and ``weights =
torch.gather(weights, dim=1, index=index)``; ``indices_expanded = selected_tokens.expand(-1, -1,
d)``, ``filtered_x = torch.gather(input=x, dim=1, index=indices_expanded)``; the block's residual
delta scaled by the router weight, in its straight-through form ``gate = torch.sigmoid(weights);
gate = gate + (1.0 - gate).detach()`` and plainly by ``weights``; the merge back with
``torch.scatter(input=x, dim=1, index=indices_expanded, src=x_out)`` and with
``x.scatter_add(1, indices_expanded, delta)``; the auxiliary router loss
``F.binary_cross_entropy_with_logits(router_logits, torch.zeros_like(router_logits).scatter_(1,
selected_tokens, 1.0))`` and the auxiliary MLP predictor trained on ``router_targets`` with the
input ``x.detach()``; a causal mask from ``torch.tril(torch.ones(s, s, dtype=torch.bool))`` for
the routed subsequence (``F.scaled_dot_product_attention(..., attn_mask=mask)``); and the
inference-time routing ``(torch.sigmoid(aux_logits) > 0.5)`` with ``nonzero``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, D, SEQ, CAPACITY, STEPS = 11, 8, 8, 0.5, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class Block(nn.Module):
        """A pre-norm block returning its residual delta (attention + MLP)."""

        def __init__(self) -> None:
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(D), nn.LayerNorm(D)
            self.c_attn = nn.Linear(D, 3 * D)
            self.c_proj = nn.Linear(D, D)
            self.mlp = nn.Sequential(nn.Linear(D, 2 * D), nn.GELU(), nn.Linear(2 * D, D))

        def forward(self, x: Any) -> Any:
            b, s, _ = x.shape
            q, k, v = (
                self.c_attn(self.ln_1(x)).view(b, s, 2, 3 * D // 2).transpose(1, 2).chunk(3, -1)
            )
            mask = torch.tril(torch.ones(s, s, dtype=torch.bool))
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            h = self.c_proj(y.transpose(1, 2).reshape(b, s, D))
            return h + self.mlp(self.ln_2(x + h))

    class MoD(nn.Module):
        def __init__(self, block: Any, capacity_factor: float, straight_through: bool) -> None:
            super().__init__()
            self.block = block
            self.router = nn.Linear(D, 1, bias=False)
            self.aux_router = nn.Sequential(nn.Linear(D, D // 2), nn.SiLU(), nn.Linear(D // 2, 1))
            self.capacity_factor = capacity_factor
            self.straight_through = straight_through

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            b, s, d = x.shape
            k = int(self.capacity_factor * s)
            router_logits = self.router(x)  # (b, s, 1)
            weights, selected_tokens = torch.topk(router_logits, k, dim=1, sorted=False)
            selected_tokens, index = torch.sort(selected_tokens, dim=1)
            weights = torch.gather(weights, dim=1, index=index)
            indices_expanded = selected_tokens.expand(-1, -1, d)
            filtered_x = torch.gather(input=x, dim=1, index=indices_expanded)
            delta = self.block(filtered_x)
            if self.straight_through:
                gate = torch.sigmoid(weights)
                gate = gate + (1.0 - gate).detach()
                x_out = filtered_x + delta * gate
                out = torch.scatter(input=x, dim=1, index=indices_expanded, src=x_out)
            else:
                out = x.scatter_add(1, indices_expanded, delta * weights)
            router_targets = torch.zeros_like(router_logits).scatter_(1, selected_tokens, 1.0)
            aux_loss = F.binary_cross_entropy_with_logits(router_logits, router_targets)
            aux_logits = self.aux_router(x.detach())
            aux_pred_loss = F.binary_cross_entropy_with_logits(aux_logits, router_targets)
            return out, aux_loss, aux_pred_loss

    class MoDLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(VOCAB, D)
            self.wpe = nn.Embedding(SEQ, D)
            self.h = nn.ModuleList(
                [MoD(Block(), CAPACITY, True), Block(), MoD(Block(), CAPACITY, False)]
            )
            self.ln_f = nn.LayerNorm(D)
            self.lm_head = nn.Linear(D, VOCAB, bias=False)

        def forward(self, idx: Any) -> tuple[Any, Any, Any]:
            x = self.wte(idx) + self.wpe(torch.arange(idx.size(1)))
            aux, aux_pred = 0.0, 0.0
            for layer in self.h:
                if isinstance(layer, MoD):
                    x, a, p = layer(x)
                    aux, aux_pred = aux + a, aux_pred + p
                else:
                    x = x + layer(x)
            return self.lm_head(self.ln_f(x)), aux, aux_pred

    return MoDLM()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    rng = np.random.default_rng(15)
    values: list[float] = []
    for _step in range(STEPS):
        ids = as_tensor(torch_like, rng.integers(0, VOCAB, (3, SEQ + 1)))
        x, y = ids[:, :-1], ids[:, 1:]
        logits, aux, aux_pred = model(x)
        lm = F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))
        loss = lm + 0.01 * aux + 0.01 * aux_pred
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.extend([lm.item(), aux.item(), aux_pred.item()])
    with torch.no_grad():  # inference routes by the causal predictor, not by top-k
        h = model.wte(x) + model.wpe(torch.arange(SEQ))
        routed = torch.sigmoid(model.h[0].aux_router(h)) > 0.5
        values += [float(routed.sum()), float(routed.squeeze(-1).nonzero().sum())]
    return values
