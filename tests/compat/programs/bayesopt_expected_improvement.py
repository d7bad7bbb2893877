"""A Bayesian-optimisation inner loop written in plain PyTorch, as BoTorch-free tutorials and course
notebooks write it (a GP surrogate, an analytic acquisition function, a gradient-based acquisition
optimiser with random restarts), size-reduced.

The idioms: the GP fit (``nn.Parameter`` log length scale / log output scale / log noise, the ARD
RBF kernel ``torch.exp(-0.5 * torch.cdist(x1 / ls, x2 / ls) ** 2)``, ``K + noise * torch.eye(n,
dtype=...)``, ``L = torch.linalg.cholesky(K)``, ``alpha = torch.cholesky_solve(y, L)``, the
negative log marginal likelihood with ``torch.log(torch.diagonal(L)).sum()``, hyperparameters
fitted by ``torch.optim.Adam``); the posterior (``v = torch.linalg. solve_triangular(L, K_s,
upper=False)``, ``var = outputscale - (v ** 2).sum(0)``, ``var.clamp_min(1e-9).sqrt()``); Expected
Improvement as BoTorch's ``ExpectedImprovement`` writes it analytically (``u = (mean - best_f) /
sigma``, ``normal = torch.distributions.Normal( torch.zeros_like(u), torch.ones_like(u))``, ``ucdf
= normal.cdf(u)``, ``updf = torch.exp(normal.log_prob(u))``, ``ei = sigma * (updf + u * ucdf)``)
and the log form through ``torch.special.log_ndtr``; the acquisition maximised by
``torch.optim.LBFGS([x], lr=..., max_iter=..., line_search_fn="strong_wolfe")`` with a ``closure``
(``optimizer.zero_grad()``, ``loss = -torch.log(ei + 1e-12).sum()``, ``loss.backward()``, ``return
loss``; maximising EI itself from a flat start takes ever smaller quasi-Newton steps whose
gradient differences cancel to a few digits, so that last-bit differences between any two
libraries grow to 1e-5) from ``torch.rand`` restarts, the candidate kept inside the box by a
sigmoid reparameterisation and by ``x.data.clamp_(0, 1)``; the best restart picked by
``torch.argmax``; observations appended with ``torch.cat`` and the incumbent tracked with
``y.max()``; the outer loop refits the GP ("warm" from the last hyperparameters) for a few
iterations of a 2-d Branin-like objective.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["init_state", "run"]


def init_state(tmp_path: Any) -> dict:
    rng = np.random.default_rng(23)
    return {"x0": rng.random((5, 2)), "restarts": rng.random((4, 4, 2))}


def _objective(x: np.ndarray) -> np.ndarray:
    """A rescaled Branin function on [0, 1]^2 (maximised: its negative)."""
    x1, x2 = 15 * x[:, 0] - 5, 15 * x[:, 1]
    b = (x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2
    return -(b + 10 * (1 - 1 / (8 * math.pi)) * np.cos(x1) + 10) / 50


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    values: list[float] = []

    class GP(nn.Module):
        def __init__(self, d: int) -> None:
            super().__init__()
            self.log_ls = nn.Parameter(torch.full((d,), math.log(0.3)))
            self.log_os = nn.Parameter(torch.tensor(0.0))
            self.log_noise = nn.Parameter(torch.tensor(math.log(1e-3)))

        def kernel(self, x1: Any, x2: Any) -> Any:
            ls = self.log_ls.exp()
            return self.log_os.exp() * torch.exp(-0.5 * torch.cdist(x1 / ls, x2 / ls) ** 2)

        def fit_factor(self, X: Any, y: Any) -> tuple[Any, Any]:
            n = X.shape[0]
            K = self.kernel(X, X) + self.log_noise.exp() * torch.eye(n, dtype=X.dtype)
            L = torch.linalg.cholesky(K)
            alpha = torch.cholesky_solve(y.unsqueeze(-1), L)
            return L, alpha

        def nll(self, X: Any, y: Any) -> Any:
            L, alpha = self.fit_factor(X, y)
            n = X.shape[0]
            return (
                0.5 * (y.unsqueeze(-1) * alpha).sum()
                + torch.log(torch.diagonal(L)).sum()
                + 0.5 * n * math.log(2 * math.pi)
            )

        def posterior(self, Xs: Any, X: Any, y: Any) -> tuple[Any, Any]:
            L, alpha = self.fit_factor(X, y)
            K_s = self.kernel(X, Xs)
            mean = (K_s * alpha).sum(0)
            v = torch.linalg.solve_triangular(L, K_s, upper=False)
            var = self.log_os.exp() - (v**2).sum(0)
            return mean, var.clamp_min(1e-9)

    def expected_improvement(gp: Any, x: Any, X: Any, y: Any, best_f: Any) -> Any:
        mean, var = gp.posterior(x, X, y)
        sigma = var.sqrt()
        u = (mean - best_f) / sigma
        normal = torch.distributions.Normal(torch.zeros_like(u), torch.ones_like(u))
        ucdf = normal.cdf(u)
        updf = torch.exp(normal.log_prob(u))
        ei = sigma * (updf + u * ucdf)
        return ei

    def log_expected_improvement_lower(gp: Any, x: Any, X: Any, y: Any, best_f: Any) -> Any:
        """log(sigma) + log Phi(u): a lower bound of log EI that stays finite far out."""
        mean, var = gp.posterior(x, X, y)
        u = (mean - best_f) / var.sqrt()
        return 0.5 * var.log() + torch.special.log_ndtr(u)

    def maximise(start: Any, r: int, X: Any, y_std: Any, best_f: Any) -> Any:
        """L-BFGS on ``-log EI`` from ``start``, through a sigmoid keeping it in the box."""
        z = torch.log(start / (1 - start)).clone().requires_grad_(True)
        optimizer = torch.optim.LBFGS(
            [z],
            lr=0.5,
            max_iter=6,
            tolerance_change=1e-7,
            line_search_fn="strong_wolfe" if r % 2 else None,
        )

        def closure() -> Any:
            optimizer.zero_grad()
            ei = expected_improvement(gp, torch.sigmoid(z).unsqueeze(0), X, y_std, best_f)
            loss = -torch.log(ei + 1e-12).sum()
            loss.backward()
            return loss

        optimizer.step(closure)
        return z

    X = torch.from_numpy(init["x0"])
    y = torch.from_numpy(_objective(init["x0"]))
    gp = GP(2)
    for it in range(init["restarts"].shape[0]):
        # standardise, refit the hyperparameters
        y_std = (y - y.mean()) / y.std()
        opt = torch.optim.Adam(gp.parameters(), lr=0.05)
        for _ in range(15):
            opt.zero_grad()
            loss = gp.nll(X, y_std)
            loss.backward()
            opt.step()
        values.append(loss.item())
        for p in gp.parameters():
            p.requires_grad_(False)
        best_f = y_std.max()

        # maximise EI from several restarts with L-BFGS on a sigmoid-reparameterised point
        candidates, acq_values = [], []
        for r, start in enumerate(init["restarts"][it]):
            z = maximise(torch.from_numpy(start).clamp(0.02, 0.98), r, X, y_std, best_f)
            with torch.no_grad():
                x_new = torch.sigmoid(z)
                x_new.data.clamp_(0, 1)
                candidates.append(x_new)
                acq_values.append(
                    expected_improvement(gp, x_new.unsqueeze(0), X, y_std, best_f).squeeze(0)
                )
        acq = torch.stack(acq_values)
        best = torch.argmax(acq)
        x_next = candidates[best.item()]
        values += [acq.max().item(), float(best), *x_next.tolist()]
        with torch.no_grad():
            log_ei = log_expected_improvement_lower(gp, torch.stack(candidates), X, y_std, best_f)
        values += log_ei.tolist()

        # evaluate and append
        y_next = torch.from_numpy(_objective(x_next.numpy()[None]))
        X = torch.cat([X, x_next.unsqueeze(0)])
        y = torch.cat([y, y_next])
        values.append(y.max().item())
        for p in gp.parameters():
            p.requires_grad_(True)
    values += [p.detach().sum().item() for p in gp.parameters()]
    return values
