"""Meta's LLaMA decoder (``llama/model.py`` of meta-llama/llama, the reference implementation
without fairscale's parallel layers), size-reduced, with incremental decoding through its KV
cache checked against a full forward and one training step.

The idioms: ``RMSNorm`` (``x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)`` on
``self._norm(x.float()).type_as(x)``); ``precompute_freqs_cis`` (``torch.arange(0, dim,
2)[: (dim // 2)].float()``, ``torch.outer``, ``torch.polar(torch.ones_like(freqs), freqs)``, a
complex64 table); ``apply_rotary_emb`` (``torch.view_as_complex(xq.float().reshape(
*xq.shape[:-1], -1, 2))``, ``reshape_for_broadcast``'s ``freqs_cis.view(*shape)``,
``torch.view_as_real(xq_ * freqs_cis).flatten(3)``, ``.type_as(xq)``); ``repeat_kv``'s
``x[:, :, :, None, :].expand(bs, slen, n_kv_heads, n_rep, head_dim).reshape(...)``; the KV
cache as preallocated ``torch.zeros`` buffers written in place with ``self.cache_k[:bsz,
start_pos : start_pos + seqlen] = xk`` and moved with ``.to(xq)``; the causal mask
``torch.full((seqlen, seqlen), float("-inf"))``, ``torch.triu(mask, diagonal=1)`` and
``torch.hstack([torch.zeros((seqlen, start_pos)), mask]).type_as(h)``; ``F.softmax(
scores.float(), dim=-1).type_as(xq)``; the SwiGLU ``FeedForward`` (``F.silu(self.w1(x)) *
self.w3(x)``, ``hidden_dim = multiple_of * ((hidden_dim + multiple_of - 1) // multiple_of)``);
``@torch.inference_mode()`` generation (greedy ``torch.argmax(logits[:, -1], dim=-1)``,
``torch.where(input_text_mask[:, cur_pos], tokens[:, cur_pos], next_token)``); and training
with ``F.cross_entropy(..., ignore_index=-1)`` and ``torch.optim.AdamW``.

The rotary table is complex64 (``torch.polar`` of float32) as in the original, so the values
agree to float32 precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

RTOL, ATOL = 1e-5, 1e-6


@dataclass
class ModelArgs:
    dim: int = 16
    n_layers: int = 2
    n_heads: int = 4
    n_kv_heads: int | None = 2
    vocab_size: int = 11
    multiple_of: int = 8
    ffn_dim_multiplier: float | None = None
    norm_eps: float = 1e-5
    max_batch_size: int = 2
    max_seq_len: int = 12


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class RMSNorm(torch.nn.Module):
        def __init__(self, dim: int, eps: float = 1e-6):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(dim))

        def _norm(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

        def forward(self, x):
            output = self._norm(x.float()).type_as(x)
            return output * self.weight

    def precompute_freqs_cis(dim: int, end: int, theta: float = 10000.0):
        freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
        t = torch.arange(end, device=freqs.device)
        freqs = torch.outer(t, freqs).float()
        freqs_cis = torch.polar(torch.ones_like(freqs), freqs)  # complex64
        return freqs_cis

    def reshape_for_broadcast(freqs_cis, x):
        ndim = x.ndim
        assert 0 <= 1 < ndim
        assert freqs_cis.shape == (x.shape[1], x.shape[-1])
        shape = [d if i == 1 or i == ndim - 1 else 1 for i, d in enumerate(x.shape)]
        return freqs_cis.view(*shape)

    def apply_rotary_emb(xq, xk, freqs_cis):
        xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
        xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
        freqs_cis = reshape_for_broadcast(freqs_cis, xq_)
        xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
        xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
        return xq_out.type_as(xq), xk_out.type_as(xk)

    def repeat_kv(x, n_rep: int):
        """torch.repeat_interleave(x, dim=2, repeats=n_rep)"""
        bs, slen, n_kv_heads, head_dim = x.shape
        if n_rep == 1:
            return x
        return (
            x[:, :, :, None, :]
            .expand(bs, slen, n_kv_heads, n_rep, head_dim)
            .reshape(bs, slen, n_kv_heads * n_rep, head_dim)
        )

    class Attention(nn.Module):
        def __init__(self, args: ModelArgs):
            super().__init__()
            self.n_kv_heads = args.n_heads if args.n_kv_heads is None else args.n_kv_heads
            self.n_local_heads = args.n_heads
            self.n_local_kv_heads = self.n_kv_heads
            self.n_rep = self.n_local_heads // self.n_local_kv_heads
            self.head_dim = args.dim // args.n_heads
            self.wq = nn.Linear(args.dim, args.n_heads * self.head_dim, bias=False)
            self.wk = nn.Linear(args.dim, self.n_kv_heads * self.head_dim, bias=False)
            self.wv = nn.Linear(args.dim, self.n_kv_heads * self.head_dim, bias=False)
            self.wo = nn.Linear(args.n_heads * self.head_dim, args.dim, bias=False)
            self.cache_k = torch.zeros(
                (args.max_batch_size, args.max_seq_len, self.n_local_kv_heads, self.head_dim)
            )
            self.cache_v = torch.zeros(
                (args.max_batch_size, args.max_seq_len, self.n_local_kv_heads, self.head_dim)
            )

        def forward(self, x, start_pos: int, freqs_cis, mask, use_cache: bool = True):
            bsz, seqlen, _ = x.shape
            xq, xk, xv = self.wq(x), self.wk(x), self.wv(x)
            xq = xq.view(bsz, seqlen, self.n_local_heads, self.head_dim)
            xk = xk.view(bsz, seqlen, self.n_local_kv_heads, self.head_dim)
            xv = xv.view(bsz, seqlen, self.n_local_kv_heads, self.head_dim)
            xq, xk = apply_rotary_emb(xq, xk, freqs_cis=freqs_cis)
            if use_cache:
                self.cache_k = self.cache_k.to(xq)
                self.cache_v = self.cache_v.to(xq)
                self.cache_k[:bsz, start_pos : start_pos + seqlen] = xk
                self.cache_v[:bsz, start_pos : start_pos + seqlen] = xv
                keys = self.cache_k[:bsz, : start_pos + seqlen]
                values = self.cache_v[:bsz, : start_pos + seqlen]
            else:
                keys, values = xk, xv
            keys = repeat_kv(keys, self.n_rep)
            values = repeat_kv(values, self.n_rep)
            xq = xq.transpose(1, 2)
            keys = keys.transpose(1, 2)
            values = values.transpose(1, 2)
            scores = torch.matmul(xq, keys.transpose(2, 3)) / math.sqrt(self.head_dim)
            if mask is not None:
                scores = scores + mask
            scores = F.softmax(scores.float(), dim=-1).type_as(xq)
            output = torch.matmul(scores, values)
            output = output.transpose(1, 2).contiguous().view(bsz, seqlen, -1)
            return self.wo(output)

    class FeedForward(nn.Module):
        def __init__(self, dim, hidden_dim, multiple_of, ffn_dim_multiplier):
            super().__init__()
            hidden_dim = int(2 * hidden_dim / 3)
            if ffn_dim_multiplier is not None:
                hidden_dim = int(ffn_dim_multiplier * hidden_dim)
            hidden_dim = multiple_of * ((hidden_dim + multiple_of - 1) // multiple_of)
            self.w1 = nn.Linear(dim, hidden_dim, bias=False)
            self.w2 = nn.Linear(hidden_dim, dim, bias=False)
            self.w3 = nn.Linear(dim, hidden_dim, bias=False)

        def forward(self, x):
            return self.w2(F.silu(self.w1(x)) * self.w3(x))

    class TransformerBlock(nn.Module):
        def __init__(self, layer_id: int, args: ModelArgs):
            super().__init__()
            self.n_heads = args.n_heads
            self.dim = args.dim
            self.head_dim = args.dim // args.n_heads
            self.attention = Attention(args)
            self.feed_forward = FeedForward(
                dim=args.dim,
                hidden_dim=4 * args.dim,
                multiple_of=args.multiple_of,
                ffn_dim_multiplier=args.ffn_dim_multiplier,
            )
            self.layer_id = layer_id
            self.attention_norm = RMSNorm(args.dim, eps=args.norm_eps)
            self.ffn_norm = RMSNorm(args.dim, eps=args.norm_eps)

        def forward(self, x, start_pos, freqs_cis, mask, use_cache=True):
            h = x + self.attention(self.attention_norm(x), start_pos, freqs_cis, mask, use_cache)
            out = h + self.feed_forward(self.ffn_norm(h))
            return out

    class Transformer(nn.Module):
        def __init__(self, params: ModelArgs):
            super().__init__()
            self.params = params
            self.vocab_size = params.vocab_size
            self.n_layers = params.n_layers
            self.tok_embeddings = nn.Embedding(params.vocab_size, params.dim)
            self.layers = torch.nn.ModuleList()
            for layer_id in range(params.n_layers):
                self.layers.append(TransformerBlock(layer_id, params))
            self.norm = RMSNorm(params.dim, eps=params.norm_eps)
            self.output = nn.Linear(params.dim, params.vocab_size, bias=False)
            self.freqs_cis = precompute_freqs_cis(
                self.params.dim // self.params.n_heads, self.params.max_seq_len * 2
            )

        def _mask(self, h, seqlen, start_pos):
            mask = None
            if seqlen > 1:
                mask = torch.full((seqlen, seqlen), float("-inf"), device=h.device)
                mask = torch.triu(mask, diagonal=1)
                mask = torch.hstack([torch.zeros((seqlen, start_pos), device=h.device), mask])
                mask = mask.type_as(h)
            return mask

        @torch.inference_mode()
        def forward(self, tokens, start_pos: int):
            return self.forward_train(tokens, start_pos, use_cache=True)

        def forward_train(self, tokens, start_pos: int = 0, use_cache: bool = False):
            _bsz, seqlen = tokens.shape
            h = self.tok_embeddings(tokens)
            self.freqs_cis = self.freqs_cis.to(h.device)
            freqs_cis = self.freqs_cis[start_pos : start_pos + seqlen]
            mask = self._mask(h, seqlen, start_pos)
            for layer in self.layers:
                h = layer(h, start_pos, freqs_cis, mask, use_cache)
            h = self.norm(h)
            output = self.output(h).float()
            return output

    return Transformer(ModelArgs())


@dataclass
class _Gen:
    tokens: Any
    values: list


def generate(torch_like: Any, model: Any, prompts: list[list[int]], max_gen_len: int) -> Any:
    """The reference ``Llama.generate`` loop, greedy (temperature 0), pad id -1."""
    torch = torch_like
    bsz = len(prompts)
    min_prompt_len = min(len(t) for t in prompts)
    max_prompt_len = max(len(t) for t in prompts)
    total_len = min(model.params.max_seq_len, max_gen_len + max_prompt_len)
    pad_id = -1
    tokens = torch.full((bsz, total_len), pad_id, dtype=torch.long)
    for k, t in enumerate(prompts):
        tokens[k, : len(t)] = torch.tensor(t, dtype=torch.long)
    prev_pos = 0
    input_text_mask = tokens != pad_id
    stepped: list[float] = []
    for cur_pos in range(min_prompt_len, total_len):
        logits = model.forward(tokens[:, prev_pos:cur_pos], prev_pos)
        next_token = torch.argmax(logits[:, -1], dim=-1)
        next_token = next_token.reshape(-1)
        next_token = torch.where(input_text_mask[:, cur_pos], tokens[:, cur_pos], next_token)
        tokens[:, cur_pos] = next_token
        stepped += [logits[:, -1].sum().item(), float(logits.requires_grad)]
        prev_pos = cur_pos
    return _Gen(tokens, stepped)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = [float(model.freqs_cis.dtype == torch.complex64)]
    values += [model.freqs_cis.abs().sum().item(), torch.angle(model.freqs_cis[3]).sum().item()]

    rng = np.random.default_rng(7)
    seq = as_tensor(torch, rng.integers(0, 11, (2, 6)))
    with torch.inference_mode():
        full = model.forward_train(seq)  # no cache
    out = model.forward(seq[:, :4], 0)  # prefill fills the cache
    values += [float(torch.is_inference_mode_enabled()), float(out.is_inference())]
    for pos in range(4, 6):
        step = model.forward(seq[:, pos : pos + 1], pos)
        values += [(step[:, 0] - full[:, pos]).abs().max().item() < 1e-5]
        values += step.flatten().tolist()[:6]
    values += [(out - full[:, :4]).abs().max().item() < 1e-5]
    cache = model.layers[0].attention.cache_k
    values += [cache[:, :6].abs().sum().item(), cache[:, 6:].abs().sum().item()]

    gen = generate(torch_like, model, [[1, 2, 3], [4, 5, 6, 7, 8]], max_gen_len=4)
    values += gen.tokens.flatten().tolist() + gen.values

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1, betas=(0.9, 0.95))
    model.train()
    for _step in range(2):
        data = rng.integers(0, 11, (2, 7))
        x = as_tensor(torch, data[:, :-1])
        targets = data[:, 1:].copy()
        targets[0, :2] = -1  # ignored positions
        y = as_tensor(torch, targets)
        logits = model.forward_train(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1), ignore_index=-1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    values += [model.output.weight.sum().item(), model.norm.weight.sum().item()]
    return values
