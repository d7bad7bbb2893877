"""Exact Gaussian-process regression as the GPyTorch-free tutorials and course notebooks write it
(the "GP from scratch in PyTorch" pattern, Rasmussen & Williams' Algorithm 2.1), size-reduced:
hyperparameters stored unconstrained as ``nn.Parameter`` and mapped through ``F.softplus`` (the
initial values set through the inverse softplus ``x + torch.log(-torch.expm1(-x))``), an RBF
kernel written two ways (``torch.cdist(x1 / ls, x2 / ls).pow(2)`` and the broadcast
``(x1.unsqueeze(-2) - x2.unsqueeze(-3)).pow(2).sum(-1)``), an ARD kernel with a per-dimension
length scale, the noisy Gram matrix ``K + noise * torch.eye(n)``, a jitter loop over
``torch.linalg.cholesky_ex`` (``info`` tested with ``.item()``) and ``torch.linalg.cholesky``
raising ``torch.linalg.LinAlgError`` on an indefinite matrix, ``torch.cholesky_solve(y, L)``
for ``alpha``, the negative log marginal likelihood ``0.5 * y^T alpha + L.diagonal().log().sum()
+ n / 2 * log(2 pi)`` (checked against ``MultivariateNormal(zeros, scale_tril=L).log_prob`` and
``torch.logdet``), the predictive mean ``K_s.T @ alpha`` and variance ``diag(K_ss) - (v **
2).sum(0)`` with ``v = torch.linalg.solve_triangular(L, K_s, upper=False)`` (and the right-hand
form with ``left=False``), ``torch.cholesky_inverse`` against ``torch.linalg.inv``, ``Adam`` on
the hyperparameters with the loss gradient through the Cholesky factor, and three independent
outputs as a batch dimension.

The same GP with its constraints written as ``torch.nn.utils.parametrize``
parametrizations (softplus with a ``right_inverse``, values assigned through it,
``parametrize.cached()``, ``parametrizations.<name>.original``) and the noise added in place
on the Gram matrix's diagonal view, ``K.diagonal(dim1=-2, dim2=-1).add_(...)``. A
Bayesian-optimisation step picks the next point by expected improvement over Sobol'
candidates from ``torch.quasirandom.SobolEngine``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

N_TRAIN, N_TEST, DIMS, BATCHES, STEPS, LR, JITTER = 12, 5, 2, 3, 6, 0.05, 1e-6
CANDIDATES = 32


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    def inv_softplus(x: Any) -> Any:
        return x + torch.log(-torch.expm1(-x))

    class ExactGP(nn.Module):
        """A zero-mean GP with an ARD RBF kernel; ``batch`` independent outputs."""

        def __init__(self, dims: int, batch: int = 1) -> None:
            super().__init__()
            self.raw_lengthscale = nn.Parameter(inv_softplus(torch.full((batch, 1, dims), 0.8)))
            self.raw_outputscale = nn.Parameter(inv_softplus(torch.ones(batch, 1, 1)))
            self.raw_noise = nn.Parameter(inv_softplus(torch.tensor([[[0.1]]]).repeat(batch, 1, 1)))

        @property
        def lengthscale(self) -> Any:
            return F.softplus(self.raw_lengthscale)

        @property
        def outputscale(self) -> Any:
            return F.softplus(self.raw_outputscale)

        @property
        def noise(self) -> Any:
            return F.softplus(self.raw_noise) + 1e-4

        def kernel(self, x1: Any, x2: Any, use_cdist: bool = True) -> Any:
            x1 = x1 / self.lengthscale
            x2 = x2 / self.lengthscale
            if use_cdist:
                sqdist = torch.cdist(x1, x2).pow(2)
            else:
                sqdist = (x1.unsqueeze(-2) - x2.unsqueeze(-3)).pow(2).sum(-1)
            return self.outputscale * torch.exp(-0.5 * sqdist)

        def cholesky(self, X: Any) -> Any:
            n = X.shape[-2]
            K = self.kernel(X, X) + self.noise * torch.eye(n, dtype=X.dtype)
            L, info = torch.linalg.cholesky_ex(K)
            jitter = JITTER
            while info.max().item() > 0:  # add jitter until positive definite
                L, info = torch.linalg.cholesky_ex(K + jitter * torch.eye(n, dtype=X.dtype))
                jitter *= 10
            return L

        def forward(self, X: Any, y: Any) -> Any:
            """The negative log marginal likelihood of ``y`` (``(batch, n)``)."""
            n = X.shape[-2]
            L = self.cholesky(X)
            alpha = torch.cholesky_solve(y.unsqueeze(-1), L)
            data_fit = 0.5 * (y.unsqueeze(-2) @ alpha).squeeze(-1).squeeze(-1)
            complexity = L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
            return data_fit + complexity + 0.5 * n * math.log(2 * math.pi)

        def predict(self, X: Any, y: Any, Xs: Any) -> tuple[Any, Any]:
            L = self.cholesky(X)
            alpha = torch.cholesky_solve(y.unsqueeze(-1), L)
            K_s = self.kernel(X, Xs)
            mean = (K_s.transpose(-2, -1) @ alpha).squeeze(-1)
            v = torch.linalg.solve_triangular(L, K_s, upper=False)
            K_ss = self.kernel(Xs, Xs)
            var = torch.diagonal(K_ss, dim1=-2, dim2=-1) - (v**2).sum(-2)
            return mean, var

    return ExactGP(DIMS, BATCHES)


def make_parametrized_gp(torch_like: Any) -> Any:
    """The same GP with its constraints as ``torch.nn.utils.parametrize`` parametrizations (a
    softplus module with a ``right_inverse``), the noise added in place on the Gram matrix's
    diagonal view (``K.diagonal(dim1=-2, dim2=-1).add_(noise)``)."""
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    parametrize = torch_like.nn.utils.parametrize

    class Positive(nn.Module):
        def forward(self, x: Any) -> Any:
            return F.softplus(x)

        def right_inverse(self, x: Any) -> Any:
            return x + torch.log(-torch.expm1(-x))

    class ParametrizedGP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lengthscale = nn.Parameter(torch.ones(1, DIMS))
            self.outputscale = nn.Parameter(torch.ones(()))
            self.noise = nn.Parameter(torch.ones(()))
            for name in ("lengthscale", "outputscale", "noise"):
                parametrize.register_parametrization(self, name, Positive())
            with torch.no_grad():
                self.lengthscale = torch.full((1, DIMS), 0.8)  # through right_inverse
                self.noise = torch.tensor(0.1)

        def forward(self, X: Any, y: Any) -> Any:
            n = X.shape[0]
            with parametrize.cached():
                sqdist = torch.cdist(X / self.lengthscale, X / self.lengthscale).pow(2)
                K = self.outputscale * torch.exp(-0.5 * sqdist)
                K.diagonal(dim1=-2, dim2=-1).add_(self.noise + 1e-4)
            L = torch.linalg.cholesky(K)
            alpha = torch.cholesky_solve(y.unsqueeze(-1), L)
            nll = 0.5 * (y @ alpha.squeeze(-1)) + L.diagonal().log().sum()
            return nll + 0.5 * n * math.log(2 * math.pi)

    return ParametrizedGP()


def expected_improvement_step(torch_like: Any, model: Any, X: Any, y: Any) -> list[float]:
    """One Bayesian-optimisation step as the "BO from scratch" notebooks write it: Sobol'
    candidates (``torch.quasirandom.SobolEngine(dims, scramble=False).draw(n)`` scaled to the
    box), the GP posterior there, ``EI = sigma * (pdf(u) + u * cdf(u))`` with ``u = (mu -
    best) / sigma`` from ``torch.distributions.Normal``, and the arg-max candidate."""
    torch = torch_like
    sobol = torch.quasirandom.SobolEngine(dimension=DIMS, scramble=False)
    sobol.fast_forward(1)  # skip the origin, as the notebooks do
    candidates = -2 + 4 * sobol.draw(CANDIDATES)
    with torch.no_grad():
        mean, var = model.predict(X, y, candidates)
        mean, sigma = mean[0], var[0].clamp_min(1e-9).sqrt()
        best = y[0].max()
        u = (mean - best) / sigma
        normal = torch.distributions.Normal(torch.zeros_like(u), torch.ones_like(u))
        ei = sigma * (torch.exp(normal.log_prob(u)) + u * normal.cdf(u))
        index = ei.argmax()
    return [float(index), ei.max().item(), *candidates[index].tolist(), sobol.num_generated]


def parametrized_steps(torch_like: Any, X: Any, y: Any) -> list[float]:
    model = make_parametrized_gp(torch_like)
    optimizer = torch_like.optim.Adam(model.parameters(), lr=LR)
    values = [float(len(model.state_dict())), float(model.lengthscale.sum().item())]
    for _step in range(STEPS):
        optimizer.zero_grad()
        loss = model(X, y) / N_TRAIN
        loss.backward()
        optimizer.step()
        original = model.parametrizations.lengthscale.original
        values += [loss.item(), original.grad.abs().sum().item(), model.noise.item()]
    return values + model.parametrizations.lengthscale.original.flatten().tolist()


def identities(torch_like: Any, model: Any, X: Any, y: Any) -> list[float]:
    """Other spellings of the same quantities agree with the ones the model uses."""
    torch = torch_like
    dists = torch_like.distributions
    with torch.no_grad():
        n = X.shape[-2]
        K = model.kernel(X, X) + model.noise * torch.eye(n)
        L = torch.linalg.cholesky(K)
        broadcast = model.kernel(X, X, use_cdist=False) + model.noise * torch.eye(n)
        mvn = dists.MultivariateNormal(torch.zeros(BATCHES, n), scale_tril=L)
        nll_mvn = -mvn.log_prob(y)
        nll_logdet = 0.5 * (y.unsqueeze(-2) @ torch.linalg.solve(K, y.unsqueeze(-1))).flatten()
        nll_logdet = nll_logdet + 0.5 * torch.logdet(K) + 0.5 * n * math.log(2 * math.pi)
        K_inv = torch.cholesky_inverse(L)
        rhs = torch.linalg.solve_triangular(
            L.transpose(-2, -1), y.unsqueeze(-2), upper=True, left=False
        )
        triangular = rhs @ L.transpose(-2, -1) - y.unsqueeze(-2)
        nll = model(X, y)
        indefinite = torch.tensor([[1.0, 2.0], [2.0, 1.0]])
        try:
            torch.linalg.cholesky(indefinite)
            raised = 0.0
        except torch.linalg.LinAlgError:
            raised = 1.0
        _, info = torch.linalg.cholesky_ex(indefinite)
    return [
        (broadcast - K).abs().max().item(),
        (nll_mvn - nll).abs().max().item(),
        (nll_logdet - nll).abs().max().item(),
        (K_inv - torch.linalg.inv(K)).abs().max().item(),
        triangular.abs().max().item(),
        raised,
        float(info.item()),
    ]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(23)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    X_np = rng.uniform(-2, 2, (N_TRAIN, DIMS))
    f = np.stack([np.sin(2 * X_np[:, 0]) * c + np.cos(X_np[:, 1]) for c in (1.0, 0.5, -1.0)])
    X = as_tensor(torch_like, X_np)
    y = as_tensor(torch_like, f + 0.1 * rng.standard_normal(f.shape))
    Xs = as_tensor(torch_like, rng.uniform(-2, 2, (N_TEST, DIMS)))
    values = identities(torch_like, model, X, y)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    for _step in range(STEPS):
        optimizer.zero_grad()
        loss = model(X, y).sum() / N_TRAIN
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.raw_lengthscale.grad.abs().sum().item()]
        values += model.noise.flatten().tolist()
    model.eval()
    with torch.no_grad():
        mean, var = model.predict(X, y, Xs)
        train_mean, _ = model.predict(X, y, X)
    values += mean.flatten().tolist() + var.flatten().tolist()
    values += [(train_mean - y).pow(2).mean().sqrt().item(), float(bool((var > 0).all()))]
    values += model.lengthscale.flatten().tolist()
    values += expected_improvement_step(torch_like, model, X, y)
    return values + parametrized_steps(torch_like, X, y[0])


def check(values: list[float]) -> None:
    assert max(values[:5]) < 1e-9  # cdist and broadcast kernels, NLL spellings, inverses agree
    assert values[5] == 1.0 and values[6] > 0  # an indefinite matrix is rejected
