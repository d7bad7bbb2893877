"""sentence-transformers' ranking losses beyond MNRL: ``CoSENTLoss``, ``AnglELoss``,
``CachedMultipleNegativesRankingLoss`` (GradCache) and ``MatryoshkaLoss``, as
``sentence_transformers/losses/CoSENTLoss.py``, ``AnglELoss.py``,
``CachedMultipleNegativesRankingLoss.py``, ``MatryoshkaLoss.py`` and ``util.py``
(``pairwise_cos_sim``, ``pairwise_angle_sim``, ``normalize_embeddings``) write them,
size-reduced to a one-layer BERT encoder with dropout (transformers' ``BertSelfAttention``
idioms: ``transpose_for_scores``, the extended mask ``(1.0 - mask) * torch.finfo(dtype).min``,
dropout on the attention probabilities and on both residual branches).

The idioms: CoSENT (``scores = scores * self.scale``, ``scores = scores[:, None] - scores[None,
:]``, ``labels = labels[:, None] < labels[None, :]``, ``labels.float()``, ``scores = scores -
(1 - labels) * 1e12``, ``torch.cat((torch.zeros(1).to(scores.device), scores.view(-1)),
dim=0)``, ``torch.logsumexp(scores, dim=0)``); ``pairwise_cos_sim``
(``(normalize_embeddings(a) * normalize_embeddings(b)).sum(dim=-1)``); ``pairwise_angle_sim``
(``torch.chunk(x, 2, dim=1)``, ``z = torch.sum(c**2 + d**2, dim=1, keepdim=True)``, the complex
division ``re = (a * c + b * d) / z``, ``dz = torch.sum(a**2 + b**2, dim=1, keepdim=True)**0.5``,
``re /= dz / dw``, ``torch.sum(torch.concat((re, im), dim=1), dim=1)``, ``torch.abs``);
GradCache's ``RandContext`` (``torch.get_rng_state()`` captured before the no-grad embedding
pass, ``torch.random.fork_rng(devices=[])`` and ``torch.set_rng_state`` to replay dropout
in the second pass), ``embed_minibatch`` under ``torch.no_grad()`` then ``reps.detach().
requires_grad_()``, ``calculate_loss_and_cache_gradients`` (``torch.cat(reps[0])``,
``scores = self.similarity_fct(embeddings_a[b:e], embeddings_b) * self.scale``,
``torch.arange(b, e)`` labels, ``loss_mbatch.backward()`` accumulated over mini-batches,
``[[r.grad for r in rs] for rs in reps]``), the surrogate ``torch.dot(reps_mb.flatten(),
grad_mb.flatten())`` and ``surrogate.backward()`` of ``_backward_hook``, ``sum(losses)
.requires_grad_()``; MatryoshkaLoss (``embeddings[..., :dim]`` for ``matryoshka_dims``
weighted by ``matryoshka_weights``, ``torch.nn.functional.normalize``); mean pooling with
``torch.clamp(sum_mask, min=1e-9)``; AdamW with ``get_linear_schedule_with_warmup`` as a
``LambdaLR``.

Changed: a BERT -> one BERT layer of width 8 (dropout 0.1 kept, so the RNG replay matters),
STS pairs with random 0-5 scores and random token ids, mini_batch_size 2 for batches of 4; 2
steps per loss; the cached loss's ``_backward_hook`` (registered on the loss) is called
directly after the first pass.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, SEQ, BATCH, MINI = 20, 8, 5, 4, 2


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class BertLayer(nn.Module):
        """transformers' BertSelfAttention + BertSelfOutput + BertIntermediate + BertOutput."""

        def __init__(self, hidden_size: int, num_attention_heads: int, dropout: float) -> None:
            super().__init__()
            self.num_attention_heads = num_attention_heads
            self.attention_head_size = hidden_size // num_attention_heads
            self.all_head_size = self.num_attention_heads * self.attention_head_size
            self.query = nn.Linear(hidden_size, self.all_head_size)
            self.key = nn.Linear(hidden_size, self.all_head_size)
            self.value = nn.Linear(hidden_size, self.all_head_size)
            self.attn_dropout = nn.Dropout(dropout)
            self.attn_out = nn.Linear(hidden_size, hidden_size)
            self.attn_norm = nn.LayerNorm(hidden_size, eps=1e-12)
            self.intermediate = nn.Linear(hidden_size, 2 * hidden_size)
            self.output = nn.Linear(2 * hidden_size, hidden_size)
            self.out_norm = nn.LayerNorm(hidden_size, eps=1e-12)
            self.dropout = nn.Dropout(dropout)

        def transpose_for_scores(self, x: Any) -> Any:
            new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
            x = x.view(new_x_shape)
            return x.permute(0, 2, 1, 3)

        def forward(self, hidden_states: Any, extended_attention_mask: Any) -> Any:
            query_layer = self.transpose_for_scores(self.query(hidden_states))
            key_layer = self.transpose_for_scores(self.key(hidden_states))
            value_layer = self.transpose_for_scores(self.value(hidden_states))
            attention_scores = torch.matmul(query_layer, key_layer.transpose(-1, -2))
            attention_scores = attention_scores / math.sqrt(self.attention_head_size)
            attention_scores = attention_scores + extended_attention_mask
            attention_probs = nn.functional.softmax(attention_scores, dim=-1)
            attention_probs = self.attn_dropout(attention_probs)
            context_layer = torch.matmul(attention_probs, value_layer)
            context_layer = context_layer.permute(0, 2, 1, 3).contiguous()
            new_context_layer_shape = context_layer.size()[:-2] + (self.all_head_size,)
            context_layer = context_layer.view(new_context_layer_shape)
            attention_output = self.dropout(self.attn_out(context_layer))
            attention_output = self.attn_norm(attention_output + hidden_states)
            intermediate = nn.functional.gelu(self.intermediate(attention_output))
            layer_output = self.dropout(self.output(intermediate))
            return self.out_norm(layer_output + attention_output)

    class TinySentenceTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = nn.Embedding(VOCAB, DIM, padding_idx=0)
            self.encoder = BertLayer(DIM, 2, dropout=0.1)

        def forward(self, features: dict) -> dict:
            attention_mask = features["attention_mask"]
            extended_attention_mask = attention_mask[:, None, None, :].to(torch.get_default_dtype())
            extended_attention_mask = (1.0 - extended_attention_mask) * torch.finfo(
                torch.get_default_dtype()
            ).min
            token_embeddings = self.encoder(self.embeddings(features["input_ids"]),
                                            extended_attention_mask)  # fmt: skip
            input_mask_expanded = (
                attention_mask.unsqueeze(-1)
                .expand(token_embeddings.size())
                .to(token_embeddings.dtype)
            )
            sum_embeddings = torch.sum(token_embeddings * input_mask_expanded, 1)
            sum_mask = input_mask_expanded.sum(1)
            sum_mask = torch.clamp(sum_mask, min=1e-9)
            features["sentence_embedding"] = sum_embeddings / sum_mask
            return features

    return TinySentenceTransformer()


