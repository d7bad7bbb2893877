"""Fixed-size KV caches for LLM decoding: Hugging Face ``transformers``' ``StaticCache``,
``SlidingWindowCache`` and ``SinkCache`` (``src/transformers/cache_utils.py``, v4.4x) and the
H2O heavy-hitter cache (FMInference/H2O, ``h2o_hf/utils_hh/modify_llama.py``'s
``H2OKVCache_LayerWise``), driven by a one-layer Llama-style decoder with rotary embeddings
(``modeling_llama.py``'s ``LlamaRotaryEmbedding``, ``rotate_half``, ``apply_rotary_pos_emb``).

The idioms: ``StaticCache.update``'s ``k_out.index_copy_(2, cache_position, key_states)`` into
preallocated ``torch.zeros(cache_shape, dtype=self.dtype)`` tensors, with the full-length
``torch.full((T, L), fill_value=torch.finfo(dtype).min)`` / ``torch.triu(..., diagonal=1)``
/ ``causal_mask *= torch.arange(L) > cache_position.reshape(-1, 1)`` mask;
``SlidingWindowCache._sliding_update``'s ``torch.ones(max_cache_len, dtype=torch.long).cumsum(0)``,
``cache_position.clamp(0, max_cache_len - 1)``, ``to_shift[-1].int()``, the rolled
``k_out[:, :, indices]``, ``k_out[:, :, cache_position] = key_states``, ``zero_()`` then ``+=``
and the prompt branch's ``key_states[:, :, -max_cache_len:, :]``; ``SinkCache.update``'s
growing ``torch.cat([...], dim=-2)``, the ``cos[0, ...]`` caches, the shifted
``keys_to_keep`` re-rotated by ``_get_rerotation_cos_sin`` (``cos.to(torch.float32)``,
``original_cos * shifted_cos + original_sin * shifted_sin``, ``.to(key_states.dtype)
.unsqueeze(0)``, a dict cache keyed by length) and the sink tokens kept in front; H2O's
accumulated ``attn_score_cache.sum(0).sum(1)``, ``attn_score_cache[:, :-num_new_tokens] +=
self.hh_score``, ``torch.topk(select_hh_scores, self.hh_size, dim=-1)``,
``keep_topk.sort().values``, ``torch.arange(...).repeat(keep_topk.shape[0], 1)``, the boolean
``mask.scatter(-1, keep_idx, 1)`` and ``past_key_values[0].squeeze()[mask].view(bsz, num_heads,
-1, head_dim)``; the rotary ``inv_freq_expanded.float() @ position_ids_expanded.float()`` and
``emb = torch.cat((freqs, freqs), dim=-1)``; greedy decoding with ``argmax(-1)`` one token at a
time after the prompt.

Changed: Llama-2-7B -> one decoder layer of width 8 with 2 heads, batch 1, prompt 4 and 6
generated tokens, windows of 5-6 tokens (2 sink tokens, 2 heavy hitters); the weights are the
NumPy state of the torch model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

# the softmax "upcast to fp32" and the float32 rotary tables (downcasts in this float64 run):
# the two libraries' float32 exp/cos/sin differ by an ulp
RTOL, ATOL = 1e-6, 1e-9
VOCAB, DIM, HEADS, PROMPT, NEW, WINDOW, SINKS, HH, RECENT = 13, 8, 2, 4, 6, 6, 2, 2, 3
HEAD_DIM = DIM // HEADS
MAX_LEN = PROMPT + NEW


def rotate_half(torch: Any, x: Any) -> Any:
    """Rotates half the hidden dims of the input."""
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class LlamaRotaryEmbedding(nn.Module):
        def __init__(self, dim: int, base: float = 10000.0) -> None:
            super().__init__()
            inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
            self.register_buffer("inv_freq", inv_freq, persistent=False)

        @torch.no_grad()
        def forward(self, x: Any, position_ids: Any) -> tuple[Any, Any]:
            inv_freq_expanded = (
                self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
            )
            position_ids_expanded = position_ids[:, None, :].float()
            freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
            emb = torch.cat((freqs, freqs), dim=-1)
            cos = emb.cos()
            sin = emb.sin()
            return cos.to(dtype=x.dtype), sin.to(dtype=x.dtype)

    class LlamaAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q_proj = nn.Linear(DIM, DIM, bias=False)
            self.k_proj = nn.Linear(DIM, DIM, bias=False)
            self.v_proj = nn.Linear(DIM, DIM, bias=False)
            self.o_proj = nn.Linear(DIM, DIM, bias=False)

        def forward(self, hidden_states: Any, position_embeddings: tuple, attention_mask: Any,
                    past_key_value: Any, cache_position: Any) -> tuple:  # fmt: skip
            bsz, q_len, _ = hidden_states.size()
            query_states = self.q_proj(hidden_states).view(bsz, q_len, HEADS, HEAD_DIM)
            key_states = self.k_proj(hidden_states).view(bsz, q_len, HEADS, HEAD_DIM)
            value_states = self.v_proj(hidden_states).view(bsz, q_len, HEADS, HEAD_DIM)
            query_states = query_states.transpose(1, 2)
            key_states = key_states.transpose(1, 2)
            value_states = value_states.transpose(1, 2)

            cos, sin = position_embeddings
            cos_u, sin_u = cos.unsqueeze(1), sin.unsqueeze(1)
            query_states = (query_states * cos_u) + (rotate_half(torch, query_states) * sin_u)
            key_states = (key_states * cos_u) + (rotate_half(torch, key_states) * sin_u)

            if past_key_value is not None:
                # sin and cos are specific to RoPE models; cache_position needed for the static
                # cache
                cache_kwargs = {"sin": sin, "cos": cos, "cache_position": cache_position}
                key_states, value_states = past_key_value.update(
                    key_states, value_states, 0, cache_kwargs
                )

            attn_weights = torch.matmul(query_states, key_states.transpose(2, 3)) / (HEAD_DIM**0.5)
            if attention_mask is not None:  # no matter the length, we just slice it
                causal_mask = attention_mask[:, :, :, : key_states.shape[-2]]
                attn_weights = attn_weights + causal_mask
            # upcast attention to fp32
            attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float32).to(
                query_states.dtype
            )
            attn_output = torch.matmul(attn_weights, value_states)
            attn_output = attn_output.transpose(1, 2).contiguous().reshape(bsz, q_len, -1)
            return self.o_proj(attn_output), attn_weights

    class TinyLlama(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_tokens = nn.Embedding(VOCAB, DIM)
            self.self_attn = LlamaAttention()
            self.mlp = nn.Sequential(nn.Linear(DIM, 2 * DIM), nn.SiLU(), nn.Linear(2 * DIM, DIM))
            self.norm = nn.RMSNorm(DIM, eps=1e-6)
            self.lm_head = nn.Linear(DIM, VOCAB, bias=False)
            self.rotary_emb = LlamaRotaryEmbedding(HEAD_DIM)

        def forward(self, input_ids: Any, position_ids: Any, attention_mask: Any,
                    past_key_values: Any, cache_position: Any) -> tuple:  # fmt: skip
            h = self.embed_tokens(input_ids)
            position_embeddings = self.rotary_emb(h, position_ids)
            a, weights = self.self_attn(
                h, position_embeddings, attention_mask, past_key_values, cache_position
            )
            h = h + a
            h = h + self.mlp(self.norm(h))
            return self.lm_head(self.norm(h)), weights

    return TinyLlama()


class StaticCache:
    def __init__(self, torch: Any, max_cache_len: int, dtype: Any) -> None:
        self.torch, self.max_cache_len, self.dtype = torch, max_cache_len, dtype
        cache_shape = (1, HEADS, self.max_cache_len, HEAD_DIM)
        self.key_cache = [torch.zeros(cache_shape, dtype=self.dtype)]
        self.value_cache = [torch.zeros(cache_shape, dtype=self.dtype)]

    def update(
        self, key_states: Any, value_states: Any, layer_idx: int, cache_kwargs: dict
    ) -> tuple:
        cache_position = cache_kwargs.get("cache_position")
        k_out = self.key_cache[layer_idx]
        v_out = self.value_cache[layer_idx]
        key_states = key_states.to(k_out.dtype)
        value_states = value_states.to(v_out.dtype)
        if cache_position is None:
            k_out.copy_(key_states)
            v_out.copy_(value_states)
        else:
            # Note: here we use `tensor.index_copy_(dim, index, tensor)` that is equivalent to
            # `tensor[:, :, index] = tensor`, but the first one is compile-friendly and it does
            # explicitly an in-place operation, that avoids copies and uses less memory.
            k_out.index_copy_(2, cache_position, key_states)
            v_out.index_copy_(2, cache_position, value_states)
        return k_out, v_out


class SlidingWindowCache(StaticCache):
    def update(
        self, key_states: Any, value_states: Any, layer_idx: int, cache_kwargs: dict
    ) -> tuple:
        torch = self.torch
        cache_position = cache_kwargs.get("cache_position")
        k_out, v_out = self.key_cache[layer_idx], self.value_cache[layer_idx]
        max_cache_len = self.max_cache_len
        if cache_position.shape[0] > max_cache_len:
            k_out = key_states[:, :, -max_cache_len:, :]
            v_out = value_states[:, :, -max_cache_len:, :]
            # Assumption: caches are all zeros at this point, `+=` is equivalent to `=` but
            # compile-friendly
            self.key_cache[layer_idx] += k_out
            self.value_cache[layer_idx] += v_out
            # we should return the whole states instead of k_out, v_out to take the whole prompt
            # into consideration when building kv cache instead of just throwing away tokens
            # outside of the window
            return key_states, value_states

        slicing = torch.ones(max_cache_len, dtype=torch.long, device=value_states.device).cumsum(0)
        cache_position = cache_position.clamp(0, max_cache_len - 1)
        to_shift = cache_position >= max_cache_len - 1
        indices = (slicing + to_shift[-1].int() - 1) % max_cache_len
        k_out = k_out[:, :, indices]
        v_out = v_out[:, :, indices]

        k_out[:, :, cache_position] = key_states
        v_out[:, :, cache_position] = value_states

        # `_.zero()` followed by `+=` is equivalent `=`, but compile-friendly (without graph
        # breaks due to assignment)
        self.key_cache[layer_idx].zero_()
        self.value_cache[layer_idx].zero_()

        self.key_cache[layer_idx] += k_out
        self.value_cache[layer_idx] += v_out
        return k_out, v_out


class SinkCache:
    def __init__(self, torch: Any, window_length: int, num_sink_tokens: int) -> None:
        self.torch = torch
        self.key_cache: list = []
        self.value_cache: list = []
        self.window_length = window_length
        self.num_sink_tokens = num_sink_tokens
        self.cos_sin_rerotation_cache: dict = {}
        self._cos_cache = None
        self._sin_cache = None
        self._seen_tokens = 0

    def get_seq_length(self, layer_idx: int = 0) -> int:
        if len(self.key_cache) <= layer_idx:
            return 0
        return self.key_cache[layer_idx].shape[-2]

    def _apply_key_rotary_pos_emb(self, key_states: Any, cos: Any, sin: Any) -> Any:
        rotated_key_states = (key_states * cos) + (rotate_half(self.torch, key_states) * sin)
        return rotated_key_states

    def _get_rerotation_cos_sin(self, key_states: Any, cos: Any, sin: Any) -> tuple:
        torch = self.torch
        if key_states.shape[-2] not in self.cos_sin_rerotation_cache:
            # Upcast to float32 temporarily for better accuracy
            cos = cos.to(torch.float32)
            sin = sin.to(torch.float32)

            # Compute the cos and sin required for back- and forward-rotating to one position
            # earlier in the sequence
            original_cos = cos[self.num_sink_tokens + key_states.shape[-2] :]
            shifted_cos = cos[self.num_sink_tokens : -key_states.shape[-2]]
            original_sin = sin[self.num_sink_tokens + key_states.shape[-2] :]
            shifted_sin = sin[self.num_sink_tokens : -key_states.shape[-2]]
            rerotation_cos = original_cos * shifted_cos + original_sin * shifted_sin
            rerotation_sin = -original_sin * shifted_cos + original_cos * shifted_sin

            self.cos_sin_rerotation_cache[key_states.shape[-2]] = (
                rerotation_cos.to(key_states.dtype).unsqueeze(0),
                rerotation_sin.to(key_states.dtype).unsqueeze(0),
            )
        return self.cos_sin_rerotation_cache[key_states.shape[-2]]

    def update(
        self, key_states: Any, value_states: Any, layer_idx: int, cache_kwargs: dict
    ) -> tuple:
        torch = self.torch
        sin = cache_kwargs.get("sin")
        cos = cache_kwargs.get("cos")
        using_rope = cos is not None and sin is not None

        # Update the number of seen tokens
        if layer_idx == 0:
            self._seen_tokens += key_states.shape[-2]

        # Update the sin/cos cache, which holds sin/cos values for all possible positions
        if using_rope and layer_idx == 0:
            if self._cos_cache is None:
                self._cos_cache = cos[0, ...]
                self._sin_cache = sin[0, ...]
            elif self._cos_cache.shape[0] < self.window_length:
                self._cos_cache = torch.cat([self._cos_cache, cos[0, ...]], dim=0)
                self._sin_cache = torch.cat([self._sin_cache, sin[0, ...]], dim=0)

        # [bsz, num_heads, seq_len, head_dim]
        if len(self.key_cache) <= layer_idx:
            # Empty cache
            self.key_cache.append(key_states)
            self.value_cache.append(value_states)

        elif key_states.shape[-2] + self.get_seq_length(layer_idx) < self.window_length:
            # Growing cache
            self.key_cache[layer_idx] = torch.cat([self.key_cache[layer_idx], key_states], dim=-2)
            self.value_cache[layer_idx] = torch.cat(
                [self.value_cache[layer_idx], value_states], dim=-2
            )

        else:
            # Shifting cache
            keys_to_keep = self.key_cache[layer_idx][
                :, :, -self.window_length + self.num_sink_tokens + key_states.shape[-2] :
            ]

            # On RoPE models, we need to recompute the Key rotation as the tokens are shifted
            if using_rope:
                rerotation_cos, rerotation_sin = self._get_rerotation_cos_sin(
                    key_states,
                    self._cos_cache[: self.window_length],
                    self._sin_cache[: self.window_length],
                )
                keys_to_keep = self._apply_key_rotary_pos_emb(
                    keys_to_keep, rerotation_cos, rerotation_sin
                )

            # Concatenate sink tokens, shifted & rotated tokens (if needed), and new tokens
            sink_keys = self.key_cache[layer_idx][:, :, : self.num_sink_tokens]
            self.key_cache[layer_idx] = torch.cat([sink_keys, keys_to_keep, key_states], dim=-2)

            sink_values = self.value_cache[layer_idx][:, :, : self.num_sink_tokens]
            values_to_keep = self.value_cache[layer_idx][
                :, :, -self.window_length + self.num_sink_tokens + value_states.shape[-2] :
            ]
            self.value_cache[layer_idx] = torch.cat(
                [sink_values, values_to_keep, value_states], dim=-2
            )

        return self.key_cache[layer_idx], self.value_cache[layer_idx]


class H2OKVCache_LayerWise:  # noqa: N801 (the repository's name)
    def __init__(self, torch: Any, hh_size: int = 4, recent_size: int = 512, k_seq_dim: int = 2,
                 v_seq_dim: int = 2) -> None:  # fmt: skip
        self.torch = torch
        self.hh_size = hh_size
        self.recent_size = recent_size
        self.cache_size = hh_size + recent_size
        self.k_seq_dim = k_seq_dim
        self.v_seq_dim = v_seq_dim
        self.hh_score = None

    def __call__(self, past_key_values: Any, attn_score_cache: Any) -> Any:
        torch = self.torch
        self._update_hh_score(attn_score_cache)

        if past_key_values is None:
            return None
        seq_len = past_key_values[0].size(self.k_seq_dim)
        if seq_len <= self.cache_size:
            return past_key_values

        # hh-selection
        bsz, num_heads, _, head_dim = past_key_values[0].shape

        select_hh_scores = self.hh_score[:, : seq_len - self.recent_size]
        _, keep_topk = torch.topk(select_hh_scores, self.hh_size, dim=-1)
        keep_topk = keep_topk.sort().values

        keep_recent = torch.arange(
            seq_len - self.recent_size, seq_len, device=keep_topk.device
        ).repeat(keep_topk.shape[0], 1)
        keep_idx = torch.cat([keep_topk, keep_recent], dim=-1)

        mask = torch.zeros(self.hh_score.shape, dtype=torch.bool).to(past_key_values[0].device)
        mask = mask.scatter(-1, keep_idx, 1)

        k_hh_recent = past_key_values[0].squeeze()[mask].view(bsz, num_heads, -1, head_dim)
        v_hh_recent = past_key_values[1].squeeze()[mask].view(bsz, num_heads, -1, head_dim)

        self.hh_score = self.hh_score[mask].view(num_heads, self.cache_size)

        return (k_hh_recent, v_hh_recent)

    def _update_hh_score(self, attn_score_cache: Any) -> None:
        num_new_tokens = attn_score_cache.shape[2]

        if self.hh_score is None:
            self.hh_score = attn_score_cache.sum(0).sum(1)
        else:
            attn_score_cache = attn_score_cache.sum(0).sum(1)
            attn_score_cache[:, :-num_new_tokens] += self.hh_score
            self.hh_score = attn_score_cache


class H2OCache:
    """A growing cache whose contents the H2O policy evicts after every step."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.kv: tuple | None = None
        self.policy = H2OKVCache_LayerWise(torch, hh_size=HH, recent_size=RECENT)

    def update(
        self, key_states: Any, value_states: Any, layer_idx: int, cache_kwargs: dict
    ) -> tuple:
        if self.kv is None:
            self.kv = (key_states, value_states)
        else:
            self.kv = (
                self.torch.cat([self.kv[0], key_states], dim=-2),
                self.torch.cat([self.kv[1], value_states], dim=-2),
            )
        return self.kv


