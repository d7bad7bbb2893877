"""Graph classification with message passing written in plain PyTorch, the way the PyG
"Creating Message Passing Networks" tutorial's ``GCNConv`` and the common "GNNs without PyTorch
Geometric" rewrites spell it, size-reduced: ``add_self_loops`` as ``torch.cat([edge_index,
torch.arange(num_nodes).repeat(2, 1)], dim=1)``; ``degree`` by ``torch.zeros(num_nodes,
dtype=x.dtype).scatter_add_(0, col, torch.ones(col.size(0), dtype=x.dtype))`` (and checked
against ``torch.bincount(col, minlength=num_nodes)``); ``deg.pow(-0.5)`` with
``deg_inv_sqrt[deg_inv_sqrt == float('inf')] = 0``; ``norm = deg_inv_sqrt[row] *
deg_inv_sqrt[col]``; the aggregation ``torch.zeros_like(x).index_add_(0, col, norm.view(-1, 1) *
x[row])`` after ``self.lin(x)``, plus the separately learned ``self.bias``; PyG-style
mini-batching (node features concatenated, ``edge_index`` shifted by the running node count, a
``batch`` vector built by ``torch.full((n,), i, dtype=torch.long)``); readouts
``global_mean_pool`` (``index_add_`` then ``/ torch.bincount(batch).clamp(min=1).unsqueeze(1)``)
and ``global_max_pool`` (``scatter_reduce(0, batch.view(-1, 1).expand_as(x), x, reduce='amax',
include_self=False)``); a second, edge-conditioned ``MessagePassing``-style layer
(``torch.cat([x_i, x_j - x_i], dim=-1)`` messages, ``scatter_reduce(..., reduce='mean',
include_self=False)``, as ``EdgeConv`` with mean aggregation); ``F.cross_entropy``, ``Adam``
with ``weight_decay=5e-4`` and ``ReduceLROnPlateau``-free constant training, as the tutorial.

Changed: the TUDataset/MUTAG graphs are 12 seeded NumPy graphs of 4-7 nodes in two classes
(rings vs stars); hidden 64 -> 6; 200 epochs -> 5 of 3 batches; ``torch_scatter`` calls are the
``torch.Tensor.scatter_reduce`` equivalents that replace them; the loop's ``float(loss) *
data.num_graphs`` is ``loss.item() * ...`` (``float`` of a tensor that requires grad warns in
PyTorch 2.13, and chainrule warns the same).
"""

from __future__ import annotations

from typing import Any

import numpy as np

N_FEAT, HIDDEN, N_CLASSES = 3, 6, 2


