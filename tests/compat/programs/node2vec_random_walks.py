"""Node2Vec, as PyTorch Geometric's ``torch_geometric.nn.models.Node2Vec`` (``loader``,
``pos_sample``, ``neg_sample``, ``loss``) and its ``examples/node2vec.py`` training loop write
it, with the biased second-order walk written in plain PyTorch (``torch.multinomial`` over
``1/p``, ``1``, ``1/q`` weights) as the from-scratch node2vec ports do; size-reduced to a
12-node two-community graph.

The idioms: a dense adjacency from ``edge_index`` (``adj[edge_index[0], edge_index[1]] = 1``),
neighbours with ``adj[cur].nonzero(as_tuple=True)[0]``, the first step
``neighbors[torch.randint(len(neighbors), (1,))]`` and the biased ones ``torch.where(neighbors
== prev, 1 / p, torch.where(adj[prev, neighbors] > 0, 1.0, 1 / q))`` drawn with
``torch.multinomial(weights, 1)``; ``batch.repeat(walks_per_node)``; the context windows
``rw[:, j:j + context_size]`` concatenated with ``torch.cat(walks, dim=0)``; the negatives
``torch.randint(num_nodes, (batch.size(0), walk_length), dtype=batch.dtype)`` prefixed with
``torch.cat([batch.view(-1, 1), rw], dim=-1)``; the loss's ``pos_rw[:, 0], pos_rw[:,
1:].contiguous()``, ``self.embedding(rest.view(-1)).view(pos_rw.size(0), -1,
embedding_dim)``, ``-torch.log(torch.sigmoid(out) + EPS).mean()`` and ``-torch.log(1 -
torch.sigmoid(out) + EPS).mean()``; ``nn.Embedding(num_nodes, embedding_dim, sparse=True)``
with ``reset_parameters()``; ``DataLoader(range(num_nodes), collate_fn=self.sample,
batch_size=..., shuffle=True)``; ``torch.optim.SparseAdam(list(model.parameters()),
lr=0.01)``; and the evaluation ``model()`` (the whole table) with nearest community centroids
by ``torch.cdist`` and ``argmin``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NUM_NODES, DIM, WALK_LENGTH, CONTEXT, WALKS_PER_NODE, NUM_NEG, EPOCHS = 12, 6, 5, 3, 2, 1, 3
EPS = 1e-15


def _edge_index() -> np.ndarray:
    edges = []
    for block in (range(0, 6), range(6, 12)):
        nodes = list(block)
        edges += [(a, b) for a in nodes for b in nodes if a < b and (b - a) % 3 != 0]
    edges.append((2, 8))
    e = np.array(edges).T
    return np.concatenate([e, e[::-1]], axis=1)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class Node2Vec(nn.Module):
        def __init__(self, edge_index: Any = None, p: float = 1.0, q: float = 1.0) -> None:
            super().__init__()
            self.num_nodes = NUM_NODES
            self.embedding_dim, self.walk_length = DIM, WALK_LENGTH - 1
            self.context_size, self.walks_per_node = CONTEXT, WALKS_PER_NODE
            self.num_negative_samples, self.p, self.q = NUM_NEG, p, q
            self.embedding = nn.Embedding(NUM_NODES, DIM, sparse=True)
            self.adj = None
            if edge_index is not None:
                self.adj = torch.zeros(NUM_NODES, NUM_NODES)
                self.adj[edge_index[0], edge_index[1]] = 1
            self.reset_parameters()

        def reset_parameters(self) -> None:
            self.embedding.reset_parameters()

        def forward(self, batch: Any = None) -> Any:
            emb = self.embedding.weight
            return emb if batch is None else emb.index_select(0, batch)

        def loader(self, **kwargs: Any) -> Any:
            return torch.utils.data.DataLoader(
                range(self.num_nodes), collate_fn=self.sample, **kwargs
            )

        def random_walk(self, start: int) -> list:
            walk = [start]
            for _ in range(self.walk_length):
                cur = walk[-1]
                neighbors = self.adj[cur].nonzero(as_tuple=True)[0]
                if len(walk) == 1:
                    nxt = neighbors[torch.randint(len(neighbors), (1,))]
                else:
                    prev = walk[-2]
                    weights = torch.where(
                        neighbors == prev,
                        1 / self.p,
                        torch.where(self.adj[prev, neighbors] > 0, 1.0, 1 / self.q),
                    )
                    nxt = neighbors[torch.multinomial(weights, 1)]
                walk.append(nxt.item())
            return walk

        def pos_sample(self, batch: Any) -> Any:
            batch = batch.repeat(self.walks_per_node)
            rw = torch.tensor([self.random_walk(int(s)) for s in batch])
            walks = []
            num_walks_per_rw = 1 + self.walk_length + 1 - self.context_size
            for j in range(num_walks_per_rw):
                walks.append(rw[:, j : j + self.context_size])
            return torch.cat(walks, dim=0)

        def neg_sample(self, batch: Any) -> Any:
            batch = batch.repeat(self.walks_per_node * self.num_negative_samples)
            rw = torch.randint(
                self.num_nodes, (batch.size(0), self.walk_length), dtype=batch.dtype,
                device=batch.device,
            )  # fmt: skip
            rw = torch.cat([batch.view(-1, 1), rw], dim=-1)
            walks = []
            num_walks_per_rw = 1 + self.walk_length + 1 - self.context_size
            for j in range(num_walks_per_rw):
                walks.append(rw[:, j : j + self.context_size])
            return torch.cat(walks, dim=0)

        def sample(self, batch: Any) -> tuple[Any, Any]:
            if not isinstance(batch, torch.Tensor):
                batch = torch.tensor(batch)
            return self.pos_sample(batch), self.neg_sample(batch)

        def loss(self, pos_rw: Any, neg_rw: Any) -> Any:
            start, rest = pos_rw[:, 0], pos_rw[:, 1:].contiguous()
            h_start = self.embedding(start).view(pos_rw.size(0), 1, self.embedding_dim)
            h_rest = self.embedding(rest.view(-1)).view(pos_rw.size(0), -1, self.embedding_dim)
            out = (h_start * h_rest).sum(dim=-1).view(-1)
            pos_loss = -torch.log(torch.sigmoid(out) + EPS).mean()
            start, rest = neg_rw[:, 0], neg_rw[:, 1:].contiguous()
            h_start = self.embedding(start).view(neg_rw.size(0), 1, self.embedding_dim)
            h_rest = self.embedding(rest.view(-1)).view(neg_rw.size(0), -1, self.embedding_dim)
            out = (h_start * h_rest).sum(dim=-1).view(-1)
            neg_loss = -torch.log(1 - torch.sigmoid(out) + EPS).mean()
            return pos_loss + neg_loss

    return Node2Vec()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    edge_index = as_tensor(torch_like, _edge_index())
    model = make_model(torch_like).__class__(edge_index, p=0.5, q=2.0)
    load_numpy_state(torch_like, model, init)
    torch.manual_seed(0)
    loader = model.loader(batch_size=4, shuffle=True, num_workers=0)
    optimizer = torch.optim.SparseAdam(list(model.parameters()), lr=0.05)
    labels = (torch.arange(NUM_NODES) >= 6).long()
    values: list[float] = []

    def train() -> float:
        model.train()
        total_loss = 0
        for pos_rw, neg_rw in loader:
            optimizer.zero_grad()
            loss = model.loss(pos_rw, neg_rw)
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
        return total_loss / len(loader)

    @torch.no_grad()
    def test() -> float:
        model.eval()
        z = model()
        centroids = torch.stack([z[labels == c].mean(0) for c in (0, 1)])
        pred = torch.cdist(z, centroids).argmin(dim=1)
        return (pred == labels).float().mean().item()

    for _epoch in range(EPOCHS):
        loss = train()
        values.extend([loss, test()])
    values.append(model.embedding.weight.abs().sum().item())
    return values
