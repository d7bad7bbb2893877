"""Knowledge-graph embeddings TransE and DistMult as the PyTorch KG codebases write them
(mklimasz/TransE-PyTorch's ``model.py``/``metric.py``/``main.py``, OpenKE's ``TransE``,
``DistMult``, ``MarginLoss`` and ``SoftplusLoss``, pykg2vec's ``F.normalize`` scoring),
size-reduced.

The idioms: ``nn.Embedding(num_embeddings=self.entity_count + 1, embedding_dim=self.dim,
padding_idx=self.entity_count)`` with ``uniform_range = 6 / np.sqrt(self.dim)`` and
``entities_emb.weight.data.uniform_(-uniform_range, uniform_range)``; the relation rows
normalised once, ``relations_emb.weight.data[:-1, :].div_(relations_emb.weight.data[:-1,
:].norm(p=1, dim=1, keepdim=True))``, and the entity rows before every forward (``p=2``, the
"-1 to avoid nan for OOV vector" slice of ``.data``); ``nn.MarginRankingLoss(margin=margin,
reduction='none')`` with the target ``torch.tensor([-1], dtype=torch.long)`` broadcast over the
batch, ``loss.mean().backward()``; ``(heads + relations - tails).norm(p=self.norm, dim=1)``;
the negatives by corruption (``head_or_tail``/``random_entities`` from NumPy here,
``torch.where(head_or_tail == 1, random_entities, head)``, ``torch.stack((broken_heads,
relations, broken_tails), dim=1)``); ``torch.optim.SGD(model.parameters(), lr=...)``; the
evaluation over every entity (``torch.arange(end=entities_count).unsqueeze(0)``,
``.repeat(batch_size, 1)``, ``head.reshape(-1, 1).repeat(1, all_entities.size()[1])``,
``torch.stack((heads, relations, all_entities), dim=2).reshape(-1, 3)``), ``hit_at_k``
(``predictions.topk(k=k, largest=False)``, ``torch.where(indices == ground_truth_idx,
one_tensor, zero_tensor).sum().item()``) and ``mrr`` (``predictions.argsort()``, ``(indices ==
ground_truth_idx).nonzero()[:, 1].float().add(1.0)``), and the filtered rank ``(scores <
true).sum()``. OpenKE's side: ``nn.Parameter(torch.Tensor([margin]))`` with ``requires_grad =
False``, ``nn.init.xavier_uniform_(self.ent_embeddings.weight.data)``, ``F.normalize(h, 2,
-1)``, ``h.view(-1, r.shape[0], h.shape[-1])`` for a ``head_batch``, ``torch.norm(score,
self.p_norm, -1).flatten()``, ``(torch.max(p_score - n_score, -self.margin)).mean() +
self.margin``, ``score.cpu().data.numpy()``; DistMult's ``torch.sum(h * r * t, -1)``,
``nn.Softplus()`` loss and ``(torch.mean(h ** 2) + torch.mean(t ** 2) + torch.mean(r ** 2)) /
3`` regulariser with ``optim.Adagrad``, and max-norm renormalisation ``weight.data.renorm_(p=2,
dim=0, maxnorm=1)`` under ``torch.no_grad()``.

Changed: FB15k's 15k entities and 200-dim embeddings -> 9 entities, 3 relations, 6 dims.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_ENT, N_REL, DIM, MARGIN, BATCH, STEPS = 9, 3, 6, 1.0, 6, 4
TRIPLES = np.array(
    [[0, 0, 1], [1, 0, 2], [2, 1, 3], [3, 1, 4], [4, 2, 5], [5, 2, 6], [6, 0, 7], [7, 1, 8]]
)


def make_model(torch_like: Any) -> Any:
    """mklimasz's ``TransE`` (the padding row is the out-of-vocabulary entity)."""
    torch = torch_like
    nn = torch_like.nn

    class TransE(nn.Module):
        def __init__(self, entity_count: int, relation_count: int, norm: int = 1,
                     dim: int = 100, margin: float = 1.0) -> None:  # fmt: skip
            super().__init__()
            self.entity_count = entity_count
            self.relation_count = relation_count
            self.norm = norm
            self.dim = dim
            self.entities_emb = self._init_enitity_emb()
            self.relations_emb = self._init_relation_emb()
            self.criterion = nn.MarginRankingLoss(margin=margin, reduction="none")

        def _init_enitity_emb(self) -> Any:
            entities_emb = nn.Embedding(
                num_embeddings=self.entity_count + 1,
                embedding_dim=self.dim,
                padding_idx=self.entity_count,
            )
            uniform_range = 6 / np.sqrt(self.dim)
            entities_emb.weight.data.uniform_(-uniform_range, uniform_range)
            return entities_emb

        def _init_relation_emb(self) -> Any:
            relations_emb = nn.Embedding(
                num_embeddings=self.relation_count + 1,
                embedding_dim=self.dim,
                padding_idx=self.relation_count,
            )
            uniform_range = 6 / np.sqrt(self.dim)
            relations_emb.weight.data.uniform_(-uniform_range, uniform_range)
            # -1 to avoid nan for OOV vector
            relations_emb.weight.data[:-1, :].div_(
                relations_emb.weight.data[:-1, :].norm(p=1, dim=1, keepdim=True)
            )
            return relations_emb

        def forward(self, positive_triplets: Any, negative_triplets: Any) -> Any:
            # -1 to avoid nan for OOV vector
            self.entities_emb.weight.data[:-1, :].div_(
                self.entities_emb.weight.data[:-1, :].norm(p=2, dim=1, keepdim=True)
            )
            assert positive_triplets.size()[1] == 3
            positive_distances = self._distance(positive_triplets)
            assert negative_triplets.size()[1] == 3
            negative_distances = self._distance(negative_triplets)
            return (
                self.loss(positive_distances, negative_distances),
                positive_distances,
                negative_distances,
            )

        def predict(self, triplets: Any) -> Any:
            return self._distance(triplets)

        def loss(self, positive_distances: Any, negative_distances: Any) -> Any:
            target = torch.tensor([-1], dtype=torch.long)
            return self.criterion(positive_distances, negative_distances, target)

        def _distance(self, triplets: Any) -> Any:
            assert triplets.size()[1] == 3
            heads = triplets[:, 0]
            relations = triplets[:, 1]
            tails = triplets[:, 2]
            return (
                self.entities_emb(heads) + self.relations_emb(relations) - self.entities_emb(tails)
            ).norm(p=self.norm, dim=1)

    return TransE(N_ENT, N_REL, dim=DIM, margin=MARGIN)


