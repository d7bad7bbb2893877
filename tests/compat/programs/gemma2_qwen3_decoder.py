"""A Gemma-2 decoder (Hugging Face's ``modeling_gemma2.py``, google-deepmind/gemma) with the
Qwen3 / OLMo-2 QK-norm and the GPT-NeoX / Phi partial rotary, size-reduced, trained a few steps
as a causal language model.

The idioms: ``Gemma2RMSNorm`` (``self.weight = nn.Parameter(torch.zeros(dim))``, ``_norm(x) = x
* torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)`` on ``x.float()``, ``output * (1.0 +
self.weight.float())``, ``output.type_as(x)``, and its ``extra_repr``); the embedding
normaliser ``torch.tensor(hidden_size**0.5, dtype=hidden_states.dtype)``; the causal mask
``torch.full((seq, seq), fill_value=min_dtype)`` + ``torch.triu(..., diagonal=1)`` and the
sliding-window mask of the local layers (``torch.tril(torch.ones_like(attention_mask,
dtype=torch.bool), diagonal=-self.sliding_window)``, ``torch.where(sliding_window_mask,
min_dtype, attention_mask)``), alternating local / global layers (``not bool(layer_idx %
2)``); the QK RMSNorm over ``head_dim`` applied before the transpose (Qwen3's ``self.q_norm(
self.q_proj(hidden_states).view(hidden_shape)).transpose(1, 2)``); the partial rotary
(``q[..., :rotary_ndims]``, ``q[..., rotary_ndims:]``, ``torch.cat((q_embed, q_pass),
dim=-1)``, ``inv_freq`` over ``rotary_ndims`` with ``torch.arange(0, dim, 2,
dtype=torch.int64).float()``, ``torch.einsum("i,j->ij", t, inv_freq)``); grouped-query
attention with ``repeat_kv`` (``hidden_states[:, :, None, :, :].expand(...).reshape(...)``)
checked against ``torch.repeat_interleave(k, n_rep, dim=1)`` and against
``F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scaling, enable_gqa=True)``;
the attention scale ``query_pre_attn_scalar**-0.5``; logit soft-capping in attention
(``attn_weights / softcap``, ``torch.tanh``, ``* softcap``) and on the final logits
(``final_logit_softcapping``); the float32 softmax ``F.softmax(..., dim=-1,
dtype=torch.float32).to(query_states.dtype)``; ``F.dropout(..., p=self.attention_dropout,
training=self.training)``; the GeGLU MLP ``down_proj(F.gelu(gate_proj(x),
approximate="tanh") * up_proj(x))`` (``ACT2FN["gelu_pytorch_tanh"]``, here ``nn.GELU(
approximate="tanh")``); the four norms of a Gemma-2 layer (``post_attention_layernorm``,
``pre_feedforward_layernorm``, ``post_feedforward_layernorm``); tied ``lm_head.weight =
embed_tokens.weight``; the shifted LM loss with ``ignore_index=-100`` labels on padding; AdamW
with ``torch.nn.utils.clip_grad_norm_``.

Changed: 2 layers, hidden 16, 4 query heads over 2 KV heads of 8 dims (6 of them rotated), a
window of 3, a vocabulary of 23.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # as the model runs: float64 masks would overflow the float32 softmax

VOCAB, HIDDEN, HEADS, KV_HEADS, HEAD_DIM, ROT_DIM, FFN = 23, 16, 4, 2, 8, 6, 24
LAYERS, WINDOW, ATTN_CAP, FINAL_CAP, QUERY_PRE_ATTN_SCALAR = 2, 3, 5.0, 3.0, 12
BATCH, SEQ, STEPS, LR = 2, 7, 3, 3e-3


def _classes(torch_like: Any) -> dict[str, Any]:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class Gemma2RMSNorm(nn.Module):
        def __init__(self, dim: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.zeros(dim))

        def _norm(self, x: Any) -> Any:
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

        def forward(self, x: Any) -> Any:
            output = self._norm(x.float())
            # Llama does x.to(float16) * w whilst Gemma2 is (x * w).to(float16)
            output = output * (1.0 + self.weight.float())
            return output.type_as(x)

        def extra_repr(self) -> str:
            return f"{tuple(self.weight.shape)}, eps={self.eps}"

    class RotaryEmbedding(nn.Module):
        """GPT-NeoX's partial rotary: only the first ``rotary_ndims`` of a head turn."""

        def __init__(self, dim: int, base: float = 10000.0) -> None:
            super().__init__()
            inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
            self.register_buffer("inv_freq", inv_freq, persistent=False)

        @torch.no_grad()
        def forward(self, x: Any, seq_len: int) -> tuple[Any, Any]:
            t = torch.arange(seq_len, device=x.device, dtype=self.inv_freq.dtype)
            freqs = torch.einsum("i,j->ij", t, self.inv_freq)
            emb = torch.cat((freqs, freqs), dim=-1)
            return emb.cos().to(x.dtype), emb.sin().to(x.dtype)

    def rotate_half(x: Any) -> Any:
        x1 = x[..., : x.shape[-1] // 2]
        x2 = x[..., x.shape[-1] // 2 :]
        return torch.cat((-x2, x1), dim=-1)

    def apply_partial_rotary(q: Any, k: Any, cos: Any, sin: Any, rotary_ndims: int) -> Any:
        q_rot, q_pass = q[..., :rotary_ndims], q[..., rotary_ndims:]
        k_rot, k_pass = k[..., :rotary_ndims], k[..., rotary_ndims:]
        cos, sin = cos[None, None], sin[None, None]
        q_embed = (q_rot * cos) + (rotate_half(q_rot) * sin)
        k_embed = (k_rot * cos) + (rotate_half(k_rot) * sin)
        return torch.cat((q_embed, q_pass), dim=-1), torch.cat((k_embed, k_pass), dim=-1)

    def repeat_kv(hidden_states: Any, n_rep: int) -> Any:
        batch, num_key_value_heads, slen, head_dim = hidden_states.shape
        if n_rep == 1:
            return hidden_states
        hidden_states = hidden_states[:, :, None, :, :].expand(
            batch, num_key_value_heads, n_rep, slen, head_dim
        )
        return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)

    class Gemma2Attention(nn.Module):
        def __init__(self, layer_idx: int) -> None:
            super().__init__()
            self.layer_idx = layer_idx
            self.head_dim = HEAD_DIM
            self.num_key_value_groups = HEADS // KV_HEADS
            self.scaling = QUERY_PRE_ATTN_SCALAR**-0.5
            self.attention_dropout = 0.0
            self.attn_logit_softcapping = ATTN_CAP
            self.is_sliding = not bool(layer_idx % 2)
            self.sliding_window = WINDOW if self.is_sliding else None
            self.q_proj = nn.Linear(HIDDEN, HEADS * HEAD_DIM, bias=False)
            self.k_proj = nn.Linear(HIDDEN, KV_HEADS * HEAD_DIM, bias=False)
            self.v_proj = nn.Linear(HIDDEN, KV_HEADS * HEAD_DIM, bias=False)
            self.o_proj = nn.Linear(HEADS * HEAD_DIM, HIDDEN, bias=False)
            self.q_norm = Gemma2RMSNorm(HEAD_DIM)  # Qwen3 / OLMo-2: QK-norm on head_dim
            self.k_norm = Gemma2RMSNorm(HEAD_DIM)
            self.rotary_emb = RotaryEmbedding(ROT_DIM)

        def forward(self, hidden_states: Any, attention_mask: Any, probe: list) -> Any:
            input_shape = hidden_states.shape[:-1]
            hidden_shape = (*input_shape, -1, self.head_dim)
            query_states = self.q_norm(self.q_proj(hidden_states).view(hidden_shape)).transpose(
                1, 2
            )
            key_states = self.k_norm(self.k_proj(hidden_states).view(hidden_shape)).transpose(1, 2)
            value_states = self.v_proj(hidden_states).view(hidden_shape).transpose(1, 2)
            cos, sin = self.rotary_emb(value_states, seq_len=input_shape[1])
            query_states, key_states = apply_partial_rotary(
                query_states, key_states, cos, sin, ROT_DIM
            )

            if self.is_sliding and attention_mask is not None:
                min_dtype = torch.finfo(hidden_states.dtype).min
                sliding_window_mask = torch.tril(
                    torch.ones_like(attention_mask, dtype=torch.bool),
                    diagonal=-self.sliding_window,
                )
                attention_mask = torch.where(sliding_window_mask, min_dtype, attention_mask)

            key_rep = repeat_kv(key_states, self.num_key_value_groups)
            value_rep = repeat_kv(value_states, self.num_key_value_groups)
            probe.append(torch.equal(key_rep, torch.repeat_interleave(key_states, 2, dim=1)))

            # without the soft cap: the fused kernel, grouped heads broadcast by enable_gqa
            with torch.no_grad():
                plain = torch.matmul(query_states, key_rep.transpose(2, 3)) * self.scaling
                plain = F.softmax(plain + attention_mask, dim=-1) @ value_rep
                sdpa = F.scaled_dot_product_attention(
                    query_states, key_states, value_states, attn_mask=attention_mask,
                    scale=self.scaling, enable_gqa=True,
                )  # fmt: skip
                probe.append((plain - sdpa).abs().max().item())

            attn_weights = torch.matmul(query_states, key_rep.transpose(2, 3)) * self.scaling
            if self.attn_logit_softcapping is not None:
                attn_weights = attn_weights / self.attn_logit_softcapping
                attn_weights = torch.tanh(attn_weights)
                attn_weights = attn_weights * self.attn_logit_softcapping
            if attention_mask is not None:  # no matter the length, we just slice it
                causal_mask = attention_mask[:, :, :, : key_rep.shape[-2]]
                attn_weights = attn_weights + causal_mask

            # upcast attention to fp32
            attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float32).to(
                query_states.dtype
            )
            attn_weights = F.dropout(attn_weights, p=self.attention_dropout, training=self.training)
            attn_output = torch.matmul(attn_weights, value_rep)
            attn_output = attn_output.transpose(1, 2).contiguous()
            attn_output = attn_output.reshape(*input_shape, -1).contiguous()
            return self.o_proj(attn_output)

    class Gemma2MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gate_proj = nn.Linear(HIDDEN, FFN, bias=False)
            self.up_proj = nn.Linear(HIDDEN, FFN, bias=False)
            self.down_proj = nn.Linear(FFN, HIDDEN, bias=False)
            self.act_fn = nn.GELU(approximate="tanh")

        def forward(self, x: Any) -> Any:
            return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))

    class Gemma2DecoderLayer(nn.Module):
        def __init__(self, layer_idx: int) -> None:
            super().__init__()
            self.self_attn = Gemma2Attention(layer_idx)
            self.mlp = Gemma2MLP()
            self.input_layernorm = Gemma2RMSNorm(HIDDEN)
            self.post_attention_layernorm = Gemma2RMSNorm(HIDDEN)
            self.pre_feedforward_layernorm = Gemma2RMSNorm(HIDDEN)
            self.post_feedforward_layernorm = Gemma2RMSNorm(HIDDEN)

        def forward(self, hidden_states: Any, attention_mask: Any, probe: list) -> Any:
            residual = hidden_states
            hidden_states = self.input_layernorm(hidden_states)
            hidden_states = self.self_attn(hidden_states, attention_mask, probe)
            hidden_states = self.post_attention_layernorm(hidden_states)
            hidden_states = residual + hidden_states

            residual = hidden_states
            hidden_states = self.pre_feedforward_layernorm(hidden_states)
            hidden_states = self.mlp(hidden_states)
            hidden_states = self.post_feedforward_layernorm(hidden_states)
            hidden_states = residual + hidden_states
            return hidden_states

    class Gemma2ForCausalLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_tokens = nn.Embedding(VOCAB, HIDDEN, padding_idx=0)
            self.layers = nn.ModuleList([Gemma2DecoderLayer(i) for i in range(LAYERS)])
            self.norm = Gemma2RMSNorm(HIDDEN)
            self.lm_head = nn.Linear(HIDDEN, VOCAB, bias=False)
            self.lm_head.weight = self.embed_tokens.weight
            self.final_logit_softcapping = FINAL_CAP
            self.probe: list = []

        def _update_causal_mask(self, attention_mask: Any, dtype: Any) -> Any:
            batch, seq = attention_mask.shape
            min_dtype = torch.finfo(dtype).min
            causal_mask = torch.full((seq, seq), fill_value=min_dtype, dtype=dtype)
            causal_mask = torch.triu(causal_mask, diagonal=1)
            causal_mask = causal_mask[None, None, :, :].expand(batch, 1, -1, -1).clone()
            padding_mask = causal_mask + attention_mask[:, None, None, :]
            padding_mask = padding_mask == 0
            causal_mask = causal_mask.masked_fill(padding_mask, min_dtype)
            return causal_mask

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            inputs_embeds = self.embed_tokens(input_ids)
            # normalized: Gemma2 downcasts the below to float16 in half precision
            normalizer = torch.tensor(HIDDEN**0.5, dtype=inputs_embeds.dtype)
            hidden_states = inputs_embeds * normalizer
            causal_mask = self._update_causal_mask(attention_mask, hidden_states.dtype)
            for decoder_layer in self.layers:
                hidden_states = decoder_layer(hidden_states, causal_mask, self.probe)
            hidden_states = self.norm(hidden_states)
            logits = self.lm_head(hidden_states)
            if self.final_logit_softcapping is not None:
                logits = logits / self.final_logit_softcapping
                logits = torch.tanh(logits)
                logits = logits * self.final_logit_softcapping
            return logits

    return {"model": Gemma2ForCausalLM, "norm": Gemma2RMSNorm}


