"""Gilmer et al.'s MPNN for QM9 (the edge-network + GRU + Set2Set model of the PyG ``qm9_nn_conv``
example and of the plain-PyTorch re-implementations), written without PyG, size-reduced.

The idioms: the edge network ``nn.Sequential(nn.Linear(edge_dim, 32), nn.ReLU(),
nn.Linear(32, dim * dim))`` whose output is ``.view(-1, dim, dim)``, per-edge messages
``torch.bmm(W, h[src].unsqueeze(-1)).squeeze(-1)``, the mean aggregation over destination nodes
(``out.index_add_(0, dst, msg)`` divided by the in-degree from ``deg.scatter_add_(0, dst,
torch.ones_like(...))``, ``deg.clamp(min=1).unsqueeze(-1)``), the root weight ``x @ self.root
+ self.bias``, ``nn.GRU(dim, dim)`` run over one step with the nodes as the batch
(``out.unsqueeze(0)``, the hidden state carried across the three message passes), the Set2Set
readout (``nn.LSTM(2 * dim, dim, num_layers=1)``, ``q_star`` starting at zeros, ``e = (x *
q[batch]).sum(dim=-1, keepdim=True)``, the segment softmax done by hand with
``torch.full(...).scatter_reduce_(0, index, e, reduce="amax", include_self=True)``, ``(e -
e_max[batch]).exp()`` and ``torch.zeros(...).scatter_add_(0, index.expand_as(a), a)``, ``r =
x.new_zeros(B, dim).index_add_(0, batch, a * x)``, ``torch.cat([q, r], dim=-1)``), the target
standardised with its mean and std, ``F.l1_loss`` on the regression target, the MAE in the
original units (``(model(data) * std - y).abs().sum().item()``), ``Adam`` and
``ReduceLROnPlateau(optimizer, mode="min", factor=0.7, patience=1, min_lr=1e-5)``, and the
per-graph mean pool ``torch.segment_reduce(x, "mean", lengths=torch.bincount(batch))``.

Changed: QM9 -> 3 random molecular graphs (5, 4 and 6 atoms, bidirectional bonds) batched by
concatenating node lists with offsets; dim 64 -> 6; 300 epochs -> 4 steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

NODE_DIM, EDGE_DIM, DIM, STEPS, PASSES = 5, 3, 6, 4, 3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class NNConv(nn.Module):
        """The edge-conditioned convolution: a matrix per edge from the edge features."""

        def __init__(self, in_channels: int, out_channels: int, edge_nn: Any) -> None:
            super().__init__()
            self.in_channels, self.out_channels = in_channels, out_channels
            self.nn = edge_nn
            self.root = nn.Parameter(torch.empty(in_channels, out_channels))
            self.bias = nn.Parameter(torch.empty(out_channels))
            nn.init.xavier_uniform_(self.root)
            nn.init.zeros_(self.bias)

        def forward(self, x: Any, edge_index: Any, edge_attr: Any) -> Any:
            src, dst = edge_index[0], edge_index[1]
            weight = self.nn(edge_attr).view(-1, self.in_channels, self.out_channels)
            msg = torch.bmm(weight.transpose(1, 2), x[src].unsqueeze(-1)).squeeze(-1)
            out = torch.zeros(x.size(0), self.out_channels, dtype=x.dtype)
            out.index_add_(0, dst, msg)
            deg = torch.zeros(x.size(0), dtype=x.dtype)
            deg.scatter_add_(0, dst, torch.ones_like(dst, dtype=x.dtype))
            out = out / deg.clamp(min=1).unsqueeze(-1)
            return out + x @ self.root + self.bias

    class Set2Set(nn.Module):
        def __init__(self, in_channels: int, processing_steps: int) -> None:
            super().__init__()
            self.in_channels = in_channels
            self.out_channels = 2 * in_channels
            self.processing_steps = processing_steps
            self.lstm = nn.LSTM(self.out_channels, in_channels, num_layers=1)

        def forward(self, x: Any, batch: Any, size: int) -> Any:
            h = (x.new_zeros((1, size, self.in_channels)), x.new_zeros((1, size, self.in_channels)))
            q_star = x.new_zeros(size, self.out_channels)
            for _ in range(self.processing_steps):
                q, h = self.lstm(q_star.unsqueeze(0), h)
                q = q.view(size, self.in_channels)
                e = (x * q[batch]).sum(dim=-1, keepdim=True)
                index = batch.unsqueeze(-1)
                e_max = torch.full((size, 1), float("-inf"), dtype=x.dtype)
                e_max = e_max.scatter_reduce_(0, index, e, reduce="amax", include_self=True)
                a = (e - e_max[batch]).exp()
                a_sum = torch.zeros(size, 1, dtype=x.dtype).scatter_add_(0, index, a)
                a = a / (a_sum[batch] + 1e-16)
                r = x.new_zeros(size, self.in_channels).index_add_(0, batch, a * x)
                q_star = torch.cat([q, r], dim=-1)
            return q_star

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin0 = nn.Linear(NODE_DIM, DIM)
            edge_nn = nn.Sequential(nn.Linear(EDGE_DIM, 8), nn.ReLU(), nn.Linear(8, DIM * DIM))
            self.conv = NNConv(DIM, DIM, edge_nn)
            self.gru = nn.GRU(DIM, DIM)
            self.set2set = Set2Set(DIM, processing_steps=3)
            self.lin1 = nn.Linear(2 * DIM, DIM)
            self.lin2 = nn.Linear(DIM, 1)

        def forward(self, data: dict) -> Any:
            out = F.relu(self.lin0(data["x"]))
            h = out.unsqueeze(0)
            for _ in range(PASSES):
                m = F.relu(self.conv(out, data["edge_index"], data["edge_attr"]))
                out, h = self.gru(m.unsqueeze(0), h)
                out = out.squeeze(0)
            out = self.set2set(out, data["batch"], data["num_graphs"])
            out = F.relu(self.lin1(out))
            out = self.lin2(out)
            return out.view(-1)

    return Net()


def make_batch(torch_like: Any, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    """Three small molecules concatenated PyG-style (node offsets, a ``batch`` vector)."""
    xs, edges, attrs, batch, offset = [], [], [], [], 0
    for g, n in enumerate((5, 4, 6)):
        xs.append(rng.standard_normal((n, NODE_DIM)))
        ring = [(i, (i + 1) % n) for i in range(n)] + [(0, n // 2)]
        e = np.array(ring + [(j, i) for i, j in ring]).T + offset
        edges.append(e)
        attrs.append(rng.random((e.shape[1], EDGE_DIM)))
        batch += [g] * n
        offset += n
    data = {
        "x": torch_like.tensor(np.concatenate(xs)),
        "edge_index": torch_like.tensor(np.concatenate(edges, axis=1)),
        "edge_attr": torch_like.tensor(np.concatenate(attrs)),
        "batch": torch_like.tensor(np.array(batch)),
        "num_graphs": 3,
    }
    return data, rng.standard_normal(3) * 2.0 + 1.0


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(7)
    data, y_np = make_batch(torch_like, rng)
    y = torch.tensor(y_np)
    mean, std = y.mean(), y.std()
    target = (y - mean) / std
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=0.7, patience=1, min_lr=1e-5
    )
    values: list[float] = []
    for _ in range(STEPS):
        model.train()
        optimizer.zero_grad()
        loss = F.l1_loss(model(data), target)
        loss.backward()
        optimizer.step()
        values.append(loss.item())
        model.eval()
        with torch.no_grad():
            error = ((model(data) * std + mean) - y).abs().sum().item() / 3
        scheduler.step(error)
        values += [error, optimizer.param_groups[0]["lr"]]
    # the per-graph mean of the atom features (``global_mean_pool``) by segment lengths
    counts = torch.bincount(data["batch"], minlength=data["num_graphs"])
    pooled = torch.segment_reduce(data["x"], "mean", lengths=counts)
    values += pooled.flatten().tolist()
    return values
