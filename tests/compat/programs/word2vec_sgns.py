"""Skip-gram with negative sampling, as the widely copied PyTorch word2vec ports write it
(Adoni/word2vec_pytorch's ``SkipGramModel``, theeluwin/pytorch-sgns, the "word2vec in PyTorch"
tutorials), size-reduced.

The idioms: two ``nn.Embedding(emb_size, emb_dimension, sparse=True)`` tables (``u_embeddings``
for centre words, ``v_embeddings`` for contexts) initialised with ``init.uniform_(
self.u_embeddings.weight.data, -initrange, initrange)`` and ``init.constant_(
self.v_embeddings.weight.data, 0)``; the forward ``score = torch.sum(torch.mul(emb_u, emb_v),
dim=1)``, ``torch.clamp(score, max=10, min=-10)``, ``-F.logsigmoid(score)``, the negatives'
``torch.bmm(emb_neg_v, emb_u.unsqueeze(2)).squeeze()`` and ``-torch.sum(F.logsigmoid(
-neg_score), dim=1)``, ``torch.mean(score + neg_score)``; negatives drawn from the unigram
distribution raised to 3/4 (``word_frequency ** 0.75`` normalised, ``torch.multinomial(
noise_dist, batch * n_neg, replacement=True).view(batch, n_neg)``); ``optim.SparseAdam(
list(self.skip_gram_model.parameters()), lr=...)`` with ``lr_scheduler.CosineAnnealingLR`` and
plain ``optim.SGD`` over sparse gradients; the sparse ``.grad`` (``is_sparse``, ``coalesce()``
with ``indices()`` / ``values()``, ``to_dense()``, the summed rows of a repeated index); and
the evaluation's nearest neighbours (``F.cosine_similarity(embedding[word].unsqueeze(0),
embedding, dim=1)`` and ``.topk(k)``) and ``save_embedding``'s
``self.u_embeddings.weight.cpu().data.numpy()``.

The negatives come from NumPy (``rng.choice`` on the same distribution), since the two
libraries' generators differ; ``torch.multinomial`` on that distribution is checked for what
holds for every draw (shape, dtype, range, only words of non-zero probability).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, BATCH, N_NEG, STEPS, LR, TOPK = 12, 6, 8, 3, 4, 0.05, 3
COUNTS = np.array([30, 22, 17, 12, 9, 7, 5, 4, 3, 2, 1, 0], dtype=np.float64)


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    init = torch_like.nn.init

    class SkipGramModel(nn.Module):
        def __init__(self, emb_size: int, emb_dimension: int) -> None:
            super().__init__()
            self.emb_size = emb_size
            self.emb_dimension = emb_dimension
            self.u_embeddings = nn.Embedding(emb_size, emb_dimension, sparse=True)
            self.v_embeddings = nn.Embedding(emb_size, emb_dimension, sparse=True)
            initrange = 1.0 / self.emb_dimension
            init.uniform_(self.u_embeddings.weight.data, -initrange, initrange)
            init.constant_(self.v_embeddings.weight.data, 0)

        def forward(self, pos_u: Any, pos_v: Any, neg_v: Any) -> Any:
            emb_u = self.u_embeddings(pos_u)
            emb_v = self.v_embeddings(pos_v)
            emb_neg_v = self.v_embeddings(neg_v)
            score = torch.sum(torch.mul(emb_u, emb_v), dim=1)
            score = torch.clamp(score, max=10, min=-10)
            score = -F.logsigmoid(score)
            neg_score = torch.bmm(emb_neg_v, emb_u.unsqueeze(2)).squeeze()
            neg_score = torch.clamp(neg_score, max=10, min=-10)
            neg_score = -torch.sum(F.logsigmoid(-neg_score), dim=1)
            return torch.mean(score + neg_score)

    model = SkipGramModel(VOCAB, DIM)
    with torch.no_grad():  # contexts already moved off zero, as after some training
        model.v_embeddings.weight.uniform_(-0.2, 0.2)
    return model


def noise_distribution(torch_like: Any) -> Any:
    word_freqs = as_tensor(torch_like, COUNTS)
    unigram = word_freqs / word_freqs.sum()
    noise_dist = unigram**0.75
    return noise_dist / noise_dist.sum()


def multinomial_facts(torch_like: Any, noise_dist: Any) -> list[float]:
    """What holds for every draw: shape, dtype, range, never a zero-probability word."""
    torch = torch_like
    torch.manual_seed(0)
    negs = torch.multinomial(noise_dist, BATCH * N_NEG, replacement=True).view(BATCH, N_NEG)
    few = torch.multinomial(noise_dist, 4)  # without replacement: distinct words
    rows = torch.multinomial(noise_dist.expand(2, VOCAB), 5, True)
    return [
        *negs.shape,
        float(negs.dtype == torch.int64),
        float(negs.min().item() >= 0),
        float(negs.max().item() < VOCAB - 1),  # the last word has count 0
        float(len(set(few.tolist())) == 4),
        *rows.shape,
    ]


def sparse_grad_facts(torch_like: Any, model: Any) -> list[float]:
    """The sparse ``.grad`` of an embedding: uncoalesced rows, coalesced sums, dense view."""
    torch = torch_like
    model.zero_grad()
    idx = torch.tensor([3, 1, 3, 0])
    model.u_embeddings(idx).pow(2).sum().backward()
    grad = model.u_embeddings.weight.grad
    dense = grad.to_dense()
    coalesced = grad.coalesce()
    values = [float(grad.is_sparse), float(grad.layout == torch.sparse_coo)]
    values += [float(coalesced.is_coalesced()), float(coalesced._nnz())]
    values += coalesced.indices().flatten().tolist() + list(coalesced.values().shape)
    values += dense.flatten().tolist() + list(dense.shape)
    weight = model.u_embeddings.weight.detach()
    want = torch.zeros_like(weight)
    want.index_add_(0, idx, 2 * weight[idx])
    values += [(dense - want).abs().max().item()]
    model.zero_grad()
    return values


def nearest(torch_like: Any, model: Any, word: int) -> list[float]:
    F = torch_like.nn.functional
    embedding = model.u_embeddings.weight.data
    sims = F.cosine_similarity(embedding[word].unsqueeze(0), embedding, dim=1)
    top_values, top_ids = sims.topk(TOPK)
    return top_values.tolist() + top_ids.tolist()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    optim = torch_like.optim
    rng = np.random.default_rng(2)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    noise = noise_distribution(torch_like)
    values: list[float] = noise.tolist() + multinomial_facts(torch_like, noise)
    values += sparse_grad_facts(torch_like, model)

    optimizer = optim.SparseAdam(list(model.parameters()), lr=LR)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, STEPS)
    probs = noise.numpy()
    for _step in range(STEPS):
        pos_u = as_tensor(torch_like, rng.integers(0, VOCAB - 1, BATCH))
        pos_v = as_tensor(torch_like, rng.integers(0, VOCAB - 1, BATCH))
        neg_v = as_tensor(torch_like, rng.choice(VOCAB, (BATCH, N_NEG), p=probs))
        optimizer.zero_grad()
        loss = model.forward(pos_u, pos_v, neg_v)
        loss.backward()
        optimizer.step()
        scheduler.step()
        values += [loss.item(), scheduler.get_last_lr()[0]]
        values += [float(model.v_embeddings.weight.grad.is_sparse)]
    values += nearest(torch_like, model, 0)

    sgd = optim.SGD(model.parameters(), lr=0.5)
    for _step in range(2):
        pos_u = as_tensor(torch_like, rng.integers(0, VOCAB - 1, BATCH))
        pos_v = as_tensor(torch_like, rng.integers(0, VOCAB - 1, BATCH))
        neg_v = as_tensor(torch_like, rng.choice(VOCAB, (BATCH, N_NEG), p=probs))
        sgd.zero_grad()
        loss = model(pos_u, pos_v, neg_v)
        loss.backward()
        sgd.step()
        values += [loss.item()]
    untouched = model.u_embeddings.weight.detach()[VOCAB - 1]  # never a centre word
    values += untouched.tolist()
    saved = model.u_embeddings.weight.cpu().data.numpy()
    values += [float(saved.shape == (VOCAB, DIM)), float(saved.sum())]
    values += nearest(torch_like, model, 1)
    return values
