"""Diego999/pyGAT (``layers.py``, ``models.py``, ``utils.py``, ``train.py``), the sparse GAT
(``SpGAT``) whose attention runs only over the edges through a custom sparse-product
``autograd.Function``, size-reduced.

Kept verbatim: ``SpecialSpmmFunction`` (``assert indices.requires_grad == False``,
``torch.sparse_coo_tensor(indices, values, shape)`` built inside ``forward``,
``ctx.save_for_backward(a, b)`` of the sparse matrix, ``ctx.N = shape[0]``,
``torch.matmul(a, b)``; in ``backward`` ``ctx.needs_input_grad[1]``/``[3]``,
``grad_output.matmul(b.t())``, ``a._indices()[0, :] * ctx.N + a._indices()[1, :]``,
``grad_a_dense.view(-1)[edge_idx]``, ``a.t().matmul(grad_output)``, ``return None,
grad_values, None, grad_b``) behind the ``SpecialSpmm`` module; ``SpGraphAttentionLayer``
(``nn.Parameter(torch.zeros(size=(in_features, out_features)))`` with
``nn.init.xavier_normal_(self.W.data, gain=1.414)``, ``dv = 'cuda' if input.is_cuda else
'cpu'``, ``adj.nonzero().t()``, ``torch.cat((h[edge[0, :], :], h[edge[1, :], :]), dim=1).t()``,
``torch.exp(-self.leakyrelu(self.a.mm(edge_h).squeeze()))``, the row sums through
``torch.ones(size=(N,1), device=dv)`` and ``torch.Size([N, N])``, ``h_prime.div(e_rowsum)``,
``assert not torch.isnan(h).any()``, its own ``__repr__``); ``SpGAT`` (a Python list of heads
registered with ``self.add_module('attention_{}'.format(i), attention)``, ``F.dropout(...,
training=self.training)``, ``F.elu``, ``F.log_softmax(x, dim=1)``); ``utils.normalize_features``
(SciPy's ``sp.diags(r_inv)`` with ``r_inv[np.isinf(r_inv)] = 0.``),
``torch.FloatTensor(np.array(features.todense()))``, ``torch.LongTensor(np.where(labels)[1])``,
``accuracy`` (``output.max(1)[1].type_as(labels)``, ``preds.eq(labels).double()``);
``train.py``'s ``optim.Adam(..., weight_decay=...)``, ``F.nll_loss(output[idx_train],
labels[idx_train])``, the ``model.eval()`` validation pass and ``loss_val.data.item()``.

Changed: Cora -> a 10-node graph with self-loops and sparse binary features from a seeded
NumPy generator; nhid 8 -> 3, nb_heads 8 -> 2, 3 classes; dropout 0.6 kept; 100000 epochs
with patience -> 5; no CUDA, no timing prints; NumPy's divide-by-zero warning of a
featureless node's row silenced.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["init_state", "make_model", "run"]

DTYPE = "float32"
N, FEATS, NHID, NHEADS, CLASSES, EPOCHS = 10, 6, 3, 2, 3, 5


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch.nn.functional

    class SpecialSpmmFunction(torch.autograd.Function):
        """Special function for only sparse region backpropataion layer."""

        @staticmethod
        def forward(ctx, indices, values, shape, b):  # noqa: ANN001, ANN205
            assert indices.requires_grad == False  # noqa: E712
            a = torch.sparse_coo_tensor(indices, values, shape)
            ctx.save_for_backward(a, b)
            ctx.N = shape[0]
            return torch.matmul(a, b)

        @staticmethod
        def backward(ctx, grad_output):  # noqa: ANN001, ANN205
            a, b = ctx.saved_tensors
            grad_values = grad_b = None
            if ctx.needs_input_grad[1]:
                grad_a_dense = grad_output.matmul(b.t())
                edge_idx = a._indices()[0, :] * ctx.N + a._indices()[1, :]
                grad_values = grad_a_dense.view(-1)[edge_idx]
            if ctx.needs_input_grad[3]:
                grad_b = a.t().matmul(grad_output)
            return None, grad_values, None, grad_b

    class SpecialSpmm(nn.Module):
        def forward(self, indices, values, shape, b):  # noqa: ANN001, ANN201
            return SpecialSpmmFunction.apply(indices, values, shape, b)

    class SpGraphAttentionLayer(nn.Module):
        """Sparse version GAT layer, similar to https://arxiv.org/abs/1710.10903"""

        def __init__(self, in_features, out_features, dropout, alpha, concat=True):  # noqa: ANN001, ANN204
            super(SpGraphAttentionLayer, self).__init__()  # noqa: UP008
            self.in_features = in_features
            self.out_features = out_features
            self.alpha = alpha
            self.concat = concat

            self.W = nn.Parameter(torch.zeros(size=(in_features, out_features)))
            nn.init.xavier_normal_(self.W.data, gain=1.414)

            self.a = nn.Parameter(torch.zeros(size=(1, 2 * out_features)))
            nn.init.xavier_normal_(self.a.data, gain=1.414)

            self.dropout = nn.Dropout(dropout)
            self.leakyrelu = nn.LeakyReLU(self.alpha)
            self.special_spmm = SpecialSpmm()

        def forward(self, input, adj):  # noqa: ANN001, ANN201
            dv = "cuda" if input.is_cuda else "cpu"

            N = input.size()[0]
            edge = adj.nonzero().t()

            h = torch.mm(input, self.W)
            # h: N x out
            assert not torch.isnan(h).any()

            # Self-attention on the nodes - Shared attention mechanism
            edge_h = torch.cat((h[edge[0, :], :], h[edge[1, :], :]), dim=1).t()
            # edge: 2*D x E

            edge_e = torch.exp(-self.leakyrelu(self.a.mm(edge_h).squeeze()))
            assert not torch.isnan(edge_e).any()
            # edge_e: E

            e_rowsum = self.special_spmm(
                edge, edge_e, torch.Size([N, N]), torch.ones(size=(N, 1), device=dv)
            )
            # e_rowsum: N x 1

            edge_e = self.dropout(edge_e)
            # edge_e: E

            h_prime = self.special_spmm(edge, edge_e, torch.Size([N, N]), h)
            assert not torch.isnan(h_prime).any()
            # h_prime: N x out

            h_prime = h_prime.div(e_rowsum)
            # h_prime: N x out
            assert not torch.isnan(h_prime).any()

            if self.concat:
                # if this layer is not last layer,
                return F.elu(h_prime)
            else:
                # if this layer is last layer,
                return h_prime

        def __repr__(self):  # noqa: ANN204
            return (
                self.__class__.__name__
                + " ("
                + str(self.in_features)
                + " -> "
                + str(self.out_features)
                + ")"
            )

    class SpGAT(nn.Module):
        def __init__(self, nfeat, nhid, nclass, dropout, alpha, nheads):  # noqa: ANN001, ANN204
            """Sparse version of GAT."""
            super(SpGAT, self).__init__()  # noqa: UP008
            self.dropout = dropout

            self.attentions = [
                SpGraphAttentionLayer(nfeat, nhid, dropout=dropout, alpha=alpha, concat=True)
                for _ in range(nheads)
            ]
            for i, attention in enumerate(self.attentions):
                self.add_module("attention_{}".format(i), attention)  # noqa: UP032

            self.out_att = SpGraphAttentionLayer(
                nhid * nheads, nclass, dropout=dropout, alpha=alpha, concat=False
            )

        def forward(self, x, adj):  # noqa: ANN001, ANN201
            x = F.dropout(x, self.dropout, training=self.training)
            x = torch.cat([att(x, adj) for att in self.attentions], dim=1)
            x = F.dropout(x, self.dropout, training=self.training)
            x = F.elu(self.out_att(x, adj))
            return F.log_softmax(x, dim=1)

    return SpGAT(nfeat=FEATS, nhid=NHID, nclass=CLASSES, dropout=0.6, alpha=0.2, nheads=NHEADS)


