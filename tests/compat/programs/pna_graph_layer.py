"""Principal Neighbourhood Aggregation, as PyTorch Geometric's ``PNAConv`` (its
``DegreeScalerAggregation`` with the ``mean``/``min``/``max``/``std`` aggregators) and its
``examples/pna.py`` (ZINC regression) write it, with the scatter kernels written in plain
PyTorch as the from-scratch ports do; size-reduced to graphs of 4-6 nodes.

The idioms: the training-set degree histogram ``deg = torch.zeros(max_degree + 1,
dtype=torch.long)``, ``deg += torch.bincount(d, minlength=deg.numel())`` and the averages
``bin_degrees = torch.arange(deg.numel())``, ``float(((bin_degrees + 1).log() * deg).sum()) /
deg.sum()``; the message ``torch.cat([x_i, x_j, edge_attr], dim=-1)`` from ``x.index_select(0,
edge_index[0])`` through per-tower pre-MLPs; the aggregators ``torch.zeros(...).index_add_(0,
index, src)`` for sums, the degree ``torch.ones_like(index, dtype=x.dtype)`` summed the same
way and ``.clamp_(1)``, ``x.new_zeros(...).scatter_reduce(0, index.view(-1, 1).expand_as(src),
src, reduce="amax"/"amin", include_self=False)`` for max/min, the std ``(mean_2 - mean *
mean).clamp(min=1e-5).sqrt()`` with ``std.masked_fill(std <= math.sqrt(1e-5), 0.0)``; the
scalers ``out * (torch.log(deg + 1) / avg_deg["log"])`` (amplification), ``out * (avg_deg["log"]
/ torch.log(deg + 1))`` (attenuation) and ``deg / avg_deg["lin"]`` (linear); the post-MLP on
``torch.cat([x, out], dim=-1)``, the towers' ``torch.cat(outs, dim=1)`` and the output ``lin``;
``BatchNorm1d`` + ``ReLU`` + residual between layers; ``global_add_pool`` as ``index_add_``
over ``batch``; and the loop's ``(out.squeeze() - data.y).abs().mean()`` with ``Adam`` and
``ReduceLROnPlateau(mode='min', factor=0.5, patience=1, min_lr=1e-5)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

HIDDEN, TOWERS, EDGE_DIM, NODE_TYPES, EPOCHS = 8, 2, 3, 5, 4
AVG_DEG = {"lin": 2.0, "log": math.log(3.0)}  # replaced by the histogram's values in run


def make_model(torch_like: Any, avg_deg: dict | None = None) -> Any:
    torch, nn = torch_like, torch_like.nn
    avg = avg_deg or AVG_DEG

    def scatter_sum(src: Any, index: Any, dim_size: int) -> Any:
        out = torch.zeros(dim_size, *src.shape[1:], dtype=src.dtype)
        return out.index_add_(0, index, src)

    class PNAConv(nn.Module):
        def __init__(self, channels: int, aggregators: list, scalers: list) -> None:
            super().__init__()
            self.aggregators, self.scalers, self.towers = aggregators, scalers, TOWERS
            self.F_in, self.F_out = channels, channels // TOWERS  # divide_input=False
            self.edge_encoder = nn.Linear(EDGE_DIM, self.F_in)
            self.pre_nns = nn.ModuleList(
                [nn.Sequential(nn.Linear(3 * self.F_in, self.F_in)) for _ in range(TOWERS)]
            )
            in_post = (len(aggregators) * len(scalers) + 1) * self.F_in
            self.post_nns = nn.ModuleList(
                [nn.Sequential(nn.Linear(in_post, self.F_out)) for _ in range(TOWERS)]
            )
            self.lin = nn.Linear(channels, channels)

        def aggregate(self, inputs: Any, index: Any, dim_size: int) -> Any:
            deg = scatter_sum(torch.ones_like(index, dtype=inputs.dtype), index, dim_size)
            deg = deg.clamp_(1)
            outs = []
            for aggr in self.aggregators:
                if aggr in ("mean", "std"):
                    mean = scatter_sum(inputs, index, dim_size) / deg.view(-1, 1, 1)
                if aggr == "mean":
                    out = mean
                elif aggr == "std":
                    mean_2 = scatter_sum(inputs * inputs, index, dim_size) / deg.view(-1, 1, 1)
                    std = (mean_2 - mean * mean).clamp(min=1e-5).sqrt()
                    out = std.masked_fill(std <= math.sqrt(1e-5), 0.0)
                else:
                    reduce = {"max": "amax", "min": "amin"}[aggr]
                    idx = index.view(-1, 1, 1).expand_as(inputs)
                    out = inputs.new_zeros((dim_size, *inputs.shape[1:])).scatter_reduce(
                        0, idx, inputs, reduce=reduce, include_self=False
                    )
                outs.append(out)
            out = torch.cat(outs, dim=-1)
            deg = deg.view(-1, 1, 1)
            scaled = []
            for scaler in self.scalers:
                if scaler == "identity":
                    scaled.append(out)
                elif scaler == "amplification":
                    scaled.append(out * (torch.log(deg + 1) / avg["log"]))
                elif scaler == "attenuation":
                    scaled.append(out * (avg["log"] / torch.log(deg + 1)))
                elif scaler == "linear":
                    scaled.append(out * (deg / avg["lin"]))
            return torch.cat(scaled, dim=-1)

        def forward(self, x: Any, edge_index: Any, edge_attr: Any) -> Any:
            x = x.view(-1, 1, self.F_in).repeat(1, self.towers, 1)
            src, dst = edge_index
            x_j, x_i = x.index_select(0, src), x.index_select(0, dst)
            e = self.edge_encoder(edge_attr).view(-1, 1, self.F_in).repeat(1, self.towers, 1)
            h = torch.cat([x_i, x_j, e], dim=-1)
            hs = [nn(h[:, i]) for i, nn in enumerate(self.pre_nns)]
            out = self.aggregate(torch.stack(hs, dim=1), dst, x.size(0))
            out = torch.cat([x, out], dim=-1)
            outs = [nn(out[:, i]) for i, nn in enumerate(self.post_nns)]
            return self.lin(torch.cat(outs, dim=1))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.node_emb = nn.Embedding(NODE_TYPES, HIDDEN)
            aggregators = ["mean", "min", "max", "std"]
            scalers = ["identity", "amplification", "attenuation", "linear"]
            self.convs = nn.ModuleList()
            self.batch_norms = nn.ModuleList()
            for _ in range(2):
                self.convs.append(PNAConv(HIDDEN, aggregators, scalers))
                self.batch_norms.append(nn.BatchNorm1d(HIDDEN))
            self.mlp = nn.Sequential(nn.Linear(HIDDEN, 4), nn.ReLU(), nn.Linear(4, 1))

        def forward(self, x: Any, edge_index: Any, edge_attr: Any, batch: Any, n: int) -> Any:
            x = self.node_emb(x.squeeze())
            for conv, batch_norm in zip(self.convs, self.batch_norms):
                x = x + nn.functional.relu(batch_norm(conv(x, edge_index, edge_attr)))
            pooled = torch.zeros(n, x.size(1), dtype=x.dtype).index_add_(0, batch, x)
            return self.mlp(pooled)

    return Net()


def _graph(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    n = int(rng.integers(4, 7))
    edges = {(i, i + 1) for i in range(n - 1)}
    edges |= {tuple(sorted(rng.choice(n, 2, replace=False).tolist())) for _ in range(2)}
    e = np.array(sorted(edges)).T
    edge_index = np.concatenate([e, e[::-1]], axis=1)
    attr = np.tile(rng.random((e.shape[1], EDGE_DIM)), (2, 1))
    return rng.integers(0, NODE_TYPES, (n, 1)), edge_index, attr, float(rng.normal())


def _batch(graphs: list) -> tuple:
    xs, eis, attrs, batch, ys, offset = [], [], [], [], [], 0
    for g, (x, ei, attr, y) in enumerate(graphs):
        xs.append(x)
        eis.append(ei + offset)
        attrs.append(attr)
        batch.append(np.full(len(x), g))
        ys.append(y)
        offset += len(x)
    return (np.concatenate(xs), np.concatenate(eis, axis=1), np.concatenate(attrs),
            np.concatenate(batch), np.array(ys))  # fmt: skip


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(2)
    train = [_batch([_graph(rng) for _ in range(3)]) for _ in range(3)]
    max_degree = -1
    for _x, ei, *_ in train:
        d = torch.bincount(as_tensor(torch_like, ei[1]))
        max_degree = max(max_degree, int(d.max()))
    deg = torch.zeros(max_degree + 1, dtype=torch.long)
    for _x, ei, *_ in train:
        d = torch.bincount(as_tensor(torch_like, ei[1]))
        deg += torch.bincount(d, minlength=deg.numel())
    bin_degrees = torch.arange(deg.numel())
    avg_deg = {
        "lin": float((bin_degrees * deg).sum()) / float(deg.sum()),
        "log": float(((bin_degrees + 1).log() * deg).sum()) / float(deg.sum()),
    }
    model = make_model(torch_like, avg_deg)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=0.5, patience=1, min_lr=1e-5
    )
    values: list[float] = [avg_deg["lin"], avg_deg["log"], float(deg.sum())]
    for _epoch in range(EPOCHS):
        model.train()
        total_loss = 0.0
        for x, ei, attr, batch, y in train:
            optimizer.zero_grad()
            out = model(
                as_tensor(torch_like, x), as_tensor(torch_like, ei), as_tensor(torch_like, attr),
                as_tensor(torch_like, batch), len(y),
            )  # fmt: skip
            loss = (out.squeeze() - as_tensor(torch_like, y)).abs().mean()
            loss.backward()
            total_loss += loss.item() * len(y)
            optimizer.step()
        scheduler.step(total_loss)
        values.extend([total_loss, optimizer.param_groups[0]["lr"]])
    return values
