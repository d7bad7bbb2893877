"""Kipf & Welling's reference PyTorch GCN, tkipf/pygcn (``layers.py``, ``models.py``,
``utils.py``, ``train.py``), size-reduced: ``GraphConvolution`` with
``Parameter(torch.FloatTensor(in_features, out_features))`` initialised by
``self.weight.data.uniform_(-stdv, stdv)``, ``torch.mm(input, self.weight)`` and the sparse
product ``torch.spmm(adj, support)``, a ``__repr__`` override; ``GCN`` (``F.relu``,
``F.dropout(training=self.training)``, ``F.log_softmax``); ``utils``: ``encode_onehot``,
row-normalisation of the features and of ``adj + I``, ``sparse_mx_to_torch_sparse_tensor``
(COO ``indices``/``values``/``shape`` from NumPy), ``torch.LongTensor(np.where(labels)[1])``,
``torch.FloatTensor(...)``, ``accuracy`` (``output.max(1)[1].type_as(labels)``,
``correct.sum()``); ``train.py``: Adam with ``weight_decay``, ``F.nll_loss(output[idx_train],
labels[idx_train])``, ``model.eval()`` for validation, ``test()``.

The Cora files are replaced by a random 30-node graph with three planted communities (NumPy,
no SciPy); ``scipy.sparse`` row normalisation is done on dense NumPy arrays, and the deprecated
``torch.sparse.FloatTensor(indices, values, shape)`` is written
``torch.sparse_coo_tensor(indices, values, shape, check_invariants=True)`` (both the deprecated
constructor and an implicit ``check_invariants`` warn in PyTorch 2.13, and the suite turns
warnings into errors); ``dropout`` 0.5 -> 0 (random masks cannot agree between two
frameworks); hidden 16 -> 8, 200 epochs -> 12.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
N_NODES, N_FEAT, N_CLASS, HIDDEN = 30, 10, 3, 8


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    Parameter = torch_like.nn.Parameter
    Module = torch_like.nn.Module

    class GraphConvolution(Module):
        """
        Simple GCN layer, similar to https://arxiv.org/abs/1609.02907
        """

        def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
            super(GraphConvolution, self).__init__()  # noqa: UP008 (as in pygcn)
            self.in_features = in_features
            self.out_features = out_features
            self.weight = Parameter(torch.FloatTensor(in_features, out_features))
            if bias:
                self.bias = Parameter(torch.FloatTensor(out_features))
            else:
                self.register_parameter("bias", None)
            self.reset_parameters()

        def reset_parameters(self) -> None:
            stdv = 1.0 / math.sqrt(self.weight.size(1))
            self.weight.data.uniform_(-stdv, stdv)
            if self.bias is not None:
                self.bias.data.uniform_(-stdv, stdv)

        def forward(self, input: Any, adj: Any) -> Any:
            support = torch.mm(input, self.weight)
            output = torch.spmm(adj, support)
            if self.bias is not None:
                return output + self.bias
            else:
                return output

        def __repr__(self) -> str:
            return (
                self.__class__.__name__
                + " ("
                + str(self.in_features)
                + " -> "
                + str(self.out_features)
                + ")"
            )

    class GCN(nn.Module):
        def __init__(self, nfeat: int, nhid: int, nclass: int, dropout: float) -> None:
            super(GCN, self).__init__()  # noqa: UP008

            self.gc1 = GraphConvolution(nfeat, nhid)
            self.gc2 = GraphConvolution(nhid, nclass)
            self.dropout = dropout

        def forward(self, x: Any, adj: Any) -> Any:
            x = F.relu(self.gc1(x, adj))
            x = F.dropout(x, self.dropout, training=self.training)
            x = self.gc2(x, adj)
            return F.log_softmax(x, dim=1)

    return GCN(nfeat=N_FEAT, nhid=HIDDEN, nclass=N_CLASS, dropout=0.0)


def encode_onehot(labels: list) -> np.ndarray:
    classes = sorted(set(labels))
    classes_dict = {c: np.identity(len(classes))[i, :] for i, c in enumerate(classes)}
    labels_onehot = np.array(list(map(classes_dict.get, labels)), dtype=np.int32)
    return labels_onehot


def normalize(mx: np.ndarray) -> np.ndarray:
    """Row-normalize matrix (``utils.normalize``, dense here)"""
    rowsum = np.array(mx.sum(1))
    with np.errstate(divide="ignore"):
        r_inv = np.power(rowsum, -1).flatten()
    r_inv[np.isinf(r_inv)] = 0.0
    r_mat_inv = np.diag(r_inv)
    mx = r_mat_inv.dot(mx)
    return mx


def _graph(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features, symmetric adjacency and string labels of a planted-partition graph."""
    community = np.arange(N_NODES) % N_CLASS
    p = np.where(community[:, None] == community[None, :], 0.35, 0.04)
    upper = np.triu(rng.random((N_NODES, N_NODES)) < p, 1)
    adj = (upper | upper.T).astype(np.float32)
    features = (rng.random((N_NODES, N_FEAT)) < 0.2).astype(np.float32)
    features[np.arange(N_NODES), community + 2] = 1.0
    labels = [f"class_{c}" for c in community]
    return features, adj, labels


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    optim = torch_like.optim

    def sparse_mx_to_torch_sparse_tensor(sparse_mx: np.ndarray) -> Any:
        """Convert a (here dense NumPy) matrix to a torch sparse tensor."""
        rows, cols = np.nonzero(sparse_mx)
        indices = torch.from_numpy(np.vstack((rows, cols)).astype(np.int64))
        values = torch.from_numpy(sparse_mx[rows, cols].astype(np.float32))
        shape = torch.Size(sparse_mx.shape)
        return torch.sparse_coo_tensor(indices, values, shape, check_invariants=True)

    def load_data() -> tuple[Any, ...]:
        features, adj, label_names = _graph(np.random.default_rng(5))
        labels = encode_onehot(label_names)
        features = normalize(features)
        adj = normalize(adj + np.eye(adj.shape[0]))

        idx_train = range(12)
        idx_val = range(12, 20)
        idx_test = range(20, 30)

        features = torch.FloatTensor(np.array(features))
        labels = torch.LongTensor(np.where(labels)[1])
        adj = sparse_mx_to_torch_sparse_tensor(adj)

        idx_train = torch.LongTensor(idx_train)
        idx_val = torch.LongTensor(idx_val)
        idx_test = torch.LongTensor(idx_test)
        return adj, features, labels, idx_train, idx_val, idx_test

    def accuracy(output: Any, labels: Any) -> Any:
        preds = output.max(1)[1].type_as(labels)
        correct = preds.eq(labels).double()
        correct = correct.sum()
        return correct / len(labels)

    # Load data
    adj, features, labels, idx_train, idx_val, idx_test = load_data()

    # Model and optimizer
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    values = []

    def train(epoch: int) -> None:
        model.train()
        optimizer.zero_grad()
        output = model(features, adj)
        loss_train = F.nll_loss(output[idx_train], labels[idx_train])
        acc_train = accuracy(output[idx_train], labels[idx_train])
        loss_train.backward()
        optimizer.step()

        # Evaluate validation set performance separately,
        # deactivates dropout during validation run.
        model.eval()
        output = model(features, adj)

        loss_val = F.nll_loss(output[idx_val], labels[idx_val])
        acc_val = accuracy(output[idx_val], labels[idx_val])
        values.extend([loss_train.item(), acc_train.item(), loss_val.item(), acc_val.item()])

    def test() -> None:
        model.eval()
        output = model(features, adj)
        loss_test = F.nll_loss(output[idx_test], labels[idx_test])
        acc_test = accuracy(output[idx_test], labels[idx_test])
        print(f"Test set results: loss= {loss_test.item():.4f} accuracy= {acc_test.item():.4f}")
        values.extend([loss_test.item(), acc_test.item()])

    # Train model
    for epoch in range(12):
        train(epoch)

    # Testing
    test()
    return values
