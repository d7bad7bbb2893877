"""GATv2 (Brody et al. 2022, "How Attentive are Graph Attention Networks?") on an edge list,
written without PyTorch Geometric the way from-scratch repositories and tutorials write it
(PyG's ``GATv2Conv`` re-implemented with plain scatter ops), size-reduced.

The idioms: ``lin_l`` / ``lin_r`` (``nn.Linear(in_channels, heads * out_channels)``, one shared
module when ``share_weights``), ``x_l = self.lin_l(x).view(-1, H, C)``, self loops removed by
``mask = edge_index[0] != edge_index[1]`` and added back with ``torch.arange(num_nodes)``
stacked and ``torch.cat``-ed, messages gathered by ``x_l[src]`` / ``x_r[dst]``, the GATv2 score
``(F.leaky_relu(x_i + x_j, self.negative_slope) * self.att).sum(dim=-1)`` with ``self.att =
nn.Parameter(torch.empty(1, heads, out_channels))`` and ``nn.init.xavier_uniform_``; the
per-destination softmax (``torch_scatter.scatter_softmax`` written out):
``torch.full(...).scatter_reduce(0, index, alpha, reduce='amax', include_self=False)``,
``(alpha - alpha_max[dst]).exp()``, the denominator by ``torch.zeros(N, H).scatter_add_(0,
index, alpha)`` or by ``index_add_``, ``alpha / (denom[dst] + 1e-16)``; ``F.dropout(alpha,
p=self.dropout, training=self.training)``; aggregation ``out.index_add_(0, dst, x_j *
alpha.unsqueeze(-1))``; heads concatenated by ``out.view(-1, H * C)`` or averaged by
``out.mean(dim=1)``, ``out += self.bias``; a two-layer model (``F.elu``, ``F.dropout`` on the
input, the last layer averaging one head) trained on masked nodes with ``F.cross_entropy``,
``torch.optim.Adam(lr=0.005, weight_decay=5e-4)`` and evaluated with ``@torch.no_grad()``
(``pred = out.argmax(dim=-1)``, ``int((pred[mask] == y[mask]).sum()) / int(mask.sum())``).
The softmax's max shift is taken both detached (PyG's ``src.detach()``) and attached (the
gradient then runs through ``scatter_reduce``'s ``amax``, and must cancel).

Changed: the Cora data set is a random 18-node planted-partition graph; hidden 8 x 8 heads ->
4 x 2 heads; 200 epochs -> 6; dropout 0.6 -> 0 during the compared training (random masks
cannot agree between two frameworks); with dropout on, only eval mode (no dropout) is compared.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run", "check"]

N_NODES, N_FEAT, N_CLASSES, HIDDEN, HEADS, EPOCHS = 18, 8, 3, 4, 2, 6


def _classes(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    def remove_self_loops(edge_index: Any) -> Any:
        mask = edge_index[0] != edge_index[1]
        return edge_index[:, mask]

    def add_self_loops(edge_index: Any, num_nodes: int) -> Any:
        loop_index = torch.arange(0, num_nodes, dtype=torch.long, device=edge_index.device)
        loop_index = loop_index.unsqueeze(0).repeat(2, 1)
        return torch.cat([edge_index, loop_index], dim=1)

    def scatter_softmax(src: Any, index: Any, num_nodes: int, detach_max: bool = True) -> Any:
        """softmax of ``src`` (E, H) over the entries sharing a destination in ``index``."""
        idx = index.unsqueeze(-1).expand_as(src)
        src_max = torch.full(
            (num_nodes, src.size(1)), float("-inf"), dtype=src.dtype, device=src.device
        ).scatter_reduce(
            0, idx, src.detach() if detach_max else src, reduce="amax", include_self=False
        )
        out = (src - src_max[index]).exp()
        out_sum = torch.zeros(num_nodes, src.size(1), dtype=src.dtype).scatter_add_(0, idx, out)
        return out / (out_sum[index] + 1e-16)

    class GATv2Conv(nn.Module):
        def __init__(
            self,
            in_channels: int,
            out_channels: int,
            heads: int = 1,
            concat: bool = True,
            negative_slope: float = 0.2,
            dropout: float = 0.0,
            share_weights: bool = False,
            detach_max: bool = True,
        ) -> None:
            super().__init__()
            self.in_channels = in_channels
            self.out_channels = out_channels
            self.heads = heads
            self.concat = concat
            self.negative_slope = negative_slope
            self.dropout = dropout
            self.share_weights = share_weights
            self.detach_max = detach_max

            self.lin_l = nn.Linear(in_channels, heads * out_channels, bias=True)
            if share_weights:
                self.lin_r = self.lin_l
            else:
                self.lin_r = nn.Linear(in_channels, heads * out_channels, bias=True)

            self.att = nn.Parameter(torch.empty(1, heads, out_channels))

            if concat:
                self.bias = nn.Parameter(torch.empty(heads * out_channels))
            else:
                self.bias = nn.Parameter(torch.empty(out_channels))

            self.reset_parameters()

        def reset_parameters(self) -> None:
            self.lin_l.reset_parameters()
            self.lin_r.reset_parameters()
            nn.init.xavier_uniform_(self.att)
            nn.init.zeros_(self.bias)

        def forward(self, x: Any, edge_index: Any, return_attention_weights: bool = False) -> Any:
            H, C = self.heads, self.out_channels
            num_nodes = x.size(0)

            x_l = self.lin_l(x).view(-1, H, C)
            x_r = self.lin_r(x).view(-1, H, C)

            edge_index = remove_self_loops(edge_index)
            edge_index = add_self_loops(edge_index, num_nodes=num_nodes)
            src, dst = edge_index[0], edge_index[1]

            # message: x_j from the source, x_i at the target
            x_j = x_l[src]
            x_i = x_r[dst]
            x = x_i + x_j
            x = F.leaky_relu(x, self.negative_slope)
            alpha = (x * self.att).sum(dim=-1)
            alpha = scatter_softmax(alpha, dst, num_nodes, self.detach_max)
            alpha = F.dropout(alpha, p=self.dropout, training=self.training)

            msg = x_j * alpha.unsqueeze(-1)
            out = torch.zeros(num_nodes, H, C, dtype=msg.dtype, device=msg.device)
            out.index_add_(0, dst, msg)

            if self.concat:
                out = out.view(-1, self.heads * self.out_channels)
            else:
                out = out.mean(dim=1)

            out += self.bias

            if return_attention_weights:
                return out, (edge_index, alpha)
            return out

        def extra_repr(self) -> str:
            return f"{self.in_channels}, {self.out_channels}, heads={self.heads}"

    class GAT(nn.Module):
        def __init__(
            self,
            in_channels: int,
            hidden_channels: int,
            out_channels: int,
            heads: int,
            dropout: float = 0.0,
            share_weights: bool = False,
            detach_max: bool = True,
        ) -> None:
            super().__init__()
            self.dropout = dropout
            self.conv1 = GATv2Conv(
                in_channels,
                hidden_channels,
                heads,
                dropout=dropout,
                share_weights=share_weights,
                detach_max=detach_max,
            )
            # On the Pubmed dataset, use `heads` output heads in `conv2`.
            self.conv2 = GATv2Conv(
                hidden_channels * heads,
                out_channels,
                heads=1,
                concat=False,
                dropout=dropout,
                share_weights=share_weights,
                detach_max=detach_max,
            )

        def forward(self, x: Any, edge_index: Any) -> Any:
            x = F.dropout(x, p=self.dropout, training=self.training)
            x = F.elu(self.conv1(x, edge_index))
            x = F.dropout(x, p=self.dropout, training=self.training)
            x = self.conv2(x, edge_index)
            return x

    return GATv2Conv, GAT


def make_model(torch_like: Any) -> Any:
    _, GAT = _classes(torch_like)
    return torch_like.nn.ModuleDict(
        {
            "separate": GAT(N_FEAT, HIDDEN, N_CLASSES, HEADS),
            "shared": GAT(N_FEAT, HIDDEN, N_CLASSES, HEADS, share_weights=True),
        }
    )


def _graph() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and a directed edge list (with a few self loops to remove)."""
    rng = np.random.default_rng(5)
    y = np.arange(N_NODES) % N_CLASSES
    x = rng.normal(size=(N_NODES, N_FEAT)) * 0.5
    x[np.arange(N_NODES), y * 2] += 1.0
    edges = [
        (i, j)
        for i in range(N_NODES)
        for j in range(N_NODES)
        if rng.random() < (0.3 if y[i] == y[j] else 0.05)
    ]
    edges += [(0, 0), (5, 5)]
    return x, y, np.array(edges, dtype=np.int64).T


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    _, GAT = _classes(torch_like)
    start = make_model(torch_like)
    load_numpy_state(torch_like, start, init)
    values: list[float] = []

    x_np, y_np, edges_np = _graph()
    x = as_tensor(torch_like, x_np, dtype=torch.get_default_dtype())
    y = torch.from_numpy(y_np)
    edge_index = torch.from_numpy(edges_np)
    train_mask = torch.zeros(N_NODES, dtype=torch.bool)
    train_mask[:12] = True
    test_mask = ~train_mask

    def train(model: Any, optimizer: Any) -> float:
        model.train()
        optimizer.zero_grad()
        out = model(x, edge_index)
        loss = F.cross_entropy(out[train_mask], y[train_mask])
        loss.backward()
        optimizer.step()
        return loss.item()

    @torch.no_grad()
    def test(model: Any) -> list[float]:
        model.eval()
        pred = model(x, edge_index).argmax(dim=-1)
        accs = []
        for mask in [train_mask, test_mask]:
            accs.append(int((pred[mask] == y[mask]).sum()) / int(mask.sum()))
        return accs

    for name, detach_max in (("separate", True), ("shared", True), ("separate", False)):
        model = GAT(N_FEAT, HIDDEN, N_CLASSES, HEADS, share_weights=name == "shared")
        model.conv1.detach_max = model.conv2.detach_max = detach_max
        model.load_state_dict(start[name].state_dict())
        optimizer = torch.optim.Adam(model.parameters(), lr=0.005, weight_decay=5e-4)
        for _ in range(EPOCHS):
            values.append(train(model, optimizer))
            values += test(model)
        grads = [p.grad.norm().item() for p in model.parameters()]
        values.append(sum(grads))

    # the attention of each destination sums to one, self loops were replaced by one apiece
    model.eval()
    _, (ei, alpha) = model.conv1(x, edge_index, return_attention_weights=True)
    per_dst = torch.zeros(N_NODES, HEADS).index_add_(0, ei[1], alpha)
    values.append((per_dst - 1).abs().max().item())
    values.append(float(int((ei[0] == ei[1]).sum()) == N_NODES))

    # dropout on the attention: training mode differs, eval mode is the plain layer
    dropped = GAT(N_FEAT, HIDDEN, N_CLASSES, HEADS, dropout=0.6)
    dropped.load_state_dict(start["separate"].state_dict())
    dropped.eval()
    model.load_state_dict(start["separate"].state_dict())
    values.append((dropped(x, edge_index) - model(x, edge_index)).abs().max().item())
    return values


def check(values: list[float]) -> None:
    assert values[-3] < 1e-9 and values[-2] == 1.0 and values[-1] == 0.0