def normalize_features(mx: Any) -> Any:
    """Row-normalize sparse matrix"""
    rowsum = np.array(mx.sum(1))
    r_inv = np.power(rowsum, -1).flatten()
    r_inv[np.isinf(r_inv)] = 0.0
    r_mat_inv = sp.diags(r_inv)
    mx = r_mat_inv.dot(mx)
    return mx


def init_state(tmp_path: Any) -> dict:
    rng = np.random.default_rng(17)
    adj = (rng.random((N, N)) < 0.25).astype(np.float32)
    adj = np.maximum(adj, adj.T) + np.eye(N, dtype=np.float32)
    labels = np.eye(CLASSES)[rng.integers(0, CLASSES, N)]
    features = sp.csr_matrix((rng.random((N, FEATS)) < 0.5).astype(np.float32))
    return {"adj": (adj > 0).astype(np.float32), "labels": labels, "features": features}


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional

    def accuracy(output, labels):  # noqa: ANN001, ANN202
        preds = output.max(1)[1].type_as(labels)
        correct = preds.eq(labels).double()
        correct = correct.sum()
        return correct / len(labels)

    with np.errstate(divide="ignore"):  # a featureless node: NumPy's warning, then 0
        features = normalize_features(init["features"])
    features = torch.FloatTensor(np.array(features.todense()))
    adj = torch.FloatTensor(np.array(init["adj"]))
    labels = torch.LongTensor(np.where(init["labels"])[1])
    idx_train, idx_val = torch.LongTensor(range(6)), torch.LongTensor(range(6, N))
    torch.manual_seed(0)
    model = make_model(torch)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.005, weight_decay=5e-4)
    values: list[float] = []
    for _epoch in range(EPOCHS):
        model.train()
        optimizer.zero_grad()
        output = model(features, adj)
        loss_train = F.nll_loss(output[idx_train], labels[idx_train])
        acc_train = accuracy(output[idx_train], labels[idx_train])
        loss_train.backward()
        optimizer.step()

        model.eval()
        output = model(features, adj)
        loss_val = F.nll_loss(output[idx_val], labels[idx_val])
        acc_val = accuracy(output[idx_val], labels[idx_val])
        values += [
            loss_train.data.item(),
            acc_train.data.item(),
            loss_val.data.item(),
            acc_val.item(),
        ]
    return values