def make_openke(torch_like: Any) -> tuple[Any, Any, Any]:
    """OpenKE's ``TransE`` (margin-ranged init, ``F.normalize``), ``DistMult`` and losses."""
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class TransE(nn.Module):
        def __init__(self, ent_tot: int, rel_tot: int, dim: int, p_norm: int = 1,
                     margin: float = 6.0, epsilon: float = 2.0) -> None:  # fmt: skip
            super().__init__()
            self.dim, self.p_norm, self.norm_flag = dim, p_norm, True
            self.ent_embeddings = nn.Embedding(ent_tot, dim)
            self.rel_embeddings = nn.Embedding(rel_tot, dim)
            self.embedding_range = nn.Parameter(
                torch.Tensor([(margin + epsilon) / self.dim]), requires_grad=False
            )
            nn.init.uniform_(
                tensor=self.ent_embeddings.weight.data,
                a=-self.embedding_range.item(),
                b=self.embedding_range.item(),
            )
            nn.init.xavier_uniform_(self.rel_embeddings.weight.data)
            self.margin = nn.Parameter(torch.Tensor([margin]))
            self.margin.requires_grad = False

        def _calc(self, h: Any, t: Any, r: Any, mode: str) -> Any:
            if self.norm_flag:
                h = F.normalize(h, 2, -1)
                r = F.normalize(r, 2, -1)
                t = F.normalize(t, 2, -1)
            if mode != "normal":
                h = h.view(-1, r.shape[0], h.shape[-1])
                t = t.view(-1, r.shape[0], t.shape[-1])
                r = r.view(-1, r.shape[0], r.shape[-1])
            if mode == "head_batch":
                score = h + (r - t)
            else:
                score = (h + r) - t
            return torch.norm(score, self.p_norm, -1).flatten()

        def forward(self, data: dict) -> Any:
            h = self.ent_embeddings(data["batch_h"])
            t = self.ent_embeddings(data["batch_t"])
            r = self.rel_embeddings(data["batch_r"])
            return self._calc(h, t, r, data["mode"])

        def predict(self, data: dict) -> Any:
            score = self.margin - self.forward(data)
            return score.cpu().data.numpy()

    class DistMult(nn.Module):
        def __init__(self, ent_tot: int, rel_tot: int, dim: int) -> None:
            super().__init__()
            self.ent_embeddings = nn.Embedding(ent_tot, dim)
            self.rel_embeddings = nn.Embedding(rel_tot, dim)
            nn.init.xavier_uniform_(self.ent_embeddings.weight.data)
            nn.init.xavier_uniform_(self.rel_embeddings.weight.data)

        def forward(self, data: dict) -> Any:
            h = self.ent_embeddings(data["batch_h"])
            t = self.ent_embeddings(data["batch_t"])
            r = self.rel_embeddings(data["batch_r"])
            return -torch.sum(h * r * t, -1).flatten()

        def regularization(self, data: dict) -> Any:
            h = self.ent_embeddings(data["batch_h"])
            t = self.ent_embeddings(data["batch_t"])
            r = self.rel_embeddings(data["batch_r"])
            return (torch.mean(h**2) + torch.mean(t**2) + torch.mean(r**2)) / 3

    class MarginLoss(nn.Module):
        def __init__(self, margin: float = 6.0) -> None:
            super().__init__()
            self.margin = nn.Parameter(torch.Tensor([margin]))
            self.margin.requires_grad = False

        def forward(self, p_score: Any, n_score: Any) -> Any:
            return (torch.max(p_score - n_score, -self.margin)).mean() + self.margin

    return TransE(N_ENT, N_REL, DIM), DistMult(N_ENT, N_REL, DIM), MarginLoss(margin=2.0)