def _util(torch_like: Any) -> dict:
    torch = torch_like

    def normalize_embeddings(embeddings: Any) -> Any:
        return torch.nn.functional.normalize(embeddings, p=2, dim=1)

    def pairwise_cos_sim(a: Any, b: Any) -> Any:
        return (normalize_embeddings(a) * normalize_embeddings(b)).sum(dim=-1)

    def pairwise_angle_sim(x: Any, y: Any) -> Any:
        # modified from https://github.com/SeanLee97/AnglE/blob/main/angle_emb/angle.py
        # chunk both tensors to obtain complex components
        a, b = torch.chunk(x, 2, dim=1)
        c, d = torch.chunk(y, 2, dim=1)

        z = torch.sum(c**2 + d**2, dim=1, keepdim=True)
        re = (a * c + b * d) / z
        im = (b * c - a * d) / z

        dz = torch.sum(a**2 + b**2, dim=1, keepdim=True) ** 0.5
        dw = torch.sum(c**2 + d**2, dim=1, keepdim=True) ** 0.5
        re /= dz / dw
        im /= dz / dw

        norm_angle = torch.sum(torch.concat((re, im), dim=1), dim=1)
        return torch.abs(norm_angle)

    def cos_sim(a: Any, b: Any) -> Any:
        a_norm = torch.nn.functional.normalize(a, p=2, dim=1)
        b_norm = torch.nn.functional.normalize(b, p=2, dim=1)
        return torch.mm(a_norm, b_norm.transpose(0, 1))

    return {"pairwise_cos_sim": pairwise_cos_sim, "pairwise_angle_sim": pairwise_angle_sim,
            "cos_sim": cos_sim}  # fmt: skip


