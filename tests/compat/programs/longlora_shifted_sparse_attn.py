"""LongLoRA's shifted sparse attention (S²-Attn) fine-tuning, as dvlab-research/LongLoRA writes
it (``llama_attn_replace.py``'s ``forward_noflashattn`` with ``group_size_ratio = 1/4``,
``fine-tune.py``'s linear RoPE scaling, ``trainable_params = "embed,norm"`` and the PEFT
``LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])``),
on a one-layer Llama-style decoder (``modeling_llama.py``'s ``LlamaLinearScalingRotaryEmbedding``,
``rotate_half``, ``apply_rotary_pos_emb`` with ``position_ids``, ``repeat_kv``).

The idioms: the ``shift`` helper writing ``qkv[:, num_heads // 2:] = qkv[:, num_heads //
2:].roll(-group_size // 2, dims=2)`` into a non-leaf tensor (a slice assigned from a rolled copy
of itself) before ``qkv.transpose(1, 2).reshape(bsz * (q_len // group_size), group_size,
num_heads, head_dim).transpose(1, 2)``; the size checks raising ``ValueError``; the causal mask
``attention_mask[:, :, :group_size, :group_size].repeat(num_group, 1, 1, 1)``; ``softmax(
attn_weights, dim=-1, dtype=torch.float32).to(query_states.dtype)``; the shift back
``attn_output[:, :, self.num_heads//2:] = attn_output[:, :, self.num_heads//2:].roll(
group_size//2, dims=1)``; ``repeat_kv``'s ``hidden_states[:, :, None, :, :].expand(batch,
num_key_value_heads, n_rep, slen, head_dim).reshape(...)``; the rotary cache built with ``t = t /
self.scaling_factor``, ``torch.einsum("i,j->ij", t, self.inv_freq)``,
``self.register_buffer("cos_cached", emb.cos()[None, None, :, :], persistent=False)``,
``cos.squeeze(1).squeeze(0)`` and ``cos[position_ids].unsqueeze(1)``; PEFT-style LoRA
(``lora_A`` ``kaiming_uniform_(a=math.sqrt(5))``, ``lora_B`` zeros, ``scaling = lora_alpha /
r``, frozen base weights); ``[p.requires_grad_() for n, p in model.named_parameters() if
any([k in n for k in training_args.trainable_params.split(",")])]``; a full-attention
evaluation with the same weights (``use_full_attn``); and the HF ``Trainer``-style step with
``torch.optim.AdamW`` and gradient accumulation over 2 micro-batches.

Changed: Llama-2-7B at 8k context -> one layer of width 8, 4 heads (2 key/value heads),
sequences of 8 in groups of 2; PEFT's module injection -> a ``LoraLinear`` wrapper; the
``Trainer`` -> its loop; the softmax's float32 upcast is a downcast in this float64 run, so the
float32 ``exp`` ulp of the two libraries sets the tolerance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

RTOL, ATOL = 1e-6, 1e-9
VOCAB, HIDDEN, HEADS, KV_HEADS, SEQ, BATCH, STEPS, RANK, ALPHA = 13, 8, 4, 2, 8, 2, 3, 2, 4
HEAD_DIM = HIDDEN // HEADS
GROUP_SIZE_RATIO = 1 / 4
SCALING_FACTOR = 2.0


def rotate_half(torch: Any, x: Any) -> Any:
    """Rotates half the hidden dims of the input."""
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(
    torch: Any, q: Any, k: Any, cos: Any, sin: Any, position_ids: Any
) -> tuple:
    # The first two dimensions of cos and sin are always 1, so we can `squeeze` them.
    cos = cos.squeeze(1).squeeze(0)  # [seq_len, dim]
    sin = sin.squeeze(1).squeeze(0)  # [seq_len, dim]
    cos = cos[position_ids].unsqueeze(1)  # [bs, 1, seq_len, dim]
    sin = sin[position_ids].unsqueeze(1)  # [bs, 1, seq_len, dim]
    q_embed = (q * cos) + (rotate_half(torch, q) * sin)
    k_embed = (k * cos) + (rotate_half(torch, k) * sin)
    return q_embed, k_embed


def repeat_kv(hidden_states: Any, n_rep: int) -> Any:
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(
        batch, num_key_value_heads, n_rep, slen, head_dim
    )
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


def lora_linear(torch_like: Any, layer: Any) -> Any:
    """PEFT's LoRA ``Linear`` around a frozen base layer."""
    nn = torch_like.nn

    class LoraLinear(nn.Module):
        def __init__(self, base: Any, r: int, lora_alpha: int) -> None:
            super().__init__()
            self.base_layer = base
            self.lora_A = nn.Linear(base.in_features, r, bias=False)
            self.lora_B = nn.Linear(r, base.out_features, bias=False)
            self.scaling = lora_alpha / r
            nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B.weight)

        def forward(self, x: Any) -> Any:
            return self.base_layer(x) + self.lora_B(self.lora_A(x)) * self.scaling

    return LoraLinear(layer, RANK, ALPHA)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class LlamaLinearScalingRotaryEmbedding(nn.Module):
        def __init__(self, dim: int, max_position_embeddings: int = 2048, base: int = 10000,
                     scaling_factor: float = 1.0) -> None:  # fmt: skip
            super().__init__()
            self.scaling_factor = scaling_factor
            self.dim = dim
            self.max_position_embeddings = max_position_embeddings
            self.base = base
            inv_freq = 1.0 / (self.base ** (torch.arange(0, self.dim, 2).float() / self.dim))
            self.register_buffer("inv_freq", inv_freq, persistent=False)
            self._set_cos_sin_cache(
                seq_len=max_position_embeddings, dtype=torch.get_default_dtype()
            )

        def _set_cos_sin_cache(self, seq_len: int, dtype: Any) -> None:
            self.max_seq_len_cached = seq_len
            t = torch.arange(self.max_seq_len_cached, dtype=self.inv_freq.dtype)
            t = t / self.scaling_factor
            freqs = torch.einsum("i,j->ij", t, self.inv_freq)
            # Different from paper, but it uses a different permutation in order to obtain the
            # same calculation
            emb = torch.cat((freqs, freqs), dim=-1)
            self.register_buffer(
                "cos_cached", emb.cos()[None, None, :, :].to(dtype), persistent=False
            )
            self.register_buffer(
                "sin_cached", emb.sin()[None, None, :, :].to(dtype), persistent=False
            )

        def forward(self, x: Any, seq_len: int) -> tuple:
            if seq_len > self.max_seq_len_cached:
                self._set_cos_sin_cache(seq_len=seq_len, dtype=x.dtype)
            return (
                self.cos_cached[:, :, :seq_len, ...].to(dtype=x.dtype),
                self.sin_cached[:, :, :seq_len, ...].to(dtype=x.dtype),
            )

    class LlamaAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden_size, self.num_heads, self.head_dim = HIDDEN, HEADS, HEAD_DIM
            self.num_key_value_heads = KV_HEADS
            self.num_key_value_groups = HEADS // KV_HEADS
            self.q_proj = nn.Linear(HIDDEN, HEADS * HEAD_DIM, bias=False)
            self.k_proj = nn.Linear(HIDDEN, KV_HEADS * HEAD_DIM, bias=False)
            self.v_proj = nn.Linear(HIDDEN, KV_HEADS * HEAD_DIM, bias=False)
            self.o_proj = nn.Linear(HEADS * HEAD_DIM, HIDDEN, bias=False)
            self.rotary_emb = LlamaLinearScalingRotaryEmbedding(
                HEAD_DIM, max_position_embeddings=SEQ // 2, scaling_factor=SCALING_FACTOR
            )

        def forward(self, hidden_states: Any, attention_mask: Any, position_ids: Any,
                    use_full_attn: bool = False) -> Any:  # fmt: skip
            bsz, q_len, _ = hidden_states.size()
            group_size = int(q_len * GROUP_SIZE_RATIO)
            if q_len % group_size > 0:
                raise ValueError(
                    "q_len %d should be divisible by group size %d." % (q_len, group_size)  # noqa: UP031
                )
            num_group = q_len // group_size

            query_states = self.q_proj(hidden_states)
            key_states = self.k_proj(hidden_states)
            value_states = self.v_proj(hidden_states)

            query_states = query_states.view(bsz, q_len, self.num_heads, self.head_dim).transpose(
                1, 2
            )
            key_states = key_states.view(
                bsz, q_len, self.num_key_value_heads, self.head_dim
            ).transpose(1, 2)
            value_states = value_states.view(
                bsz, q_len, self.num_key_value_heads, self.head_dim
            ).transpose(1, 2)

            kv_seq_len = key_states.shape[-2]
            cos, sin = self.rotary_emb(value_states, seq_len=kv_seq_len)
            query_states, key_states = apply_rotary_pos_emb(
                torch, query_states, key_states, cos, sin, position_ids
            )

            # repeat k/v heads if n_kv_heads < n_heads
            key_states = repeat_kv(key_states, self.num_key_value_groups)
            value_states = repeat_kv(value_states, self.num_key_value_groups)

            if use_full_attn:
                group_size, num_group = q_len, 1
            else:
                # shift
                def shift(qkv: Any, bsz: int, q_len: int, group_size: int, num_heads: int,
                          head_dim: int) -> Any:  # fmt: skip
                    qkv[:, num_heads // 2 :] = qkv[:, num_heads // 2 :].roll(
                        -group_size // 2, dims=2
                    )
                    qkv = (
                        qkv.transpose(1, 2)
                        .reshape(bsz * (q_len // group_size), group_size, num_heads, head_dim)
                        .transpose(1, 2)
                    )
                    return qkv

                query_states = shift(
                    query_states, bsz, q_len, group_size, self.num_heads, self.head_dim
                )
                key_states = shift(
                    key_states, bsz, q_len, group_size, self.num_heads, self.head_dim
                )
                value_states = shift(
                    value_states, bsz, q_len, group_size, self.num_heads, self.head_dim
                )

            attn_weights = torch.matmul(query_states, key_states.transpose(2, 3)) / math.sqrt(
                self.head_dim
            )

            if attn_weights.size() != (bsz * num_group, self.num_heads, group_size, group_size):
                raise ValueError(
                    "Attention weights should be of size "
                    f"{(bsz * num_group, self.num_heads, group_size, group_size)}, but is"
                    f" {attn_weights.size()}"
                )

            attention_mask = attention_mask[:, :, :group_size, :group_size].repeat(
                num_group, 1, 1, 1
            )
            if attention_mask is not None:
                if attention_mask.size() != (bsz * num_group, 1, group_size, group_size):
                    raise ValueError(
                        "Attention mask should be of size "
                        f"{(bsz * num_group, 1, group_size, group_size)}, but is "
                        f"{attention_mask.size()}"
                    )
                attn_weights = attn_weights + attention_mask

            # upcast attention to fp32
            attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(
                query_states.dtype
            )
            attn_output = torch.matmul(attn_weights, value_states)

            if attn_output.size() != (bsz * num_group, self.num_heads, group_size, self.head_dim):
                raise ValueError(
                    "`attn_output` should be of size "
                    f"{(bsz, self.num_heads, q_len, self.head_dim)}, but is"
                    f" {attn_output.size()}"
                )
            attn_output = attn_output.transpose(1, 2).contiguous()

            attn_output = attn_output.reshape(bsz, q_len, self.num_heads, self.head_dim)

            if not use_full_attn:
                # shift back
                attn_output[:, :, self.num_heads // 2 :] = attn_output[
                    :, :, self.num_heads // 2 :
                ].roll(group_size // 2, dims=1)

            attn_output = attn_output.reshape(bsz, q_len, self.hidden_size)
            attn_output = self.o_proj(attn_output)
            return attn_output

    class TinyLlamaForCausalLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_tokens = nn.Embedding(VOCAB, HIDDEN)
            self.input_layernorm = nn.RMSNorm(HIDDEN, eps=1e-6)
            self.self_attn = LlamaAttention()
            self.post_attention_layernorm = nn.RMSNorm(HIDDEN, eps=1e-6)
            self.mlp = nn.Sequential(
                nn.Linear(HIDDEN, 16, bias=False), nn.SiLU(), nn.Linear(16, HIDDEN, bias=False)
            )
            self.norm = nn.RMSNorm(HIDDEN, eps=1e-6)
            self.lm_head = nn.Linear(HIDDEN, VOCAB, bias=False)

        def forward(self, input_ids: Any, use_full_attn: bool = False) -> Any:
            bsz, seq_len = input_ids.shape
            position_ids = torch.arange(seq_len, dtype=torch.long).unsqueeze(0).view(-1, seq_len)
            mask = torch.full((seq_len, seq_len), torch.finfo(torch.get_default_dtype()).min)
            mask = torch.triu(mask, diagonal=1)[None, None].expand(bsz, 1, seq_len, seq_len)
            h = self.embed_tokens(input_ids)
            h = h + self.self_attn(self.input_layernorm(h), mask, position_ids, use_full_attn)
            h = h + self.mlp(self.post_attention_layernorm(h))
            return self.lm_head(self.norm(h))

    return TinyLlamaForCausalLM()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    # get_peft_model: freeze everything, wrap the target modules
    for p in model.parameters():
        p.requires_grad_(False)
    attn = model.self_attn
    for name in ["q_proj", "k_proj", "v_proj", "o_proj"]:
        wrapped = lora_linear(torch_like, getattr(attn, name))
        with torch.no_grad():  # the same LoRA A under both libraries
            wrapped.lora_A.weight.copy_(
                as_tensor(torch, np.random.default_rng(len(name)).normal(size=(RANK, HIDDEN)) * 0.3)
            )
        setattr(attn, name, wrapped)
    trainable_params = "embed,norm"
    [
        p.requires_grad_()
        for n, p in model.named_parameters()
        if any([k in n for k in trainable_params.split(",")])
    ]
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3)
    rng = np.random.default_rng(6)
    values: list[float] = [float(len(names))]
    accum = 2
    for _step in range(STEPS):
        for _micro in range(accum):
            ids = as_tensor(torch, rng.integers(0, VOCAB, (BATCH, SEQ + 1)))
            logits = model(ids[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, VOCAB), ids[:, 1:].reshape(-1)) / accum
            loss.backward()
            values.append(loss.item())
        optimizer.step()
        optimizer.zero_grad()
    with torch.no_grad():
        ids = as_tensor(torch, rng.integers(0, VOCAB, (BATCH, SEQ + 1)))
        for full in (False, True):
            logits = model(ids[:, :-1], use_full_attn=full)
            values.append(F.cross_entropy(logits.reshape(-1, VOCAB), ids[:, 1:].reshape(-1)).item())
    values.append(attn.q_proj.lora_B.weight.abs().sum().item())
    return values
