"""Dense retrieval two ways: ColBERT's late interaction (stanford-futuredata/ColBERT,
``colbert/modeling/colbert.py``: ``ColBERT.query`` / ``doc`` / ``score``, ``colbert_score``,
``colbert_score_reduce``, ``compute_ib_loss``; ``colbert/training/training.py``) and DPR's
bi-encoder with in-batch negatives (facebookresearch/DPR, ``dpr/models/biencoder.py``:
``BiEncoder.get_representation``, ``dot_product_scores``, ``cosine_scores``,
``BiEncoderNllLoss.calc``), size-reduced to shared tiny Transformer encoders.

The idioms: ColBERT's ``mask`` (``[[(x not in skiplist) and (x != 0) for x in d] for d in
input_ids.cpu().tolist()]``, ``torch.tensor(mask, device=self.device).unsqueeze(2).float()``),
``self.linear`` without bias, ``torch.nn.functional.normalize(Q, p=2, dim=2)``;
``Q.repeat_interleave(nway, dim=0).contiguous()``; ``colbert_score`` (``D_padded @
Q.to(dtype=D_padded.dtype).permute(0, 2, 1)``) and ``colbert_score_reduce`` (``D_padding =
~D_mask.view(scores_padded.size(0), scores_padded.size(1)).bool()``, ``scores_padded[D_padding]
= -9999``, ``scores_padded.max(1).values``, ``scores.sum(-1)``); the training step's
``scores.view(-1, config.nway)``, ``labels = torch.zeros(config.bsize, dtype=torch.long)``,
``nn.CrossEntropyLoss()(scores, labels[:scores.size(0)])``; ``compute_ib_loss`` (``(D.unsqueeze(0)
@ Q.permute(0, 2, 1).unsqueeze(1)).flatten(0, 1)``, ``D_mask.repeat(Q.size(0), 1, 1)``, the
``all_except_self_negatives`` index lists, ``scores[flatten(all_except_self_negatives)]``,
``torch.arange(0, Q.size(0)) * (nway)`` labels); DPR's ``get_representation`` (the
``[CLS]`` vector ``sequence_output[:, 0, :]``), ``dot_product_scores`` (``torch.matmul(q_vectors,
torch.transpose(ctx_vectors, 0, 1))``), ``cosine_scores`` (``F.cosine_similarity(q_vector,
ctx_vectors, dim=1)``), ``BiEncoderNllLoss.calc`` (``F.log_softmax(scores, dim=1)``,
``F.nll_loss(softmax_scores, torch.tensor(positive_idx_per_question).to(...),
reduction="mean")``, ``max_score, max_idxs = torch.max(softmax_scores, 1)``,
``(max_idxs == torch.tensor(positive_idx_per_question)...).sum()``), positives and hard negatives
laid out as ``ctx_vectors`` with ``positive_ctx_indices``; ``AdamW`` with a linear warmup
``LambdaLR`` and ``clip_grad_norm_``.

Changed: BERT-base -> one-layer ``nn.TransformerEncoder`` of width 8 (no dropout), dim 128 ->
4, nway 2 (a positive and a hard negative), batch 3, query/doc lengths 4/6, a 3-token skiplist
of "punctuation" ids; 2 ColBERT steps (plain and with in-batch negatives), 2 DPR steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, HID, DIM, NWAY, BSIZE, QLEN, DLEN = 16, 8, 4, 2, 3, 4, 6
SKIPLIST = [13, 14, 15]


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = nn.Embedding(VOCAB, HID, padding_idx=0)
            layer = nn.TransformerEncoderLayer(HID, 2, 16, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any]:
            h = self.encoder(self.embeddings(input_ids), src_key_padding_mask=attention_mask == 0)
            return (h,)

    class ColBERTAndDPR(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = Encoder()
            self.linear = nn.Linear(HID, DIM, bias=False)
            self.ctx_model = Encoder()

    return ColBERTAndDPR()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    device = "cpu"
    rng = np.random.default_rng(33)
    values: list[float] = []

    def mask(input_ids: Any, skiplist: list) -> list:
        mask = [[(x not in skiplist) and (x != 0) for x in d] for d in input_ids.cpu().tolist()]
        return mask

    def query(input_ids: Any, attention_mask: Any) -> Any:
        Q = model.bert(input_ids, attention_mask=attention_mask)[0]
        Q = model.linear(Q)
        mask_ = torch.tensor(mask(input_ids, skiplist=[]), device=device).unsqueeze(2).float()
        Q = Q * mask_
        return torch.nn.functional.normalize(Q, p=2, dim=2)

    def doc(input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
        D = model.bert(input_ids, attention_mask=attention_mask)[0]
        D = model.linear(D)
        mask_ = torch.tensor(mask(input_ids, skiplist=SKIPLIST), device=device).unsqueeze(2).float()
        D = D * mask_
        D = torch.nn.functional.normalize(D, p=2, dim=2)
        return D, mask_.bool()

    def colbert_score_reduce(scores_padded: Any, D_mask: Any) -> Any:
        D_padding = ~D_mask.view(scores_padded.size(0), scores_padded.size(1)).bool()
        scores_padded[D_padding] = -9999
        scores = scores_padded.max(1).values
        return scores.sum(-1)

    def colbert_score(Q: Any, D_padded: Any, D_mask: Any) -> Any:
        """
        Supply sizes Q = (1 | num_docs, *, dim) and D = (num_docs, *, dim).
        If Q.size(0) is 1, the matrix will be compared with all passages.
        Otherwise, each query matrix will be compared against the *aligned* passage.
        """
        assert Q.dim() == 3, Q.size()
        assert D_padded.dim() == 3, D_padded.size()
        assert Q.size(0) in [1, D_padded.size(0)]
        scores = D_padded @ Q.to(dtype=D_padded.dtype).permute(0, 2, 1)
        return colbert_score_reduce(scores, D_mask)

    def compute_ib_loss(Q: Any, D: Any, D_mask: Any) -> Any:
        # TODO: Organize the code below! Quite messy.
        scores = (D.unsqueeze(0) @ Q.permute(0, 2, 1).unsqueeze(1)).flatten(0, 1)  # query-major
        scores = colbert_score_reduce(scores, D_mask.repeat(Q.size(0), 1, 1))
        nway = NWAY
        all_except_self_negatives = [
            list(range(qidx * D.size(0), qidx * D.size(0) + nway * qidx + 1))
            + list(range(qidx * D.size(0) + nway * (qidx + 1), qidx * D.size(0) + D.size(0)))
            for qidx in range(Q.size(0))
        ]
        scores = scores[[x for y in all_except_self_negatives for x in y]]
        scores = scores.view(Q.size(0), -1)  # D.size(0) - self.colbert_config.nway + 1)
        labels = torch.arange(0, Q.size(0), device=scores.device) * (nway)
        return torch.nn.CrossEntropyLoss()(scores, labels)

    def tokens(n: int, length: int) -> tuple[Any, Any]:
        ids = rng.integers(1, VOCAB, (n, length))
        for row, keep in zip(ids, rng.integers(2, length + 1, n)):
            row[keep:] = 0
        return as_tensor(torch_like, ids), as_tensor(torch_like, (ids != 0).astype(np.int64))

    optimizer = torch.optim.AdamW(filter(lambda p: p.requires_grad, model.parameters()),
                                  lr=3e-3, eps=1e-8)  # fmt: skip
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 2))
    for use_ib_negatives in (False, True):
        queries, docs = tokens(BSIZE, QLEN), tokens(BSIZE * NWAY, DLEN)
        Q = query(*queries)
        D, D_mask = doc(*docs)
        # Repeat each query encoding for every corresponding document.
        Q_duplicated = Q.repeat_interleave(NWAY, dim=0).contiguous()
        scores = colbert_score(Q_duplicated, D, D_mask)
        scores = scores.view(-1, NWAY)
        labels = torch.zeros(BSIZE, dtype=torch.long, device=device)
        loss = nn.CrossEntropyLoss()(scores, labels[: scores.size(0)])
        if use_ib_negatives:
            ib_loss = compute_ib_loss(Q, D, D_mask)
            loss += ib_loss
            values.append(ib_loss.item())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        optimizer.step()
        scheduler.step()
        values += [loss.item(), scores[:, 0].mean().item(), scores[:, 1].mean().item()]

    # DPR: [CLS] vectors, positives and hard negatives in one context batch
    def get_representation(sub_model: Any, ids: Any, attn_mask: Any) -> Any:
        sequence_output = sub_model(ids, attn_mask)[0]
        pooled_output = sequence_output[:, 0, :]
        return pooled_output

    def dot_product_scores(q_vectors: Any, ctx_vectors: Any) -> Any:
        # q_vector: n1 x D, ctx_vectors: n2 x D, result n1 x n2
        r = torch.matmul(q_vectors, torch.transpose(ctx_vectors, 0, 1))
        return r

    def cosine_scores(q_vector: Any, ctx_vectors: Any) -> Any:
        # q_vector: n1 x D, ctx_vectors: n2 x D, result n1 x n2
        return F.cosine_similarity(q_vector, ctx_vectors, dim=1)

    for score_fn in (dot_product_scores, "cosine"):
        q_ids, q_mask = tokens(BSIZE, QLEN)
        ctx_ids, ctx_mask = tokens(BSIZE * 2, DLEN)
        positive_idx_per_question = [2 * i for i in range(BSIZE)]
        q_vectors = get_representation(model.bert, q_ids, q_mask)
        ctx_vectors = get_representation(model.ctx_model, ctx_ids, ctx_mask)
        if score_fn == "cosine":
            scores = torch.stack([cosine_scores(q[None, :], ctx_vectors) for q in q_vectors])
        else:
            scores = score_fn(q_vectors, ctx_vectors)
        if len(q_vectors.size()) > 1:
            q_num = q_vectors.size(0)
            scores = scores.view(q_num, -1)
        softmax_scores = F.log_softmax(scores, dim=1)
        loss = F.nll_loss(
            softmax_scores,
            torch.tensor(positive_idx_per_question).to(softmax_scores.device),
            reduction="mean",
        )
        max_score, max_idxs = torch.max(softmax_scores, 1)
        correct_predictions_count = (
            max_idxs == torch.tensor(positive_idx_per_question).to(max_idxs.device)
        ).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), float(correct_predictions_count), max_score.sum().item()]
    return values