def _batch(rng: np.random.Generator, torch_like: Any) -> tuple[list[dict], Any]:
    features = []
    for _ in range(2):
        ids = rng.integers(1, VOCAB, (BATCH, SEQ))
        mask = np.ones_like(ids)
        for b, n in enumerate(rng.integers(2, SEQ + 1, BATCH)):
            ids[b, n:], mask[b, n:] = 0, 0
        features.append({"input_ids": as_tensor(torch_like, ids),
                         "attention_mask": as_tensor(torch_like, mask)})  # fmt: skip
    return features, as_tensor(torch_like, rng.integers(0, 6, BATCH).astype(np.float64))


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    util = _util(torch_like)
    torch.manual_seed(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    total, warmup = 8, 1

    def lr_lambda(current_step: int) -> float:
        if current_step < warmup:
            return float(current_step + 1) / float(max(1, warmup))
        return max(0.0, float(total - current_step) / float(max(1, total - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    rng = np.random.default_rng(17)
    values: list[float] = []

    def cosent(embeddings: list, labels: Any, similarity_fct: Any, scale: float) -> Any:
        scores = similarity_fct(embeddings[0], embeddings[1])
        scores = scores * scale
        scores = scores[:, None] - scores[None, :]

        # label matrix indicating which pairs are relevant
        labels = labels[:, None] < labels[None, :]
        labels = labels.float()

        # mask out irrelevant pairs so they are negligible after exp()
        scores = scores - (1 - labels) * 1e12

        # append a zero as e^0 = 1
        scores = torch.cat((torch.zeros(1).to(scores.device), scores.view(-1)), dim=0)
        loss = torch.logsumexp(scores, dim=0)
        return loss

    def matryoshka(embeddings: list, labels: Any, dims: list, weights: list) -> Any:
        loss = 0.0
        for dim, weight in zip(dims, weights):
            truncated = [e[..., :dim] for e in embeddings]
            loss += weight * cosent(truncated, labels, util["pairwise_cos_sim"], 20.0)
        return loss

    def step(loss: Any) -> None:
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        values.append(loss.item())

    model.train()
    for i in range(6):
        features, labels = _batch(rng, torch_like)
        embeddings = [model(f)["sentence_embedding"] for f in features]
        if i < 2:
            loss = cosent(embeddings, labels, util["pairwise_cos_sim"], 20.0)
        elif i < 4:
            loss = cosent(embeddings, labels, util["pairwise_angle_sim"], 20.0)  # AnglELoss
        else:
            loss = matryoshka(embeddings, labels, [8, 4, 2], [1, 1, 1])
        step(loss)

    class RandContext:
        """Random-state context manager class. Reference: https://github.com/luyug/GradCache."""

        def __init__(self, *tensors: Any) -> None:
            self.fwd_cpu_state = torch.get_rng_state()

        def __enter__(self) -> None:
            self._fork = torch.random.fork_rng(devices=[], enabled=True)
            self._fork.__enter__()
            torch.set_rng_state(self.fwd_cpu_state)

        def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
            self._fork.__exit__(exc_type, exc_val, exc_tb)
            self._fork = None

    def embed_minibatch(sentence_feature: dict, begin: int, end: int, with_grad: bool,
                        copy_random_state: bool, random_state: Any = None) -> tuple:  # fmt: skip
        grad_context = nullcontext if with_grad else torch.no_grad
        random_state_context = nullcontext() if random_state is None else random_state
        sentence_feature_minibatch = {k: v[begin:end] for k, v in sentence_feature.items()}
        with random_state_context:
            with grad_context():
                random_state = RandContext() if copy_random_state else None
                reps = model(sentence_feature_minibatch)["sentence_embedding"]
        return reps, random_state

    # CachedMultipleNegativesRankingLoss: two passes, the first without a graph
    for _ in range(2):
        features, _ = _batch(rng, torch_like)
        reps, random_states = [], []
        for sentence_feature in features:
            reps_mbs, random_state_mbs = [], []
            for b in range(0, BATCH, MINI):
                reps_mb, random_state = embed_minibatch(
                    sentence_feature, b, b + MINI, with_grad=False, copy_random_state=True
                )
                reps_mbs.append(reps_mb.detach().requires_grad_())
                random_state_mbs.append(random_state)
            reps.append(reps_mbs)
            random_states.append(random_state_mbs)

        embeddings_a = torch.cat(reps[0])  # (bsz, hdim)
        embeddings_b = torch.cat([torch.cat(r) for r in reps[1:]])  # ((1 + nneg) * bsz, hdim)
        batch_size = len(embeddings_a)
        labels = torch.tensor(range(batch_size), dtype=torch.long, device=embeddings_a.device)
        losses = []
        for b in range(0, batch_size, MINI):
            e = b + MINI
            scores = util["cos_sim"](embeddings_a[b:e], embeddings_b) * 20.0
            loss_mbatch = (
                torch.nn.functional.cross_entropy(scores, labels[b:e]) * len(scores) / batch_size
            )
            loss_mbatch.backward()
            losses.append(loss_mbatch.detach())
        loss = sum(losses).requires_grad_()
        cache = [[r.grad for r in rs] for rs in reps]

        optimizer.zero_grad()
        # _backward_hook: re-embed with the replayed random state, backprop the cached grads
        with torch.enable_grad():
            for sentence_feature, grad, random_states_ in zip(features, cache, random_states):
                for (b, grad_mb), random_state in zip(
                    zip(range(0, BATCH, MINI), grad), random_states_
                ):
                    reps_mb, _ = embed_minibatch(sentence_feature, b, b + MINI, with_grad=True,
                                                 copy_random_state=False,
                                                 random_state=random_state)  # fmt: skip
                    surrogate = torch.dot(reps_mb.flatten(), grad_mb.flatten()) * 1.0
                    surrogate.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        values += [loss.item(), float(grad_norm)]
    return values
