"""A small variational autoencoder: Linear encoder/decoder, the reparameterisation trick and the
BCE + KL loss, trained with Adam.

The Gaussian noise of the reparameterisation comes from NumPy and enters through ``from_numpy``
(an idiom of its own), so both frameworks sample the same ``eps``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

N_IN, N_HIDDEN, N_LATENT = 12, 8, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class VAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(N_IN, N_HIDDEN)
            self.fc_mu = nn.Linear(N_HIDDEN, N_LATENT)
            self.fc_logvar = nn.Linear(N_HIDDEN, N_LATENT)
            self.fc3 = nn.Linear(N_LATENT, N_HIDDEN)
            self.fc4 = nn.Linear(N_HIDDEN, N_IN)

        def encode(self, x: Any) -> tuple[Any, Any]:
            h = F.relu(self.fc1(x))
            return self.fc_mu(h), self.fc_logvar(h)

        def decode(self, z: Any) -> Any:
            return torch_like.sigmoid(self.fc4(F.relu(self.fc3(z))))

        def forward(self, x: Any, eps: Any) -> tuple[Any, Any, Any]:
            mu, logvar = self.encode(x.view(-1, N_IN))
            std = torch_like.exp(0.5 * logvar)
            z = mu + eps * std
            return self.decode(z), mu, logvar

    return VAE()


def vae_loss(torch_like: Any, recon: Any, x: Any, mu: Any, logvar: Any) -> Any:
    bce = torch_like.nn.functional.binary_cross_entropy(recon, x.view(-1, N_IN), reduction="sum")
    kld = -0.5 * torch_like.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def run(torch_like: Any, init: dict | None) -> list[float]:
    rng = np.random.default_rng(2)
    x = as_tensor(torch_like, rng.random((6, 3, 4)))
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch_like.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _step in range(4):
        eps = torch_like.from_numpy(rng.standard_normal((6, N_LATENT)))
        optimizer.zero_grad()
        recon, mu, logvar = model(x, eps)
        loss = vae_loss(torch_like, recon, x, mu, logvar)
        loss.backward()
        optimizer.step()
        losses.append(loss.item() / len(x))
    model.eval()
    with torch_like.no_grad():
        sample = model.decode(torch_like.from_numpy(rng.standard_normal((2, N_LATENT))))
    return [*losses, *sample.flatten().tolist()]
