"""Gao & Ji 2019 "Graph U-Nets" as HongyangGao/Graph-U-Nets (``src/utils/ops.py``,
``src/network.py``, ``src/trainer.py``) writes it, size-reduced.

The idioms: dense-adjacency ``GCN`` (``nn.Dropout(p=p) if p > 0.0 else nn.Identity()``,
``torch.matmul(g, h)``, a projection and an activation looked up with ``getattr(nn,
args.act_n)()``); ``Pool`` (gPool: ``self.proj(Z).squeeze()`` through ``nn.Sigmoid`` and
``top_k_graph``: ``torch.topk(scores, max(2, int(k*num_nodes)))``, ``h[idx, :]`` gated by
``torch.mul(new_h, torch.unsqueeze(values, -1))``, the two-hop connectivity ``un_g =
g.bool().float()``, ``torch.matmul(un_g, un_g).bool().float()``, ``un_g[idx, :]``, ``un_g[:,
idx]`` and ``norm_g``'s ``g / torch.sum(g, 1)``); ``Unpool`` (gUnpool: ``h.new_zeros([g.shape[0],
h.shape[1]])`` and ``new_h[idx] = h``); ``GraphUnet``'s down/up ``nn.ModuleList`` walk with
``h.add(down_outs[up_idx])`` skips; ``Initializer.weights_init`` (``m.modules()``,
``isinstance(p, nn.ParameterList)``, ``m.bias.data.zero_()``, a Glorot ``w.uniform_(-limit,
limit)`` on ``.data``, ``named_parameters`` without a ``'.'``); ``GNet``'s readout
(``[torch.max(h, 0)[0] for h in hs]``, sums and means, ``torch.cat(h_max + h_sum + h_mean)``),
``torch.stack(o_hs, 0)``, ``F.log_softmax``/``F.nll_loss``, ``_, preds = torch.max(logits,
1)``, ``torch.mean((preds == labels).float())``; Adam with ``amsgrad=True`` and
``weight_decay``.

Changed: the TU graph datasets -> 6 NumPy random graphs of 7..9 nodes (symmetric adjacency with
self loops, no two nodes with the same neighbours, so that ``topk`` meets no ties in the
first pooling) with 3 node features and 2 classes; ks (0.9, 0.8, 0.7) -> (0.8, 0.6), l_dim 48 ->
6, h_dim 8, no dropout; 4 epochs of one batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IN_DIM, N_CLASSES, L_DIM, H_DIM, KS = 3, 2, 6, 8, (0.8, 0.6)
ACT_N, ACT_C = "ELU", "ELU"  # args.act_n / args.act_c


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class GCN(nn.Module):
        def __init__(self, in_dim: int, out_dim: int, act: Any, p: float) -> None:
            super().__init__()
            self.proj = nn.Linear(in_dim, out_dim)
            self.act = act
            self.drop = nn.Dropout(p=p) if p > 0.0 else nn.Identity()

        def forward(self, g: Any, h: Any) -> Any:
            h = self.drop(h)
            h = torch.matmul(g, h)
            h = self.proj(h)
            h = self.act(h)
            return h

    class Pool(nn.Module):
        def __init__(self, k: float, in_dim: int, p: float) -> None:
            super().__init__()
            self.k = k
            self.sigmoid = nn.Sigmoid()
            self.proj = nn.Linear(in_dim, 1)
            self.drop = nn.Dropout(p=p) if p > 0 else nn.Identity()

        def forward(self, g: Any, h: Any) -> tuple[Any, Any, Any]:
            Z = self.drop(h)
            weights = self.proj(Z).squeeze()
            scores = self.sigmoid(weights)
            return top_k_graph(scores, g, h, self.k)

    class Unpool(nn.Module):
        def __init__(self, *args: Any) -> None:
            super().__init__()

        def forward(self, g: Any, h: Any, pre_h: Any, idx: Any) -> tuple[Any, Any]:
            new_h = h.new_zeros([g.shape[0], h.shape[1]])
            new_h[idx] = h
            return g, new_h

    def top_k_graph(scores: Any, g: Any, h: Any, k: float) -> tuple[Any, Any, Any]:
        num_nodes = g.shape[0]
        values, idx = torch.topk(scores, max(2, int(k * num_nodes)))
        new_h = h[idx, :]
        values = torch.unsqueeze(values, -1)
        new_h = torch.mul(new_h, values)
        un_g = g.bool().float().to(h.dtype)
        un_g = torch.matmul(un_g, un_g).bool().float().to(h.dtype)
        un_g = un_g[idx, :]
        un_g = un_g[:, idx]
        g = norm_g(un_g)
        return g, new_h, idx

    class GraphUnet(nn.Module):
        def __init__(self, ks, in_dim, out_dim, dim, act, drop_p) -> None:
            super().__init__()
            self.ks = ks
            self.bottom_gcn = GCN(dim, dim, act, drop_p)
            self.down_gcns = nn.ModuleList()
            self.up_gcns = nn.ModuleList()
            self.pools = nn.ModuleList()
            self.unpools = nn.ModuleList()
            self.l_n = len(ks)
            for i in range(self.l_n):
                self.down_gcns.append(GCN(dim, dim, act, drop_p))
                self.up_gcns.append(GCN(dim, dim, act, drop_p))
                self.pools.append(Pool(ks[i], dim, drop_p))
                self.unpools.append(Unpool(dim, dim, drop_p))

        def forward(self, g: Any, h: Any) -> list:
            adj_ms = []
            indices_list = []
            down_outs = []
            hs = []
            org_h = h
            for i in range(self.l_n):
                h = self.down_gcns[i](g, h)
                adj_ms.append(g)
                down_outs.append(h)
                g, h, idx = self.pools[i](g, h)
                indices_list.append(idx)
            h = self.bottom_gcn(g, h)
            for i in range(self.l_n):
                up_idx = self.l_n - i - 1
                g, idx = adj_ms[up_idx], indices_list[up_idx]
                g, h = self.unpools[i](g, h, down_outs[up_idx], idx)
                h = self.up_gcns[i](g, h)
                h = h.add(down_outs[up_idx])
                hs.append(h)
            h = h.add(org_h)
            hs.append(h)
            return hs

    class Initializer:
        @classmethod
        def _glorot_uniform(cls, w: Any) -> None:
            if len(w.size()) == 2:
                fan_in, fan_out = w.size()
            elif len(w.size()) == 3:
                fan_in = w.size()[1] * w.size()[2]
                fan_out = w.size()[0] * w.size()[2]
            else:
                fan_in = np.prod(w.size())
                fan_out = np.prod(w.size())
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            w.uniform_(-limit, limit)

        @classmethod
        def _param_init(cls, m: Any) -> None:
            if isinstance(m, nn.parameter.Parameter):
                cls._glorot_uniform(m.data)
            elif isinstance(m, nn.Linear):
                m.bias.data.zero_()
                cls._glorot_uniform(m.weight.data)

        @classmethod
        def weights_init(cls, m: Any) -> None:
            for p in m.modules():
                if isinstance(p, nn.ParameterList):
                    for pp in p:
                        cls._param_init(pp)
                else:
                    cls._param_init(p)
            for name, p in m.named_parameters():
                if "." not in name:
                    cls._param_init(p)

    class GNet(nn.Module):
        def __init__(self, in_dim: int, n_classes: int) -> None:
            super().__init__()
            self.n_act = getattr(nn, ACT_N)()
            self.c_act = getattr(nn, ACT_C)()
            self.s_gcn = GCN(in_dim, L_DIM, self.n_act, 0.0)
            self.g_unet = GraphUnet(KS, L_DIM, L_DIM, L_DIM, self.n_act, 0.0)
            self.out_l_1 = nn.Linear(3 * L_DIM * (len(KS) + 1), H_DIM)
            self.out_l_2 = nn.Linear(H_DIM, n_classes)
            self.out_drop = nn.Dropout(p=0.0)
            Initializer.weights_init(self)

        def forward(self, gs: list, hs: list, labels: Any) -> tuple[Any, Any]:
            hs = self.embed(gs, hs)
            logits = self.classify(hs)
            return self.metric(logits, labels)

        def embed(self, gs: list, hs: list) -> Any:
            o_hs = []
            for g, h in zip(gs, hs):
                h = self.embed_one(g, h)
                o_hs.append(h)
            hs = torch.stack(o_hs, 0)
            return hs

        def embed_one(self, g: Any, h: Any) -> Any:
            g = norm_g(g)
            h = self.s_gcn(g, h)
            hs = self.g_unet(g, h)
            h = self.readout(hs)
            return h

        def readout(self, hs: list) -> Any:
            h_max = [torch.max(h, 0)[0] for h in hs]
            h_sum = [torch.sum(h, 0) for h in hs]
            h_mean = [torch.mean(h, 0) for h in hs]
            h = torch.cat(h_max + h_sum + h_mean)
            return h

        def classify(self, h: Any) -> Any:
            h = self.out_drop(h)
            h = self.out_l_1(h)
            h = self.c_act(h)
            h = self.out_drop(h)
            h = self.out_l_2(h)
            return F.log_softmax(h, dim=1)

        def metric(self, logits: Any, labels: Any) -> tuple[Any, Any]:
            loss = F.nll_loss(logits, labels)
            _, preds = torch.max(logits, 1)
            acc = torch.mean((preds == labels).float())
            return loss, acc

    def norm_g(g: Any) -> Any:
        degrees = torch.sum(g, 1)
        g = g / degrees
        return g

    return GNet(IN_DIM, N_CLASSES)


def _graphs(rng: np.random.Generator, n: int) -> tuple[list, list, np.ndarray]:
    gs, hs, labels = [], [], []
    for i in range(n):
        nodes = int(rng.integers(7, 10))
        dense = i % 2
        a = np.ones((2, 2))
        while len(np.unique(a, axis=0)) < len(a):  # no two alike nodes: no ties in topk
            a = (rng.random((nodes, nodes)) < (0.5 if dense else 0.2)).astype(np.float64)
            a = np.maximum(a, a.T)
            np.fill_diagonal(a, 1.0)
        gs.append(a)
        hs.append(rng.standard_normal((nodes, IN_DIM)) + dense)
        labels.append(dense)
    return gs, hs, np.array(labels)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    rng = np.random.default_rng(39)
    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    optimizer = optim.Adam(net.parameters(), lr=1e-2, amsgrad=True, weight_decay=0.0008)
    gs, hs, labels = _graphs(rng, 6)
    gs = [as_tensor(torch, g) for g in gs]
    hs = [as_tensor(torch, h) for h in hs]
    labels = torch.from_numpy(labels)
    values: list[float] = []
    for _epoch in range(4):
        net.train()
        loss, acc = net(gs, hs, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), acc.item()]
    net.eval()
    with torch.no_grad():
        loss, acc = net(gs, hs, labels)
        g0 = gs[0] / torch.sum(gs[0], 1)
        pooled_g, pooled_h, idx = net.g_unet.pools[0](g0, net.s_gcn(g0, hs[0]))
    values += [loss.item(), acc.item(), float(pooled_g.sum()), *pooled_h.sum(1).tolist()]
    values += idx.tolist()
    return values
