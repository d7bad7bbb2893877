"""Classic linear-algebra machine learning in PyTorch, as course notebooks and small libraries
write it (PCA from scratch, ridge and kernel ridge regression, least squares, alternating least
squares, a GP-style marginal likelihood), size-reduced.

The idioms: PCA by centring (``X - X.mean(0)``) and ``torch.linalg.svd(X, full_matrices=
False)`` with sign-normalised components (``signs = torch.sign(U[max_abs_rows, range(k)])``,
scikit-learn's ``svd_flip``), and again by ``torch.linalg.eigh`` of the covariance
(``torch.flip`` to descending order), the explained-variance ratio, projections and whitening
(``Z / torch.sqrt(eigvals)``) with its identity covariance; ridge regression by
``torch.linalg.solve(X.T @ X + lam * torch.eye(d), X.T @ y)``, by the legacy ``torch.cholesky``
(deprecated, its warning silenced as old code does) and by ``torch.linalg.cholesky`` with
``torch.cholesky_solve``; kernel ridge regression with an RBF kernel (``torch.cdist(a, b) **
2``, ``torch.exp(-gamma * d2)``); least squares by ``torch.linalg.lstsq(A, B).solution`` and
``torch.linalg.pinv(A) @ B``; alternating least squares for a small ratings matrix with a
mask (per-row ``torch.linalg.solve`` of ``V[mask].T @ V[mask] + lam * I``); and gradients
through ``torch.linalg.solve``, ``torch.logdet`` and ``torch.slogdet`` of a kernel matrix (the
negative log marginal likelihood of a GP, its log length-scale, log signal and log noise as
parameters) optimised with ``torch.optim.Adam`` for 3 steps.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["run"]

N, D, K, LAM, GAMMA = 16, 4, 2, 0.5, 0.7
USERS, ITEMS, RANK, ALS_ITERS = 5, 6, 2, 3


def make_data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    mixing = rng.standard_normal((D, D))
    x = rng.standard_normal((N, D)) @ mixing
    w = rng.standard_normal(D)
    y = x @ w + 0.1 * rng.standard_normal(N)
    ratings = rng.integers(1, 6, (USERS, ITEMS)).astype(np.float64)
    mask = rng.random((USERS, ITEMS)) < 0.7
    mask[:, 0] = True  # every user rated something, every item has a rating
    mask[0, :] = True
    return {
        "x": x,
        "y": y,
        "x_test": rng.standard_normal((4, D)),
        "ratings": ratings,
        "mask": mask,
        "u0": rng.standard_normal((USERS, RANK)) * 0.1,
        "v0": rng.standard_normal((ITEMS, RANK)) * 0.1,
    }


def pca(torch_like: Any, x: Any) -> list[float]:
    torch = torch_like
    mean = x.mean(dim=0)
    xc = x - mean
    U, S, Vh = torch.linalg.svd(xc, full_matrices=False)
    # svd_flip: the largest-magnitude entry of each column of U made positive
    max_abs_rows = torch.argmax(torch.abs(U), dim=0)
    signs = torch.sign(U[max_abs_rows, range(U.shape[1])])
    U = U * signs
    Vh = Vh * signs[:, None]
    components = Vh[:K]
    explained_variance = S**2 / (x.shape[0] - 1)
    ratio = explained_variance / explained_variance.sum()
    projected = xc @ components.T
    values = components.flatten().tolist() + ratio.tolist() + projected[:3].flatten().tolist()

    cov = xc.T @ xc / (x.shape[0] - 1)
    eigvals, eigvecs = torch.linalg.eigh(cov)
    eigvals, eigvecs = torch.flip(eigvals, dims=[0]), torch.flip(eigvecs, dims=[1])
    values += [(eigvals - explained_variance).abs().max().item()]
    # the eigenvectors agree with the components up to sign
    values += [(torch.abs(eigvecs[:, :K].T @ components.T) - torch.eye(K)).abs().max().item()]
    whitened = (xc @ eigvecs) / torch.sqrt(eigvals)
    values += [(torch.cov(whitened.T) - torch.eye(D)).abs().max().item()]
    values += [(U @ torch.diag(S) @ Vh - xc).abs().max().item()]
    return values


def ridge(torch_like: Any, x: Any, y: Any) -> list[float]:
    torch = torch_like
    d = x.shape[1]
    A = x.T @ x + LAM * torch.eye(d)
    b = x.T @ y
    w_solve = torch.linalg.solve(A, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch.cholesky is deprecated
        L_old = torch.cholesky(A)
    L = torch.linalg.cholesky(A)
    w_chol = torch.cholesky_solve(b.unsqueeze(1), L).squeeze(1)
    upper = torch.linalg.cholesky(A, upper=True)
    w_upper = torch.cholesky_solve(b[:, None], upper, upper=True)[:, 0]
    values = w_solve.tolist()
    values += [(L_old - L).abs().max().item(), (w_chol - w_solve).abs().max().item()]
    values += [(w_upper - w_solve).abs().max().item()]
    values += [((x @ w_solve - y) ** 2).mean().item()]
    return values


def rbf_kernel(torch_like: Any, a: Any, b: Any) -> Any:
    return torch_like.exp(-GAMMA * torch_like.cdist(a, b) ** 2)


def kernel_ridge(torch_like: Any, x: Any, y: Any, x_test: Any) -> list[float]:
    torch = torch_like
    Kxx = rbf_kernel(torch, x, x)
    alpha = torch.linalg.solve(Kxx + LAM * torch.eye(len(x)), y)
    pred = rbf_kernel(torch, x_test, x) @ alpha
    fit = Kxx @ alpha
    return pred.tolist() + [((fit - y) ** 2).mean().item(), Kxx.trace().item()]


def least_squares(torch_like: Any, x: Any, y: Any) -> list[float]:
    torch = torch_like
    A = torch.cat([x, torch.ones(len(x), 1)], dim=1)
    B = torch.stack([y, y**2], dim=1)
    sol = torch.linalg.lstsq(A, B).solution
    pinv_sol = torch.linalg.pinv(A) @ B
    values = sol.flatten().tolist()
    values += [(sol - pinv_sol).abs().max().item()]
    residual = torch.linalg.norm(A @ sol - B, dim=0)
    return values + residual.tolist()


def als(torch_like: Any, data: dict[str, np.ndarray]) -> list[float]:
    torch = torch_like
    R = as_tensor(torch, data["ratings"])
    M = as_tensor(torch, data["mask"])
    U = as_tensor(torch, data["u0"])
    V = as_tensor(torch, data["v0"])
    eye = torch.eye(RANK)
    values: list[float] = []
    for _it in range(ALS_ITERS):
        for u in range(USERS):
            Vu = V[M[u]]
            U[u] = torch.linalg.solve(Vu.T @ Vu + LAM * eye, Vu.T @ R[u, M[u]])
        for i in range(ITEMS):
            Ui = U[M[:, i]]
            V[i] = torch.linalg.solve(Ui.T @ Ui + LAM * eye, Ui.T @ R[M[:, i], i])
        pred = U @ V.T
        rmse = torch.sqrt(((pred - R)[M] ** 2).mean())
        values.append(rmse.item())
    values += (U @ V.T)[~M].tolist()
    return values


def marginal_likelihood(torch_like: Any, x: Any, y: Any) -> list[float]:
    torch = torch_like
    log_ls = torch.tensor(0.0, requires_grad=True)
    log_sf = torch.tensor(0.0, requires_grad=True)
    log_sn = torch.tensor(-1.0, requires_grad=True)
    opt = torch.optim.Adam([log_ls, log_sf, log_sn], lr=0.1)
    values: list[float] = []
    n = len(x)
    for _step in range(3):
        opt.zero_grad()
        d2 = torch.cdist(x, x) ** 2
        Kxx = torch.exp(2 * log_sf) * torch.exp(-0.5 * d2 / torch.exp(2 * log_ls))
        Ky = Kxx + torch.exp(2 * log_sn) * torch.eye(n)
        alpha = torch.linalg.solve(Ky, y)
        nll = 0.5 * y @ alpha + 0.5 * torch.logdet(Ky) + 0.5 * n * math.log(2 * math.pi)
        sign, logabsdet = torch.slogdet(Ky)
        values += [nll.item(), sign.item(), (logabsdet - torch.logdet(Ky)).abs().item()]
        nll.backward()
        values += [log_ls.grad.item(), log_sf.grad.item(), log_sn.grad.item()]
        opt.step()
    values += [log_ls.item(), log_sf.item(), log_sn.item()]
    return values


def run(torch_like: Any, init: Any) -> list[float]:
    data = make_data()
    x = as_tensor(torch_like, data["x"])
    y = as_tensor(torch_like, data["y"])
    x_test = as_tensor(torch_like, data["x_test"])
    values = pca(torch_like, x) + ridge(torch_like, x, y)
    values += kernel_ridge(torch_like, x, y, x_test) + least_squares(torch_like, x, y)
    return values + als(torch_like, data) + marginal_likelihood(torch_like, x, y)
