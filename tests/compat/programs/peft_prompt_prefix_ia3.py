"""Parameter-efficient fine-tuning beyond LoRA: prompt tuning, prefix tuning, (IA)^3 and
Houlsby bottleneck adapters, as Hugging Face PEFT writes the first three
(``peft/tuners/prompt_tuning/model.py``'s ``PromptEmbedding``, ``peft/tuners/prefix_tuning/
model.py``'s ``PrefixEncoder``, ``peft/peft_model.py``'s ``PeftModelForCausalLM.forward`` and
``get_prompt``, ``peft/tuners/ia3/layer.py``'s ``IA3Layer`` / ``Linear``) and adapter-
transformers writes the adapter (``Adapter``: down-project, non-linearity, up-project,
residual), size-reduced to a two-layer GPT-2-style decoder that takes ``past_key_values``.

The idioms: freezing the base (``for param in model.parameters(): param.requires_grad =
False``) and ``print_trainable_parameters``'s ``param.numel()`` count; ``PromptEmbedding``
initialised from the vocabulary (``init_token_ids``, ``word_embedding_weights =
word_embeddings(torch.LongTensor(init_token_ids)).detach().clone()``, ``self.embedding.weight
= torch.nn.Parameter(word_embedding_weights)``); ``get_prompt``'s ``prompt_tokens.unsqueeze(0)
.expand(batch_size, -1)``; ``PeftModelForCausalLM.forward`` (``prefix_attention_mask =
torch.ones(batch_size, peft_config.num_virtual_tokens)``, ``torch.cat((prefix_attention_mask,
attention_mask), dim=1)``, ``prefix_labels = torch.full((batch_size, num_virtual_tokens),
-100)``, ``torch.cat((prompts, inputs_embeds), dim=1)``); ``PrefixEncoder`` with
``prefix_projection`` (``torch.nn.Sequential(Linear, Tanh, Linear)`` to ``num_layers * 2 *
token_dim``), ``past_key_values.view(batch_size, num_virtual_tokens, num_layers * 2,
num_attention_heads, token_dim // num_attention_heads)``, ``.permute([2, 0, 3, 1,
4]).split(2)``; the decoder's ``layer_past`` concatenation (``torch.cat((past_key, key),
dim=-2)``) under a mask built from ``attention_mask[:, None, None, :]`` and a ``torch.tril``
causal block offset by the prefix; ``IA3Layer``'s ``nn.ParameterDict`` (``self.ia3_l[
adapter_name] = nn.Parameter(torch.randn(weight))`` then ``nn.init.constant_(..., 1.0)``),
``ia3_scaling *= self.ia3_l[active_adapter].flatten()``, the feed-forward form ``interm = (x
* ia3_scaling).to(previous_dtype)`` before the base layer and the attention form ``result *
ia3_scaling`` after it; the Houlsby ``Adapter`` (``nn.Linear(d, d // reduction_factor)``,
``nn.ReLU``, up-projection initialised ``nn.init.zeros_``, ``output = up + residual_input``);
``AdamW`` over ``filter(lambda p: p.requires_grad, model.parameters())`` and the causal LM loss
``shift_logits = logits[..., :-1, :].contiguous()``, ``CrossEntropyLoss()`` with
``ignore_index=-100``.

Changed: GPT-2 -> 2 layers of width 8 and 2 heads, vocabulary 13, 4 virtual tokens, 2 steps
per method on seeded random token sequences; PEFT's ``get_peft_model`` wrapping is replaced
by the wrapped modules' own code applied to the small model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, D, HEADS, LAYERS, SEQ, BATCH, NUM_VIRTUAL = 13, 8, 2, 2, 5, 3, 4


def _classes(torch_like: Any) -> dict:
    torch, nn = torch_like, torch_like.nn

    class IA3Linear(nn.Module):
        """peft.tuners.ia3.layer.Linear around a base nn.Linear."""

        def __init__(self, base_layer: Any, adapter_name: str, is_feedforward: bool) -> None:
            super().__init__()
            self.base_layer = base_layer
            self.ia3_l = nn.ParameterDict({})
            self.is_feedforward = is_feedforward
            self.active_adapters = [adapter_name]
            self.in_features, self.out_features = base_layer.in_features, base_layer.out_features
            # Actual trainable parameters
            if self.is_feedforward:
                weight = (1, self.in_features)
            else:
                weight = (self.out_features, 1)
            self.ia3_l[adapter_name] = nn.Parameter(torch.randn(weight))
            self.reset_ia3_parameters(adapter_name)

        def reset_ia3_parameters(self, adapter_name: str) -> None:
            if adapter_name in self.ia3_l.keys():
                # initialize learned vector with torch.ones
                nn.init.constant_(self.ia3_l[adapter_name], 1.0)

        def forward(self, x: Any) -> Any:
            dtype = previous_dtype = x.dtype
            ia3_scaling = 1
            for active_adapter in self.active_adapters:
                if active_adapter not in self.ia3_l.keys():
                    continue
                dtype = self.ia3_l[active_adapter].dtype
                ia3_scaling *= self.ia3_l[active_adapter].flatten()

            if self.is_feedforward:
                x = x.to(dtype)
                # TODO: weight.dtype can be != self.ia3_l[self.active_adapters].dtype
                # e.g. bf16 vs fp32. Is that okay?
                interm = (x * ia3_scaling).to(previous_dtype)
                result = self.base_layer(interm)
            else:
                result = self.base_layer(x)
                result = result.to(dtype) * ia3_scaling

            result = result.to(previous_dtype)
            return result

    class Adapter(nn.Module):
        """adapter-transformers' bottleneck adapter (Houlsby et al.)."""

        def __init__(self, input_size: int, down_sample: int) -> None:
            super().__init__()
            self.adapter_down = nn.Sequential(nn.Linear(input_size, down_sample), nn.ReLU())
            self.adapter_up = nn.Linear(down_sample, input_size)
            self.adapter_down.apply(self.init_bert_weights)
            nn.init.zeros_(self.adapter_up.weight)
            nn.init.zeros_(self.adapter_up.bias)

        @staticmethod
        def init_bert_weights(module: Any) -> None:
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.data.normal_(mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                module.bias.data.zero_()

        def forward(self, x: Any, residual_input: Any) -> Any:
            down = self.adapter_down(x)
            up = self.adapter_up(down)
            output = up + residual_input
            return output

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(D)
            self.q_proj = nn.Linear(D, D)
            self.k_proj = nn.Linear(D, D)
            self.v_proj = nn.Linear(D, D)
            self.c_proj = nn.Linear(D, D)
            self.ln_2 = nn.LayerNorm(D)
            self.fc_in = nn.Linear(D, 2 * D)
            self.fc_out = nn.Linear(2 * D, D)
            self.adapter = None

        def _split_heads(self, tensor: Any) -> Any:
            new_shape = tensor.size()[:-1] + (HEADS, D // HEADS)
            return tensor.view(new_shape).permute(0, 2, 1, 3)  # (batch, head, seq, head_dim)

        def forward(self, hidden_states: Any, layer_past: Any, attention_mask: Any) -> Any:
            residual = hidden_states
            h = self.ln_1(hidden_states)
            query = self._split_heads(self.q_proj(h))
            key = self._split_heads(self.k_proj(h))
            value = self._split_heads(self.v_proj(h))
            if layer_past is not None:
                past_key, past_value = layer_past
                key = torch.cat((past_key, key), dim=-2)
                value = torch.cat((past_value, value), dim=-2)
            attn_weights = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(D // HEADS)
            q_len, k_len = query.size(-2), key.size(-2)
            causal = torch.tril(torch.ones(k_len, k_len, dtype=torch.bool))[k_len - q_len :, :]
            mask_value = torch.finfo(attn_weights.dtype).min
            attn_weights = torch.where(causal, attn_weights, torch.full([], mask_value))
            attn_weights = attn_weights + attention_mask
            attn_weights = nn.functional.softmax(attn_weights, dim=-1)
            attn_output = torch.matmul(attn_weights, value)
            attn_output = attn_output.permute(0, 2, 1, 3).contiguous()
            attn_output = self.c_proj(attn_output.view(attn_output.size()[:-2] + (D,)))
            hidden_states = attn_output + residual
            residual = hidden_states
            ff = self.fc_out(nn.functional.gelu(self.fc_in(self.ln_2(hidden_states)),
                                                approximate="tanh"))  # fmt: skip
            if self.adapter is not None:
                return self.adapter(ff, residual)
            return ff + residual

    class TinyGPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(VOCAB, D)
            self.wpe = nn.Embedding(NUM_VIRTUAL + SEQ, D)
            self.h = nn.ModuleList([Block() for _ in range(LAYERS)])
            self.ln_f = nn.LayerNorm(D)
            self.lm_head = nn.Linear(D, VOCAB, bias=False)

        def get_input_embeddings(self) -> Any:
            return self.wte

        def forward(self, input_ids: Any = None, inputs_embeds: Any = None,
                    attention_mask: Any = None, past_key_values: Any = None) -> Any:  # fmt: skip
            if inputs_embeds is None:
                inputs_embeds = self.wte(input_ids)
            past_length = 0 if past_key_values is None else past_key_values[0][0].size(-2)
            position_ids = torch.arange(past_length, inputs_embeds.size(1) + past_length)
            hidden_states = inputs_embeds + self.wpe(position_ids)
            attention_mask = attention_mask[:, None, None, :].to(dtype=hidden_states.dtype)
            attention_mask = (1.0 - attention_mask) * torch.finfo(hidden_states.dtype).min
            for i, block in enumerate(self.h):
                layer_past = None if past_key_values is None else past_key_values[i]
                hidden_states = block(hidden_states, layer_past, attention_mask)
            return self.lm_head(self.ln_f(hidden_states))

    class PromptEmbedding(torch.nn.Module):
        def __init__(self, config: dict, word_embeddings: Any) -> None:
            super().__init__()
            total_virtual_tokens = config["num_virtual_tokens"]
            self.embedding = torch.nn.Embedding(total_virtual_tokens, config["token_dim"])
            if config["prompt_tuning_init"] == "TEXT":
                init_token_ids = config["init_token_ids"]
                num_text_tokens = len(init_token_ids)
                if num_text_tokens > total_virtual_tokens:
                    init_token_ids = init_token_ids[:total_virtual_tokens]
                elif num_text_tokens < total_virtual_tokens:
                    num_reps = math.ceil(total_virtual_tokens / num_text_tokens)
                    init_token_ids = init_token_ids * num_reps
                init_token_ids = init_token_ids[:total_virtual_tokens]
                init_token_ids = torch.LongTensor(init_token_ids).to(word_embeddings.weight.device)
                with torch.no_grad():
                    word_embedding_weights = word_embeddings(init_token_ids).detach().clone()
                word_embedding_weights = word_embedding_weights.to(torch.get_default_dtype())
                self.embedding.weight = torch.nn.Parameter(word_embedding_weights)

        def forward(self, indices: Any) -> Any:
            # Just get embeddings
            prompt_embeddings = self.embedding(indices)
            return prompt_embeddings

    class PrefixEncoder(torch.nn.Module):
        def __init__(self, config: dict) -> None:
            super().__init__()
            self.prefix_projection = config["prefix_projection"]
            token_dim = config["token_dim"]
            num_layers = config["num_layers"]
            encoder_hidden_size = config["encoder_hidden_size"]
            num_virtual_tokens = config["num_virtual_tokens"]
            if self.prefix_projection and not config["inference_mode"]:
                # Use a two-layer MLP to encode the prefix
                self.embedding = torch.nn.Embedding(num_virtual_tokens, token_dim)
                self.transform = torch.nn.Sequential(
                    torch.nn.Linear(token_dim, encoder_hidden_size),
                    torch.nn.Tanh(),
                    torch.nn.Linear(encoder_hidden_size, num_layers * 2 * token_dim),
                )
            else:
                self.embedding = torch.nn.Embedding(num_virtual_tokens, num_layers * 2 * token_dim)

        def forward(self, prefix: Any) -> Any:
            if self.prefix_projection:
                prefix_tokens = self.embedding(prefix)
                past_key_values = self.transform(prefix_tokens)
            else:
                past_key_values = self.embedding(prefix)
            return past_key_values

    return {"TinyGPT": TinyGPT, "IA3Linear": IA3Linear, "Adapter": Adapter,
            "PromptEmbedding": PromptEmbedding, "PrefixEncoder": PrefixEncoder}  # fmt: skip


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["TinyGPT"]()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    classes = _classes(torch_like)
    rng = np.random.default_rng(21)
    values: list[float] = []
    config = {"num_virtual_tokens": NUM_VIRTUAL, "token_dim": D, "num_layers": LAYERS,
              "num_attention_heads": HEADS, "encoder_hidden_size": 6, "prefix_projection": True,
              "inference_mode": False, "prompt_tuning_init": "TEXT",
              "init_token_ids": [3, 5, 7]}  # fmt: skip

    def print_trainable_parameters(model: Any, *extra: Any) -> tuple[int, int]:
        trainable_params, all_param = 0, 0
        for m in (model, *extra):
            for _, param in m.named_parameters():
                num_params = param.numel()
                all_param += num_params
                if param.requires_grad:
                    trainable_params += num_params
        return trainable_params, all_param

    def batch() -> tuple[Any, Any, Any]:
        ids = rng.integers(0, VOCAB, (BATCH, SEQ))
        mask = np.ones_like(ids)
        mask[0, -2:] = 0
        labels = np.where(mask == 1, ids, -100)
        return (as_tensor(torch_like, ids), as_tensor(torch_like, mask),
                as_tensor(torch_like, labels))  # fmt: skip

    def causal_lm_loss(logits: Any, labels: Any) -> Any:
        shift_logits = logits[..., :-1, :].contiguous()
        shift_labels = labels[..., 1:].contiguous()
        loss_fct = nn.CrossEntropyLoss()
        return loss_fct(shift_logits.view(-1, VOCAB), shift_labels.view(-1))

    for method in ("prompt_tuning", "prefix_tuning", "ia3", "adapter"):
        torch.manual_seed(0)
        model = make_model(torch_like)
        load_numpy_state(torch_like, model, init)
        for param in model.parameters():
            param.requires_grad = False
        extra = []
        if method == "prompt_tuning":
            prompt_encoder = classes["PromptEmbedding"](config, model.get_input_embeddings())
            extra.append(prompt_encoder)
        elif method == "prefix_tuning":
            prompt_encoder = classes["PrefixEncoder"](config)
            extra.append(prompt_encoder)
        elif method == "ia3":
            for block in model.h:
                block.k_proj = classes["IA3Linear"](block.k_proj, "default", False)
                block.v_proj = classes["IA3Linear"](block.v_proj, "default", False)
                block.fc_out = classes["IA3Linear"](block.fc_out, "default", True)
        else:
            for block in model.h:
                block.adapter = classes["Adapter"](D, D // 2)
        prompt_tokens = torch.arange(NUM_VIRTUAL).long()
        trainable, total = print_trainable_parameters(model, *extra)
        values += [float(trainable), float(total)]
        params = [p for m in (model, *extra) for p in m.parameters()]
        optimizer = torch.optim.AdamW(filter(lambda p: p.requires_grad, params), lr=3e-2)
        for _ in range(2):
            input_ids, attention_mask, labels = batch()
            batch_size = input_ids.shape[0]
            if method in ("prompt_tuning", "prefix_tuning"):
                # concat prompt attention mask
                prefix_attention_mask = torch.ones(batch_size, NUM_VIRTUAL).to(
                    attention_mask.device
                )
                attention_mask = torch.cat((prefix_attention_mask, attention_mask), dim=1)
                tokens = prompt_tokens.unsqueeze(0).expand(batch_size, -1)
            if method == "prompt_tuning":
                inputs_embeds = model.get_input_embeddings()(input_ids)
                prefix_labels = torch.full((batch_size, NUM_VIRTUAL), -100).to(labels.device)
                labels = torch.cat((prefix_labels, labels), dim=1)
                prompts = prompt_encoder(tokens)
                prompts = prompts.to(inputs_embeds.dtype)
                inputs_embeds = torch.cat((prompts, inputs_embeds), dim=1)
                logits = model(inputs_embeds=inputs_embeds, attention_mask=attention_mask)
            elif method == "prefix_tuning":
                past_key_values = prompt_encoder(tokens)
                past_key_values = past_key_values.view(
                    batch_size, NUM_VIRTUAL, LAYERS * 2, HEADS, D // HEADS
                )
                past_key_values = past_key_values.permute([2, 0, 3, 1, 4]).split(2)
                logits = model(input_ids=input_ids, attention_mask=attention_mask,
                               past_key_values=past_key_values)  # fmt: skip
            else:
                logits = model(input_ids=input_ids, attention_mask=attention_mask)
            loss = causal_lm_loss(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values.append(loss.item())
        values.append(sum(p.sum().item() for p in params if p.requires_grad))
    return values
