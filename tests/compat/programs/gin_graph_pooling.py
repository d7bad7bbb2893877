"""Graph Isomorphism Network (GIN) for graph classification, written without PyTorch Geometric as
weihua916/powerful-gnns (``models/graphcnn.py``) and the plain-PyTorch GNN tutorials write it,
size-reduced.

The idioms: the block-diagonal adjacency of a batch of graphs built as
``torch.sparse_coo_tensor(Adj_block_idx, Adj_block_elem, torch.Size([start_idx[-1],
start_idx[-1]]), check_invariants=True)`` (the explicit opt-in, as PyTorch 2.13 warns when it is
left implicit; ``torch.LongTensor(edge_mat).transpose(0, 1)``-style index rows,
``torch.ones(num_edge)`` values, self-loops added with ``torch.cat([Adj_block_idx, self_loop_edge],
1)``) and neighbour sums ``torch.spmm(Adj_block, h)`` / ``torch.sparse.mm``; the same sum via
``out.index_add_(0, dst, h[src])``; the learnable epsilon ``self.eps = nn.Parameter(
torch.zeros(self.num_layers - 1))`` and ``pooled = pooled + (1 + self.eps[layer]) * h``; the
``MLP`` of ``nn.ModuleList`` linears and ``nn.BatchNorm1d`` (``F.relu(self.batch_norms[layer](
self.linears[layer](h)))``); the graph readout per graph from a ``batch`` vector, sum pooling
with ``torch.zeros(num_graphs, dim).scatter_add_(0, batch.unsqueeze(-1).expand_as(h), h)``
(the tutorials' ``global_add_pool``) and max pooling with ``scatter_reduce_(0, index, h,
reduce='amax', include_self=False)`` (``global_max_pool``), plus mean pooling as
``torch.bincount(batch)``-normalised sums; the per-layer prediction sum ``score_over_layer +=
F.dropout(self.linears_prediction[layer](pooled_h), self.final_dropout, training=
self.training)``; ``nn.CrossEntropyLoss()``, ``optim.Adam`` with ``optim.lr_scheduler.StepLR(
optimizer, step_size=50, gamma=0.5)``; the test pass under ``model.eval()`` and ``torch.no_grad()``
with ``output.max(1, keepdim=True)[1]`` and ``pred.eq(labels.view_as(pred)).sum().cpu().item()``.

Changed: the repository's random graphs (the TU data sets) -> a few small NumPy-built graphs;
``final_dropout`` 0.5 -> 0 (random masks cannot agree between the two frameworks); 5 layers and
hidden 64 -> 3 layers and hidden 8; Adam's ``eps`` 1e-8 -> 1e-4: a ``Linear`` bias followed by
training-mode ``BatchNorm1d`` has a true gradient of zero, so its computed gradient is rounding
noise (~1e-16, different in every library), which Adam's ``m / (sqrt(v) + eps)`` with the tiny
default ``eps`` scales up to updates of ~1e-10; the larger ``eps`` keeps them at rounding size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IN_DIM, HIDDEN, N_CLASSES, NUM_LAYERS, NUM_MLP_LAYERS, STEPS, LR = 4, 8, 3, 3, 2, 4, 0.01
ADAM_EPS = 1e-4  # see the module docstring: the biases before BatchNorm get rounding noise
SIZES = [5, 4, 6, 3]


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class MLP(nn.Module):
        def __init__(self, num_layers: int, input_dim: int, hidden_dim: int, output_dim: int):
            super().__init__()
            self.linear_or_not = True
            self.num_layers = num_layers
            if num_layers < 1:
                raise ValueError("number of layers should be positive!")
            elif num_layers == 1:
                self.linear = nn.Linear(input_dim, output_dim)
            else:
                self.linear_or_not = False
                self.linears = torch.nn.ModuleList()
                self.batch_norms = torch.nn.ModuleList()
                self.linears.append(nn.Linear(input_dim, hidden_dim))
                for _layer in range(num_layers - 2):
                    self.linears.append(nn.Linear(hidden_dim, hidden_dim))
                self.linears.append(nn.Linear(hidden_dim, output_dim))
                for _layer in range(num_layers - 1):
                    self.batch_norms.append(nn.BatchNorm1d(hidden_dim))

        def forward(self, x: Any) -> Any:
            if self.linear_or_not:
                return self.linear(x)
            h = x
            for layer in range(self.num_layers - 1):
                h = F.relu(self.batch_norms[layer](self.linears[layer](h)))
            return self.linears[self.num_layers - 1](h)

    class GraphCNN(nn.Module):
        def __init__(self, final_dropout: float = 0.0, graph_pooling_type: str = "sum"):
            super().__init__()
            self.final_dropout = final_dropout
            self.num_layers = NUM_LAYERS
            self.graph_pooling_type = graph_pooling_type
            self.eps = nn.Parameter(torch.zeros(self.num_layers - 1))
            self.mlps = torch.nn.ModuleList()
            self.batch_norms = torch.nn.ModuleList()
            for layer in range(self.num_layers - 1):
                in_dim = IN_DIM if layer == 0 else HIDDEN
                self.mlps.append(MLP(NUM_MLP_LAYERS, in_dim, HIDDEN, HIDDEN))
                self.batch_norms.append(nn.BatchNorm1d(HIDDEN))
            self.linears_prediction = torch.nn.ModuleList()
            for layer in range(NUM_LAYERS):
                in_dim = IN_DIM if layer == 0 else HIDDEN
                self.linears_prediction.append(nn.Linear(in_dim, N_CLASSES))

        def next_layer_eps(self, h: Any, layer: int, adj: Any) -> Any:
            pooled = torch.spmm(adj, h)
            pooled = pooled + (1 + self.eps[layer]) * h
            pooled_rep = self.mlps[layer](pooled)
            h = self.batch_norms[layer](pooled_rep)
            return F.relu(h)

        def readout(self, h: Any, batch: Any, num_graphs: int) -> Any:
            index = batch.unsqueeze(-1).expand_as(h)
            if self.graph_pooling_type == "sum":
                out = torch.zeros(num_graphs, h.size(1), dtype=h.dtype)
                return out.scatter_add_(0, index, h)
            if self.graph_pooling_type == "max":
                out = torch.zeros(num_graphs, h.size(1), dtype=h.dtype)
                return out.scatter_reduce_(0, index, h, reduce="amax", include_self=False)
            counts = torch.bincount(batch, minlength=num_graphs).clamp(min=1).unsqueeze(1)
            summed = torch.zeros(num_graphs, h.size(1), dtype=h.dtype).index_add_(0, batch, h)
            return summed / counts.to(h.dtype)

        def forward(self, x: Any, adj: Any, batch: Any, num_graphs: int) -> Any:
            hidden_rep = [x]
            h = x
            for layer in range(self.num_layers - 1):
                h = self.next_layer_eps(h, layer, adj)
                hidden_rep.append(h)
            score_over_layer = 0
            for layer, h in enumerate(hidden_rep):
                pooled_h = self.readout(h, batch, num_graphs)
                score_over_layer += F.dropout(
                    self.linears_prediction[layer](pooled_h),
                    self.final_dropout,
                    training=self.training,
                )
            return score_over_layer

    return GraphCNN()


def make_batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node features, an (2, E) edge list of the block-diagonal graph, the ``batch`` vector."""
    feats, edges, batch, start = [], [], [], 0
    for g, n in enumerate(SIZES):
        feats.append(rng.normal(size=(n, IN_DIM)))
        for i in range(n):  # a ring plus a random chord, both directions
            j = (i + 1) % n
            edges += [(start + i, start + j), (start + j, start + i)]
        a, b = rng.choice(n, 2, replace=False)
        edges += [(start + a, start + b), (start + b, start + a)]
        batch += [g] * n
        start += n
    edge_mat = np.unique(np.array(edges), axis=0).T
    return np.concatenate(feats), edge_mat, np.array(batch)


