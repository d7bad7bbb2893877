"""Sentence embeddings trained with in-batch negatives, as sentence-transformers writes them
(``models/Pooling.py``, ``util.cos_sim`` / ``util.semantic_search``,
``losses/MultipleNegativesRankingLoss.py``, ``losses/CosineSimilarityLoss.py`` and the
``SentenceTransformer.fit`` loop), size-reduced to a two-layer Transformer encoder.

The idioms: an encoder of ``nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward,
dropout=0.0, batch_first=True)`` in an ``nn.TransformerEncoder`` called with
``src_key_padding_mask=(attention_mask == 0)``; mean pooling ``input_mask_expanded =
attention_mask.unsqueeze(-1).expand(token_embeddings.size()).float()`` and
``torch.sum(token_embeddings * input_mask_expanded, 1) / torch.clamp(
input_mask_expanded.sum(1), min=1e-9)``; CLS pooling ``token_embeddings[:, 0]``; max pooling
with ``token_embeddings[input_mask_expanded == 0] = -1e9`` then ``torch.max(token_embeddings,
1)[0]``; ``torch.nn.functional.normalize(embeddings, p=2, dim=1)``; ``cos_sim`` turning lists
into tensors with ``torch.tensor``, unsqueezing 1-D inputs and computing ``torch.mm(a_norm,
b_norm.transpose(0, 1))``; MultipleNegativesRankingLoss ``scores = self.similarity_fct(
embeddings_a, embeddings_b) * self.scale``, ``labels = torch.tensor(range(len(scores)),
dtype=torch.long, device=scores.device)`` and ``nn.CrossEntropyLoss()``; CosineSimilarityLoss
``torch.cosine_similarity(embeddings[0], embeddings[1])`` with ``nn.MSELoss()`` on
``labels.view(-1)``; ``semantic_search``'s ``torch.topk(cos_scores, min(top_k,
len(cos_scores[0])), dim=1, largest=True, sorted=False)`` followed by ``.cpu().tolist()`` and
a Python sort; and the fit loop's ``AdamW`` with grouped weight decay (``no_decay = ['bias',
'LayerNorm.bias', 'LayerNorm.weight']``), the ``WarmupLinear`` schedule as a ``LambdaLR``,
``torch.nn.utils.clip_grad_norm_`` and ``scheduler.step()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, HEADS, FF, SEQ, BATCH, STEPS, WARMUP, SCALE, TOP_K = 20, 8, 2, 16, 6, 4, 4, 2, 20.0, 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class TinyEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word_embeddings = nn.Embedding(VOCAB, DIM, padding_idx=0)
            self.position_embeddings = nn.Embedding(SEQ, DIM)
            self.LayerNorm = nn.LayerNorm(DIM, eps=1e-12)
            layer = nn.TransformerEncoderLayer(
                DIM, HEADS, dim_feedforward=FF, dropout=0.0, batch_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)

        def forward(self, input_ids: Any, attention_mask: Any) -> dict:
            positions = self.position_embeddings.weight[: input_ids.shape[1]].unsqueeze(0)
            x = self.LayerNorm(self.word_embeddings(input_ids) + positions)
            x = self.encoder(x, src_key_padding_mask=(attention_mask == 0))
            return {"token_embeddings": x, "attention_mask": attention_mask}

    return TinyEncoder()


def pooling(torch_like: Any, features: dict, mode: str) -> Any:
    torch = torch_like
    token_embeddings = features["token_embeddings"]
    attention_mask = features["attention_mask"]
    if mode == "cls":
        return token_embeddings[:, 0]
    input_mask_expanded = attention_mask.unsqueeze(-1).expand(token_embeddings.size()).float()
    if mode == "max":
        token_embeddings = token_embeddings.clone()
        token_embeddings[input_mask_expanded == 0] = -1e9  # set padding tokens to large negative
        return torch.max(token_embeddings, 1)[0]
    sum_embeddings = torch.sum(token_embeddings * input_mask_expanded, 1)
    sum_mask = input_mask_expanded.sum(1)
    sum_mask = torch.clamp(sum_mask, min=1e-9)
    return sum_embeddings / sum_mask


def cos_sim(torch_like: Any, a: Any, b: Any) -> Any:
    torch = torch_like
    if not isinstance(a, torch.Tensor):
        a = torch.tensor(a)
    if not isinstance(b, torch.Tensor):
        b = torch.tensor(b)
    if len(a.shape) == 1:
        a = a.unsqueeze(0)
    if len(b.shape) == 1:
        b = b.unsqueeze(0)
    a_norm = torch.nn.functional.normalize(a, p=2, dim=1)
    b_norm = torch.nn.functional.normalize(b, p=2, dim=1)
    return torch.mm(a_norm, b_norm.transpose(0, 1))


def semantic_search(torch_like: Any, query_embeddings: Any, corpus_embeddings: Any) -> list:
    torch = torch_like
    cos_scores = cos_sim(torch_like, query_embeddings, corpus_embeddings)
    cos_scores_top_k_values, cos_scores_top_k_idx = torch.topk(
        cos_scores, min(TOP_K, len(cos_scores[0])), dim=1, largest=True, sorted=False
    )
    cos_scores_top_k_values = cos_scores_top_k_values.cpu().tolist()
    cos_scores_top_k_idx = cos_scores_top_k_idx.cpu().tolist()
    queries_result_list = []
    for query_itr in range(len(cos_scores)):
        hits = [
            {"corpus_id": corpus_id, "score": score}
            for corpus_id, score in zip(
                cos_scores_top_k_idx[query_itr], cos_scores_top_k_values[query_itr], strict=True
            )
        ]
        queries_result_list.append(sorted(hits, key=lambda x: x["score"], reverse=True))
    return queries_result_list


def make_sentences(torch_like: Any, rng: np.random.Generator, n: int) -> tuple[Any, Any]:
    lengths = rng.integers(2, SEQ + 1, n)
    ids = np.zeros((n, SEQ), dtype=np.int64)
    for i, length in enumerate(lengths):
        ids[i, :length] = rng.integers(1, VOCAB, length)
    ids[:, 0] = 1  # [CLS]
    return as_tensor(torch_like, ids), as_tensor(torch_like, (ids != 0).astype(np.int64))


def warmup_linear(warmup_steps: int, t_total: int) -> Any:
    def lr_lambda(current_step: int) -> float:
        if current_step < warmup_steps:
            return float(current_step) / float(max(1, warmup_steps))
        return max(0.0, float(t_total - current_step) / float(max(1, t_total - warmup_steps)))

    return lr_lambda


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    rng = np.random.default_rng(3)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)

    def encode(ids: Any, mask: Any, mode: str = "mean") -> Any:
        return pooling(torch_like, model(ids, mask), mode)

    param_optimizer = list(model.named_parameters())
    no_decay = ["bias", "LayerNorm.bias", "LayerNorm.weight"]
    optimizer_grouped_parameters = [
        {
            "params": [p for n, p in param_optimizer if not any(nd in n for nd in no_decay)],
            "weight_decay": 0.01,
        },
        {
            "params": [p for n, p in param_optimizer if any(nd in n for nd in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=2e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_linear(WARMUP, 2 * STEPS))
    cross_entropy = nn.CrossEntropyLoss()
    mse = nn.MSELoss()
    values: list[float] = [float(len(optimizer_grouped_parameters[1]["params"]))]
    for step in range(STEPS):
        anchors = make_sentences(torch_like, rng, BATCH)
        positives = make_sentences(torch_like, rng, BATCH)
        model.train()
        optimizer.zero_grad()
        embeddings_a = encode(*anchors)
        embeddings_b = encode(*positives, mode="cls" if step % 2 else "mean")
        scores = cos_sim(torch_like, embeddings_a, embeddings_b) * SCALE
        labels = torch.tensor(range(len(scores)), dtype=torch.long, device=scores.device)
        loss = cross_entropy(scores, labels)
        # CosineSimilarityLoss on the max-pooled pair with gold similarity labels
        gold = as_tensor(torch_like, rng.uniform(0, 1, BATCH))
        output = torch.cosine_similarity(encode(*anchors, "max"), encode(*positives, "max"))
        loss = loss + mse(output, gold.view(-1))
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        values += [loss.item(), grad_norm.item(), *scheduler.get_last_lr()]
        values += [optimizer.param_groups[0]["lr"]]

    model.eval()
    with torch.no_grad():
        corpus = encode(*make_sentences(torch_like, rng, 7))
        corpus = torch.nn.functional.normalize(corpus, p=2, dim=1)
        queries = encode(*make_sentences(torch_like, rng, 2))
    for hits in semantic_search(torch_like, queries, corpus):
        for hit in hits:
            values += [float(hit["corpus_id"]), hit["score"]]
    single = cos_sim(torch_like, queries[0], corpus.tolist())
    values += list(single.shape) + single.flatten().tolist()
    values += [float(corpus.norm(dim=1).sub(1).abs().max() < 1e-12)]
    return values
