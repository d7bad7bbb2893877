"""The Heterogeneous Graph Transformer (Hu et al., WWW 2020) as acbull/pyHGT writes it
(``pyHGT/conv.py``: ``HGTConv``, ``RelTemporalEncoding``, ``GeneralConv``; ``pyHGT/model.py``:
``GNN``, ``Classifier``), with torch_geometric's ``MessagePassing`` propagate / ``softmax``
/ ``glorot`` written out, size-reduced.

The idioms: per-type ``nn.ModuleList``s of ``k_linears`` / ``q_linears`` / ``v_linears`` /
``a_linears`` / ``norms``; ``self.relation_pri = nn.Parameter(torch.ones(num_relations,
self.n_heads))``, ``self.relation_att = nn.Parameter(torch.Tensor(num_relations, n_heads,
self.d_k, self.d_k))`` initialised by ``glorot`` (``stdv = math.sqrt(6.0 / (tensor.size(-2) +
tensor.size(-1)))``, ``tensor.data.uniform_(-stdv, stdv)``), ``self.skip =
nn.Parameter(torch.ones(num_types))``; ``message``'s triple loop over source type, target type
and relation with boolean masks (``sb = (node_type_j == int(source_type))``, ``idx =
(edge_type == int(relation_type)) & tb``, ``if idx.sum() == 0: continue``), the per-relation
``torch.bmm(k_mat.transpose(1,0), self.relation_att[relation_type]).transpose(1,0)``, and the
masked writes into zero buffers with gradient (``res_att[idx] = (q_mat * k_mat).sum(dim=-1) *
self.relation_pri[relation_type] / self.sqrt_dk``, ``res_msg[idx] = ...``); PyG's
``softmax(res_att, edge_index_i)`` (``scatter(src, index, dim, reduce='max')``, ``out = (src
- src_max.index_select(dim, index)).exp()``, ``out / (scatter(out, ..., reduce='sum') +
1e-16)``) via ``scatter_reduce(..., 'amax', include_self=False)``; ``update`` (``F.gelu(
aggr_out)``, ``alpha = torch.sigmoid(self.skip[target_type])``, ``res[idx] =
self.norms[target_type](trans_out * alpha + node_inp[idx] * (1 - alpha))``);
``RelTemporalEncoding`` (``emb.weight.data[:, 0::2] = torch.sin(position * div_term) /
math.sqrt(n_hid)``, ``emb.requires_grad = False``, ``x + self.lin(self.emb(t))``); ``GNN``
(``adapt_ws``, ``res = torch.zeros(node_feature.size(0), self.n_hid)``, ``res[idx] =
torch.tanh(self.adapt_ws[t_id](node_feature[idx]))``, ``self.drop(res)``); the paper-field
classifier with ``torch.log_softmax`` and ``criterion = nn.NLLLoss()``; ``torch.optim.AdamW``
with ``clip_grad_norm_`` and ``OneCycleLR``.

Changed: the OAG graph -> 10 nodes of 2 types with 3 relation types and seeded random edges
and times; n_hid 400 -> 8, 8 heads -> 2, 3 layers -> 2, dropout 0.2 -> 0; 3 steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IN_DIM, N_HID, N_HEADS, N_LAYERS, NUM_TYPES, NUM_RELATIONS, N_OUT = 5, 8, 2, 2, 2, 3, 3


def _hgt(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    def glorot(tensor: Any) -> None:
        if tensor is not None:
            stdv = math.sqrt(6.0 / (tensor.size(-2) + tensor.size(-1)))
            tensor.data.uniform_(-stdv, stdv)

    def softmax(src: Any, index: Any, num_nodes: int) -> Any:
        """torch_geometric.utils.softmax (scatter max / sum over the target index)."""
        dim = 0
        size = (num_nodes, *src.shape[1:])
        index_e = index.view(-1, *([1] * (src.dim() - 1))).expand_as(src)
        src_max = torch.zeros(size, dtype=src.dtype).scatter_reduce(
            dim, index_e, src.detach(), reduce="amax", include_self=False
        )
        out = (src - src_max.index_select(dim, index)).exp()
        out_sum = torch.zeros(size, dtype=src.dtype).scatter_add(dim, index_e, out) + 1e-16
        out_sum = out_sum.index_select(dim, index)
        return out / out_sum

    class RelTemporalEncoding(nn.Module):
        """Implement the Temporal Encoding (Sinusoid) function."""

        def __init__(self, n_hid: int, max_len: int = 240, dropout: float = 0.2) -> None:
            super(RelTemporalEncoding, self).__init__()  # noqa: UP008 (as in the repository)
            position = torch.arange(0.0, max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, n_hid, 2) * -(math.log(10000.0) / n_hid))
            emb = nn.Embedding(max_len, n_hid)
            emb.weight.data[:, 0::2] = torch.sin(position * div_term) / math.sqrt(n_hid)
            emb.weight.data[:, 1::2] = torch.cos(position * div_term) / math.sqrt(n_hid)
            emb.requires_grad = False
            self.emb = emb
            self.lin = nn.Linear(n_hid, n_hid)

        def forward(self, x: Any, t: Any) -> Any:
            return x + self.lin(self.emb(t))

    class HGTConv(nn.Module):
        def __init__(self, in_dim: int, out_dim: int, num_types: int, num_relations: int,
                     n_heads: int, dropout: float = 0.2, use_norm: bool = True,
                     use_RTE: bool = True) -> None:  # fmt: skip
            super(HGTConv, self).__init__()  # noqa: UP008

            self.in_dim = in_dim
            self.out_dim = out_dim
            self.num_types = num_types
            self.num_relations = num_relations
            self.total_rel = num_types * num_relations * num_types
            self.n_heads = n_heads
            self.d_k = out_dim // n_heads
            self.sqrt_dk = math.sqrt(self.d_k)
            self.use_norm = use_norm
            self.use_RTE = use_RTE
            self.att = None

            self.k_linears = nn.ModuleList()
            self.q_linears = nn.ModuleList()
            self.v_linears = nn.ModuleList()
            self.a_linears = nn.ModuleList()
            self.norms = nn.ModuleList()

            for _t in range(num_types):
                self.k_linears.append(nn.Linear(in_dim, out_dim))
                self.q_linears.append(nn.Linear(in_dim, out_dim))
                self.v_linears.append(nn.Linear(in_dim, out_dim))
                self.a_linears.append(nn.Linear(out_dim, out_dim))
                if use_norm:
                    self.norms.append(nn.LayerNorm(out_dim))
            """
                TODO: make relation_pri smaller, as not all <st, rt, tt> pair exist in meta
                relation list.
            """
            self.relation_pri = nn.Parameter(torch.ones(num_relations, self.n_heads))
            self.relation_att = nn.Parameter(
                torch.Tensor(num_relations, n_heads, self.d_k, self.d_k)
            )
            self.relation_msg = nn.Parameter(
                torch.Tensor(num_relations, n_heads, self.d_k, self.d_k)
            )
            self.skip = nn.Parameter(torch.ones(num_types))
            self.drop = nn.Dropout(dropout)
            if self.use_RTE:
                self.emb = RelTemporalEncoding(in_dim)

            glorot(self.relation_att)
            glorot(self.relation_msg)

        def forward(self, node_inp: Any, node_type: Any, edge_index: Any, edge_type: Any,
                    edge_time: Any) -> Any:  # fmt: skip
            # propagate(edge_index, node_inp=..., node_type=..., ...) with flow source->target
            edge_index_j, edge_index_i = edge_index
            msg = self.message(edge_index_i, node_inp[edge_index_i], node_inp[edge_index_j],
                               node_type[edge_index_i], node_type[edge_index_j], edge_type,
                               edge_time, node_inp.size(0))  # fmt: skip
            aggr_out = torch.zeros(node_inp.size(0), self.out_dim).index_add_(
                0, edge_index_i, msg
            )  # aggr="add"
            return self.update(aggr_out, node_inp, node_type)

        def message(self, edge_index_i: Any, node_inp_i: Any, node_inp_j: Any,
                    node_type_i: Any, node_type_j: Any, edge_type: Any, edge_time: Any,
                    num_nodes: int) -> Any:  # fmt: skip
            """
            j: source, i: target; <j, i>
            """
            data_size = edge_index_i.size(0)
            """
                Create Attention and Message tensor beforehand.
            """
            res_att = torch.zeros(data_size, self.n_heads).to(node_inp_i.device)
            res_msg = torch.zeros(data_size, self.n_heads, self.d_k).to(node_inp_i.device)

            for source_type in range(self.num_types):
                sb = node_type_j == int(source_type)
                k_linear = self.k_linears[source_type]
                v_linear = self.v_linears[source_type]
                for target_type in range(self.num_types):
                    tb = (node_type_i == int(target_type)) & sb
                    q_linear = self.q_linears[target_type]
                    for relation_type in range(self.num_relations):
                        """
                        idx is all the edges with meta relation
                        <source_type, relation_type, target_type>
                        """
                        idx = (edge_type == int(relation_type)) & tb
                        if idx.sum() == 0:
                            continue
                        """
                            Get the corresponding input node representations by idx.
                            Add tempotal encoding to source representation (j)
                        """
                        target_node_vec = node_inp_i[idx]
                        source_node_vec = node_inp_j[idx]
                        if self.use_RTE:
                            source_node_vec = self.emb(source_node_vec, edge_time[idx])
                        """
                            Step 1: Heterogeneous Mutual Attention
                        """
                        q_mat = q_linear(target_node_vec).view(-1, self.n_heads, self.d_k)
                        k_mat = k_linear(source_node_vec).view(-1, self.n_heads, self.d_k)
                        k_mat = torch.bmm(
                            k_mat.transpose(1, 0), self.relation_att[relation_type]
                        ).transpose(1, 0)
                        res_att[idx] = (
                            (q_mat * k_mat).sum(dim=-1)
                            * self.relation_pri[relation_type]
                            / self.sqrt_dk
                        )
                        """
                            Step 2: Heterogeneous Message Passing
                        """
                        v_mat = v_linear(source_node_vec).view(-1, self.n_heads, self.d_k)
                        res_msg[idx] = torch.bmm(
                            v_mat.transpose(1, 0), self.relation_msg[relation_type]
                        ).transpose(1, 0)
            """
                Softmax based on target node's id (edge_index_i). Store attention value in
                self.att for later visualization.
            """
            self.att = softmax(res_att, edge_index_i, num_nodes)
            res = res_msg * self.att.view(-1, self.n_heads, 1)
            del res_att, res_msg
            return res.view(-1, self.out_dim)

        def update(self, aggr_out: Any, node_inp: Any, node_type: Any) -> Any:
            """
            Step 3: Target-specific Aggregation
            x = W[node_type] * gelu(Agg(x)) + x
            """
            aggr_out = F.gelu(aggr_out)
            res = torch.zeros(aggr_out.size(0), self.out_dim).to(node_inp.device)
            for target_type in range(self.num_types):
                idx = node_type == int(target_type)
                if idx.sum() == 0:
                    continue
                trans_out = self.drop(self.a_linears[target_type](aggr_out[idx]))
                """
                    Add skip connection with learnable weight self.skip[t_id]
                """
                alpha = torch.sigmoid(self.skip[target_type])
                if self.use_norm:
                    res[idx] = self.norms[target_type](
                        trans_out * alpha + node_inp[idx] * (1 - alpha)
                    )
                else:
                    res[idx] = trans_out * alpha + node_inp[idx] * (1 - alpha)
            return res

        def __repr__(self) -> str:
            return "{}(in_dim={}, out_dim={}, num_types={}, num_types={})".format(  # noqa: UP032
                self.__class__.__name__, self.in_dim, self.out_dim, self.num_types,
                self.num_relations)  # fmt: skip

    class GNN(nn.Module):
        def __init__(self, in_dim: int, n_hid: int, num_types: int, num_relations: int,
                     n_heads: int, n_layers: int, dropout: float = 0.2,
                     conv_name: str = "hgt", prev_norm: bool = False,
                     last_norm: bool = False, use_RTE: bool = True) -> None:  # fmt: skip
            super(GNN, self).__init__()  # noqa: UP008
            self.gcs = nn.ModuleList()
            self.num_types = num_types
            self.in_dim = in_dim
            self.n_hid = n_hid
            self.adapt_ws = nn.ModuleList()
            self.drop = nn.Dropout(dropout)
            for _t in range(num_types):
                self.adapt_ws.append(nn.Linear(in_dim, n_hid))
            for _l in range(n_layers - 1):
                self.gcs.append(HGTConv(n_hid, n_hid, num_types, num_relations, n_heads,
                                        dropout, use_norm=prev_norm, use_RTE=use_RTE))  # fmt: skip
            self.gcs.append(HGTConv(n_hid, n_hid, num_types, num_relations, n_heads, dropout,
                                    use_norm=last_norm, use_RTE=use_RTE))  # fmt: skip

        def forward(self, node_feature: Any, node_type: Any, edge_time: Any, edge_index: Any,
                    edge_type: Any) -> Any:  # fmt: skip
            res = torch.zeros(node_feature.size(0), self.n_hid).to(node_feature.device)
            for t_id in range(self.num_types):
                idx = node_type == int(t_id)
                if idx.sum() == 0:
                    continue
                res[idx] = torch.tanh(self.adapt_ws[t_id](node_feature[idx]))
            meta_xs = self.drop(res)
            del res
            for gc in self.gcs:
                meta_xs = gc(meta_xs, node_type, edge_index, edge_type, edge_time)
            return meta_xs

    class Classifier(nn.Module):
        def __init__(self, n_hid: int, n_out: int) -> None:
            super(Classifier, self).__init__()  # noqa: UP008
            self.n_hid = n_hid
            self.n_out = n_out
            self.linear = nn.Linear(n_hid, n_out)

        def forward(self, x: Any) -> Any:
            tx = self.linear(x)
            return torch.log_softmax(tx.squeeze(), dim=-1)

        def __repr__(self) -> str:
            return "{}(n_hid={}, n_out={})".format(  # noqa: UP032 (as in the repository)
                self.__class__.__name__, self.n_hid, self.n_out
            )

    return GNN, Classifier


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    GNN, Classifier = _hgt(torch_like)
    gnn = GNN(conv_name="hgt", in_dim=IN_DIM, n_hid=N_HID, n_heads=N_HEADS, n_layers=N_LAYERS,
              dropout=0.0, num_types=NUM_TYPES, num_relations=NUM_RELATIONS, prev_norm=True,
              last_norm=True, use_RTE=True)  # fmt: skip
    classifier = Classifier(N_HID, N_OUT)
    return nn.Sequential(gnn, classifier)


def _graph(rng: np.random.Generator) -> dict:
    n = 10
    node_type = np.array([0] * 6 + [1] * 4)
    edges = [(a, b) for a in range(n) for b in range(n) if a != b and rng.random() < 0.3]
    edge_index = np.array(edges).T.copy()
    return {
        "node_feature": rng.normal(size=(n, IN_DIM)),
        "node_type": node_type,
        "edge_time": rng.integers(0, 240, edge_index.shape[1]),
        "edge_index": edge_index,
        "edge_type": rng.integers(0, NUM_RELATIONS, edge_index.shape[1]),
        "ylabel": rng.integers(0, N_OUT, n),
    }


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    gnn, classifier = model[0], model[1]
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, 5e-3, total_steps=4,
                                                    anneal_strategy="linear")  # fmt: skip
    criterion = nn.NLLLoss()
    rng = np.random.default_rng(1)
    values: list[float] = []
    for _step in range(3):
        g = {k: as_tensor(torch_like, v) for k, v in _graph(rng).items()}
        node_rep = gnn.forward(g["node_feature"], g["node_type"], g["edge_time"],
                               g["edge_index"], g["edge_type"])  # fmt: skip
        x_ids = (g["node_type"] == 0).nonzero().squeeze(-1)
        res = classifier.forward(node_rep[x_ids])
        loss = criterion(res, g["ylabel"][x_ids])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.2)
        optimizer.step()
        scheduler.step()
        att = gnn.gcs[0].att
        values += [loss.item(), att.sum().item(), att.max().item(), res.exp().max().item()]
    return values
