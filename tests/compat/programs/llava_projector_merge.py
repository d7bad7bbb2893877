"""LLaVA's vision-language glue as HuggingFace's ``modeling_llava.py`` / ``modeling_clip.py`` and
haotian-liu/LLaVA's ``llava_arch.py`` write it, size-reduced: a CLIP vision tower, the
multimodal projector, the two ways of putting image features into the text embeddings, and
the stage-1 (projector-only) training step.

The idioms: ``CLIPVisionEmbeddings`` (``nn.Parameter(torch.randn(self.embed_dim))`` as the class
embedding, a bias-free strided ``Conv2d``, ``register_buffer("position_ids", torch.arange(
self.num_positions).expand((1, -1)), persistent=False)``, ``pixel_values.to(dtype=target_dtype)``,
``self.class_embedding.expand(batch_size, 1, -1)``, ``interpolate_pos_encoding`` with ``not
torch.jit.is_tracing()``, ``position_embedding.weight.unsqueeze(0)``, ``int(num_positions**0.5)``,
``nn.functional.interpolate(..., mode="bicubic", align_corners=False)`` and ``.permute(0, 2, 3,
1).view(1, -1, dim)``); ``CLIPAttention`` / ``CLIPMLP`` with ``quick_gelu`` (``input *
torch.sigmoid(1.702 * input)``), ``pre_layrnorm`` and ``output_hidden_states`` collected into a
tuple; ``get_image_features`` (``hidden_states[vision_feature_layer]`` for an int and
``torch.cat(hs_pool, dim=-1)`` for a list, ``[:, 1:]`` for the ``default`` strategy);
``LlavaMultiModalProjector`` (``linear_1``, ``ACT2FN["gelu"]``, ``linear_2``); HF's merge
(``special_image_mask = input_ids == image_token_id``, ``.unsqueeze(-1).expand_as(
inputs_embeds)``, the ``inputs_embeds[special_image_mask].numel() != image_features.numel()``
check, ``inputs_embeds.masked_scatter(special_image_mask, image_features)``); LLaVA's own
``prepare_inputs_labels_for_multimodal`` (``image_token_indices = [-1] + torch.where(
cur_input_ids == IMAGE_TOKEN_INDEX)[0].tolist() + [cur_input_ids.shape[0]]``, slices between
them, ``torch.split(cur_input_embeds, split_sizes, dim=0)``, ``torch.full((n,), IGNORE_INDEX,
device=..., dtype=cur_labels.dtype)``, right padding with ``torch.zeros((max_len - cur_len,
d), dtype=..., device=...)``, ``new_labels_padded[i, :cur_len] = cur_new_labels``,
``attention_mask[i, :cur_len] = True``, ``position_ids[i, :cur_len] = torch.arange(0, cur_len,
dtype=position_ids.dtype, device=...)``); a tiny Llama-style decoder reading ``position_ids``
(rotary embeddings gathered by them, a boolean causal-and-padding ``attn_mask`` for
``F.scaled_dot_product_attention``); the causal-LM loss (``logits[..., :-1, :].contiguous()``,
``labels[..., 1:].contiguous()``, ``CrossEntropyLoss`` ignoring ``-100``); stage-1 training
(``model.requires_grad_(False)``, only ``mm_projector`` parameters trainable, ``filter(lambda p:
p.requires_grad, model.parameters())`` into ``AdamW``, a cosine warm-up ``LambdaLR``).

Changed: CLIP ViT-L/14-336 and Vicuna-7B -> a 2-layer, 8-wide tower on 4x4 images of 2x2
patches (6x6 images through the interpolated positions) and a 1-layer, 12-wide decoder over 16
tokens; the tokenizer and images come from NumPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"

IMG, PATCH, V_DIM, V_HEADS, V_LAYERS = 4, 2, 8, 2, 2
VOCAB, T_DIM, T_HEADS, IMAGE_TOKEN_ID, IMAGE_TOKEN_INDEX, IGNORE_INDEX = 16, 12, 2, 15, -200, -100


def make_model(torch_like: Any, vision_feature_layer: Any = -2) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    def quick_gelu(input: Any) -> Any:
        return input * torch.sigmoid(1.702 * input)

    class CLIPVisionEmbeddings(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_dim = V_DIM
            self.image_size = IMG
            self.patch_size = PATCH
            self.class_embedding = nn.Parameter(torch.randn(self.embed_dim))
            self.patch_embedding = nn.Conv2d(
                in_channels=3, out_channels=self.embed_dim, kernel_size=self.patch_size,
                stride=self.patch_size, bias=False,
            )  # fmt: skip
            self.num_patches = (self.image_size // self.patch_size) ** 2
            self.num_positions = self.num_patches + 1
            self.position_embedding = nn.Embedding(self.num_positions, self.embed_dim)
            self.register_buffer(
                "position_ids", torch.arange(self.num_positions).expand((1, -1)), persistent=False
            )

        def interpolate_pos_encoding(self, embeddings: Any, height: int, width: int) -> Any:
            num_patches = embeddings.shape[1] - 1
            position_embedding = self.position_embedding.weight.unsqueeze(0)
            num_positions = position_embedding.shape[1] - 1

            # always interpolate when tracing to ensure the exported model works for dynamic
            # input shapes
            if not torch.jit.is_tracing() and num_patches == num_positions and height == width:
                return self.position_embedding(self.position_ids)

            class_pos_embed = position_embedding[:, :1]
            patch_pos_embed = position_embedding[:, 1:]

            dim = embeddings.shape[-1]

            new_height = height // self.patch_size
            new_width = width // self.patch_size

            sqrt_num_positions = int(num_positions**0.5)
            patch_pos_embed = patch_pos_embed.reshape(
                1, sqrt_num_positions, sqrt_num_positions, dim
            )
            patch_pos_embed = patch_pos_embed.permute(0, 3, 1, 2)

            patch_pos_embed = nn.functional.interpolate(
                patch_pos_embed, size=(new_height, new_width), mode="bicubic", align_corners=False
            )

            patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)

            return torch.cat((class_pos_embed, patch_pos_embed), dim=1)

        def forward(self, pixel_values: Any, interpolate_pos_encoding: bool = False) -> Any:
            batch_size, _, height, width = pixel_values.shape
            if not interpolate_pos_encoding and (
                height != self.image_size or width != self.image_size
            ):
                raise ValueError(
                    f"Input image size ({height}*{width}) doesn't match model"
                    f" ({self.image_size}*{self.image_size})."
                )
            target_dtype = self.patch_embedding.weight.dtype
            patch_embeds = self.patch_embedding(pixel_values.to(dtype=target_dtype))
            patch_embeds = patch_embeds.flatten(2).transpose(1, 2)

            class_embeds = self.class_embedding.expand(batch_size, 1, -1)
            embeddings = torch.cat([class_embeds, patch_embeds], dim=1)
            if interpolate_pos_encoding:
                embeddings = embeddings + self.interpolate_pos_encoding(embeddings, height, width)
            else:
                embeddings = embeddings + self.position_embedding(self.position_ids)
            return embeddings

    class CLIPAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_dim, self.num_heads = V_DIM, V_HEADS
            self.head_dim = self.embed_dim // self.num_heads
            self.scale = self.head_dim**-0.5
            self.k_proj = nn.Linear(self.embed_dim, self.embed_dim)
            self.v_proj = nn.Linear(self.embed_dim, self.embed_dim)
            self.q_proj = nn.Linear(self.embed_dim, self.embed_dim)
            self.out_proj = nn.Linear(self.embed_dim, self.embed_dim)

        def forward(self, hidden_states: Any) -> Any:
            batch_size, seq_length, embed_dim = hidden_states.shape
            queries = self.q_proj(hidden_states)
            keys = self.k_proj(hidden_states)
            values = self.v_proj(hidden_states)
            queries = queries.view(batch_size, seq_length, -1, self.head_dim).transpose(1, 2)
            keys = keys.view(batch_size, seq_length, -1, self.head_dim).transpose(1, 2)
            values = values.view(batch_size, seq_length, -1, self.head_dim).transpose(1, 2)
            attn_weights = torch.matmul(queries, keys.transpose(2, 3)) * self.scale
            attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(
                queries.dtype
            )
            attn_output = torch.matmul(attn_weights, values).transpose(1, 2).contiguous()
            attn_output = attn_output.reshape(batch_size, seq_length, embed_dim).contiguous()
            return self.out_proj(attn_output)

    class CLIPMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.activation_fn = quick_gelu
            self.fc1 = nn.Linear(V_DIM, 4 * V_DIM)
            self.fc2 = nn.Linear(4 * V_DIM, V_DIM)

        def forward(self, hidden_states: Any) -> Any:
            return self.fc2(self.activation_fn(self.fc1(hidden_states)))

    class CLIPEncoderLayer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.self_attn = CLIPAttention()
            self.layer_norm1 = nn.LayerNorm(V_DIM, eps=1e-5)
            self.mlp = CLIPMLP()
            self.layer_norm2 = nn.LayerNorm(V_DIM, eps=1e-5)

        def forward(self, hidden_states: Any) -> Any:
            residual = hidden_states
            hidden_states = self.layer_norm1(hidden_states)
            hidden_states = self.self_attn(hidden_states)
            hidden_states = residual + hidden_states
            residual = hidden_states
            hidden_states = self.layer_norm2(hidden_states)
            hidden_states = self.mlp(hidden_states)
            return residual + hidden_states

    class CLIPVisionTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = CLIPVisionEmbeddings()
            self.pre_layrnorm = nn.LayerNorm(V_DIM, eps=1e-5)
            self.layers = nn.ModuleList([CLIPEncoderLayer() for _ in range(V_LAYERS)])
            self.post_layernorm = nn.LayerNorm(V_DIM, eps=1e-5)

        def forward(self, pixel_values: Any, interpolate_pos_encoding: bool = False) -> tuple:
            hidden_states = self.embeddings(
                pixel_values, interpolate_pos_encoding=interpolate_pos_encoding
            )
            hidden_states = self.pre_layrnorm(hidden_states)
            encoder_states: tuple = ()
            for encoder_layer in self.layers:
                encoder_states = encoder_states + (hidden_states,)
                hidden_states = encoder_layer(hidden_states)
            encoder_states = encoder_states + (hidden_states,)
            pooled_output = self.post_layernorm(hidden_states[:, 0, :])
            return hidden_states, pooled_output, encoder_states

    class LlavaMultiModalProjector(nn.Module):
        def __init__(self, num_feature_layers: int) -> None:
            super().__init__()
            self.linear_1 = nn.Linear(V_DIM * num_feature_layers, T_DIM, bias=True)
            self.act = nn.GELU()
            self.linear_2 = nn.Linear(T_DIM, T_DIM, bias=True)

        def forward(self, image_features: Any) -> Any:
            hidden_states = self.linear_1(image_features)
            hidden_states = self.act(hidden_states)
            hidden_states = self.linear_2(hidden_states)
            return hidden_states

    class LlamaRMSNorm(nn.Module):
        def __init__(self, hidden_size: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(hidden_size))
            self.variance_epsilon = eps

        def forward(self, hidden_states: Any) -> Any:
            input_dtype = hidden_states.dtype
            hidden_states = hidden_states.to(torch.float32)
            variance = hidden_states.pow(2).mean(-1, keepdim=True)
            hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
            return self.weight * hidden_states.to(input_dtype)

    class TinyLlama(nn.Module):
        """One Llama decoder layer: RMSNorm, rotary attention read at ``position_ids``, SwiGLU."""

        def __init__(self) -> None:
            super().__init__()
            self.embed_tokens = nn.Embedding(VOCAB, T_DIM)
            self.input_layernorm = LlamaRMSNorm(T_DIM)
            self.qkv = nn.Linear(T_DIM, 3 * T_DIM, bias=False)
            self.o_proj = nn.Linear(T_DIM, T_DIM, bias=False)
            self.post_attention_layernorm = LlamaRMSNorm(T_DIM)
            self.gate_proj = nn.Linear(T_DIM, 2 * T_DIM, bias=False)
            self.up_proj = nn.Linear(T_DIM, 2 * T_DIM, bias=False)
            self.down_proj = nn.Linear(2 * T_DIM, T_DIM, bias=False)
            self.norm = LlamaRMSNorm(T_DIM)
            self.lm_head = nn.Linear(T_DIM, VOCAB, bias=False)
            head_dim = T_DIM // T_HEADS
            inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2).float() / head_dim))
            self.register_buffer("inv_freq", inv_freq, persistent=False)

        def forward(self, inputs_embeds: Any, attention_mask: Any, position_ids: Any) -> Any:
            b, n, _ = inputs_embeds.shape
            freqs = position_ids[:, :, None].float() * self.inv_freq[None, None, :]
            emb = torch.cat((freqs, freqs), dim=-1)
            cos, sin = emb.cos()[:, None], emb.sin()[:, None]

            def rotate_half(x: Any) -> Any:
                x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
                return torch.cat((-x2, x1), dim=-1)

            h = self.input_layernorm(inputs_embeds)
            q, k, v = self.qkv(h).view(b, n, 3, T_HEADS, -1).permute(2, 0, 3, 1, 4)
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
            causal = torch.ones(n, n, dtype=torch.bool).tril()
            attn_mask = causal[None, None] & attention_mask[:, None, None, :].bool()
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
            x = inputs_embeds + self.o_proj(a.transpose(1, 2).reshape(b, n, -1))
            h = self.post_attention_layernorm(x)
            x = x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))
            return self.lm_head(self.norm(x))

    class LlavaForConditionalGeneration(nn.Module):
        def __init__(self, vision_feature_layer: Any = -2) -> None:
            super().__init__()
            self.vision_feature_layer = vision_feature_layer
            n = len(vision_feature_layer) if isinstance(vision_feature_layer, list) else 1
            self.vision_tower = CLIPVisionTransformer()
            self.multi_modal_projector = LlavaMultiModalProjector(n)
            self.language_model = TinyLlama()

        def get_input_embeddings(self) -> Any:
            return self.language_model.embed_tokens

        def get_image_features(
            self, pixel_values: Any, vision_feature_layer: Any,
            vision_feature_select_strategy: str = "default", **kwargs: Any,
        ) -> Any:  # fmt: skip
            _, _, hidden_states = self.vision_tower(pixel_values, **kwargs)
            # If we have one vision feature layer, return the corresponding hidden states,
            # otherwise, select the hidden states of each feature layer and concatenate them
            if isinstance(vision_feature_layer, int):
                selected_image_feature = hidden_states[vision_feature_layer]
                if vision_feature_select_strategy == "default":
                    selected_image_feature = selected_image_feature[:, 1:]
            else:
                hs_pool = [hidden_states[layer_idx] for layer_idx in vision_feature_layer]
                # For default; crop CLS from each hidden state in the hidden state pool
                if vision_feature_select_strategy == "default":
                    hs_pool = [hs[:, 1:] for hs in hs_pool]
                selected_image_feature = torch.cat(hs_pool, dim=-1)
            image_features = self.multi_modal_projector(selected_image_feature)
            return image_features

        def get_placeholder_mask(
            self, input_ids: Any, inputs_embeds: Any, image_features: Any
        ) -> Any:
            special_image_mask = input_ids == IMAGE_TOKEN_ID
            n_image_tokens = special_image_mask.sum()
            special_image_mask = (
                special_image_mask.unsqueeze(-1).expand_as(inputs_embeds).to(inputs_embeds.device)
            )
            n_image_features = image_features.shape[0] * image_features.shape[1]
            if inputs_embeds[special_image_mask].numel() != image_features.numel():
                raise ValueError(
                    f"Image features and image tokens do not match: tokens: {n_image_tokens}, "
                    f"features {n_image_features}"
                )
            return special_image_mask

        def forward(
            self, input_ids: Any, pixel_values: Any, attention_mask: Any, labels: Any = None,
            interpolate_pos_encoding: bool = False,
        ) -> tuple[Any, Any]:  # fmt: skip
            inputs_embeds = self.get_input_embeddings()(input_ids)
            image_features = self.get_image_features(
                pixel_values, self.vision_feature_layer,
                interpolate_pos_encoding=interpolate_pos_encoding,
            )  # fmt: skip
            image_features = image_features.to(inputs_embeds.device, inputs_embeds.dtype)
            special_image_mask = self.get_placeholder_mask(
                input_ids, inputs_embeds=inputs_embeds, image_features=image_features
            )
            inputs_embeds = inputs_embeds.masked_scatter(special_image_mask, image_features)
            position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
            logits = self.language_model(inputs_embeds, attention_mask, position_ids)
            loss = None
            if labels is not None:
                shift_logits = logits[..., :-1, :].contiguous()
                shift_labels = labels[..., 1:].contiguous()
                loss = nn.CrossEntropyLoss()(
                    shift_logits.view(-1, VOCAB), shift_labels.view(-1).to(shift_logits.device)
                )
            return loss, logits

    return LlavaForConditionalGeneration(vision_feature_layer)


def prepare_inputs_labels_for_multimodal(
    torch_like: Any, model: Any, input_ids: list[Any], labels: list[Any], image_features: Any
) -> tuple[Any, Any, Any, Any]:
    """haotian-liu/LLaVA's splice of image features at ``IMAGE_TOKEN_INDEX`` (one per sample)."""
    torch = torch_like
    new_input_embeds, new_labels = [], []
    for batch_idx, cur_input_ids in enumerate(input_ids):
        image_token_indices = (
            [-1]
            + torch.where(cur_input_ids == IMAGE_TOKEN_INDEX)[0].tolist()
            + [cur_input_ids.shape[0]]
        )
        cur_input_ids_noim, cur_labels_noim = [], []
        cur_labels = labels[batch_idx]
        for i in range(len(image_token_indices) - 1):
            cur_input_ids_noim.append(
                cur_input_ids[image_token_indices[i] + 1 : image_token_indices[i + 1]]
            )
            cur_labels_noim.append(
                cur_labels[image_token_indices[i] + 1 : image_token_indices[i + 1]]
            )
        split_sizes = [x.shape[0] for x in cur_labels_noim]
        cur_input_embeds = model.get_input_embeddings()(torch.cat(cur_input_ids_noim))
        cur_input_embeds_no_im = torch.split(cur_input_embeds, split_sizes, dim=0)
        cur_new_input_embeds, cur_new_labels = [], []
        num_images = (cur_input_ids == IMAGE_TOKEN_INDEX).sum()
        for i in range(num_images + 1):
            cur_new_input_embeds.append(cur_input_embeds_no_im[i])
            cur_new_labels.append(cur_labels_noim[i])
            if i < num_images:
                cur_image_features = image_features[batch_idx]
                cur_new_input_embeds.append(cur_image_features)
                cur_new_labels.append(
                    torch.full(
                        (cur_image_features.shape[0],), IGNORE_INDEX,
                        device=cur_labels.device, dtype=cur_labels.dtype,
                    )
                )  # fmt: skip
        cur_new_input_embeds = [x.to(image_features.device) for x in cur_new_input_embeds]
        new_input_embeds.append(torch.cat(cur_new_input_embeds))
        new_labels.append(torch.cat(cur_new_labels))

    max_len = max(x.shape[0] for x in new_input_embeds)
    batch_size = len(new_input_embeds)
    new_input_embeds_padded = []
    new_labels_padded = torch.full(
        (batch_size, max_len), IGNORE_INDEX, dtype=new_labels[0].dtype,
        device=new_labels[0].device,
    )  # fmt: skip
    attention_mask = torch.zeros((batch_size, max_len), dtype=torch.bool)
    position_ids = torch.zeros((batch_size, max_len), dtype=torch.long)
    for i, (cur_new_embed, cur_new_labels) in enumerate(zip(new_input_embeds, new_labels)):
        cur_len = cur_new_embed.shape[0]
        new_input_embeds_padded.append(
            torch.cat(
                (
                    cur_new_embed,
                    torch.zeros(
                        (max_len - cur_len, cur_new_embed.shape[1]),
                        dtype=cur_new_embed.dtype,
                        device=cur_new_embed.device,
                    ),  # fmt: skip
                ),
                dim=0,
            )
        )
        if cur_len > 0:
            new_labels_padded[i, :cur_len] = cur_new_labels
            attention_mask[i, :cur_len] = True
            position_ids[i, :cur_len] = torch.arange(
                0, cur_len, dtype=position_ids.dtype, device=position_ids.device
            )
    new_input_embeds = torch.stack(new_input_embeds_padded, dim=0)
    return new_input_embeds, new_labels_padded, attention_mask, position_ids


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(15)
    model = make_model(torch_like)
    load_numpy_state(torch, model, init)
    values: list[float] = []
    n_img = (IMG // PATCH) ** 2

    # prompts: text, <image> (one token for LLaVA, expanded to n_img for HF), text, answer
    prompts = [([1, 2], [3, 4, 5, 6]), ([1], [7, 8, 9])]
    answer_from = [2, 1]  # the answer starts this many tokens into the text after the image
    width = max(len(a) + n_img + len(b) for a, b in prompts)
    ids = np.zeros((2, width), np.int64)
    mask = np.zeros((2, width), np.int64)
    labels = np.full((2, width), IGNORE_INDEX, np.int64)
    raw_ids, raw_labels = [], []
    for i, (a, b) in enumerate(prompts):
        row = a + [IMAGE_TOKEN_ID] * n_img + b
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
        start = len(a) + n_img + answer_from[i]
        labels[i, start : len(row)] = row[start:]
        raw = np.array(a + [IMAGE_TOKEN_INDEX] + b)
        raw_ids.append(as_tensor(torch, raw))
        lab = np.full(len(raw), IGNORE_INDEX)
        lab[len(a) + 1 + answer_from[i] :] = b[answer_from[i] :]
        raw_labels.append(as_tensor(torch, lab))
    input_ids, attention_mask = as_tensor(torch, ids), as_tensor(torch, mask)
    labels_t = as_tensor(torch, labels)
    pixel_values = as_tensor(torch, rng.normal(size=(2, 3, IMG, IMG)))

    # the HF merge and LLaVA's own splice give the same sequences
    with torch.no_grad():
        feats = model.get_image_features(pixel_values, model.vision_feature_layer)
        embeds, lab2, mask2, pos2 = prepare_inputs_labels_for_multimodal(
            torch, model, raw_ids, raw_labels, feats
        )
        hf = model.get_input_embeddings()(input_ids)
        hf = hf.masked_scatter(model.get_placeholder_mask(input_ids, hf, feats), feats)
    values += [
        (embeds - hf * attention_mask[..., None]).abs().max().item(),
        float(torch.equal(lab2, labels_t)),
        float(torch.equal(mask2, attention_mask.bool())),
        pos2.sum().item(),
    ]
    try:
        model.get_placeholder_mask(input_ids[:, :-1], hf[:, :-1], feats[:, 1:])
    except ValueError as e:
        values.append(float("do not match" in str(e)))

    # stage 1: only the projector trains
    model.requires_grad_(False)
    for p in model.multi_modal_projector.parameters():
        p.requires_grad = True
    params = list(filter(lambda p: p.requires_grad, model.parameters()))
    values.append(float(sum(p.numel() for p in params)))
    optimizer = torch.optim.AdamW(params, lr=2e-2, weight_decay=0.0)
    warmup, total = 2, 6

    def lr_lambda(step: int) -> float:
        if step < warmup:
            return float(step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    for _step in range(total):
        loss, _ = model(input_ids, pixel_values, attention_mask, labels=labels_t)
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        values.append(loss.item())
    values.append(float(model.vision_tower.embeddings.class_embedding.grad is None))

    # a larger image through the interpolated position table, two feature layers concatenated
    model.eval()
    big = as_tensor(torch, rng.normal(size=(1, 3, 6, 6)))
    with torch.no_grad():
        pos = model.vision_tower.embeddings.interpolate_pos_encoding(
            torch.zeros(1, 10, V_DIM), 6, 6
        )
        feats_big = model.get_image_features(big, -1, interpolate_pos_encoding=True)
        # LLaVA-style multi-layer features: a model whose projector reads two layers
        multi = make_model(torch_like, [-2, -1])
        multi.vision_tower.load_state_dict(model.vision_tower.state_dict())
        for layer in (multi.multi_modal_projector.linear_1, multi.multi_modal_projector.linear_2):
            torch.nn.init.eye_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
        hs = multi.get_image_features(
            pixel_values, multi.vision_feature_layer, vision_feature_select_strategy="full"
        )
    values += [pos.sum().item(), float(pos.shape[1]), feats_big.sum().item()]
    values += [float(hs.shape[1]), float(hs.shape[2]), hs.sum().item()]
    try:
        model.vision_tower(big)
    except ValueError as e:
        values.append(float("doesn't match" in str(e)))
    return values