def make_model(torch_like: Any) -> Any:
    model = _classes(torch_like)["model"]()
    for name, p in model.named_parameters():  # Gemma's norms start at 0: move them off it
        if "norm" in name:
            torch_like.nn.init.normal_(p, std=0.1)
    return model


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []
    values.append(float(model.lm_head.weight is model.embed_tokens.weight))
    values.append(float(repr(model.norm) == "Gemma2RMSNorm((16,), eps=1e-06)"))
    values.append(float(len(model.state_dict()) == len(init)))

    rng = np.random.default_rng(3)
    ids = rng.integers(1, VOCAB, (BATCH, SEQ))
    mask = np.ones((BATCH, SEQ), dtype=np.int64)
    mask[1, :2] = 0  # left padding on the second row
    ids[1, :2] = 0
    input_ids = as_tensor(torch, ids)
    attention_mask = as_tensor(torch, mask)
    labels = input_ids.masked_fill(attention_mask == 0, -100)

    # the sliding-window mask of a local layer, as built
    min_dtype = torch.finfo(torch.float32).min
    full = torch.triu(torch.full((SEQ, SEQ), fill_value=min_dtype), diagonal=1)
    window = torch.tril(torch.ones_like(full, dtype=torch.bool), diagonal=-WINDOW)
    local = torch.where(window, min_dtype, full)
    values += (local == 0).sum(-1).tolist()

    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    model.train()
    for _ in range(STEPS):
        logits = model(input_ids, attention_mask)
        shift_logits = logits[..., :-1, :].contiguous()
        shift_labels = labels[..., 1:].contiguous()
        loss = F.cross_entropy(
            shift_logits.view(-1, VOCAB), shift_labels.view(-1), ignore_index=-100
        )
        optimizer.zero_grad()
        loss.backward()
        total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values += [loss.item(), total_norm.item(), logits.abs().max().item()]
    probe = model.probe
    values.append(float(all(p is True for p in probe[0::2])))
    values.append(float(max(probe[1::2]) < 1e-5))
    model.eval()
    with torch.no_grad():
        logits = model(input_ids, attention_mask)
    values.append(float(logits.abs().max().item() < FINAL_CAP))
    values += logits[0, -1, :6].tolist() + logits[1, 3, :6].tolist()
    values += model.layers[0].input_layernorm.weight[:4].tolist()
    return values
