"""The importance-weighted autoencoder (Burda et al.; the PyTorch IWAE re-implementations and the
DReG estimator of Tucker et al.), size-reduced: an MLP encoder gives ``mu`` and ``logvar`` (one
``Linear`` split with ``chunk(2, dim=-1)``), ``std = torch.exp(0.5 * logvar)``;
``q = Independent(Normal(mu, std), 1)`` draws ``K`` samples with ``q.rsample((K,))``; the prior
``Independent(Normal(zeros_like, ones_like), 1)``; the decoder's ``Bernoulli(logits=...)`` scores
the binarised input (``.log_prob(x).sum(-1)``, the data broadcast over the sample axis). The bound
is ``torch.logsumexp(log_w, dim=0) - math.log(K)``; the ELBO (``K = 1``) and its analytic form
``kl_divergence(q, p)`` are reported beside it; the DReG surrogate scores the samples under a
``q`` of detached parameters and weighs ``log_w`` by ``F.softmax(log_w, 0).detach() ** 2``. Adam
trains the IWAE bound with ``clip_grad_norm_``; evaluation is under ``torch.no_grad()`` with a
``torch.Generator``-seeded sampler.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

X_DIM, H_DIM, Z_DIM, K, STEPS = 12, 16, 3, 5, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    D = torch.distributions

    class IWAE(nn.Module):
        def __init__(self, x_dim: int = X_DIM, h_dim: int = H_DIM, z_dim: int = Z_DIM) -> None:
            super().__init__()
            self.encoder = nn.Sequential(
                nn.Linear(x_dim, h_dim), nn.Tanh(), nn.Linear(h_dim, 2 * z_dim)
            )
            self.decoder = nn.Sequential(
                nn.Linear(z_dim, h_dim), nn.Tanh(), nn.Linear(h_dim, x_dim)
            )

        def encode(self, x: Any) -> tuple[Any, Any]:
            mu, logvar = self.encoder(x).chunk(2, dim=-1)
            return mu, logvar

        def log_weights(self, x: Any, k: int, stop_q: bool = False) -> tuple[Any, Any, Any]:
            mu, logvar = self.encode(x)
            std = torch.exp(0.5 * logvar)
            q = D.Independent(D.Normal(mu, std), 1)
            z = q.rsample((k,))  # [K, B, Z]
            prior = D.Independent(D.Normal(torch.zeros_like(mu), torch.ones_like(std)), 1)
            logits = self.decoder(z)
            log_px_z = D.Bernoulli(logits=logits).log_prob(x.expand(k, *x.shape)).sum(-1)
            q_score = D.Independent(D.Normal(mu.detach(), std.detach()), 1) if stop_q else q
            log_w = log_px_z + prior.log_prob(z) - q_score.log_prob(z)
            return log_w, q, prior

        def iwae_bound(self, x: Any, k: int = K) -> Any:
            log_w, _, _ = self.log_weights(x, k)
            return (torch.logsumexp(log_w, dim=0) - math.log(k)).mean()

        def dreg_surrogate(self, x: Any, k: int = K) -> Any:
            log_w, _, _ = self.log_weights(x, k, stop_q=True)
            with torch.no_grad():
                w_tilde = torch.nn.functional.softmax(log_w, dim=0)
            return (w_tilde.pow(2) * log_w).sum(0).mean()

        def analytic_elbo(self, x: Any) -> Any:
            log_w, q, prior = self.log_weights(x, 1)
            mu, logvar = self.encode(x)
            z = q.rsample()
            logits = self.decoder(z)
            rec = D.Bernoulli(logits=logits).log_prob(x).sum(-1)
            return (rec - D.kl_divergence(q, prior)).mean()

    return IWAE()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(7)
    protos = rng.random((3, X_DIM)) < 0.5
    data = np.stack([protos[i % 3] ^ (rng.random(X_DIM) < 0.1) for i in range(24)]).astype(
        np.float64
    )
    x_all = torch.from_numpy(data).to(torch.get_default_dtype())
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    torch.manual_seed(3)
    values: list[float] = []
    for step in range(STEPS):
        x = x_all[(step * 8) % 24 : (step * 8) % 24 + 8]
        model.train()
        opt.zero_grad()
        loss = -model.iwae_bound(x)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        opt.step()
        values += [loss.item(), float(norm)]
        # the DReG surrogate's encoder gradient
        model.zero_grad()
        model.dreg_surrogate(x).backward()
        values.append(model.encoder[0].weight.grad.norm().item())
        values.append(model.analytic_elbo(x).item())
    model.eval()
    with torch.no_grad():
        gen = torch.Generator().manual_seed(0)
        eps = torch.randn(K * 2, Z_DIM, generator=gen)
        samples = torch.sigmoid(model.decoder(eps))
        values += samples.mean(0).tolist()
        for k in (1, 4, 16):
            values.append(model.iwae_bound(x_all, k).item())
    return values
