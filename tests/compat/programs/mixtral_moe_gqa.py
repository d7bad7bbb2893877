"""A Mixtral decoder layer (Hugging Face's ``modeling_mixtral.py`` and Mistral's reference
``mistral-src`` ``moe.py``), size-reduced, trained one step as a causal language model.

The idioms: ``MixtralRMSNorm`` (``hidden_states.to(torch.float32)``, float64 here, ``variance =
hidden_states.pow(2).mean(-1, keepdim=True)``, ``hidden_states * torch.rsqrt(variance +
self.variance_epsilon)``, ``self.weight * hidden_states.to(input_dtype)``); the rotary embedding
(``inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))`` kept
with ``register_buffer(..., persistent=False)``, ``torch.outer``, ``emb = torch.cat((freqs,
freqs), dim=-1)``, ``rotate_half``'s ``torch.cat((-x2, x1), dim=-1)``, ``cos[position_ids]
.unsqueeze(1)``) checked against the complex form (``torch.polar(torch.ones_like(freqs),
freqs)``, ``torch.view_as_complex(torch.stack((x1, x2), dim=-1))``, ``torch.view_as_real``);
grouped-query attention with ``repeat_kv`` (``hidden_states[:, :, None, :, :].expand(batch,
num_key_value_heads, n_rep, slen, head_dim).reshape(...)``, checked against
``repeat_interleave``); the sliding-window causal mask both ways (``torch.triu(torch.full(...,
min_dtype), diagonal=1)`` with ``torch.tril(..., diagonal=-sliding_window)`` filled by
``masked_fill``, and ``torch.arange(n) > cache_position.reshape(-1, 1)`` with
``bitwise_or_(arange <= cache_position - sliding_window)``), the padding mask expanded to 4-D
(``mask[:, None, None, :]``, ``1.0 - expanded``, ``masked_fill(inverted.to(torch.bool),
torch.finfo(dtype).min)``); attention by hand (``torch.matmul(q, k.transpose(2, 3)) /
math.sqrt(head_dim)``, ``softmax(..., dtype=torch.float32).to(q.dtype)``) checked against
``F.scaled_dot_product_attention(..., attn_mask=...)``; the sparse MoE block (``F.softmax(
router_logits, dim=1, dtype=torch.float)``, ``torch.topk``, ``routing_weights /=
routing_weights.sum(dim=-1, keepdim=True)``, ``torch.where(selected_experts == i)``,
``final_hidden_states.index_add_(0, top_x, ...)``) checked against Mistral's ``results[batch_idx]
+= weights[batch_idx, nth_expert, None] * expert(inputs[batch_idx])``, the SwiGLU experts
(``self.w2(F.silu(self.w1(x)) * self.w3(x))``); ``load_balancing_loss_func`` added with
``router_aux_loss_coef``; the shifted LM loss (``logits[..., :-1, :].contiguous()``, labels
``-100`` on padding) and one AdamW step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

# the router softmax runs in float32 as in Mixtral: its last bits differ between the libraries
RTOL = 1e-7
ATOL = 1e-9

VOCAB, HIDDEN, HEADS, KV_HEADS, FFN, EXPERTS, TOP_K = 20, 16, 4, 2, 12, 4, 2
BATCH, SEQ, WINDOW, AUX_COEF, LR = 2, 7, 3, 0.02, 3e-3
HEAD_DIM = HIDDEN // HEADS


def rotate_half(torch_like: Any, x: Any) -> Any:
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch_like.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(torch_like: Any, q: Any, k: Any, cos: Any, sin: Any, pos: Any) -> Any:
    cos = cos[pos].unsqueeze(1)
    sin = sin[pos].unsqueeze(1)
    q_embed = (q * cos) + (rotate_half(torch_like, q) * sin)
    k_embed = (k * cos) + (rotate_half(torch_like, k) * sin)
    return q_embed, k_embed


def repeat_kv(hidden_states: Any, n_rep: int) -> Any:
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(
        batch, num_key_value_heads, n_rep, slen, head_dim
    )
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = torch.nn.functional

    class MixtralRMSNorm(nn.Module):
        def __init__(self, hidden_size: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(hidden_size))
            self.variance_epsilon = eps

        def forward(self, hidden_states: Any) -> Any:
            input_dtype = hidden_states.dtype
            hidden_states = hidden_states.to(torch.float64)
            variance = hidden_states.pow(2).mean(-1, keepdim=True)
            hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
            return self.weight * hidden_states.to(input_dtype)

    class MixtralRotaryEmbedding(nn.Module):
        def __init__(self, dim: int, base: float = 10000.0) -> None:
            super().__init__()
            inv_freq = 1.0 / (
                base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(torch.float64) / dim)
            )
            self.register_buffer("inv_freq", inv_freq, persistent=False)

        def forward(self, x: Any, seq_len: int) -> tuple[Any, Any, Any]:
            t = torch.arange(seq_len, device=x.device, dtype=self.inv_freq.dtype)
            freqs = torch.outer(t, self.inv_freq)
            emb = torch.cat((freqs, freqs), dim=-1)
            freqs_cis = torch.polar(torch.ones_like(freqs), freqs)
            return emb.cos().to(x.dtype), emb.sin().to(x.dtype), freqs_cis

    class MixtralAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.num_key_value_groups = HEADS // KV_HEADS
            self.q_proj = nn.Linear(HIDDEN, HEADS * HEAD_DIM, bias=False)
            self.k_proj = nn.Linear(HIDDEN, KV_HEADS * HEAD_DIM, bias=False)
            self.v_proj = nn.Linear(HIDDEN, KV_HEADS * HEAD_DIM, bias=False)
            self.o_proj = nn.Linear(HEADS * HEAD_DIM, HIDDEN, bias=False)
            self.rotary_emb = MixtralRotaryEmbedding(HEAD_DIM)

        def forward(self, hidden_states: Any, attention_mask: Any, position_ids: Any) -> Any:
            bsz, q_len, _ = hidden_states.size()
            q = self.q_proj(hidden_states).view(bsz, q_len, HEADS, HEAD_DIM).transpose(1, 2)
            k = self.k_proj(hidden_states).view(bsz, q_len, KV_HEADS, HEAD_DIM).transpose(1, 2)
            v = self.v_proj(hidden_states).view(bsz, q_len, KV_HEADS, HEAD_DIM).transpose(1, 2)
            cos, sin, freqs_cis = self.rotary_emb(v, seq_len=q_len)
            q_rot, k_rot = apply_rotary_pos_emb(torch, q, k, cos, sin, position_ids)
            # the same rotation in complex form, pairing dims i and i + head_dim / 2
            half = HEAD_DIM // 2
            qc = torch.view_as_complex(torch.stack((q[..., :half], q[..., half:]), dim=-1))
            qc = torch.view_as_real(qc * freqs_cis[position_ids].unsqueeze(1))
            q_complex = torch.cat((qc[..., 0], qc[..., 1]), dim=-1)
            rope_gap = (q_complex - q_rot).abs().max()

            k_rep = repeat_kv(k_rot, self.num_key_value_groups)
            v_rep = repeat_kv(v, self.num_key_value_groups)
            k_ri = k_rot.repeat_interleave(self.num_key_value_groups, dim=1)
            gqa_gap = (k_rep - k_ri).abs().max()
            attn_weights = torch.matmul(q_rot, k_rep.transpose(2, 3)) / math.sqrt(HEAD_DIM)
            attn_weights = attn_weights + attention_mask
            attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float64).to(q.dtype)
            attn_output = torch.matmul(attn_weights, v_rep)
            sdpa = F.scaled_dot_product_attention(q_rot, k_rep, v_rep, attn_mask=attention_mask)
            sdpa_gap = (sdpa - attn_output).abs().max()
            attn_output = attn_output.transpose(1, 2).contiguous().reshape(bsz, q_len, -1)
            return self.o_proj(attn_output), torch.stack([rope_gap, gqa_gap, sdpa_gap])

    class MixtralBlockSparseTop2MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w1 = nn.Linear(HIDDEN, FFN, bias=False)
            self.w2 = nn.Linear(FFN, HIDDEN, bias=False)
            self.w3 = nn.Linear(HIDDEN, FFN, bias=False)
            self.act_fn = nn.SiLU()

        def forward(self, hidden_states: Any) -> Any:
            return self.w2(self.act_fn(self.w1(hidden_states)) * self.w3(hidden_states))

    class MixtralSparseMoeBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gate = nn.Linear(HIDDEN, EXPERTS, bias=False)
            self.experts = nn.ModuleList([MixtralBlockSparseTop2MLP() for _ in range(EXPERTS)])

        def forward(self, hidden_states: Any) -> tuple[Any, Any, Any]:
            batch_size, sequence_length, hidden_dim = hidden_states.shape
            hidden_states = hidden_states.view(-1, hidden_dim)
            router_logits = self.gate(hidden_states)
            routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
            routing_weights, selected_experts = torch.topk(routing_weights, TOP_K, dim=-1)
            routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
            routing_weights = routing_weights.to(hidden_states.dtype)
            final_hidden_states = torch.zeros(
                (batch_size * sequence_length, hidden_dim),
                dtype=hidden_states.dtype,
                device=hidden_states.device,
            )
            results = torch.zeros_like(hidden_states)
            for i, expert in enumerate(self.experts):
                top_x, idx = torch.where(selected_experts == i)
                if top_x.shape[0] == 0:
                    continue
                current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
                current = expert(current_state) * routing_weights[top_x, idx, None]
                final_hidden_states.index_add_(0, top_x, current.to(hidden_states.dtype))
                results[top_x] += routing_weights[top_x, idx, None] * expert(hidden_states[top_x])
            moe_gap = (results - final_hidden_states).abs().max()
            final_hidden_states = final_hidden_states.reshape(
                batch_size, sequence_length, hidden_dim
            )
            return final_hidden_states, router_logits, moe_gap

    class MixtralForCausalLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_tokens = nn.Embedding(VOCAB, HIDDEN, padding_idx=0)
            self.input_layernorm = MixtralRMSNorm(HIDDEN)
            self.self_attn = MixtralAttention()
            self.post_attention_layernorm = MixtralRMSNorm(HIDDEN)
            self.block_sparse_moe = MixtralSparseMoeBlock()
            self.norm = MixtralRMSNorm(HIDDEN)
            self.lm_head = nn.Linear(HIDDEN, VOCAB, bias=False)

        def forward(self, input_ids: Any, attention_mask: Any, position_ids: Any) -> Any:
            hidden_states = self.embed_tokens(input_ids)
            residual = hidden_states
            hidden_states = self.input_layernorm(hidden_states)
            hidden_states, gaps = self.self_attn(hidden_states, attention_mask, position_ids)
            hidden_states = residual + hidden_states
            residual = hidden_states
            hidden_states = self.post_attention_layernorm(hidden_states)
            hidden_states, router_logits, moe_gap = self.block_sparse_moe(hidden_states)
            hidden_states = residual + hidden_states
            logits = self.lm_head(self.norm(hidden_states)).float()
            return logits, router_logits, torch.cat([gaps, moe_gap[None]])

    return MixtralForCausalLM()


def sliding_window_mask(torch_like: Any, padding_mask: Any, dtype: Any) -> tuple[Any, Any]:
    """The 4-D additive mask: causal, at most ``WINDOW`` tokens back, padding masked out."""
    torch = torch_like
    min_dtype = torch.finfo(dtype).min
    causal = torch.triu(torch.full((SEQ, SEQ), min_dtype, dtype=dtype), diagonal=1)
    too_far = torch.tril(torch.ones(SEQ, SEQ, dtype=torch.bool), diagonal=-WINDOW)
    causal = causal.masked_fill(too_far, min_dtype)
    # the same mask from cache positions, as the newer mask utilities build it
    cache_position = torch.arange(SEQ)
    blocked = torch.arange(SEQ) > cache_position.reshape(-1, 1)
    blocked.bitwise_or_(torch.arange(SEQ) <= (cache_position.reshape(-1, 1) - WINDOW))
    assert torch.equal(blocked, causal == min_dtype)
    expanded = padding_mask[:, None, None, :].expand(BATCH, 1, SEQ, SEQ).to(dtype)
    inverted = 1.0 - expanded
    pad = inverted.masked_fill(inverted.to(torch.bool), min_dtype)
    mask = causal[None, None, :, :].expand(BATCH, 1, SEQ, SEQ).clone()
    mask[:, :, :, :SEQ] = mask[:, :, :, :SEQ].masked_fill(pad == min_dtype, min_dtype)
    return mask, blocked


def load_balancing_loss_func(torch_like: Any, gate_logits: Any) -> Any:
    torch = torch_like
    routing_weights = torch.nn.functional.softmax(gate_logits, dim=-1)
    _, selected_experts = torch.topk(routing_weights, TOP_K, dim=-1)
    expert_mask = torch.nn.functional.one_hot(selected_experts, EXPERTS)
    tokens_per_expert = torch.mean(expert_mask.float(), dim=0)
    router_prob_per_expert = torch.mean(routing_weights, dim=0)
    return torch.sum(tokens_per_expert * router_prob_per_expert.unsqueeze(0)) * EXPERTS


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(11)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    assert "self_attn.rotary_emb.inv_freq" not in model.state_dict()
    input_ids = as_tensor(torch, rng.integers(1, VOCAB, (BATCH, SEQ)))
    padding_mask = torch.ones(BATCH, SEQ, dtype=torch.long)
    padding_mask[1, :2] = 0  # left padding of the second sequence
    input_ids = input_ids.masked_fill(padding_mask == 0, 0)
    position_ids = (padding_mask.cumsum(-1) - 1).clamp(min=0)
    labels = input_ids.masked_fill(padding_mask == 0, -100)
    mask, blocked = sliding_window_mask(torch, padding_mask, torch.get_default_dtype())
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    loss_fct = torch.nn.CrossEntropyLoss()
    values: list[float] = [float(blocked.sum()), float((mask == torch.finfo(mask.dtype).min).sum())]
    for _step in range(2):
        optimizer.zero_grad()
        logits, router_logits, gaps = model(input_ids, mask, position_ids)
        shift_logits = logits[..., :-1, :].contiguous().view(-1, VOCAB)
        shift_labels = labels[..., 1:].contiguous().view(-1)
        lm_loss = loss_fct(shift_logits, shift_labels)
        aux_loss = load_balancing_loss_func(torch, router_logits)
        loss = lm_loss + AUX_COEF * aux_loss
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        counts = torch.bincount(router_logits.topk(TOP_K).indices.flatten(), minlength=EXPERTS)
        values += [loss.item(), lm_loss.item(), aux_loss.item(), grad_norm.item()]
        values += gaps.tolist() + counts.tolist()
    values += model.block_sparse_moe.gate.weight.flatten().tolist()[:8]
    return values


def check(values: list[float]) -> None:
    assert values[0] == SEQ * (SEQ - 1) / 2 + (SEQ - WINDOW) * (SEQ - WINDOW + 1) / 2
    width = 4 + 4 + EXPERTS
    for step in range(2):
        row = values[2 + width * step : 2 + width * (step + 1)]
        assert max(row[4:8]) < 1e-9, row  # rope, repeat_kv, sdpa and the two MoE forms agree
        assert sum(row[8:]) == BATCH * SEQ * TOP_K
