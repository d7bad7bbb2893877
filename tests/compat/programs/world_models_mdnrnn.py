"""Ha & Schmidhuber's World Models (VAE + MDN-RNN + linear controller), as ctallec/world-models
writes it in PyTorch (``models/vae.py``, ``models/mdrnn.py``, ``models/controller.py``,
``trainvae.py``, ``trainmdrnn.py``, ``utils/learning.py``), size-reduced.

The idioms: the VAE's ``Encoder`` (strided ``nn.Conv2d`` stack, ``x.view(x.size(0), -1)``,
``fc_mu`` / ``fc_logsigma``), ``Decoder`` (``fc1``, ``x.unsqueeze(-1).unsqueeze(-1)``,
``nn.ConvTranspose2d`` stack, ``F.sigmoid``), the reparameterisation ``sigma =
logsigma.exp()``, ``eps = torch.randn_like(sigma)``, ``z = eps.mul(sigma).add_(mu)``; the
``loss_function`` (``F.mse_loss(recon_x, x, size_average=False)`` -- the deprecated legacy
reduction argument, with its warning -- and ``KLD = -0.5 * torch.sum(1 + 2 * logsigma -
mu.pow(2) - (2 * logsigma).exp())``); ``_MDRNNBase`` (``self.gmm_linear = nn.Linear(hiddens, (2
* latents + 1) * gaussians + 2)``), ``MDRNN`` (``nn.LSTM(latents + actions, hiddens)``,
``torch.cat([actions, latents], dim=-1)``, the ``stride`` slicing into ``mus`` / ``sigmas`` /
``pi`` with ``view(seq_len, bs, self.gaussians, self.latents)``, ``torch.exp(sigmas)``,
``f.log_softmax(pi, dim=-1)``, ``rs = gmm_outs[:, :, -2]``, ``ds = gmm_outs[:, :, -1]``) and
``MDRNNCell`` (``nn.LSTMCell``, ``next_hidden = self.rnn(in_al, hidden)``, ``out_full =
self.gmm_linear(out_rnn)``) sharing its weights through ``load_state_dict({k.strip('_l0'): v
for k, v in ...})``; ``gmm_loss`` (``batch.unsqueeze(-2)``, ``Normal(mus, sigmas).log_prob``,
``logpi + torch.sum(g_log_probs, dim=-1)``, the max-shifted log-sum-exp with ``torch.max(...,
keepdim=True)[0]`` and ``max_log_probs.squeeze()``); ``get_loss`` (``[arr.transpose(1, 0) for
arr in [...]]``, ``f.binary_cross_entropy_with_logits(ds, terminal)``, ``f.mse_loss(rs,
reward)``, ``scale = LSIZE + 2``); the ``Controller`` (``nn.Linear(latents + recurrents,
actions)`` over ``torch.cat(inputs, dim=1)``); ``RMSprop(mdrnn.parameters(), lr=1e-3,
alpha=.9)`` and ``ReduceLROnPlateau(optimizer, 'min', factor=0.5, patience=5)``, the repository's
``EarlyStopping``.

Changed: 64x64x3 frames -> 16x16x3 with 3 convolutions of 4/8/8 channels, LSIZE 32 -> 4,
RSIZE 256 -> 8, 5 Gaussians -> 3, ASIZE 3 kept; frames, actions, rewards and terminals from a
seeded NumPy generator instead of CarRacing rollouts; 2 VAE epochs of 2 batches, 2 MDN-RNN steps
on sequences of 5, a 3-step rollout through ``MDRNNCell`` driven by the controller (the
CMA-ES search over controllers is left out).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, state_to_numpy

__all__ = ["init_state", "run"]

LSIZE, RSIZE, ASIZE, GAUSS, RED = 4, 8, 3, 3, 16
SEQ, BSIZE = 5, 2


def _models(torch_like: Any) -> dict:
    torch, nn = torch_like, torch_like.nn
    F = f = torch_like.nn.functional
    Normal = torch_like.distributions.normal.Normal

    class Decoder(nn.Module):
        """VAE decoder"""

        def __init__(self, img_channels: int, latent_size: int) -> None:
            super(Decoder, self).__init__()  # noqa: UP008 (as in the repository)
            self.latent_size = latent_size
            self.img_channels = img_channels

            self.fc1 = nn.Linear(latent_size, 32)
            self.deconv1 = nn.ConvTranspose2d(32, 8, 4, stride=2)
            self.deconv2 = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
            self.deconv3 = nn.ConvTranspose2d(4, img_channels, 4, stride=2, padding=1)

        def forward(self, x: Any) -> Any:  # pylint: disable=arguments-differ
            x = F.relu(self.fc1(x))
            x = x.unsqueeze(-1).unsqueeze(-1)
            x = F.relu(self.deconv1(x))
            x = F.relu(self.deconv2(x))
            reconstruction = F.sigmoid(self.deconv3(x))
            return reconstruction

    class Encoder(nn.Module):  # pylint: disable=too-many-instance-attributes
        """VAE encoder"""

        def __init__(self, img_channels: int, latent_size: int) -> None:
            super(Encoder, self).__init__()  # noqa: UP008
            self.latent_size = latent_size
            # self.img_size = img_size
            self.img_channels = img_channels

            self.conv1 = nn.Conv2d(img_channels, 4, 4, stride=2)
            self.conv2 = nn.Conv2d(4, 8, 4, stride=2)
            self.conv3 = nn.Conv2d(8, 8, 1, stride=1)

            self.fc_mu = nn.Linear(2 * 2 * 8, latent_size)
            self.fc_logsigma = nn.Linear(2 * 2 * 8, latent_size)

        def forward(self, x: Any) -> tuple[Any, Any]:  # pylint: disable=arguments-differ
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.relu(self.conv3(x))
            x = x.view(x.size(0), -1)

            mu = self.fc_mu(x)
            logsigma = self.fc_logsigma(x)

            return mu, logsigma

    class VAE(nn.Module):
        """Variational Autoencoder"""

        def __init__(self, img_channels: int, latent_size: int) -> None:
            super(VAE, self).__init__()  # noqa: UP008
            self.encoder = Encoder(img_channels, latent_size)
            self.decoder = Decoder(img_channels, latent_size)

        def forward(self, x: Any) -> tuple[Any, Any, Any]:  # pylint: disable=arguments-differ
            mu, logsigma = self.encoder(x)
            sigma = logsigma.exp()
            eps = torch.randn_like(sigma)
            z = eps.mul(sigma).add_(mu)

            recon_x = self.decoder(z)
            return recon_x, mu, logsigma

    def gmm_loss(batch: Any, mus: Any, sigmas: Any, logpi: Any, reduce: bool = True) -> Any:
        """Computes the gmm loss."""
        batch = batch.unsqueeze(-2)
        normal_dist = Normal(mus, sigmas)
        g_log_probs = normal_dist.log_prob(batch)
        g_log_probs = logpi + torch.sum(g_log_probs, dim=-1)
        max_log_probs = torch.max(g_log_probs, dim=-1, keepdim=True)[0]
        g_log_probs = g_log_probs - max_log_probs

        g_probs = torch.exp(g_log_probs)
        probs = torch.sum(g_probs, dim=-1)

        log_prob = max_log_probs.squeeze() + torch.log(probs)
        if reduce:
            return -torch.mean(log_prob)
        return -log_prob

    class _MDRNNBase(nn.Module):
        def __init__(self, latents: int, actions: int, hiddens: int, gaussians: int) -> None:
            super().__init__()
            self.latents = latents
            self.actions = actions
            self.hiddens = hiddens
            self.gaussians = gaussians

            self.gmm_linear = nn.Linear(hiddens, (2 * latents + 1) * gaussians + 2)

        def forward(self, *inputs: Any) -> None:
            pass

    class MDRNN(_MDRNNBase):
        """MDRNN model for multi steps forward"""

        def __init__(self, latents: int, actions: int, hiddens: int, gaussians: int) -> None:
            super().__init__(latents, actions, hiddens, gaussians)
            self.rnn = nn.LSTM(latents + actions, hiddens)

        def forward(self, actions: Any, latents: Any) -> tuple:  # pylint: disable=arguments-differ
            seq_len, bs = actions.size(0), actions.size(1)

            ins = torch.cat([actions, latents], dim=-1)
            outs, _ = self.rnn(ins)
            gmm_outs = self.gmm_linear(outs)

            stride = self.gaussians * self.latents

            mus = gmm_outs[:, :, :stride]
            mus = mus.view(seq_len, bs, self.gaussians, self.latents)

            sigmas = gmm_outs[:, :, stride : 2 * stride]
            sigmas = sigmas.view(seq_len, bs, self.gaussians, self.latents)
            sigmas = torch.exp(sigmas)

            pi = gmm_outs[:, :, 2 * stride : 2 * stride + self.gaussians]
            pi = pi.view(seq_len, bs, self.gaussians)
            logpi = f.log_softmax(pi, dim=-1)

            rs = gmm_outs[:, :, -2]

            ds = gmm_outs[:, :, -1]

            return mus, sigmas, logpi, rs, ds

    class MDRNNCell(_MDRNNBase):
        """MDRNN model for one step forward"""

        def __init__(self, latents: int, actions: int, hiddens: int, gaussians: int) -> None:
            super().__init__(latents, actions, hiddens, gaussians)
            self.rnn = nn.LSTMCell(latents + actions, hiddens)

        def forward(self, action: Any, latent: Any, hidden: Any) -> tuple:  # pylint: disable=arguments-differ
            in_al = torch.cat([action, latent], dim=1)

            next_hidden = self.rnn(in_al, hidden)
            out_rnn = next_hidden[0]

            out_full = self.gmm_linear(out_rnn)

            stride = self.gaussians * self.latents

            mus = out_full[:, :stride]
            mus = mus.view(-1, self.gaussians, self.latents)

            sigmas = out_full[:, stride : 2 * stride]
            sigmas = sigmas.view(-1, self.gaussians, self.latents)
            sigmas = torch.exp(sigmas)

            pi = out_full[:, 2 * stride : 2 * stride + self.gaussians]
            pi = pi.view(-1, self.gaussians)
            logpi = f.log_softmax(pi, dim=-1)

            r = out_full[:, -2]

            d = out_full[:, -1]

            return mus, sigmas, logpi, r, d, next_hidden

    class Controller(nn.Module):
        """Controller"""

        def __init__(self, latents: int, recurrents: int, actions: int) -> None:
            super().__init__()
            self.fc = nn.Linear(latents + recurrents, actions)

        def forward(self, *inputs: Any) -> Any:
            cat_in = torch.cat(inputs, dim=1)
            return self.fc(cat_in)

    return {"VAE": VAE, "MDRNN": MDRNN, "MDRNNCell": MDRNNCell, "Controller": Controller,
            "gmm_loss": gmm_loss}  # fmt: skip


def init_state(tmp_path: Any) -> dict:
    """torch's initial weights of the three networks (float64, as the runs)."""
    import torch  # in here: the reference weights come from torch, which src never imports

    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(0)
        m = _models(torch)
        nets = {"vae": m["VAE"](3, LSIZE), "mdrnn": m["MDRNN"](LSIZE, ASIZE, RSIZE, GAUSS),
                "controller": m["Controller"](LSIZE, RSIZE, ASIZE)}  # fmt: skip
    finally:
        torch.set_default_dtype(prev)
    return {k: state_to_numpy(net) for k, net in nets.items()}