def build_adj(torch_like: Any, edge_mat: np.ndarray, num_nodes: int) -> Any:
    torch = torch_like
    Adj_block_idx = torch.LongTensor(edge_mat.tolist())
    Adj_block_elem = torch.ones(Adj_block_idx.shape[1])
    self_loop_edge = torch.LongTensor([range(num_nodes), range(num_nodes)])
    elem = torch.ones(num_nodes)
    Adj_block_idx = torch.cat([Adj_block_idx, self_loop_edge], 1)
    Adj_block_elem = torch.cat([Adj_block_elem, elem], 0)
    # explicit opt-in: torch warns once when check_invariants is left implicit
    shape = torch.Size([num_nodes, num_nodes])
    return torch.sparse_coo_tensor(Adj_block_idx, Adj_block_elem, shape, check_invariants=True)


def aggregation_facts(torch_like: Any, x: Any, adj: Any, edge_mat: np.ndarray) -> list[float]:
    """``torch.sparse.mm`` against ``index_add_`` message passing and the dense product."""
    torch = torch_like
    src, dst = as_tensor(torch, edge_mat[0]), as_tensor(torch, edge_mat[1])
    by_spmm = torch.sparse.mm(adj, x)
    by_index_add = torch.zeros_like(x).index_add_(0, dst, x[src]) + x
    by_dense = adj.to_dense() @ x
    return [
        float(adj.is_sparse),
        float(adj._nnz()),
        (by_spmm - by_index_add).abs().max().item(),
        (by_spmm - by_dense).abs().max().item(),
        by_spmm.sum().item(),
    ]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    optim = torch_like.optim
    rng = np.random.default_rng(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    feats, edge_mat, batch_np = make_batch(rng)
    x = as_tensor(torch, feats)
    batch = as_tensor(torch, batch_np)
    adj = build_adj(torch, edge_mat, len(batch_np))
    labels = torch.LongTensor([0, 2, 1, 2])
    values = aggregation_facts(torch, x, adj, edge_mat)

    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=LR, eps=ADAM_EPS)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    for pooling in ["sum", "max", "average"]:
        model.graph_pooling_type = pooling
        for _step in range(STEPS):
            model.train()
            output = model(x, adj, batch, len(SIZES))
            loss = criterion(output, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            values += [loss.item(), scheduler.get_last_lr()[0]]
        values += model.eps.detach().tolist()
        model.eval()
        with torch.no_grad():
            output = model(x, adj, batch, len(SIZES))
        pred = output.max(1, keepdim=True)[1]
        correct = pred.eq(labels.view_as(pred)).sum().cpu().item()
        values += [float(correct)] + output.flatten().tolist()
    values += model.batch_norms[0].running_mean.tolist()
    values += [float(model.batch_norms[0].num_batches_tracked.item())]
    return values
