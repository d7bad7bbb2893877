"""Hugging Face ``transformers``' BERT (``modeling_bert.py``) fine-tuned on a GLUE-style sentence
pair task the way ``examples/pytorch/text-classification/run_glue_no_trainer.py`` does it,
size-reduced: ``BertEmbeddings`` (word, position and ``token_type`` embeddings summed, LayerNorm
with ``eps=1e-12``, the non-persistent ``register_buffer("position_ids", torch.arange(
max_position_embeddings).expand((1, -1)), persistent=False)`` and its zero ``token_type_ids``
twin, ``padding_idx=pad_token_id``); ``BertSelfAttention`` with ``transpose_for_scores``
(``x.size()[:-1] + (num_heads, head_size)``, ``view``, ``permute(0, 2, 1, 3)``), ``torch.matmul(
query, key.transpose(-1, -2)) / math.sqrt(head_size) + attention_mask``, softmax, ``context.
permute(0, 2, 1, 3).contiguous()`` and ``view(context.size()[:-2] + (all_head_size,))``; the
extended attention mask (``attention_mask[:, None, None, :].to(dtype=dtype)``, ``(1.0 -
extended) * torch.finfo(dtype).min``); ``BertSelfOutput`` / ``BertIntermediate`` (GELU) /
``BertOutput`` residual LayerNorms; ``BertEncoder``'s ``nn.ModuleList``; ``BertPooler``
(``self.activation(self.dense(hidden_states[:, 0]))`` with ``nn.Tanh``);
``BertForSequenceClassification`` (dropout, classifier, ``CrossEntropyLoss()(logits.view(-1,
num_labels), labels.view(-1))``); ``_init_weights`` (``module.weight.data.normal_(mean=0.0,
std=initializer_range)``, ``module.weight.data[module.padding_idx].zero_()``, LayerNorm
``fill_(1.0)``) applied through ``self.apply``; and the training loop: ``no_decay = ["bias",
"LayerNorm.weight"]`` parameter groups for ``torch.optim.AdamW``,
``get_linear_schedule_with_warmup`` as a ``LambdaLR``, ``loss / gradient_accumulation_steps``,
``clip_grad_norm_`` before
``optimizer.step(); lr_scheduler.step(); optimizer.zero_grad()``, and evaluation under
``torch.no_grad()`` with ``outputs.logits.argmax(dim=-1)`` accuracy.

Changed: ``bert-base-uncased`` is a 2-layer, hidden 16, 2-head BERT over a 12-token vocabulary
with the torch model's random weights (``initializer_range`` 0.02 -> 0.2, so that so small a
model learns in a few steps); the GLUE task is 16 NumPy sentence pairs ``[CLS] a [SEP]
b [SEP]`` padded to 10 whose label says whether the two sentences start with the same token;
dropout 0.1 -> 0.0 (random masks cannot agree between two frameworks); 2 epochs of 4 batches
of 4 with 2 accumulation steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

VOCAB, HIDDEN, LAYERS, HEADS, INTER, MAX_POS, TYPES, LABELS = 12, 16, 2, 2, 32, 16, 2, 2
PAD, CLS, SEP, SEQ, N = 0, 1, 2, 10, 16


class BertConfig:
    vocab_size = VOCAB
    hidden_size = HIDDEN
    num_hidden_layers = LAYERS
    num_attention_heads = HEADS
    intermediate_size = INTER
    hidden_act = "gelu"
    hidden_dropout_prob = 0.0
    attention_probs_dropout_prob = 0.0
    max_position_embeddings = MAX_POS
    type_vocab_size = TYPES
    initializer_range = 0.2
    layer_norm_eps = 1e-12
    pad_token_id = PAD
    num_labels = LABELS
    classifier_dropout = None


class SequenceClassifierOutput(dict):
    """A dict whose keys read as attributes too, like ``transformers.utils.ModelOutput``."""

    def __getattr__(self, name: str) -> Any:
        return self[name]


def _bert_class(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    ACT2FN = {"gelu": nn.GELU, "relu": nn.ReLU}

    class BertEmbeddings(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            self.word_embeddings = nn.Embedding(
                config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
            )
            self.position_embeddings = nn.Embedding(
                config.max_position_embeddings, config.hidden_size
            )
            self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
            self.dropout = nn.Dropout(config.hidden_dropout_prob)
            self.register_buffer(
                "position_ids",
                torch.arange(config.max_position_embeddings).expand((1, -1)),
                persistent=False,
            )
            self.register_buffer(
                "token_type_ids",
                torch.zeros(self.position_ids.size(), dtype=torch.long),
                persistent=False,
            )

        def forward(self, input_ids: Any, token_type_ids: Any = None) -> Any:
            input_shape = input_ids.size()
            seq_length = input_shape[1]
            position_ids = self.position_ids[:, 0:seq_length]
            if token_type_ids is None:
                buffered_token_type_ids = self.token_type_ids[:, :seq_length]
                token_type_ids = buffered_token_type_ids.expand(input_shape[0], seq_length)
            inputs_embeds = self.word_embeddings(input_ids)
            token_type_embeddings = self.token_type_embeddings(token_type_ids)
            embeddings = inputs_embeds + token_type_embeddings
            embeddings += self.position_embeddings(position_ids)
            embeddings = self.LayerNorm(embeddings)
            embeddings = self.dropout(embeddings)
            return embeddings

    class BertSelfAttention(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            self.num_attention_heads = config.num_attention_heads
            self.attention_head_size = int(config.hidden_size / config.num_attention_heads)
            self.all_head_size = self.num_attention_heads * self.attention_head_size
            self.query = nn.Linear(config.hidden_size, self.all_head_size)
            self.key = nn.Linear(config.hidden_size, self.all_head_size)
            self.value = nn.Linear(config.hidden_size, self.all_head_size)
            self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

        def transpose_for_scores(self, x: Any) -> Any:
            new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
            x = x.view(new_x_shape)
            return x.permute(0, 2, 1, 3)

        def forward(self, hidden_states: Any, attention_mask: Any = None) -> Any:
            query_layer = self.transpose_for_scores(self.query(hidden_states))
            key_layer = self.transpose_for_scores(self.key(hidden_states))
            value_layer = self.transpose_for_scores(self.value(hidden_states))
            attention_scores = torch.matmul(query_layer, key_layer.transpose(-1, -2))
            attention_scores = attention_scores / math.sqrt(self.attention_head_size)
            if attention_mask is not None:
                attention_scores = attention_scores + attention_mask
            attention_probs = nn.functional.softmax(attention_scores, dim=-1)
            attention_probs = self.dropout(attention_probs)
            context_layer = torch.matmul(attention_probs, value_layer)
            context_layer = context_layer.permute(0, 2, 1, 3).contiguous()
            new_context_layer_shape = context_layer.size()[:-2] + (self.all_head_size,)
            context_layer = context_layer.view(new_context_layer_shape)
            return context_layer

    class BertSelfOutput(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            self.dense = nn.Linear(config.hidden_size, config.hidden_size)
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
            self.dropout = nn.Dropout(config.hidden_dropout_prob)

        def forward(self, hidden_states: Any, input_tensor: Any) -> Any:
            hidden_states = self.dense(hidden_states)
            hidden_states = self.dropout(hidden_states)
            hidden_states = self.LayerNorm(hidden_states + input_tensor)
            return hidden_states

    class BertAttention(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            self.self = BertSelfAttention(config)
            self.output = BertSelfOutput(config)

        def forward(self, hidden_states: Any, attention_mask: Any = None) -> Any:
            self_outputs = self.self(hidden_states, attention_mask)
            return self.output(self_outputs, hidden_states)

    class BertIntermediate(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
            self.intermediate_act_fn = ACT2FN[config.hidden_act]()

        def forward(self, hidden_states: Any) -> Any:
            return self.intermediate_act_fn(self.dense(hidden_states))

    class BertOutput(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
            self.dropout = nn.Dropout(config.hidden_dropout_prob)

        def forward(self, hidden_states: Any, input_tensor: Any) -> Any:
            hidden_states = self.dense(hidden_states)
            hidden_states = self.dropout(hidden_states)
            hidden_states = self.LayerNorm(hidden_states + input_tensor)
            return hidden_states

    class BertLayer(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            self.attention = BertAttention(config)
            self.intermediate = BertIntermediate(config)
            self.output = BertOutput(config)

        def forward(self, hidden_states: Any, attention_mask: Any = None) -> Any:
            attention_output = self.attention(hidden_states, attention_mask)
            intermediate_output = self.intermediate(attention_output)
            return self.output(intermediate_output, attention_output)

    class BertEncoder(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

        def forward(self, hidden_states: Any, attention_mask: Any = None) -> Any:
            for layer_module in self.layer:
                hidden_states = layer_module(hidden_states, attention_mask)
            return hidden_states

    class BertPooler(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            self.dense = nn.Linear(config.hidden_size, config.hidden_size)
            self.activation = nn.Tanh()

        def forward(self, hidden_states: Any) -> Any:
            # We "pool" the model by simply taking the hidden state corresponding
            # to the first token.
            first_token_tensor = hidden_states[:, 0]
            pooled_output = self.dense(first_token_tensor)
            pooled_output = self.activation(pooled_output)
            return pooled_output

    class BertModel(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            self.config = config
            self.embeddings = BertEmbeddings(config)
            self.encoder = BertEncoder(config)
            self.pooler = BertPooler(config)

        @property
        def dtype(self) -> Any:
            return next(self.parameters()).dtype

        def get_extended_attention_mask(self, attention_mask: Any, dtype: Any = None) -> Any:
            dtype = dtype if dtype is not None else self.dtype
            extended_attention_mask = attention_mask[:, None, None, :]
            extended_attention_mask = extended_attention_mask.to(dtype=dtype)  # fp16 compat
            extended_attention_mask = (1.0 - extended_attention_mask) * torch.finfo(dtype).min
            return extended_attention_mask

        def forward(
            self, input_ids: Any, attention_mask: Any = None, token_type_ids: Any = None
        ) -> tuple[Any, Any]:
            if attention_mask is None:
                attention_mask = torch.ones(input_ids.size(), device=input_ids.device)
            extended_attention_mask = self.get_extended_attention_mask(attention_mask)
            embedding_output = self.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
            sequence_output = self.encoder(embedding_output, extended_attention_mask)
            pooled_output = self.pooler(sequence_output)
            return sequence_output, pooled_output

    class BertForSequenceClassification(nn.Module):
        def __init__(self, config: Any) -> None:
            super().__init__()
            self.num_labels = config.num_labels
            self.config = config
            self.bert = BertModel(config)
            classifier_dropout = (
                config.classifier_dropout
                if config.classifier_dropout is not None
                else config.hidden_dropout_prob
            )
            self.dropout = nn.Dropout(classifier_dropout)
            self.classifier = nn.Linear(config.hidden_size, config.num_labels)
            self.apply(self._init_weights)

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

        def forward(
            self,
            input_ids: Any = None,
            attention_mask: Any = None,
            token_type_ids: Any = None,
            labels: Any = None,
        ) -> SequenceClassifierOutput:
            _, pooled_output = self.bert(input_ids, attention_mask, token_type_ids)
            pooled_output = self.dropout(pooled_output)
            logits = self.classifier(pooled_output)
            loss = None
            if labels is not None:
                loss_fct = nn.CrossEntropyLoss()
                loss = loss_fct(logits.view(-1, self.num_labels), labels.view(-1))
            return SequenceClassifierOutput(loss=loss, logits=logits)

    return BertForSequenceClassification


def make_model(torch_like: Any) -> Any:
    return _bert_class(torch_like)(BertConfig())


def _glue_pairs() -> dict[str, np.ndarray]:
    """``[CLS] a [SEP] b [SEP]`` with token types 0/1, padded; label: same first token."""
    rng = np.random.default_rng(21)
    ids = np.full((N, SEQ), PAD, dtype=np.int64)
    types = np.zeros((N, SEQ), dtype=np.int64)
    mask = np.zeros((N, SEQ), dtype=np.int64)
    labels = rng.integers(0, 2, N)
    for i in range(N):
        la, lb = rng.integers(1, 4, 2)
        a = rng.integers(3, VOCAB, la)
        b = rng.integers(3, VOCAB, lb)
        b[0] = a[0] if labels[i] else 3 + (a[0] - 3 + 1) % (VOCAB - 3)
        seq = [CLS, *a, SEP, *b, SEP]
        ids[i, : len(seq)] = seq
        types[i, la + 2 : len(seq)] = 1
        mask[i, : len(seq)] = 1
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "labels": labels}


def get_linear_schedule_with_warmup(
    optimizer: Any, num_warmup_steps: int, num_training_steps: int, lambda_lr: Any
) -> Any:
    def lr_lambda(current_step: int) -> float:
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        return max(
            0.0,
            float(num_training_steps - current_step)
            / float(max(1, num_training_steps - num_warmup_steps)),
        )

    return lambda_lr(optimizer, lr_lambda, -1)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    if init is not None:
        missing = model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
        assert not missing.missing_keys and not missing.unexpected_keys
    data = {k: torch.from_numpy(v) for k, v in _glue_pairs().items()}
    batch_size, gradient_accumulation_steps, num_train_epochs = 4, 2, 2
    weight_decay, learning_rate = 0.01, 2e-2
    batches = [{k: v[i : i + batch_size] for k, v in data.items()} for i in range(0, N, batch_size)]
    num_update_steps_per_epoch = math.ceil(len(batches) / gradient_accumulation_steps)
    max_train_steps = num_train_epochs * num_update_steps_per_epoch

    no_decay = ["bias", "LayerNorm.weight"]
    optimizer_grouped_parameters = [
        {
            "params": [
                p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)
            ],
            "weight_decay": weight_decay,
        },
        {
            "params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=learning_rate)
    lr_scheduler = get_linear_schedule_with_warmup(
        optimizer,
        num_warmup_steps=1,
        num_training_steps=max_train_steps,
        lambda_lr=torch.optim.lr_scheduler.LambdaLR,
    )
    values = [float(len(g["params"])) for g in optimizer.param_groups]
    values.append(float(len(model.state_dict())))
    values.append(float("bert.embeddings.position_ids" in model.state_dict()))
    ext = model.bert.get_extended_attention_mask(data["attention_mask"][:2])
    values += [float(ext.dtype == model.bert.dtype), float(tuple(ext.shape) == (2, 1, 1, SEQ))]
    values.append(float((ext == torch.finfo(model.bert.dtype).min).sum().item()))

    completed_steps = 0
    for _epoch in range(num_train_epochs):
        model.train()
        total_loss = 0.0
        for step, batch in enumerate(batches):
            outputs = model(**batch)
            loss = outputs.loss
            total_loss += loss.detach().float()
            loss = loss / gradient_accumulation_steps
            loss.backward()
            if step % gradient_accumulation_steps == 0 or step == len(batches) - 1:
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad()
                completed_steps += 1
                values += [grad_norm.item(), lr_scheduler.get_last_lr()[0]]
            values.append(loss.item())

        model.eval()
        correct, seen = 0, 0
        for batch in batches:
            with torch.no_grad():
                outputs = model(**batch)
            predictions = outputs.logits.argmax(dim=-1)
            correct += (predictions == batch["labels"]).sum().item()
            seen += batch["labels"].numel()
        values += [total_loss.item() / len(batches), correct / seen, float(completed_steps)]

    with torch.no_grad():
        # BertModel with no attention mask and no token types: the buffers fill in
        seq, pooled = model.bert(data["input_ids"][:2])
        values += [seq.sum().item(), pooled.abs().max().item()]
        values.append(float(((pooled.abs() <= 1).all()).item()))
    return values
