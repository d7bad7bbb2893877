"""BLIP-2's Q-Former stage-1 pre-training (image-text contrastive and image-text matching with
hard negatives), as salesforce/LAVIS writes it (``lavis/models/blip2_models/blip2_qformer.py``:
``Blip2Qformer.forward``; ``blip2.py``: ``init_Qformer``; ``Qformer.py``: ``BertEmbeddings``,
``BertSelfAttention``, ``BertLayer``, ``BertModel.get_extended_attention_mask``), size-reduced.

The idioms: learned queries ``nn.Parameter(torch.zeros(1, num_query_token, hidden_size))``
with ``query_tokens.data.normal_(mean=0.0, std=initializer_range)`` (under a seeded
generator, the same numbers in both frameworks) and ``self.query_tokens.expand(
image_embeds.shape[0], -1, -1)``; ``image_atts = torch.ones(image_embeds.size()[:-1],
dtype=torch.long)``; ``BertEmbeddings`` (``self.position_ids[:, past_key_values_length : seq_length
+ past_key_values_length].clone()`` from ``register_buffer("position_ids", torch.arange(
max_position_embeddings).expand((1, -1)))``, ``torch.cat((query_embeds, embeddings), dim=1)``);
``get_extended_attention_mask`` (``attention_mask[:, None, None, :]``, ``.to(dtype=...)``,
``(1.0 - extended_attention_mask) * -10000.0``); ``BertSelfAttention`` (``new_x_shape =
x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)``, ``x.view(
*new_x_shape).permute(0, 2, 1, 3)``, ``attention_scores / math.sqrt(self.attention_head_size)
+ attention_mask``, ``nn.Softmax(dim=-1)``, ``context_layer.size()[:-2] +
(self.all_head_size,)``); ``BertLayer`` with ``query_length`` (queries sliced off with
``attention_output[:, :query_length, :]``, cross-attention to the image every
``cross_attention_freq`` layers, separate query and text feed-forwards re-joined by
``torch.cat([layer_output, layer_output_text], dim=1)``); the ITC loss (``F.normalize(...,
dim=-1)``, ``torch.matmul(image_feats.unsqueeze(1), text_feat_all.unsqueeze(-1)).squeeze()``,
``sim_q2t.max(-1)``, ``sim_t2q`` from ``text_feat.unsqueeze(1).unsqueeze(1)`` against
``image_feats_all.permute(0, 2, 1)``, ``self.temp = nn.Parameter(0.07 * torch.ones([]))``
clamped in place under ``torch.no_grad()``, ``targets = torch.linspace(rank * bs, rank * bs + bs
- 1, bs, dtype=int)``, ``F.cross_entropy(sim_i2t, targets, label_smoothing=0.1)``); ITM hard
negatives (``sim_t2i[:, rank * bs : rank * bs + bs].fill_diagonal_(-10000)`` on a slice,
``F.softmax(sim_t2i, dim=1)``, ``torch.multinomial(weights_t2i[b], 1).item()`` from the global
generator, ``torch.stack`` of the picks, ``torch.cat`` of pos/pos/neg, ``vl_output.mean(dim=1)``,
``itm_labels`` from ``torch.ones(bs, dtype=torch.long)`` / ``torch.zeros(2 * bs,
dtype=torch.long)``); ``concat_all_gather`` / ``all_gather_with_grad`` as the identity of a
single process (``rank = 0``); AdamW over ``named_parameters`` split by ``p.ndim < 2 or "bn" in n
or "ln" in n or "bias" in n``.

Changed: the frozen ViT is a frozen ``nn.Linear`` over NumPy patch features; 2 Q-Former layers
of width 16 (4 heads), 4 queries, 6-token texts with padding, no dropout; the image-grounded
generation (LM) loss is left out.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

HID, HEADS, LAYERS, NQ, VIS, PATCHES, VOCAB, TXT, EMB, BS, STEPS = (
    16,
    4,
    2,
    4,
    12,
    5,
    20,
    6,
    8,
    3,
    3,
)
PAD = 0


def _classes(torch_like: Any) -> dict[str, Any]:
    torch = torch_like
    nn = torch.nn

    config = SimpleNamespace(
        hidden_size=HID, num_attention_heads=HEADS, intermediate_size=2 * HID,
        max_position_embeddings=16, vocab_size=VOCAB, layer_norm_eps=1e-12,
        encoder_width=VIS, cross_attention_freq=2, query_length=NQ, initializer_range=0.02,
        num_hidden_layers=LAYERS,
    )  # fmt: skip

    class BertEmbeddings(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            self.word_embeddings = nn.Embedding(
                config.vocab_size, config.hidden_size, padding_idx=PAD
            )
            self.position_embeddings = nn.Embedding(
                config.max_position_embeddings, config.hidden_size
            )
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
            self.register_buffer(
                "position_ids", torch.arange(config.max_position_embeddings).expand((1, -1))
            )

        def forward(self, input_ids=None, query_embeds=None, past_key_values_length=0):  # noqa: ANN001
            if input_ids is not None:
                seq_length = input_ids.size()[1]
            else:
                seq_length = 0
            position_ids = self.position_ids[
                :, past_key_values_length : seq_length + past_key_values_length
            ].clone()
            if input_ids is not None:
                embeddings = self.word_embeddings(input_ids)
                position_embeddings = self.position_embeddings(position_ids)
                embeddings = embeddings + position_embeddings
                if query_embeds is not None:
                    embeddings = torch.cat((query_embeds, embeddings), dim=1)
            else:
                embeddings = query_embeds
            embeddings = self.LayerNorm(embeddings)
            return embeddings

    class BertSelfAttention(nn.Module):
        def __init__(self, config: Any, is_cross_attention: bool) -> None:
            super().__init__()
            self.num_attention_heads = config.num_attention_heads
            self.attention_head_size = int(config.hidden_size / config.num_attention_heads)
            self.all_head_size = self.num_attention_heads * self.attention_head_size
            self.query = nn.Linear(config.hidden_size, self.all_head_size)
            kv_width = config.encoder_width if is_cross_attention else config.hidden_size
            self.key = nn.Linear(kv_width, self.all_head_size)
            self.value = nn.Linear(kv_width, self.all_head_size)

        def transpose_for_scores(self, x: Any) -> Any:
            new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
            x = x.view(*new_x_shape)
            return x.permute(0, 2, 1, 3)

        def forward(self, hidden_states, attention_mask=None, encoder_hidden_states=None,  # noqa: ANN001
                    encoder_attention_mask=None):  # noqa: ANN001  # fmt: skip
            is_cross_attention = encoder_hidden_states is not None
            if is_cross_attention:
                key_layer = self.transpose_for_scores(self.key(encoder_hidden_states))
                value_layer = self.transpose_for_scores(self.value(encoder_hidden_states))
                attention_mask = encoder_attention_mask
            else:
                key_layer = self.transpose_for_scores(self.key(hidden_states))
                value_layer = self.transpose_for_scores(self.value(hidden_states))
            mixed_query_layer = self.query(hidden_states)
            query_layer = self.transpose_for_scores(mixed_query_layer)
            attention_scores = torch.matmul(query_layer, key_layer.transpose(-1, -2))
            attention_scores = attention_scores / math.sqrt(self.attention_head_size)
            if attention_mask is not None:
                attention_scores = attention_scores + attention_mask
            attention_probs = nn.Softmax(dim=-1)(attention_scores)
            context_layer = torch.matmul(attention_probs, value_layer)
            context_layer = context_layer.permute(0, 2, 1, 3).contiguous()
            new_context_layer_shape = context_layer.size()[:-2] + (self.all_head_size,)
            context_layer = context_layer.view(*new_context_layer_shape)
            return (context_layer, attention_probs)

    class BertAttention(nn.Module):
        def __init__(self, config: Any, is_cross_attention: bool = False) -> None:
            super().__init__()
            self.self = BertSelfAttention(config, is_cross_attention)
            self.dense = nn.Linear(config.hidden_size, config.hidden_size)
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

        def forward(self, hidden_states, attention_mask=None, encoder_hidden_states=None,  # noqa: ANN001
                    encoder_attention_mask=None):  # noqa: ANN001  # fmt: skip
            self_outputs = self.self(
                hidden_states, attention_mask, encoder_hidden_states, encoder_attention_mask
            )
            attention_output = self.LayerNorm(self.dense(self_outputs[0]) + hidden_states)
            outputs = (attention_output,) + self_outputs[1:]
            return outputs

    class FeedForward(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
            self.intermediate_act_fn = nn.GELU()
            self.out = nn.Linear(config.intermediate_size, config.hidden_size)
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

        def forward(self, attention_output: Any) -> Any:
            h = self.intermediate_act_fn(self.dense(attention_output))
            return self.LayerNorm(self.out(h) + attention_output)

    class BertLayer(nn.Module):
        def __init__(self, config: Any, layer_num: int) -> None:
            super().__init__()
            self.attention = BertAttention(config)
            self.layer_num = layer_num
            if layer_num % config.cross_attention_freq == 0:
                self.crossattention = BertAttention(config, is_cross_attention=True)
                self.has_cross_attention = True
            else:
                self.has_cross_attention = False
            self.feed_forward = FeedForward(config)
            self.feed_forward_query = FeedForward(config)

        def forward(self, hidden_states, attention_mask=None, encoder_hidden_states=None,  # noqa: ANN001
                    encoder_attention_mask=None, query_length=0):  # noqa: ANN001  # fmt: skip
            self_attention_outputs = self.attention(hidden_states, attention_mask)
            attention_output = self_attention_outputs[0]
            outputs = self_attention_outputs[1:]
            if query_length > 0:
                query_attention_output = attention_output[:, :query_length, :]
                if self.has_cross_attention:
                    assert encoder_hidden_states is not None, (
                        "encoder_hidden_states must be given for cross-attention layers"
                    )
                    cross_attention_outputs = self.crossattention(
                        query_attention_output,
                        attention_mask,
                        encoder_hidden_states,
                        encoder_attention_mask,
                    )
                    query_attention_output = cross_attention_outputs[0]
                    outputs = outputs + cross_attention_outputs[1:]
                layer_output = self.feed_forward_query(query_attention_output)
                if attention_output.shape[1] > query_length:
                    layer_output_text = self.feed_forward(attention_output[:, query_length:, :])
                    layer_output = torch.cat([layer_output, layer_output_text], dim=1)
            else:
                layer_output = self.feed_forward(attention_output)
            outputs = (layer_output,) + outputs
            return outputs

    class BertModel(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            self.config = config
            self.embeddings = BertEmbeddings(config)
            self.layer = nn.ModuleList(
                [BertLayer(config, i) for i in range(config.num_hidden_layers)]
            )

        @property
        def dtype(self) -> Any:
            return next(self.parameters()).dtype

        def get_extended_attention_mask(self, attention_mask: Any) -> Any:
            extended_attention_mask = attention_mask[:, None, None, :]
            extended_attention_mask = extended_attention_mask.to(dtype=self.dtype)
            extended_attention_mask = (1.0 - extended_attention_mask) * -10000.0
            return extended_attention_mask

        def forward(self, input_ids=None, attention_mask=None, query_embeds=None,  # noqa: ANN001
                    encoder_hidden_states=None, encoder_attention_mask=None):  # noqa: ANN001  # fmt: skip
            query_length = query_embeds.shape[1] if query_embeds is not None else 0
            embedding_output = self.embeddings(input_ids=input_ids, query_embeds=query_embeds)
            input_shape = embedding_output.size()[:-1]
            batch_size, seq_length = input_shape
            if attention_mask is None:
                attention_mask = torch.ones(
                    ((batch_size, seq_length)), device=embedding_output.device
                )
            extended_attention_mask = self.get_extended_attention_mask(attention_mask)
            if encoder_hidden_states is not None:
                encoder_extended_attention_mask = self.get_extended_attention_mask(
                    encoder_attention_mask
                )
            else:
                encoder_extended_attention_mask = None
            hidden_states = embedding_output
            for layer_module in self.layer:
                hidden_states = layer_module(
                    hidden_states,
                    extended_attention_mask,
                    encoder_hidden_states,
                    encoder_extended_attention_mask,
                    query_length,
                )[0]
            return SimpleNamespace(last_hidden_state=hidden_states)

    class Blip2Qformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.visual_encoder = nn.Linear(VIS, VIS)
            for _name, param in self.visual_encoder.named_parameters():
                param.requires_grad = False
            self.visual_encoder = self.visual_encoder.eval()
            self.ln_vision = nn.LayerNorm(VIS)
            self.Qformer = SimpleNamespace(bert=BertModel(config))
            self.bert = self.Qformer.bert
            self.query_tokens = nn.Parameter(torch.zeros(1, NQ, config.hidden_size))
            self.query_tokens.data.normal_(mean=0.0, std=config.initializer_range)
            self.vision_proj = nn.Linear(HID, EMB)
            self.text_proj = nn.Linear(HID, EMB)
            self.itm_head = nn.Linear(HID, 2)
            self.temp = nn.Parameter(0.07 * torch.ones([]))

    return {"Blip2Qformer": Blip2Qformer}


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["Blip2Qformer"]()


def _texts(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """What the BERT tokenizer hands back: ``[CLS]``-first ids padded to the longest text."""
    ids = np.zeros((BS, TXT), dtype=np.int64)
    for b, n in enumerate((TXT, 4, 5)):
        ids[b, 0] = 1
        ids[b, 1:n] = rng.integers(2, VOCAB, n - 1)
    return ids, (ids != PAD).astype(np.int64)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    torch.manual_seed(0)

    def concat_all_gather(tensor: Any) -> Any:
        return tensor  # one process: the gather is the tensor itself

    all_gather_with_grad = concat_all_gather
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n:
            no_decay.append(p)
        else:
            decay.append(p)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-3,
        betas=(0.9, 0.999),
    )
    rng = np.random.default_rng(9)
    values: list[float] = []
    for _ in range(STEPS):
        image = as_tensor(torch, rng.standard_normal((BS, PATCHES, VIS)))
        input_ids, attention_mask = (as_tensor(torch, a) for a in _texts(rng))
        self = model
        image_embeds = self.ln_vision(self.visual_encoder(image))
        image_atts = torch.ones(image_embeds.size()[:-1], dtype=torch.long).to(image.device)
        query_tokens = self.query_tokens.expand(image_embeds.shape[0], -1, -1)
        query_output = self.Qformer.bert(
            query_embeds=query_tokens,
            encoder_hidden_states=image_embeds,
            encoder_attention_mask=image_atts,
        )
        image_feats = F.normalize(self.vision_proj(query_output.last_hidden_state), dim=-1)
        text_output = self.Qformer.bert(input_ids, attention_mask=attention_mask)
        text_feat = F.normalize(self.text_proj(text_output.last_hidden_state[:, 0, :]), dim=-1)

        # Image-text Contrastive
        image_feats_all = concat_all_gather(image_feats)
        text_feat_all = concat_all_gather(text_feat)
        sim_q2t = torch.matmul(image_feats.unsqueeze(1), text_feat_all.unsqueeze(-1)).squeeze()
        sim_i2t, _ = sim_q2t.max(-1)
        sim_i2t = sim_i2t / self.temp
        sim_t2q = torch.matmul(
            text_feat.unsqueeze(1).unsqueeze(1), image_feats_all.permute(0, 2, 1)
        ).squeeze()
        sim_t2i, _ = sim_t2q.max(-1)
        sim_t2i = sim_t2i / self.temp
        rank = 0
        bs = image.size(0)
        targets = torch.linspace(rank * bs, rank * bs + bs - 1, bs, dtype=int).to(image.device)
        loss_itc = (
            F.cross_entropy(sim_i2t, targets, label_smoothing=0.1)
            + F.cross_entropy(sim_t2i, targets, label_smoothing=0.1)
        ) / 2

        # Image-text Matching
        text_input_ids_world = concat_all_gather(input_ids)
        text_attention_mask_world = concat_all_gather(attention_mask)
        image_embeds_world = all_gather_with_grad(image_embeds)
        with torch.no_grad():
            sim_t2i[:, rank * bs : rank * bs + bs].fill_diagonal_(-10000)
            sim_i2t[:, rank * bs : rank * bs + bs].fill_diagonal_(-10000)
            weights_t2i = F.softmax(sim_t2i, dim=1)
            weights_i2t = F.softmax(sim_i2t, dim=1)
        image_embeds_neg = []
        for b in range(bs):
            neg_idx = torch.multinomial(weights_t2i[b], 1).item()
            image_embeds_neg.append(image_embeds_world[neg_idx])
        image_embeds_neg = torch.stack(image_embeds_neg, dim=0)
        text_ids_neg = []
        text_atts_neg = []
        for b in range(bs):
            neg_idx = torch.multinomial(weights_i2t[b], 1).item()
            text_ids_neg.append(text_input_ids_world[neg_idx])
            text_atts_neg.append(text_attention_mask_world[neg_idx])
        text_ids_neg = torch.stack(text_ids_neg, dim=0)
        text_atts_neg = torch.stack(text_atts_neg, dim=0)
        text_ids_all = torch.cat([input_ids, input_ids, text_ids_neg], dim=0)
        text_atts_all = torch.cat([attention_mask, attention_mask, text_atts_neg], dim=0)
        query_tokens_itm = self.query_tokens.expand(text_ids_all.shape[0], -1, -1)
        query_atts_itm = torch.ones(query_tokens_itm.size()[:-1], dtype=torch.long).to(image.device)
        attention_mask_all = torch.cat([query_atts_itm, text_atts_all], dim=1)
        image_embeds_all = torch.cat([image_embeds, image_embeds_neg, image_embeds], dim=0)
        image_atts_all = torch.ones(image_embeds_all.size()[:-1], dtype=torch.long).to(image.device)
        output_itm = self.Qformer.bert(
            text_ids_all,
            query_embeds=query_tokens_itm,
            attention_mask=attention_mask_all,
            encoder_hidden_states=image_embeds_all,
            encoder_attention_mask=image_atts_all,
        )
        vl_embeddings = output_itm.last_hidden_state[:, : query_tokens_itm.size(1), :]
        vl_output = self.itm_head(vl_embeddings)
        logits = vl_output.mean(dim=1)
        itm_labels = torch.cat(
            [torch.ones(bs, dtype=torch.long), torch.zeros(2 * bs, dtype=torch.long)], dim=0
        ).to(image.device)
        loss_itm = F.cross_entropy(logits, itm_labels)

        loss = loss_itc + loss_itm
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            self.temp.clamp_(0.001, 0.5)
        values += [loss_itc.item(), loss_itm.item(), self.temp.item()]
        values += [float(neg) for neg in text_ids_neg[:, 1].tolist()]
        values.append(image_embeds_neg.sum().item())
    return values
