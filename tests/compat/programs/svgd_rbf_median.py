"""Stein Variational Gradient Descent, as the widely copied PyTorch SVGD notebook (the ``RBF``
kernel module and ``SVGD`` class of "Stein Variational Gradient Descent in PyTorch",
after DartML/Stein-Variational-Gradient-Descent) writes it, with the median heuristic taken
by ``torch.median`` as its ports do, size-reduced to 12 particles in 2-D.

The idioms: the pairwise squared distances ``-2 * XY + XX.diag().unsqueeze(1) +
YY.diag().unsqueeze(0)`` from ``X.matmul(X.t())``; the bandwidth ``h = torch.median(dnorm2) /
(2 * np.log(X.size(0) + 1))`` (the even-count lower median), ``np.sqrt(h).item()`` and the
NumPy-median original (``dnorm2.detach().cpu().numpy()``); ``gamma = 1.0 / (1e-8 + 2 * sigma **
2)``, ``K_XY = (-gamma * dnorm2).exp()``; ``phi``'s ``X = X.detach().requires_grad_(True)``,
``autograd.grad(log_prob.sum(), X)[0]`` of a ``torch.distributions`` target
(``MultivariateNormal`` and a ``MixtureSameFamily`` of ``Independent(Normal)``),
``grad_K = -autograd.grad(K_XX.sum(), X)[0]`` against ``K(X, X.detach())`` and ``(K_XX.detach()
.matmul(score_func) + grad_K) / X.size(0)``; the step that hands ``X.grad = -phi`` to an
``optim.Adam([X], lr=...)``; and the diagnostics ``torch.cdist``, ``X.mean(0)``,
``torch.cov(X.T)`` and the per-column ``torch.median(X, dim=0)`` (values and indices).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]

N, STEPS = 12, 6


def init_state(tmp_path: Any) -> np.ndarray:
    return np.random.default_rng(13).standard_normal((N, 2)) * 0.5 - 2.0


def _classes(torch_like: Any) -> tuple[Any, Any]:
    torch = torch_like
    autograd = torch_like.autograd

    class RBF(torch.nn.Module):
        def __init__(self, sigma: float | None = None, use_numpy_median: bool = False) -> None:
            super().__init__()
            self.sigma = sigma
            self.use_numpy_median = use_numpy_median

        def forward(self, X: Any, Y: Any) -> Any:
            XX = X.matmul(X.t())
            XY = X.matmul(Y.t())
            YY = Y.matmul(Y.t())
            dnorm2 = -2 * XY + XX.diag().unsqueeze(1) + YY.diag().unsqueeze(0)
            # Apply the median heuristic (PyTorch does not give true median)
            if self.sigma is None:
                if self.use_numpy_median:
                    np_dnorm2 = dnorm2.detach().cpu().numpy()
                    h = np.median(np_dnorm2) / (2 * np.log(X.size(0) + 1))
                    sigma = np.sqrt(h).item()
                else:
                    h = torch.median(dnorm2.detach()) / (2 * np.log(X.size(0) + 1))
                    sigma = torch.sqrt(h).item()
            else:
                sigma = self.sigma
            gamma = 1.0 / (1e-8 + 2 * sigma**2)
            K_XY = (-gamma * dnorm2).exp()
            return K_XY

    class SVGD:
        def __init__(self, P: Any, K: Any, optimizer: Any) -> None:
            self.P = P
            self.K = K
            self.optim = optimizer

        def phi(self, X: Any) -> Any:
            X = X.detach().requires_grad_(True)
            log_prob = self.P.log_prob(X)
            score_func = autograd.grad(log_prob.sum(), X)[0]
            K_XX = self.K(X, X.detach())
            grad_K = -autograd.grad(K_XX.sum(), X)[0]
            phi = (K_XX.detach().matmul(score_func) + grad_K) / X.size(0)
            return phi

        def step(self, X: Any) -> None:
            self.optim.zero_grad()
            X.grad = -self.phi(X)
            self.optim.step()

    return RBF, SVGD


def run(torch_like: Any, init: np.ndarray) -> list[float]:
    torch, D = torch_like, torch_like.distributions
    RBF, SVGD = _classes(torch_like)
    mvn = D.MultivariateNormal(
        torch.tensor([1.0, -0.5]), covariance_matrix=torch.tensor([[1.0, 0.3], [0.3, 0.6]])
    )
    mix = D.MixtureSameFamily(
        D.Categorical(torch.tensor([0.3, 0.7])),
        D.Independent(D.Normal(torch.tensor([[-1.0, 0.0], [1.5, 1.0]]), torch.ones(2, 2) * 0.7), 1),
    )
    values: list[float] = []
    for target, numpy_median in ((mvn, False), (mix, True)):
        X = as_tensor(torch_like, init).requires_grad_(True)
        svgd = SVGD(target, RBF(use_numpy_median=numpy_median), torch.optim.Adam([X], lr=0.1))
        for _ in range(STEPS):
            svgd.step(X)
            values.append(target.log_prob(X).mean().item())
        with torch.no_grad():
            med = torch.median(X, dim=0)
            values += X.mean(0).tolist() + torch.cov(X.T).flatten().tolist()
            values += med.values.tolist() + [float(i) for i in med.indices.tolist()]
            values.append(torch.cdist(X, X).max().item())
    return values
