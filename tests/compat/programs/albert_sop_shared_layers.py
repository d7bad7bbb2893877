"""Hugging Face ``transformers`` ALBERT pre-training (``modeling_albert.py``,
``AlbertForPreTraining``), size-reduced: factorized embeddings (``AlbertEmbeddings`` of width
``embedding_size`` with word, position and token-type tables, the ``position_ids`` buffer
``torch.arange(config.max_position_embeddings).expand((1, -1))`` registered with
``persistent=False`` and a ``token_type_ids`` buffer of ``torch.zeros(self.position_ids.size(),
dtype=torch.long)`` read back as ``self.token_type_ids[:, :seq_length].expand(batch_size,
seq_length)``) projected by ``embedding_hidden_mapping_in``; cross-layer parameter sharing
(``AlbertTransformer`` runs ``num_hidden_layers`` passes over ``num_hidden_groups`` groups, picking
``layer_group_idx = int(i / (self.config.num_hidden_layers / self.config.num_hidden_groups))``);
``AlbertSdpaAttention`` through ``F.scaled_dot_product_attention`` with the extended mask
``(1.0 - extended_attention_mask) * torch.finfo(dtype).min``; the ``gelu_new`` activation
(``0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))``);
``AlbertMLMHead`` with its decoder tied to the word embeddings and ``AlbertSOPHead`` on the
``tanh`` pooler of ``[CLS]``; the sentence-order-prediction data (segment pairs swapped with
probability 0.5, label 1 when swapped); the total loss ``masked_lm_loss + sentence_order_loss``
with ``CrossEntropyLoss()`` on ``labels.view(-1)`` (``-100`` ignored); ``AdamW`` with
``get_linear_schedule_with_warmup`` (a ``LambdaLR``) and ``clip_grad_norm_``.

Changed: embedding 128 -> 6, hidden 4096 -> 12, 12 passes -> 4 over 2 groups, vocab 30k ->
24, sequences of 10 tokens from a seeded NumPy generator; LAMB -> AdamW (as the HF Trainer).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

VOCAB, EMB, HIDDEN, HEADS, LAYERS, GROUPS, SEQ, MAXPOS = 24, 6, 12, 3, 4, 2, 10, 16
CLS, SEP, MASK = 1, 2, 3


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    def gelu_new(input: Any) -> Any:
        return (
            0.5
            * input
            * (
                1.0
                + torch.tanh(math.sqrt(2.0 / math.pi) * (input + 0.044715 * torch.pow(input, 3.0)))
            )
        )

    class AlbertEmbeddings(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word_embeddings = nn.Embedding(VOCAB, EMB, padding_idx=0)
            self.position_embeddings = nn.Embedding(MAXPOS, EMB)
            self.token_type_embeddings = nn.Embedding(2, EMB)
            self.LayerNorm = nn.LayerNorm(EMB, eps=1e-12)
            self.dropout = nn.Dropout(0.0)
            self.register_buffer(
                "position_ids", torch.arange(MAXPOS).expand((1, -1)), persistent=False
            )
            self.register_buffer(
                "token_type_ids",
                torch.zeros(self.position_ids.size(), dtype=torch.long),
                persistent=False,
            )

        def forward(self, input_ids: Any, token_type_ids: Any = None) -> Any:
            input_shape = input_ids.size()
            seq_length = input_shape[1]
            position_ids = self.position_ids[:, :seq_length]
            if token_type_ids is None:
                buffered_token_type_ids = self.token_type_ids[:, :seq_length]
                token_type_ids = buffered_token_type_ids.expand(input_shape[0], seq_length)
            embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(
                token_type_ids
            )
            embeddings += self.position_embeddings(position_ids)
            return self.dropout(self.LayerNorm(embeddings))

    class AlbertSdpaAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.num_attention_heads = HEADS
            self.attention_head_size = HIDDEN // HEADS
            self.all_head_size = HIDDEN
            self.query = nn.Linear(HIDDEN, HIDDEN)
            self.key = nn.Linear(HIDDEN, HIDDEN)
            self.value = nn.Linear(HIDDEN, HIDDEN)
            self.dense = nn.Linear(HIDDEN, HIDDEN)
            self.LayerNorm = nn.LayerNorm(HIDDEN, eps=1e-12)

        def transpose_for_scores(self, x: Any) -> Any:
            new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
            return x.view(new_x_shape).permute(0, 2, 1, 3)

        def forward(self, hidden_states: Any, attention_mask: Any) -> Any:
            batch_size, seq_len, _ = hidden_states.size()
            query_layer = self.transpose_for_scores(self.query(hidden_states))
            key_layer = self.transpose_for_scores(self.key(hidden_states))
            value_layer = self.transpose_for_scores(self.value(hidden_states))
            attention_output = F.scaled_dot_product_attention(
                query=query_layer,
                key=key_layer,
                value=value_layer,
                attn_mask=attention_mask,
                dropout_p=0.0,
                is_causal=False,
            )
            attention_output = attention_output.transpose(1, 2)
            attention_output = attention_output.reshape(batch_size, seq_len, self.all_head_size)
            projected_context_layer = self.dense(attention_output)
            return self.LayerNorm(hidden_states + projected_context_layer)

    class AlbertLayer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attention = AlbertSdpaAttention()
            self.ffn = nn.Linear(HIDDEN, 2 * HIDDEN)
            self.ffn_output = nn.Linear(2 * HIDDEN, HIDDEN)
            self.full_layer_layer_norm = nn.LayerNorm(HIDDEN, eps=1e-12)

        def forward(self, hidden_states: Any, attention_mask: Any) -> Any:
            attention_output = self.attention(hidden_states, attention_mask)
            ffn_output = self.ffn_output(gelu_new(self.ffn(attention_output)))
            return self.full_layer_layer_norm(ffn_output + attention_output)

    class AlbertLayerGroup(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.albert_layers = nn.ModuleList([AlbertLayer() for _ in range(1)])

        def forward(self, hidden_states: Any, attention_mask: Any) -> Any:
            for albert_layer in self.albert_layers:
                hidden_states = albert_layer(hidden_states, attention_mask)
            return hidden_states

    class AlbertTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding_hidden_mapping_in = nn.Linear(EMB, HIDDEN)
            self.albert_layer_groups = nn.ModuleList([AlbertLayerGroup() for _ in range(GROUPS)])

        def forward(self, hidden_states: Any, attention_mask: Any) -> Any:
            hidden_states = self.embedding_hidden_mapping_in(hidden_states)
            for i in range(LAYERS):
                # Index of the hidden group
                group_idx = int(i / (LAYERS / GROUPS))
                hidden_states = self.albert_layer_groups[group_idx](hidden_states, attention_mask)
            return hidden_states

    class AlbertForPreTraining(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = AlbertEmbeddings()
            self.encoder = AlbertTransformer()
            self.pooler = nn.Linear(HIDDEN, HIDDEN)
            self.pooler_activation = nn.Tanh()
            # AlbertMLMHead
            self.mlm_dense = nn.Linear(HIDDEN, EMB)
            self.mlm_LayerNorm = nn.LayerNorm(EMB, eps=1e-12)
            self.decoder = nn.Linear(EMB, VOCAB)
            self.decoder.weight = self.embeddings.word_embeddings.weight  # tie_weights
            # AlbertSOPHead
            self.sop_classifier = nn.Linear(HIDDEN, 2)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            extended_attention_mask = attention_mask.unsqueeze(1).unsqueeze(2)
            dtype = self.embeddings.word_embeddings.weight.dtype
            extended_attention_mask = extended_attention_mask.to(dtype=dtype)
            extended_attention_mask = (1.0 - extended_attention_mask) * torch.finfo(dtype).min
            embedding_output = self.embeddings(input_ids, token_type_ids=token_type_ids)
            sequence_output = self.encoder(embedding_output, extended_attention_mask)
            pooled_output = self.pooler_activation(self.pooler(sequence_output[:, 0]))
            hidden = self.mlm_LayerNorm(gelu_new(self.mlm_dense(sequence_output)))
            prediction_scores = self.decoder(hidden)
            sop_scores = self.sop_classifier(pooled_output)
            return prediction_scores, sop_scores

    return AlbertForPreTraining()


def _batch(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """SOP pairs: [CLS] a [SEP] b [SEP], segments swapped (label 1) half the time, 20% MLM."""
    ids = np.zeros((n, SEQ), dtype=np.int64)
    types = np.zeros((n, SEQ), dtype=np.int64)
    attn = np.zeros((n, SEQ), dtype=np.int64)
    sop = np.zeros(n, dtype=np.int64)
    for i in range(n):
        la, lb = int(rng.integers(2, 4)), int(rng.integers(2, 4))
        a = 4 + (np.arange(la) + i) % 10
        b = 14 + (np.arange(lb) + i) % 10
        if rng.random() < 0.5:
            a, b, sop[i] = b, a, 1
        seq = np.concatenate([[CLS], a, [SEP], b, [SEP]])
        ids[i, : len(seq)] = seq
        types[i, la + 2 : len(seq)] = 1
        attn[i, : len(seq)] = 1
    chosen = (rng.random(ids.shape) < 0.2) & (ids > SEP)
    chosen[:, 1] = True
    labels = np.where(chosen, ids, -100)
    ids = np.where(chosen, MASK, ids)
    return ids, types, attn, labels, sop


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(350)
    model = make_model(torch_like)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    values: list[float] = [float("position_ids" in model.state_dict())]
    values.append(float(model.decoder.weight is model.embeddings.word_embeddings.weight))
    values.append(float(len(list(model.parameters()))))
    num_training_steps, num_warmup_steps = 5, 2

    def lr_lambda(current_step: int) -> float:
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        return max(
            0.0,
            float(num_training_steps - current_step)
            / float(max(1, num_training_steps - num_warmup_steps)),
        )

    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, eps=1e-6, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, -1)
    loss_fct = nn.CrossEntropyLoss()
    model.train()
    for _step in range(num_training_steps):
        ids, types, attn, labels, sop = (torch.tensor(a) for a in _batch(rng, 4))
        prediction_scores, sop_scores = model(ids, attn, types)
        masked_lm_loss = loss_fct(prediction_scores.view(-1, VOCAB), labels.view(-1))
        sentence_order_loss = loss_fct(sop_scores.view(-1, 2), sop.view(-1))
        total_loss = masked_lm_loss + sentence_order_loss
        total_loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        values.extend([total_loss.item(), sentence_order_loss.item(), norm.item()])
    model.eval()
    with torch.no_grad():
        ids, types, attn, labels, sop = (torch.tensor(a) for a in _batch(rng, 4))
        _, sop_scores = model(ids, attn, types)
        values.append((sop_scores.argmax(-1) == sop).float().mean().item())
    return values
