"""1Konny/Beta-VAE (``model.py``, ``solver.py``), size-reduced: ``BetaVAE_H`` with its
``View(nn.Module)`` reshaping layer inside ``nn.Sequential`` encoder/decoder stacks
(``nn.Conv2d(nc, 32, 4, 2, 1)``, ``nn.ReLU(True)``, ``View((-1, 256*1*1))``,
``nn.Linear(256, z_dim*2)``; ``View((-1, 256, 1, 1))``, ``nn.ConvTranspose2d(256, 64, 4)``,
``nn.ConvTranspose2d(64, 64, 4, 2, 1)``), ``weight_init`` looping ``for block in
self._modules: for m in self._modules[block]: kaiming_init(m)`` with the deprecated
``init.kaiming_normal(m.weight)`` and ``m.bias.data.fill_(0)``; ``reparametrize`` as
``std = logvar.div(2).exp()``, ``eps = Variable(std.data.new(std.size()).normal_())``;
``forward``'s ``distributions[:, :self.z_dim]``/``[:, self.z_dim:]`` split;
``reconstruction_loss`` with ``F.binary_cross_entropy_with_logits(x_recon, x,
size_average=False).div(batch_size)`` and the gaussian branch ``F.mse_loss(F.sigmoid(x_recon),
x, size_average=False)``; ``kl_divergence`` (``mu.data.ndimension() == 4``,
``klds = -0.5*(1 + logvar - mu.pow(2) - logvar.exp())``, ``klds.sum(1).mean(0, True)``,
``klds.mean(0)``, ``klds.mean(1).mean(0, True)``); the Burgess et al. capacity objective 'B'
(``self.C_max = Variable(torch.FloatTensor([args.C_max]))``, ``C = torch.clamp(
self.C_max/self.C_stop_iter*self.global_iter, 0, self.C_max.data[0])``, ``recon_loss +
self.gamma*(total_kld-C).abs()``) and objective 'H' (``recon_loss + self.beta*total_kld``);
``optim.Adam(self.net.parameters(), lr=self.lr, betas=(self.beta1, self.beta2))``.

Changed: 64x64 images -> 16x16 with 1 channel, channels 32/64/256 -> 4/8/16, z_dim 10 -> 3,
1.5e6 iterations -> 4 per objective on NumPy batches; the deprecation warnings of
``kaiming_normal``, ``size_average`` and ``F.sigmoid`` are caught as a script would see them.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

Z_DIM = 3


def _quiet() -> warnings.catch_warnings:
    w = warnings.catch_warnings()
    w.__enter__()
    warnings.simplefilter("ignore", UserWarning)
    warnings.simplefilter("ignore", FutureWarning)
    return w


def make_model(torch_like: Any) -> Any:
    nn, init = torch_like.nn, torch_like.nn.init

    def kaiming_init(m: Any) -> None:
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            init.kaiming_normal(m.weight)
            if m.bias is not None:
                m.bias.data.fill_(0)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.weight.data.fill_(1)
            if m.bias is not None:
                m.bias.data.fill_(0)

    class View(nn.Module):
        def __init__(self, size: tuple) -> None:
            super(View, self).__init__()  # noqa: UP008
            self.size = size

        def forward(self, tensor: Any) -> Any:
            return tensor.view(self.size)

    class BetaVAE_H(nn.Module):  # noqa: N801 (as in the repository)
        """Model proposed in original beta-VAE paper(Higgins et al, ICLR, 2017)."""

        def __init__(self, z_dim: int = 10, nc: int = 3) -> None:
            super(BetaVAE_H, self).__init__()  # noqa: UP008
            self.z_dim = z_dim
            self.nc = nc
            self.encoder = nn.Sequential(
                nn.Conv2d(nc, 4, 4, 2, 1),  # B,  4,  8,  8
                nn.ReLU(True),
                nn.Conv2d(4, 8, 4, 2, 1),  # B,  8,  4,  4
                nn.ReLU(True),
                nn.Conv2d(8, 16, 4, 1),  # B, 16,  1,  1
                nn.ReLU(True),
                View((-1, 16 * 1 * 1)),  # B, 16
                nn.Linear(16, z_dim * 2),  # B, z_dim*2
            )
            self.decoder = nn.Sequential(
                nn.Linear(z_dim, 16),  # B, 16
                View((-1, 16, 1, 1)),  # B, 16,  1,  1
                nn.ReLU(True),
                nn.ConvTranspose2d(16, 8, 4),  # B,  8,  4,  4
                nn.ReLU(True),
                nn.ConvTranspose2d(8, 4, 4, 2, 1),  # B,  4,  8,  8
                nn.ReLU(True),
                nn.ConvTranspose2d(4, nc, 4, 2, 1),  # B, nc, 16, 16
            )
            self.weight_init()

        def weight_init(self) -> None:
            for block in self._modules:
                for m in self._modules[block]:
                    kaiming_init(m)

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            distributions = self._encode(x)
            mu = distributions[:, : self.z_dim]
            logvar = distributions[:, self.z_dim :]
            z = reparametrize(torch_like, mu, logvar)
            x_recon = self._decode(z)
            return x_recon, mu, logvar

        def _encode(self, x: Any) -> Any:
            return self.encoder(x)

        def _decode(self, z: Any) -> Any:
            return self.decoder(z)

    w = _quiet()
    try:
        return BetaVAE_H(Z_DIM, 1)
    finally:
        w.__exit__(None, None, None)


def reparametrize(torch: Any, mu: Any, logvar: Any) -> Any:
    Variable = torch.autograd.Variable
    std = logvar.div(2).exp()
    eps = Variable(std.data.new(std.size()).normal_())
    return mu + std * eps


def reconstruction_loss(F: Any, x: Any, x_recon: Any, distribution: str) -> Any:
    batch_size = x.size(0)
    assert batch_size != 0
    if distribution == "bernoulli":
        recon_loss = F.binary_cross_entropy_with_logits(x_recon, x, size_average=False).div(
            batch_size
        )
    elif distribution == "gaussian":
        x_recon = F.sigmoid(x_recon)
        recon_loss = F.mse_loss(x_recon, x, size_average=False).div(batch_size)
    else:
        recon_loss = None
    return recon_loss


def kl_divergence(mu: Any, logvar: Any) -> tuple[Any, Any, Any]:
    batch_size = mu.size(0)
    assert batch_size != 0
    if mu.data.ndimension() == 4:
        mu = mu.view(mu.size(0), mu.size(1))
    if logvar.data.ndimension() == 4:
        logvar = logvar.view(logvar.size(0), logvar.size(1))

    klds = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())
    total_kld = klds.sum(1).mean(0, True)
    dimension_wise_kld = klds.mean(0)
    mean_kld = klds.mean(1).mean(0, True)
    return total_kld, dimension_wise_kld, mean_kld


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    Variable = torch.autograd.Variable
    rng = np.random.default_rng(11)
    torch.manual_seed(5)
    values: list[float] = []
    for objective, decoder_dist in (("B", "bernoulli"), ("H", "gaussian")):
        net = make_model(torch_like)
        load_numpy_state(torch_like, net, init)
        optim = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999))
        C_max = Variable(torch.FloatTensor([20.0]))
        C_stop_iter, gamma, beta = 3, 100.0, 4.0
        global_iter = 0
        w = _quiet()
        try:
            for _ in range(4):
                global_iter += 1
                x = Variable(as_tensor(torch, (rng.random((3, 1, 16, 16)) < 0.3) * 1.0))
                x_recon, mu, logvar = net(x)
                recon_loss = reconstruction_loss(F, x, x_recon, decoder_dist)
                total_kld, dim_wise_kld, mean_kld = kl_divergence(mu, logvar)
                if objective == "H":
                    beta_vae_loss = recon_loss + beta * total_kld
                else:
                    C = torch.clamp(C_max / C_stop_iter * global_iter, 0, C_max.data[0])
                    beta_vae_loss = recon_loss + gamma * (total_kld - C).abs()
                optim.zero_grad()
                beta_vae_loss.backward()
                optim.step()
                values += [recon_loss.item(), total_kld.item(), float(dim_wise_kld.sum())]
                values += [mean_kld.item(), beta_vae_loss.item()]
        finally:
            w.__exit__(None, None, None)
    return values
