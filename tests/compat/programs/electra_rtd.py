"""ELECTRA pre-training (Clark et al.; the ``electra-pytorch`` re-implementation and Hugging Face's
``DataCollatorForLanguageModeling`` masking), size-reduced: a small generator fills masked
tokens, a discriminator tells replaced tokens from original ones.

The idioms: the collator's ``probability_matrix = torch.full(labels.shape, mlm_probability)``,
``special_tokens_mask`` built with ``torch.isin`` and applied by ``probability_matrix
.masked_fill_(special_tokens_mask, value=0.0)``, ``masked_indices = torch.bernoulli(
probability_matrix).bool()`` (its draws checked for never touching a special token and for
reproducibility under a seeded ``torch.Generator``; the compared run masks by NumPy uniforms
below the same matrix), ``labels[~masked_indices] = -100`` and the 80/10/10 split
(``inputs[indices_replaced] = mask_token_id``, ``torch.randint``-style random words from NumPy
here); shared token embeddings (``self.discriminator.embeddings.word_embeddings =
self.generator.embeddings.word_embeddings``) with a generator-side ``embeddings_project``
and an output layer tied to them; the generator's MLM ``F.cross_entropy(logits.transpose(1, 2),
labels, ignore_index=-100)``; replacements sampled under ``torch.no_grad()`` by Gumbel-argmax
(``torch.log(t + eps)``, ``-log(-log(noise))``, ``((t / temperature) +
gumbel_noise(t)).argmax(dim=-1)``) at ``logits[mask_indices]``, with ``torch.multinomial`` of
the softmax checked to stay in the vocabulary; ``disc_input = input.clone()``,
``disc_input[mask_indices] = sampled.detach()``, ``disc_labels = (input != disc_input)
.float().detach()``, ``torch.nonzero(input != pad_token_id, as_tuple=True)`` and
``F.binary_cross_entropy_with_logits(disc_logits[non_padded_indices],
disc_labels[non_padded_indices])``; the summed ``mlm_weight * mlm_loss + disc_weight *
disc_loss``, accuracy metrics under ``no_grad`` and AdamW steps on the union of both models'
parameters (the shared embedding counted once).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

DTYPE = "float32"  # ELECTRA trains in float32; ``disc_labels.float()`` makes the loss float32

VOCAB, EMB, GEN_DIM, DISC_DIM, HEADS, BATCH, SEQ, STEPS = 24, 16, 8, 16, 2, 3, 9, 2
PAD, CLS, SEP, MASK = 0, 1, 2, 3
MLM_PROB, MLM_WEIGHT, DISC_WEIGHT, TEMPERATURE = 0.3, 1.0, 50.0, 1.0


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn

    class Embeddings(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word_embeddings = nn.Embedding(VOCAB, EMB, padding_idx=PAD)
            self.position_embeddings = nn.Embedding(SEQ, EMB)
            self.LayerNorm = nn.LayerNorm(EMB, eps=1e-12)

        def forward(self, input_ids: Any) -> Any:
            position_ids = torch.arange(input_ids.size(1), device=input_ids.device).unsqueeze(0)
            emb = self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
            return self.LayerNorm(emb)

    class Encoder(nn.Module):
        def __init__(self, dim: int, project: bool) -> None:
            super().__init__()
            self.embeddings = Embeddings()
            self.embeddings_project = nn.Linear(EMB, dim) if project else nn.Identity()
            self.layer = nn.TransformerEncoderLayer(
                dim, HEADS, dim_feedforward=2 * dim, dropout=0.0, batch_first=True
            )

        def forward(self, input_ids: Any) -> Any:
            hidden = self.embeddings_project(self.embeddings(input_ids))
            return self.layer(hidden, src_key_padding_mask=input_ids == PAD)

    class Generator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.electra = Encoder(GEN_DIM, project=True)
            self.generator_predictions = nn.Sequential(
                nn.Linear(GEN_DIM, EMB), nn.GELU(), nn.LayerNorm(EMB)
            )
            self.generator_lm_head = nn.Linear(EMB, VOCAB)

        def forward(self, input_ids: Any) -> Any:
            return self.generator_lm_head(self.generator_predictions(self.electra(input_ids)))

    class Discriminator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.electra = Encoder(DISC_DIM, project=False)
            self.dense = nn.Linear(DISC_DIM, DISC_DIM)
            self.dense_prediction = nn.Linear(DISC_DIM, 1)

        def forward(self, input_ids: Any) -> Any:
            hidden = nn.functional.gelu(self.dense(self.electra(input_ids)))
            return self.dense_prediction(hidden).squeeze(-1)

    class Electra(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.generator = Generator()
            self.discriminator = Discriminator()
            # tie the token embeddings, and the generator's output layer to them
            word_embeddings = self.generator.electra.embeddings.word_embeddings
            self.discriminator.electra.embeddings.word_embeddings = word_embeddings
            self.generator.generator_lm_head.weight = word_embeddings.weight

    return Electra()


def mask_tokens(
    torch_like: Any, inputs: Any, rng: np.random.Generator
) -> tuple[Any, Any, Any, list[float]]:
    torch = torch_like
    labels = inputs.clone()
    probability_matrix = torch.full(labels.shape, MLM_PROB)
    special_tokens_mask = torch.isin(inputs, torch.tensor([PAD, CLS, SEP]))
    probability_matrix.masked_fill_(special_tokens_mask, value=0.0)
    # the collator's own draw: never a special token, and reproducible with a seeded generator
    g = torch.Generator().manual_seed(42)
    drawn = torch.bernoulli(probability_matrix, generator=g).bool()
    again = torch.bernoulli(probability_matrix, generator=torch.Generator().manual_seed(42))
    checks = [
        float(not (drawn & special_tokens_mask).any()),
        float(torch.equal(drawn, again.bool())),
    ]

    u = as_tensor(torch, rng.random(labels.shape))
    masked_indices = u < probability_matrix
    masked_indices[0, 1] = True  # at least one masked token
    labels[~masked_indices] = -100
    split = as_tensor(torch, rng.random(labels.shape))
    indices_replaced = (split < 0.8) & masked_indices
    inputs = inputs.clone()
    inputs[indices_replaced] = MASK
    indices_random = (split >= 0.9) & masked_indices
    random_words = as_tensor(torch, rng.integers(4, VOCAB, labels.shape))
    inputs[indices_random] = random_words[indices_random]
    return inputs, labels, masked_indices, checks


def log(torch_like: Any, t: Any, eps: float = 1e-9) -> Any:
    return torch_like.log(t + eps)


def gumbel_noise(torch_like: Any, uniform: Any) -> Any:
    return -log(torch_like, -log(torch_like, uniform))


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(17)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    shared = model.generator.electra.embeddings.word_embeddings
    assert model.discriminator.electra.embeddings.word_embeddings is shared
    n_params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)

    lengths = [SEQ, SEQ - 2, SEQ - 3]
    rows = [
        [CLS, *rng.integers(4, VOCAB, n - 2).tolist(), SEP] + [PAD] * (SEQ - n) for n in lengths
    ]
    original = as_tensor(torch, np.array(rows))
    values: list[float] = [float(n_params)]
    checks: list[float] = []
    for _step in range(STEPS):
        masked_input, gen_labels, mask_indices, draw_checks = mask_tokens(torch, original, rng)
        checks += draw_checks
        logits = model.generator(masked_input)
        mlm_loss = F.cross_entropy(logits.transpose(1, 2), gen_labels, ignore_index=-100)

        sample_logits = logits[mask_indices]
        with torch.no_grad():
            uniform = as_tensor(torch, rng.random(sample_logits.shape))
            sampled = ((sample_logits / TEMPERATURE) + gumbel_noise(torch, uniform)).argmax(dim=-1)
            drawn = torch.multinomial(F.softmax(sample_logits, dim=-1), 1).squeeze(-1)
            checks.append(float(((drawn >= 0) & (drawn < VOCAB)).all()))
        disc_input = original.clone()
        disc_input[mask_indices] = sampled.detach()
        disc_labels = (original != disc_input).float().detach()
        disc_logits = model.discriminator(disc_input)
        non_padded_indices = torch.nonzero(original != PAD, as_tuple=True)
        disc_loss = F.binary_cross_entropy_with_logits(
            disc_logits[non_padded_indices], disc_labels[non_padded_indices]
        )
        loss = MLM_WEIGHT * mlm_loss + DISC_WEIGHT * disc_loss

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        with torch.no_grad():
            gen_predictions = torch.argmax(logits, dim=-1)
            disc_predictions = torch.round((torch.sign(disc_logits) + 1.0) * 0.5)
            gen_acc = (gen_labels[mask_indices] == gen_predictions[mask_indices]).float().mean()
            disc_acc = disc_labels[non_padded_indices] == disc_predictions[non_padded_indices]
            disc_acc = disc_acc.float().mean()
        values += [loss.item(), mlm_loss.item(), disc_loss.item(), gen_acc.item(), disc_acc.item()]
        values += sampled.tolist() + [disc_labels.sum().item(), float(mask_indices.sum())]
    values += shared.weight[PAD].tolist() + shared.weight[MASK].tolist()[:4]
    return values + checks


def check(values: list[float]) -> None:
    assert all(v == 1.0 for v in values[-3 * STEPS :])  # the draws' properties
