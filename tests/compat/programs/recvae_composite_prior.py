"""RecVAE: a variational autoencoder for top-N recommendation with a composite prior and
alternating encoder / decoder updates, as Shenbin et al.'s ``RecVAE`` writes it (``model.py``:
``swish``, ``log_norm_pdf``, ``CompositePrior``, ``Encoder``, ``VAE``; ``run.py``: ``run``,
``evaluate``, the alternating epoch loop with ``update_prior`` and the best-model copy),
size-reduced.

The idioms kept verbatim: ``swish(x) = x.mul(torch.sigmoid(x))``; ``log_norm_pdf``'s
``-0.5*(logvar + np.log(2 * np.pi) + (x - mu).pow(2) / logvar.exp())``; frozen prior
parameters ``nn.Parameter(torch.Tensor(1, latent_dim), requires_grad=False)`` set by
``.data.fill_(10)``; ``self.encoder_old.requires_grad_(False)``; the mixture
``[g.add(np.log(w)) for g, w in zip(gaussians, self.mixture_weights)]`` (a NumPy float
added) -> ``torch.stack(..., dim=-1)`` -> ``torch.logsumexp``; the encoder's row
normalisation ``x / norm[:, None]``, ``F.dropout(x, p=dropout_rate, training=self.training)``
and its densely connected ``nn.LayerNorm(hidden_dim, eps=eps)`` blocks (``self.ln3(swish(
self.fc3(h2) + h1 + h2))``); ``reparameterize``'s ``eps.mul(std).add_(mu)`` with
``torch.randn_like``; the loss ``(F.log_softmax(x_pred, dim=-1) * user_ratings).sum(dim=-1)
.mean()`` and ``kld = (log_norm_pdf(z, mu, logvar) - self.prior(user_ratings, z)).sum(dim=-1)
.mul(kl_weight).mean()`` with the per-user ``kl_weight = gamma * norm``; ``update_prior``'s
``load_state_dict(deepcopy(self.encoder.state_dict()))``; two Adam optimizers built from
``set(model.encoder.parameters())`` / ``set(model.decoder.parameters())``, the encoder run
with dropout 0.5 and the decoder with 0; ``evaluate`` with ``model(ratings_in,
calculate_loss=False).cpu().detach().numpy()`` and ``ratings_pred[batch.nonzero()] =
-np.inf``; ``model_best.load_state_dict(deepcopy(model.state_dict()))``.

Changed: 24 items, hidden 16, latent 6, 16 users in batches of 8 (NumPy shuffling, dense
rating rows instead of SciPy sparse), 2 alternating epochs of 1 encoder and 1 decoder pass,
five dense blocks kept; NDCG by bottleneck's ``argpartition`` is recall@5 by NumPy sorting.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_ITEMS, HIDDEN, LATENT, N_USERS, BATCH, EPOCHS, K = 24, 16, 6, 16, 8, 2, 5


def log_norm_pdf(x, mu, logvar):
    return -0.5 * (logvar + np.log(2 * np.pi) + (x - mu).pow(2) / logvar.exp())


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    def swish(x):
        return x.mul(torch.sigmoid(x))

    class Encoder(nn.Module):
        def __init__(self, hidden_dim, latent_dim, input_dim, eps=1e-1):
            super(Encoder, self).__init__()  # noqa: UP008
            self.fc1 = nn.Linear(input_dim, hidden_dim)
            self.ln1 = nn.LayerNorm(hidden_dim, eps=eps)
            self.fc2 = nn.Linear(hidden_dim, hidden_dim)
            self.ln2 = nn.LayerNorm(hidden_dim, eps=eps)
            self.fc3 = nn.Linear(hidden_dim, hidden_dim)
            self.ln3 = nn.LayerNorm(hidden_dim, eps=eps)
            self.fc4 = nn.Linear(hidden_dim, hidden_dim)
            self.ln4 = nn.LayerNorm(hidden_dim, eps=eps)
            self.fc5 = nn.Linear(hidden_dim, hidden_dim)
            self.ln5 = nn.LayerNorm(hidden_dim, eps=eps)
            self.fc_mu = nn.Linear(hidden_dim, latent_dim)
            self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

        def forward(self, x, dropout_rate):
            norm = x.pow(2).sum(dim=-1).sqrt()
            x = x / norm[:, None]
            x = F.dropout(x, p=dropout_rate, training=self.training)
            h1 = self.ln1(swish(self.fc1(x)))
            h2 = self.ln2(swish(self.fc2(h1) + h1))
            h3 = self.ln3(swish(self.fc3(h2) + h1 + h2))
            h4 = self.ln4(swish(self.fc4(h3) + h1 + h2 + h3))
            h5 = self.ln5(swish(self.fc5(h4) + h1 + h2 + h3 + h4))
            return self.fc_mu(h5), self.fc_logvar(h5)

    class CompositePrior(nn.Module):
        def __init__(
            self,
            hidden_dim,
            latent_dim,
            input_dim,
            mixture_weights=[3 / 20, 3 / 4, 1 / 10],  # noqa: B006
        ):  # noqa: B006
            super(CompositePrior, self).__init__()  # noqa: UP008
            self.mixture_weights = mixture_weights
            self.mu_prior = nn.Parameter(torch.Tensor(1, latent_dim), requires_grad=False)
            self.mu_prior.data.fill_(0)
            self.logvar_prior = nn.Parameter(torch.Tensor(1, latent_dim), requires_grad=False)
            self.logvar_prior.data.fill_(0)
            self.logvar_uniform_prior = nn.Parameter(
                torch.Tensor(1, latent_dim), requires_grad=False
            )
            self.logvar_uniform_prior.data.fill_(10)
            self.encoder_old = Encoder(hidden_dim, latent_dim, input_dim)
            self.encoder_old.requires_grad_(False)

        def forward(self, x, z):
            post_mu, post_logvar = self.encoder_old(x, 0)
            stnd_prior = log_norm_pdf(z, self.mu_prior, self.logvar_prior)
            post_prior = log_norm_pdf(z, post_mu, post_logvar)
            unif_prior = log_norm_pdf(z, self.mu_prior, self.logvar_uniform_prior)
            gaussians = [stnd_prior, post_prior, unif_prior]
            gaussians = [g.add(np.log(w)) for g, w in zip(gaussians, self.mixture_weights)]
            density_per_gaussian = torch.stack(gaussians, dim=-1)
            return torch.logsumexp(density_per_gaussian, dim=-1)

    class VAE(nn.Module):
        def __init__(self, hidden_dim, latent_dim, input_dim):
            super(VAE, self).__init__()  # noqa: UP008
            self.encoder = Encoder(hidden_dim, latent_dim, input_dim)
            self.prior = CompositePrior(hidden_dim, latent_dim, input_dim)
            self.decoder = nn.Linear(latent_dim, input_dim)

        def reparameterize(self, mu, logvar):
            if self.training:
                std = torch.exp(0.5 * logvar)
                eps = torch.randn_like(std)
                return eps.mul(std).add_(mu)
            else:
                return mu

        def forward(self, user_ratings, beta=None, gamma=1, dropout_rate=0.5, calculate_loss=True):
            mu, logvar = self.encoder(user_ratings, dropout_rate=dropout_rate)
            z = self.reparameterize(mu, logvar)
            x_pred = self.decoder(z)
            if calculate_loss:
                if gamma:
                    norm = user_ratings.sum(dim=-1)
                    kl_weight = gamma * norm
                elif beta:
                    kl_weight = beta
                mll = (F.log_softmax(x_pred, dim=-1) * user_ratings).sum(dim=-1).mean()
                kld = (
                    (log_norm_pdf(z, mu, logvar) - self.prior(user_ratings, z))
                    .sum(dim=-1)
                    .mul(kl_weight)
                    .mean()
                )
                negative_elbo = -(mll - kld)
                return (mll, kld), negative_elbo
            else:
                return x_pred

        def update_prior(self):
            self.prior.encoder_old.load_state_dict(deepcopy(self.encoder.state_dict()))

    return VAE(HIDDEN, LATENT, N_ITEMS)


def run(torch_like: Any, init: dict) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    rng = np.random.default_rng(19)
    train_data = (rng.random((N_USERS, N_ITEMS)) < 0.3).astype(np.float64)
    train_data[np.arange(N_USERS), rng.integers(0, N_ITEMS, N_USERS)] = 1.0
    held_out = (rng.random((N_USERS, N_ITEMS)) < 0.15) & (train_data == 0)
    shuffle_rng = np.random.default_rng(2)
    values: list[float] = []

    def generate(batch_size, shuffle):
        idx = np.arange(N_USERS)
        if shuffle:
            shuffle_rng.shuffle(idx)
        for start in range(0, N_USERS, batch_size):
            yield idx[start : start + batch_size]

    def run_epochs(model, opts, train_data, batch_size, n_epochs, beta, gamma, dropout_rate):
        model.train()
        for epoch in range(n_epochs):  # noqa: B007
            for batch in generate(batch_size=batch_size, shuffle=True):
                ratings = as_tensor(torch_like, train_data[batch])
                for optimizer in opts:
                    optimizer.zero_grad()
                (mll, kld), loss = model(ratings, beta=beta, gamma=gamma, dropout_rate=dropout_rate)
                loss.backward()
                for optimizer in opts:
                    optimizer.step()
                values.extend([loss.item(), mll.item(), kld.item()])

    def evaluate(model, data_in, data_out, batch_size=8):
        model.eval()
        scores = []
        for batch in generate(batch_size=batch_size, shuffle=False):
            ratings_in = as_tensor(torch_like, data_in[batch])
            ratings_pred = model(ratings_in, calculate_loss=False).cpu().detach().numpy()
            ratings_pred[data_in[batch].nonzero()] = -np.inf
            top = np.argsort(-ratings_pred, axis=1, kind="stable")[:, :K]
            hits = np.take_along_axis(data_out[batch], top, axis=1).sum(1)
            scores.append(np.mean(hits / np.maximum(np.minimum(data_out[batch].sum(1), K), 1)))
        return float(np.mean(scores))

    torch.manual_seed(6)
    model = make_model(torch_like)
    model_best = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    learning_kwargs = {"model": model, "train_data": train_data, "batch_size": BATCH,
                       "beta": None, "gamma": 0.005}  # fmt: skip
    decoder_params = set(model.decoder.parameters())
    encoder_params = set(model.encoder.parameters())
    optimizer_encoder = optim.Adam(encoder_params, lr=5e-3)
    optimizer_decoder = optim.Adam(decoder_params, lr=5e-3)
    best_score = -np.inf
    for epoch in range(EPOCHS):  # noqa: B007
        run_epochs(opts=[optimizer_encoder], n_epochs=1, dropout_rate=0.5, **learning_kwargs)
        model.update_prior()
        run_epochs(opts=[optimizer_decoder], n_epochs=1, dropout_rate=0, **learning_kwargs)
        score = evaluate(model, train_data, held_out)
        values.append(score)
        if score > best_score:
            best_score = score
            model_best.load_state_dict(deepcopy(model.state_dict()))
    values.append(sum(p.sum().item() for p in model_best.prior.encoder_old.parameters()))
    return values
