"""t-SNE in PyTorch as the "tsne-pytorch" repository (mxl1990/tsne-pytorch, a port of van der
Maaten's ``tsne.py``) writes it, size-reduced (20 points, a few iterations).

The idioms: ``Hbeta_torch`` (``P = torch.exp(-D.clone() * beta)``, ``sumP = torch.sum(P)``,
``H = torch.log(sumP) + beta * torch.sum(D * P) / sumP``, ``P = P / sumP``); ``x2p_torch``'s
per-point binary search over ``beta`` (``sum_X = torch.sum(X * X, 1)``, ``D = torch.add(
torch.add(-2 * torch.mm(X, X.t()), sum_X).t(), sum_X)``, ``torch.zeros(n, 1)`` betas,
``torch.log(torch.tensor([perplexity]))``, the row without ``i`` picked by ``D[i,
n_list[0:i] + n_list[i + 1:n]]`` and written back into ``P[i, ...]``, ``torch.abs(Hdiff) > tol``,
``beta[i].clone()``); ``pca_torch``'s ``torch.linalg.eig(torch.mm(X.t(), X))`` with the real
parts kept; the symmetrisation ``P = P + P.t(); P = P / torch.sum(P)``, the early exaggeration
``P = P * 4.`` and ``torch.max(P, torch.tensor([1e-21]))``; the Student-t affinities (``num =
-2. * torch.mm(Y, Y.t())``, ``num = 1. / (1. + torch.add(torch.add(num, sum_Y).t(), sum_Y))``,
``num[range(n), range(n)] = 0.``, ``Q = num / torch.sum(num)``); the closed-form gradient
(``PQ = P - Q``, ``dY[i, :] = torch.sum((PQ[:, i] * num[:, i]).repeat(no_dims, 1).t() *
(Y[i, :] - Y), 0)``) checked against autograd on the KL divergence; the gains update with its
boolean arithmetic (``(gains + 0.2) * ((dY > 0.) != (iY > 0.)).double() + (gains * 0.8) * ((dY
> 0.) == (iY > 0.)).double()``, ``gains[gains < min_gain] = min_gain``), momentum, and the
centring ``Y = Y - torch.mean(Y, 0).repeat(n, 1)``. ``Y`` starts from NumPy, not
``torch.randn``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["run"]

N, D_IN, INITIAL_DIMS, NO_DIMS, PERPLEXITY, MAX_ITER, EXAG_ITERS = 20, 8, 5, 2, 5.0, 6, 3


def Hbeta_torch(torch_like: Any, D: Any, beta: Any = 1.0) -> tuple[Any, Any]:
    torch = torch_like
    P = torch.exp(-D.clone() * beta)
    sumP = torch.sum(P)
    H = torch.log(sumP) + beta * torch.sum(D * P) / sumP
    P = P / sumP
    return H, P


def x2p_torch(torch_like: Any, X: Any, tol: float = 1e-5, perplexity: float = 30.0) -> Any:
    """Binary search for the precision of each point's conditional Gaussian."""
    torch = torch_like
    (n, d) = X.shape
    sum_X = torch.sum(X * X, 1)
    D = torch.add(torch.add(-2 * torch.mm(X, X.t()), sum_X).t(), sum_X)
    P = torch.zeros(n, n)
    beta = torch.ones(n, 1)
    logU = torch.log(torch.tensor([perplexity]))
    n_list = [i for i in range(n)]
    tries_used = []
    for i in range(n):
        betamin = None
        betamax = None
        Di = D[i, n_list[0:i] + n_list[i + 1 : n]]
        (H, thisP) = Hbeta_torch(torch, Di, beta[i])
        Hdiff = H - logU
        tries = 0
        while torch.abs(Hdiff) > tol and tries < 50:
            if Hdiff > 0:
                betamin = beta[i].clone()
                if betamax is None:
                    beta[i] = beta[i] * 2.0
                else:
                    beta[i] = (beta[i] + betamax) / 2.0
            else:
                betamax = beta[i].clone()
                if betamin is None:
                    beta[i] = beta[i] / 2.0
                else:
                    beta[i] = (beta[i] + betamin) / 2.0
            (H, thisP) = Hbeta_torch(torch, Di, beta[i])
            Hdiff = H - logU
            tries += 1
        tries_used.append(tries)
        P[i, n_list[0:i] + n_list[i + 1 : n]] = thisP
    return P, beta, tries_used


