"""Two ways of putting positions into attention as biases on the scores: ALiBi as
ofirpress/attention_with_linear_biases (its fairseq ``transformer.py``) and HuggingFace's
BLOOM (``build_alibi_tensor``) write it, and T5's bucketed relative positions as HuggingFace's
``modeling_t5.py`` writes them; each in a small language model trained a few steps.

The idioms: ``get_slopes(n)`` (``get_slopes_power_of_2`` with ``start = (2**(-2**-(math.log2(n)
-3))))``, ``math.log2(n).is_integer()``, the non-power-of-two branch ``closest_power_of_2 =
2**math.floor(math.log2(n))`` and ``get_slopes(2*closest_power_of_2)[0::2][:n-
closest_power_of_2]``); fairseq's bias (``torch.Tensor(get_slopes(attn_heads))``,
``slopes.unsqueeze(1).unsqueeze(1) * torch.arange(maxpos).unsqueeze(0).unsqueeze(0).expand(
attn_heads, -1, -1)``, ``.view(attn_heads, 1, maxpos)``, ``.repeat(bsz, 1, 1)``, the future
mask ``torch.triu(utils.fill_with_neg_inf(torch.zeros([maxpos, maxpos])), 1)`` with
``fill_with_neg_inf`` = ``t.float().fill_(float("-inf")).type_as(t)``, ``_future_mask.unsqueeze(
0) + self.alibi`` sliced ``[:bsz*heads, :tgt_len, :tgt_len]``, added to
``torch.bmm(q, k.transpose(1, 2))``); BLOOM's form (``base = torch.tensor(2 ** (-(2 **
-(math.log2(closest_power_of_2) - 3))), dtype=torch.float32)``, ``powers = torch.arange(1, 1 +
closest_power_of_2, dtype=torch.int32)``, ``torch.pow(base, powers)``, ``extra_powers =
torch.arange(1, 1 + 2 * num_remaining_heads, 2, dtype=torch.int32)``, ``torch.cat([slopes,
torch.pow(extra_base, extra_powers)], dim=0)``, ``arange_tensor = ((attention_mask.cumsum(dim=-1)
- 1) * attention_mask)[:, None, :]``, ``slopes[..., None] * arange_tensor``, ``alibi.reshape(
batch_size * num_heads, 1, seq_length).to(dtype)``, scores by ``alibi.baddbmm(batch1=query_layer,
batch2=key_layer, beta=self.beta, alpha=self.inv_norm_factor)``, the causal mask
``masked_fill(mask, torch.finfo(dtype).min)`` and ``F.softmax(scores, dim=-1, dtype=torch.float32)
.to(input_dtype)``); T5's ``_relative_position_bucket`` (``num_buckets //= 2``, ``(relative_position
> 0).to(torch.long) * num_buckets``, ``torch.abs``, the unidirectional ``-torch.min(
relative_position, torch.zeros_like(relative_position))``, ``is_small = relative_position <
max_exact``, ``torch.log(relative_position.float() / max_exact) / math.log(max_distance /
max_exact) * (num_buckets - max_exact)`` cast ``.to(torch.long)`` (the log of 0 is ``-inf``,
which ``torch.where`` then discards), ``torch.min(..., torch.full_like(..., num_buckets - 1))``,
``relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)``),
``compute_bias`` (``torch.arange(query_length, dtype=torch.long)[:, None]``, an ``nn.Embedding(
num_buckets, n_heads)`` of the buckets, ``values.permute([2, 0, 1]).unsqueeze(0)``), T5's
attention without the ``1/sqrt(d)`` scaling (``torch.matmul(q, k.transpose(3, 2))``,
``scores += position_bias``, ``softmax(scores.float(), dim=-1).type_as(scores)``, the extended
mask ``(1.0 - mask) * torch.finfo(dtype).min``), ``T5LayerNorm`` (``hidden_states.to(
torch.float32).pow(2).mean(-1, keepdim=True)``, ``hidden_states * torch.rsqrt(variance +
self.variance_epsilon)``) and the bias computed once by the first layer and shared by the rest.

Changed: 16 heads -> 6 and 4 (both ``get_slopes`` branches), d_model 512 -> 12, vocabulary of
11, sequences of 7 from NumPy, 32/128 buckets and distance -> 8/16 (the log-spaced buckets
still used), three Adam steps per model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

# T5's ``scores.float()`` softmax and its float32 variance, and both ALiBi forms' ``dtype=torch.
# float32`` softmax, run in single precision inside the float64 model: their sums round in a
# different order than PyTorch's vectorised kernels (a few 1e-9 relative on the losses)
RTOL = 1e-7
VOCAB, D_MODEL, SEQ, BATCH, STEPS, LR = 11, 12, 7, 3, 3, 1e-2
NUM_BUCKETS, MAX_DISTANCE = 8, 16


def get_slopes(n: int) -> list[float]:
    def get_slopes_power_of_2(n: int) -> list[float]:
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        ratio = start
        return [start * ratio**i for i in range(n)]

    if math.log2(n).is_integer():
        return get_slopes_power_of_2(n)
    else:
        closest_power_of_2 = 2 ** math.floor(math.log2(n))
        return (
            get_slopes_power_of_2(closest_power_of_2)
            + get_slopes(2 * closest_power_of_2)[0::2][: n - closest_power_of_2]
        )


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    def fill_with_neg_inf(t: Any) -> Any:
        """FP16-compatible function that fills a tensor with -inf."""
        return t.float().fill_(float("-inf")).type_as(t)

    def build_alibi_tensor(attention_mask: Any, num_heads: int, dtype: Any) -> Any:
        batch_size, seq_length = attention_mask.shape
        closest_power_of_2 = 2 ** math.floor(math.log2(num_heads))
        base = torch.tensor(
            2 ** (-(2 ** -(math.log2(closest_power_of_2) - 3))),
            device=attention_mask.device,
            dtype=torch.float32,
        )
        powers = torch.arange(
            1, 1 + closest_power_of_2, device=attention_mask.device, dtype=torch.int32
        )
        slopes = torch.pow(base, powers)
        if closest_power_of_2 != num_heads:
            extra_base = torch.tensor(
                2 ** (-(2 ** -(math.log2(2 * closest_power_of_2) - 3))),
                device=attention_mask.device,
                dtype=torch.float32,
            )
            num_remaining_heads = min(closest_power_of_2, num_heads - closest_power_of_2)
            extra_powers = torch.arange(
                1, 1 + 2 * num_remaining_heads, 2, device=attention_mask.device, dtype=torch.int32
            )
            slopes = torch.cat([slopes, torch.pow(extra_base, extra_powers)], dim=0)
        arange_tensor = ((attention_mask.cumsum(dim=-1) - 1) * attention_mask)[:, None, :]
        alibi = slopes[..., None] * arange_tensor
        return alibi.reshape(batch_size * num_heads, 1, seq_length).to(dtype)

    class AlibiSelfAttention(nn.Module):
        """fairseq's multi-head attention with the ALiBi future mask (``heads`` = 6: the
        non-power-of-two slopes)."""

        def __init__(self, embed_dim: int, num_heads: int, maxpos: int) -> None:
            super().__init__()
            self.num_heads = num_heads
            self.head_dim = embed_dim // num_heads
            self.scaling = self.head_dim**-0.5
            self.q_proj = nn.Linear(embed_dim, embed_dim)
            self.k_proj = nn.Linear(embed_dim, embed_dim)
            self.v_proj = nn.Linear(embed_dim, embed_dim)
            self.out_proj = nn.Linear(embed_dim, embed_dim)
            slopes = torch.Tensor(get_slopes(num_heads))
            alibi = slopes.unsqueeze(1).unsqueeze(1) * torch.arange(maxpos).unsqueeze(0).unsqueeze(
                0
            ).expand(num_heads, -1, -1)
            self.alibi = alibi.view(num_heads, 1, maxpos)
            self.maxpos = maxpos

        def buffered_future_mask(self, tensor: Any, bsz: int) -> Any:
            dim = tensor.size(0)
            future_mask = torch.triu(fill_with_neg_inf(torch.zeros([self.maxpos, self.maxpos])), 1)
            future_mask = future_mask.unsqueeze(0) + self.alibi.repeat(bsz, 1, 1)
            future_mask = future_mask.to(tensor)
            return future_mask[: tensor.shape[1] * self.num_heads, :dim, :dim]

        def forward(self, x: Any) -> Any:  # x: T x B x C, as fairseq
            tgt_len, bsz, embed_dim = x.size()
            q = self.q_proj(x) * self.scaling
            k = self.k_proj(x)
            v = self.v_proj(x)
            q = q.contiguous().view(tgt_len, bsz * self.num_heads, self.head_dim).transpose(0, 1)
            k = k.contiguous().view(-1, bsz * self.num_heads, self.head_dim).transpose(0, 1)
            v = v.contiguous().view(-1, bsz * self.num_heads, self.head_dim).transpose(0, 1)
            attn_weights = torch.bmm(q, k.transpose(1, 2))
            attn_weights += self.buffered_future_mask(x, bsz)
            attn_weights_float = F.softmax(attn_weights, dim=-1, dtype=torch.float32)
            attn_probs = attn_weights_float.type_as(attn_weights)
            attn = torch.bmm(attn_probs, v)
            attn = attn.transpose(0, 1).contiguous().view(tgt_len, bsz, embed_dim)
            return self.out_proj(attn)

    class BloomAttention(nn.Module):
        def __init__(self, hidden_size: int, num_heads: int) -> None:
            super().__init__()
            self.num_heads = num_heads
            self.head_dim = hidden_size // num_heads
            self.inv_norm_factor = 1.0 / math.sqrt(self.head_dim)
            self.beta = 1.0
            self.query_key_value = nn.Linear(hidden_size, 3 * hidden_size, bias=True)
            self.dense = nn.Linear(hidden_size, hidden_size)

        def forward(self, hidden_states: Any, alibi: Any, causal_mask: Any) -> Any:
            batch_size, q_length, _ = hidden_states.shape
            fused_qkv = self.query_key_value(hidden_states)
            fused_qkv = fused_qkv.view(batch_size, q_length, self.num_heads, 3, self.head_dim)
            query_layer, key_layer, value_layer = (
                fused_qkv[..., 0, :],
                fused_qkv[..., 1, :],
                fused_qkv[..., 2, :],
            )
            query_layer = query_layer.transpose(1, 2).reshape(
                batch_size * self.num_heads, q_length, self.head_dim
            )
            key_layer = key_layer.permute(0, 2, 3, 1).reshape(
                batch_size * self.num_heads, self.head_dim, q_length
            )
            value_layer = value_layer.transpose(1, 2).reshape(
                batch_size * self.num_heads, q_length, self.head_dim
            )
            matmul_result = alibi.baddbmm(
                batch1=query_layer, batch2=key_layer, beta=self.beta, alpha=self.inv_norm_factor
            )
            attention_scores = matmul_result.view(batch_size, self.num_heads, q_length, -1)
            input_dtype = attention_scores.dtype
            attn_weights = torch.masked_fill(
                attention_scores, causal_mask, torch.finfo(attention_scores.dtype).min
            )
            attention_probs = F.softmax(attn_weights, dim=-1, dtype=torch.float32).to(input_dtype)
            attention_probs_reshaped = attention_probs.view(
                batch_size * self.num_heads, q_length, -1
            )
            context_layer = torch.bmm(attention_probs_reshaped, value_layer)
            context_layer = context_layer.view(batch_size, self.num_heads, q_length, -1)
            context_layer = context_layer.permute(0, 2, 1, 3).reshape(batch_size, q_length, -1)
            return self.dense(context_layer)

    class T5LayerNorm(nn.Module):
        def __init__(self, hidden_size: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(hidden_size))
            self.variance_epsilon = eps

        def forward(self, hidden_states: Any) -> Any:
            variance = hidden_states.to(torch.float32).pow(2).mean(-1, keepdim=True)
            hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
            return self.weight * hidden_states

    class T5Attention(nn.Module):
        def __init__(self, d_model, n_heads, is_decoder, has_relative_attention_bias=False):
            super().__init__()
            self.is_decoder = is_decoder
            self.has_relative_attention_bias = has_relative_attention_bias
            self.relative_attention_num_buckets = NUM_BUCKETS
            self.relative_attention_max_distance = MAX_DISTANCE
            self.d_model = d_model
            self.key_value_proj_dim = d_model // n_heads
            self.n_heads = n_heads
            self.inner_dim = self.n_heads * self.key_value_proj_dim
            self.q = nn.Linear(self.d_model, self.inner_dim, bias=False)
            self.k = nn.Linear(self.d_model, self.inner_dim, bias=False)
            self.v = nn.Linear(self.d_model, self.inner_dim, bias=False)
            self.o = nn.Linear(self.inner_dim, self.d_model, bias=False)
            if self.has_relative_attention_bias:
                self.relative_attention_bias = nn.Embedding(
                    self.relative_attention_num_buckets, self.n_heads
                )

        @staticmethod
        def _relative_position_bucket(
            relative_position, bidirectional=True, num_buckets=32, max_distance=128
        ):
            relative_buckets = 0
            if bidirectional:
                num_buckets //= 2
                relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
                relative_position = torch.abs(relative_position)
            else:
                relative_position = -torch.min(
                    relative_position, torch.zeros_like(relative_position)
                )
            # now relative_position is in the range [0, inf)

            # half of the buckets are for exact increments in positions
            max_exact = num_buckets // 2
            is_small = relative_position < max_exact

            # The other half of the buckets are for logarithmically bigger bins in positions
            # up to max_distance
            relative_position_if_large = max_exact + (
                torch.log(relative_position.float() / max_exact)
                / math.log(max_distance / max_exact)
                * (num_buckets - max_exact)
            ).to(torch.long)
            relative_position_if_large = torch.min(
                relative_position_if_large,
                torch.full_like(relative_position_if_large, num_buckets - 1),
            )

            relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
            return relative_buckets

        def compute_bias(self, query_length: int, key_length: int, device: Any = None) -> Any:
            """Compute binned relative position bias"""
            if device is None:
                device = self.relative_attention_bias.weight.device
            context_position = torch.arange(query_length, dtype=torch.long, device=device)[:, None]
            memory_position = torch.arange(key_length, dtype=torch.long, device=device)[None, :]
            relative_position = (
                memory_position - context_position
            )  # shape (query_length, key_length)
            relative_position_bucket = self._relative_position_bucket(
                relative_position,  # shape (query_length, key_length)
                bidirectional=(not self.is_decoder),
                num_buckets=self.relative_attention_num_buckets,
                max_distance=self.relative_attention_max_distance,
            )
            values = self.relative_attention_bias(
                relative_position_bucket
            )  # shape (query_length, key_length, num_heads)
            values = values.permute([2, 0, 1]).unsqueeze(
                0
            )  # shape (1, num_heads, query_length, key_length)
            return values

        def forward(self, hidden_states: Any, mask: Any = None, position_bias: Any = None):
            batch_size, seq_length = hidden_states.shape[:2]

            def shape(states: Any) -> Any:
                return states.view(batch_size, -1, self.n_heads, self.key_value_proj_dim).transpose(
                    1, 2
                )

            def unshape(states: Any) -> Any:
                return states.transpose(1, 2).contiguous().view(batch_size, -1, self.inner_dim)

            query_states = shape(self.q(hidden_states))
            key_states = shape(self.k(hidden_states))
            value_states = shape(self.v(hidden_states))
            scores = torch.matmul(query_states, key_states.transpose(3, 2))
            if position_bias is None:
                position_bias = self.compute_bias(seq_length, seq_length, device=scores.device)
                if mask is not None:
                    position_bias = position_bias + mask  # (batch_size, n_heads, q, k)
            scores += position_bias
            attn_weights = F.softmax(scores.float(), dim=-1).type_as(scores)
            attn_output = unshape(torch.matmul(attn_weights, value_states))
            attn_output = self.o(attn_output)
            return attn_output, position_bias

    class T5Stack(nn.Module):
        def __init__(self, is_decoder: bool) -> None:
            super().__init__()
            self.is_decoder = is_decoder
            self.embed_tokens = nn.Embedding(VOCAB, D_MODEL)
            self.block = nn.ModuleList(
                [
                    T5Attention(D_MODEL, 4, is_decoder, has_relative_attention_bias=bool(i == 0))
                    for i in range(2)
                ]
            )
            self.layer_norm = nn.ModuleList([T5LayerNorm(D_MODEL) for _ in range(2)])
            self.final_layer_norm = T5LayerNorm(D_MODEL)
            self.lm_head = nn.Linear(D_MODEL, VOCAB, bias=False)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden_states = self.embed_tokens(input_ids)
            dtype = hidden_states.dtype
            seq_length = input_ids.shape[1]
            if self.is_decoder:
                seq_ids = torch.arange(seq_length)
                causal_mask = (
                    seq_ids[None, None, :].repeat(input_ids.shape[0], seq_length, 1)
                    <= (seq_ids[None, :, None])
                )
                causal_mask = causal_mask.to(attention_mask.dtype)
                extended = causal_mask[:, None, :, :] * attention_mask[:, None, None, :]
            else:
                extended = attention_mask[:, None, None, :]
            extended = extended.to(dtype=dtype)
            extended = (1.0 - extended) * torch.finfo(dtype).min
            position_bias = None
            for layer, norm in zip(self.block, self.layer_norm, strict=True):
                out, position_bias = layer(norm(hidden_states), extended, position_bias)
                hidden_states = hidden_states + out
            return self.lm_head(self.final_layer_norm(hidden_states))

    class AlibiLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_tokens = nn.Embedding(VOCAB, D_MODEL)
            self.fairseq_attn = AlibiSelfAttention(D_MODEL, 6, maxpos=SEQ)
            self.bloom_attn = BloomAttention(D_MODEL, 6)
            self.ln = nn.LayerNorm(D_MODEL)
            self.output_projection = nn.Linear(D_MODEL, VOCAB)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            x = self.embed_tokens(input_ids)
            x = x + self.fairseq_attn(x.transpose(0, 1)).transpose(0, 1)
            alibi = build_alibi_tensor(attention_mask, 6, x.dtype)
            q_length = input_ids.shape[1]
            causal_mask = torch.triu(torch.ones(q_length, q_length, dtype=torch.bool), diagonal=1)[
                None, None
            ]
            causal_mask = causal_mask | ~attention_mask.bool()[:, None, None, :]
            x = x + self.bloom_attn(self.ln(x), alibi, causal_mask)
            return self.output_projection(x)

    return nn.ModuleDict(
        {"alibi": AlibiLM(), "t5_encoder": T5Stack(False), "t5_decoder": T5Stack(True)}
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(11)
    ids = as_tensor(torch, rng.integers(0, VOCAB, size=(BATCH, SEQ + 1)))
    mask_np = np.ones((BATCH, SEQ), dtype=np.int64)
    mask_np[0, -2:] = 0  # one padded sequence
    attention_mask = as_tensor(torch, mask_np)
    values: list[float] = [
        sum(get_slopes(6)),
        sum(get_slopes(4)),
        float(
            model["t5_encoder"]
            .block[0]
            ._relative_position_bucket(torch.arange(-20, 21), True, NUM_BUCKETS, MAX_DISTANCE)
            .float()
            .pow(2)
            .sum()
        ),
    ]
    for name in ("alibi", "t5_encoder", "t5_decoder"):
        net = model[name]
        optimizer = torch.optim.Adam(net.parameters(), lr=LR)
        for _step in range(STEPS):
            logits = net(ids[:, :-1], attention_mask)
            loss = F.cross_entropy(
                logits.reshape(-1, VOCAB), ids[:, 1:].reshape(-1), reduction="none"
            )
            loss = (loss * attention_mask.reshape(-1)).sum() / attention_mask.sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values.append(loss.item())
    return values
