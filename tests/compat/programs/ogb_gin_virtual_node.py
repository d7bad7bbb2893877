"""snap-stanford/ogb (``examples/graphproppred/mol/conv.py``, ``gnn.py``, ``main_pyg.py`` and
``ogb/graphproppred/mol_encoder.py``), the GIN-virtual-node baseline for ogbg-molhiv, with
PyTorch Geometric's message passing and pooling written in plain torch, size-reduced.

Kept verbatim: ``AtomEncoder``/``BondEncoder`` (a ``torch.nn.ModuleList`` of
``torch.nn.Embedding``s initialised with ``torch.nn.init.xavier_uniform_(emb.weight.data)``,
summed over ``x.shape[1]`` features); ``GINConv`` with ``self.eps = torch.nn.Parameter(
torch.Tensor([0]))`` (the legacy constructor), ``self.mlp((1 + self.eps) * x + aggregated)``
and the message ``F.relu(x_j + edge_attr)``; ``GNN_node_Virtualnode`` (``self.virtualnode_embedding
= torch.nn.Embedding(1, emb_dim)`` with ``torch.nn.init.constant_(...weight.data, 0)``, its
lookup at ``torch.zeros(batch[-1].item() + 1).to(edge_index.dtype).to(edge_index.device)``,
``h_list[layer] + virtualnode_embedding[batch]``, ``F.dropout(F.relu(h), self.drop_ratio,
training = self.training)``, the virtual-node update ``global_add_pool(h_list[layer], batch) +
virtualnode_embedding`` through an MLP of ``torch.nn.BatchNorm1d`` layers, ``JK == "last"`` and
the residual ``h += h_list[layer]``); ``GNN``'s ``global_mean_pool`` and ``graph_pred_linear``;
``main_pyg.train``'s ``is_labeled = batch.y == batch.y`` (NaN labels skipped) and
``cls_criterion(pred.to(torch.float32)[is_labeled], batch.y.to(torch.float32)[is_labeled])``
with ``torch.nn.BCEWithLogitsLoss()``, the skip of a one-node batch (``batch.x.shape[0] == 1``),
``optim.Adam(model.parameters(), lr=0.001)``, and eval's ``torch.cat(y_pred, dim = 0)``.

Changed: PyG's ``MessagePassing.propagate`` (aggr="add") as ``torch.zeros_like(x).index_add_(0,
edge_index[1], message)`` and ``global_add_pool``/``global_mean_pool`` as ``index_add_`` over
``batch`` (divided by ``torch.bincount(batch)``); ogbg-molhiv -> 10 random molecules of 3-6
atoms (atom features 3 of vocabulary 5, bond features 2 of vocabulary 3), two of them
unlabeled (NaN); emb_dim 300 -> 8, 5 layers -> 3, drop_ratio 0.5 -> 0.0 for training
(0.5 kept in the module), 100 epochs -> 3 of batch 5; the model in float64 (in float32 the zero
gradients of the biases before BatchNorm are rounding noise, which Adam scales to +-lr: the
biases, the running means and so eval predictions then differ between libraries by 1e-3).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["init_state", "make_model", "run"]

RTOL = 1e-6  # the loss is computed in float32 (pred.to(torch.float32)) in a float64 model
EMB, LAYERS, ATOM_VOCAB, BOND_VOCAB, N_GRAPHS, EPOCHS, BATCH = 8, 3, 5, 3, 10, 3, 5


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    F = torch.nn.functional

    class AtomEncoder(torch.nn.Module):
        def __init__(self, emb_dim):  # noqa: ANN001, ANN204
            super(AtomEncoder, self).__init__()  # noqa: UP008
            self.atom_embedding_list = torch.nn.ModuleList()
            for _i, dim in enumerate([ATOM_VOCAB] * 3):
                emb = torch.nn.Embedding(dim, emb_dim)
                torch.nn.init.xavier_uniform_(emb.weight.data)
                self.atom_embedding_list.append(emb)

        def forward(self, x):  # noqa: ANN001, ANN201
            x_embedding = 0
            for i in range(x.shape[1]):
                x_embedding += self.atom_embedding_list[i](x[:, i])
            return x_embedding

    class BondEncoder(torch.nn.Module):
        def __init__(self, emb_dim):  # noqa: ANN001, ANN204
            super(BondEncoder, self).__init__()  # noqa: UP008
            self.bond_embedding_list = torch.nn.ModuleList()
            for _i, dim in enumerate([BOND_VOCAB] * 2):
                emb = torch.nn.Embedding(dim, emb_dim)
                torch.nn.init.xavier_uniform_(emb.weight.data)
                self.bond_embedding_list.append(emb)

        def forward(self, edge_attr):  # noqa: ANN001, ANN201
            bond_embedding = 0
            for i in range(edge_attr.shape[1]):
                bond_embedding += self.bond_embedding_list[i](edge_attr[:, i])
            return bond_embedding

    def global_add_pool(x, batch):  # noqa: ANN001, ANN202
        size = int(batch.max().item() + 1)
        return torch.zeros(size, x.shape[1], dtype=x.dtype).index_add_(0, batch, x)

    def global_mean_pool(x, batch):  # noqa: ANN001, ANN202
        count = torch.bincount(batch).to(x.dtype).clamp(min=1)
        return global_add_pool(x, batch) / count.unsqueeze(-1)

    class GINConv(torch.nn.Module):
        def __init__(self, emb_dim):  # noqa: ANN001, ANN204
            super(GINConv, self).__init__()  # noqa: UP008
            self.mlp = torch.nn.Sequential(
                torch.nn.Linear(emb_dim, 2 * emb_dim),
                torch.nn.BatchNorm1d(2 * emb_dim),
                torch.nn.ReLU(),
                torch.nn.Linear(2 * emb_dim, emb_dim),
            )
            self.eps = torch.nn.Parameter(torch.Tensor([0]))
            self.bond_encoder = BondEncoder(emb_dim=emb_dim)

        def forward(self, x, edge_index, edge_attr):  # noqa: ANN001, ANN201
            edge_embedding = self.bond_encoder(edge_attr)
            out = self.mlp(
                (1 + self.eps) * x + self.propagate(edge_index, x=x, edge_attr=edge_embedding)
            )
            return out

        def propagate(self, edge_index, x, edge_attr):  # noqa: ANN001, ANN201
            message = self.message(x[edge_index[0]], edge_attr)  # aggr = "add"
            return torch.zeros_like(x).index_add_(0, edge_index[1], message)

        def message(self, x_j, edge_attr):  # noqa: ANN001, ANN201
            return F.relu(x_j + edge_attr)

    class GNN_node_Virtualnode(torch.nn.Module):  # noqa: N801
        def __init__(self, num_layer, emb_dim, drop_ratio=0.5, JK="last", residual=False):  # noqa: ANN001, ANN204
            super(GNN_node_Virtualnode, self).__init__()  # noqa: UP008
            self.num_layer = num_layer
            self.drop_ratio = drop_ratio
            self.JK = JK
            self.residual = residual
            self.atom_encoder = AtomEncoder(emb_dim)
            self.virtualnode_embedding = torch.nn.Embedding(1, emb_dim)
            torch.nn.init.constant_(self.virtualnode_embedding.weight.data, 0)
            self.convs = torch.nn.ModuleList()
            self.batch_norms = torch.nn.ModuleList()
            self.mlp_virtualnode_list = torch.nn.ModuleList()
            for _layer in range(num_layer):
                self.convs.append(GINConv(emb_dim))
                self.batch_norms.append(torch.nn.BatchNorm1d(emb_dim))
            for _layer in range(num_layer - 1):
                self.mlp_virtualnode_list.append(
                    torch.nn.Sequential(
                        torch.nn.Linear(emb_dim, 2 * emb_dim),
                        torch.nn.BatchNorm1d(2 * emb_dim),
                        torch.nn.ReLU(),
                        torch.nn.Linear(2 * emb_dim, emb_dim),
                        torch.nn.BatchNorm1d(emb_dim),
                        torch.nn.ReLU(),
                    )
                )

        def forward(self, batched_data):  # noqa: ANN001, ANN201
            x, edge_index, edge_attr, batch = (
                batched_data.x, batched_data.edge_index, batched_data.edge_attr, batched_data.batch,
            )  # fmt: skip
            virtualnode_embedding = self.virtualnode_embedding(
                torch.zeros(batch[-1].item() + 1).to(edge_index.dtype).to(edge_index.device)
            )
            h_list = [self.atom_encoder(x)]
            for layer in range(self.num_layer):
                h_list[layer] = h_list[layer] + virtualnode_embedding[batch]
                h = self.convs[layer](h_list[layer], edge_index, edge_attr)
                h = self.batch_norms[layer](h)
                if layer == self.num_layer - 1:
                    h = F.dropout(h, self.drop_ratio, training=self.training)
                else:
                    h = F.dropout(F.relu(h), self.drop_ratio, training=self.training)
                if self.residual:
                    h = h + h_list[layer]
                h_list.append(h)
                if layer < self.num_layer - 1:
                    virtualnode_embedding_temp = (
                        global_add_pool(h_list[layer], batch) + virtualnode_embedding
                    )
                    if self.residual:
                        virtualnode_embedding = virtualnode_embedding + F.dropout(
                            self.mlp_virtualnode_list[layer](virtualnode_embedding_temp),
                            self.drop_ratio, training=self.training,
                        )  # fmt: skip
                    else:
                        virtualnode_embedding = F.dropout(
                            self.mlp_virtualnode_list[layer](virtualnode_embedding_temp),
                            self.drop_ratio, training=self.training,
                        )  # fmt: skip
            if self.JK == "last":
                node_representation = h_list[-1]
            elif self.JK == "sum":
                node_representation = 0
                for layer in range(self.num_layer + 1):
                    node_representation += h_list[layer]
            return node_representation

    class GNN(torch.nn.Module):
        def __init__(self, num_tasks, num_layer=LAYERS, emb_dim=EMB, drop_ratio=0.5):  # noqa: ANN001, ANN204
            super(GNN, self).__init__()  # noqa: UP008
            self.num_tasks = num_tasks
            self.gnn_node = GNN_node_Virtualnode(num_layer, emb_dim, drop_ratio=drop_ratio,
                                                 residual=True)  # fmt: skip
            self.pool = global_mean_pool
            self.graph_pred_linear = torch.nn.Linear(emb_dim, self.num_tasks)

        def forward(self, batched_data):  # noqa: ANN001, ANN201
            h_node = self.gnn_node(batched_data)
            h_graph = self.pool(h_node, batched_data.batch)
            return self.graph_pred_linear(h_graph)

    return GNN(num_tasks=1)


def init_state(tmp_path: Any) -> dict:
    import torch  # the starting weights, as the harness makes them

    torch.manual_seed(0)
    rng = np.random.default_rng(21)
    graphs = []
    for g in range(N_GRAPHS):
        n = int(rng.integers(3, 7))
        src = np.arange(n - 1)
        edges = np.concatenate([np.stack([src, src + 1]), np.stack([src + 1, src])], axis=1)
        bonds = rng.integers(0, BOND_VOCAB, (n - 1, 2))
        y = np.nan if g in (3, 8) else float(rng.integers(0, 2))
        graphs.append(
            (rng.integers(0, ATOM_VOCAB, (n, 3)), edges, np.concatenate([bonds, bonds]), y)
        )
    state = {k: v.detach().numpy().copy() for k, v in make_model(torch).state_dict().items()}
    return {"model": state, "graphs": graphs}


def _collate(torch: Any, graphs: list) -> Any:
    """PyG's ``Batch.from_data_list``: node offsets added to the edge indices, ``batch``."""
    xs, eis, eas, ys, batch, offset = [], [], [], [], [], 0
    for g, (x, ei, ea, y) in enumerate(graphs):
        xs.append(x)
        eis.append(ei + offset)
        eas.append(ea)
        ys.append([y])
        batch.append(np.full(len(x), g))
        offset += len(x)

    class Batch:
        pass

    b = Batch()
    b.x = torch.tensor(np.concatenate(xs))
    b.edge_index = torch.tensor(np.concatenate(eis, axis=1))
    b.edge_attr = torch.tensor(np.concatenate(eas))
    b.y = torch.tensor(np.array(ys))
    b.batch = torch.tensor(np.concatenate(batch))
    return b


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    torch.manual_seed(0)
    model = make_model(torch)
    load_numpy_state(torch, model, init["model"])
    model.gnn_node.drop_ratio = 0.0  # training without dropout (see "Changed")
    cls_criterion = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    graphs = init["graphs"]
    loader = [_collate(torch, graphs[i : i + BATCH]) for i in range(0, N_GRAPHS, BATCH)]
    values: list[float] = []
    for _epoch in range(EPOCHS):
        model.train()
        for _step, batch in enumerate(loader):
            if batch.x.shape[0] == 1 or batch.batch[-1] == 0:
                pass
            else:
                pred = model(batch)
                optimizer.zero_grad()
                ## ignore nan targets (unlabeled) when computing training loss.
                is_labeled = batch.y == batch.y
                loss = cls_criterion(
                    pred.to(torch.float32)[is_labeled], batch.y.to(torch.float32)[is_labeled]
                )
                loss.backward()
                optimizer.step()
                values.append(loss.item())
        model.eval()
        y_true, y_pred = [], []
        for batch in loader:
            with torch.no_grad():
                pred = model(batch)
            y_true.append(batch.y.view(pred.shape).detach().cpu())
            y_pred.append(pred.detach().cpu())
        y_pred = torch.cat(y_pred, dim=0)
        values.append(y_pred.sum().item())
    values.append(model.gnn_node.convs[0].eps.item())
    return values
