"""klicpera/ppnp (``ppnp/pytorch/ppnp.py``, ``propagation.py``, ``utils.py``,
``pytorch_support.py``, ``training.py``), PPNP/APPNP: predict then propagate with personalised
PageRank, size-reduced.

Kept verbatim: ``calc_A_hat`` (SciPy: ``adj_matrix + sp.eye(nnodes)``, ``np.sum(A, axis=1).A1``,
``sp.diags``), ``calc_ppr_exact`` (``alpha * np.linalg.inv(A_inner.toarray())``);
``sparse_matrix_to_torch`` (``torch.sparse.FloatTensor(torch.LongTensor(indices),
torch.FloatTensor(coo.data), coo.shape)``, the deprecated constructor: its warning, once per
process in torch, filtered); ``PPRExact`` (``self.register_buffer('mat',
torch.FloatTensor(ppr_mat))``, ``self.dropout(self.mat[idx]) @ predictions``) and
``PPRPowerIteration`` (a sparse buffer ``A_hat``, ``A_drop @ preds + self.alpha * local_preds``
``niter`` times, ``preds[idx]``); ``SparseDropout`` (``input.coalesce()``,
``F.dropout(input_coal._values(), self.p, self.training)``, rebuilt with
``torch.sparse.FloatTensor(input_coal._indices(), drop_val, input.shape)``) and ``MixedDropout``
on ``input.is_sparse``; ``MixedLinear`` (parameters from ``torch.Tensor(in_features,
out_features)``, ``nn.init.kaiming_uniform_(self.weight, mode='fan_out', a=math.sqrt(5))``,
``nn.init._calculate_fan_in_and_fan_out``, ``torch.sparse.mm`` /
``torch.sparse.addmm(self.bias.expand(input.shape[0], -1), input, self.weight)`` on a sparse
input, ``torch.addmm`` on a dense one, ``extra_repr``); ``PPNP`` (``nn.ModuleList`` of ``fcs``,
``self.reg_params = list(self.fcs[0].parameters())``, ``F.log_softmax(final_logits, dim=-1)``);
``training.py``'s loop over ``TensorDataset(torch.LongTensor(idx), torch.LongTensor(labels))``,
``torch.set_grad_enabled(phase == 'train')``, ``F.nll_loss``, ``l2_reg = sum((torch.sum(param **
2) for param in model.reg_params))``, ``reg_lambda / 2 * l2_reg``, ``running_corrects +=
torch.sum(preds == labels)``, ``optim.Adam``.

Changed: Cora's sparse attribute matrix -> a 12-node graph (a ring with chords) with sparse
binary features from a seeded NumPy generator, given as a SciPy CSR matrix; 64 hidden units ->
6, 3 classes; ``niter`` 10 -> 4; early stopping over 10000 epochs -> 4 epochs (train then val
phase each) of the power-iteration model, then one exact-PPR model step and evaluation.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["init_state", "run"]

DTYPE = "float32"
N, FEATS, HID, CLASSES, EPOCHS = 12, 7, 6, 3, 4


def calc_A_hat(adj_matrix: sp.spmatrix) -> sp.spmatrix:
    nnodes = adj_matrix.shape[0]
    A = adj_matrix + sp.eye(nnodes)
    D_vec = np.sum(A, axis=1).A1
    D_vec_invsqrt_corr = 1 / np.sqrt(D_vec)
    D_invsqrt_corr = sp.diags(D_vec_invsqrt_corr)
    return D_invsqrt_corr @ A @ D_invsqrt_corr


def calc_ppr_exact(adj_matrix: sp.spmatrix, alpha: float) -> np.ndarray:
    nnodes = adj_matrix.shape[0]
    M = calc_A_hat(adj_matrix)
    A_inner = sp.eye(nnodes) - (1 - alpha) * M
    return alpha * np.linalg.inv(A_inner.toarray())


def _ppnp(torch: Any) -> tuple:
    nn, F = torch.nn, torch.nn.functional

    def sparse_matrix_to_torch(X):  # noqa: ANN001, ANN202
        coo = X.tocoo()
        indices = np.array([coo.row, coo.col])
        return torch.sparse.FloatTensor(
            torch.LongTensor(indices), torch.FloatTensor(coo.data), coo.shape
        )

    def matrix_to_torch(X):  # noqa: ANN001, ANN202
        if sp.issparse(X):
            return sparse_matrix_to_torch(X)
        else:
            return torch.FloatTensor(X)

    class SparseDropout(nn.Module):
        def __init__(self, p):  # noqa: ANN001, ANN204
            super().__init__()
            self.p = p

        def forward(self, input):  # noqa: ANN001, ANN201
            input_coal = input.coalesce()
            drop_val = F.dropout(input_coal._values(), self.p, self.training)
            return torch.sparse.FloatTensor(input_coal._indices(), drop_val, input.shape)

    class MixedDropout(nn.Module):
        def __init__(self, p):  # noqa: ANN001, ANN204
            super().__init__()
            self.dense_dropout = nn.Dropout(p)
            self.sparse_dropout = SparseDropout(p)

        def forward(self, input):  # noqa: ANN001, ANN201
            if input.is_sparse:
                return self.sparse_dropout(input)
            else:
                return self.dense_dropout(input)

    class MixedLinear(nn.Module):
        def __init__(self, in_features, out_features, bias=True):  # noqa: ANN001, ANN204
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.weight = nn.Parameter(torch.Tensor(in_features, out_features))
            if bias:
                self.bias = nn.Parameter(torch.Tensor(out_features))
            else:
                self.register_parameter("bias", None)
            self.reset_parameters()

        def reset_parameters(self):  # noqa: ANN201
            # Our fan_in is interpreted by PyTorch as fan_out (swapped dimensions)
            nn.init.kaiming_uniform_(self.weight, mode="fan_out", a=math.sqrt(5))
            if self.bias is not None:
                _, fan_out = nn.init._calculate_fan_in_and_fan_out(self.weight)
                bound = 1 / math.sqrt(fan_out)
                nn.init.uniform_(self.bias, -bound, bound)

        def forward(self, input):  # noqa: ANN001, ANN201
            if input.is_sparse:
                if self.bias is None:
                    res = torch.sparse.mm(input, self.weight)
                else:
                    res = torch.sparse.addmm(
                        self.bias.expand(input.shape[0], -1), input, self.weight
                    )
            else:
                if self.bias is None:
                    res = input.matmul(self.weight)
                else:
                    res = torch.addmm(self.bias, input, self.weight)
            return res

        def extra_repr(self):  # noqa: ANN201
            return "in_features={}, out_features={}, bias={}".format(  # noqa: UP032
                self.in_features, self.out_features, self.bias is not None
            )

    class PPRExact(nn.Module):
        def __init__(self, adj_matrix, alpha, drop_prob=None):  # noqa: ANN001, ANN204
            super().__init__()
            ppr_mat = calc_ppr_exact(adj_matrix, alpha)
            self.register_buffer("mat", torch.FloatTensor(ppr_mat))
            if drop_prob is None or drop_prob == 0:
                self.dropout = lambda x: x
            else:
                self.dropout = MixedDropout(drop_prob)

        def forward(self, predictions, idx):  # noqa: ANN001, ANN201
            return self.dropout(self.mat[idx]) @ predictions

    class PPRPowerIteration(nn.Module):
        def __init__(self, adj_matrix, alpha, niter, drop_prob=None):  # noqa: ANN001, ANN204
            super().__init__()
            self.alpha = alpha
            self.niter = niter
            M = calc_A_hat(adj_matrix)
            self.register_buffer("A_hat", sparse_matrix_to_torch((1 - alpha) * M))
            if drop_prob is None or drop_prob == 0:
                self.dropout = lambda x: x
            else:
                self.dropout = MixedDropout(drop_prob)

        def forward(self, local_preds, idx):  # noqa: ANN001, ANN201
            preds = local_preds
            for _ in range(self.niter):
                A_drop = self.dropout(self.A_hat)
                preds = A_drop @ preds + self.alpha * local_preds
            return preds[idx]

    class PPNP(nn.Module):
        def __init__(self, nfeatures, nclasses, hiddenunits, drop_prob, propagation, bias=False):  # noqa: ANN001, ANN204
            super().__init__()
            fcs = [MixedLinear(nfeatures, hiddenunits[0], bias=False)]
            for i in range(1, len(hiddenunits)):
                fcs.append(nn.Linear(hiddenunits[i - 1], hiddenunits[i], bias=bias))
            fcs.append(nn.Linear(hiddenunits[-1], nclasses, bias=bias))
            self.fcs = nn.ModuleList(fcs)
            self.reg_params = list(self.fcs[0].parameters())
            if drop_prob == 0:
                self.dropout = lambda x: x
            else:
                self.dropout = MixedDropout(drop_prob)
            self.act_fn = nn.ReLU()
            self.propagation = propagation

        def _transform_features(self, attr_matrix):  # noqa: ANN001, ANN202
            layer_inner = self.act_fn(self.fcs[0](self.dropout(attr_matrix)))
            for fc in self.fcs[1:-1]:
                layer_inner = self.act_fn(fc(layer_inner))
            res = self.fcs[-1](self.dropout(layer_inner))
            return res

        def forward(self, attr_matrix, idx):  # noqa: ANN001, ANN201
            local_logits = self._transform_features(attr_matrix)
            final_logits = self.propagation(local_logits, idx)
            return F.log_softmax(final_logits, dim=-1)

    return matrix_to_torch, PPRExact, PPRPowerIteration, PPNP


def init_state(tmp_path: Any) -> dict:
    rng = np.random.default_rng(4)
    rows = list(range(N)) + [0, 3, 5]
    cols = [(i + 1) % N for i in range(N)] + [6, 9, 11]
    adj = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(N, N))
    adj = ((adj + adj.T) > 0).astype(np.float64).tocsr()
    attr = sp.csr_matrix((rng.random((N, FEATS)) < 0.4).astype(np.float32))
    return {"adj": adj, "attr": attr, "labels": rng.integers(0, CLASSES, N)}


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    values: list[float] = []
    with warnings.catch_warnings():  # the script shows it and goes on
        warnings.filterwarnings("ignore", ".*is deprecated", UserWarning)
        matrix_to_torch, PPRExact, PPRPowerIteration, PPNP = _ppnp(torch)
        attr_mat_norm = matrix_to_torch(init["attr"])
        labels_all = init["labels"]
        idx_np = {"train": np.arange(0, 8), "val": np.arange(8, N)}
        for kind in ("power", "exact"):
            torch.manual_seed(0)
            if kind == "power":
                propagation = PPRPowerIteration(init["adj"], alpha=0.1, niter=4)
            else:
                propagation = PPRExact(init["adj"], alpha=0.1)
            model = PPNP(FEATS, CLASSES, [HID], drop_prob=0.5, propagation=propagation)
            reg_lambda, learning_rate = 5e-3, 0.05
            optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
            dataloaders = {
                phase: torch.utils.data.DataLoader(
                    torch.utils.data.TensorDataset(
                        torch.LongTensor(idx_np[phase]), torch.LongTensor(labels_all[idx_np[phase]])
                    ),
                    batch_size=16,
                )
                for phase in ("train", "val")
            }
            for _epoch in range(EPOCHS if kind == "power" else 1):
                for phase in ("train", "val"):
                    if phase == "train":
                        model.train()
                    else:
                        model.eval()
                    running_loss = 0
                    running_corrects = 0
                    for idx, labels in dataloaders[phase]:
                        optimizer.zero_grad()
                        with torch.set_grad_enabled(phase == "train"):
                            log_preds = model(attr_mat_norm, idx)
                            preds = torch.argmax(log_preds, dim=1)
                            cross_entropy_mean = F.nll_loss(log_preds, labels)
                            l2_reg = sum(torch.sum(param**2) for param in model.reg_params)
                            loss = cross_entropy_mean + reg_lambda / 2 * l2_reg
                            if phase == "train":
                                loss.backward()
                                optimizer.step()
                        running_loss += loss.item() * idx.size(0)
                        running_corrects += torch.sum(preds == labels)
                    n = len(dataloaders[phase].dataset)
                    values += [running_loss / n, running_corrects.item() / n]
    return values
