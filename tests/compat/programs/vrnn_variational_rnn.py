"""Chung et al. 2015 "A Recurrent Latent Variable Model for Sequential Data" (VRNN) as
emited/VariationalRecurrentNeuralNetwork (``model.py``, ``train.py``) writes it, size-reduced.

The idioms: feature extractors ``phi_x``/``phi_z`` as ``nn.Sequential`` of ``nn.Linear`` and
``nn.ReLU()``; encoder, prior and decoder heads with ``nn.Softplus()`` standard deviations and a
``nn.Sigmoid()`` Bernoulli mean; a multi-layer ``nn.GRU(h_dim + h_dim, h_dim, n_layers, bias)``
stepped one frame at a time with ``torch.cat([phi_x_t, phi_z_t], 1).unsqueeze(0)`` and ``_, h =
self.rnn(..., h)`` from ``torch.zeros(self.n_layers, x.size(1), self.h_dim)``; the prior read from
``h[-1]``; the per-step Gaussian KL written out (``2 * torch.log(std_2 + EPS) - 2 *
torch.log(std_1 + EPS) + (std_1.pow(2) + (mean_1 - mean_2).pow(2)) / std_2.pow(2) - 1``, ``0.5 *
torch.sum``) and the Bernoulli NLL (``x*torch.log(theta + EPS) + (1-x)*torch.log(1-theta-EPS)``)
summed over the steps; the training loop's ``data.squeeze().transpose(0, 1)``, ``(data -
data.min()) / (data.max() - data.min())`` normalisation, ``nn.utils.clip_grad_norm_`` and Adam;
and ``sample(seq_len)`` with ``torch.zeros(seq_len, self.x_dim)`` filled row by row
(``sample[t] = dec_mean_t.data``) under ``torch.no_grad()``. The KL is cross-checked against
``torch.distributions.kl_divergence`` of two ``Normal``s (``Independent`` over the features).

Changed: MNIST rows (28 steps of 28 pixels, h_dim 100, z_dim 16) -> 5 steps of 6 NumPy
"pixels", h_dim 8, z_dim 3, two GRU layers; ``_reparameterized_sample``'s
``torch.empty(...).normal_()`` reads NumPy noise (the generators differ); 4 training steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

X_DIM, H_DIM, Z_DIM, N_LAYERS, SEQ, BATCH, CLIP = 6, 8, 3, 2, 5, 4, 10
EPS = float(np.finfo(float).eps)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class VRNN(nn.Module):
        def __init__(self, x_dim: int, h_dim: int, z_dim: int, n_layers: int, bias: bool = False):
            super().__init__()
            self.x_dim = x_dim
            self.h_dim = h_dim
            self.z_dim = z_dim
            self.n_layers = n_layers
            # feature-extracting transformations
            self.phi_x = nn.Sequential(
                nn.Linear(x_dim, h_dim), nn.ReLU(), nn.Linear(h_dim, h_dim), nn.ReLU()
            )
            self.phi_z = nn.Sequential(nn.Linear(z_dim, h_dim), nn.ReLU())
            # encoder
            self.enc = nn.Sequential(
                nn.Linear(h_dim + h_dim, h_dim), nn.ReLU(), nn.Linear(h_dim, h_dim), nn.ReLU()
            )
            self.enc_mean = nn.Linear(h_dim, z_dim)
            self.enc_std = nn.Sequential(nn.Linear(h_dim, z_dim), nn.Softplus())
            # prior
            self.prior = nn.Sequential(nn.Linear(h_dim, h_dim), nn.ReLU())
            self.prior_mean = nn.Linear(h_dim, z_dim)
            self.prior_std = nn.Sequential(nn.Linear(h_dim, z_dim), nn.Softplus())
            # decoder
            self.dec = nn.Sequential(
                nn.Linear(h_dim + h_dim, h_dim), nn.ReLU(), nn.Linear(h_dim, h_dim), nn.ReLU()
            )
            self.dec_std = nn.Sequential(nn.Linear(h_dim, x_dim), nn.Softplus())
            self.dec_mean = nn.Sequential(nn.Linear(h_dim, x_dim), nn.Sigmoid())
            # recurrence
            self.rnn = nn.GRU(h_dim + h_dim, h_dim, n_layers, bias)

        def forward(self, x: Any, noise: Any) -> tuple[Any, Any, Any]:
            all_enc_mean, all_enc_std = [], []
            all_dec_mean, all_dec_std = [], []
            kld_loss = 0
            nll_loss = 0
            h = torch.zeros(self.n_layers, x.size(1), self.h_dim)
            for t in range(x.size(0)):
                phi_x_t = self.phi_x(x[t])
                # encoder
                enc_t = self.enc(torch.cat([phi_x_t, h[-1]], 1))
                enc_mean_t = self.enc_mean(enc_t)
                enc_std_t = self.enc_std(enc_t)
                # prior
                prior_t = self.prior(h[-1])
                prior_mean_t = self.prior_mean(prior_t)
                prior_std_t = self.prior_std(prior_t)
                # sampling and reparameterization
                z_t = self._reparameterized_sample(enc_mean_t, enc_std_t, noise[t])
                phi_z_t = self.phi_z(z_t)
                # decoder
                dec_t = self.dec(torch.cat([phi_z_t, h[-1]], 1))
                dec_mean_t = self.dec_mean(dec_t)
                dec_std_t = self.dec_std(dec_t)
                # recurrence
                _, h = self.rnn(torch.cat([phi_x_t, phi_z_t], 1).unsqueeze(0), h)
                # computing losses
                kld_loss += self._kld_gauss(enc_mean_t, enc_std_t, prior_mean_t, prior_std_t)
                nll_loss += self._nll_bernoulli(dec_mean_t, x[t])
                all_enc_std.append(enc_std_t)
                all_enc_mean.append(enc_mean_t)
                all_dec_mean.append(dec_mean_t)
                all_dec_std.append(dec_std_t)
            return kld_loss, nll_loss, (all_enc_mean, all_enc_std, all_dec_mean, all_dec_std)

        def sample(self, seq_len: int, noise: Any) -> Any:
            sample = torch.zeros(seq_len, self.x_dim)
            h = torch.zeros(self.n_layers, 1, self.h_dim)
            for t in range(seq_len):
                prior_t = self.prior(h[-1])
                prior_mean_t = self.prior_mean(prior_t)
                prior_std_t = self.prior_std(prior_t)
                z_t = self._reparameterized_sample(prior_mean_t, prior_std_t, noise[t])
                phi_z_t = self.phi_z(z_t)
                dec_t = self.dec(torch.cat([phi_z_t, h[-1]], 1))
                dec_mean_t = self.dec_mean(dec_t)
                phi_x_t = self.phi_x(dec_mean_t)
                _, h = self.rnn(torch.cat([phi_x_t, phi_z_t], 1).unsqueeze(0), h)
                sample[t] = dec_mean_t.data
            return sample

        def _reparameterized_sample(self, mean: Any, std: Any, eps: Any) -> Any:
            """using std to sample (eps: the program's NumPy draw)"""
            return eps.mul(std).add_(mean)

        def _kld_gauss(self, mean_1: Any, std_1: Any, mean_2: Any, std_2: Any) -> Any:
            """Using std to compute KLD"""
            kld_element = (
                2 * torch.log(std_2 + EPS)
                - 2 * torch.log(std_1 + EPS)
                + (std_1.pow(2) + (mean_1 - mean_2).pow(2)) / std_2.pow(2)
                - 1
            )
            return 0.5 * torch.sum(kld_element)

        def _nll_bernoulli(self, theta: Any, x: Any) -> Any:
            return -torch.sum(x * torch.log(theta + EPS) + (1 - x) * torch.log(1 - theta - EPS))

    return VRNN(X_DIM, H_DIM, Z_DIM, N_LAYERS)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    D = torch_like.distributions
    rng = np.random.default_rng(34)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    values: list[float] = []
    for _step in range(4):
        # a (batch, 1, seq, x_dim) "image" batch as the MNIST loader gives
        data = as_tensor(torch, 3.0 * rng.random((BATCH, 1, SEQ, X_DIM)))
        data = data.squeeze().transpose(0, 1)  # (seq, batch, elem)
        data = (data - data.min()) / (data.max() - data.min())
        noise = as_tensor(torch, rng.standard_normal((SEQ, BATCH, Z_DIM)))
        optimizer.zero_grad()
        kld_loss, nll_loss, (enc_mean, enc_std, _, _) = model(data, noise)
        loss = kld_loss + nll_loss
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()
        values += [kld_loss.item() / BATCH, nll_loss.item() / BATCH, float(grad_norm)]
        with torch.no_grad():
            q = D.Independent(D.Normal(enc_mean[0], enc_std[0]), 1)
            values.append(q.log_prob(enc_mean[0] + enc_std[0]).sum().item())
    with torch.no_grad():
        sample = model.sample(SEQ, as_tensor(torch, rng.standard_normal((SEQ, 1, Z_DIM))))
        h = torch.zeros(N_LAYERS, 2, H_DIM)
        prior_t = model.prior(h[-1])
        p = D.Normal(model.prior_mean(prior_t), model.prior_std(prior_t))
        q = D.Normal(model.prior_mean(prior_t) + 0.3, 1.5 * model.prior_std(prior_t))
        kl = D.kl_divergence(q, p).sum()
        written = model._kld_gauss(q.loc, q.scale, p.loc, p.scale)
    values += sample.flatten().tolist() + [kl.item(), written.item()]
    return values
