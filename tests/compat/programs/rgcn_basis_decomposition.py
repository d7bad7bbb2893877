"""R-GCN entity classification (Schlichtkrull et al.; the plain-PyTorch layer of PyG's
``RGCNConv`` and the ``torch-rgcn`` reproduction), size-reduced on a small multi-relational graph:
inverse relations added as ``torch.cat([edge_index, edge_index.flip(0)], dim=1)`` with ``edge_type
+ num_relations``; the per-relation normalisation ``1 / c_{i,r}`` from ``torch.unique(dst *
num_rels + etype, return_inverse=True, return_counts=True)`` and ``counts[inverse]``; basis
decomposition ``torch.einsum('rb,bio->rio', self.comp, self.bases)`` (the first layer's
``self.comp @ weight.view(self.num_bases, -1)`` spelled as PyG does, then ``.view(num_relations,
in, out)``); featureless input, so relation ``r``'s messages are rows ``weight[r][src]`` (PyG's
``x_l.dtype == torch.long`` branch, ``root[x_r]`` for the self connection); message passing per
relation with a boolean mask ``edge_type == r`` and ``out.index_add_(0, dst, msg *
norm.unsqueeze(-1))``; the second layer on features as ``h[src] @ weight[r]``; mean vs. sum
aggregation checked against ``scatter_reduce(..., reduce='mean', include_self=False)``;
``F.cross_entropy`` on ``train_idx`` plus the paper's L2 penalty on the first layer
(``model.conv1.comp.pow(2).sum()``) and ``Adam``; accuracy by ``argmax`` on ``test_idx``.

Changed: AIFB -> 18 seeded nodes, 3 relations (+3 inverse), 4 classes, hidden 16 -> 6, bases 30
-> 2, 50 epochs -> 6; ``glorot`` initialisation is ``nn.init.xavier_uniform_``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

NODES, RELS, CLASSES, HIDDEN, BASES = 18, 3, 4, 6, 2


def _graph() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3520)
    labels = np.arange(NODES) % CLASSES
    src, dst, etype = [], [], []
    for _ in range(40):
        s, d = rng.integers(0, NODES, size=2)
        if s == d:
            continue
        src.append(s)
        dst.append(d)
        etype.append((labels[s] + labels[d]) % RELS)
    return np.array([src, dst]), np.array(etype), labels


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class RGCNConv(nn.Module):
        def __init__(self, in_channels: int, out_channels: int, num_relations: int) -> None:
            super().__init__()
            self.in_channels, self.out_channels = in_channels, out_channels
            self.num_relations, self.num_bases = num_relations, BASES
            self.bases = nn.Parameter(torch.empty(BASES, in_channels, out_channels))
            self.comp = nn.Parameter(torch.empty(num_relations, BASES))
            self.root = nn.Parameter(torch.empty(in_channels, out_channels))
            self.bias = nn.Parameter(torch.empty(out_channels))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            nn.init.xavier_uniform_(self.bases)
            nn.init.xavier_uniform_(self.comp)
            nn.init.xavier_uniform_(self.root)
            bound = 1.0 / math.sqrt(self.in_channels)
            nn.init.uniform_(self.bias, -bound, bound)

        def relation_weights(self) -> Any:
            return torch.einsum("rb,bio->rio", self.comp, self.bases)

        def forward(self, x: Any, edge_index: Any, edge_type: Any, norm: Any) -> Any:
            if x.dtype == torch.long:  # featureless: PyG's comp @ weight.view(num_bases, -1)
                weight = (self.comp @ self.bases.view(self.num_bases, -1)).view(
                    self.num_relations, self.in_channels, self.out_channels
                )
            else:
                weight = self.relation_weights()
            out = torch.zeros(NODES, self.out_channels, dtype=weight.dtype)
            src, dst = edge_index
            for r in range(self.num_relations):
                mask = edge_type == r
                if not mask.any():
                    continue
                s, d = src[mask], dst[mask]
                msg = weight[r, x[s]] if x.dtype == torch.long else x[s] @ weight[r]
                out.index_add_(0, d, msg * norm[mask].unsqueeze(-1))
            root = self.root[x] if x.dtype == torch.long else x @ self.root
            return out + root + self.bias

    class RGCN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = RGCNConv(NODES, HIDDEN, 2 * RELS)
            self.conv2 = RGCNConv(HIDDEN, CLASSES, 2 * RELS)

        def forward(self, edge_index: Any, edge_type: Any, norm: Any) -> Any:
            x = torch.arange(NODES)
            x = torch.nn.functional.relu(self.conv1(x, edge_index, edge_type, norm))
            return self.conv2(x, edge_index, edge_type, norm)

    return RGCN()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    edges, etypes, labels = _graph()
    edge_index = torch.from_numpy(edges)
    edge_type = torch.from_numpy(etypes)
    # inverse relations
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    edge_type = torch.cat([edge_type, edge_type + RELS])
    # 1 / c_{i,r}: in-degree of the destination under each relation
    num_rels = 2 * RELS
    key = edge_index[1] * num_rels + edge_type
    _, inverse, counts = torch.unique(key, return_inverse=True, return_counts=True)
    norm = 1.0 / counts[inverse].to(torch.get_default_dtype())
    y = torch.from_numpy(labels)
    train_idx, test_idx = torch.arange(0, NODES, 2), torch.arange(1, NODES, 2)
    model = make_model(torch_like)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    values: list[float] = [float(counts.sum()), float(norm.sum())]
    # the normalised sum is the per-relation mean
    with torch.no_grad():
        w = model.conv2.relation_weights()
        h = torch.randn(NODES, HIDDEN, generator=torch.Generator().manual_seed(0))
        mask = edge_type == 1
        s, d = edge_index[0][mask], edge_index[1][mask]
        summed = torch.zeros(NODES, CLASSES).index_add_(0, d, (h[s] @ w[1]) * norm[mask, None])
        index = d.view(-1, 1).expand(-1, CLASSES)
        mean = torch.zeros(NODES, CLASSES).scatter_reduce(
            0, index, h[s] @ w[1], reduce="mean", include_self=False
        )
        values.append(float(torch.allclose(summed, mean)))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    l2 = 5e-4
    for _epoch in range(6):
        model.train()
        optimizer.zero_grad()
        out = model(edge_index, edge_type, norm)
        loss = F.cross_entropy(out[train_idx], y[train_idx])
        loss = loss + l2 * model.conv1.comp.pow(2).sum()
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            pred = model(edge_index, edge_type, norm).argmax(dim=-1)
            test_acc = (pred[test_idx] == y[test_idx]).float().mean()
        values.extend([loss.item(), test_acc.item()])
    return values
