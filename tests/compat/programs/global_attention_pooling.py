"""Graph classification with PyTorch Geometric's global attention pooling
(``torch_geometric.nn.aggr.AttentionalAggregation``, formerly ``GlobalAttention``; Li et al.
2016) and ``torch_scatter``'s helpers written out by hand, as dependency-free GNN repositories
do, size-reduced.

The idioms: a mini-batch of graphs as one disjoint graph (``edge_index`` offset by the running
node count with ``edge_index + num_nodes``, ``torch.cat(..., dim=1)``, the ``batch`` vector from
``torch.full((n,), i, dtype=torch.long)``, ``num_graphs = int(batch.max()) + 1``); GIN layers
(``out = x.clone().index_add_(0, dst, x[src])``, ``(1 + self.eps) * x`` with a learnable
``eps``); ``scatter_softmax`` (``src_max = torch.zeros(size, H).scatter_reduce(0, index,
src, reduce='amax', include_self=False)``, ``out = (src - src_max.gather(0,
index.view(-1, 1).expand_as(src))).exp()``, ``out_sum = torch.zeros(size, H).index_add_(0,
index, out)``, ``out / (out_sum.index_select(0, index) + 1e-16)``);
``AttentionalAggregation(gate_nn, nn)``'s ``gate = self.gate_nn(x).view(-1, 1)``, ``x =
self.nn(x)``, ``gate = softmax(gate, index)`` and ``scatter(gate * x, index, dim=0,
dim_size=size, reduce='sum')`` (here ``torch.zeros(...).scatter_add_(0, index.unsqueeze(-1)
.expand_as(src), src)``); ``global_mean_pool`` as ``scatter_reduce(..., reduce='mean',
include_self=False)`` and ``global_max_pool`` as ``reduce='amax'``; a ``torch.bincount(batch)``
node count per graph; the gate's attention weights checked to sum to one per graph with
``torch.zeros(B).index_add_``; ``F.cross_entropy`` on graph labels with ``Adam`` and
``StepLR``; ``model.eval()`` accuracy with ``.argmax(dim=1)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

N_FEAT, HIDDEN, N_CLASSES = 3, 8, 2


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    def scatter_softmax(src: Any, index: Any, dim_size: int) -> Any:
        """``torch_scatter.scatter_softmax`` along dim 0 (one column per head)."""
        src_max = torch.zeros(dim_size, src.size(1), dtype=src.dtype).scatter_reduce(
            0, index.view(-1, 1).expand_as(src), src, reduce="amax", include_self=False
        )
        out = (src - src_max.gather(0, index.view(-1, 1).expand_as(src))).exp()
        out_sum = torch.zeros(dim_size, src.size(1), dtype=src.dtype).index_add_(0, index, out)
        return out / (out_sum.index_select(0, index) + 1e-16)

    class GINConv(nn.Module):
        def __init__(self, mlp: Any, train_eps: bool = True) -> None:
            super().__init__()
            self.nn = mlp
            self.eps = nn.Parameter(torch.zeros(1)) if train_eps else 0.0

        def forward(self, x: Any, edge_index: Any) -> Any:
            src, dst = edge_index[0], edge_index[1]
            aggr = torch.zeros_like(x).index_add_(0, dst, x[src])
            return self.nn((1 + self.eps) * x + aggr)

    class AttentionalAggregation(nn.Module):
        def __init__(self, gate_nn: Any, nn: Any = None) -> None:
            super().__init__()
            self.gate_nn = gate_nn
            self.nn = nn

        def forward(self, x: Any, index: Any, dim_size: int) -> tuple[Any, Any]:
            gate = self.gate_nn(x).view(-1, 1)
            x = self.nn(x) if self.nn is not None else x
            gate = scatter_softmax(gate, index, dim_size)
            src = gate * x
            out = torch.zeros(dim_size, x.size(-1), dtype=x.dtype).scatter_add_(
                0, index.unsqueeze(-1).expand_as(src), src
            )
            return out, gate

        def __repr__(self) -> str:
            return f"{self.__class__.__name__}(gate_nn={self.gate_nn}, nn={self.nn})"

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = GINConv(
                nn.Sequential(nn.Linear(N_FEAT, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN))
            )
            self.conv2 = GINConv(
                nn.Sequential(nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN))
            )
            self.pool = AttentionalAggregation(
                gate_nn=nn.Sequential(nn.Linear(HIDDEN, 4), nn.Tanh(), nn.Linear(4, 1)),
                nn=nn.Linear(HIDDEN, HIDDEN),
            )
            self.lin = nn.Linear(3 * HIDDEN, N_CLASSES)

        def forward(self, x: Any, edge_index: Any, batch: Any, num_graphs: int) -> Any:
            x = F.relu(self.conv1(x, edge_index))
            x = F.relu(self.conv2(x, edge_index))
            att, gate = self.pool(x, batch, num_graphs)
            index = batch.view(-1, 1).expand_as(x)
            mean = torch.zeros(num_graphs, x.size(1), dtype=x.dtype).scatter_reduce(
                0, index, x, reduce="mean", include_self=False
            )
            mx = torch.zeros(num_graphs, x.size(1), dtype=x.dtype).scatter_reduce(
                0, index, x, reduce="amax", include_self=False
            )
            self.last_gate = gate
            return self.lin(torch.cat([att, mean, mx], dim=-1))

    return Net()


def _graphs(rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Rings (label 0) and stars (label 1) of 3-6 nodes with noisy features."""
    out = []
    for i in range(n):
        k = int(rng.integers(3, 7))
        if i % 2 == 0:
            e = [(j, (j + 1) % k) for j in range(k)]
        else:
            e = [(0, j) for j in range(1, k)]
        e = e + [(b, a) for a, b in e]
        x = rng.standard_normal((k, N_FEAT)) * 0.5
        x[:, 0] += np.bincount([a for a, _ in e], minlength=k)
        out.append((x, np.array(e, dtype=np.int64).T, i % 2))
    return out


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(2)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []

    def collate(graphs: list) -> tuple[Any, Any, Any, Any, int]:
        xs, edges, batch, ys = [], [], [], []
        num_nodes = 0
        for i, (x, e, y) in enumerate(graphs):
            xs.append(torch.from_numpy(x))
            edges.append(torch.from_numpy(e) + num_nodes)
            batch.append(torch.full((x.shape[0],), i, dtype=torch.long))
            ys.append(y)
            num_nodes += x.shape[0]
        batch = torch.cat(batch)
        return (
            torch.cat(xs),
            torch.cat(edges, dim=1),
            batch,
            torch.tensor(ys),
            int(batch.max()) + 1,
        )

    train = [collate(_graphs(rng, 6)) for _ in range(3)]
    test = collate(_graphs(rng, 8))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    for _epoch in range(3):
        model.train()
        for x, edge_index, batch, y, num_graphs in train:
            optimizer.zero_grad()
            out = model(x, edge_index, batch, num_graphs)
            loss = F.cross_entropy(out, y)
            loss.backward()
            optimizer.step()
            values.append(loss.item())
            # the attention weights of every graph sum to one
            sums = torch.zeros(num_graphs, dtype=x.dtype).index_add_(
                0, batch, model.last_gate.detach().view(-1)
            )
            assert torch.allclose(sums, torch.ones(num_graphs, dtype=x.dtype))
        scheduler.step()
    values += [model.conv1.eps.item(), model.conv2.eps.item()]

    model.eval()
    with torch.no_grad():
        x, edge_index, batch, y, num_graphs = test
        out = model(x, edge_index, batch, num_graphs)
        pred = out.argmax(dim=1)
        values.append(int((pred == y).sum()) / num_graphs)
        values += torch.bincount(batch).tolist()
        values += model.last_gate.view(-1).tolist()
    return values