def corrupt(torch_like: Any, triples: Any, rng: np.random.Generator) -> Any:
    torch = torch_like
    head, relations, tail = triples[:, 0], triples[:, 1], triples[:, 2]
    head_or_tail = as_tensor(torch_like, rng.integers(0, 2, head.size()))
    random_entities = as_tensor(torch_like, rng.integers(0, N_ENT, head.size()))
    broken_heads = torch.where(head_or_tail == 1, random_entities, head)
    broken_tails = torch.where(head_or_tail == 0, random_entities, tail)
    return torch.stack((broken_heads, relations, broken_tails), dim=1)


def hit_at_k(torch_like: Any, predictions: Any, ground_truth_idx: Any, k: int = 10) -> int:
    assert predictions.size(0) == ground_truth_idx.size(0)
    zero_tensor = torch_like.tensor([0])
    one_tensor = torch_like.tensor([1])
    _, indices = predictions.topk(k=k, largest=False)
    return torch_like.where(indices == ground_truth_idx, one_tensor, zero_tensor).sum().item()


def mrr(predictions: Any, ground_truth_idx: Any) -> float:
    indices = predictions.argsort()
    return (1.0 / (indices == ground_truth_idx).nonzero()[:, 1].float().add(1.0)).sum().item()


def evaluate(torch_like: Any, model: Any, triples: Any) -> list[float]:
    torch = torch_like
    entities_count = N_ENT
    head, relation, tail = triples[:, 0], triples[:, 1], triples[:, 2]
    batch_size = head.size()[0]
    entity_ids = torch.arange(end=entities_count).unsqueeze(0)
    all_entities = entity_ids.repeat(batch_size, 1)
    heads = head.reshape(-1, 1).repeat(1, all_entities.size()[1])
    relations = relation.reshape(-1, 1).repeat(1, all_entities.size()[1])
    tails = tail.reshape(-1, 1).repeat(1, all_entities.size()[1])
    triplets = torch.stack((heads, relations, all_entities), dim=2).reshape(-1, 3)
    tails_predictions = model.predict(triplets).reshape(batch_size, -1)
    triplets = torch.stack((all_entities, relations, tails), dim=2).reshape(-1, 3)
    heads_predictions = model.predict(triplets).reshape(batch_size, -1)
    predictions = torch.cat((tails_predictions, heads_predictions), dim=0)
    ground_truth_entity_id = torch.cat((tail.reshape(-1, 1), head.reshape(-1, 1)))
    true = predictions.gather(1, ground_truth_entity_id)
    ranks = (predictions < true).sum(dim=1) + 1
    return [
        hit_at_k(torch_like, predictions, ground_truth_entity_id, k=1),
        hit_at_k(torch_like, predictions, ground_truth_entity_id, k=3),
        mrr(predictions, ground_truth_entity_id),
        *ranks.tolist(),
        float(ranks.dtype == torch.int64),
    ]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(20)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    triples = as_tensor(torch_like, TRIPLES)
    values: list[float] = []
    for _step in range(STEPS):
        positive_triples = triples[as_tensor(torch_like, rng.permutation(len(TRIPLES))[:BATCH])]
        negative_triples = corrupt(torch_like, positive_triples, rng)
        optimizer.zero_grad()
        loss, pd, nd = model(positive_triples, negative_triples)
        loss.mean().backward()
        optimizer.step()
        values += [loss.mean().item(), pd.sum().item(), nd.sum().item()]
        values += [float(loss.shape == (BATCH,))]
    weight = model.entities_emb.weight.data
    values += weight[:-1].norm(p=2, dim=1).tolist() + weight[-1].tolist()
    model.eval()
    with torch.no_grad():
        values += evaluate(torch_like, model, triples[:4])
    return values + run_openke(torch_like, rng)


