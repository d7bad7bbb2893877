"""An Attentive Neural Process, as the PyTorch ports of deepmind/neural-processes write it
(soobinseo/Attentive-Neural-Process' ``LatentEncoder`` / ``DeterministicEncoder`` /
``Decoder``, the "ANP in PyTorch" notebooks), size-reduced.

The idioms: a 1-d regression task drawn as a batch of functions, its points split into context
and target sets by ``torch.randperm(num_points)[:num_context]`` (the targets are every point, as
in the paper's training); the latent path (an MLP over ``torch.cat([context_x, context_y],
dim=-1)``, a self-attention ``nn.MultiheadAttention(batch_first=True)`` over the context, the
mean over points, then ``mu`` and ``log_sigma`` heads with ``sigma = 0.1 + 0.9 *
torch.sigmoid(log_sigma)``) giving ``torch.distributions.Normal(mu, sigma)``; the
deterministic path's cross-attention (queries the embedded target x, keys the embedded context
x, values the context representations) through ``nn.MultiheadAttention(..., batch_first=True)``
returning ``(attn_output, attn_weights)``; the latent sample ``prior.rsample()`` at test time and
``posterior.rsample()`` in training, ``z.unsqueeze(1).repeat(1, num_targets, 1)``; the decoder's
``sigma = 0.1 + 0.9 * F.softplus(log_sigma)`` and ``Normal(mu, sigma)``; the ELBO ``-
dist.log_prob(target_y).sum(-1).mean()`` plus ``torch.distributions.kl_divergence(posterior,
prior).sum(-1).mean()``; training with Adam; and the predictive ``dist.mean`` /
``dist.stddev`` at evaluation under ``torch.no_grad()``.

The Gaussian noise of ``rsample`` differs between the two libraries' generators, so the
reparameterised draws here use ``mu + sigma * eps`` with ``eps`` from NumPy (what ``rsample``
computes); ``rsample()`` itself is checked for its shape and its gradient reaching ``mu``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

BATCH, POINTS, CONTEXT, HIDDEN, LATENT, HEADS, STEPS, LR = 3, 10, 4, 8, 4, 2, 4, 5e-3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class LatentEncoder(nn.Module):
        def __init__(self, num_hidden: int, num_latent: int, input_dim: int = 2) -> None:
            super().__init__()
            self.input_projection = nn.Linear(input_dim, num_hidden)
            self.self_attention = nn.MultiheadAttention(num_hidden, HEADS, batch_first=True)
            self.penultimate_layer = nn.Linear(num_hidden, num_hidden)
            self.mu = nn.Linear(num_hidden, num_latent)
            self.log_sigma = nn.Linear(num_hidden, num_latent)

        def forward(self, x: Any, y: Any) -> Any:
            encoder_input = torch.cat([x, y], dim=-1)
            encoder_input = self.input_projection(encoder_input)
            encoder_input, _ = self.self_attention(encoder_input, encoder_input, encoder_input)
            hidden = encoder_input.mean(dim=1)
            hidden = torch.relu(self.penultimate_layer(hidden))
            mu = self.mu(hidden)
            log_sigma = self.log_sigma(hidden)
            sigma = 0.1 + 0.9 * torch.sigmoid(log_sigma)
            return torch.distributions.Normal(mu, sigma)

    class DeterministicEncoder(nn.Module):
        def __init__(self, num_hidden: int, input_dim: int = 2) -> None:
            super().__init__()
            self.input_projection = nn.Linear(input_dim, num_hidden)
            self.context_projection = nn.Linear(1, num_hidden)
            self.target_projection = nn.Linear(1, num_hidden)
            self.cross_attention = nn.MultiheadAttention(num_hidden, HEADS, batch_first=True)

        def forward(self, context_x: Any, context_y: Any, target_x: Any) -> tuple[Any, Any]:
            encoder_input = torch.cat([context_x, context_y], dim=-1)
            value = F.relu(self.input_projection(encoder_input))
            query = self.target_projection(target_x)
            keys = self.context_projection(context_x)
            out, weights = self.cross_attention(query, keys, value)
            return out, weights

    class Decoder(nn.Module):
        def __init__(self, num_hidden: int, num_latent: int) -> None:
            super().__init__()
            self.target_projection = nn.Linear(1, num_hidden)
            self.linears = nn.ModuleList(
                [
                    nn.Linear(num_hidden * 2 + num_latent, num_hidden * 2 + num_latent)
                    for _ in range(2)
                ]
            )
            self.final_projection = nn.Linear(num_hidden * 2 + num_latent, 2)

        def forward(self, r: Any, z: Any, target_x: Any) -> Any:
            target_x = self.target_projection(target_x)
            hidden = torch.cat([torch.cat([r, z], dim=-1), target_x], dim=-1)
            for linear in self.linears:
                hidden = torch.relu(linear(hidden))
            hidden = self.final_projection(hidden)
            mu, log_sigma = torch.split(hidden, 1, dim=-1)
            sigma = 0.1 + 0.9 * F.softplus(log_sigma)
            return torch.distributions.Normal(mu, sigma)

    class LatentModel(nn.Module):
        def __init__(self, num_hidden: int, num_latent: int) -> None:
            super().__init__()
            self.latent_encoder = LatentEncoder(num_hidden, num_latent)
            self.deterministic_encoder = DeterministicEncoder(num_hidden)
            self.decoder = Decoder(num_hidden, num_latent)

        def forward(
            self, context_x: Any, context_y: Any, target_x: Any, eps: Any, target_y: Any = None
        ) -> tuple[Any, Any, Any]:
            num_targets = target_x.size(1)
            prior = self.latent_encoder(context_x, context_y)
            if target_y is not None:
                posterior = self.latent_encoder(target_x, target_y)
                z = posterior.mean + posterior.stddev * eps  # posterior.rsample()
            else:
                posterior = None
                z = prior.mean + prior.stddev * eps  # prior.rsample()
            z = z.unsqueeze(1).repeat(1, num_targets, 1)
            r, _ = self.deterministic_encoder(context_x, context_y, target_x)
            dist = self.decoder(r, z, target_x)
            if target_y is not None:
                log_likelihood = dist.log_prob(target_y).sum(-1).mean()
                kl = torch.distributions.kl_divergence(posterior, prior).sum(-1).mean()
                loss = -log_likelihood + kl / num_targets
            else:
                log_likelihood, kl, loss = None, None, None
            return dist, loss, kl

    return LatentModel(HIDDEN, LATENT)


def sample_task(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A batch of noisy sinusoids on sorted x in [-2, 2]."""
    x = np.sort(rng.uniform(-2, 2, (BATCH, POINTS, 1)), axis=1)
    amp = rng.uniform(0.5, 1.5, (BATCH, 1, 1))
    phase = rng.uniform(0, np.pi, (BATCH, 1, 1))
    return x, amp * np.sin(x + phase) + 0.05 * rng.standard_normal(x.shape)


