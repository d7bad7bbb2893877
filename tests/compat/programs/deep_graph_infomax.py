"""Deep Graph Infomax (Veličković et al. 2019) as PetarV-/DGI writes it (``layers/gcn.py``,
``layers/readout.py``, ``layers/discriminator.py``, ``models/dgi.py``, ``models/logreg.py``,
``execute.py``, ``utils/process.py``), size-reduced.

The idioms: the ``GCN`` layer (``nn.Linear(in_ft, out_ft, bias=False)``, ``nn.PReLU()``, a bias
``nn.Parameter(torch.FloatTensor(out_ft))`` filled by ``self.bias.data.fill_(0.0)``,
``weights_init`` over ``self.modules()`` with ``torch.nn.init.xavier_uniform_(m.weight.data)``,
the sparse product ``torch.unsqueeze(torch.spmm(adj, torch.squeeze(seq_fts, 0)), 0)`` and the
dense ``torch.bmm(adj, seq_fts)``, ``out += self.bias``); ``AvgReadout`` (``torch.mean(seq,
1)``, or the masked ``torch.sum(seq * msk, 1) / torch.sum(msk)``); the ``Discriminator``
(``nn.Bilinear(n_h, n_h, 1)``, ``torch.unsqueeze(c, 1).expand_as(h_pl)``,
``torch.squeeze(self.f_k(h_pl, c_x), 2)``, the optional sample biases added in place,
``torch.cat((sc_1, sc_2), 1)``); ``DGI`` (readout through ``nn.Sigmoid()``, ``embed``
returning ``h_1.detach(), c.detach()``); ``process.py``'s ``preprocess_features`` (row
normalisation with ``r_inv[np.isinf(r_inv)] = 0.``), ``normalize_adj`` (D^-1/2 (A + I)
D^-1/2) and ``sparse_mx_to_torch_sparse_tensor`` (``torch.from_numpy(np.vstack((row,
col)).astype(np.int64))`` into a sparse COO tensor); ``execute.py``'s loop (``idx =
np.random.permutation(nb_nodes)``, ``shuf_fts = features[:, idx, :]``, ``lbl =
torch.cat((torch.ones(batch_size, nb_nodes), torch.zeros(batch_size, nb_nodes)), 1)``,
``nn.BCEWithLogitsLoss()``, ``if loss < best`` early stopping with ``torch.save(
model.state_dict(), 'best_dgi.pkl')`` and ``model.load_state_dict(torch.load(...))``), then
the linear evaluation (``embeds[0, idx_train]``, ``torch.argmax(labels[0, idx_train],
dim=1)``, ``LogReg`` trained with ``nn.CrossEntropyLoss()``, ``acc = torch.sum(preds ==
test_lbls).float() / test_lbls.shape[0]``, ``tot += acc``, ``torch.stack(accs)`` with its
``mean()`` and ``std()``). The corruption is also written as PyG's ``DeepGraphInfomax`` writes
it (``x[torch.randperm(x.size(0))]``), and ``torch.sparse.mm`` and the batched ``torch.bmm``
of a 3-d sparse adjacency (``adj.to_sparse()``) are checked against the dense product.

Changed: Cora is a random 20-node planted-partition graph; hidden 512 -> 8; 10000 epochs -> 6
(patience 20 -> 2); 50 logistic-regression runs of 100 steps -> 2 of 8, their weights from
``make_model`` (the two frameworks' initialisers draw differently); the checkpoint goes to an
``io.BytesIO``; ``torch.randperm`` is checked for what holds for every draw, while the
permutations that feed the losses come from a seeded NumPy generator as in ``execute.py``.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run", "check"]

DTYPE = "float32"
RTOL = 1e-4
ATOL = 1e-6
NB_NODES, FT_SIZE, HID_UNITS, NB_CLASSES, EPOCHS, PATIENCE, LR, L2 = 20, 10, 8, 3, 6, 2, 0.01, 0.0


def _classes(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn

    class GCN(nn.Module):
        def __init__(self, in_ft: int, out_ft: int, act: Any, bias: bool = True) -> None:
            super().__init__()
            self.fc = nn.Linear(in_ft, out_ft, bias=False)
            self.act = nn.PReLU() if act == "prelu" else act

            if bias:
                self.bias = nn.Parameter(torch.FloatTensor(out_ft))
                self.bias.data.fill_(0.0)
            else:
                self.register_parameter("bias", None)

            for m in self.modules():
                self.weights_init(m)

        def weights_init(self, m: Any) -> None:
            if isinstance(m, nn.Linear):
                torch.nn.init.xavier_uniform_(m.weight.data)
                if m.bias is not None:
                    m.bias.data.fill_(0.0)

        # Shape of seq: (batch, nodes, features)
        def forward(self, seq: Any, adj: Any, sparse: bool = False) -> Any:
            seq_fts = self.fc(seq)
            if sparse:
                out = torch.unsqueeze(torch.spmm(adj, torch.squeeze(seq_fts, 0)), 0)
            else:
                out = torch.bmm(adj, seq_fts)
            if self.bias is not None:
                out += self.bias

            return self.act(out)

    # Applies an average on seq, of shape (batch, nodes, features)
    # While taking into account the masking of msk
    class AvgReadout(nn.Module):
        def __init__(self) -> None:
            super().__init__()

        def forward(self, seq: Any, msk: Any) -> Any:
            if msk is None:
                return torch.mean(seq, 1)
            else:
                msk = torch.unsqueeze(msk, -1)
                return torch.sum(seq * msk, 1) / torch.sum(msk)

    class Discriminator(nn.Module):
        def __init__(self, n_h: int) -> None:
            super().__init__()
            self.f_k = nn.Bilinear(n_h, n_h, 1)

            for m in self.modules():
                self.weights_init(m)

        def weights_init(self, m: Any) -> None:
            if isinstance(m, nn.Bilinear):
                torch.nn.init.xavier_uniform_(m.weight.data)
                if m.bias is not None:
                    m.bias.data.fill_(0.0)

        def forward(
            self, c: Any, h_pl: Any, h_mi: Any, s_bias1: Any = None, s_bias2: Any = None
        ) -> Any:
            c_x = torch.unsqueeze(c, 1)
            c_x = c_x.expand_as(h_pl)

            sc_1 = torch.squeeze(self.f_k(h_pl, c_x), 2)
            sc_2 = torch.squeeze(self.f_k(h_mi, c_x), 2)

            if s_bias1 is not None:
                sc_1 += s_bias1
            if s_bias2 is not None:
                sc_2 += s_bias2

            logits = torch.cat((sc_1, sc_2), 1)

            return logits

    class DGI(nn.Module):
        def __init__(self, n_in: int, n_h: int, activation: Any) -> None:
            super().__init__()
            self.gcn = GCN(n_in, n_h, activation)
            self.read = AvgReadout()

            self.sigm = nn.Sigmoid()

            self.disc = Discriminator(n_h)

        def forward(
            self,
            seq1: Any,
            seq2: Any,
            adj: Any,
            sparse: bool,
            msk: Any,
            samp_bias1: Any,
            samp_bias2: Any,
        ) -> Any:
            h_1 = self.gcn(seq1, adj, sparse)

            c = self.read(h_1, msk)
            c = self.sigm(c)

            h_2 = self.gcn(seq2, adj, sparse)

            ret = self.disc(c, h_1, h_2, samp_bias1, samp_bias2)

            return ret

        # Detach the return variables
        def embed(self, seq: Any, adj: Any, sparse: bool, msk: Any) -> tuple[Any, Any]:
            h_1 = self.gcn(seq, adj, sparse)
            c = self.read(h_1, msk)

            return h_1.detach(), c.detach()

    class LogReg(nn.Module):
        def __init__(self, ft_in: int, nb_classes: int) -> None:
            super().__init__()
            self.fc = nn.Linear(ft_in, nb_classes)

            for m in self.modules():
                self.weights_init(m)

        def weights_init(self, m: Any) -> None:
            if isinstance(m, nn.Linear):
                torch.nn.init.xavier_uniform_(m.weight.data)
                if m.bias is not None:
                    m.bias.data.fill_(0.0)

        def forward(self, seq: Any) -> Any:
            ret = self.fc(seq)
            return ret

    return DGI, LogReg


def make_model(torch_like: Any) -> Any:
    DGI, LogReg = _classes(torch_like)
    return torch_like.nn.ModuleDict(
        {
            "dgi": DGI(FT_SIZE, HID_UNITS, "prelu"),
            "log0": LogReg(HID_UNITS, NB_CLASSES),
            "log1": LogReg(HID_UNITS, NB_CLASSES),
        }
    )


def _load_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A planted-partition graph: dense adjacency, binary features, one-hot labels."""
    rng = np.random.default_rng(3)
    community = np.arange(NB_NODES) % NB_CLASSES
    same = community[:, None] == community[None, :]
    adj = rng.random((NB_NODES, NB_NODES)) < np.where(same, 0.4, 0.05)
    adj = np.triu(adj, 1)
    adj = (adj | adj.T).astype(np.float64)
    features = (rng.random((NB_NODES, FT_SIZE)) < 0.2).astype(np.float64)
    features[np.arange(NB_NODES), community * 3] = 1.0
    features[-1] = 0.0  # a node without features: r_inv is inf there
    labels = np.eye(NB_CLASSES)[community]
    return adj, features, labels