def pca_torch(torch_like: Any, X: Any, no_dims: int = 50) -> Any:
    torch = torch_like
    (n, d) = X.shape
    X = X - torch.mean(X, 0)
    (l, M) = torch.linalg.eig(torch.mm(X.t(), X))
    # the eigenvalues are real for a symmetric matrix: keep the real parts, largest first
    order = torch.argsort(l.real, descending=True)
    M = M.real[:, order]
    M = M * torch.sign(M[0])  # a fixed sign per eigenvector
    Y = torch.mm(X, M[:, 0:no_dims])
    return Y, l.real[order]


def kl_divergence(torch_like: Any, P: Any, Y: Any) -> tuple[Any, Any, Any]:
    torch = torch_like
    n = Y.shape[0]
    sum_Y = torch.sum(Y * Y, 1)
    num = -2.0 * torch.mm(Y, Y.t())
    num = 1.0 / (1.0 + torch.add(torch.add(num, sum_Y).t(), sum_Y))
    num[range(n), range(n)] = 0.0
    Q = num / torch.sum(num)
    Q = torch.max(Q, torch.tensor([1e-12]))
    return torch.sum(P * torch.log(P / Q)), Q, num


def tsne(torch_like: Any, X: Any, Y0: Any) -> list[float]:
    torch = torch_like
    values: list[float] = []
    X, eigvals = pca_torch(torch, X, INITIAL_DIMS)
    values += eigvals.tolist() + X[0].tolist()
    (n, d) = X.shape
    initial_momentum = 0.5
    final_momentum = 0.8
    eta = 500
    min_gain = 0.01
    Y = Y0.clone()
    dY = torch.zeros(n, NO_DIMS)
    iY = torch.zeros(n, NO_DIMS)
    gains = torch.ones(n, NO_DIMS)

    # Compute P-values
    P, beta, tries = x2p_torch(torch, X, 1e-5, PERPLEXITY)
    values += beta.flatten().tolist() + tries
    P = P + P.t()
    P = P / torch.sum(P)
    P = P * 4.0  # early exaggeration
    P = torch.max(P, torch.tensor([1e-21]))

    for it in range(MAX_ITER):
        # Compute pairwise affinities
        sum_Y = torch.sum(Y * Y, 1)
        num = -2.0 * torch.mm(Y, Y.t())
        num = 1.0 / (1.0 + torch.add(torch.add(num, sum_Y).t(), sum_Y))
        num[range(n), range(n)] = 0.0
        Q = num / torch.sum(num)
        Q = torch.max(Q, torch.tensor([1e-12]))

        # Compute gradient
        PQ = P - Q
        for i in range(n):
            dY[i, :] = torch.sum((PQ[:, i] * num[:, i]).repeat(NO_DIMS, 1).t() * (Y[i, :] - Y), 0)

        # the same gradient by autograd on KL(P || Q): 4 * sum(...) = d KL / dY
        Y_leaf = Y.detach().requires_grad_(True)
        kl, _, _ = kl_divergence(torch, P, Y_leaf)
        (grad,) = torch.autograd.grad(kl, Y_leaf)
        values += [kl.item(), (grad - 4 * dY).abs().max().item() < 1e-9]

        # Perform the update
        if it < 20:
            momentum = initial_momentum
        else:
            momentum = final_momentum
        gains = (gains + 0.2) * ((dY > 0.0) != (iY > 0.0)).double() + (gains * 0.8) * (
            (dY > 0.0) == (iY > 0.0)
        ).double()
        gains[gains < min_gain] = min_gain
        iY = momentum * iY - eta * (gains * dY)
        Y = Y + iY
        Y = Y - torch.mean(Y, 0).repeat(n, 1)

        C = torch.sum(P * torch.log(P / Q))
        values += [C.item(), gains.sum().item(), float((gains > 1).sum())]

        # Stop lying about P-values
        if it == EXAG_ITERS:
            P = P / 4.0
    values += Y.flatten().tolist()
    return values


def run(torch_like: Any, init: Any) -> list[float]:
    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(2), N // 2)
    x = rng.standard_normal((N, D_IN)) + 3.0 * labels[:, None]
    y0 = rng.standard_normal((N, NO_DIMS))
    return tsne(torch_like, as_tensor(torch_like, x), as_tensor(torch_like, y0))