class EarlyStopping:
    """Early stopping (utils/learning.py): stops after ``patience`` epochs without improvement."""

    def __init__(self, mode: str = "min", patience: int = 10, threshold: float = 1e-4) -> None:
        self.mode, self.patience, self.threshold = mode, patience, threshold
        self.best = float("inf")
        self.num_bad_epochs = 0

    def step(self, metrics: float) -> None:
        if metrics < self.best * (1 - self.threshold):
            self.best = metrics
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1

    def stop(self) -> bool:
        return self.num_bad_epochs > self.patience


def run(torch_like: Any, init: dict) -> list[float]:
    torch, f = torch_like, torch_like.nn.functional
    F = f
    m = _models(torch_like)
    torch.manual_seed(1)
    rng = np.random.default_rng(11)
    values: list[float] = []

    vae = m["VAE"](3, LSIZE)
    vae.load_state_dict({k: torch.tensor(v) for k, v in init["vae"].items()})
    optimizer = torch.optim.Adam(vae.parameters())
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "min", factor=0.5,
                                                           patience=5)  # fmt: skip
    earlystopping = EarlyStopping("min", patience=30)

    def loss_function(recon_x: Any, x: Any, mu: Any, logsigma: Any) -> Any:
        """VAE loss function"""
        BCE = F.mse_loss(recon_x, x, size_average=False)
        KLD = -0.5 * torch.sum(1 + 2 * logsigma - mu.pow(2) - (2 * logsigma).exp())
        return BCE + KLD

    for _epoch in range(2):
        vae.train()
        train_loss = 0
        for _batch_idx in range(2):
            data = as_tensor(torch_like, rng.random((2, 3, RED, RED)))
            optimizer.zero_grad()
            recon_batch, mu, logvar = vae(data)
            with warnings.catch_warnings():  # the legacy size_average argument warns
                warnings.simplefilter("ignore", UserWarning)
                loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        test_loss = train_loss / 4
        scheduler.step(test_loss)
        earlystopping.step(test_loss)
        values += [train_loss, float(earlystopping.stop())]

    mdrnn = m["MDRNN"](LSIZE, ASIZE, RSIZE, GAUSS)
    mdrnn.load_state_dict({k: torch.tensor(v) for k, v in init["mdrnn"].items()})
    optimizer = torch.optim.RMSprop(mdrnn.parameters(), lr=1e-3, alpha=0.9)

    def to_latent(obs: Any, next_obs: Any) -> tuple[Any, Any]:
        """Transform observations to latent space."""
        with torch.no_grad():
            (obs_mu, obs_logsigma), (next_obs_mu, next_obs_logsigma) = [
                vae(x.view(-1, 3, RED, RED))[1:] for x in (obs, next_obs)
            ]
            latent_obs, latent_next_obs = [
                (x_mu + x_logsigma.exp() * torch.randn_like(x_mu)).view(BSIZE, SEQ, LSIZE)
                for x_mu, x_logsigma in [(obs_mu, obs_logsigma), (next_obs_mu, next_obs_logsigma)]
            ]
        return latent_obs, latent_next_obs

    def get_loss(latent_obs: Any, action: Any, reward: Any, terminal: Any,
                 latent_next_obs: Any, include_reward: bool) -> dict:  # fmt: skip
        """Compute losses."""
        latent_obs, action, reward, terminal, latent_next_obs = [
            arr.transpose(1, 0) for arr in [latent_obs, action, reward, terminal, latent_next_obs]
        ]
        mus, sigmas, logpi, rs, ds = mdrnn(action, latent_obs)
        gmm = m["gmm_loss"](latent_next_obs, mus, sigmas, logpi)
        bce = f.binary_cross_entropy_with_logits(ds, terminal)
        if include_reward:
            mse = f.mse_loss(rs, reward)
            scale = LSIZE + 2
        else:
            mse = 0
            scale = LSIZE + 1
        loss = (gmm + bce + mse) / scale
        return dict(gmm=gmm, bce=bce, mse=mse, loss=loss)

    vae.eval()
    for i in range(2):
        obs = as_tensor(torch_like, rng.random((BSIZE, SEQ, 3, RED, RED)))
        next_obs = as_tensor(torch_like, rng.random((BSIZE, SEQ, 3, RED, RED)))
        action = as_tensor(torch_like, rng.uniform(-1, 1, (BSIZE, SEQ, ASIZE)))
        reward = as_tensor(torch_like, rng.normal(size=(BSIZE, SEQ)))
        terminal = as_tensor(torch_like, (rng.random((BSIZE, SEQ)) < 0.2).astype(np.float64))
        latent_obs, latent_next_obs = to_latent(obs, next_obs)
        losses = get_loss(latent_obs, action, reward, terminal, latent_next_obs, i == 0)
        optimizer.zero_grad()
        losses["loss"].backward()
        optimizer.step()
        values += [losses["loss"].item(), losses["gmm"].item(), losses["bce"].item()]

    # the rollout generator: one-step cell sharing the trained MDRNN's weights
    mdrnn_cell = m["MDRNNCell"](LSIZE, ASIZE, RSIZE, GAUSS)
    mdrnn_cell.load_state_dict({k.strip("_l0"): v for k, v in mdrnn.state_dict().items()})
    controller = m["Controller"](LSIZE, RSIZE, ASIZE)
    controller.load_state_dict({k: torch.tensor(v) for k, v in init["controller"].items()})
    hidden = [torch.zeros(1, RSIZE) for _ in range(2)]
    obs = as_tensor(torch_like, rng.random((1, 3, RED, RED)))
    with torch.no_grad():
        for _ in range(3):
            _, latent_mu, _ = vae(obs)
            action = controller(latent_mu, hidden[0])
            mus, sigmas, logpi, r, d, hidden = mdrnn_cell(action, latent_mu, hidden)
            obs = vae.decoder(mus[:, logpi.argmax(-1).item()])
            values += [action.sum().item(), r.item(), torch.sigmoid(d).item(), obs.mean().item()]
    return values