def preprocess_features(features: np.ndarray) -> np.ndarray:
    """Row-normalize feature matrix"""
    rowsum = np.array(features.sum(1))
    with np.errstate(divide="ignore"):
        r_inv = np.power(rowsum, -1).flatten()
    r_inv[np.isinf(r_inv)] = 0.0
    return np.diag(r_inv) @ features


def normalize_adj(adj: np.ndarray) -> np.ndarray:
    """Symmetrically normalize adjacency matrix."""
    rowsum = np.array(adj.sum(1))
    d_inv_sqrt = np.power(rowsum, -0.5).flatten()
    d_inv_sqrt[np.isinf(d_inv_sqrt)] = 0.0
    d_mat_inv_sqrt = np.diag(d_inv_sqrt)
    return (adj @ d_mat_inv_sqrt).T @ d_mat_inv_sqrt


def sparse_mx_to_torch_sparse_tensor(torch_like: Any, sparse_mx: np.ndarray) -> Any:
    """Convert a (here dense NumPy) matrix with zeros to a torch sparse tensor."""
    torch = torch_like
    row, col = np.nonzero(sparse_mx)
    indices = torch.from_numpy(np.vstack((row, col)).astype(np.int64))
    values = torch.from_numpy(sparse_mx[row, col].astype(np.float32))
    shape = torch.Size(sparse_mx.shape)
    return torch.sparse_coo_tensor(indices, values, shape, check_invariants=True)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    DGI, LogReg = _classes(torch_like)
    start = make_model(torch_like)
    load_numpy_state(torch_like, start, init)
    values: list[float] = []

    adj, features, labels = _load_data()
    features = preprocess_features(features)
    nb_nodes = features.shape[0]
    ft_size = features.shape[1]
    nb_classes = labels.shape[1]
    batch_size = 1
    adj = normalize_adj(adj + np.eye(adj.shape[0]))
    sp_adj = sparse_mx_to_torch_sparse_tensor(torch_like, adj)

    features = torch.FloatTensor(features[np.newaxis])
    adj = torch.FloatTensor(adj[np.newaxis])
    labels = torch.FloatTensor(labels[np.newaxis])
    idx_train = torch.LongTensor(list(range(0, 12)))
    idx_test = torch.LongTensor(list(range(12, 20)))

    # the sparse and dense products agree (torch.sparse.mm as well as torch.spmm)
    dense = torch.bmm(adj, features)[0]
    values.append(float((torch.sparse.mm(sp_adj, features[0]) - dense).abs().max()))
    values.append(float(torch.spmm(sp_adj, features[0]).sum()))
    # the batched layout: a (1, N, N) sparse adjacency by torch.bmm, as batched GCNs write it
    sp_adj_batched = adj.to_sparse()
    values.append(float((torch.bmm(sp_adj_batched, features) - dense).abs().max()))

    np.random.seed(0)
    for sparse in (True, False):
        model = DGI(ft_size, HID_UNITS, "prelu")
        model.load_state_dict(start["dgi"].state_dict())
        optimiser = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=L2)

        b_xent = nn.BCEWithLogitsLoss()
        xent = nn.CrossEntropyLoss()
        cnt_wait = 0
        best = 1e9
        best_t = 0
        checkpoint = io.BytesIO()

        for epoch in range(EPOCHS):
            model.train()
            optimiser.zero_grad()

            idx = np.random.permutation(nb_nodes)
            shuf_fts = features[:, idx, :]

            lbl_1 = torch.ones(batch_size, nb_nodes)
            lbl_2 = torch.zeros(batch_size, nb_nodes)
            lbl = torch.cat((lbl_1, lbl_2), 1)

            logits = model(features, shuf_fts, sp_adj if sparse else adj, sparse, None, None, None)

            loss = b_xent(logits, lbl)
            values.append(loss.item())

            if loss < best:
                best = loss
                best_t = epoch
                cnt_wait = 0
                checkpoint.seek(0)
                checkpoint.truncate()
                torch.save(model.state_dict(), checkpoint)
            else:
                cnt_wait += 1

            if cnt_wait == PATIENCE:
                break

            loss.backward()
            optimiser.step()

        values.append(best_t)
        checkpoint.seek(0)
        model.load_state_dict(torch.load(checkpoint))

        embeds, summary = model.embed(features, sp_adj if sparse else adj, sparse, None)
        values.append(summary.sum().item())
        train_embs = embeds[0, idx_train]
        test_embs = embeds[0, idx_test]

        train_lbls = torch.argmax(labels[0, idx_train], dim=1)
        test_lbls = torch.argmax(labels[0, idx_test], dim=1)

        tot = torch.zeros(1)
        accs = []

        for run_id in range(2):
            log = LogReg(HID_UNITS, nb_classes)
            log.load_state_dict(start[f"log{run_id}"].state_dict())
            opt = torch.optim.Adam(log.parameters(), lr=0.01, weight_decay=0.0)

            for _ in range(8):
                log.train()
                opt.zero_grad()

                logits = log(train_embs)
                loss = xent(logits, train_lbls)

                loss.backward()
                opt.step()
            values.append(loss.item())

            logits = log(test_embs)
            preds = torch.argmax(logits, dim=1)
            acc = torch.sum(preds == test_lbls).float() / test_lbls.shape[0]
            accs.append(acc * 100)
            tot += acc

        accs = torch.stack(accs)
        values += [tot.item(), accs.mean().item(), accs.std().item()]

        # the masked readout gives the plain mean under an all-ones mask
        msk = torch.ones(batch_size, nb_nodes)
        masked = model.read(embeds, msk)
        values.append((masked - model.read(embeds, None)).abs().max().item())

    # PyG's corruption: a row shuffle by torch.randperm keeps the rows, only reorders them
    x = features[0]
    perm = torch.randperm(x.size(0))
    shuffled = x[perm]
    values.append(float(torch.equal(perm.sort().values, torch.arange(x.size(0)))))
    values.append(float(torch.allclose(shuffled.sum(0), x.sum(0), atol=1e-5)))
    values.append(float(perm.dtype == torch.int64))
    return values


def check(values: list[float]) -> None:
    assert values[0] < 1e-5 and values[2] < 1e-5  # sparse.mm and sparse bmm == dense bmm
    assert values[-3:] == [1.0, 1.0, 1.0]
