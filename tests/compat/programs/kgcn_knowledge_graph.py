"""KGCN: knowledge-graph convolutional networks for recommendation, as zzaebok's
``KGCN-pytorch`` writes it (``model.py``: ``KGCN`` with ``_gen_adj``, ``_get_neighbors``,
``_aggregate``; ``aggregator.py``: ``Aggregator`` with ``_mix_neighbor_vectors``;
``KGCN.ipynb``: ``KGCNDataset``, the training and evaluation loops), size-reduced.

The idioms kept verbatim: the sampled neighbour tables ``torch.empty(self.num_ent,
self.n_neighbor, dtype=torch.long)`` filled row by row with ``torch.LongTensor([ent for _, ent
in neighbors])`` from ``random.sample`` / ``random.choices``; ``torch.LongTensor(self.adj_ent[
entities[h]]).view((self.batch_size, -1)).to(self.device)`` (a legacy constructor given a
tensor); the per-hop lists of embeddings and the ``n_iter - i`` inner loop with ``torch.tanh``
on the last iteration and ``torch.sigmoid`` before; the user-relation attention
``(user_embeddings * neighbor_relations).sum(dim = -1)`` -> ``F.softmax(..., dim = -1)`` ->
``unsqueeze(dim = -1)`` -> weighted ``sum(dim = 2)``; the 'sum', 'concat' and 'neighbor'
aggregators (``torch.cat((self_vectors, neighbors_agg), dim=-1).view((-1, 2 * self.dim))``);
``torch.sigmoid`` of the user-item dot product with ``torch.nn.BCELoss``; Adam with
``weight_decay``; a map-style ``Dataset`` returning ``np.array(..., dtype=np.float32)`` labels
through a ``DataLoader``; evaluation under ``torch.no_grad()`` with a hand-written ROC AUC of
``outputs.cpu().detach().numpy()``.

Changed: 6 users, 20 entities (the first 8 are items), 4 relations, dim 8, 4 sampled
neighbours, 2 iterations, batches of 4 (the 'sum' aggregator trained, 'concat' and
'neighbor' trained one epoch each); the data are synthetic; the data frame is three NumPy
arrays; ``sklearn.metrics.roc_auc_score`` is the rank formula.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

N_USER, N_ENT, N_REL, N_ITEM, DIM, N_NEIGHBOR, N_ITER, BATCH = 6, 20, 4, 8, 8, 4, 2, 4


class _Args:
    n_iter = N_ITER
    batch_size = BATCH
    dim = DIM
    neighbor_sample_size = N_NEIGHBOR
    aggregator = "sum"
    lr = 5e-3
    l2_weight = 1e-4


def _kg() -> dict:
    rng = np.random.default_rng(7)
    kg: dict = {}
    for _ in range(40):
        h, t, r = (int(x) for x in (*rng.integers(0, N_ENT, 2), rng.integers(0, N_REL)))
        kg.setdefault(h, []).append((r, t))
        kg.setdefault(t, []).append((r, h))
    for e in range(N_ENT):
        kg.setdefault(e, [(0, e)])
    return kg


def make_model(torch_like: Any, aggregator: str = "sum") -> Any:
    torch = torch_like
    F = torch.nn.functional

    class Aggregator(torch.nn.Module):
        def __init__(self, batch_size, dim, aggregator):
            super(Aggregator, self).__init__()  # noqa: UP008
            self.batch_size = batch_size
            self.dim = dim
            if aggregator == "concat":
                self.weights = torch.nn.Linear(2 * dim, dim, bias=True)
            else:
                self.weights = torch.nn.Linear(dim, dim, bias=True)
            self.aggregator = aggregator

        def forward(self, self_vectors, neighbor_vectors, neighbor_relations, user_embeddings, act):
            batch_size = user_embeddings.size(0)
            if batch_size != self.batch_size:
                self.batch_size = batch_size
            neighbors_agg = self._mix_neighbor_vectors(
                neighbor_vectors, neighbor_relations, user_embeddings
            )
            if self.aggregator == "sum":
                output = (self_vectors + neighbors_agg).view((-1, self.dim))
            elif self.aggregator == "concat":
                output = torch.cat((self_vectors, neighbors_agg), dim=-1)
                output = output.view((-1, 2 * self.dim))
            else:
                output = neighbors_agg.view((-1, self.dim))
            output = self.weights(output)
            return act(output.view((self.batch_size, -1, self.dim)))

        def _mix_neighbor_vectors(self, neighbor_vectors, neighbor_relations, user_embeddings):
            user_embeddings = user_embeddings.view((self.batch_size, 1, 1, self.dim))
            user_relation_scores = (user_embeddings * neighbor_relations).sum(dim=-1)
            user_relation_scores_normalized = F.softmax(user_relation_scores, dim=-1)
            user_relation_scores_normalized = user_relation_scores_normalized.unsqueeze(dim=-1)
            neighbors_aggregated = (user_relation_scores_normalized * neighbor_vectors).sum(dim=2)
            return neighbors_aggregated

    class KGCN(torch.nn.Module):
        def __init__(self, num_user, num_ent, num_rel, kg, args, device):
            super(KGCN, self).__init__()  # noqa: UP008
            self.num_user = num_user
            self.num_ent = num_ent
            self.num_rel = num_rel
            self.n_iter = args.n_iter
            self.batch_size = args.batch_size
            self.dim = args.dim
            self.n_neighbor = args.neighbor_sample_size
            self.kg = kg
            self.device = device
            self.aggregator = Aggregator(self.batch_size, self.dim, args.aggregator)
            self._gen_adj()
            self.usr = torch.nn.Embedding(num_user, args.dim)
            self.ent = torch.nn.Embedding(num_ent, args.dim)
            self.rel = torch.nn.Embedding(num_rel, args.dim)

        def _gen_adj(self):
            self.adj_ent = torch.empty(self.num_ent, self.n_neighbor, dtype=torch.long)
            self.adj_rel = torch.empty(self.num_ent, self.n_neighbor, dtype=torch.long)
            for e in self.kg:
                if len(self.kg[e]) >= self.n_neighbor:
                    neighbors = random.sample(self.kg[e], self.n_neighbor)
                else:
                    neighbors = random.choices(self.kg[e], k=self.n_neighbor)
                self.adj_ent[e] = torch.LongTensor([ent for _, ent in neighbors])
                self.adj_rel[e] = torch.LongTensor([rel for rel, _ in neighbors])

        def forward(self, u, v):
            batch_size = u.size(0)
            if batch_size != self.batch_size:
                self.batch_size = batch_size
            u = u.view((-1, 1))
            v = v.view((-1, 1))
            user_embeddings = self.usr(u).squeeze(dim=1)
            entities, relations = self._get_neighbors(v)
            item_embeddings = self._aggregate(user_embeddings, entities, relations)
            scores = (user_embeddings * item_embeddings).sum(dim=1)
            return torch.sigmoid(scores)

        def _get_neighbors(self, v):
            entities = [v]
            relations = []
            for h in range(self.n_iter):
                neighbor_entities = (
                    torch.LongTensor(self.adj_ent[entities[h]])
                    .view((self.batch_size, -1))
                    .to(self.device)
                )
                neighbor_relations = (
                    torch.LongTensor(self.adj_rel[entities[h]])
                    .view((self.batch_size, -1))
                    .to(self.device)
                )
                entities.append(neighbor_entities)
                relations.append(neighbor_relations)
            return entities, relations

        def _aggregate(self, user_embeddings, entities, relations):
            entity_vectors = [self.ent(entity) for entity in entities]
            relation_vectors = [self.rel(relation) for relation in relations]
            for i in range(self.n_iter):
                if i == self.n_iter - 1:
                    act = torch.tanh
                else:
                    act = torch.sigmoid
                entity_vectors_next_iter = []
                for hop in range(self.n_iter - i):
                    vector = self.aggregator(
                        self_vectors=entity_vectors[hop],
                        neighbor_vectors=entity_vectors[hop + 1].view(
                            (self.batch_size, -1, self.n_neighbor, self.dim)
                        ),
                        neighbor_relations=relation_vectors[hop].view(
                            (self.batch_size, -1, self.n_neighbor, self.dim)
                        ),
                        user_embeddings=user_embeddings,
                        act=act,
                    )
                    entity_vectors_next_iter.append(vector)
                entity_vectors = entity_vectors_next_iter
            return entity_vectors[0].view((self.batch_size, self.dim))

    args = _Args()
    args.aggregator = aggregator
    random.seed(555)  # main.py seeds; the sampled neighbour tables are not in the state dict
    return KGCN(N_USER, N_ENT, N_REL, _kg(), args, torch.device("cpu"))


def _roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like

    class KGCNDataset(torch.utils.data.Dataset):
        def __init__(self, df):
            self.df = df

        def __len__(self):
            return len(self.df["label"])

        def __getitem__(self, idx):
            user_id = np.array(self.df["userID"][idx])
            item_id = np.array(self.df["itemID"][idx])
            label = np.array(self.df["label"][idx], dtype=np.float32)
            return user_id, item_id, label

    rng = np.random.default_rng(11)

    def frame(n):
        return {"userID": rng.integers(0, N_USER, n), "itemID": rng.integers(0, N_ITEM, n),
                "label": np.tile([1.0, 0.0], n // 2)}  # fmt: skip

    train_loader = torch.utils.data.DataLoader(KGCNDataset(frame(16)), batch_size=BATCH)
    test_loader = torch.utils.data.DataLoader(KGCNDataset(frame(8)), batch_size=BATCH)
    device = torch.device("cpu")
    values: list[float] = []
    for aggregator, epochs in (("sum", 2), ("concat", 1), ("neighbor", 1)):
        torch.manual_seed(2)
        net = make_model(torch_like, aggregator).to(device)
        if aggregator == "sum":
            load_numpy_state(torch_like, net, init)
        criterion = torch.nn.BCELoss()
        optimizer = torch.optim.Adam(net.parameters(), lr=_Args.lr, weight_decay=_Args.l2_weight)
        for _ in range(epochs):
            running_loss = 0.0
            for user_ids, item_ids, labels in train_loader:
                user_ids, item_ids = user_ids.to(device), item_ids.to(device)
                labels = labels.to(device).to(torch.get_default_dtype())
                optimizer.zero_grad()
                outputs = net(user_ids, item_ids)
                loss = criterion(outputs, labels)
                loss.backward()
                optimizer.step()
                running_loss += loss.item()
            values.append(running_loss / len(train_loader))
            with torch.no_grad():
                test_loss = 0
                total_roc = 0
                for user_ids, item_ids, labels in test_loader:
                    labels = labels.to(torch.get_default_dtype())
                    outputs = net(user_ids, item_ids)
                    test_loss += criterion(outputs, labels).item()
                    total_roc += _roc_auc(
                        labels.cpu().detach().numpy(), outputs.cpu().detach().numpy()
                    )
                values += [test_loss / len(test_loader), total_roc / len(test_loader)]
    return values
