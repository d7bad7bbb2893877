"""A Graph Transformer on small dense graphs with Laplacian eigenvector positional encodings, as
graphdeeplearning/graphtransformer (Dwivedi & Bresson 2020: ``laplacian_positional_encoding``,
``GraphTransformerLayer`` with edge features, the ``sign_flip`` in ``train_epoch``) and dense
ports in the style of lucidrains/graph-transformer-pytorch write it, size-reduced.

The idioms: the normalised Laplacian ``L = I - D^-1/2 A D^-1/2`` with degrees ``.clip(1) **
-0.5`` (an isolated node keeps a finite scale), ``EigVal, EigVec = torch.linalg.eigh(L)``,
``EigVec[:, 1 : pos_enc_dim + 1]``, a sign canonicalisation (each eigenvector's first clearly
non-zero entry made positive: ``argmax`` of an integer mask, ``torch.sign(v.gather(0, idx))``)
and the training-time ``sign_flip[sign_flip >= 0.5] = 1.0; sign_flip[sign_flip < 0.5] = -1.0``
on a seeded draw;
``embedding_lap_pos_enc = nn.Linear(pos_enc_dim, hidden_dim)`` added to ``embedding_h``;
multi-head attention ``einsum('bhid,bhjd->bhij')`` scaled by ``1 / sqrt(d)``, edge features
projected per head (``nn.Linear(edge_dim, heads)``, ``.permute(0, 3, 1, 2)``) and added to the
scores, ``masked_fill(~adj_mask, float('-inf'))`` with the guard for rows with no neighbour
(``all_masked = ~mask.any(-1, keepdim=True)``, ``scores.masked_fill(all_masked, 0.0)`` before
``softmax`` and ``attn.masked_fill(all_masked, 0.0)`` after), the residual + ``BatchNorm1d``
on the flattened real nodes, the FFN with ``F.dropout`` and ``F.relu``, the edge stream's own
update (``e = e + O_e(score)``), the mean readout ``(h * node_mask.unsqueeze(-1)).sum(1) /
node_mask.sum(1, keepdim=True)``, an MLP readout and ``nn.CrossEntropyLoss``; an ``Adam``
step with ``weight_decay``.

Changed: ZINC / CLUSTER -> four NumPy graphs of 5 to 7 nodes (one with an isolated node),
padded to 7; hidden 8, 2 heads, 2 layers, ``pos_enc_dim`` 3; three training steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_MAX, IN_DIM, EDGE_DIM, HIDDEN, HEADS, LAYERS, PE_DIM, CLASSES = 7, 4, 2, 8, 2, 2, 3, 3


def _graphs() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    """(adjacency, node features, edge features, label) for graphs of 5 to 7 nodes."""
    rng = np.random.default_rng(5)
    graphs = []
    for n, isolated in ((6, False), (7, True), (5, False), (7, False)):
        while True:
            upper = np.triu(rng.random((n, n)) < 0.45, 1)
            adj = (upper | upper.T).astype(np.float64)
            if isolated:
                adj[-1, :] = adj[:, -1] = 0.0
            core = adj[: n - 1, : n - 1] if isolated else adj
            if (core.sum(1) > 0).all():
                break
        feats = rng.normal(size=(n, IN_DIM))
        efeats = rng.normal(size=(n, n, EDGE_DIM)) * adj[..., None]
        graphs.append((adj, feats, efeats, int(rng.integers(CLASSES))))
    return graphs


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class MultiHeadAttentionLayer(nn.Module):
        def __init__(self, in_dim: int, out_dim: int, num_heads: int) -> None:
            super().__init__()
            self.out_dim, self.num_heads = out_dim, num_heads
            self.Q = nn.Linear(in_dim, out_dim * num_heads, bias=True)
            self.K = nn.Linear(in_dim, out_dim * num_heads, bias=True)
            self.V = nn.Linear(in_dim, out_dim * num_heads, bias=True)
            self.proj_e = nn.Linear(in_dim, num_heads, bias=True)

        def forward(self, h: Any, e: Any, adj_mask: Any) -> tuple[Any, Any]:
            b, n, _ = h.shape
            q = self.Q(h).view(b, n, self.num_heads, self.out_dim).transpose(1, 2)
            k = self.K(h).view(b, n, self.num_heads, self.out_dim).transpose(1, 2)
            v = self.V(h).view(b, n, self.num_heads, self.out_dim).transpose(1, 2)
            score = torch.einsum("bhid,bhjd->bhij", q, k) / math.sqrt(self.out_dim)
            score = score + self.proj_e(e).permute(0, 3, 1, 2)  # edge features per head
            e_out = score.permute(0, 2, 3, 1)
            mask = adj_mask.unsqueeze(1)
            score = score.masked_fill(~mask, float("-inf"))
            all_masked = ~mask.any(-1, keepdim=True)  # isolated or padded nodes
            score = score.masked_fill(all_masked, 0.0)
            attn = torch.softmax(score, dim=-1)
            attn = attn.masked_fill(all_masked, 0.0)
            out = torch.einsum("bhij,bhjd->bhid", attn, v)
            return out.transpose(1, 2).reshape(b, n, -1), e_out

    class GraphTransformerLayer(nn.Module):
        def __init__(self, in_dim: int, out_dim: int, num_heads: int, dropout: float = 0.0):
            super().__init__()
            self.dropout = dropout
            self.attention = MultiHeadAttentionLayer(in_dim, out_dim // num_heads, num_heads)
            self.O_h = nn.Linear(out_dim, out_dim)
            self.O_e = nn.Linear(num_heads, out_dim)
            self.batch_norm1_h = nn.BatchNorm1d(out_dim)
            self.FFN_h_layer1 = nn.Linear(out_dim, out_dim * 2)
            self.FFN_h_layer2 = nn.Linear(out_dim * 2, out_dim)
            self.batch_norm2_h = nn.BatchNorm1d(out_dim)

        def _bn(self, bn: Any, h: Any, node_mask: Any) -> Any:
            out = torch.zeros_like(h)
            out[node_mask] = bn(h[node_mask])  # statistics over real nodes only
            return out

        def forward(self, h: Any, e: Any, adj_mask: Any, node_mask: Any) -> tuple[Any, Any]:
            h_in1 = h
            attn_out, e_score = self.attention(h, e, adj_mask)
            h = F.dropout(attn_out, self.dropout, training=self.training)
            h = self.O_h(h)
            h = h_in1 + h
            h = self._bn(self.batch_norm1_h, h, node_mask)
            h_in2 = h
            h = self.FFN_h_layer1(h)
            h = F.relu(h)
            h = F.dropout(h, self.dropout, training=self.training)
            h = self.FFN_h_layer2(h)
            h = h_in2 + h
            h = self._bn(self.batch_norm2_h, h, node_mask)
            e = e + self.O_e(e_score) * adj_mask.unsqueeze(-1)
            return h, e

    class GraphTransformerNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding_h = nn.Linear(IN_DIM, HIDDEN)
            self.embedding_e = nn.Linear(EDGE_DIM, HIDDEN)
            self.embedding_lap_pos_enc = nn.Linear(PE_DIM, HIDDEN)
            self.layers = nn.ModuleList(
                [GraphTransformerLayer(HIDDEN, HIDDEN, HEADS) for _ in range(LAYERS)]
            )
            self.MLP_layer = nn.Sequential(nn.Linear(HIDDEN, HIDDEN // 2), nn.ReLU(),
                                           nn.Linear(HIDDEN // 2, CLASSES))  # fmt: skip

        def forward(self, h: Any, e: Any, lap_pe: Any, adj_mask: Any, node_mask: Any) -> Any:
            h = self.embedding_h(h) + self.embedding_lap_pos_enc(lap_pe)
            e = self.embedding_e(e)
            for conv in self.layers:
                h, e = conv(h, e, adj_mask, node_mask)
            nm = node_mask.unsqueeze(-1).to(h.dtype)
            hg = (h * nm).sum(1) / nm.sum(1)
            return self.MLP_layer(hg)

    def laplacian_positional_encoding(adj: Any, pos_enc_dim: int) -> Any:
        n = adj.shape[0]
        deg = adj.sum(dim=1).clip(1) ** -0.5
        N = torch.diag(deg)
        L = torch.eye(n) - N @ adj @ N
        EigVal, EigVec = torch.linalg.eigh(L)
        EigVec = EigVec[:, 1 : pos_enc_dim + 1]
        # LAPACK's sign is arbitrary: make each vector's first clearly non-zero entry positive
        idx = (EigVec.abs() > 1e-6).to(torch.int64).argmax(dim=0, keepdim=True)
        EigVec = EigVec * torch.sign(EigVec.gather(0, idx))
        return EigVal, EigVec

    return GraphTransformerNet, laplacian_positional_encoding


def make_model(torch_like: Any) -> Any:
    GraphTransformerNet, _ = _classes(torch_like)
    return GraphTransformerNet()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    _, laplacian_positional_encoding = _classes(torch_like)
    model = make_model(torch_like)
    load_numpy_state(torch, model, init)
    values: list[float] = []

    graphs = _graphs()
    b = len(graphs)
    h = torch.zeros(b, N_MAX, IN_DIM)
    e = torch.zeros(b, N_MAX, N_MAX, EDGE_DIM)
    lap_pe = torch.zeros(b, N_MAX, PE_DIM)
    adj_mask = torch.zeros(b, N_MAX, N_MAX, dtype=torch.bool)
    node_mask = torch.zeros(b, N_MAX, dtype=torch.bool)
    labels = torch.tensor([g[3] for g in graphs])
    for i, (adj, feats, efeats, _) in enumerate(graphs):
        n = adj.shape[0]
        adj_t = as_tensor(torch, adj)
        eigval, pe = laplacian_positional_encoding(adj_t, PE_DIM)
        values += eigval.tolist() + [pe.abs().sum().item(), pe.sum().item()]
        lap_pe[i, :n] = pe
        h[i, :n] = as_tensor(torch, feats)
        e[i, :n, :n] = as_tensor(torch, efeats)
        adj_mask[i, :n, :n] = adj_t > 0
        node_mask[i, :n] = True
    values.append(int((~adj_mask.any(-1) & node_mask).sum()))  # isolated real nodes

    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    rng = np.random.default_rng(17)
    model.train()
    for _ in range(3):
        sign_flip = as_tensor(torch, rng.random(PE_DIM))
        sign_flip[sign_flip >= 0.5] = 1.0
        sign_flip[sign_flip < 0.5] = -1.0
        batch_lap_pos_enc = lap_pe * sign_flip.unsqueeze(0)
        optimizer.zero_grad()
        scores = model(h, e, batch_lap_pos_enc, adj_mask, node_mask)
        loss = criterion(scores, labels)
        loss.backward()
        optimizer.step()
        grad_pe = model.embedding_lap_pos_enc.weight.grad
        values += [loss.item(), grad_pe.abs().sum().item(), sign_flip.sum().item()]
    bn = model.layers[0].batch_norm1_h
    values += [bn.running_mean.sum().item(), bn.running_var.sum().item()]

    model.eval()
    with torch.no_grad():
        scores = model(h, e, lap_pe, adj_mask, node_mask)
        values += scores.flatten().tolist() + (scores.argmax(dim=1) == labels).tolist()
    return values