def rsample_facts(torch_like: Any) -> list[float]:
    """``rsample`` draws of the right shape whose gradient reaches ``mu`` (and ``sigma``)."""
    torch = torch_like
    torch.manual_seed(0)
    mu = torch.zeros(BATCH, LATENT, requires_grad=True)
    sigma = torch.full((BATCH, LATENT), 0.5, requires_grad=True)
    z = torch.distributions.Normal(mu, sigma).rsample()
    z.sum().backward()
    return [*z.shape, mu.grad.sum().item(), float(sigma.grad is not None), float(z.requires_grad)]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(5)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = rsample_facts(torch_like)

    torch.manual_seed(1)
    perm = torch.randperm(POINTS)
    values += [float(sorted(perm.tolist()) == list(range(POINTS))), float(perm.dtype == torch.long)]

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    for _step in range(STEPS):
        x, y = sample_task(rng)
        target_x, target_y = as_tensor(torch_like, x), as_tensor(torch_like, y)
        idx = as_tensor(torch_like, rng.permutation(POINTS)[:CONTEXT])  # randperm(n)[:m]
        context_x, context_y = target_x[:, idx, :], target_y[:, idx, :]
        eps = as_tensor(torch_like, rng.standard_normal((BATCH, LATENT)))
        optimizer.zero_grad()
        dist, loss, kl = model(context_x, context_y, target_x, eps, target_y)
        loss.backward()
        optimizer.step()
        values += [loss.item(), kl.item(), dist.stddev.min().item()]

    model.eval()
    x, y = sample_task(rng)
    target_x = as_tensor(torch_like, x)
    context_x, context_y = target_x[:, :CONTEXT], as_tensor(torch_like, y)[:, :CONTEXT]
    eps = as_tensor(torch_like, np.zeros((BATCH, LATENT)))  # the prior's mean
    with torch.no_grad():
        dist, loss, _ = model(context_x, context_y, target_x, eps)
        _, weights = model.deterministic_encoder(context_x, context_y, target_x)
    values += [float(loss is None), *weights.shape, weights.sum(-1).mean().item()]
    values += dist.mean.flatten().tolist() + dist.stddev.flatten().tolist()
    return values