def _layers(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn

    def add_self_loops(edge_index: Any, num_nodes: int) -> Any:
        loops = torch.arange(num_nodes).repeat(2, 1)
        return torch.cat([edge_index, loops], dim=1)

    def degree(index: Any, num_nodes: int, dtype: Any) -> Any:
        out = torch.zeros(num_nodes, dtype=dtype)
        return out.scatter_add_(0, index, torch.ones(index.size(0), dtype=dtype))

    class GCNConv(nn.Module):
        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__()
            self.lin = nn.Linear(in_channels, out_channels, bias=False)
            self.bias = nn.Parameter(torch.empty(out_channels))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            self.lin.reset_parameters()
            self.bias.data.zero_()

        def forward(self, x: Any, edge_index: Any) -> Any:
            # x has shape [N, in_channels], edge_index has shape [2, E]
            # Step 1: Add self-loops to the adjacency matrix.
            edge_index = add_self_loops(edge_index, num_nodes=x.size(0))
            # Step 2: Linearly transform node feature matrix.
            x = self.lin(x)
            # Step 3: Compute normalization.
            row, col = edge_index
            deg = degree(col, x.size(0), dtype=x.dtype)
            deg_inv_sqrt = deg.pow(-0.5)
            deg_inv_sqrt[deg_inv_sqrt == float("inf")] = 0
            norm = deg_inv_sqrt[row] * deg_inv_sqrt[col]
            # Step 4-5: Start propagating messages.
            out = torch.zeros_like(x).index_add_(0, col, norm.view(-1, 1) * x[row])
            # Step 6: Apply a final bias vector.
            out = out + self.bias
            return out

    class EdgeConv(nn.Module):
        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__()
            self.mlp = nn.Sequential(
                nn.Linear(2 * in_channels, out_channels),
                nn.ReLU(),
                nn.Linear(out_channels, out_channels),
            )

        def forward(self, x: Any, edge_index: Any) -> Any:
            row, col = edge_index  # messages flow from row (j) to col (i)
            x_i, x_j = x[col], x[row]
            msg = self.mlp(torch.cat([x_i, x_j - x_i], dim=-1))
            index = col.view(-1, 1).expand_as(msg)
            out = torch.zeros(x.size(0), msg.size(1), dtype=msg.dtype)
            return out.scatter_reduce(0, index, msg, reduce="mean", include_self=False)

    return GCNConv, EdgeConv


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    GCNConv, EdgeConv = _layers(torch_like)

    def global_mean_pool(x: Any, batch: Any) -> Any:
        size = int(batch.max().item() + 1)
        out = torch.zeros(size, x.size(1), dtype=x.dtype).index_add_(0, batch, x)
        return out / torch.bincount(batch, minlength=size).clamp(min=1).unsqueeze(1)

    def global_max_pool(x: Any, batch: Any) -> Any:
        size = int(batch.max().item() + 1)
        out = torch.zeros(size, x.size(1), dtype=x.dtype)
        index = batch.view(-1, 1).expand_as(x)
        return out.scatter_reduce(0, index, x, reduce="amax", include_self=False)

    class GNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = GCNConv(N_FEAT, HIDDEN)
            self.conv2 = GCNConv(HIDDEN, HIDDEN)
            self.conv3 = EdgeConv(HIDDEN, HIDDEN)
            self.lin = nn.Linear(2 * HIDDEN, N_CLASSES)

        def forward(self, x: Any, edge_index: Any, batch: Any) -> Any:
            x = self.conv1(x, edge_index).relu()
            x = self.conv2(x, edge_index).relu()
            x = x + self.conv3(x, edge_index)
            x = torch.cat([global_mean_pool(x, batch), global_max_pool(x, batch)], dim=1)
            x = F.dropout(x, p=0.0, training=self.training)
            return self.lin(x)

    return GNN()


def _graphs() -> list[tuple[np.ndarray, np.ndarray, int]]:
    rng = np.random.default_rng(47)
    graphs = []
    for g in range(12):
        n = int(rng.integers(4, 8))
        label = g % 2
        if label == 0:  # ring
            src = np.arange(n)
            dst = (src + 1) % n
        else:  # star
            src = np.zeros(n - 1, dtype=np.int64)
            dst = np.arange(1, n)
        edges = np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])])
        x = rng.random((n, N_FEAT))
        graphs.append((x, edges.astype(np.int64), label))
    return graphs


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    graphs = _graphs()
    model = make_model(torch_like)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    values: list[float] = []

    def collate(batch: list) -> tuple[Any, Any, Any, Any]:
        xs, edges, batch_vec, ys = [], [], [], []
        offset = 0
        for i, (x, e, y) in enumerate(batch):
            n = x.shape[0]
            xs.append(torch.from_numpy(x))
            edges.append(torch.from_numpy(e) + offset)
            batch_vec.append(torch.full((n,), i, dtype=torch.long))
            ys.append(y)
            offset += n
        return torch.cat(xs), torch.cat(edges, dim=1), torch.cat(batch_vec), torch.tensor(ys)

    loader = [collate(graphs[i : i + 4]) for i in range(0, 12, 4)]
    x, edge_index, _, _ = loader[0]
    col = edge_index[1]
    deg_scatter = torch.zeros(x.size(0)).scatter_add_(0, col, torch.ones(col.size(0)))
    deg_count = torch.bincount(col, minlength=x.size(0))
    values.append(float((deg_scatter == deg_count).all()))

    for _epoch in range(5):
        model.train()
        total_loss = 0.0
        for x, edge_index, batch, y in loader:
            optimizer.zero_grad()
            out = model(x, edge_index, batch)
            loss = F.cross_entropy(out, y)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * y.size(0)
        values.append(total_loss / 12)
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, edge_index, batch, y in loader:
                pred = model(x, edge_index, batch).argmax(dim=1)
                correct += int((pred == y).sum())
        values.append(correct / 12)
    return values
