"""pytorch/examples ``vae/main.py`` in its common ``torch.distributions`` rewrite, size-reduced:
the example's ``VAE`` (``fc1``, ``fc21``/``fc22``, ``fc3``, ``fc4``; ``encode``, ``decode``,
``forward`` returning ``recon, mu, logvar``) with the latent posterior as ``Normal(mu,
torch.exp(0.5*logvar))`` wrapped in ``Independent(..., 1)``, the reparameterised sample
``z = q.loc + q.scale * eps`` (``rsample`` with the noise drawn by NumPy, so both frameworks use
the same ``eps``), the prior ``Normal(torch.zeros_like(mu), torch.ones_like(std))``, the
reconstruction term ``Bernoulli(logits=...).log_prob(x).sum(-1)`` (``ContinuousBernoulli`` for
non-binary pixels is left out), ``kl_divergence(q, p)`` checked against the example's closed form
``-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())``, the ELBO ``q.log_prob(z) -
p.log_prob(z)`` Monte-Carlo estimate, ``entropy()``, and the example's ``train``/``test`` loops
(``train_loss += loss.item()``, ``len(train_loader.dataset)``, ``optim.Adam(lr=1e-3)``,
``model.eval()``/``torch.no_grad()``, ``torch.cat([data[:n], recon_batch.view(...)[:n]])``).

Sizes: 784 -> 16 pixels (binarised), hidden 400 -> 12, latent 20 -> 3, 60000 images -> 24 in
batches of 8, 10 epochs -> 2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

N_PIX = 16
HIDDEN = 12
LATENT = 3
BATCH = 8


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class VAE(nn.Module):
        def __init__(self) -> None:
            super(VAE, self).__init__()  # noqa: UP008 (as in the example)

            self.fc1 = nn.Linear(N_PIX, HIDDEN)
            self.fc21 = nn.Linear(HIDDEN, LATENT)
            self.fc22 = nn.Linear(HIDDEN, LATENT)
            self.fc3 = nn.Linear(LATENT, HIDDEN)
            self.fc4 = nn.Linear(HIDDEN, N_PIX)

        def encode(self, x: Any) -> tuple[Any, Any]:
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def decode(self, z: Any) -> Any:
            h3 = F.relu(self.fc3(z))
            return self.fc4(h3)  # logits; the example returns torch.sigmoid(...)

        def forward(self, x: Any, eps: Any) -> tuple[Any, Any, Any, Any]:
            mu, logvar = self.encode(x.view(-1, N_PIX))
            D = torch.distributions
            q = D.Independent(D.Normal(mu, torch.exp(0.5 * logvar)), 1)
            z = q.base_dist.loc + q.base_dist.scale * eps  # q.rsample() with a fixed eps
            return self.decode(z), mu, logvar, z

    return VAE()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    D = torch_like.distributions
    rng = np.random.default_rng(9)
    images = rng.random((24, 1, 4, 4)) < 0.3 + 0.4 * (np.arange(16).reshape(4, 4) % 3 == 0)
    images = images.astype(np.float64)
    train_loader = [
        (torch.tensor(images[i : i + BATCH]), torch.zeros(BATCH)) for i in range(0, 16, BATCH)
    ]
    test_loader = [(torch.tensor(images[16:]), torch.zeros(BATCH))]
    dataset_len = {"train": 16, "test": 8}
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    values: list[float] = []
    kl_gaps: list[float] = []

    # Reconstruction + KL divergence losses summed over all elements and batch
    def loss_function(recon_logits: Any, x: Any, mu: Any, logvar: Any, z: Any) -> Any:
        x = x.view(-1, N_PIX)
        std = torch.exp(0.5 * logvar)
        q = D.Independent(D.Normal(mu, std), 1)
        p = D.Independent(D.Normal(torch.zeros_like(mu), torch.ones_like(std)), 1)
        recon = D.Independent(D.Bernoulli(logits=recon_logits), 1)
        rec = -recon.log_prob(x).sum()  # F.binary_cross_entropy(..., reduction='sum')
        KLD = D.kl_divergence(q, p).sum()
        # see Appendix B from VAE paper: Kingma and Welling. Auto-Encoding Variational Bayes.
        KLD_closed = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        mc_kl = (q.log_prob(z) - p.log_prob(z)).sum()
        kl_gaps.append(abs(KLD_closed.item() - KLD.item()))
        values.extend([KLD.item(), mc_kl.item(), q.entropy().sum().item()])
        return rec + KLD

    def train(epoch: int) -> None:
        model.train()
        train_loss = 0
        for _batch_idx, (data, _) in enumerate(train_loader):
            optimizer.zero_grad()
            eps = torch.tensor(rng.standard_normal((data.shape[0], LATENT)))
            recon_batch, mu, logvar, z = model(data, eps)
            loss = loss_function(recon_batch, data, mu, logvar, z)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        print(f"====> Epoch: {epoch} Average loss: {train_loss / dataset_len['train']:.4f}")
        values.append(train_loss / dataset_len["train"])

    def test(epoch: int) -> None:
        model.eval()
        test_loss = 0
        with torch.no_grad():
            for i, (data, _) in enumerate(test_loader):
                eps = torch.tensor(rng.standard_normal((data.shape[0], LATENT)))
                recon_batch, mu, logvar, z = model(data, eps)
                test_loss += loss_function(recon_batch, data, mu, logvar, z).item()
                if i == 0:
                    n = min(data.size(0), 8)
                    comparison = torch.cat(
                        [data[:n], torch.sigmoid(recon_batch).view(BATCH, 1, 4, 4)[:n]]
                    )
                    values.append(comparison.sum().item())

        test_loss /= dataset_len["test"]
        print(f"====> Test set loss: {test_loss:.4f}")
        values.append(test_loss)

    for epoch in range(1, 3):
        train(epoch)
        test(epoch)
        with torch.no_grad():
            sample = torch.tensor(rng.standard_normal((4, LATENT)))
            sample = torch.sigmoid(model.decode(sample)).cpu()
            values.append(sample.sum().item())
    return values + [max(kl_gaps)]


def check(values: list[float]) -> None:
    """``kl_divergence`` of the two Normals equals the example's closed-form KLD."""
    assert values[-1] < 1e-9, values[-1]
