"""GraphSAGE with neighbour sampling and link prediction, written in plain PyTorch the way the
PyG-free ports write it (PyG's ``SAGEConv`` / ``NeighborSampler`` / ``reddit.py`` and
``link_pred.py`` examples redone without ``torch_scatter``, williamleif/GraphSAGE's PyTorch
ports such as twjiang/graphSAGE-pytorch), size-reduced.

The idioms: a CSR view of ``edge_index`` (``torch.argsort(row)``, ``torch.bincount(row,
minlength=n)``, ``torch.cat([row.new_zeros(1), deg.cumsum(0)])``); neighbour sampling with
replacement (``rowptr[nodes][:, None] + (rnd * deg[:, None]).long()`` gathered from ``col``,
fan-outs per layer); relabelling with ``torch.unique(..., return_inverse=True)``, a boolean
``is_target[inverse[:b]] = True``, ``(~is_target).nonzero().view(-1)`` and a scattered
``local[new_ids] = torch.arange(...)`` so that the targets come first (``x[:size[1]]``);
``SAGEConv`` with ``lin_l`` / ``lin_r`` (``bias=False``) or the original concatenation
``self.lin(torch.cat([x_dst, agg], dim=-1))``, its messages ``x_src.index_select(0, src)`` and
aggregation by ``Tensor.scatter_reduce_(0, index, msg, reduce="mean"/"amax",
include_self=False)`` on ``msg.new_zeros`` with ``dst.view(-1, 1).expand_as(msg)`` or a sum by
``index_add_``, ``F.normalize(out, p=2.0, dim=-1)``; the model's ``nn.ModuleList`` of convs, the
``for i, (edge_index, size) in enumerate(adjs)`` loop with ``x.relu()`` and ``F.dropout(...,
training=self.training)`` and ``log_softmax``; ``F.nll_loss`` on the batch; degrees two ways
(``torch.bincount(dst, minlength=n)`` and ``torch.zeros((n,), dtype=dtype).scatter_add_(0,
dst, torch.ones((dst.size(0),), dtype=out.dtype))``); full-graph inference with a mean adjacency
``torch.sparse_coo_tensor(torch.stack([dst, src]), 1.0 / deg[dst], (n, n),
check_invariants=True)`` and ``torch.sparse.mm(adj, x)`` (and its
gradient); link prediction with negative edges, scores ``(z[src] * z[dst]).sum(-1)``, labels
``torch.cat([torch.ones(...), torch.zeros(...)])`` and ``F.binary_cross_entropy_with_logits``;
the ROC-AUC by ranks (``torch.argsort(torch.argsort(scores, stable=True), stable=True)``)
checked against the pairwise ``(pos[:, None] > neg[None, :]).float().mean()``, over negatives
that are no edge (PyG's ``negative_sampling``).

Changed: a random graph of 24 nodes with self-loops, fan-outs (3, 2), batches of 6, four
training steps per task. The neighbour and batch draws come from NumPy (the two libraries'
generators differ); ``torch.randint`` / ``torch.randperm`` are checked for what holds for every
draw (range, a permutation, same seed same draw).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N, FEAT, HIDDEN, CLASSES, BATCH, STEPS = 24, 5, 8, 3, 6, 4
FANOUTS = (3, 2)


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class SAGEConv(nn.Module):
        def __init__(
            self,
            in_channels: int,
            out_channels: int,
            aggr: str = "mean",
            normalize: bool = False,
            concat: bool = False,
        ) -> None:
            super().__init__()
            self.aggr = aggr
            self.normalize = normalize
            self.concat = concat
            if concat:
                self.lin = nn.Linear(2 * in_channels, out_channels)
            else:
                self.lin_l = nn.Linear(in_channels, out_channels, bias=True)
                self.lin_r = nn.Linear(in_channels, out_channels, bias=False)

        def aggregate(self, x_src: Any, edge_index: Any, size: int) -> Any:
            src, dst = edge_index
            msg = x_src.index_select(0, src)
            if self.aggr == "sum":
                out = torch.zeros(size, msg.size(-1), dtype=msg.dtype)
                return out.index_add_(0, dst, msg)
            index = dst.view(-1, 1).expand_as(msg)
            out = msg.new_zeros(size, msg.size(-1))
            reduce = {"mean": "mean", "max": "amax"}[self.aggr]
            return out.scatter_reduce_(0, index, msg, reduce=reduce, include_self=False)

        def forward(self, x: Any, edge_index: Any) -> Any:
            if isinstance(x, torch.Tensor):
                x = (x, x)
            x_src, x_dst = x
            agg = self.aggregate(x_src, edge_index, x_dst.size(0))
            if self.concat:
                out = self.lin(torch.cat([x_dst, agg], dim=-1))
            else:
                out = self.lin_l(agg) + self.lin_r(x_dst)
            if self.normalize:
                out = F.normalize(out, p=2.0, dim=-1)
            return out

        def extra_repr(self) -> str:
            return f"aggr={self.aggr}"

    class GraphSAGE(nn.Module):
        def __init__(self, in_channels: int, hidden: int, out_channels: int) -> None:
            super().__init__()
            self.num_layers = 2
            self.convs = nn.ModuleList()
            self.convs.append(SAGEConv(in_channels, hidden, aggr="mean"))
            self.convs.append(SAGEConv(hidden, out_channels, aggr="max", concat=True))
            self.link_convs = nn.ModuleList(
                [
                    SAGEConv(in_channels, hidden, aggr="sum", normalize=True),
                    SAGEConv(hidden, hidden, aggr="mean", normalize=True),
                ]
            )

        def forward(self, x: Any, adjs: list) -> Any:
            for i, (edge_index, size) in enumerate(adjs):
                x_target = x[: size[1]]  # target nodes are always placed first
                x = self.convs[i]((x, x_target), edge_index)
                if i != self.num_layers - 1:
                    x = x.relu()
                    x = F.dropout(x, p=0.5, training=self.training)
            return x.log_softmax(dim=-1)

        def encode(self, x: Any, edge_index: Any) -> Any:
            for i, conv in enumerate(self.link_convs):
                x = conv(x, edge_index)
                if i < len(self.link_convs) - 1:
                    x = F.relu(x)
            return x

    return GraphSAGE(FEAT, HIDDEN, CLASSES)


def make_graph(rng: np.random.Generator) -> np.ndarray:
    src = rng.integers(0, N, 3 * N)
    dst = rng.integers(0, N, 3 * N)
    keep = src != dst
    loops = np.arange(N)  # every node has a neighbour
    return np.stack([np.concatenate([src[keep], loops]), np.concatenate([dst[keep], loops])])


def to_csr(torch_like: Any, edge_index: Any) -> tuple[Any, Any]:
    torch = torch_like
    row, col = edge_index
    perm = torch.argsort(row, stable=True)
    row, col = row[perm], col[perm]
    deg = torch.bincount(row, minlength=N)
    rowptr = torch.cat([row.new_zeros(1), deg.cumsum(0)])
    return rowptr, col


def sample_adj(torch_like: Any, rowptr: Any, col: Any, nodes: Any, k: int, rnd: Any) -> tuple:
    """One hop of ``NeighborSampler``: ``k`` neighbours per node (with replacement), relabelled
    so that ``nodes`` come first in ``n_id``; the edges run neighbour -> target."""
    torch = torch_like
    b = nodes.numel()
    deg = rowptr[nodes + 1] - rowptr[nodes]
    offs = (rnd * deg[:, None].to(rnd.dtype)).long()
    nbrs = col[rowptr[nodes][:, None] + offs]
    cand = torch.cat([nodes, nbrs.flatten()])
    uniq, inverse = torch.unique(cand, sorted=True, return_inverse=True)
    is_target = torch.zeros(uniq.numel(), dtype=torch.bool)
    is_target[inverse[:b]] = True
    new_ids = torch.cat([inverse[:b], (~is_target).nonzero().view(-1)])
    n_id = uniq[new_ids]
    local = torch.empty_like(new_ids)
    local[new_ids] = torch.arange(new_ids.numel())
    src = local[inverse[b:]]
    dst = torch.arange(b).repeat_interleave(k)
    return n_id, torch.stack([src, dst]), (n_id.numel(), b)


def sample_batch(torch_like: Any, rowptr: Any, col: Any, batch: Any, rng: Any) -> tuple:
    adjs = []
    n_id = batch
    for k in FANOUTS:
        rnd = as_tensor(torch_like, rng.random((n_id.numel(), k)))
        n_id, edge_index, size = sample_adj(torch_like, rowptr, col, n_id, k, rnd)
        adjs.append((edge_index, size))
    return n_id, adjs[::-1]


def negative_sampling(edge_index: np.ndarray, num: int, rng: np.random.Generator) -> np.ndarray:
    """Pairs that are no edge in either direction (PyG's ``negative_sampling``), so that no
    negative's score ties a positive's (a tie's order is rounding noise)."""
    edges = set(map(tuple, edge_index.T.tolist()))
    pairs = [
        (a, b)
        for a, b in rng.integers(0, N, (4 * num, 2)).tolist()
        if (a, b) not in edges and (b, a) not in edges
    ]
    return np.array(pairs[:num]).T


def random_facts(torch_like: Any) -> list[float]:
    """What holds for every draw of ``randint`` / ``randperm``."""
    torch = torch_like
    torch.manual_seed(3)
    perm = torch.randperm(N)
    idx = torch.randint(0, N, (2, 40))
    torch.manual_seed(3)
    again = torch.randperm(N)
    return [
        float(torch.equal(perm.sort().values, torch.arange(N))),
        float(perm.dtype == torch.int64),
        float(torch.equal(perm, again)),
        float(idx.min().item() >= 0 and idx.max().item() < N),
        *idx.shape,
    ]


def ranking_auc(torch_like: Any, pos_score: Any, neg_score: Any) -> tuple[float, float]:
    torch = torch_like
    scores = torch.cat([pos_score, neg_score])
    ranks = torch.argsort(torch.argsort(scores, stable=True), stable=True).to(scores.dtype) + 1
    n_pos, n_neg = pos_score.numel(), neg_score.numel()
    auc = (ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    pairwise = (pos_score[:, None] > neg_score[None, :]).float().mean()
    return auc.item(), pairwise.item()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(5)
    edge_index = as_tensor(torch, make_graph(rng))
    x = as_tensor(torch, rng.standard_normal((N, FEAT)))
    y = as_tensor(torch, rng.integers(0, CLASSES, N))
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    values = random_facts(torch)

    src, dst = edge_index
    deg = torch.bincount(dst, minlength=N)
    out = torch.zeros((N,), dtype=x.dtype)  # torch_geometric.utils.degree
    deg_f = out.scatter_add_(0, dst, torch.ones((dst.size(0),), dtype=out.dtype))
    values += deg.tolist() + [float(torch.equal(deg.to(deg_f.dtype), deg_f))]
    # explicit opt-in: torch warns once when check_invariants is left implicit
    adj = torch.sparse_coo_tensor(
        torch.stack([dst, src]), 1.0 / deg[dst], (N, N), check_invariants=True
    )
    xg = x.clone().requires_grad_(True)
    dense_mean = torch.sparse.mm(adj, xg)
    scatter_mean = model.convs[0].aggregate(xg, edge_index, N)
    values += [(dense_mean - scatter_mean).abs().max().item(), dense_mean.sum().item()]
    (dense_mean**2).sum().backward()
    values += xg.grad.sum(0).tolist()
    values += [adj.coalesce()._nnz(), float(adj.is_sparse)]

    rowptr, col = to_csr(torch, edge_index)
    values += rowptr.tolist()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _step in range(STEPS):
        batch = as_tensor(torch, rng.permutation(N)[:BATCH])
        n_id, adjs = sample_batch(torch, rowptr, col, batch, rng)
        optimizer.zero_grad()
        model.eval()  # dropout off: the two libraries' masks differ
        out = model(x[n_id], adjs)
        loss = F.nll_loss(out, y[n_id[:BATCH]])
        loss.backward()
        optimizer.step()
        values += [loss.item(), n_id.numel(), float(torch.equal(n_id[:BATCH], batch))]
        values += [adjs[0][1][0], adjs[1][1][0]]

    link_opt = torch.optim.Adam(model.link_convs.parameters(), lr=0.01)
    for _step in range(STEPS):
        z = model.encode(x, edge_index)
        neg = as_tensor(torch, rng.integers(0, N, (2, src.numel())))
        pos_score = (z[src] * z[dst]).sum(-1)
        neg_score = (z[neg[0]] * z[neg[1]]).sum(-1)
        scores = torch.cat([pos_score, neg_score])
        labels = torch.cat([torch.ones(pos_score.size(0)), torch.zeros(neg_score.size(0))])
        loss = F.binary_cross_entropy_with_logits(scores, labels)
        link_opt.zero_grad()
        loss.backward()
        link_opt.step()
        values += [loss.item(), z.norm(dim=-1).mean().item()]
    with torch.no_grad():
        z = model.encode(x, edge_index)
        neg = as_tensor(torch, negative_sampling(edge_index.numpy(), 30, rng))
        auc, pairwise = ranking_auc(
            torch, (z[src] * z[dst]).sum(-1), (z[neg[0]] * z[neg[1]]).sum(-1)
        )
    values += [auc, pairwise]
    return values
