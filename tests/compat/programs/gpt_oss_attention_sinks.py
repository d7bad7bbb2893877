"""gpt-oss's decoder layer in plain PyTorch (OpenAI's reference ``gpt_oss/torch/model.py``,
2025): attention with learned per-head sinks, sliding-window attention on alternating layers,
grouped-query heads, YaRN-free rotary embedding, and a top-k MoE of clamped SwiGLU experts.

The idioms kept: ``self.sinks = torch.nn.Parameter(torch.empty(num_attention_heads))`` and
the reference ``sdpa``: ``Q = Q.view(n_tokens, n_heads, q_mult, d_head)``,
``K = K[:, :, None, :].expand(-1, -1, q_mult, -1)``, ``S = torch.einsum("qhmd,khmd->hmqk",
Q, K) * sm_scale``, the causal (and ``torch.tril(..., diagonal=-sliding_window)``) mask
``S += mask[None, None, :, :]``, the sink logit concatenated as an extra column ``S =
torch.cat([S, S_sink], dim=-1)``, ``torch.softmax(S, dim=-1)`` and the column dropped
(``W = W[..., :-1]``), ``torch.einsum("hmqk,khmd->qhmd", W, V)``; the fused ``qkv`` linear
split by slicing; ``swiglu`` with ``x_glu, x_linear = x[..., ::2], x[..., 1::2]``,
``x_glu.clamp(min=None, max=limit)``, ``x_linear.clamp(min=-limit, max=limit)``,
``x_glu * torch.sigmoid(alpha * x_glu)`` and ``(x_linear + 1)``; the MoE gate's
``torch.topk(g, k=experts_per_token, dim=-1, sorted=True)`` with ``softmax`` over the
chosen logits, the experts' weights gathered by index (``self.mlp1_weight[expert_indices,
...]``) and applied by ``torch.einsum("beck,bk->bec", ...)``; ``RMSNorm`` with its float32
upcast; the rotary ``_apply_rotary_emb`` on split halves; ``layer_idx % 2 == 0`` choosing
the sliding window.

Changed: hidden 16, 4 query heads over 2 key/value heads of width 4, 4 experts with top 2,
window 4, 2 layers, sequence 10, 3 AdamW steps of next-token prediction (the reference runs
inference), float32 throughout (the reference runs bfloat16 weights).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # the reference's RMSNorm and rotary frequencies compute in float32
HIDDEN, HEADS, KV, HEAD_DIM, EXPERTS, TOP, WINDOW, LAYERS, VOCAB, SEQ, STEPS = (
    16, 4, 2, 4, 4, 2, 4, 2, 13, 10, 3)  # fmt: skip
SWIGLU_LIMIT, ALPHA, INTER = 7.0, 1.702, 8


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn

    class RMSNorm(nn.Module):
        def __init__(self, num_features: int, eps: float = 1e-05) -> None:
            super().__init__()
            self.eps = eps
            self.scale = nn.Parameter(torch.ones(num_features, dtype=torch.float32))

        def forward(self, x: Any) -> Any:
            t, dtype = x.float(), x.dtype
            t = t * torch.rsqrt(torch.mean(t**2, dim=-1, keepdim=True) + self.eps)
            return (t * self.scale).to(dtype)

    def apply_rotary(x: Any, cos: Any, sin: Any) -> Any:
        cos = cos.unsqueeze(-2).to(x.dtype)
        sin = sin.unsqueeze(-2).to(x.dtype)
        x1, x2 = torch.chunk(x, 2, dim=-1)
        o1 = x1 * cos - x2 * sin
        o2 = x2 * cos + x1 * sin
        return torch.cat((o1, o2), dim=-1)

    def sdpa(Q: Any, K: Any, V: Any, S_sink: Any, sm_scale: float, sliding_window: int) -> Any:
        n_tokens, n_heads, q_mult, d_head = Q.shape
        K = K[:, :, None, :].expand(-1, -1, q_mult, -1)
        V = V[:, :, None, :].expand(-1, -1, q_mult, -1)
        S_sink = S_sink.reshape(n_heads, q_mult, 1, 1).expand(-1, -1, n_tokens, -1)
        mask = torch.triu(Q.new_full((n_tokens, n_tokens), -float("inf")), diagonal=1)
        if sliding_window > 0:
            mask += torch.tril(mask.new_full((n_tokens, n_tokens), -float("inf")),
                               diagonal=-sliding_window)  # fmt: skip
        S = torch.einsum("qhmd,khmd->hmqk", Q, K) * sm_scale
        S += mask[None, None, :, :]
        S = torch.cat([S, S_sink], dim=-1)
        W = torch.softmax(S, dim=-1)[..., :-1]
        attn = torch.einsum("hmqk,khmd->qhmd", W, V)
        return attn.reshape(n_tokens, -1)

    def swiglu(x: Any, alpha: float = ALPHA, limit: float = SWIGLU_LIMIT) -> Any:
        x_glu, x_linear = x[..., ::2], x[..., 1::2]
        x_glu = x_glu.clamp(min=None, max=limit)
        x_linear = x_linear.clamp(min=-limit, max=limit)
        out_glu = x_glu * torch.sigmoid(alpha * x_glu)
        return out_glu * (x_linear + 1)

    class AttentionBlock(nn.Module):
        def __init__(self, layer_idx: int) -> None:
            super().__init__()
            self.sliding_window = WINDOW if layer_idx % 2 == 0 else 0
            self.sinks = nn.Parameter(torch.zeros(HEADS))
            self.norm = RMSNorm(HIDDEN)
            self.qkv = nn.Linear(HIDDEN, HEAD_DIM * (HEADS + 2 * KV))
            self.out = nn.Linear(HEAD_DIM * HEADS, HIDDEN)
            self.sm_scale = 1 / math.sqrt(HEAD_DIM)

        def forward(self, x: Any, cos: Any, sin: Any) -> Any:
            t = self.qkv(self.norm(x))
            q = t[:, : HEADS * HEAD_DIM]
            k = t[:, HEADS * HEAD_DIM : (HEADS + KV) * HEAD_DIM]
            v = t[:, (HEADS + KV) * HEAD_DIM :]
            q = q.view(-1, KV, HEADS // KV, HEAD_DIM)
            k, v = k.view(-1, KV, HEAD_DIM), v.view(-1, KV, HEAD_DIM)
            q = apply_rotary(q, cos[:, None], sin[:, None])
            k = apply_rotary(k, cos, sin)
            t = sdpa(q, k, v, self.sinks, self.sm_scale, self.sliding_window)
            return x + self.out(t)

    class MLPBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = RMSNorm(HIDDEN)
            self.gate = nn.Linear(HIDDEN, EXPERTS)
            self.mlp1_weight = nn.Parameter(torch.randn(EXPERTS, 2 * INTER, HIDDEN) * 0.2)
            self.mlp1_bias = nn.Parameter(torch.zeros(EXPERTS, 2 * INTER))
            self.mlp2_weight = nn.Parameter(torch.randn(EXPERTS, HIDDEN, INTER) * 0.2)
            self.mlp2_bias = nn.Parameter(torch.zeros(EXPERTS, HIDDEN))

        def forward(self, x: Any) -> Any:
            t = self.norm(x)
            g = self.gate(t)
            experts = torch.topk(g, k=TOP, dim=-1, sorted=True)
            expert_weights = torch.nn.functional.softmax(experts.values, dim=1)
            expert_indices = experts.indices
            w1, b1 = self.mlp1_weight[expert_indices, ...], self.mlp1_bias[expert_indices, ...]
            t = torch.einsum("beck,bk->bec", w1, t) + b1
            t = swiglu(t)
            w2, b2 = self.mlp2_weight[expert_indices, ...], self.mlp2_bias[expert_indices, ...]
            t = torch.einsum("beck,bek->bec", w2, t) + b2
            t = torch.einsum("bec,be->bc", t, expert_weights)
            return x + t

    class Transformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, HIDDEN)
            self.attn = nn.ModuleList([AttentionBlock(i) for i in range(LAYERS)])
            self.mlp = nn.ModuleList([MLPBlock() for _ in range(LAYERS)])
            self.norm = RMSNorm(HIDDEN)
            self.unembedding = nn.Linear(HIDDEN, VOCAB, bias=False)

        def forward(self, tokens: Any) -> Any:
            inv_freq = 1.0 / (150000.0 ** (torch.arange(0, HEAD_DIM, 2).float() / HEAD_DIM))
            freqs = torch.einsum("i,j->ij", torch.arange(tokens.shape[0]).float(), inv_freq)
            cos, sin = freqs.cos(), freqs.sin()
            x = self.embedding(tokens)
            for attn, mlp in zip(self.attn, self.mlp, strict=True):
                x = mlp(attn(x, cos, sin))
            return self.unembedding(self.norm(x))

    return Transformer()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    rng = np.random.default_rng(17)
    values: list[float] = []
    for _ in range(STEPS):
        tokens = as_tensor(torch, (rng.integers(0, VOCAB) + 2 * np.arange(SEQ + 1)) % VOCAB)
        logits = model(tokens[:-1])
        loss = torch.nn.functional.cross_entropy(logits, tokens[1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item()] + model.attn[0].sinks.grad.tolist()
    with torch.no_grad():  # greedy decoding by re-running the prefix, as the reference's
        tokens = torch.tensor([3, 5])
        for _ in range(4):
            tokens = torch.cat([tokens, model(tokens)[-1].argmax(-1, keepdim=True)])
    return values + tokens.tolist()
