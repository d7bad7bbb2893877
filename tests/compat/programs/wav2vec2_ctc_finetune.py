"""Fine-tuning Wav2Vec2 with CTC as Hugging Face ``transformers`` writes it
(``models/wav2vec2/modeling_wav2vec2.py``: ``Wav2Vec2ForCTC``, ``Wav2Vec2FeatureEncoder``,
``Wav2Vec2PositionalConvEmbedding``, ``Wav2Vec2SamePadLayer``, ``Wav2Vec2FeatureProjection``,
``Wav2Vec2Encoder``) with the fine-tuning blog's ``DataCollatorCTCWithPadding`` and the feature
extractor's ``zero_mean_unit_var_norm``, size-reduced.

The idioms kept: the layer-norm conv feature encoder (``nn.Conv1d`` then
``hidden_states.transpose(-2, -1)`` around ``nn.LayerNorm``, GELU) and the group-norm one
(``nn.GroupNorm(num_groups=out_conv_dim, num_channels=out_conv_dim, affine=True)`` on the first
layer), ``_freeze_parameters``; the positional conv embedding through
``nn.utils.parametrizations.weight_norm(self.conv, name="weight", dim=2)`` (grouped
``nn.Conv1d`` with ``padding=k // 2``) and the same-pad layer's ``[:, :, : -num_pad_remove]``;
``_get_feat_extract_output_lengths`` (``torch.div(input_length - kernel_size, stride,
rounding_mode="floor") + 1``); ``_get_feature_vector_attention_mask``
(``attention_mask.cumsum(dim=-1)[:, -1]``, ``attention_mask[(torch.arange(...),
output_lengths - 1)] = 1``, ``attention_mask.flip([-1]).cumsum(-1).flip([-1]).bool()``); the
time masking ``hidden_states[mask_time_indices] = self.masked_spec_embed.to(
hidden_states.dtype)`` with ``nn.Parameter(torch.Tensor(hidden_size).uniform_())``; the
encoder's ``hidden_states[~expand_attention_mask] = 0``, the additive mask ``(1.0 -
attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min`` expanded, eager
attention (``torch.matmul(query, key.transpose(2, 3)) * scaling``), ``torch.rand([])``
LayerDrop; ``Wav2Vec2ForCTC``'s ``labels >= 0`` mask, ``labels.masked_select(labels_mask)``,
``nn.functional.log_softmax(logits, dim=-1, dtype=torch.float32).transpose(0, 1)`` and
``nn.functional.ctc_loss(..., blank=pad_token_id, reduction="sum"/"mean",
zero_infinity=True)`` under ``torch.backends.cudnn.flags(enabled=False)``; the collator's
``labels.masked_fill(attention_mask.ne(1), -100)``; greedy decoding with
``torch.argmax(logits, dim=-1)`` and ``torch.unique_consecutive``.

Changed: 7 conv layers of 512 channels -> 2 of 4 (kernels (5, 3), strides (3, 2)), hidden
768 -> 8, 12 layers -> 1 with 2 heads, 128 positional-conv taps in 16 groups -> 4 taps in 2
groups, 32-character vocabulary -> 5, 64-sample clips, 4 steps; the random time-mask spans are
drawn by NumPy (HF's ``_compute_mask_indices`` is NumPy too, with ``np.random``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
CONV_DIM, CONV_KERNEL, CONV_STRIDE = (4, 4), (5, 3), (3, 2)
HIDDEN, HEADS, FFN, POS_K, POS_GROUPS, VOCAB, PAD_ID = 8, 2, 16, 4, 2, 5, 0
SAMPLES, BATCH, STEPS = 64, 3, 4


def _classes(torch: Any) -> dict:
    nn = torch.nn

    class Wav2Vec2LayerNormConvLayer(nn.Module):
        def __init__(self, layer_id: int = 0) -> None:
            super().__init__()
            self.in_conv_dim = CONV_DIM[layer_id - 1] if layer_id > 0 else 1
            self.out_conv_dim = CONV_DIM[layer_id]
            self.conv = nn.Conv1d(self.in_conv_dim, self.out_conv_dim,
                                  kernel_size=CONV_KERNEL[layer_id],
                                  stride=CONV_STRIDE[layer_id], bias=True)  # fmt: skip
            self.layer_norm = nn.LayerNorm(self.out_conv_dim, elementwise_affine=True)
            self.activation = nn.GELU()

        def forward(self, hidden_states: Any) -> Any:
            hidden_states = self.conv(hidden_states)
            hidden_states = hidden_states.transpose(-2, -1)
            hidden_states = self.layer_norm(hidden_states)
            hidden_states = hidden_states.transpose(-2, -1)
            hidden_states = self.activation(hidden_states)
            return hidden_states

    class Wav2Vec2GroupNormConvLayer(nn.Module):
        def __init__(self, layer_id: int = 0) -> None:
            super().__init__()
            self.in_conv_dim = CONV_DIM[layer_id - 1] if layer_id > 0 else 1
            self.out_conv_dim = CONV_DIM[layer_id]
            self.conv = nn.Conv1d(self.in_conv_dim, self.out_conv_dim,
                                  kernel_size=CONV_KERNEL[layer_id],
                                  stride=CONV_STRIDE[layer_id], bias=False)  # fmt: skip
            self.activation = nn.GELU()
            self.layer_norm = nn.GroupNorm(num_groups=self.out_conv_dim,
                                           num_channels=self.out_conv_dim, affine=True)  # fmt: skip

        def forward(self, hidden_states: Any) -> Any:
            hidden_states = self.conv(hidden_states)
            hidden_states = self.layer_norm(hidden_states)
            hidden_states = self.activation(hidden_states)
            return hidden_states

    class Wav2Vec2NoLayerNormConvLayer(nn.Module):
        def __init__(self, layer_id: int = 0) -> None:
            super().__init__()
            self.in_conv_dim = CONV_DIM[layer_id - 1] if layer_id > 0 else 1
            self.out_conv_dim = CONV_DIM[layer_id]
            self.conv = nn.Conv1d(self.in_conv_dim, self.out_conv_dim,
                                  kernel_size=CONV_KERNEL[layer_id],
                                  stride=CONV_STRIDE[layer_id], bias=False)  # fmt: skip
            self.activation = nn.GELU()

        def forward(self, hidden_states: Any) -> Any:
            hidden_states = self.conv(hidden_states)
            hidden_states = self.activation(hidden_states)
            return hidden_states

    class Wav2Vec2FeatureEncoder(nn.Module):
        def __init__(self, feat_extract_norm: str) -> None:
            super().__init__()
            if feat_extract_norm == "group":
                conv_layers = [Wav2Vec2GroupNormConvLayer(layer_id=0)] + [
                    Wav2Vec2NoLayerNormConvLayer(layer_id=i + 1) for i in range(len(CONV_DIM) - 1)
                ]
            elif feat_extract_norm == "layer":
                conv_layers = [Wav2Vec2LayerNormConvLayer(layer_id=i) for i in range(len(CONV_DIM))]
            self.conv_layers = nn.ModuleList(conv_layers)
            self._requires_grad = True

        def _freeze_parameters(self) -> None:
            for param in self.parameters():
                param.requires_grad = False
            self._requires_grad = False

        def forward(self, input_values: Any) -> Any:
            hidden_states = input_values[:, None]
            if self._requires_grad and self.training:
                hidden_states.requires_grad = True
            for conv_layer in self.conv_layers:
                hidden_states = conv_layer(hidden_states)
            return hidden_states

    class Wav2Vec2SamePadLayer(nn.Module):
        def __init__(self, num_conv_pos_embeddings: int) -> None:
            super().__init__()
            self.num_pad_remove = 1 if num_conv_pos_embeddings % 2 == 0 else 0

        def forward(self, hidden_states: Any) -> Any:
            if self.num_pad_remove > 0:
                hidden_states = hidden_states[:, :, : -self.num_pad_remove]
            return hidden_states

    class Wav2Vec2PositionalConvEmbedding(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv1d(HIDDEN, HIDDEN, kernel_size=POS_K, padding=POS_K // 2,
                                  groups=POS_GROUPS)  # fmt: skip
            weight_norm = nn.utils.weight_norm
            if hasattr(nn.utils.parametrizations, "weight_norm"):
                weight_norm = nn.utils.parametrizations.weight_norm
            self.conv = weight_norm(self.conv, name="weight", dim=2)
            self.padding = Wav2Vec2SamePadLayer(POS_K)
            self.activation = nn.GELU()

        def forward(self, hidden_states: Any) -> Any:
            hidden_states = hidden_states.transpose(1, 2)
            hidden_states = self.conv(hidden_states)
            hidden_states = self.padding(hidden_states)
            hidden_states = self.activation(hidden_states)
            hidden_states = hidden_states.transpose(1, 2)
            return hidden_states

    class Wav2Vec2Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_dim, self.num_heads = HIDDEN, HEADS
            self.head_dim = HIDDEN // HEADS
            self.scaling = self.head_dim**-0.5
            self.k_proj = nn.Linear(HIDDEN, HIDDEN)
            self.v_proj = nn.Linear(HIDDEN, HIDDEN)
            self.q_proj = nn.Linear(HIDDEN, HIDDEN)
            self.out_proj = nn.Linear(HIDDEN, HIDDEN)

        def forward(self, hidden_states: Any, attention_mask: Any = None) -> Any:
            bsz, tgt_len = hidden_states.shape[:-1]
            hidden_shape = (bsz, tgt_len, -1, self.head_dim)
            query = self.q_proj(hidden_states).view(hidden_shape).transpose(1, 2)
            key = self.k_proj(hidden_states).view(hidden_shape).transpose(1, 2)
            value = self.v_proj(hidden_states).view(hidden_shape).transpose(1, 2)
            attn_weights = torch.matmul(query, key.transpose(2, 3)) * self.scaling
            if attention_mask is not None:
                attn_weights = attn_weights + attention_mask
            attn_weights = nn.functional.softmax(attn_weights, dim=-1)
            attn_weights = nn.functional.dropout(attn_weights, p=0.0, training=self.training)
            attn_output = torch.matmul(attn_weights, value).transpose(1, 2).contiguous()
            attn_output = attn_output.reshape(bsz, tgt_len, -1).contiguous()
            return self.out_proj(attn_output)

    class Wav2Vec2EncoderLayer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attention = Wav2Vec2Attention()
            self.dropout = nn.Dropout(0.0)
            self.layer_norm = nn.LayerNorm(HIDDEN, eps=1e-5)
            self.intermediate_dense = nn.Linear(HIDDEN, FFN)
            self.output_dense = nn.Linear(FFN, HIDDEN)
            self.final_layer_norm = nn.LayerNorm(HIDDEN, eps=1e-5)

        def forward(self, hidden_states: Any, attention_mask: Any = None) -> Any:
            attn_residual = hidden_states
            hidden_states = self.attention(hidden_states, attention_mask=attention_mask)
            hidden_states = self.dropout(hidden_states)
            hidden_states = attn_residual + hidden_states
            hidden_states = self.layer_norm(hidden_states)
            ff = self.output_dense(nn.functional.gelu(self.intermediate_dense(hidden_states)))
            hidden_states = hidden_states + ff
            hidden_states = self.final_layer_norm(hidden_states)
            return hidden_states

    class Wav2Vec2ForCTC(nn.Module):
        def __init__(self, feat_extract_norm: str = "layer") -> None:
            super().__init__()
            self.feature_extractor = Wav2Vec2FeatureEncoder(feat_extract_norm)
            self.feature_projection_layer_norm = nn.LayerNorm(CONV_DIM[-1], eps=1e-5)
            self.projection = nn.Linear(CONV_DIM[-1], HIDDEN)
            self.masked_spec_embed = nn.Parameter(torch.Tensor(HIDDEN).uniform_())
            self.pos_conv_embed = Wav2Vec2PositionalConvEmbedding()
            self.encoder_layer_norm = nn.LayerNorm(HIDDEN, eps=1e-5)
            self.layers = nn.ModuleList([Wav2Vec2EncoderLayer()])
            self.layerdrop = 0.3
            self.lm_head = nn.Linear(HIDDEN, VOCAB)

        def _get_feat_extract_output_lengths(self, input_lengths: Any) -> Any:
            def _conv_out_length(input_length: Any, kernel_size: int, stride: int) -> Any:
                return torch.div(input_length - kernel_size, stride, rounding_mode="floor") + 1

            for kernel_size, stride in zip(CONV_KERNEL, CONV_STRIDE):
                input_lengths = _conv_out_length(input_lengths, kernel_size, stride)
            return input_lengths

        def _get_feature_vector_attention_mask(self, feature_vector_length: int,
                                               attention_mask: Any) -> Any:  # fmt: skip
            non_padded_lengths = attention_mask.cumsum(dim=-1)[:, -1]
            output_lengths = self._get_feat_extract_output_lengths(non_padded_lengths)
            output_lengths = output_lengths.to(torch.long)
            batch_size = attention_mask.shape[0]
            attention_mask = torch.zeros((batch_size, feature_vector_length),
                                         dtype=attention_mask.dtype,
                                         device=attention_mask.device)  # fmt: skip
            attention_mask[
                (torch.arange(attention_mask.shape[0], device=attention_mask.device),
                 output_lengths - 1)
            ] = 1  # fmt: skip
            attention_mask = attention_mask.flip([-1]).cumsum(-1).flip([-1]).bool()
            return attention_mask

        def forward(self, input_values: Any, attention_mask: Any = None,
                    mask_time_indices: Any = None, labels: Any = None) -> tuple:  # fmt: skip
            extract_features = self.feature_extractor(input_values)
            extract_features = extract_features.transpose(1, 2)
            if attention_mask is not None:
                attention_mask = self._get_feature_vector_attention_mask(
                    extract_features.shape[1], attention_mask
                )
            norm_hidden_states = self.feature_projection_layer_norm(extract_features)
            hidden_states = self.projection(norm_hidden_states)
            if mask_time_indices is not None and self.training:
                mask_time_indices = torch.tensor(mask_time_indices, device=hidden_states.device,
                                                 dtype=torch.bool)  # fmt: skip
                hidden_states[mask_time_indices] = self.masked_spec_embed.to(hidden_states.dtype)
            encoder_mask = None
            if attention_mask is not None:
                expand_attention_mask = attention_mask.unsqueeze(-1).repeat(
                    1, 1, hidden_states.shape[2]
                )
                hidden_states[~expand_attention_mask] = 0
                encoder_mask = 1.0 - attention_mask[:, None, None, :].to(dtype=hidden_states.dtype)
                encoder_mask = encoder_mask * torch.finfo(hidden_states.dtype).min
                encoder_mask = encoder_mask.expand(encoder_mask.shape[0], 1,
                                                   encoder_mask.shape[-1],
                                                   encoder_mask.shape[-1])  # fmt: skip
            position_embeddings = self.pos_conv_embed(hidden_states)
            hidden_states = hidden_states + position_embeddings
            hidden_states = self.encoder_layer_norm(hidden_states)
            for layer in self.layers:
                dropout_probability = torch.rand([])
                skip_the_layer = bool(self.training and (dropout_probability < self.layerdrop))
                if not skip_the_layer:
                    hidden_states = layer(hidden_states, attention_mask=encoder_mask)
            logits = self.lm_head(hidden_states)
            loss = None
            if labels is not None:
                if labels.max() >= VOCAB:
                    raise ValueError(f"Label values must be <= vocab_size: {VOCAB}")
                attention_mask = (
                    attention_mask if attention_mask is not None
                    else torch.ones_like(input_values, dtype=torch.long)
                )  # fmt: skip
                input_lengths = self._get_feat_extract_output_lengths(attention_mask.sum(-1)).to(
                    torch.long
                )
                labels_mask = labels >= 0
                target_lengths = labels_mask.sum(-1)
                flattened_targets = labels.masked_select(labels_mask)
                log_probs = nn.functional.log_softmax(logits, dim=-1, dtype=torch.float32)
                log_probs = log_probs.transpose(0, 1)
                with torch.backends.cudnn.flags(enabled=False):
                    loss = nn.functional.ctc_loss(log_probs, flattened_targets, input_lengths,
                                                  target_lengths, blank=PAD_ID,
                                                  reduction=self.ctc_loss_reduction,
                                                  zero_infinity=True)  # fmt: skip
            return loss, logits

    return {"Wav2Vec2ForCTC": Wav2Vec2ForCTC}


def make_model(torch_like: Any) -> Any:
    model = _classes(torch_like)["Wav2Vec2ForCTC"]("layer")
    model.ctc_loss_reduction = "sum"
    return model


def zero_mean_unit_var_norm(input_values: list, attention_mask: np.ndarray,
                            padding_value: float = 0.0) -> list:  # fmt: skip
    normed_input_values = []
    for vector, length in zip(input_values, attention_mask.sum(-1)):
        normed_slice = (vector - vector[:length].mean()) / np.sqrt(vector[:length].var() + 1e-7)
        if length < normed_slice.shape[0]:
            normed_slice[length:] = padding_value
        normed_input_values.append(normed_slice)
    return normed_input_values


def _batch(torch: Any, rng: np.random.Generator) -> dict:
    lengths = rng.integers(40, SAMPLES + 1, BATCH)
    lengths[0] = SAMPLES
    audio = np.zeros((BATCH, SAMPLES), np.float32)
    mask = np.zeros((BATCH, SAMPLES), np.int64)
    for b, n in enumerate(lengths):
        audio[b, :n] = rng.standard_normal(n)
        mask[b, :n] = 1
    audio = np.stack(zero_mean_unit_var_norm(list(audio), mask)).astype(np.float32)
    n_labels = rng.integers(1, 4, BATCH)
    ids = np.zeros((BATCH, 3), np.int64)
    label_mask = np.zeros((BATCH, 3), np.int64)
    for b, n in enumerate(n_labels):
        ids[b, :n] = rng.integers(1, VOCAB, n)
        label_mask[b, :n] = 1
    input_ids, label_attention = as_tensor(torch, ids), as_tensor(torch, label_mask)
    labels = input_ids.masked_fill(label_attention.ne(1), -100)
    spans = np.zeros((BATCH, 9), bool)
    for b in range(BATCH):
        start = rng.integers(0, 7)
        spans[b, start : start + 2] = True
    return {
        "input_values": as_tensor(torch, audio),
        "attention_mask": as_tensor(torch, mask),
        "labels": labels,
        "mask_time_indices": spans,
    }


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    torch.manual_seed(3)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model.feature_extractor._freeze_parameters()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    rng = np.random.default_rng(2)
    values: list[float] = []
    for step in range(STEPS):
        model.train()
        model.ctc_loss_reduction = "sum" if step % 2 == 0 else "mean"
        loss, logits = model(**_batch(torch, rng))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        values.append(loss.item())
    model.eval()
    group = _classes(torch_like)["Wav2Vec2ForCTC"]("group")
    group.ctc_loss_reduction = "mean"
    with torch.no_grad():  # the group-norm encoder's variant, with seeded NumPy weights
        for p in group.parameters():
            p.copy_(as_tensor(torch, 0.3 * rng.standard_normal(tuple(p.shape)), dtype=p.dtype))
    with torch.no_grad():
        batch = _batch(torch, rng)
        _, logits = model(batch["input_values"], batch["attention_mask"])
        pred_ids = torch.argmax(logits, dim=-1)
        values.extend(float(torch.unique_consecutive(p).sum()) for p in pred_ids)
        group_loss, _ = group(batch["input_values"], labels=batch["labels"])
        values.append(float(group_loss))
    values.append(float(logits.sum()))
    return values
