"""xbresson/spectral_graph_convnets (``02_graph_convnet_lenet5_mnist_pytorch.ipynb``, the
PyTorch port of Defferrard et al.'s ChebNet), size-reduced: a LeNet-5 of Chebyshev spectral
graph convolutions on a pooled graph.

Kept verbatim: ``graph_conv_cheby`` (the Laplacian rescaled with ``lmax`` then turned into
``torch.sparse.FloatTensor(indices, L_data, torch.Size(L.shape))`` (the deprecated constructor:
its warning, shown once per process by torch, filtered) from ``np.column_stack((L.row,
L.col)).T`` and ``.type(torch.LongTensor)``/``.type(torch.FloatTensor)``, wrapped in ``Variable(
L , requires_grad=False)``; ``x.permute(1,2,0).contiguous()`` / ``.view([V, Fin*B])``, the
Chebyshev recursion ``2 * my_sparse_mm()(L,x1) - x0`` with ``torch.cat((x,
x1.unsqueeze(0)),0)``, ``x.view([K, V, Fin, B])``, ``x.permute(3,1,2,0).contiguous()``,
``cl(x)`` on ``[B*V, Fin*K]``); ``my_sparse_mm``'s ``torch.mm(W, x)`` forward and
``torch.mm(grad_input, x.t())``/``torch.mm( W.t(), grad_input )`` backward on a sparse ``W``;
``graph_max_pool`` (``nn.MaxPool1d(p)(x)`` made in forward); ``init_weights``
(``W.weight.data.uniform_(-scale, scale)``, ``W.bias.data.fill_(0.0)``); ``nn.Dropout(d)(x)``
made in forward; the loss with ``l2_loss += data.sum()`` over ``param* param``;
``torch.optim.SGD(..., momentum=0.9)`` and ``update_learning_rate`` writing
``param_group['lr']``; ``torch.max(y.data, 1)`` accuracy.

Changed: ``my_sparse_mm`` is a new-style ``torch.autograd.Function`` (``ctx`` and
``@staticmethod``; the notebook's legacy instance-style Function no longer runs in PyTorch);
MNIST's 28x28 grid graph coarsened by METIS -> an 8-node ring with chords and its 4-node
pooled graph, dense NumPy Laplacians (``lmax`` from ``np.linalg.eigvalsh``, a ``.row``/
``.col``/``.data`` holder for the COO form in place of SciPy); CL1_F 32 -> 4, CL2_F 64 -> 4,
K 25 -> 3, FC1_F 512 -> 6; 20 epochs -> 5 steps of batch 6.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["init_state", "make_model", "run"]

DTYPE = "float32"
V, CL1_F, CL1_K, CL2_F, CL2_K, FC1_F, CLASSES, B, STEPS = 8, 4, 3, 4, 3, 6, 3, 6, 5


def _laplacian(n: int, chords: list) -> np.ndarray:
    adj = np.zeros((n, n), np.float32)
    for i in range(n):
        adj[i, (i + 1) % n] = adj[(i + 1) % n, i] = 1.0
    for i, j in chords:
        adj[i, j] = adj[j, i] = 0.5
    d = adj.sum(1) ** -0.5
    return np.eye(n, dtype=np.float32) - d[:, None] * adj * d[None, :]


def _coo(dense: np.ndarray) -> SimpleNamespace:
    row, col = np.nonzero(dense)
    return SimpleNamespace(row=row, col=col, data=dense[row, col], shape=dense.shape)


def rescale_L(L: np.ndarray, lmax: float = 2) -> np.ndarray:
    """Rescale Laplacian eigenvalues to [-1,1]"""
    M, M = L.shape
    I = np.eye(M, dtype=L.dtype)  # noqa: E741 - the notebook's name
    L = L / (lmax / 2)
    L = L - I
    return L


def lmax_L(L: np.ndarray) -> float:
    """Compute largest Laplacian eigenvalue"""
    return float(np.linalg.eigvalsh(L.astype(np.float64))[-1])


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    Variable = torch.autograd.Variable

    class my_sparse_mm(torch.autograd.Function):  # noqa: N801
        """sparse-dense product with its own backward (W is SPARSE)"""

        @staticmethod
        def forward(ctx, W, x):  # noqa: ANN001, ANN205
            ctx.save_for_backward(W, x)
            y = torch.mm(W, x)
            return y

        @staticmethod
        def backward(ctx, grad_output):  # noqa: ANN001, ANN205
            W, x = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input_dL_dW = torch.mm(grad_input, x.t())
            grad_input_dL_dx = torch.mm(W.t(), grad_input)
            return grad_input_dL_dW, grad_input_dL_dx

    class Graph_ConvNet_LeNet5(nn.Module):  # noqa: N801
        def __init__(self, net_parameters):  # noqa: ANN001, ANN204
            super(Graph_ConvNet_LeNet5, self).__init__()  # noqa: UP008
            # parameters
            D, CL1_F, CL1_K, CL2_F, CL2_K, FC1_F, FC2_F = net_parameters
            FC1Fin = CL2_F * (D // 4)
            # graph CL1
            self.cl1 = nn.Linear(CL1_K, CL1_F)
            Fin = CL1_K
            Fout = CL1_F
            scale = np.sqrt(2.0 / (Fin + Fout))
            self.cl1.weight.data.uniform_(-scale, scale)
            self.cl1.bias.data.fill_(0.0)
            self.CL1_K = CL1_K
            self.CL1_F = CL1_F
            # graph CL2
            self.cl2 = nn.Linear(CL2_K * CL1_F, CL2_F)
            Fin = CL2_K * CL1_F
            Fout = CL2_F
            scale = np.sqrt(2.0 / (Fin + Fout))
            self.cl2.weight.data.uniform_(-scale, scale)
            self.cl2.bias.data.fill_(0.0)
            self.CL2_K = CL2_K
            self.CL2_F = CL2_F
            # FC1
            self.fc1 = nn.Linear(FC1Fin, FC1_F)
            Fin = FC1Fin
            Fout = FC1_F
            scale = np.sqrt(2.0 / (Fin + Fout))
            self.fc1.weight.data.uniform_(-scale, scale)
            self.fc1.bias.data.fill_(0.0)
            self.FC1Fin = FC1Fin
            # FC2
            self.fc2 = nn.Linear(FC1_F, FC2_F)
            Fin = FC1_F
            Fout = FC2_F
            scale = np.sqrt(2.0 / (Fin + Fout))
            self.fc2.weight.data.uniform_(-scale, scale)
            self.fc2.bias.data.fill_(0.0)

        def graph_conv_cheby(self, x, cl, L, lmax, Fout, K):  # noqa: ANN001, ANN201
            # B = batch size, V = nb vertices, Fin = nb input features,
            # Fout = nb output features, K = Chebyshev order & support size
            B, V, Fin = x.size()
            B, V, Fin = int(B), int(V), int(Fin)

            # rescale Laplacian
            lmax = lmax_L(L)
            L = rescale_L(L, lmax)

            # convert scipy sparse matric L to pytorch
            L = _coo(L)
            indices = np.column_stack((L.row, L.col)).T
            indices = indices.astype(np.int64)
            indices = torch.from_numpy(indices)
            indices = indices.type(torch.LongTensor)
            L_data = L.data.astype(np.float32)
            L_data = torch.from_numpy(L_data)
            L_data = L_data.type(torch.FloatTensor)
            L = torch.sparse.FloatTensor(indices, L_data, torch.Size(L.shape))
            L = Variable(L, requires_grad=False)

            # transform to Chebyshev basis
            x0 = x.permute(1, 2, 0).contiguous()  # V x Fin x B
            x0 = x0.view([V, Fin * B])  # V x Fin*B
            x = x0.unsqueeze(0)  # 1 x V x Fin*B

            if K > 1:
                x1 = my_sparse_mm.apply(L, x0)  # V x Fin*B
                x = torch.cat((x, x1.unsqueeze(0)), 0)  # 2 x V x Fin*B
            for _k in range(2, K):
                x2 = 2 * my_sparse_mm.apply(L, x1) - x0
                x = torch.cat((x, x2.unsqueeze(0)), 0)  # M x Fin*B
                x0, x1 = x1, x2

            x = x.view([K, V, Fin, B])  # K x V x Fin x B
            x = x.permute(3, 1, 2, 0).contiguous()  # B x V x Fin x K
            x = x.view([B * V, Fin * K])  # B*V x Fin*K

            # Compose linearly Fin features to get Fout features
            x = cl(x)  # B*V x Fout
            x = x.view([B, V, Fout])  # B x V x Fout

            return x

        # Max pooling of size p. Must be a power of 2.
        def graph_max_pool(self, x, p):  # noqa: ANN001, ANN201
            if p > 1:
                x = x.permute(0, 2, 1).contiguous()  # x = B x F x V
                x = nn.MaxPool1d(p)(x)  # B x F x V/p
                x = x.permute(0, 2, 1).contiguous()  # x = B x V/p x F
                return x
            else:
                return x

        def forward(self, x, d, L, lmax):  # noqa: ANN001, ANN201
            # graph CL1
            x = x.unsqueeze(2)  # B x V x Fin=1
            x = self.graph_conv_cheby(x, self.cl1, L[0], lmax[0], self.CL1_F, self.CL1_K)
            x = torch.relu(x)
            x = self.graph_max_pool(x, 2)

            # graph CL2
            x = self.graph_conv_cheby(x, self.cl2, L[1], lmax[1], self.CL2_F, self.CL2_K)
            x = torch.relu(x)
            x = self.graph_max_pool(x, 2)

            # FC1
            x = x.view(-1, self.FC1Fin)
            x = self.fc1(x)
            x = torch.relu(x)
            x = nn.Dropout(d)(x)

            # FC2
            x = self.fc2(x)

            return x

        def loss(self, y, y_target, l2_regularization):  # noqa: ANN001, ANN201
            loss = nn.CrossEntropyLoss()(y, y_target)

            l2_loss = 0.0
            for param in self.parameters():
                data = param * param
                l2_loss += data.sum()

            loss += 0.5 * l2_regularization * l2_loss

            return loss

        def update(self, lr):  # noqa: ANN001, ANN201
            update = torch.optim.SGD(self.parameters(), lr=lr, momentum=0.9)
            return update

        def update_learning_rate(self, optimizer, lr):  # noqa: ANN001, ANN201
            for param_group in optimizer.param_groups:
                param_group["lr"] = lr
            return optimizer

        def evaluation(self, y_predicted, test_l):  # noqa: ANN001, ANN201
            _, class_predicted = torch.max(y_predicted.data, 1)
            return 100.0 * (class_predicted == test_l).sum() / y_predicted.size(0)

    return Graph_ConvNet_LeNet5([V, CL1_F, CL1_K, CL2_F, CL2_K, FC1_F, CLASSES])


def init_state(tmp_path: Any) -> dict:
    import torch  # the starting weights, as the harness makes them

    torch.manual_seed(0)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        model = make_model(torch)
    finally:
        torch.set_default_dtype(prev)
    rng = np.random.default_rng(8)
    return {
        "model": {k: v.detach().numpy().copy() for k, v in model.state_dict().items()},
        "x": rng.standard_normal((STEPS, B, V)).astype(np.float32),
        "y": rng.integers(0, CLASSES, (STEPS, B)),
    }


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    L = [_laplacian(V, [(0, 4), (2, 6)]), _laplacian(V // 2, [(0, 2)])]
    lmax = [lmax_L(L[0]), lmax_L(L[1])]
    torch.manual_seed(0)
    net = make_model(torch)
    load_numpy_state(torch, net, init["model"])
    learning_rate, dropout_value, l2_regularization = 0.05, 0.5, 5e-4
    optimizer = net.update(learning_rate)
    values: list[float] = []
    with warnings.catch_warnings():  # the notebook shows it and goes on
        warnings.filterwarnings("ignore", ".*is deprecated", UserWarning)
        for step in range(STEPS):
            net.train()
            train_x = torch.tensor(init["x"][step])
            train_y = torch.tensor(init["y"][step])
            optimizer.zero_grad()
            y = net.forward(train_x, dropout_value, L, lmax)
            loss = net.loss(y, train_y, l2_regularization)
            loss_train = loss.detach().item()
            acc_train = net.evaluation(y, train_y.data)
            loss.backward()
            optimizer.step()
            learning_rate = learning_rate * 0.95  # update learning rate
            optimizer = net.update_learning_rate(optimizer, learning_rate)
            values += [loss_train, float(acc_train)]
        net.eval()
        with torch.no_grad():
            y = net.forward(torch.tensor(init["x"][0]), 0.0, L, lmax)
    values.append(y.sum().item())
    return values
