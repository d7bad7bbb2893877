"""Differential Transformer attention ("Differential Transformer", Ye et al. 2024) as Microsoft's
``unilm/Diff-Transformer`` writes it (``multihead_diffattn.py``, ``rms_norm.py``, the
``kernel/rotary.py`` interleaved rotary embedding), size-reduced, in a two-layer decoder trained
two steps.

The idioms: ``lambda_init_fn(depth) = 0.8 - 0.6 * math.exp(-0.3 * depth)``; the four
``nn.Parameter(torch.zeros(self.head_dim, dtype=torch.float32).normal_(mean=0, std=0.1))``
lambda vectors and ``lambda_full = lambda_1 - lambda_2 + self.lambda_init`` with ``lambda_1 =
torch.exp(torch.sum(self.lambda_q1 * self.lambda_k1, dim=-1).float()).type_as(q)``; queries and
keys viewed as ``2 * num_heads`` heads, values as ``2 * head_dim`` wide, grouped-query
``repeat_kv`` (``x[:, :, None, :, :].expand(...).reshape(...)``); the interleaved rotary
embedding (``x[..., ::2]``/``x[..., 1::2]``, ``torch.stack((-x2, x1), dim=-1).flatten(-2)``,
``cos.repeat_interleave(2, dim=-1)``); the in-place ``q *= self.scaling``; the causal mask
``torch.triu(torch.zeros([tgt_len, src_len]).float().fill_(float("-inf")).type_as(
attn_weights), 1 + offset)``; ``torch.nan_to_num(attn_weights)``, ``attn_weights +=
attn_mask``, ``F.softmax(attn_weights, dim=-1, dtype=torch.float32).type_as(attn_weights)``;
the two maps subtracted by ``attn_weights.view(bsz, self.num_heads, 2, tgt_len, src_len)`` and
``attn_weights[:, :, 0] - lambda_full * attn_weights[:, :, 1]``; the per-head ``RMSNorm``
(``x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)`` on ``x.float()``,
``register_parameter('weight', None)`` when not affine), checked against ``F.rms_norm`` and
``nn.RMSNorm``; ``attn * (1 - self.lambda_init)``; a SwiGLU feed-forward and AdamW.

Changed: sizes (embedding 16, 2 differential heads over 1 key/value head, 2 layers, 11 tokens,
sequences of 5, batch 2); no model parallelism and no flash-attention kernel.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL, ATOL = 2e-5, 1e-6
VOCAB, EMB, HEADS, KV_HEADS, LAYERS, SEQ, BATCH, STEPS = 11, 16, 2, 1, 2, 5, 2, 2


def lambda_init_fn(depth: int) -> float:
    return 0.8 - 0.6 * math.exp(-0.3 * depth)


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class RMSNorm(torch.nn.Module):
        def __init__(self, dim: int, eps: float = 1e-6, elementwise_affine: bool = True) -> None:
            super().__init__()
            self.dim = dim
            self.eps = eps
            self.elementwise_affine = elementwise_affine
            if self.elementwise_affine:
                self.weight = nn.Parameter(torch.ones(dim))
            else:
                self.register_parameter("weight", None)

        def _norm(self, x: Any) -> Any:
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

        def forward(self, x: Any) -> Any:
            output = self._norm(x.float()).type_as(x)
            if self.weight is not None:
                output = output * self.weight
            return output

        def extra_repr(self) -> str:
            return f"dim={self.dim}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"

    def apply_rotary_emb(x: Any, cos: Any, sin: Any, interleaved: bool = True) -> Any:
        """x: (batch, seqlen, nheads, headdim); cos, sin: (seqlen, headdim / 2)."""
        assert interleaved
        cos = cos.repeat_interleave(2, dim=-1)[:, None, :]
        sin = sin.repeat_interleave(2, dim=-1)[:, None, :]
        x1, x2 = x[..., ::2], x[..., 1::2]
        rotated = torch.stack((-x2, x1), dim=-1).flatten(-2)
        return x * cos + rotated * sin

    def repeat_kv(x: Any, n_rep: int) -> Any:
        """torch.repeat_interleave(x, dim=1, repeats=n_rep)"""
        bs, n_kv_heads, slen, head_dim = x.shape
        if n_rep == 1:
            return x
        return (
            x[:, :, None, :, :]
            .expand(bs, n_kv_heads, n_rep, slen, head_dim)
            .reshape(bs, n_kv_heads * n_rep, slen, head_dim)
        )

    class MultiheadDiffAttn(nn.Module):
        def __init__(self, embed_dim: int, depth: int, num_heads: int, num_kv_heads: int):
            super().__init__()
            self.embed_dim = embed_dim
            # num_heads set to half of Transformer's #heads
            self.num_heads = num_heads
            self.num_kv_heads = num_kv_heads
            self.n_rep = self.num_heads // self.num_kv_heads

            self.head_dim = embed_dim // num_heads // 2
            self.scaling = self.head_dim**-0.5

            self.q_proj = nn.Linear(embed_dim, embed_dim, bias=False)
            self.k_proj = nn.Linear(embed_dim, embed_dim // self.n_rep, bias=False)
            self.v_proj = nn.Linear(embed_dim, embed_dim // self.n_rep, bias=False)
            self.out_proj = nn.Linear(embed_dim, embed_dim, bias=False)

            self.lambda_init = lambda_init_fn(depth)
            zeros = torch.zeros
            self.lambda_q1 = nn.Parameter(
                zeros(self.head_dim, dtype=torch.float32).normal_(mean=0, std=0.1)
            )
            self.lambda_k1 = nn.Parameter(
                zeros(self.head_dim, dtype=torch.float32).normal_(mean=0, std=0.1)
            )
            self.lambda_q2 = nn.Parameter(
                zeros(self.head_dim, dtype=torch.float32).normal_(mean=0, std=0.1)
            )
            self.lambda_k2 = nn.Parameter(
                zeros(self.head_dim, dtype=torch.float32).normal_(mean=0, std=0.1)
            )

            self.subln = RMSNorm(2 * self.head_dim, eps=1e-5, elementwise_affine=True)

        def forward(self, x: Any, rel_pos: Any, attn_mask: Any = None) -> Any:
            bsz, tgt_len, embed_dim = x.size()
            src_len = tgt_len

            q = self.q_proj(x)
            k = self.k_proj(x)
            v = self.v_proj(x)

            q = q.view(bsz, tgt_len, 2 * self.num_heads, self.head_dim)
            k = k.view(bsz, src_len, 2 * self.num_kv_heads, self.head_dim)
            v = v.view(bsz, src_len, self.num_kv_heads, 2 * self.head_dim)

            q = apply_rotary_emb(q, *rel_pos, interleaved=True)
            k = apply_rotary_emb(k, *rel_pos, interleaved=True)

            offset = src_len - tgt_len
            q = q.transpose(1, 2)
            k = repeat_kv(k.transpose(1, 2), self.n_rep)
            v = repeat_kv(v.transpose(1, 2), self.n_rep)
            q *= self.scaling
            attn_weights = torch.matmul(q, k.transpose(-1, -2))
            if attn_mask is None:
                attn_mask = torch.triu(
                    torch.zeros([tgt_len, src_len])
                    .float()
                    .fill_(float("-inf"))
                    .type_as(attn_weights),
                    1 + offset,
                )
            attn_weights = torch.nan_to_num(attn_weights)
            attn_weights += attn_mask
            attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float32).type_as(
                attn_weights
            )

            lambda_1 = torch.exp(
                torch.sum(self.lambda_q1 * self.lambda_k1, dim=-1).float()
            ).type_as(q)
            lambda_2 = torch.exp(
                torch.sum(self.lambda_q2 * self.lambda_k2, dim=-1).float()
            ).type_as(q)
            lambda_full = lambda_1 - lambda_2 + self.lambda_init
            attn_weights = attn_weights.view(bsz, self.num_heads, 2, tgt_len, src_len)
            attn_weights = attn_weights[:, :, 0] - lambda_full * attn_weights[:, :, 1]

            attn = torch.matmul(attn_weights, v)
            attn = self.subln(attn)
            attn = attn * (1 - self.lambda_init)
            attn = attn.transpose(1, 2).reshape(bsz, tgt_len, self.num_heads * 2 * self.head_dim)

            attn = self.out_proj(attn)
            return attn

    class FeedForwardNetwork(nn.Module):
        def __init__(self, embed_dim: int, ffn_dim: int) -> None:
            super().__init__()
            self.gate_proj = nn.Linear(embed_dim, ffn_dim, bias=False)
            self.up_proj = nn.Linear(embed_dim, ffn_dim, bias=False)
            self.down_proj = nn.Linear(ffn_dim, embed_dim, bias=False)

        def forward(self, x: Any) -> Any:
            return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))

    class DecoderLayer(nn.Module):
        def __init__(self, depth: int) -> None:
            super().__init__()
            self.self_attn = MultiheadDiffAttn(EMB, depth, HEADS, KV_HEADS)
            self.self_attn_layer_norm = RMSNorm(EMB, eps=1e-5)
            self.ffn = FeedForwardNetwork(EMB, 2 * EMB)
            self.final_layer_norm = RMSNorm(EMB, eps=1e-5)

        def forward(self, x: Any, rel_pos: Any) -> Any:
            x = x + self.self_attn(self.self_attn_layer_norm(x), rel_pos)
            return x + self.ffn(self.final_layer_norm(x))

    class DiffDecoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_tokens = nn.Embedding(VOCAB, EMB)
            self.layers = nn.ModuleList([DecoderLayer(depth) for depth in range(LAYERS)])
            self.layer_norm = RMSNorm(EMB, eps=1e-5)
            self.output_projection = nn.Linear(EMB, VOCAB, bias=False)
            head_dim = EMB // HEADS // 2
            inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2).float() / head_dim))
            self.register_buffer("inv_freq", inv_freq, persistent=False)

        def rel_pos(self, seq_len: int) -> tuple[Any, Any]:
            t = torch.arange(seq_len, dtype=self.inv_freq.dtype)
            freqs = torch.outer(t, self.inv_freq)
            return torch.cos(freqs), torch.sin(freqs)

        def forward(self, tokens: Any) -> Any:
            x = self.embed_tokens(tokens)
            rel_pos = self.rel_pos(tokens.size(1))
            for layer in self.layers:
                x = layer(x, rel_pos)
            return self.output_projection(self.layer_norm(x))

    return DiffDecoder, RMSNorm


def make_model(torch_like: Any) -> Any:
    decoder, _ = _classes(torch_like)
    return decoder()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    _, rms_cls = _classes(torch_like)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(8)
    data = torch.from_numpy(rng.integers(0, VOCAB, size=(STEPS, BATCH, SEQ + 1)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.98), eps=1e-6)
    values: list[float] = [lambda_init_fn(d) for d in range(3)]
    for step in range(STEPS):
        tokens, target = data[step, :, :-1], data[step, :, 1:]
        logits = model(tokens)
        loss = F.cross_entropy(logits.view(-1, VOCAB), target.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        attn = model.layers[1].self_attn
        values += [loss.item(), attn.lambda_q1.grad.abs().sum().item()]
        optimizer.step()

    # the repository's RMSNorm against F.rms_norm and nn.RMSNorm
    x = torch.from_numpy(rng.standard_normal((BATCH, 3, 8))).float()
    ours = rms_cls(8, eps=1e-5)
    plain = rms_cls(8, eps=1e-5, elementwise_affine=False)
    assert plain.weight is None and "elementwise_affine=False" in repr(plain)
    with torch.no_grad():
        ours.weight.mul_(torch.linspace(0.5, 1.5, 8))
        library = nn.RMSNorm(8, eps=1e-5)
        library.weight.copy_(ours.weight)
        reference = F.rms_norm(x, (8,), ours.weight, eps=1e-5)
        assert torch.allclose(ours(x), reference, atol=1e-6)
        assert torch.allclose(library(x), reference, atol=1e-6)
    values += [reference.sum().item(), plain(x).pow(2).mean().item()]
    return values
