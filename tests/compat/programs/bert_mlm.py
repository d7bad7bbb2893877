"""BERT-style masked language modelling, as Hugging Face's ``run_mlm`` loop and its many
minimal re-implementations write it: token + position embeddings, a pre-norm GELU
``nn.TransformerEncoder``, 15% of the tokens masked (80% ``[MASK]``, 10% random, 10% kept),
labels ``-100`` everywhere else, ``F.cross_entropy(..., ignore_index=-100, label_smoothing=0.1)``,
AdamW with two parameter groups (no weight decay on biases and LayerNorm weights, picked by
name), a linear warm-up/decay ``LambdaLR``, gradient accumulation over two micro-batches and
``clip_grad_norm_``.

The masking decisions come from NumPy and enter as index arrays, so both frameworks mask the
same positions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

VOCAB, D_MODEL, SEQ, N_HEAD = 20, 16, 8, 4
PAD, MASK = 0, 1  # special token ids; ordinary tokens are 2..VOCAB-1
ACCUM_STEPS, N_UPDATES, WARMUP = 2, 3, 1
MLM_PROBABILITY = 0.15


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class BertMLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok_emb = nn.Embedding(VOCAB, D_MODEL, padding_idx=PAD)
            self.pos_emb = nn.Embedding(SEQ, D_MODEL)
            self.emb_norm = nn.LayerNorm(D_MODEL, eps=1e-12)
            layer = nn.TransformerEncoderLayer(
                d_model=D_MODEL,
                nhead=N_HEAD,
                dim_feedforward=4 * D_MODEL,
                dropout=0.0,  # no dropout: both frameworks must draw nothing at random
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            self.encoder = nn.TransformerEncoder(
                layer, num_layers=2, norm=nn.LayerNorm(D_MODEL), enable_nested_tensor=False
            )
            self.mlm_head = nn.Sequential(
                nn.Linear(D_MODEL, D_MODEL), nn.GELU(), nn.LayerNorm(D_MODEL)
            )
            self.decoder = nn.Linear(D_MODEL, VOCAB)
            self.decoder.weight = self.tok_emb.weight  # tied input/output embeddings
            self.apply(self._init_weights)

        @staticmethod
        def _init_weights(module: Any) -> None:
            if isinstance(module, nn.Linear):
                module.weight.data.normal_(mean=0.0, std=0.02)
                if module.bias is not None:
                    module.bias.data.zero_()
            elif isinstance(module, nn.Embedding):
                module.weight.data.normal_(mean=0.0, std=0.02)
                if module.padding_idx is not None:
                    module.weight.data[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                module.bias.data.zero_()
                module.weight.data.fill_(1.0)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            positions = torch_like.arange(input_ids.size(1), device=input_ids.device)
            h = self.tok_emb(input_ids) + self.pos_emb(positions)[None, :, :]
            h = self.emb_norm(h)
            h = self.encoder(h, src_key_padding_mask=attention_mask == 0)
            return self.decoder(self.mlm_head(h))

    return BertMLM()


def mask_tokens(torch_like: Any, inputs: Any, rng: np.random.Generator) -> tuple[Any, Any]:
    """Hugging Face's ``DataCollatorForLanguageModeling.torch_mask_tokens``, with its
    ``torch.bernoulli``/``torch.randint`` draws taken from NumPy: labels keep the chosen
    tokens and are -100 everywhere else; of the chosen, 80% become ``[MASK]``, 10% a random
    token, 10% stay."""
    labels = inputs.clone()
    probability_matrix = torch_like.full(labels.shape, MLM_PROBABILITY)
    special_tokens_mask = torch_like.tensor(
        [[tok == PAD for tok in row] for row in labels.tolist()], dtype=torch_like.bool
    )
    probability_matrix.masked_fill_(special_tokens_mask, value=0.0)
    masked_indices = torch_like.from_numpy(rng.random(labels.shape)) < probability_matrix
    masked_indices[:, 0] = True  # at least one masked token per row
    labels[~masked_indices] = -100

    draw = torch_like.from_numpy(rng.random(labels.shape))
    indices_replaced = (draw < 0.8) & masked_indices
    inputs[indices_replaced] = MASK
    draw = torch_like.from_numpy(rng.random(labels.shape))
    indices_random = (draw < 0.5) & masked_indices & ~indices_replaced
    random_words = torch_like.from_numpy(rng.integers(2, VOCAB, labels.shape))
    inputs[indices_random] = random_words[indices_random]
    return inputs, labels


def run(torch_like: Any, init: dict | None) -> list[float]:
    F = torch_like.nn.functional
    rng = np.random.default_rng(17)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)

    no_decay = ["bias", "LayerNorm.weight", "norm.weight", "norm1.weight", "norm2.weight"]
    grouped = [
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
    optimizer = torch_like.optim.AdamW(grouped, lr=5e-3, betas=(0.9, 0.999), eps=1e-6)

    def lr_lambda(current_step: int) -> float:
        if current_step < WARMUP:
            return float(current_step + 1) / float(max(1, WARMUP + 1))
        return max(0.0, float(N_UPDATES - current_step) / float(max(1, N_UPDATES - WARMUP)))

    scheduler = torch_like.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)

    model.train()
    values: list[float] = []
    optimizer.zero_grad()
    for step in range(N_UPDATES * ACCUM_STEPS):
        ids = rng.integers(2, VOCAB, (3, SEQ))
        ids[0, 6:] = PAD
        ids[2, 5:] = PAD
        input_ids = as_tensor(torch_like, ids)
        attention_mask = (input_ids != PAD).long()
        masked, labels = mask_tokens(torch_like, input_ids.clone(), rng)
        logits = model(masked, attention_mask)
        loss = F.cross_entropy(
            logits.view(-1, VOCAB), labels.view(-1), ignore_index=-100, label_smoothing=0.1
        )
        loss = loss / ACCUM_STEPS
        loss.backward()
        values.append(loss.item())
        if (step + 1) % ACCUM_STEPS == 0:
            total_norm = torch_like.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            values.append(float(total_norm))
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            values.append(scheduler.get_last_lr()[0])
    model.eval()
    with torch_like.no_grad():
        probe = as_tensor(torch_like, np.array([[2, MASK, 4, 5, MASK, 7, PAD, PAD]]))
        logits = model(probe, (probe != PAD).long())
        predictions = logits.argmax(dim=-1)[probe == MASK]
        values.extend(predictions.tolist())
        values.extend(logits[0, 1].softmax(-1)[:5].tolist())
    return values
