"""HuggingFace T5 (v1.1-style, ``modeling_t5.py`` of the 4.3x releases with tuple caches)
fine-tuned as a seq2seq model with HuggingFace's own ``Adafactor`` (``optimization.py``, a
user-written ``torch.optim.Optimizer``) and the Trainer's ``LabelSmoother``, then decoded
greedily with the key/value cache, size-reduced.

The idioms: ``T5ForConditionalGeneration`` (one ``nn.Embedding`` shared by encoder, decoder and
the tied ``lm_head``, whose output is scaled by ``self.model_dim**-0.5``; ``_shift_right`` with
``input_ids.new_zeros(input_ids.shape)``, ``shifted_input_ids[..., 1:] = input_ids[...,
:-1].clone()`` and ``masked_fill_(shifted_input_ids == -100, pad_token_id)``); ``T5Stack``
(``get_extended_attention_mask``'s causal mask ``seq_ids[None, None, :].repeat(batch_size,
seq_length, 1) <= seq_ids[None, :, None]`` widened with ``torch.cat([...], axis=-1)`` when a
cache is present, ``causal_mask[:, None, :, :] * attention_mask[:, None, None, :]``, ``(1.0 -
mask) * torch.finfo(dtype).min``; ``invert_attention_mask``; the position bias computed by the
first block and passed on); ``T5Attention`` (``project`` with ``torch.cat([past_key_value,
hidden_states], dim=2)`` and reused cross-attention keys; ``compute_bias`` with
``_relative_position_bucket`` bidirectional for the encoder and causal for the decoder;
``position_bias[:, :, -hidden_states.size(1):, :]``; ``torch.zeros((1, n_heads, q, k),
device=scores.device, dtype=scores.dtype)`` for blocks without their own bias; ``scores +=
position_bias``, ``softmax(scores.float(), dim=-1).type_as(scores)``); ``T5LayerNorm``
(``hidden_states.to(torch.float32).pow(2).mean(-1, keepdim=True)``, ``if self.weight.dtype in
[torch.float16, torch.bfloat16]``); ``T5DenseGatedActDense`` with ``NewGELUActivation``
(``0.5 * input * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (input + 0.044715 *
torch.pow(input, 3.0))))``) and its ``hidden_states.dtype != self.wo.weight.dtype and
self.wo.weight.dtype != torch.int8`` check; the fp16 ``clamp_value = torch.where(torch.isinf(
hidden_states).any(), torch.finfo(hidden_states.dtype).max - 1000, torch.finfo(...).max)`` /
``torch.clamp(hidden_states, min=-clamp_value, max=clamp_value)`` (tensor bounds; run on a
half copy); ``Adafactor`` (``_get_lr``'s ``max(param_group["eps"][1], param_state["RMS"])`` of a
float and a tensor, ``_rms`` as ``tensor.norm(2) / (tensor.numel() ** 0.5)``, factored second
moments ``torch.zeros(grad_shape[:-1]).to(grad)`` / ``torch.zeros(grad_shape[:-2] +
grad_shape[-1:]).to(grad)``, ``exp_avg_sq_row.mul_(beta2t).add_(update.mean(dim=-1),
alpha=(1.0 - beta2t))``, ``_approx_sq_grad``'s ``(row / row.mean(dim=-1, keepdim=True))
.rsqrt_().unsqueeze(-1)`` and ``torch.mul(r_factor, c_factor)``, ``update.div_((self._rms(
update) / group["clip_threshold"]).clamp_(min=1.0))``, ``update.mul_(lr)`` by a 0-d tensor,
``p_data_fp32.add_(-update)``, ``@torch.no_grad()`` on ``step``; relative steps for one
parameter group, a fixed ``lr`` with ``beta1`` and weight decay for the other); the
``LabelSmoother`` (``-nn.functional.log_softmax``, ``labels.eq(self.ignore_index)``,
``torch.clamp(labels, min=0)``, ``log_probs.gather(dim=-1, index=labels)``, ``log_probs.sum(
dim=-1, keepdim=True, dtype=torch.float32)``, ``padding_mask.numel() -
padding_mask.long().sum()``) checked against ``F.cross_entropy(..., ignore_index=-100,
label_smoothing=0.1)``; ``DataCollatorForSeq2Seq``'s ``-100`` label padding; greedy
``generate`` (``unfinished_sequences & ~(next_tokens == eos)``, ``next_tokens *
unfinished_sequences + pad_token_id * (1 - unfinished_sequences)``) with the cache, checked
against recomputation without it.

Changed: t5-small -> d_model 8, 2 heads of 4, d_ff 12, two encoder and two decoder blocks,
8/16 buckets/distance, a 12-token vocabulary (pad 0, eos 1) and a toy reversal task from NumPy;
dropout 0.1 -> 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # T5LayerNorm and the LabelSmoother compute in float32 whatever the input

VOCAB, D_MODEL, D_KV, N_HEADS, D_FF, N_LAYERS, BUCKETS, MAX_DIST = 12, 8, 4, 2, 12, 2, 8, 16
PAD, EOS = 0, 1


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class NewGELUActivation(nn.Module):
        def forward(self, input: Any) -> Any:
            return (
                0.5
                * input
                * (
                    1.0
                    + torch.tanh(
                        math.sqrt(2.0 / math.pi) * (input + 0.044715 * torch.pow(input, 3.0))
                    )
                )
            )

    class T5LayerNorm(nn.Module):
        def __init__(self, hidden_size: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(hidden_size))
            self.variance_epsilon = eps

        def forward(self, hidden_states: Any) -> Any:
            variance = hidden_states.to(torch.float32).pow(2).mean(-1, keepdim=True)
            hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
            # convert into half-precision if necessary
            if self.weight.dtype in [torch.float16, torch.bfloat16]:
                hidden_states = hidden_states.to(self.weight.dtype)
            return self.weight * hidden_states

    class T5DenseGatedActDense(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wi_0 = nn.Linear(D_MODEL, D_FF, bias=False)
            self.wi_1 = nn.Linear(D_MODEL, D_FF, bias=False)
            self.wo = nn.Linear(D_FF, D_MODEL, bias=False)
            self.dropout = nn.Dropout(0.0)
            self.act = NewGELUActivation()

        def forward(self, hidden_states: Any) -> Any:
            hidden_gelu = self.act(self.wi_0(hidden_states))
            hidden_linear = self.wi_1(hidden_states)
            hidden_states = hidden_gelu * hidden_linear
            hidden_states = self.dropout(hidden_states)
            if (
                isinstance(self.wo.weight, torch.Tensor)
                and hidden_states.dtype != self.wo.weight.dtype
                and self.wo.weight.dtype != torch.int8
            ):
                hidden_states = hidden_states.to(self.wo.weight.dtype)
            hidden_states = self.wo(hidden_states)
            return hidden_states

    class T5Attention(nn.Module):
        def __init__(self, is_decoder: bool, has_relative_attention_bias: bool = False) -> None:
            super().__init__()
            self.is_decoder = is_decoder
            self.has_relative_attention_bias = has_relative_attention_bias
            self.relative_attention_num_buckets = BUCKETS
            self.relative_attention_max_distance = MAX_DIST
            self.d_model = D_MODEL
            self.key_value_proj_dim = D_KV
            self.n_heads = N_HEADS
            self.dropout = 0.0
            self.inner_dim = self.n_heads * self.key_value_proj_dim

            self.q = nn.Linear(self.d_model, self.inner_dim, bias=False)
            self.k = nn.Linear(self.d_model, self.inner_dim, bias=False)
            self.v = nn.Linear(self.d_model, self.inner_dim, bias=False)
            self.o = nn.Linear(self.inner_dim, self.d_model, bias=False)

            if self.has_relative_attention_bias:
                self.relative_attention_bias = nn.Embedding(
                    self.relative_attention_num_buckets, self.n_heads
                )
            self.gradient_checkpointing = False

        @staticmethod
        def _relative_position_bucket(
            relative_position: Any, bidirectional: bool = True, num_buckets: int = 32,
            max_distance: int = 128,
        ) -> Any:  # fmt: skip
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

            # The other half of the buckets are for logarithmically bigger bins in positions up
            # to max_distance
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
            relative_position = memory_position - context_position  # shape (query, key)
            relative_position_bucket = self._relative_position_bucket(
                relative_position,  # shape (query_length, key_length)
                bidirectional=(not self.is_decoder),
                num_buckets=self.relative_attention_num_buckets,
                max_distance=self.relative_attention_max_distance,
            )
            values = self.relative_attention_bias(relative_position_bucket)
            values = values.permute([2, 0, 1]).unsqueeze(0)  # shape (1, heads, query, key)
            return values

        def forward(
            self, hidden_states: Any, mask: Any = None, key_value_states: Any = None,
            position_bias: Any = None, past_key_value: Any = None, query_length: Any = None,
            use_cache: bool = False,
        ) -> tuple:  # fmt: skip
            # Input is (batch_size, seq_length, dim)
            batch_size, seq_length = hidden_states.shape[:2]

            real_seq_length = seq_length

            if past_key_value is not None:
                if len(past_key_value) != 2:
                    raise ValueError(
                        f"past_key_value should have 2 past states: keys and values. Got {len(past_key_value)} past states"  # noqa: E501
                    )
                real_seq_length += (
                    past_key_value[0].shape[2] if query_length is None else query_length
                )

            key_length = real_seq_length if key_value_states is None else key_value_states.shape[1]

            def shape(states: Any) -> Any:
                """projection"""
                return states.view(batch_size, -1, self.n_heads, self.key_value_proj_dim).transpose(
                    1, 2
                )

            def unshape(states: Any) -> Any:
                """reshape"""
                return states.transpose(1, 2).contiguous().view(batch_size, -1, self.inner_dim)

            def project(
                hidden_states: Any, proj_layer: Any, key_value_states: Any, past_key_value: Any
            ) -> Any:
                """projects hidden states correctly to key/query states"""
                if key_value_states is None:
                    # self-attn
                    # (batch_size, n_heads, seq_length, dim_per_head)
                    hidden_states = shape(proj_layer(hidden_states))
                elif past_key_value is None:
                    # cross-attn
                    # (batch_size, n_heads, seq_length, dim_per_head)
                    hidden_states = shape(proj_layer(key_value_states))

                if past_key_value is not None:
                    if key_value_states is None:
                        # self-attn
                        # (batch_size, n_heads, key_length, dim_per_head)
                        hidden_states = torch.cat([past_key_value, hidden_states], dim=2)
                    elif past_key_value.shape[2] != key_value_states.shape[1]:
                        # checking that the `sequence_length` of the `past_key_value` is the same
                        # as the provided `key_value_states` to support prefix tuning
                        # cross-attn
                        # (batch_size, n_heads, seq_length, dim_per_head)
                        hidden_states = shape(proj_layer(key_value_states))
                    else:
                        # cross-attn
                        hidden_states = past_key_value
                return hidden_states

            # get query states
            query_states = shape(self.q(hidden_states))  # (batch_size, n_heads, seq_length, d)

            # get key/value states
            key_states = project(
                hidden_states, self.k, key_value_states,
                past_key_value[0] if past_key_value is not None else None,
            )  # fmt: skip
            value_states = project(
                hidden_states, self.v, key_value_states,
                past_key_value[1] if past_key_value is not None else None,
            )  # fmt: skip

            # compute scores
            scores = torch.matmul(query_states, key_states.transpose(3, 2))

            if position_bias is None:
                if not self.has_relative_attention_bias:
                    position_bias = torch.zeros(
                        (1, self.n_heads, real_seq_length, key_length),
                        device=scores.device, dtype=scores.dtype,
                    )  # fmt: skip
                    if self.gradient_checkpointing and self.training:
                        position_bias.requires_grad = True
                else:
                    position_bias = self.compute_bias(
                        real_seq_length, key_length, device=scores.device
                    )

                # if key and values are already calculated
                # we want only the last query position bias
                if past_key_value is not None:
                    position_bias = position_bias[:, :, -hidden_states.size(1) :, :]

                if mask is not None:
                    position_bias = position_bias + mask  # (batch_size, n_heads, seq, key)

            position_bias_masked = position_bias

            scores += position_bias_masked
            attn_weights = nn.functional.softmax(scores.float(), dim=-1).type_as(scores)
            attn_weights = nn.functional.dropout(
                attn_weights, p=self.dropout, training=self.training
            )

            attn_output = unshape(torch.matmul(attn_weights, value_states))  # (batch, seq, dim)
            attn_output = self.o(attn_output)

            present_key_value_state = (
                (key_states, value_states) if (self.is_decoder and use_cache) else None
            )
            outputs = (attn_output,) + (present_key_value_state,) + (position_bias,)
            return outputs

    class T5LayerSelfAttention(nn.Module):
        def __init__(self, is_decoder: bool, has_relative_attention_bias: bool = False) -> None:
            super().__init__()
            self.SelfAttention = T5Attention(is_decoder, has_relative_attention_bias)
            self.layer_norm = T5LayerNorm(D_MODEL)
            self.dropout = nn.Dropout(0.0)

        def forward(
            self, hidden_states: Any, attention_mask: Any = None, position_bias: Any = None,
            past_key_value: Any = None, use_cache: bool = False,
        ) -> tuple:  # fmt: skip
            normed_hidden_states = self.layer_norm(hidden_states)
            attention_output = self.SelfAttention(
                normed_hidden_states, mask=attention_mask, position_bias=position_bias,
                past_key_value=past_key_value, use_cache=use_cache,
            )  # fmt: skip
            hidden_states = hidden_states + self.dropout(attention_output[0])
            outputs = (hidden_states,) + attention_output[1:]  # add attentions if we output them
            return outputs

    class T5LayerCrossAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.EncDecAttention = T5Attention(True, has_relative_attention_bias=False)
            self.layer_norm = T5LayerNorm(D_MODEL)
            self.dropout = nn.Dropout(0.0)

        def forward(
            self, hidden_states: Any, key_value_states: Any, attention_mask: Any = None,
            position_bias: Any = None, past_key_value: Any = None, use_cache: bool = False,
            query_length: Any = None,
        ) -> tuple:  # fmt: skip
            normed_hidden_states = self.layer_norm(hidden_states)
            attention_output = self.EncDecAttention(
                normed_hidden_states, mask=attention_mask, key_value_states=key_value_states,
                position_bias=position_bias, past_key_value=past_key_value,
                use_cache=use_cache, query_length=query_length,
            )  # fmt: skip
            layer_output = hidden_states + self.dropout(attention_output[0])
            outputs = (layer_output,) + attention_output[1:]  # add attentions if we output them
            return outputs

    class T5LayerFF(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.DenseReluDense = T5DenseGatedActDense()
            self.layer_norm = T5LayerNorm(D_MODEL)
            self.dropout = nn.Dropout(0.0)

        def forward(self, hidden_states: Any) -> Any:
            forwarded_states = self.layer_norm(hidden_states)
            forwarded_states = self.DenseReluDense(forwarded_states)
            hidden_states = hidden_states + self.dropout(forwarded_states)
            return hidden_states

    def clamp_fp16(hidden_states: Any) -> Any:
        # clamp inf values to enable fp16 training
        if hidden_states.dtype == torch.float16:
            clamp_value = torch.where(
                torch.isinf(hidden_states).any(),
                torch.finfo(hidden_states.dtype).max - 1000,
                torch.finfo(hidden_states.dtype).max,
            )
            hidden_states = torch.clamp(hidden_states, min=-clamp_value, max=clamp_value)
        return hidden_states

    class T5Block(nn.Module):
        def __init__(self, is_decoder: bool, has_relative_attention_bias: bool = False) -> None:
            super().__init__()
            self.is_decoder = is_decoder
            self.layer = nn.ModuleList()
            self.layer.append(T5LayerSelfAttention(is_decoder, has_relative_attention_bias))
            if self.is_decoder:
                self.layer.append(T5LayerCrossAttention())
            self.layer.append(T5LayerFF())

        def forward(
            self, hidden_states: Any, attention_mask: Any = None, position_bias: Any = None,
            encoder_hidden_states: Any = None, encoder_attention_mask: Any = None,
            encoder_decoder_position_bias: Any = None, past_key_value: Any = None,
            use_cache: bool = False,
        ) -> tuple:  # fmt: skip
            if past_key_value is not None:
                expected_num_past_key_values = 2 if encoder_hidden_states is None else 4
                if len(past_key_value) != expected_num_past_key_values:
                    raise ValueError(
                        f"There should be {expected_num_past_key_values} past states. Got {len(past_key_value)} past key / value states"  # noqa: E501
                    )
                self_attn_past_key_value = past_key_value[:2]
                cross_attn_past_key_value = past_key_value[2:]
            else:
                self_attn_past_key_value, cross_attn_past_key_value = None, None

            self_attention_outputs = self.layer[0](
                hidden_states, attention_mask=attention_mask, position_bias=position_bias,
                past_key_value=self_attn_past_key_value, use_cache=use_cache,
            )  # fmt: skip
            hidden_states, present_key_value_state = self_attention_outputs[:2]
            attention_outputs = self_attention_outputs[2:]  # relative position weights
            hidden_states = clamp_fp16(hidden_states)

            do_cross_attention = self.is_decoder and encoder_hidden_states is not None
            if do_cross_attention:
                # the actual query length is unknown for cross attention
                # if using past key value states. Need to inject it here
                if present_key_value_state is not None:
                    query_length = present_key_value_state[0].shape[2]
                else:
                    query_length = None

                cross_attention_outputs = self.layer[1](
                    hidden_states, key_value_states=encoder_hidden_states,
                    attention_mask=encoder_attention_mask,
                    position_bias=encoder_decoder_position_bias,
                    past_key_value=cross_attn_past_key_value, query_length=query_length,
                    use_cache=use_cache,
                )  # fmt: skip
                hidden_states = clamp_fp16(cross_attention_outputs[0])

                # Combine self attn and cross attn key value states
                if present_key_value_state is not None:
                    present_key_value_state = present_key_value_state + cross_attention_outputs[1]

                # Keep cross-attention outputs and relative position weights
                attention_outputs = attention_outputs + cross_attention_outputs[2:]

            # Apply Feed Forward layer
            hidden_states = self.layer[-1](hidden_states)
            hidden_states = clamp_fp16(hidden_states)

            outputs = (hidden_states,)
            if use_cache:
                outputs = outputs + (present_key_value_state,) + attention_outputs
            else:
                outputs = outputs + attention_outputs
            return outputs

    class T5Stack(nn.Module):
        def __init__(self, embed_tokens: Any, is_decoder: bool) -> None:
            super().__init__()
            self.embed_tokens = embed_tokens
            self.is_decoder = is_decoder
            self.block = nn.ModuleList(
                [T5Block(is_decoder, has_relative_attention_bias=bool(i == 0))
                 for i in range(N_LAYERS)]
            )  # fmt: skip
            self.final_layer_norm = T5LayerNorm(D_MODEL)
            self.dropout = nn.Dropout(0.0)

        def get_extended_attention_mask(self, attention_mask: Any, input_shape: Any) -> Any:
            dtype = self.final_layer_norm.weight.dtype
            if self.is_decoder:
                batch_size, seq_length = input_shape
                seq_ids = torch.arange(seq_length, device=attention_mask.device)
                causal_mask = (
                    seq_ids[None, None, :].repeat(batch_size, seq_length, 1)
                    <= seq_ids[None, :, None]
                )
                # in case past_key_values are used we need to add a prefix ones mask to the
                # causal mask
                causal_mask = causal_mask.to(attention_mask.dtype)

                if causal_mask.shape[1] < attention_mask.shape[1]:
                    prefix_seq_len = attention_mask.shape[1] - causal_mask.shape[1]
                    causal_mask = torch.cat(
                        [
                            torch.ones(
                                (batch_size, seq_length, prefix_seq_len),
                                device=attention_mask.device,
                                dtype=causal_mask.dtype,
                            ),  # fmt: skip
                            causal_mask,
                        ],
                        axis=-1,
                    )
                extended_attention_mask = (
                    causal_mask[:, None, :, :] * attention_mask[:, None, None, :]
                )
            else:
                extended_attention_mask = attention_mask[:, None, None, :]
            extended_attention_mask = extended_attention_mask.to(dtype=dtype)  # fp16 compat
            extended_attention_mask = (1.0 - extended_attention_mask) * torch.finfo(dtype).min
            return extended_attention_mask

        def invert_attention_mask(self, encoder_attention_mask: Any) -> Any:
            dtype = self.final_layer_norm.weight.dtype
            encoder_extended_attention_mask = encoder_attention_mask[:, None, None, :]
            encoder_extended_attention_mask = encoder_extended_attention_mask.to(dtype=dtype)
            encoder_extended_attention_mask = (1.0 - encoder_extended_attention_mask) * torch.finfo(
                dtype
            ).min
            return encoder_extended_attention_mask

        def forward(
            self, input_ids: Any, attention_mask: Any = None, encoder_hidden_states: Any = None,
            encoder_attention_mask: Any = None, past_key_values: Any = None,
            use_cache: bool = False,
        ) -> tuple:  # fmt: skip
            input_shape = input_ids.size()
            input_ids = input_ids.view(-1, input_shape[-1])
            inputs_embeds = self.embed_tokens(input_ids)
            batch_size, seq_length = input_shape

            # required mask seq length can be calculated via length of past
            mask_seq_length = (
                past_key_values[0][0].shape[2] + seq_length
                if past_key_values is not None
                else seq_length
            )

            # initialize past_key_values with `None` if past does not exist
            if past_key_values is None:
                past_key_values = [None] * len(self.block)

            if attention_mask is None:
                attention_mask = torch.ones(
                    batch_size, mask_seq_length, device=inputs_embeds.device
                )

            extended_attention_mask = self.get_extended_attention_mask(attention_mask, input_shape)

            if self.is_decoder and encoder_hidden_states is not None:
                encoder_batch_size, encoder_sequence_length, _ = encoder_hidden_states.size()
                if encoder_attention_mask is None:
                    encoder_attention_mask = torch.ones(
                        (encoder_batch_size, encoder_sequence_length),
                        device=inputs_embeds.device, dtype=torch.long,
                    )  # fmt: skip
                encoder_extended_attention_mask = self.invert_attention_mask(encoder_attention_mask)
            else:
                encoder_extended_attention_mask = None

            present_key_value_states = () if use_cache else None
            position_bias = None
            encoder_decoder_position_bias = None

            hidden_states = self.dropout(inputs_embeds)

            for _i, (layer_module, past_key_value) in enumerate(zip(self.block, past_key_values)):
                layer_outputs = layer_module(
                    hidden_states, attention_mask=extended_attention_mask,
                    position_bias=position_bias, encoder_hidden_states=encoder_hidden_states,
                    encoder_attention_mask=encoder_extended_attention_mask,
                    encoder_decoder_position_bias=encoder_decoder_position_bias,
                    past_key_value=past_key_value, use_cache=use_cache,
                )  # fmt: skip

                # layer_outputs is a tuple with:
                # hidden-states, key-value-states, (self-attention position bias),
                # (cross-attention position bias)
                if use_cache is False:
                    layer_outputs = layer_outputs[:1] + (None,) + layer_outputs[1:]

                hidden_states, present_key_value_state = layer_outputs[:2]

                # We share the position biases between the layers - the first layer store them
                position_bias = layer_outputs[2]
                if self.is_decoder and encoder_hidden_states is not None:
                    encoder_decoder_position_bias = layer_outputs[3]
                # append next layer key value states
                if use_cache:
                    present_key_value_states = present_key_value_states + (present_key_value_state,)

            hidden_states = self.final_layer_norm(hidden_states)
            hidden_states = self.dropout(hidden_states)
            return hidden_states, present_key_value_states

    class T5ForConditionalGeneration(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model_dim = D_MODEL
            self.shared = nn.Embedding(VOCAB, D_MODEL)
            self.encoder = T5Stack(self.shared, is_decoder=False)
            self.decoder = T5Stack(self.shared, is_decoder=True)
            self.lm_head = nn.Linear(D_MODEL, VOCAB, bias=False)
            self.lm_head.weight = self.shared.weight  # tie_word_embeddings

        def _shift_right(self, input_ids: Any) -> Any:
            decoder_start_token_id, pad_token_id = PAD, PAD
            shifted_input_ids = input_ids.new_zeros(input_ids.shape)
            shifted_input_ids[..., 1:] = input_ids[..., :-1].clone()
            shifted_input_ids[..., 0] = decoder_start_token_id
            # replace possible -100 values in labels by `pad_token_id`
            shifted_input_ids.masked_fill_(shifted_input_ids == -100, pad_token_id)
            return shifted_input_ids

        def forward(
            self, input_ids: Any = None, attention_mask: Any = None,
            decoder_input_ids: Any = None, encoder_outputs: Any = None,
            past_key_values: Any = None, labels: Any = None, use_cache: bool = False,
        ) -> tuple:  # fmt: skip
            if encoder_outputs is None:
                encoder_outputs = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
            hidden_states = encoder_outputs[0]

            if labels is not None and decoder_input_ids is None:
                # get decoder inputs from shifting lm labels to the right
                decoder_input_ids = self._shift_right(labels)

            decoder_outputs = self.decoder(
                input_ids=decoder_input_ids, past_key_values=past_key_values,
                encoder_hidden_states=hidden_states, encoder_attention_mask=attention_mask,
                use_cache=use_cache,
            )  # fmt: skip
            sequence_output = decoder_outputs[0]
            # Rescale output before projecting on vocab
            sequence_output = sequence_output * (self.model_dim**-0.5)
            lm_logits = self.lm_head(sequence_output)

            loss = None
            if labels is not None:
                loss_fct = nn.CrossEntropyLoss(ignore_index=-100)
                labels = labels.to(lm_logits.device)
                loss = loss_fct(lm_logits.view(-1, lm_logits.size(-1)), labels.view(-1))
            return loss, lm_logits, decoder_outputs[1], encoder_outputs

    return T5ForConditionalGeneration()


def _adafactor_class(torch_like: Any) -> Any:
    torch = torch_like
    Optimizer = torch.optim.Optimizer

    class Adafactor(Optimizer):
        def __init__(
            self, params: Any, lr: Any = None, eps: tuple = (1e-30, 1e-3),
            clip_threshold: float = 1.0, decay_rate: float = -0.8, beta1: Any = None,
            weight_decay: float = 0.0, scale_parameter: bool = True, relative_step: bool = True,
            warmup_init: bool = False,
        ) -> None:  # fmt: skip
            if lr is not None and relative_step:
                raise ValueError("Cannot combine manual `lr` and `relative_step=True` options")
            if warmup_init and not relative_step:
                raise ValueError("`warmup_init=True` requires `relative_step=True`")

            defaults = {
                "lr": lr, "eps": eps, "clip_threshold": clip_threshold,
                "decay_rate": decay_rate, "beta1": beta1, "weight_decay": weight_decay,
                "scale_parameter": scale_parameter, "relative_step": relative_step,
                "warmup_init": warmup_init,
            }  # fmt: skip
            super().__init__(params, defaults)

        @staticmethod
        def _get_lr(param_group: dict, param_state: dict) -> Any:
            rel_step_sz = param_group["lr"]
            if param_group["relative_step"]:
                min_step = 1e-6 * param_state["step"] if param_group["warmup_init"] else 1e-2
                rel_step_sz = min(min_step, 1.0 / math.sqrt(param_state["step"]))
            param_scale = 1.0
            if param_group["scale_parameter"]:
                param_scale = max(param_group["eps"][1], param_state["RMS"])
            return param_scale * rel_step_sz

        @staticmethod
        def _get_options(param_group: dict, param_shape: Any) -> tuple[bool, bool]:
            factored = len(param_shape) >= 2
            use_first_moment = param_group["beta1"] is not None
            return factored, use_first_moment

        @staticmethod
        def _rms(tensor: Any) -> Any:
            return tensor.norm(2) / (tensor.numel() ** 0.5)

        @staticmethod
        def _approx_sq_grad(exp_avg_sq_row: Any, exp_avg_sq_col: Any) -> Any:
            # copy from fairseq's adafactor implementation:
            # https://github.com/huggingface/transformers/blob/8395f14de6068012787d83989c3627c3df6a252b/src/transformers/optimization.py#L505
            r_factor = (
                (exp_avg_sq_row / exp_avg_sq_row.mean(dim=-1, keepdim=True)).rsqrt_().unsqueeze(-1)
            )
            c_factor = exp_avg_sq_col.unsqueeze(-2).rsqrt()
            return torch.mul(r_factor, c_factor)

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            loss = None
            if closure is not None:
                loss = closure()

            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad
                    if grad.dtype in {torch.float16, torch.bfloat16}:
                        grad = grad.float()
                    if grad.is_sparse:
                        raise RuntimeError("Adafactor does not support sparse gradients.")

                    state = self.state[p]
                    grad_shape = grad.shape

                    factored, use_first_moment = self._get_options(group, grad_shape)
                    # State Initialization
                    if len(state) == 0:
                        state["step"] = 0

                        if use_first_moment:
                            # Exponential moving average of gradient values
                            state["exp_avg"] = torch.zeros_like(grad)
                        if factored:
                            state["exp_avg_sq_row"] = torch.zeros(grad_shape[:-1]).to(grad)
                            state["exp_avg_sq_col"] = torch.zeros(
                                grad_shape[:-2] + grad_shape[-1:]
                            ).to(grad)
                        else:
                            state["exp_avg_sq"] = torch.zeros_like(grad)

                        state["RMS"] = 0
                    else:
                        if use_first_moment:
                            state["exp_avg"] = state["exp_avg"].to(grad)
                        if factored:
                            state["exp_avg_sq_row"] = state["exp_avg_sq_row"].to(grad)
                            state["exp_avg_sq_col"] = state["exp_avg_sq_col"].to(grad)
                        else:
                            state["exp_avg_sq"] = state["exp_avg_sq"].to(grad)

                    p_data_fp32 = p
                    if p.dtype in {torch.float16, torch.bfloat16}:
                        p_data_fp32 = p_data_fp32.float()

                    state["step"] += 1
                    state["RMS"] = self._rms(p_data_fp32)
                    lr = self._get_lr(group, state)

                    beta2t = 1.0 - math.pow(state["step"], group["decay_rate"])
                    update = (grad**2) + group["eps"][0]
                    if factored:
                        exp_avg_sq_row = state["exp_avg_sq_row"]
                        exp_avg_sq_col = state["exp_avg_sq_col"]

                        exp_avg_sq_row.mul_(beta2t).add_(update.mean(dim=-1), alpha=(1.0 - beta2t))
                        exp_avg_sq_col.mul_(beta2t).add_(update.mean(dim=-2), alpha=(1.0 - beta2t))

                        # Approximation of exponential moving average of square of gradient
                        update = self._approx_sq_grad(exp_avg_sq_row, exp_avg_sq_col)
                        update.mul_(grad)
                    else:
                        exp_avg_sq = state["exp_avg_sq"]

                        exp_avg_sq.mul_(beta2t).add_(update, alpha=(1.0 - beta2t))
                        update = exp_avg_sq.rsqrt().mul_(grad)

                    update.div_((self._rms(update) / group["clip_threshold"]).clamp_(min=1.0))
                    update.mul_(lr)

                    if use_first_moment:
                        exp_avg = state["exp_avg"]
                        exp_avg.mul_(group["beta1"]).add_(update, alpha=(1 - group["beta1"]))
                        update = exp_avg

                    if group["weight_decay"] != 0:
                        p_data_fp32.add_(p_data_fp32, alpha=(-group["weight_decay"] * lr))

                    p_data_fp32.add_(-update)

                    if p.dtype in {torch.float16, torch.bfloat16}:
                        p.copy_(p_data_fp32)

            return loss

    return Adafactor


def _label_smoother(torch_like: Any, logits: Any, labels: Any, epsilon: float = 0.1) -> Any:
    """transformers.trainer_pt_utils.LabelSmoother.__call__ (ignore_index -100)."""
    torch, nn = torch_like, torch_like.nn
    ignore_index = -100
    log_probs = -nn.functional.log_softmax(logits, dim=-1)
    if labels.dim() == log_probs.dim() - 1:
        labels = labels.unsqueeze(-1)

    padding_mask = labels.eq(ignore_index)
    # In case the ignore_index is -100, the gather will fail, so we replace labels by 0. The
    # padding_mask will ignore them in any case.
    labels = torch.clamp(labels, min=0)
    nll_loss = log_probs.gather(dim=-1, index=labels)
    # works for fp16 input tensor too, by internally upcasting it to fp32
    smoothed_loss = log_probs.sum(dim=-1, keepdim=True, dtype=torch.float32)

    nll_loss.masked_fill_(padding_mask, 0.0)
    smoothed_loss.masked_fill_(padding_mask, 0.0)

    # Take the mean over the label dimensions, then divide by the number of active elements
    # (i.e. not-padded):
    num_active_elements = padding_mask.numel() - padding_mask.long().sum()
    nll_loss = nll_loss.sum() / num_active_elements
    smoothed_loss = smoothed_loss.sum() / (num_active_elements * log_probs.shape[-1])
    return (1 - epsilon) * nll_loss + epsilon * smoothed_loss


def _examples(rng: np.random.Generator, n: int) -> list[tuple[list[int], list[int]]]:
    """Reverse a sequence of 2..5 word tokens (ids 2..11), the target ending in EOS."""
    out = []
    for _ in range(n):
        src = rng.integers(2, VOCAB, size=int(rng.integers(2, 6))).tolist()
        out.append((src + [EOS], src[::-1] + [EOS]))
    return out


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    rng = np.random.default_rng(5)
    model = make_model(torch_like)
    load_numpy_state(torch, model, init)
    values: list[float] = []

    def collate(batch: list[tuple[list[int], list[int]]]) -> tuple[Any, Any, Any]:
        width = max(len(s) for s, _ in batch)
        lwidth = max(len(t) for _, t in batch)
        ids = np.full((len(batch), width), PAD, np.int64)
        mask = np.zeros((len(batch), width), np.int64)
        labels = np.full((len(batch), lwidth), -100, np.int64)  # label_pad_token_id
        for i, (s, t) in enumerate(batch):
            ids[i, : len(s)], mask[i, : len(s)], labels[i, : len(t)] = s, 1, t
        return as_tensor(torch, ids), as_tensor(torch, mask), as_tensor(torch, labels)

    Adafactor = _adafactor_class(torch_like)
    decay = [p for n, p in model.named_parameters() if "layer_norm" not in n]
    no_decay = [p for n, p in model.named_parameters() if "layer_norm" in n]
    optimizer = Adafactor(
        [
            {"params": decay},  # relative steps, parameter scaling
            {"params": no_decay, "lr": 3e-2, "relative_step": False, "scale_parameter": False,
             "beta1": 0.9, "weight_decay": 0.01},
        ],
        scale_parameter=True, relative_step=True, warmup_init=False, lr=None,
    )  # fmt: skip

    data = _examples(rng, 12)
    model.train()
    for epoch in range(4):
        for start in range(0, len(data), 4):
            input_ids, attention_mask, labels = collate(data[start : start + 4])
            loss, logits, _, _ = model(
                input_ids=input_ids, attention_mask=attention_mask, labels=labels
            )
            smoothed = _label_smoother(torch, logits, labels)
            ref = F.cross_entropy(
                logits.view(-1, VOCAB), labels.view(-1), ignore_index=-100, label_smoothing=0.1
            )
            (smoothed if epoch % 2 else loss).backward()
            optimizer.step()
            optimizer.zero_grad()
            values += [loss.item(), smoothed.item(), (smoothed - ref).abs().item()]
    state = optimizer.state[model.shared.weight]
    values += [float(state["step"]), state["RMS"].item(), state["exp_avg_sq_row"].sum().item()]
    values.append(float(model.lm_head.weight is model.shared.weight))

    # greedy generation with and without the cache
    model.eval()
    input_ids, attention_mask, labels = collate(_examples(rng, 3))
    shifted = model._shift_right(labels)
    values += shifted.flatten().tolist()
    max_new = 6
    with torch.no_grad():
        encoder_outputs = model.encoder(input_ids=input_ids, attention_mask=attention_mask)
        outs = []
        for use_cache in (True, False):
            decoder_input_ids = torch.full((3, 1), PAD, dtype=torch.long)
            unfinished_sequences = torch.ones(3, dtype=torch.long)
            past, scores = None, []
            for _ in range(max_new):
                step_ids = decoder_input_ids[:, -1:] if past is not None else decoder_input_ids
                _, logits, present, _ = model(
                    attention_mask=attention_mask, decoder_input_ids=step_ids,
                    encoder_outputs=encoder_outputs, past_key_values=past, use_cache=use_cache,
                )  # fmt: skip
                past = present if use_cache else None
                next_token_logits = logits[:, -1, :]
                scores.append(next_token_logits)
                next_tokens = torch.argmax(next_token_logits, dim=-1)
                next_tokens = next_tokens * unfinished_sequences + PAD * (1 - unfinished_sequences)
                decoder_input_ids = torch.cat([decoder_input_ids, next_tokens[:, None]], dim=-1)
                unfinished_sequences = unfinished_sequences & ~(next_tokens == EOS)
                if unfinished_sequences.max() == 0:
                    break
            outs.append((decoder_input_ids, torch.stack(scores, dim=1)))
            if use_cache:  # per block: self-attention keys/values, then cross-attention's
                values += [float(len(past)), float(len(past[0])), float(past[0][0].shape[2])]
    (cached, s1), (full, s2) = outs
    values += cached.flatten().tolist() + [float(torch.equal(cached, full))]
    values += [(s1 - s2).abs().max().item(), s1.sum().item()]

    # the fp16 clamp of T5Block on a half copy
    h = torch.tensor([[1.0, -70000.0, float("inf")]]).half()
    clamp_value = torch.where(
        torch.isinf(h).any(), torch.finfo(h.dtype).max - 1000, torch.finfo(h.dtype).max
    )
    values += torch.clamp(h, min=-clamp_value, max=clamp_value).float().tolist()[0]
    return values
