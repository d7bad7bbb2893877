"""The RoPE variants of Hugging Face ``transformers``' ``modeling_rope_utils.py`` (Llama 3.1's
frequency scaling, YaRN, dynamic NTK) and Qwen2-VL's multimodal RoPE
(``models/qwen2_vl/modeling_qwen2_vl.py``: ``Qwen2VLRotaryEmbedding``,
``apply_multimodal_rotary_pos_emb``, ``get_rope_index``), size-reduced, each driving a one-layer
attention model trained on next-token prediction.

The idioms: ``_compute_default_rope_parameters`` (``1.0 / (base ** (torch.arange(0, dim, 2,
dtype=torch.int64).to(device=device, dtype=torch.float) / dim))``); ``_compute_llama3_parameters``
(``wavelen = 2 * math.pi / inv_freq``, ``torch.where(wavelen > low_freq_wavelen, inv_freq /
factor, inv_freq)``, the ``smooth_factor`` blend, ``is_medium_freq = ~(wavelen <
high_freq_wavelen) * ~(wavelen > low_freq_wavelen)``: a product of two inverted bool tensors);
``_compute_yarn_parameters`` (``find_correction_dim`` with ``math.floor`` / ``math.ceil``,
``linear_ramp_factor``'s ``torch.clamp(linear_func, 0, 1)``, ``inv_freq_interpolation * (1 -
inv_freq_extrapolation_factor) + inv_freq_extrapolation * inv_freq_extrapolation_factor``,
``attention_factor = 0.1 * math.log(factor) + 1.0``); ``_compute_dynamic_ntk_parameters``'s
``base * ((factor * seq_len / max_position_embeddings) - (factor - 1)) ** (dim / (dim - 2))``;
``LlamaRotaryEmbedding.forward`` under ``@torch.no_grad()`` (``self.inv_freq[None, :,
None].float().expand(position_ids.shape[0], -1, 1)``, ``position_ids[:, None, :].float()``,
``with torch.autocast(device_type=device_type, enabled=False)``, ``torch.cat((freqs, freqs),
dim=-1)``, ``emb.cos() * self.attention_scaling``, ``.to(dtype=x.dtype)``) with
``register_buffer("inv_freq", inv_freq, persistent=False)``; ``rotate_half`` (``torch.cat((-x2,
x1), dim=-1)``); ``repeat_kv`` (``hidden_states[:, :, None, :, :].expand(...)``); Qwen2-VL's
``self.inv_freq[None, None, :, None].float().expand(3, position_ids.shape[1], -1, 1)``,
``.transpose(2, 3)``, ``mrope_section * 2`` and ``torch.cat([m[i % 3] for i, m in
enumerate(cos.split(mrope_section, dim=-1))], dim=-1).unsqueeze(unsqueeze_dim)``; and
``get_rope_index``'s image grid positions (``torch.arange(llm_grid_t).view(-1, 1).expand(-1,
llm_grid_h * llm_grid_w).flatten()``, ``torch.stack([t_index, h_index, w_index]) + text_len +
st_idx``, ``llm_pos_ids_list[-1].max() + 1``, ``torch.cat(llm_pos_ids_list, dim=1).reshape(3,
-1)``, ``mrope_position_deltas``).

Changed: head dim 128 -> 8, 4 query / 2 key-value heads, one layer, sequences of 9 tokens with a
2x2 "image" grid, ``original_max_position_embeddings`` 8192 -> 4 (so that every branch of the
scalings is taken), 3 steps per variant; SDPA instead of the eager/flash dispatch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, D, N_HEADS, N_KV, HEAD_DIM, BATCH, STEPS = 17, 16, 4, 2, 8, 2, 3
IMAGE_TOKEN, GRID_THW = 16, (1, 4, 4)  # merge size 2: a 2x2 grid of merged patches
ROPE_CONFIGS = {
    "default": None,
    "llama3": dict(
        factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=4
    ),
    "yarn": dict(factor=4.0, original_max_position_embeddings=4, beta_fast=32, beta_slow=1),
    "dynamic": dict(factor=2.0),
    "mrope": dict(mrope_section=[2, 1, 1]),
}
MAX_POS, BASE = 4, 10000.0


def compute_inv_freq(torch_like: Any, rope_type: str, seq_len: int | None = None) -> Any:
    torch = torch_like
    base, dim, device = BASE, HEAD_DIM, None
    cfg = ROPE_CONFIGS[rope_type]
    attention_factor = 1.0
    if rope_type == "dynamic":
        factor = cfg["factor"]
        seq_len = seq_len if seq_len is not None and seq_len > MAX_POS else MAX_POS
        base = base * ((factor * seq_len / MAX_POS) - (factor - 1)) ** (dim / (dim - 2))
    inv_freq = 1.0 / (
        base
        ** (torch.arange(0, dim, 2, dtype=torch.int64).to(device=device, dtype=torch.float) / dim)
    )
    if rope_type == "llama3":
        factor = cfg["factor"]
        low_freq_factor = cfg["low_freq_factor"]
        high_freq_factor = cfg["high_freq_factor"]
        old_context_len = cfg["original_max_position_embeddings"]
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth_factor = (old_context_len / wavelen - low_freq_factor) / (
            high_freq_factor - low_freq_factor
        )
        smoothed_inv_freq = (
            1 - smooth_factor
        ) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
        is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        inv_freq = torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
    elif rope_type == "yarn":
        factor = cfg["factor"]
        attention_factor = 0.1 * math.log(factor) + 1.0
        beta_fast, beta_slow = cfg["beta_fast"], cfg["beta_slow"]
        original = cfg["original_max_position_embeddings"]

        def find_correction_dim(num_rotations: float, dim: int, base: float, max_pos: int) -> float:
            return (dim * math.log(max_pos / (num_rotations * 2 * math.pi))) / (2 * math.log(base))

        def find_correction_range(
            low_rot: float, high_rot: float, dim: int, base: float, max_pos: int
        ) -> tuple[int, int]:
            low = math.floor(find_correction_dim(low_rot, dim, base, max_pos))
            high = math.ceil(find_correction_dim(high_rot, dim, base, max_pos))
            return max(low, 0), min(high, dim - 1)

        def linear_ramp_factor(min: float, max: float, dim: int) -> Any:
            if min == max:
                max += 0.001
            linear_func = (torch.arange(dim, dtype=torch.float32) - min) / (max - min)
            ramp_func = torch.clamp(linear_func, 0, 1)
            return ramp_func

        pos_freqs = base ** (torch.arange(0, dim, 2).to(device=device, dtype=torch.float) / dim)
        inv_freq_extrapolation = 1.0 / pos_freqs
        inv_freq_interpolation = 1.0 / (factor * pos_freqs)
        low, high = find_correction_range(beta_fast, beta_slow, dim, base, original)
        inv_freq_extrapolation_factor = 1 - linear_ramp_factor(low, high, dim // 2).to(
            device=device, dtype=torch.float
        )
        inv_freq = (
            inv_freq_interpolation * (1 - inv_freq_extrapolation_factor)
            + inv_freq_extrapolation * inv_freq_extrapolation_factor
        )
    return inv_freq, attention_factor


def rotate_half(torch_like: Any, x: Any) -> Any:
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch_like.cat((-x2, x1), dim=-1)


def repeat_kv(hidden_states: Any, n_rep: int) -> Any:
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(
        batch, num_key_value_heads, n_rep, slen, head_dim
    )
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


def get_rope_index(torch_like: Any, input_ids: Any) -> tuple[Any, Any]:
    """Qwen2-VL's 3-D positions: text tokens count up on all three axes, an image's merged
    patches take (t, h, w) grid positions after the text before them."""
    torch = torch_like
    spatial_merge_size = 2
    position_ids = torch.ones(3, input_ids.shape[0], input_ids.shape[1], dtype=input_ids.dtype)
    mrope_position_deltas = []
    for i, ids in enumerate(input_ids):
        input_tokens = ids.tolist()
        llm_pos_ids_list: list = []
        st = 0
        ed = input_tokens.index(IMAGE_TOKEN)
        t, h, w = GRID_THW
        llm_grid_t, llm_grid_h, llm_grid_w = (
            t,
            h // spatial_merge_size,
            w // spatial_merge_size,
        )
        text_len = ed - st
        st_idx = llm_pos_ids_list[-1].max() + 1 if len(llm_pos_ids_list) > 0 else 0
        llm_pos_ids_list.append(torch.arange(text_len).view(1, -1).expand(3, -1) + st_idx)
        t_index = torch.arange(llm_grid_t).view(-1, 1).expand(-1, llm_grid_h * llm_grid_w).flatten()
        h_index = (
            torch.arange(llm_grid_h).view(1, -1, 1).expand(llm_grid_t, -1, llm_grid_w).flatten()
        )
        w_index = (
            torch.arange(llm_grid_w).view(1, 1, -1).expand(llm_grid_t, llm_grid_h, -1).flatten()
        )
        llm_pos_ids_list.append(torch.stack([t_index, h_index, w_index]) + text_len + st_idx)
        st = ed + llm_grid_t * llm_grid_h * llm_grid_w
        if st < len(input_tokens):
            st_idx = llm_pos_ids_list[-1].max() + 1 if len(llm_pos_ids_list) > 0 else 0
            text_len = len(input_tokens) - st
            llm_pos_ids_list.append(torch.arange(text_len).view(1, -1).expand(3, -1) + st_idx)
        llm_positions = torch.cat(llm_pos_ids_list, dim=1).reshape(3, -1)
        position_ids[..., i, :] = llm_positions.to(position_ids.device)
        mrope_position_deltas.append(llm_positions.max() + 1 - len(input_ids[i]))
    mrope_position_deltas = torch.tensor(mrope_position_deltas).unsqueeze(1)
    return position_ids, mrope_position_deltas


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class RotaryEmbedding(nn.Module):
        def __init__(self, rope_type: str) -> None:
            super().__init__()
            self.rope_type = rope_type
            inv_freq, self.attention_scaling = compute_inv_freq(torch, rope_type)
            self.register_buffer("inv_freq", inv_freq, persistent=False)
            self.original_inv_freq = self.inv_freq

        @torch.no_grad()
        def forward(self, x: Any, position_ids: Any) -> tuple[Any, Any]:
            if self.rope_type == "dynamic":
                seq_len = int(torch.max(position_ids)) + 1
                inv_freq, _ = compute_inv_freq(torch, "dynamic", seq_len)
                self.register_buffer("inv_freq", inv_freq, persistent=False)
            if self.rope_type == "mrope":
                inv_freq_expanded = (
                    self.inv_freq[None, None, :, None]
                    .float()
                    .expand(3, position_ids.shape[1], -1, 1)
                )
                position_ids_expanded = position_ids[:, :, None, :].float()
            else:
                inv_freq_expanded = (
                    self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
                )
                position_ids_expanded = position_ids[:, None, :].float()
            device_type = x.device.type if x.device.type != "mps" else "cpu"
            with torch.autocast(device_type=device_type, enabled=False):
                freqs = inv_freq_expanded.float() @ position_ids_expanded.float()
                freqs = (
                    freqs.transpose(2, 3) if self.rope_type == "mrope" else freqs.transpose(1, 2)
                )
                emb = torch.cat((freqs, freqs), dim=-1)
                cos = emb.cos() * self.attention_scaling
                sin = emb.sin() * self.attention_scaling
            return cos.to(dtype=x.dtype), sin.to(dtype=x.dtype)

    class Attention(nn.Module):
        def __init__(self, rope_type: str) -> None:
            super().__init__()
            self.rope_type = rope_type
            self.q_proj = nn.Linear(D, N_HEADS * HEAD_DIM, bias=rope_type == "mrope")
            self.k_proj = nn.Linear(D, N_KV * HEAD_DIM, bias=rope_type == "mrope")
            self.v_proj = nn.Linear(D, N_KV * HEAD_DIM, bias=rope_type == "mrope")
            self.o_proj = nn.Linear(N_HEADS * HEAD_DIM, D, bias=False)

        def forward(self, hidden_states: Any, position_embeddings: Any) -> Any:
            input_shape = hidden_states.shape[:-1]
            hidden_shape = (*input_shape, -1, HEAD_DIM)
            q = self.q_proj(hidden_states).view(hidden_shape).transpose(1, 2)
            k = self.k_proj(hidden_states).view(hidden_shape).transpose(1, 2)
            v = self.v_proj(hidden_states).view(hidden_shape).transpose(1, 2)
            cos, sin = position_embeddings
            if self.rope_type == "mrope":
                mrope_section = ROPE_CONFIGS["mrope"]["mrope_section"] * 2
                cos = torch.cat(
                    [m[i % 3] for i, m in enumerate(cos.split(mrope_section, dim=-1))], dim=-1
                ).unsqueeze(1)
                sin = torch.cat(
                    [m[i % 3] for i, m in enumerate(sin.split(mrope_section, dim=-1))], dim=-1
                ).unsqueeze(1)
            else:
                cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
            q = (q * cos) + (rotate_half(torch, q) * sin)
            k = (k * cos) + (rotate_half(torch, k) * sin)
            k = repeat_kv(k, N_HEADS // N_KV)
            v = repeat_kv(v, N_HEADS // N_KV)
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            out = out.transpose(1, 2).reshape(*input_shape, -1).contiguous()
            return self.o_proj(out)

    class TinyDecoder(nn.Module):
        def __init__(self, rope_type: str) -> None:
            super().__init__()
            self.rope_type = rope_type
            self.embed_tokens = nn.Embedding(VOCAB, D)
            self.rotary_emb = RotaryEmbedding(rope_type)
            self.input_layernorm = nn.RMSNorm(D, eps=1e-6)
            self.self_attn = Attention(rope_type)
            self.norm = nn.RMSNorm(D, eps=1e-6)
            self.lm_head = nn.Linear(D, VOCAB, bias=False)

        def forward(self, input_ids: Any, position_ids: Any) -> Any:
            h = self.embed_tokens(input_ids)
            position_embeddings = self.rotary_emb(h, position_ids)
            h = h + self.self_attn(self.input_layernorm(h), position_embeddings)
            return self.lm_head(self.norm(h))

    return nn.ModuleDict({name: TinyDecoder(name) for name in ROPE_CONFIGS})


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    optimizer = torch.optim.AdamW(models.parameters(), lr=1e-2)
    rng = np.random.default_rng(31)
    values: list[float] = []
    for name in ROPE_CONFIGS:
        values.append(models[name].rotary_emb.inv_freq.sum().item())
    for _ in range(STEPS):
        ids = rng.integers(0, IMAGE_TOKEN, (BATCH, 10))
        ids[0, 2:6] = IMAGE_TOKEN
        ids[1, 4:8] = IMAGE_TOKEN
        input_ids = as_tensor(torch, ids)
        inputs, labels = input_ids[:, :-1], input_ids[:, 1:]
        seq = inputs.shape[1]
        loss = 0.0
        for name, model in models.items():
            if name == "mrope":
                position_ids, deltas = get_rope_index(torch, inputs)
                values.append(deltas.sum().item())
            elif name == "dynamic":
                position_ids = torch.arange(seq).unsqueeze(0).expand(BATCH, -1) * 2
            else:
                position_ids = torch.arange(seq).unsqueeze(0).expand(BATCH, -1)
            logits = model(inputs, position_ids)
            part = F.cross_entropy(logits.reshape(-1, VOCAB), labels.reshape(-1))
            values.append(part.item())
            loss = loss + part
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return values
