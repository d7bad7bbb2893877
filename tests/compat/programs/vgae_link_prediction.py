"""(Variational) graph auto-encoders for link prediction (Kipf & Welling, 2016) as
DaehanKim/vgae_pytorch writes them (``model.py``'s ``VGAE``, ``GAE``, ``GraphConvSparse``,
``dot_product_decode``, ``glorot_init``; ``train.py``'s loop, ``get_scores`` and ``get_acc``;
``preprocessing.py``'s ``preprocess_graph`` and ``sparse_to_tuple``), size-reduced.

The idioms: the legacy sparse constructors ``torch.sparse.FloatTensor(torch.LongTensor(
adj_norm[0].T), torch.FloatTensor(adj_norm[1]), torch.Size(adj_norm[2]))`` (with their
deprecation warning) for the normalised adjacency, the label adjacency and the sparse features;
``GraphConvSparse`` (``torch.mm(x,self.weight)`` with a sparse ``x`` on the first layer, then
``torch.mm(self.adj, x)``, ``activation = lambda x:x`` for the mean/log-std heads);
``glorot_init``'s ``nn.Parameter(torch.rand(input_dim, output_dim)*2*init_range - init_range)``;
the reparameterisation ``torch.randn(X.size(0), args.hidden2_dim)`` times ``torch.exp(self.
logstd)`` with ``self.mean``/``self.logstd`` stored on the module; ``dot_product_decode``'s
``torch.sigmoid(torch.matmul(Z,Z.t()))``; the re-weighted loss (``weight_mask =
adj_label.to_dense().view(-1) == 1``, ``weight_tensor[weight_mask] = pos_weight``,
``norm*F.binary_cross_entropy(A_pred.view(-1), adj_label.to_dense().view(-1), weight =
weight_tensor)``) and the KL term ``0.5/ A_pred.size(0) * (1 + 2*model.logstd - model.mean**2 -
torch.exp(model.logstd)**2).sum(1).mean()`` subtracted in place (``loss -= kl_divergence``);
``get_acc`` (``(adj_rec > 0.5).view(-1).long()``, ``(preds_all == labels_all).sum().float() /
labels_all.size(0)``) and ``get_scores`` (``adj_rec[e[0], e[1]].item()`` per edge, then ROC-AUC
and average precision).

Changed: Cora (2708 nodes) -> a 10-node two-community NumPy graph with 2 held-out positive and
negative edges, identity features, hidden 32/16 -> 6/3, 200 epochs -> 4 per model;
``preprocess_graph``'s SciPy ``coo_matrix``/``diags`` -> the same arithmetic in NumPy;
``roc_auc_score``/``average_precision_score`` -> rank-based NumPy versions; ``args`` -> module
constants; the negative edges' ``sigmoid(adj_rec[e[0], e[1]].data)`` (NumPy's ``np.exp`` on a
tensor, which NumPy 2 warns about through torch's ``__array_wrap__``) -> ``.item()`` as for the
positive ones.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["init_state", "run"]

DTYPE = "float32"
N, INPUT_DIM, HIDDEN1, HIDDEN2, EPOCHS, LR = 10, 10, 6, 3, 4, 0.05


def init_state(tmp_path: Any) -> dict:
    """The graph, its held-out edges and glorot weights, drawn once in NumPy."""
    rng = np.random.default_rng(12)
    block = np.repeat(np.arange(2), N // 2)
    prob = np.where(block[:, None] == block[None, :], 0.7, 0.1)
    upper = np.triu(rng.random((N, N)) < prob, 1)
    adj = (upper | upper.T).astype(np.float64)
    edges = np.argwhere(np.triu(adj, 1))
    non_edges = np.argwhere(np.triu(1 - adj - np.eye(N), 1))
    val_edges = edges[rng.choice(len(edges), 2, replace=False)]
    val_edges_false = non_edges[rng.choice(len(non_edges), 2, replace=False)]
    adj_train = adj.copy()
    for i, j in val_edges:
        adj_train[i, j] = adj_train[j, i] = 0.0

    def glorot(a: int, b: int) -> np.ndarray:
        r = np.sqrt(6.0 / (a + b))
        return (rng.random((a, b)) * 2 * r - r).astype(np.float32)

    weights = {
        name: {"base_gcn.weight": glorot(INPUT_DIM, HIDDEN1),
               "gcn_mean.weight": glorot(HIDDEN1, HIDDEN2),
               "gcn_logstddev.weight": glorot(HIDDEN1, HIDDEN2)}
        for name in ("VGAE", "GAE")
    }  # fmt: skip
    return {"adj": adj, "adj_train": adj_train, "val_edges": val_edges,
            "val_edges_false": val_edges_false, "weights": weights}  # fmt: skip


def sparse_to_tuple(dense: np.ndarray) -> tuple:
    coords = np.argwhere(dense != 0)
    return coords, dense[dense != 0].astype(np.float32), dense.shape


def preprocess_graph(adj: np.ndarray) -> tuple:
    adj_ = adj + np.eye(adj.shape[0])
    rowsum = np.array(adj_.sum(1))
    degree_mat_inv_sqrt = np.diag(np.power(rowsum, -0.5).flatten())
    adj_normalized = adj_.dot(degree_mat_inv_sqrt).transpose().dot(degree_mat_inv_sqrt)
    return sparse_to_tuple(adj_normalized)


def _roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    return float(np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])))


def _average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    hits = labels[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(np.sum(precision * hits) / hits.sum())


def make_models(torch_like: Any, adj: Any) -> dict:
    torch, nn = torch_like, torch_like.nn
    F = torch.nn.functional

    def glorot_init(input_dim, output_dim):  # noqa: ANN001, ANN202
        init_range = np.sqrt(6.0 / (input_dim + output_dim))
        initial = torch.rand(input_dim, output_dim) * 2 * init_range - init_range
        return nn.Parameter(initial)

    class GraphConvSparse(nn.Module):
        def __init__(self, input_dim, output_dim, adj, activation=F.relu, **kwargs):  # noqa: ANN001
            super(GraphConvSparse, self).__init__(**kwargs)  # noqa: UP008 (as in the repository)
            self.weight = glorot_init(input_dim, output_dim)
            self.adj = adj
            self.activation = activation

        def forward(self, inputs):  # noqa: ANN001, ANN202
            x = inputs
            x = torch.mm(x, self.weight)
            x = torch.mm(self.adj, x)
            outputs = self.activation(x)
            return outputs

    def dot_product_decode(Z):  # noqa: ANN001, ANN202, N803
        A_pred = torch.sigmoid(torch.matmul(Z, Z.t()))  # noqa: N806
        return A_pred

    class VGAE(nn.Module):
        def __init__(self, adj):  # noqa: ANN001
            super(VGAE, self).__init__()  # noqa: UP008
            self.base_gcn = GraphConvSparse(INPUT_DIM, HIDDEN1, adj)
            self.gcn_mean = GraphConvSparse(HIDDEN1, HIDDEN2, adj, activation=lambda x: x)
            self.gcn_logstddev = GraphConvSparse(HIDDEN1, HIDDEN2, adj, activation=lambda x: x)

        def encode(self, X):  # noqa: ANN001, ANN202, N803
            hidden = self.base_gcn(X)
            self.mean = self.gcn_mean(hidden)
            self.logstd = self.gcn_logstddev(hidden)
            gaussian_noise = torch.randn(X.size(0), HIDDEN2)
            sampled_z = gaussian_noise * torch.exp(self.logstd) + self.mean
            return sampled_z

        def forward(self, X):  # noqa: ANN001, ANN202, N803
            Z = self.encode(X)  # noqa: N806
            A_pred = dot_product_decode(Z)  # noqa: N806
            return A_pred

    class GAE(nn.Module):
        def __init__(self, adj):  # noqa: ANN001
            super(GAE, self).__init__()  # noqa: UP008
            self.base_gcn = GraphConvSparse(INPUT_DIM, HIDDEN1, adj)
            self.gcn_mean = GraphConvSparse(HIDDEN1, HIDDEN2, adj, activation=lambda x: x)
            # unused by GAE's forward, but kept so both models share one weight layout
            self.gcn_logstddev = GraphConvSparse(HIDDEN1, HIDDEN2, adj, activation=lambda x: x)

        def encode(self, X):  # noqa: ANN001, ANN202, N803
            hidden = self.base_gcn(X)
            z = self.mean = self.gcn_mean(hidden)
            return z

        def forward(self, X):  # noqa: ANN001, ANN202, N803
            Z = self.encode(X)  # noqa: N806
            A_pred = dot_product_decode(Z)  # noqa: N806
            return A_pred

    return {"VGAE": VGAE(adj), "GAE": GAE(adj)}


def run(torch_like: Any, init: dict) -> list[float]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*sparse.SparseTensor.* is deprecated")
        return _run(torch_like, init)


def _run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    adj_orig, adj_train = init["adj"], init["adj_train"]
    val_edges, val_edges_false = init["val_edges"], init["val_edges_false"]
    adj = adj_train
    features = sparse_to_tuple(np.eye(N, dtype=np.float32))

    adj_norm = preprocess_graph(adj)
    pos_weight = float(adj.shape[0] * adj.shape[0] - adj.sum()) / adj.sum()
    norm = adj.shape[0] * adj.shape[0] / float((adj.shape[0] * adj.shape[0] - adj.sum()) * 2)
    adj_label = adj_train + np.eye(adj_train.shape[0])
    adj_label = sparse_to_tuple(adj_label)

    adj_norm = torch.sparse.FloatTensor(torch.LongTensor(adj_norm[0].T),
                                        torch.FloatTensor(adj_norm[1]),
                                        torch.Size(adj_norm[2]))  # fmt: skip
    adj_label = torch.sparse.FloatTensor(torch.LongTensor(adj_label[0].T),
                                         torch.FloatTensor(adj_label[1]),
                                         torch.Size(adj_label[2]))  # fmt: skip
    features = torch.sparse.FloatTensor(torch.LongTensor(features[0].T),
                                        torch.FloatTensor(features[1]),
                                        torch.Size(features[2]))  # fmt: skip

    weight_mask = adj_label.to_dense().view(-1) == 1
    weight_tensor = torch.ones(weight_mask.size(0))
    weight_tensor[weight_mask] = pos_weight

    def get_scores(edges_pos, edges_neg, adj_rec):  # noqa: ANN001, ANN202
        def sigmoid(x):  # noqa: ANN001, ANN202
            return 1 / (1 + np.exp(-x))

        # Predict on test set of edges
        preds = []
        pos = []
        for e in edges_pos:
            preds.append(sigmoid(adj_rec[e[0], e[1]].item()))
            pos.append(adj_orig[e[0], e[1]])
        preds_neg = []
        neg = []
        for e in edges_neg:
            preds_neg.append(sigmoid(adj_rec[e[0], e[1]].item()))
            neg.append(adj_orig[e[0], e[1]])
        preds_all = np.hstack([preds, preds_neg])
        labels_all = np.hstack([np.ones(len(preds)), np.zeros(len(preds_neg))])
        roc_score = _roc_auc(labels_all, preds_all)
        ap_score = _average_precision(labels_all, preds_all)
        return roc_score, ap_score

    def get_acc(adj_rec, adj_label):  # noqa: ANN001, ANN202
        labels_all = adj_label.to_dense().view(-1).long()
        preds_all = (adj_rec > 0.5).view(-1).long()
        accuracy = (preds_all == labels_all).sum().float() / labels_all.size(0)
        return accuracy

    torch.manual_seed(0)
    models = make_models(torch_like, adj_norm)
    values: list[float] = []
    for name, model in models.items():
        model.load_state_dict({k: torch.tensor(v) for k, v in init["weights"][name].items()})
        optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        for _epoch in range(EPOCHS):
            A_pred = model(features)  # noqa: N806
            optimizer.zero_grad()
            loss = log_lik = norm * F.binary_cross_entropy(
                A_pred.view(-1), adj_label.to_dense().view(-1), weight=weight_tensor
            )
            if name == "VGAE":
                kl_divergence = (
                    0.5 / A_pred.size(0)
                    * (1 + 2 * model.logstd - model.mean**2 - torch.exp(model.logstd) ** 2)
                    .sum(1).mean()
                )  # fmt: skip
                loss -= kl_divergence
            loss.backward()
            optimizer.step()
            train_acc = get_acc(A_pred, adj_label)
            val_roc, val_ap = get_scores(val_edges, val_edges_false, A_pred)
            values.extend([loss.item(), log_lik.item(), train_acc.item(), val_roc, val_ap])
    return values