def run_openke(torch_like: Any, rng: np.random.Generator) -> list[float]:
    torch = torch_like
    transe, distmult, margin_loss = make_openke(torch_like)
    state = {
        "ent_embeddings.weight": rng.uniform(-0.5, 0.5, (N_ENT, DIM)),
        "rel_embeddings.weight": rng.uniform(-0.5, 0.5, (N_REL, DIM)),
    }
    transe.load_state_dict({**{k: as_tensor(torch_like, v) for k, v in state.items()},
                            "embedding_range": transe.embedding_range,
                            "margin": transe.margin})  # fmt: skip
    distmult.load_state_dict({k: as_tensor(torch_like, v) for k, v in state.items()})
    values = [transe.embedding_range.item(), float(transe.margin.requires_grad)]
    values += [len(list(transe.parameters())), len([p for p in transe.parameters()
                                                     if p.requires_grad])]  # fmt: skip
    opt_t = torch.optim.SGD([p for p in transe.parameters() if p.requires_grad], lr=0.1)
    opt_d = torch.optim.Adagrad(distmult.parameters(), lr=0.1)
    softplus = torch.nn.Softplus()
    for _step in range(3):
        pos = TRIPLES[rng.permutation(len(TRIPLES))[:4]]
        corrupt_h = rng.integers(0, N_ENT, (2, 4))  # two negatives per positive
        neg_h = as_tensor(torch_like, corrupt_h.reshape(-1))
        data = {
            "batch_h": torch.cat((as_tensor(torch_like, pos[:, 0]), neg_h)),
            "batch_t": as_tensor(torch_like, np.tile(pos[:, 2], 3)),
            "batch_r": as_tensor(torch_like, pos[:, 1]),
            "mode": "head_batch",
        }
        opt_t.zero_grad()
        score = transe(data)
        p_score, n_score = score[:4], score[4:].view(-1, 4).permute(1, 0)
        loss = margin_loss(p_score.view(-1, 1), n_score)
        loss.backward()
        opt_t.step()
        values += [loss.item(), float(score.shape == (12,))]

        normal = {
            "batch_h": as_tensor(torch_like, np.concatenate([pos[:, 0], corrupt_h[0]])),
            "batch_t": as_tensor(torch_like, np.concatenate([pos[:, 2], pos[:, 2]])),
            "batch_r": as_tensor(torch_like, np.concatenate([pos[:, 1], pos[:, 1]])),
        }
        opt_d.zero_grad()
        score = distmult(normal)
        p_score, n_score = score[:4], score[4:]
        loss = (softplus(-p_score).mean() + softplus(n_score).mean()) / 2
        loss = loss + 0.01 * distmult.regularization(normal)
        loss.backward()
        opt_d.step()
        with torch.no_grad():
            distmult.rel_embeddings.weight.data.renorm_(p=2, dim=0, maxnorm=1)
        values += [loss.item(), distmult.rel_embeddings.weight.norm(dim=1).max().item()]
    query = {"batch_h": as_tensor(torch_like, np.arange(N_ENT)),
             "batch_t": as_tensor(torch_like, np.full(N_ENT, 3)),
             "batch_r": as_tensor(torch_like, np.array([1])), "mode": "head_batch"}  # fmt: skip
    predicted = transe.predict(query)
    values += predicted.tolist() + [float(isinstance(predicted, np.ndarray))]
    return values
