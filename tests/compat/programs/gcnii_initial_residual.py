"""GCNII (Chen et al. 2020, "Simple and Deep Graph Convolutional Networks"), chennnM/GCNII
(``model.py``: ``GraphConvolution``, ``GCNII``; ``utils.py``: ``sys_normalized_adjacency``,
``sparse_mx_to_torch_sparse_tensor``, ``accuracy``; ``train.py``), size-reduced.

The idioms kept: the layer's ``theta = math.log(lamda / l + 1)``, initial residual
``support = (1 - alpha) * hi + alpha * h0`` and identity mapping ``theta * torch.mm(support,
self.weight) + (1 - theta) * r``, and the ``variant`` (``torch.cat([hi, h0], 1)`` with a
doubled ``in_features``); ``hi = torch.spmm(adj, input)`` on a sparse adjacency;
``Parameter(torch.FloatTensor(in, out))`` with ``self.weight.data.uniform_(-stdv, stdv)``;
``GCNII`` (``nn.ModuleList`` of convolutions and of two ``nn.Linear``; ``self.params1 =
list(self.convs.parameters())``, ``self.params2 = list(self.fcs.parameters())``; ``_layers[0]``
as ``h0``; ``F.log_softmax(layer_inner, dim=1)``); the two parameter groups with their own
weight decay ``optim.Adam([dict(params=model.params1, weight_decay=args.wd1),
dict(params=model.params2, weight_decay=args.wd2)], lr=args.lr)``; SciPy's
``sp.coo_matrix(adj) + sp.eye(...)``, ``row_sum = (row_sum == 0) * 1 + row_sum``, the
symmetric normalisation ``d_mat_inv_sqrt.dot(adj).dot(d_mat_inv_sqrt).tocoo()`` and the
deprecated ``torch.sparse.FloatTensor(indices, values, shape)`` built from
``np.vstack((sparse_mx.row, sparse_mx.col))``; row-normalised features (``sp.diags(r_inv)``);
``accuracy`` (``output.max(1)[1].type_as(labels)``, ``preds.eq(labels).double()``); the train
/ validate / test functions (``loss_train.item(), acc_train.item()``) with early stopping on
the validation loss, ``torch.save(model.state_dict(), checkpt_file)`` on improvement and
``model.load_state_dict(torch.load(checkpt_file))`` before testing.

Changed: Cora -> a random 24-node planted-partition graph; 64 layers -> 4, hidden 64 -> 8;
dropout 0.6 -> 0 (random masks cannot agree between two frameworks); 1500 epochs -> 8 with
patience 3; the checkpoint goes to a temporary directory; the deprecated sparse constructor's
warnings are silenced as a script that prints them and goes on.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
N_NODES, N_FEAT, N_CLASS, HIDDEN, LAYERS = 24, 6, 3, 8, 4
LAMDA, ALPHA = 0.5, 0.1


def _gcnii(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    Parameter = torch_like.nn.Parameter

    class GraphConvolution(nn.Module):
        def __init__(self, in_features, out_features, residual=False, variant=False):  # noqa: ANN001
            super(GraphConvolution, self).__init__()  # noqa: UP008
            self.variant = variant
            if self.variant:
                self.in_features = 2 * in_features
            else:
                self.in_features = in_features

            self.out_features = out_features
            self.residual = residual
            self.weight = Parameter(torch.FloatTensor(self.in_features, self.out_features))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            stdv = 1.0 / math.sqrt(self.out_features)
            self.weight.data.uniform_(-stdv, stdv)

        def forward(self, input, adj, h0, lamda, alpha, l):  # noqa: ANN001, ANN201, A002, E741
            theta = math.log(lamda / l + 1)
            hi = torch.spmm(adj, input)
            if self.variant:
                support = torch.cat([hi, h0], 1)
                r = (1 - alpha) * hi + alpha * h0
            else:
                support = (1 - alpha) * hi + alpha * h0
                r = support
            output = theta * torch.mm(support, self.weight) + (1 - theta) * r
            if self.residual:
                output = output + input
            return output

    class GCNII(nn.Module):
        def __init__(self, nfeat, nlayers, nhidden, nclass, dropout, lamda, alpha, variant):  # noqa: ANN001
            super(GCNII, self).__init__()  # noqa: UP008
            self.convs = nn.ModuleList()
            for _ in range(nlayers):
                self.convs.append(GraphConvolution(nhidden, nhidden, variant=variant))
            self.fcs = nn.ModuleList()
            self.fcs.append(nn.Linear(nfeat, nhidden))
            self.fcs.append(nn.Linear(nhidden, nclass))
            self.params1 = list(self.convs.parameters())
            self.params2 = list(self.fcs.parameters())
            self.act_fn = nn.ReLU()
            self.dropout = dropout
            self.alpha = alpha
            self.lamda = lamda

        def forward(self, x, adj):  # noqa: ANN001, ANN201
            _layers = []
            x = F.dropout(x, self.dropout, training=self.training)
            layer_inner = self.act_fn(self.fcs[0](x))
            _layers.append(layer_inner)
            for i, con in enumerate(self.convs):
                layer_inner = F.dropout(layer_inner, self.dropout, training=self.training)
                layer_inner = self.act_fn(
                    con(layer_inner, adj, _layers[0], self.lamda, self.alpha, i + 1)
                )
            layer_inner = F.dropout(layer_inner, self.dropout, training=self.training)
            layer_inner = self.fcs[-1](layer_inner)
            return F.log_softmax(layer_inner, dim=1)

    return GCNII


def make_model(torch_like: Any) -> Any:
    GCNII = _gcnii(torch_like)
    return torch_like.nn.ModuleDict(
        {
            "plain": GCNII(N_FEAT, LAYERS, HIDDEN, N_CLASS, 0.0, LAMDA, ALPHA, False),
            "variant": GCNII(N_FEAT, LAYERS, HIDDEN, N_CLASS, 0.0, LAMDA, ALPHA, True),
        }
    )


def normalize(mx: Any) -> Any:
    """Row-normalize sparse matrix"""
    rowsum = np.array(mx.sum(1))
    r_inv = np.power(rowsum, -1).flatten()
    r_inv[np.isinf(r_inv)] = 0.0
    r_mat_inv = sp.diags(r_inv)
    mx = r_mat_inv.dot(mx)
    return mx


def sys_normalized_adjacency(adj: Any) -> Any:
    adj = sp.coo_matrix(adj)
    adj = adj + sp.eye(adj.shape[0])
    row_sum = np.array(adj.sum(1))
    row_sum = (row_sum == 0) * 1 + row_sum
    d_inv_sqrt = np.power(row_sum, -0.5).flatten()
    d_inv_sqrt[np.isinf(d_inv_sqrt)] = 0.0
    d_mat_inv_sqrt = sp.diags(d_inv_sqrt)
    return d_mat_inv_sqrt.dot(adj).dot(d_mat_inv_sqrt).tocoo()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    F = torch_like.nn.functional
    GCNII = _gcnii(torch_like)

    def sparse_mx_to_torch_sparse_tensor(sparse_mx):  # noqa: ANN001, ANN202
        """Convert a scipy sparse matrix to a torch sparse tensor."""
        sparse_mx = sparse_mx.tocoo().astype(np.float32)
        indices = torch.from_numpy(np.vstack((sparse_mx.row, sparse_mx.col)).astype(np.int64))
        values = torch.from_numpy(sparse_mx.data)
        shape = torch.Size(sparse_mx.shape)
        return torch.sparse.FloatTensor(indices, values, shape)

    def accuracy(output, labels):  # noqa: ANN001, ANN202
        preds = output.max(1)[1].type_as(labels)
        correct = preds.eq(labels).double()
        correct = correct.sum()
        return correct / len(labels)

    rng = np.random.default_rng(12)
    labels_np = np.arange(N_NODES) % N_CLASS
    dense = (rng.random((N_NODES, N_NODES)) < np.where(
        labels_np[:, None] == labels_np[None, :], 0.35, 0.04)).astype(np.float32)  # fmt: skip
    dense = np.triu(dense, 1)
    dense = dense + dense.T
    feats = rng.random((N_NODES, N_FEAT)).astype(np.float32)
    feats[np.arange(N_NODES), labels_np * 2] += 1.0
    features = normalize(sp.csr_matrix(feats))
    features = torch.FloatTensor(np.array(features.todense()))
    labels = torch.LongTensor(labels_np)
    idx_train = torch.LongTensor(range(0, 12))
    idx_val = torch.LongTensor(range(12, 18))
    idx_test = torch.LongTensor(range(18, 24))

    start = make_model(torch_like)
    load_numpy_state(torch_like, start, init)
    values: list[float] = []
    with warnings.catch_warnings():  # the deprecated torch.sparse.FloatTensor constructor
        warnings.simplefilter("ignore", UserWarning)
        adj = sys_normalized_adjacency(sp.coo_matrix(dense))
        adj = sparse_mx_to_torch_sparse_tensor(adj)

    with tempfile.TemporaryDirectory() as tmp:
        checkpt_file = str(Path(tmp) / "gcnii.pt")
        for variant in (False, True):
            model = GCNII(N_FEAT, LAYERS, HIDDEN, N_CLASS, 0.0, LAMDA, ALPHA, variant)
            model.load_state_dict(start["variant" if variant else "plain"].state_dict())
            optimizer = optim.Adam(
                [
                    dict(params=model.params1, weight_decay=0.01),
                    dict(params=model.params2, weight_decay=5e-4),
                ],
                lr=0.01,
            )

            def train(model=model, optimizer=optimizer):  # noqa: ANN001, ANN202
                model.train()
                optimizer.zero_grad()
                output = model(features, adj)
                acc_train = accuracy(output[idx_train], labels[idx_train])
                loss_train = F.nll_loss(output[idx_train], labels[idx_train])
                loss_train.backward()
                optimizer.step()
                return loss_train.item(), acc_train.item()

            def validate(model=model):  # noqa: ANN001, ANN202
                model.eval()
                with torch.no_grad():
                    output = model(features, adj)
                    loss_val = F.nll_loss(output[idx_val], labels[idx_val])
                    acc_val = accuracy(output[idx_val], labels[idx_val])
                    return loss_val.item(), acc_val.item()

            def test(model=model):  # noqa: ANN001, ANN202
                model.load_state_dict(torch.load(checkpt_file))
                model.eval()
                with torch.no_grad():
                    output = model(features, adj)
                    loss_test = F.nll_loss(output[idx_test], labels[idx_test])
                    acc_test = accuracy(output[idx_test], labels[idx_test])
                    return loss_test.item(), acc_test.item()

            bad_counter = 0
            best = 999999999
            best_epoch = 0
            for epoch in range(8):
                loss_tra, acc_tra = train()
                loss_val, acc_val = validate()
                values += [loss_tra, acc_tra, loss_val, acc_val]
                if loss_val < best:
                    best = loss_val
                    best_epoch = epoch
                    torch.save(model.state_dict(), checkpt_file)
                    bad_counter = 0
                else:
                    bad_counter += 1

                if bad_counter == 3:
                    break
            values += [float(best_epoch), *test()]
            values.append(sum(p.grad.abs().sum().item() for p in model.params1))
    return values
