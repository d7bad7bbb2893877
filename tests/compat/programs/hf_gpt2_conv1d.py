"""GPT-2 as HuggingFace transformers' ``modeling_gpt2.py`` (with ``pytorch_utils.Conv1D``,
``activations.NewGELUActivation`` and ``optimization.get_linear_schedule_with_warmup``) writes
it in its eager form, size-reduced.

The idioms: ``Conv1D`` (``nn.Parameter(torch.empty(nx, nf))``, ``nn.init.normal_(self.weight,
std=0.02)``, ``size_out = x.size()[:-1] + (self.nf,)``, ``torch.addmm(self.bias, x.view(-1,
x.size(-1)), self.weight)``, ``x.view(size_out)``); ``GPT2Attention`` with
``register_buffer("bias", torch.tril(torch.ones((n, n), dtype=torch.bool)).view(1, 1, n, n),
persistent=False)`` and ``register_buffer("masked_bias", torch.tensor(-1e4),
persistent=False)``, ``self.c_attn(hidden_states).split(self.split_size, dim=2)``,
``_split_heads`` (``tensor.view(new_shape).permute(0, 2, 1, 3)``), ``_merge_heads``
(``.permute(0, 2, 1, 3).contiguous()``), ``layer_past`` with ``torch.cat((past_key, key),
dim=-2)`` and ``present = (key, value)``, ``_attn``'s ``attn_weights / torch.full([],
value.size(-1) ** 0.5, dtype=attn_weights.dtype, device=attn_weights.device)``, the causal
slice ``self.bias[:, :, key_length - query_length : key_length, :key_length]``,
``torch.finfo(attn_weights.dtype).min`` as a 0-d ``torch.full``, ``torch.where(causal_mask,
attn_weights.to(attn_weights.dtype), mask_value)``, ``attn_weights.type(value.dtype)``;
``NewGELUActivation``; ``GPT2Model``'s ``position_ids = torch.arange(past_length,
input_shape[-1] + past_length, dtype=torch.long, device=device).unsqueeze(0)``, the extended
mask ``attention_mask[:, None, None, :]``, ``.to(dtype=self.dtype)``, ``(1.0 - attention_mask)
* torch.finfo(self.dtype).min``, ``output_shape = (-1,) + input_shape[1:] +
(hidden_states.size(-1),)``; ``_init_weights`` (``module.weight.data.normal_(mean=0.0,
std=...)``, ``module.bias.data.zero_()``, ``weight.data.fill_(1.0)``, the scaled ``c_proj.weight``
init by ``named_parameters``); the tied ``lm_head.weight = transformer.wte.weight``; the
shifted loss (``lm_logits[..., :-1, :].contiguous()``, ``labels[..., 1:].contiguous()``,
``CrossEntropyLoss()`` with padding labels of ``-100``); training with ``AdamW`` over the
``no_decay = ["bias", "LayerNorm.weight"]`` parameter groups, ``get_linear_schedule_with_warmup``
(a ``LambdaLR``) and ``torch.nn.utils.clip_grad_norm_``; greedy decoding with the cache
(``prepare_inputs_for_generation``'s ``position_ids = attention_mask.long().cumsum(-1) - 1``,
``position_ids.masked_fill_(attention_mask == 0, 1)``, ``torch.argmax(next_token_logits,
dim=-1)``, ``torch.cat([input_ids, next_tokens[:, None]], dim=-1)``,
``attention_mask.new_ones((attention_mask.shape[0], 1))``), checked against decoding without it.

Changed: 768 hidden, 12 layers, 50257 tokens -> 8 hidden, 2 layers, 2 heads, 13 tokens;
dropout 0.0 (random masks cannot agree between two frameworks).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, N_POS, N_EMBD, N_LAYER, N_HEAD, BATCH, SEQ, STEPS, WARMUP = 13, 16, 8, 2, 2, 2, 6, 4, 2
INIT_RANGE, LN_EPS = 0.02, 1e-5


def _classes(torch_like: Any) -> tuple[type, type]:
    torch = torch_like
    nn = torch.nn

    class Conv1D(nn.Module):
        """1D-convolutional layer as defined by Radford et al. (a linear layer, transposed)."""

        def __init__(self, nf: int, nx: int) -> None:
            super().__init__()
            self.nf = nf
            self.weight = nn.Parameter(torch.empty(nx, nf))
            self.bias = nn.Parameter(torch.zeros(nf))
            nn.init.normal_(self.weight, std=0.02)

        def forward(self, x: Any) -> Any:
            size_out = x.size()[:-1] + (self.nf,)
            x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
            x = x.view(size_out)
            return x

    class NewGELUActivation(nn.Module):
        def forward(self, input: Any) -> Any:  # noqa: A002 - the library's name
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

    class GPT2Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            max_positions = N_POS
            self.register_buffer(
                "bias",
                torch.tril(torch.ones((max_positions, max_positions), dtype=torch.bool)).view(
                    1, 1, max_positions, max_positions
                ),
                persistent=False,
            )
            self.register_buffer("masked_bias", torch.tensor(-1e4), persistent=False)
            self.embed_dim = N_EMBD
            self.num_heads = N_HEAD
            self.head_dim = self.embed_dim // self.num_heads
            self.split_size = self.embed_dim
            self.scale_attn_weights = True
            self.c_attn = Conv1D(3 * self.embed_dim, self.embed_dim)
            self.c_proj = Conv1D(self.embed_dim, self.embed_dim)
            self.attn_dropout = nn.Dropout(0.0)
            self.resid_dropout = nn.Dropout(0.0)

        def _attn(self, query: Any, key: Any, value: Any, attention_mask: Any = None) -> tuple:
            attn_weights = torch.matmul(query, key.transpose(-1, -2))
            if self.scale_attn_weights:
                attn_weights = attn_weights / torch.full(
                    [], value.size(-1) ** 0.5, dtype=attn_weights.dtype, device=attn_weights.device
                )
            query_length, key_length = query.size(-2), key.size(-2)
            causal_mask = self.bias[:, :, key_length - query_length : key_length, :key_length]
            mask_value = torch.finfo(attn_weights.dtype).min
            # Need to be a tensor, otherwise we get error: `RuntimeError: expected scalar type
            # float but found double`. Need to be on the same device, otherwise
            # `RuntimeError: ..., x and y to be on the same device`
            mask_value = torch.full(
                [], mask_value, dtype=attn_weights.dtype, device=attn_weights.device
            )
            attn_weights = torch.where(causal_mask, attn_weights.to(attn_weights.dtype), mask_value)
            if attention_mask is not None:
                # Apply the attention mask
                attn_weights = attn_weights + attention_mask
            attn_weights = nn.functional.softmax(attn_weights, dim=-1)
            # Downcast (if necessary) back to V's dtype (if in mixed-precision) -- No-Op otherwise
            attn_weights = attn_weights.type(value.dtype)
            attn_weights = self.attn_dropout(attn_weights)
            attn_output = torch.matmul(attn_weights, value)
            return attn_output, attn_weights

        def _split_heads(self, tensor: Any, num_heads: int, attn_head_size: int) -> Any:
            new_shape = tensor.size()[:-1] + (num_heads, attn_head_size)
            tensor = tensor.view(new_shape)
            return tensor.permute(0, 2, 1, 3)  # (batch, head, seq_length, head_features)

        def _merge_heads(self, tensor: Any, num_heads: int, attn_head_size: int) -> Any:
            tensor = tensor.permute(0, 2, 1, 3).contiguous()
            new_shape = tensor.size()[:-2] + (num_heads * attn_head_size,)
            return tensor.view(new_shape)

        def forward(
            self,
            hidden_states: Any,
            layer_past: Any = None,
            attention_mask: Any = None,
            use_cache: bool = False,
            output_attentions: bool = False,
        ) -> tuple:
            query, key, value = self.c_attn(hidden_states).split(self.split_size, dim=2)
            query = self._split_heads(query, self.num_heads, self.head_dim)
            key = self._split_heads(key, self.num_heads, self.head_dim)
            value = self._split_heads(value, self.num_heads, self.head_dim)
            if layer_past is not None:
                past_key, past_value = layer_past
                key = torch.cat((past_key, key), dim=-2)
                value = torch.cat((past_value, value), dim=-2)
            present = (key, value) if use_cache is True else None
            attn_output, attn_weights = self._attn(query, key, value, attention_mask)
            attn_output = self._merge_heads(attn_output, self.num_heads, self.head_dim)
            attn_output = self.c_proj(attn_output)
            attn_output = self.resid_dropout(attn_output)
            outputs = (attn_output, present)
            if output_attentions:
                outputs += (attn_weights,)
            return outputs  # a, present, (attentions)

    class GPT2MLP(nn.Module):
        def __init__(self, intermediate_size: int) -> None:
            super().__init__()
            embed_dim = N_EMBD
            self.c_fc = Conv1D(intermediate_size, embed_dim)
            self.c_proj = Conv1D(embed_dim, intermediate_size)
            self.act = NewGELUActivation()
            self.dropout = nn.Dropout(0.0)

        def forward(self, hidden_states: Any) -> Any:
            hidden_states = self.c_fc(hidden_states)
            hidden_states = self.act(hidden_states)
            hidden_states = self.c_proj(hidden_states)
            hidden_states = self.dropout(hidden_states)
            return hidden_states

    class GPT2Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            hidden_size = N_EMBD
            inner_dim = 4 * hidden_size
            self.ln_1 = nn.LayerNorm(hidden_size, eps=LN_EPS)
            self.attn = GPT2Attention()
            self.ln_2 = nn.LayerNorm(hidden_size, eps=LN_EPS)
            self.mlp = GPT2MLP(inner_dim)

        def forward(
            self,
            hidden_states: Any,
            layer_past: Any = None,
            attention_mask: Any = None,
            use_cache: bool = False,
            output_attentions: bool = False,
        ) -> tuple:
            residual = hidden_states
            hidden_states = self.ln_1(hidden_states)
            attn_outputs = self.attn(
                hidden_states,
                layer_past=layer_past,
                attention_mask=attention_mask,
                use_cache=use_cache,
                output_attentions=output_attentions,
            )
            attn_output = attn_outputs[0]  # output_attn: a, present, (attentions)
            outputs = attn_outputs[1:]
            # residual connection
            hidden_states = attn_output + residual
            residual = hidden_states
            hidden_states = self.ln_2(hidden_states)
            feed_forward_hidden_states = self.mlp(hidden_states)
            # residual connection
            hidden_states = residual + feed_forward_hidden_states
            if use_cache:
                outputs = (hidden_states,) + outputs
            else:
                outputs = (hidden_states,) + outputs[1:]
            return outputs  # hidden_states, present, (attentions)

    class GPT2Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_dim = N_EMBD
            self.wte = nn.Embedding(VOCAB, self.embed_dim)
            self.wpe = nn.Embedding(N_POS, self.embed_dim)
            self.drop = nn.Dropout(0.0)
            self.h = nn.ModuleList([GPT2Block() for _ in range(N_LAYER)])
            self.ln_f = nn.LayerNorm(self.embed_dim, eps=LN_EPS)

        @property
        def dtype(self) -> Any:
            return next(self.parameters()).dtype

        def forward(
            self,
            input_ids: Any,
            past_key_values: Any = None,
            attention_mask: Any = None,
            position_ids: Any = None,
            use_cache: bool = False,
        ) -> tuple:
            input_shape = input_ids.size()
            input_ids = input_ids.view(-1, input_shape[-1])
            batch_size = input_ids.shape[0]
            device = input_ids.device
            if past_key_values is None:
                past_length = 0
                past_key_values = tuple([None] * len(self.h))
            else:
                past_length = past_key_values[0][0].size(-2)
            if position_ids is None:
                position_ids = torch.arange(
                    past_length, input_shape[-1] + past_length, dtype=torch.long, device=device
                )
                position_ids = position_ids.unsqueeze(0)
            if attention_mask is not None:
                attention_mask = attention_mask.view(batch_size, -1)
                attention_mask = attention_mask[:, None, None, :]
                attention_mask = attention_mask.to(dtype=self.dtype)  # fp16 compatibility
                attention_mask = (1.0 - attention_mask) * torch.finfo(self.dtype).min
            inputs_embeds = self.wte(input_ids)
            position_embeds = self.wpe(position_ids)
            hidden_states = inputs_embeds + position_embeds
            hidden_states = self.drop(hidden_states)
            output_shape = (-1,) + input_shape[1:] + (hidden_states.size(-1),)
            presents = () if use_cache else None
            for block, layer_past in zip(self.h, past_key_values):
                outputs = block(
                    hidden_states,
                    layer_past=layer_past,
                    attention_mask=attention_mask,
                    use_cache=use_cache,
                )
                hidden_states = outputs[0]
                if use_cache is True:
                    presents = presents + (outputs[1],)
            hidden_states = self.ln_f(hidden_states)
            hidden_states = hidden_states.view(output_shape)
            return hidden_states, presents

    class GPT2LMHeadModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = GPT2Model()
            self.lm_head = nn.Linear(N_EMBD, VOCAB, bias=False)
            self.apply(self._init_weights)
            self.lm_head.weight = self.transformer.wte.weight  # tie_weights

        def _init_weights(self, module: Any) -> None:
            if isinstance(module, (nn.Linear, Conv1D)):
                module.weight.data.normal_(mean=0.0, std=INIT_RANGE)
                if module.bias is not None:
                    module.bias.data.zero_()
            elif isinstance(module, nn.Embedding):
                module.weight.data.normal_(mean=0.0, std=INIT_RANGE)
                if module.padding_idx is not None:
                    module.weight.data[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                module.bias.data.zero_()
                module.weight.data.fill_(1.0)
            for name, p in module.named_parameters():
                if name == "c_proj.weight":
                    p.data.normal_(mean=0.0, std=(INIT_RANGE / math.sqrt(2 * N_LAYER)))

        def forward(
            self,
            input_ids: Any,
            past_key_values: Any = None,
            attention_mask: Any = None,
            position_ids: Any = None,
            labels: Any = None,
            use_cache: bool = False,
        ) -> tuple:
            hidden_states, presents = self.transformer(
                input_ids,
                past_key_values=past_key_values,
                attention_mask=attention_mask,
                position_ids=position_ids,
                use_cache=use_cache,
            )
            lm_logits = self.lm_head(hidden_states)
            loss = None
            if labels is not None:
                # Shift so that tokens < n predict n
                shift_logits = lm_logits[..., :-1, :].contiguous()
                shift_labels = labels[..., 1:].contiguous()
                # Flatten the tokens
                loss_fct = nn.CrossEntropyLoss()
                loss = loss_fct(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))
            return loss, lm_logits, presents

    return Conv1D, GPT2LMHeadModel


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)[1]()


def get_linear_schedule_with_warmup(
    torch_like: Any,
    optimizer: Any,
    num_warmup_steps: int,
    num_training_steps: int,
    last_epoch: int = -1,
) -> Any:
    def lr_lambda(current_step: int) -> float:
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        return max(
            0.0,
            float(num_training_steps - current_step)
            / float(max(1, num_training_steps - num_warmup_steps)),
        )

    return torch_like.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, last_epoch)


def greedy(torch_like: Any, model: Any, input_ids: Any, attention_mask: Any, new: int) -> tuple:
    """Greedy decoding with the key/value cache, as ``generate`` does it for GPT-2."""
    torch = torch_like
    past = None
    scores = []
    for _ in range(new):
        position_ids = attention_mask.long().cumsum(-1) - 1
        position_ids.masked_fill_(attention_mask == 0, 1)
        if past is not None:
            step_ids = input_ids[:, -1].unsqueeze(-1)
            position_ids = position_ids[:, -1].unsqueeze(-1)
        else:
            step_ids = input_ids
        _, logits, past = model(
            step_ids,
            past_key_values=past,
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=True,
        )
        next_token_logits = logits[:, -1, :]
        scores.append(next_token_logits)
        next_tokens = torch.argmax(next_token_logits, dim=-1)
        input_ids = torch.cat([input_ids, next_tokens[:, None]], dim=-1)
        attention_mask = torch.cat(
            [attention_mask, attention_mask.new_ones((attention_mask.shape[0], 1))], dim=-1
        )
    return input_ids, torch.stack(scores, 1), past


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(8)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    values: list[float] = [float(model.lm_head.weight is model.transformer.wte.weight)]
    values += [float("transformer.h.0.attn.bias" in model.state_dict())]
    values += [len(list(model.parameters())), len(list(model.buffers()))]

    no_decay = ["bias", "LayerNorm.weight", "ln_1.weight", "ln_2.weight", "ln_f.weight"]
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
    optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=5e-3, eps=1e-8)
    scheduler = get_linear_schedule_with_warmup(torch, optimizer, WARMUP, STEPS)
    ids = rng.integers(0, VOCAB, (BATCH, SEQ))
    mask = np.ones((BATCH, SEQ), dtype=np.int64)
    mask[1, -2:] = 0  # the second sequence is right-padded
    labels = ids.copy()
    labels[mask == 0] = -100
    input_ids, attention_mask = as_tensor(torch, ids), as_tensor(torch, mask)
    label_ids = as_tensor(torch, labels)
    model.train()
    for _step in range(STEPS):
        loss, logits, _ = model(input_ids, attention_mask=attention_mask, labels=label_ids)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        values += [loss.item(), float(norm), scheduler.get_last_lr()[0], logits[0, -1, 0].item()]

    model.eval()
    with torch.no_grad():
        prompt = as_tensor(torch, ids[:, :3])
        prompt_mask = as_tensor(torch, np.ones((BATCH, 3), dtype=np.int64))
        out_ids, scores, past = greedy(torch, model, prompt, prompt_mask, 4)
        values += out_ids.flatten().tolist() + scores.flatten().tolist()
        values += [len(past), *past[0][0].shape]
        _, full_logits, _ = model(out_ids[:, :-1])  # the same logits, without the cache
        values += [(full_logits[:, 2:, :] - scores).abs().max().item() < 1e-10]
    return values
