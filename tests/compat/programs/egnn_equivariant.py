"""E(n)-equivariant graph neural network, as vgsatorras/egnn's ``models/gcl.py`` (``E_GCL``) and
``egnn_clean.py`` write it, size-reduced.

The idioms: ``unsorted_segment_sum`` as ``result = data.new_full(result_shape, 0)`` then
``result.scatter_add_(0, segment_ids.unsqueeze(-1).expand(-1, data.size(1)), data)``;
``unsorted_segment_mean`` dividing by a scattered ``count`` clamped with ``count.clamp(min=1)``;
the fully connected edge list built as Python lists turned into ``torch.LongTensor(rows)`` (and
``edges = [torch.LongTensor(edges[0]), torch.LongTensor(edges[1])]``) and repeated over the batch
with ``rows + i * n_nodes`` / ``torch.cat``; ``coord2radial``'s ``coord_diff = coord[row] -
coord[col]``, ``radial = torch.sum(coord_diff ** 2, 1).unsqueeze(1)`` and the normalised
``coord_diff / (norm + self.epsilon)`` with ``norm = torch.sqrt(radial).detach()``; the edge model
``torch.cat([source, target, radial, edge_attr], dim=1)`` through an ``nn.Sequential`` with
``nn.SiLU``, an attention gate ``nn.Sigmoid``; the coordinate MLP ending in a bias-free
``nn.Linear(hidden_nf, 1, bias=False)`` initialised by ``torch.nn.init.xavier_uniform_(
layer.weight, gain=0.001)``, its update ``trans = coord_diff * self.coord_mlp(edge_feat)`` and
``coord = coord + agg * self.coords_weight``; the node model's residual ``x + self.node_mlp(
agg)``; ``self.add_module("gcl_%d" % i, ...)`` with ``self._modules["gcl_%d" % i]``; and the
check that the network is equivariant: rotating (an orthogonal ``Q`` from ``torch.linalg.qr`` of
a random matrix) and translating the input coordinates rotates and translates the output ones
and leaves the node features unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

N_NODES, BATCH, IN_NF, HIDDEN, OUT_NF, LAYERS, STEPS, LR = 5, 2, 3, 8, 2, 2, 4, 1e-2


def unsorted_segment_sum(data: Any, segment_ids: Any, num_segments: int) -> Any:
    result_shape = (num_segments, data.size(1))
    result = data.new_full(result_shape, 0)  # Init empty result tensor.
    segment_ids = segment_ids.unsqueeze(-1).expand(-1, data.size(1))
    result.scatter_add_(0, segment_ids, data)
    return result


def unsorted_segment_mean(data: Any, segment_ids: Any, num_segments: int) -> Any:
    result_shape = (num_segments, data.size(1))
    segment_ids = segment_ids.unsqueeze(-1).expand(-1, data.size(1))
    result = data.new_full(result_shape, 0)  # Init empty result tensor.
    count = data.new_full(result_shape, 0)
    result.scatter_add_(0, segment_ids, data)
    count.scatter_add_(0, segment_ids, data.new_ones(data.shape))
    return result / count.clamp(min=1)


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn

    class E_GCL(nn.Module):
        def __init__(
            self,
            input_nf: int,
            output_nf: int,
            hidden_nf: int,
            edges_in_d: int = 0,
            act_fn: Any = None,
            residual: bool = True,
            attention: bool = False,
            normalize: bool = False,
            coords_agg: str = "mean",
            tanh: bool = False,
        ):
            super().__init__()
            act_fn = nn.SiLU() if act_fn is None else act_fn
            input_edge = input_nf * 2
            self.residual = residual
            self.attention = attention
            self.normalize = normalize
            self.coords_agg = coords_agg
            self.tanh = tanh
            self.epsilon = 1e-8
            edge_coords_nf = 1
            self.edge_mlp = nn.Sequential(
                nn.Linear(input_edge + edge_coords_nf + edges_in_d, hidden_nf),
                act_fn,
                nn.Linear(hidden_nf, hidden_nf),
                act_fn,
            )
            self.node_mlp = nn.Sequential(
                nn.Linear(hidden_nf + input_nf, hidden_nf), act_fn, nn.Linear(hidden_nf, output_nf)
            )
            layer = nn.Linear(hidden_nf, 1, bias=False)
            torch.nn.init.xavier_uniform_(layer.weight, gain=0.001)
            coord_mlp = [nn.Linear(hidden_nf, hidden_nf), act_fn, layer]
            if self.tanh:
                coord_mlp.append(nn.Tanh())
            self.coord_mlp = nn.Sequential(*coord_mlp)
            if self.attention:
                self.att_mlp = nn.Sequential(nn.Linear(hidden_nf, 1), nn.Sigmoid())

        def edge_model(self, source: Any, target: Any, radial: Any, edge_attr: Any) -> Any:
            if edge_attr is None:  # Unused.
                out = torch.cat([source, target, radial], dim=1)
            else:
                out = torch.cat([source, target, radial, edge_attr], dim=1)
            out = self.edge_mlp(out)
            if self.attention:
                att_val = self.att_mlp(out)
                out = out * att_val
            return out

        def node_model(self, x: Any, edge_index: Any, edge_attr: Any, node_attr: Any) -> Any:
            row, col = edge_index
            agg = unsorted_segment_sum(edge_attr, row, num_segments=x.size(0))
            if node_attr is not None:
                agg = torch.cat([x, agg, node_attr], dim=1)
            else:
                agg = torch.cat([x, agg], dim=1)
            out = self.node_mlp(agg)
            if self.residual:
                out = x + out
            return out, agg

        def coord_model(self, coord: Any, edge_index: Any, coord_diff: Any, edge_feat: Any):
            row, col = edge_index
            trans = coord_diff * self.coord_mlp(edge_feat)
            if self.coords_agg == "sum":
                agg = unsorted_segment_sum(trans, row, num_segments=coord.size(0))
            elif self.coords_agg == "mean":
                agg = unsorted_segment_mean(trans, row, num_segments=coord.size(0))
            else:
                raise Exception("Wrong coords_agg parameter %s" % self.coords_agg)  # noqa: UP031
            coord = coord + agg
            return coord

        def coord2radial(self, edge_index: Any, coord: Any) -> tuple[Any, Any]:
            row, col = edge_index
            coord_diff = coord[row] - coord[col]
            radial = torch.sum(coord_diff**2, 1).unsqueeze(1)
            if self.normalize:
                norm = torch.sqrt(radial).detach() + self.epsilon
                coord_diff = coord_diff / norm
            return radial, coord_diff

        def forward(
            self, h: Any, edge_index: Any, coord: Any, edge_attr: Any = None, node_attr: Any = None
        ) -> tuple[Any, Any, Any]:
            row, col = edge_index
            radial, coord_diff = self.coord2radial(edge_index, coord)
            edge_feat = self.edge_model(h[row], h[col], radial, edge_attr)
            coord = self.coord_model(coord, edge_index, coord_diff, edge_feat)
            h, agg = self.node_model(h, edge_index, edge_feat, node_attr)
            return h, coord, edge_attr

    class EGNN(nn.Module):
        def __init__(
            self,
            in_node_nf: int,
            hidden_nf: int,
            out_node_nf: int,
            in_edge_nf: int = 0,
            n_layers: int = 4,
            attention: bool = False,
            normalize: bool = False,
        ):
            super().__init__()
            self.hidden_nf = hidden_nf
            self.n_layers = n_layers
            self.embedding_in = nn.Linear(in_node_nf, self.hidden_nf)
            self.embedding_out = nn.Linear(self.hidden_nf, out_node_nf)
            for i in range(0, n_layers):
                self.add_module(
                    "gcl_%d" % i,  # noqa: UP031
                    E_GCL(
                        self.hidden_nf,
                        self.hidden_nf,
                        self.hidden_nf,
                        edges_in_d=in_edge_nf,
                        act_fn=nn.SiLU(),
                        residual=True,
                        attention=attention,
                        normalize=normalize,
                        coords_agg="mean" if i == 0 else "sum",
                    ),
                )

        def forward(self, h: Any, x: Any, edges: Any, edge_attr: Any) -> tuple[Any, Any]:
            h = self.embedding_in(h)
            for i in range(0, self.n_layers):
                h, x, _ = self._modules["gcl_%d" % i](h, edges, x, edge_attr=edge_attr)  # noqa: UP031
            h = self.embedding_out(h)
            return h, x

    return EGNN(
        IN_NF, HIDDEN, OUT_NF, in_edge_nf=1, n_layers=LAYERS, attention=True, normalize=True
    )


def get_edges(n_nodes: int) -> list[list[int]]:
    rows, cols = [], []
    for i in range(n_nodes):
        for j in range(n_nodes):
            if i != j:
                rows.append(i)
                cols.append(j)
    return [rows, cols]


def get_edges_batch(torch_like: Any, n_nodes: int, batch_size: int) -> tuple[list[Any], Any]:
    torch = torch_like
    edges = get_edges(n_nodes)
    edge_attr = torch.ones(len(edges[0]) * batch_size, 1)
    edges = [torch.LongTensor(edges[0]), torch.LongTensor(edges[1])]
    if batch_size == 1:
        return edges, edge_attr
    rows, cols = [], []
    for i in range(batch_size):
        rows.append(edges[0] + n_nodes * i)
        cols.append(edges[1] + n_nodes * i)
    edges = [torch.cat(rows), torch.cat(cols)]
    return edges, edge_attr


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(7)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    edges, edge_attr = get_edges_batch(torch_like, N_NODES, BATCH)
    values: list[float] = [float(edges[0].dtype == torch.int64), *edges[1][:6].tolist()]
    values += [len(edges[0]), edge_attr.sum().item()]

    h = as_tensor(torch_like, rng.standard_normal((N_NODES * BATCH, IN_NF)))
    x = as_tensor(torch_like, rng.standard_normal((N_NODES * BATCH, 3)))
    target = as_tensor(torch_like, rng.standard_normal((N_NODES * BATCH, 3)))

    # equivariance: rotate + translate the input, the output follows; h is invariant
    q, r = torch.linalg.qr(as_tensor(torch_like, rng.standard_normal((3, 3))))
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)  # a unique Q (positive diag of R)
    shift = as_tensor(torch_like, rng.standard_normal((1, 3)))
    with torch.no_grad():
        h_out, x_out = model(h, x, edges, edge_attr)
        h_rot, x_rot = model(h, x @ q.T + shift, edges, edge_attr)
    values += [float(torch.allclose(h_out, h_rot, atol=1e-10))]
    values += [float(torch.allclose(x_out @ q.T + shift, x_rot, atol=1e-10))]
    values += [(q.T @ q - torch.eye(3)).abs().max().item() < 1e-12]
    values += h_out.flatten().tolist() + x_out.flatten().tolist()
    coord_layer = model.gcl_0.coord_mlp[-1].weight
    values += [float(coord_layer.abs().max().item() < 0.01)]

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    for _step in range(STEPS):
        optimizer.zero_grad()
        h_out, x_out = model(h, x, edges, edge_attr)
        loss = torch.nn.functional.mse_loss(x_out, target) + h_out.pow(2).mean()
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.gcl_1.coord_mlp[0].weight.grad.norm().item()]
    return values


def check(values: list[float]) -> None:
    """Invariant features, equivariant coordinates, an orthogonal Q, a 0.001-gain last layer."""
    assert values[9:12] == [1.0, 1.0, 1.0], values[9:12]
    assert values[12 + 2 * N_NODES * BATCH + 3 * N_NODES * BATCH] == 1.0
