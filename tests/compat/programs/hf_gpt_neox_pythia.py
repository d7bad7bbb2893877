"""Hugging Face ``transformers``' GPT-NeoX (``modeling_gpt_neox.py``, the Pythia models) as a
causal language model, size-reduced, trained a few steps and decoded with its
``past_key_values`` cache.

The idioms: the config-driven ``GPTNeoXPreTrainedModel`` with ``_init_weights`` (``module.weight
.data.normal_(mean=0.0, std=self.config.initializer_range)``, ``module.bias.data.zero_()``,
``module.weight.data[module.padding_idx].zero_()``, LayerNorm ``fill_(1.0)``) run by
``post_init`` through ``self.apply``; ``GPTNeoXAttention``'s non-persistent buffers
(``register_buffer("bias", torch.tril(torch.ones((n, n), dtype=torch.bool)).view(1, 1, n, n),
persistent=False)``, ``register_buffer("masked_bias", torch.tensor(-1e9), persistent=False)``),
``self.norm_factor = torch.sqrt(torch.tensor(self.head_size, dtype=torch.float32)).to(
torch.get_default_dtype())``, the fused ``query_key_value`` split with ``qkv.size()[:-1] +
(num_heads, 3 * head_size)`` and ``qkv[..., : head_size].permute(0, 2, 1, 3)``; the partial
rotary embedding (``rotary_pct``: ``query[..., : self.rotary_ndims]`` rotated, ``torch.cat((
query, query_pass), dim=-1)``) from a ``GPTNeoXRotaryEmbedding`` that caches ``emb.cos()`` /
``emb.sin()`` of ``torch.cat((freqs, freqs), dim=-1)`` (``freqs = torch.outer(t,
self.inv_freq)``, ``t = torch.arange(n, dtype=torch.int64).type_as(self.inv_freq)``) and
rebuilds the cache when a longer sequence comes, ``rotate_half``, ``cos[position_ids]
.unsqueeze(1)``; the cache concatenation ``key = torch.cat((past_key, key), dim=-2)`` and
``present = (key, value) if use_cache else None``; ``_attn`` with ``torch.baddbmm(attn_scores,
query, key.transpose(1, 2), beta=1.0, alpha=(torch.tensor(1.0, dtype=self.norm_factor.dtype) /
self.norm_factor))`` on ``torch.zeros`` scores, the causal slice ``self.bias[:, :, key_length -
query_length : key_length, :key_length]``, ``torch.where(causal_mask, attn_scores,
mask_value)`` with ``mask_value = torch.tensor(torch.finfo(attn_scores.dtype).min, dtype=
attn_scores.dtype).to(attn_scores.device)``, ``attn_weights.to(value.dtype)``; ``_merge_heads``
(``permute(0, 2, 1, 3).contiguous()``, ``view``); the parallel residual ``mlp_output +
attn_output + hidden_states``; the 2-D padding mask ``attention_mask[:, None, None, :]``,
``.to(dtype=self.dtype)``, ``(1.0 - attention_mask) * torch.finfo(self.dtype).min``; position
ids ``torch.arange(past_length, seq_length + past_length, dtype=torch.long).unsqueeze(0)``;
``GPTNeoXForCausalLM``'s loss ``lm_logits[:, :-1, :].contiguous()``, ``labels[:, 1:]
.contiguous()``, ``CrossEntropyLoss()(shift_logits.view(-1, shift_logits.size(-1)),
labels.view(-1))`` with ``-100`` on padding (the default ``ignore_index``), and Llama's
``logits = logits.float()``.

Also the two 4-D causal-mask builders of the library, checked equal to each other: the legacy
``AttentionMaskConverter._make_causal_mask`` (``torch.full((tgt_len, tgt_len),
torch.finfo(dtype).min)``, ``mask.masked_fill_(mask_cond < (mask_cond + 1).view(
mask.size(-1), 1), 0)``, ``torch.cat([torch.zeros(tgt_len, past, dtype=dtype), mask], dim=-1)``,
``mask[None, None, :, :].expand(bsz, 1, tgt_len, tgt_len + past)``) plus ``_expand_mask``
(``mask[:, None, None, :].expand(...).to(dtype)``, ``inverted_mask.masked_fill(
inverted_mask.to(torch.bool), torch.finfo(dtype).min)``), and Llama's
``_prepare_4d_causal_attention_mask_with_cache_position`` (``torch.triu(causal_mask,
diagonal=1)``, ``causal_mask *= torch.arange(target_length) > cache_position.reshape(-1, 1)``,
``causal_mask[None, None, :, :].expand(batch_size, 1, -1, -1)``, ``.clone()``, ``padding_mask =
causal_mask[:, :, :, :mask_length] + attention_mask[:, None, None, :]``, ``padding_mask ==
0``, the sliced ``masked_fill`` write-back).

Training is ``torch.optim.AdamW`` over ``no_decay = ["bias", "LayerNorm.weight"]`` groups
(``any(nd in n for nd in no_decay)``) with ``get_linear_schedule_with_warmup`` as a
``LambdaLR`` and ``clip_grad_norm_``; generation is greedy under ``torch.no_grad()`` with the
cache (``outputs.past_key_values`` fed back with only the last token), checked against full
forwards.

Changed: ``EleutherAI/pythia-70m`` is a 2-layer, hidden 16, 2-head model (``rotary_pct``
0.25 -> 0.5) over a 23-token vocabulary with ``initializer_range`` 0.02 -> 0.1 and the rotary
cache first built for 6 positions (so the longer sequences rebuild it); the corpus is 4
right-padded NumPy sequences.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

DTYPE = "float32"
RTOL = 1e-4
ATOL = 1e-5

VOCAB, HIDDEN, HEADS, LAYERS, MAX_POS, PAD = 23, 16, 2, 2, 16, 0


class GPTNeoXConfig:
    def __init__(self, **kwargs: Any) -> None:
        self.vocab_size = VOCAB
        self.hidden_size = HIDDEN
        self.num_attention_heads = HEADS
        self.num_hidden_layers = LAYERS
        self.intermediate_size = 4 * HIDDEN
        self.rotary_pct = 0.5
        self.rotary_emb_base = 10000
        self.max_position_embeddings = MAX_POS
        self.initializer_range = 0.1
        self.layer_norm_eps = 1e-5
        self.use_parallel_residual = True
        self.hidden_dropout = 0.0
        self.attention_dropout = 0.0
        self.pad_token_id = PAD
        self.use_cache = True
        self.__dict__.update(kwargs)


def rotate_half(torch_like: Any, x: Any) -> Any:
    """Rotates half the hidden dims of the input."""
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch_like.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(torch_like: Any, q: Any, k: Any, cos: Any, sin: Any, position_ids: Any):
    cos = cos[position_ids].unsqueeze(1)  # [bs, 1, seq_len, dim]
    sin = sin[position_ids].unsqueeze(1)
    q_embed = (q * cos) + (rotate_half(torch_like, q) * sin)
    k_embed = (k * cos) + (rotate_half(torch_like, k) * sin)
    return q_embed, k_embed


def _make_causal_mask(torch_like: Any, input_ids_shape: Any, dtype: Any, past: int = 0) -> Any:
    """Make causal mask used for bi-directional self-attention (``AttentionMaskConverter``)."""
    torch = torch_like
    bsz, tgt_len = input_ids_shape
    mask = torch.full((tgt_len, tgt_len), torch.finfo(dtype).min)
    mask_cond = torch.arange(mask.size(-1))
    mask.masked_fill_(mask_cond < (mask_cond + 1).view(mask.size(-1), 1), 0)
    mask = mask.to(dtype)
    if past > 0:
        mask = torch.cat([torch.zeros(tgt_len, past, dtype=dtype), mask], dim=-1)
    return mask[None, None, :, :].expand(bsz, 1, tgt_len, tgt_len + past)


def _expand_mask(torch_like: Any, mask: Any, dtype: Any, tgt_len: int | None = None) -> Any:
    """Expands attention_mask from ``[bsz, seq_len]`` to ``[bsz, 1, tgt_seq_len, src_seq_len]``."""
    bsz, src_len = mask.size()
    tgt_len = tgt_len if tgt_len is not None else src_len
    expanded_mask = mask[:, None, None, :].expand(bsz, 1, tgt_len, src_len).to(dtype)
    inverted_mask = 1.0 - expanded_mask
    return inverted_mask.masked_fill(inverted_mask.to(torch_like.bool), torch_like.finfo(dtype).min)


def _prepare_4d_causal_attention_mask_with_cache_position(
    torch_like: Any,
    attention_mask: Any,
    sequence_length: int,
    target_length: int,
    dtype: Any,
    cache_position: Any,
    batch_size: int,
) -> Any:
    torch = torch_like
    min_dtype = torch.finfo(dtype).min
    causal_mask = torch.full((sequence_length, target_length), fill_value=min_dtype, dtype=dtype)
    if sequence_length != 1:
        causal_mask = torch.triu(causal_mask, diagonal=1)
    causal_mask *= torch.arange(target_length) > cache_position.reshape(-1, 1)
    causal_mask = causal_mask[None, None, :, :].expand(batch_size, 1, -1, -1)
    if attention_mask is not None:
        causal_mask = causal_mask.clone()  # copy to contiguous memory for in-place edit
        mask_length = attention_mask.shape[-1]
        padding_mask = causal_mask[:, :, :, :mask_length] + attention_mask[:, None, None, :]
        padding_mask = padding_mask == 0
        causal_mask[:, :, :, :mask_length] = causal_mask[:, :, :, :mask_length].masked_fill(
            padding_mask, min_dtype
        )
    return causal_mask


def _classes(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    ACT2FN = {"gelu": nn.GELU()}

    class GPTNeoXPreTrainedModel(nn.Module):
        base_model_prefix = "gpt_neox"

        def __init__(self, config: GPTNeoXConfig) -> None:
            super().__init__()
            self.config = config

        @property
        def dtype(self) -> Any:
            return next(self.parameters()).dtype

        def _init_weights(self, module: Any) -> None:
            """Initialize the weights"""
            if isinstance(module, nn.Linear):
                module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
                if module.bias is not None:
                    module.bias.data.zero_()
            elif isinstance(module, nn.Embedding):
                module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
                if module.padding_idx is not None:
                    module.weight.data[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                module.bias.data.zero_()
                module.weight.data.fill_(1.0)

        def post_init(self) -> None:
            self.apply(self._init_weights)

    class GPTNeoXRotaryEmbedding(nn.Module):
        def __init__(self, dim: int, max_position_embeddings: int = 2048, base: int = 10000):
            super().__init__()
            self.dim = dim
            self.max_position_embeddings = max_position_embeddings
            self.base = base
            inv_freq = 1.0 / (
                self.base ** (torch.arange(0, self.dim, 2, dtype=torch.int64).float() / self.dim)
            )
            self.register_buffer("inv_freq", inv_freq, persistent=False)
            # Build here to make `torch.jit.trace` work.
            self._set_cos_sin_cache(seq_len=max_position_embeddings, device=None)

        def _set_cos_sin_cache(self, seq_len: int, device: Any) -> None:
            self.max_seq_len_cached = seq_len
            t = torch.arange(self.max_seq_len_cached, device=device, dtype=torch.int64).type_as(
                self.inv_freq
            )
            freqs = torch.outer(t, self.inv_freq)
            # Different from paper, but it uses a different permutation to obtain the same result
            emb = torch.cat((freqs, freqs), dim=-1)
            self.register_buffer("cos_cached", emb.cos(), persistent=False)
            self.register_buffer("sin_cached", emb.sin(), persistent=False)

        def forward(self, x: Any, seq_len: int | None = None) -> tuple[Any, Any]:
            # x: [bs, num_attention_heads, seq_len, head_size]
            if seq_len > self.max_seq_len_cached:
                self._set_cos_sin_cache(seq_len=seq_len, device=x.device)
            return self.cos_cached[:seq_len], self.sin_cached[:seq_len]

    class GPTNeoXAttention(nn.Module):
        def __init__(self, config: GPTNeoXConfig) -> None:
            super().__init__()
            self.config = config
            self.num_attention_heads = config.num_attention_heads
            self.hidden_size = config.hidden_size
            if self.hidden_size % self.num_attention_heads != 0:
                raise ValueError(
                    "The hidden size is not divisble by the number of attention heads! Make sure"
                    " to update them"
                )
            self.head_size = self.hidden_size // self.num_attention_heads
            self.rotary_ndims = int(self.head_size * config.rotary_pct)
            max_positions = config.max_position_embeddings
            self.register_buffer(
                "bias",
                torch.tril(torch.ones((max_positions, max_positions), dtype=torch.bool)).view(
                    1, 1, max_positions, max_positions
                ),
                persistent=False,
            )
            self.register_buffer("masked_bias", torch.tensor(-1e9), persistent=False)
            self.rotary_emb = GPTNeoXRotaryEmbedding(
                self.rotary_ndims, 6, base=config.rotary_emb_base
            )
            self.norm_factor = torch.sqrt(torch.tensor(self.head_size, dtype=torch.float32)).to(
                torch.get_default_dtype()
            )
            self.query_key_value = nn.Linear(config.hidden_size, 3 * config.hidden_size)
            self.dense = nn.Linear(config.hidden_size, config.hidden_size)
            self.attention_dropout = nn.Dropout(config.attention_dropout)

        def forward(
            self,
            hidden_states: Any,
            attention_mask: Any,
            position_ids: Any,
            layer_past: Any = None,
            use_cache: bool = False,
        ) -> tuple[Any, Any]:
            has_layer_past = layer_past is not None

            # Compute QKV
            # Attention heads [batch, seq_len, hidden_size]
            #   --> [batch, seq_len, (np * 3 * head_size)]
            qkv = self.query_key_value(hidden_states)

            # [batch, seq_len, (num_heads * 3 * head_size)]
            #   --> [batch, seq_len, num_heads, 3 * head_size]
            new_qkv_shape = qkv.size()[:-1] + (self.num_attention_heads, 3 * self.head_size)
            qkv = qkv.view(*new_qkv_shape)

            # [batch, seq_len, num_attention_heads, 3 * head_size]
            #   --> 3 [batch, num_attention_heads, seq_len, head_size]
            query = qkv[..., : self.head_size].permute(0, 2, 1, 3)
            key = qkv[..., self.head_size : 2 * self.head_size].permute(0, 2, 1, 3)
            value = qkv[..., 2 * self.head_size :].permute(0, 2, 1, 3)

            # Compute rotary embeddings on rotary_ndims
            query_rot = query[..., : self.rotary_ndims]
            query_pass = query[..., self.rotary_ndims :]
            key_rot = key[..., : self.rotary_ndims]
            key_pass = key[..., self.rotary_ndims :]

            # Compute token offset for rotary embeddings (when decoding)
            seq_len = key.shape[-2]
            if has_layer_past:
                seq_len += layer_past[0].shape[-2]
            cos, sin = self.rotary_emb(value, seq_len=seq_len)
            query, key = apply_rotary_pos_emb(torch, query_rot, key_rot, cos, sin, position_ids)
            query = torch.cat((query, query_pass), dim=-1)
            key = torch.cat((key, key_pass), dim=-1)

            # Cache QKV values
            if has_layer_past:
                past_key = layer_past[0]
                past_value = layer_past[1]
                key = torch.cat((past_key, key), dim=-2)
                value = torch.cat((past_value, value), dim=-2)
            present = (key, value) if use_cache else None

            # Compute attention
            attn_output, attn_weights = self._attn(query, key, value, attention_mask)

            # Reshape outputs
            attn_output = self._merge_heads(attn_output, self.num_attention_heads, self.head_size)
            attn_output = self.dense(attn_output)
            return attn_output, present

        @classmethod
        def _merge_heads(cls, tensor: Any, num_attention_heads: int, attn_head_size: int) -> Any:
            """Merges attn_head_size dim and num_attn_heads dim into hidden dim"""
            # tensor [bs, num_attention_heads, seq_len, attn_head_size]
            tensor = tensor.permute(0, 2, 1, 3).contiguous()
            # -> [bs, seq_len, num_attention_heads, attn_head_size]
            tensor = tensor.view(
                tensor.size(0), tensor.size(1), num_attention_heads * attn_head_size
            )
            # -> [bs, seq_len, hidden_size]
            return tensor

        def _attn(self, query: Any, key: Any, value: Any, attention_mask: Any = None):
            # q, k, v: [bs, num_attention_heads, seq_len, attn_head_size]
            # compute causal mask from causal mask buffer
            batch_size, num_attention_heads, query_length, attn_head_size = query.size()
            key_length = key.size(-2)

            causal_mask = self.bias[:, :, key_length - query_length : key_length, :key_length]

            query = query.view(batch_size * num_attention_heads, query_length, attn_head_size)
            key = key.view(batch_size * num_attention_heads, key_length, attn_head_size)
            attn_scores = torch.zeros(
                batch_size * num_attention_heads,
                query_length,
                key_length,
                dtype=query.dtype,
                device=key.device,
            )
            attn_scores = torch.baddbmm(
                attn_scores,
                query,
                key.transpose(1, 2),
                beta=1.0,
                alpha=(
                    torch.tensor(1.0, dtype=self.norm_factor.dtype, device=self.norm_factor.device)
                    / self.norm_factor
                ),
            )
            attn_scores = attn_scores.view(
                batch_size, num_attention_heads, query_length, key_length
            )

            mask_value = torch.finfo(attn_scores.dtype).min
            # Need to be a tensor, otherwise we get error: `RuntimeError: expected scalar type
            # float but found double`. Need to be on the same device, otherwise `RuntimeError:
            # ..., x and y to be on the same device`
            mask_value = torch.tensor(mask_value, dtype=attn_scores.dtype).to(attn_scores.device)
            attn_scores = torch.where(causal_mask, attn_scores, mask_value)

            if attention_mask is not None:
                # Apply the attention mask
                attn_scores = attn_scores + attention_mask

            attn_weights = nn.functional.softmax(attn_scores, dim=-1)
            attn_weights = attn_weights.to(value.dtype)
            attn_weights = self.attention_dropout(attn_weights)

            attn_output = torch.matmul(attn_weights, value)
            return attn_output, attn_weights

    class GPTNeoXMLP(nn.Module):
        def __init__(self, config: GPTNeoXConfig) -> None:
            super().__init__()
            self.dense_h_to_4h = nn.Linear(config.hidden_size, config.intermediate_size)
            self.dense_4h_to_h = nn.Linear(config.intermediate_size, config.hidden_size)
            self.act = ACT2FN["gelu"]

        def forward(self, hidden_states: Any) -> Any:
            hidden_states = self.dense_h_to_4h(hidden_states)
            hidden_states = self.act(hidden_states)
            hidden_states = self.dense_4h_to_h(hidden_states)
            return hidden_states

    class GPTNeoXLayer(nn.Module):
        def __init__(self, config: GPTNeoXConfig) -> None:
            super().__init__()
            self.use_parallel_residual = config.use_parallel_residual
            self.input_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
            self.post_attention_layernorm = nn.LayerNorm(
                config.hidden_size, eps=config.layer_norm_eps
            )
            self.post_attention_dropout = nn.Dropout(config.hidden_dropout)
            self.post_mlp_dropout = nn.Dropout(config.hidden_dropout)
            self.attention = GPTNeoXAttention(config)
            self.mlp = GPTNeoXMLP(config)

        def forward(
            self,
            hidden_states: Any,
            attention_mask: Any = None,
            position_ids: Any = None,
            use_cache: bool = False,
            layer_past: Any = None,
        ) -> tuple[Any, Any]:
            attn_output, present = self.attention(
                self.input_layernorm(hidden_states),
                attention_mask=attention_mask,
                position_ids=position_ids,
                layer_past=layer_past,
                use_cache=use_cache,
            )
            attn_output = self.post_attention_dropout(attn_output)

            if self.use_parallel_residual:
                # pseudocode:
                # x = x + attn(ln1(x)) + mlp(ln2(x))
                mlp_output = self.mlp(self.post_attention_layernorm(hidden_states))
                mlp_output = self.post_mlp_dropout(mlp_output)
                hidden_states = mlp_output + attn_output + hidden_states
            else:
                # pseudocode:
                # x = x + attn(ln1(x))
                # x = x + mlp(ln2(x))
                attn_output = attn_output + hidden_states
                mlp_output = self.mlp(self.post_attention_layernorm(attn_output))
                mlp_output = self.post_mlp_dropout(mlp_output)
                hidden_states = mlp_output + attn_output
            return hidden_states, present

    class GPTNeoXModel(GPTNeoXPreTrainedModel):
        def __init__(self, config: GPTNeoXConfig) -> None:
            super().__init__(config)
            self.embed_in = nn.Embedding(
                config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
            )
            self.emb_dropout = nn.Dropout(config.hidden_dropout)
            self.layers = nn.ModuleList(
                [GPTNeoXLayer(config) for _ in range(config.num_hidden_layers)]
            )
            self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
            # Initialize weights and apply final processing
            self.post_init()

        def forward(
            self,
            input_ids: Any,
            attention_mask: Any = None,
            position_ids: Any = None,
            past_key_values: Any = None,
            use_cache: bool | None = None,
        ) -> tuple[Any, Any]:
            use_cache = use_cache if use_cache is not None else self.config.use_cache
            input_shape = input_ids.size()
            batch_size, seq_length = input_shape

            if past_key_values is None:
                past_length = 0
                past_key_values = tuple([None] * self.config.num_hidden_layers)
            else:
                past_length = past_key_values[0][0].size(-2)

            if position_ids is None:
                device = input_ids.device
                position_ids = torch.arange(
                    past_length, seq_length + past_length, dtype=torch.long, device=device
                )
                position_ids = position_ids.unsqueeze(0)

            # Attention mask.
            if attention_mask is not None:
                assert batch_size > 0, "batch_size has to be defined and > 0"
                attention_mask = attention_mask.view(batch_size, -1)
                # We create a 3D attention mask from a 2D tensor mask.
                # Sizes are [batch_size, 1, 1, to_seq_length]
                attention_mask = attention_mask[:, None, None, :]
                attention_mask = attention_mask.to(dtype=self.dtype)  # fp16 compatibility
                attention_mask = (1.0 - attention_mask) * torch.finfo(self.dtype).min

            inputs_embeds = self.embed_in(input_ids)
            hidden_states = self.emb_dropout(inputs_embeds)
            presents = () if use_cache else None
            for layer, layer_past in zip(self.layers, past_key_values):
                hidden_states, present = layer(
                    hidden_states,
                    attention_mask=attention_mask,
                    position_ids=position_ids,
                    layer_past=layer_past,
                    use_cache=use_cache,
                )
                if use_cache is True:
                    presents = presents + (present,)
            hidden_states = self.final_layer_norm(hidden_states)
            return hidden_states, presents

    class CausalLMOutputWithPast(dict):
        def __getattr__(self, name: str) -> Any:
            return self[name]

    class GPTNeoXForCausalLM(GPTNeoXPreTrainedModel):
        _tied_weights_keys = ["embed_out.weight"]

        def __init__(self, config: GPTNeoXConfig) -> None:
            super().__init__(config)
            self.gpt_neox = GPTNeoXModel(config)
            self.embed_out = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
            # Initialize weights and apply final processing
            self.post_init()

        def forward(
            self,
            input_ids: Any,
            attention_mask: Any = None,
            position_ids: Any = None,
            past_key_values: Any = None,
            labels: Any = None,
            use_cache: bool | None = None,
        ) -> Any:
            hidden_states, presents = self.gpt_neox(
                input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                past_key_values=past_key_values,
                use_cache=use_cache,
            )
            lm_logits = self.embed_out(hidden_states)
            lm_logits = lm_logits.float()

            lm_loss = None
            if labels is not None:
                # move labels to correct device to enable model parallelism
                labels = labels.to(lm_logits.device)
                # we are doing next-token prediction; shift prediction scores and input ids by one
                shift_logits = lm_logits[:, :-1, :].contiguous()
                labels = labels[:, 1:].contiguous()
                loss_fct = nn.CrossEntropyLoss()
                lm_loss = loss_fct(shift_logits.view(-1, shift_logits.size(-1)), labels.view(-1))
            return CausalLMOutputWithPast(loss=lm_loss, logits=lm_logits, past_key_values=presents)

    return GPTNeoXForCausalLM


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)(GPTNeoXConfig())


def _corpus() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(29)
    lengths = [9, 7, 9, 5]
    ids = np.full((4, 9), PAD, dtype=np.int64)
    mask = np.zeros((4, 9), dtype=np.int64)
    for i, n in enumerate(lengths):
        start = int(rng.integers(1, VOCAB - 3))
        ids[i, :n] = 1 + (start + 2 * np.arange(n)) % (VOCAB - 1)  # a learnable progression
        mask[i, :n] = 1
    return ids, mask


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    values: list[float] = []
    ids_np, mask_np = _corpus()
    input_ids = as_tensor(torch, ids_np)
    attention_mask = as_tensor(torch, mask_np)

    # the two 4-D mask builders agree (past 0 and past 3), and padding keys are masked
    dtype = torch.get_default_dtype()
    legacy = _make_causal_mask(torch, (4, 9), dtype) + _expand_mask(torch, attention_mask, dtype)
    cache_position = torch.arange(0, 9)
    modern = _prepare_4d_causal_attention_mask_with_cache_position(
        torch, attention_mask, 9, 9, dtype, cache_position, 4
    )
    values.append(float(((legacy < -1e30) == (modern < -1e30)).all()))
    values.append(float((modern == 0).sum()))
    past_mask = _make_causal_mask(torch, (2, 3), dtype, past=4)
    modern_past = _prepare_4d_causal_attention_mask_with_cache_position(
        torch, None, 3, 7, dtype, torch.arange(4, 7), 2
    )
    values.append(float((past_mask == modern_past).all()))
    values.append(float(past_mask.shape[-1] + past_mask.stride()[1]))

    model = make_model(torch)
    # the freshly initialised model: the padding row is zero and LayerNorm weights are one
    values.append(model.gpt_neox.embed_in.weight[PAD].abs().sum().item())
    values.append(model.gpt_neox.final_layer_norm.weight.sum().item())
    load_numpy_state(torch, model, init)
    buffers = sorted(n for n, _ in model.named_buffers())
    assert all(n not in model.state_dict() for n in buffers), buffers

    labels = input_ids.clone()
    labels[attention_mask == 0] = -100
    no_decay = ["bias", "LayerNorm.weight", "layer_norm.weight", "layernorm.weight"]
    optimizer_grouped_parameters = [
        {
            "params": [
                p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)
            ],
            "weight_decay": 0.01,
        },
        {
            "params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=3e-3)
    num_warmup_steps, num_training_steps = 2, 6

    def lr_lambda(current_step: int) -> float:
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        return max(
            0.0,
            float(num_training_steps - current_step)
            / float(max(1, num_training_steps - num_warmup_steps)),
        )

    lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, -1)
    model.train()
    for step in range(5):
        batch = slice(0, 2) if step % 2 == 0 else slice(2, 4)
        outputs = model(
            input_ids=input_ids[batch], attention_mask=attention_mask[batch], labels=labels[batch]
        )
        loss = outputs.loss
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        lr_scheduler.step()
        optimizer.zero_grad()
        values.extend([loss.item(), float(norm), lr_scheduler.get_last_lr()[0]])
    values.append(outputs.logits.dtype == torch.float32)

    # greedy generation with the cache, checked against full forwards
    model.eval()
    prompt = input_ids[:, :4]
    with torch.no_grad():
        outputs = model(prompt, use_cache=True)
        past_key_values = outputs.past_key_values
        generated = prompt
        next_token = outputs.logits[:, -1, :].argmax(dim=-1, keepdim=True)
        for _ in range(5):
            generated = torch.cat([generated, next_token], dim=-1)
            outputs = model(next_token, past_key_values=past_key_values, use_cache=True)
            past_key_values = outputs.past_key_values
            full = model(generated, use_cache=False).logits[:, -1, :]
            values.append(float((outputs.logits[:, -1, :] - full).abs().max() < 1e-4))
            values.append(float(full.logsumexp(-1).sum()))
            next_token = outputs.logits[:, -1, :].argmax(dim=-1, keepdim=True)
    values.extend(generated.flatten().tolist())
    values.append(past_key_values[0][0].shape[-2])
    values.append(model.gpt_neox.layers[0].attention.rotary_emb.max_seq_len_cached)
    values.append(math.fsum(values[:4]))
    return values


def check(values: list[float]) -> None:
    assert values[0] == 1.0 and values[2] == 1.0  # the mask builders agree
    assert values[4] == 0.0 and values[5] == HIDDEN  # post_init ran