def causal_mask_for(torch: Any, dtype: Any, cache_position: Any, target_length: int) -> Any:
    sequence_length = cache_position.shape[0]
    min_dtype = torch.finfo(dtype).min
    causal_mask = torch.full((sequence_length, target_length), fill_value=min_dtype, dtype=dtype)
    if sequence_length != 1:
        causal_mask = torch.triu(causal_mask, diagonal=1)
    causal_mask *= torch.arange(target_length) > cache_position.reshape(-1, 1)
    return causal_mask[None, None, :, :].expand(1, 1, -1, -1)


def generate(torch: Any, model: Any, prompt: Any, kind: str) -> list[float]:
    dtype = torch.get_default_dtype()
    if kind == "static":
        cache = StaticCache(torch, MAX_LEN, dtype)
    elif kind == "sliding":
        cache = SlidingWindowCache(torch, WINDOW, dtype)
    elif kind == "sink":
        cache = SinkCache(torch, window_length=WINDOW, num_sink_tokens=SINKS)
    else:
        cache = H2OCache(torch)
    out: list[float] = []
    input_ids = prompt
    cache_position = torch.arange(PROMPT)
    with torch.no_grad():
        for _ in range(NEW):
            position_ids = cache_position.unsqueeze(0)
            if kind == "static":
                mask = causal_mask_for(torch, dtype, cache_position, MAX_LEN)
            elif kind == "sliding":
                target = max(WINDOW, cache_position.shape[0])
                mask = causal_mask_for(torch, dtype, cache_position.clamp(max=target - 1), target)
            elif kind == "sink" and cache_position.shape[0] > 1:
                mask = causal_mask_for(torch, dtype, cache_position, PROMPT)
            else:
                mask = None if cache_position.shape[0] == 1 else causal_mask_for(
                    torch, dtype, cache_position, PROMPT
                )  # fmt: skip
            logits, weights = model(input_ids, position_ids, mask, cache, cache_position)
            if kind == "h2o":
                cache.kv = cache.policy(cache.kv, weights.detach().clone())
                out.append(cache.policy.hh_score.sum().item())
            next_token = logits[:, -1].argmax(-1)
            out += [logits[:, -1].sum().item(), next_token.item()]
            input_ids = next_token[:, None]
            cache_position = cache_position[-1:] + 1
    if kind == "sink":
        out += [cache.get_seq_length(), cache._seen_tokens, cache.key_cache[0].sum().item()]
    elif kind == "h2o":
        out.append(float(cache.kv[0].shape[-2]))
    else:
        out.append(cache.key_cache[0].abs().sum().item())
    return out


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model.eval()
    rng = np.random.default_rng(2)
    prompt = as_tensor(torch, rng.integers(0, VOCAB, (1, PROMPT)))
    values: list[float] = []
    for kind in ("static", "sliding", "sink", "h2o"):
        values += generate(torch, model, prompt, kind)
    return values
