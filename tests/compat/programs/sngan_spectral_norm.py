"""christiancosgrove/pytorch-spectral-normalization-gan (``model.py``, ``main.py``), the
reference SN-GAN of Miyato et al. in PyTorch, in its common modern rewrite where the
repository's own ``SpectralNorm`` wrapper becomes ``torch.nn.utils.parametrizations.
spectral_norm``, size-reduced: the DCGAN-style ``Generator`` (``nn.ConvTranspose2d`` with
``padding=(1,1)``, ``BatchNorm2d``, ``ReLU``, ``Tanh``; ``self.model(z.view(-1, self.z_dim, 1,
1))``) and the ``Discriminator`` whose every ``Conv2d`` and the final ``Linear`` are spectrally
normalised (``nn.LeakyReLU(leak)(self.conv1(m))`` built inline, ``m.view(-1, w_g * w_g *
512)``); ``main.py``'s ``optim.Adam(filter(lambda p: p.requires_grad,
discriminator.parameters()), lr=args.lr, betas=(0.0, 0.9))``, ``ExponentialLR(gamma=0.99)``,
``disc_iters`` discriminator updates per generator update and all three ``--loss`` choices:
hinge (``nn.ReLU()(1.0 - discriminator(data)).mean() + ...``), wasserstein and the
``nn.BCEWithLogitsLoss()`` one against ``torch.ones(args.batch_size, 1)``; the fixed-noise
samples of ``evaluate`` in ``eval()`` mode. Added: the generator's last layer under
``torch.nn.utils.parametrizations.weight_norm`` (the other normalisation GAN code applies), the
power-iteration vectors ``parametrizations.weight.0._u`` read back from the state dict, and
sampling under ``torch.nn.utils.parametrize.cached()``.

Changed: CIFAR-10 is 6 NumPy images of 8x8 (the short last batch is skipped, as ``main.py``
does); Z_dim 128 -> 6, the 64..512 channels -> 4..16,
``w_g`` 4 -> 2; ``disc_iters`` 5 -> 2; the ``torch.randn(args.batch_size, Z_dim)`` noise is
NumPy's (the two frameworks' generators differ); the ``Variable(...cuda())`` wrappers are
dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

channels = 3
leak = 0.1
w_g = 2
Z_dim = 6
BATCH = 4


def _classes(torch_like: Any) -> tuple[type, type]:
    nn = torch_like.nn
    spectral_norm = torch_like.nn.utils.parametrizations.spectral_norm
    weight_norm = torch_like.nn.utils.parametrizations.weight_norm

    class Generator(nn.Module):
        def __init__(self, z_dim: int) -> None:
            super(Generator, self).__init__()  # noqa: UP008 (as in the repository)
            self.z_dim = z_dim

            self.model = nn.Sequential(
                nn.ConvTranspose2d(z_dim, 16, 4, stride=1),
                nn.BatchNorm2d(16),
                nn.ReLU(),
                nn.ConvTranspose2d(16, 8, 4, stride=2, padding=(1, 1)),
                nn.BatchNorm2d(8),
                nn.ReLU(),
                weight_norm(nn.ConvTranspose2d(8, channels, 3, stride=1, padding=(1, 1))),
                nn.Tanh(),
            )

        def forward(self, z: Any) -> Any:
            return self.model(z.view(-1, self.z_dim, 1, 1))

    class Discriminator(nn.Module):
        def __init__(self) -> None:
            super(Discriminator, self).__init__()  # noqa: UP008

            self.conv1 = spectral_norm(nn.Conv2d(channels, 4, 3, stride=1, padding=(1, 1)))
            self.conv2 = spectral_norm(nn.Conv2d(4, 4, 4, stride=2, padding=(1, 1)))
            self.conv3 = spectral_norm(nn.Conv2d(4, 8, 3, stride=1, padding=(1, 1)))
            self.conv4 = spectral_norm(nn.Conv2d(8, 8, 4, stride=2, padding=(1, 1)))
            self.conv5 = spectral_norm(nn.Conv2d(8, 16, 3, stride=1, padding=(1, 1)))

            self.fc = spectral_norm(nn.Linear(w_g * w_g * 16, 1))

        def forward(self, x: Any) -> Any:
            m = x
            m = nn.LeakyReLU(leak)(self.conv1(m))
            m = nn.LeakyReLU(leak)(self.conv2(m))
            m = nn.LeakyReLU(leak)(self.conv3(m))
            m = nn.LeakyReLU(leak)(self.conv4(m))
            m = nn.LeakyReLU(leak)(self.conv5(m))

            return self.fc(m.view(-1, w_g * w_g * 16))

    return Generator, Discriminator


def make_model(torch_like: Any) -> Any:
    Generator, Discriminator = _classes(torch_like)
    return torch_like.nn.ModuleDict(
        {"generator": Generator(Z_dim), "discriminator": Discriminator()}
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(8)
    images = np.tanh(rng.standard_normal((6, channels, 8, 8)))
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(
            as_tensor(torch_like, images), as_tensor(torch_like, np.zeros(6, dtype=np.int64))
        ),
        batch_size=BATCH,
        shuffle=False,
    )
    fixed_z = as_tensor(torch_like, rng.standard_normal((2, Z_dim)))
    values: list[float] = []

    for loss_kind in ("hinge", "wasserstein", "bce"):
        values += _main(torch_like, init, loss_kind, loader, fixed_z, rng)
    return values


def _main(
    torch_like: Any,
    init: dict | None,
    loss_kind: str,
    loader: Any,
    fixed_z: Any,
    rng: np.random.Generator,
) -> list[float]:
    """``main.py`` for one ``--loss`` (its globals are this function's locals)."""
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    values: list[float] = []
    models = make_model(torch_like)
    if init is not None:
        models.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    discriminator, generator = models["discriminator"], models["generator"]

    disc_iters = 2
    lr = 2e-3
    # because the spectral normalization module creates parameters that don't require
    # gradients (u and v), we don't want to optimize these using sgd. We only let the
    # optimizer operate on parameters that _do_ require gradients
    optim_disc = optim.Adam(
        filter(lambda p: p.requires_grad, discriminator.parameters()), lr=lr, betas=(0.0, 0.9)
    )
    optim_gen = optim.Adam(generator.parameters(), lr=lr, betas=(0.0, 0.9))

    # use an exponentially decaying learning rate
    scheduler_d = optim.lr_scheduler.ExponentialLR(optim_disc, gamma=0.99)
    scheduler_g = optim.lr_scheduler.ExponentialLR(optim_gen, gamma=0.99)

    def train(epoch: int) -> None:
        for _batch_idx, (data, _target) in enumerate(loader):
            if data.size()[0] != BATCH:
                continue

            # update discriminator
            for _ in range(disc_iters):
                z = as_tensor(torch_like, rng.standard_normal((BATCH, Z_dim)))
                optim_disc.zero_grad()
                optim_gen.zero_grad()
                if loss_kind == "hinge":
                    disc_loss = (
                        nn.ReLU()(1.0 - discriminator(data)).mean()
                        + nn.ReLU()(1.0 + discriminator(generator(z))).mean()
                    )
                elif loss_kind == "wasserstein":
                    disc_loss = -discriminator(data).mean() + discriminator(generator(z)).mean()
                else:
                    disc_loss = nn.BCEWithLogitsLoss()(
                        discriminator(data), torch.ones(BATCH, 1)
                    ) + nn.BCEWithLogitsLoss()(discriminator(generator(z)), torch.zeros(BATCH, 1))
                disc_loss.backward()
                optim_disc.step()

            z = as_tensor(torch_like, rng.standard_normal((BATCH, Z_dim)))

            # update generator
            optim_disc.zero_grad()
            optim_gen.zero_grad()
            if loss_kind == "hinge" or loss_kind == "wasserstein":
                gen_loss = -discriminator(generator(z)).mean()
            else:
                gen_loss = nn.BCEWithLogitsLoss()(discriminator(generator(z)), torch.ones(BATCH, 1))
            gen_loss.backward()
            optim_gen.step()

            values.extend([disc_loss.item(), gen_loss.item()])
        scheduler_d.step()
        scheduler_g.step()

    def evaluate(epoch: int) -> None:
        generator.eval()
        discriminator.eval()
        with torch.no_grad(), torch.nn.utils.parametrize.cached():
            samples = generator(fixed_z)
            scores = discriminator(samples)
        values.extend(samples.flatten()[:6].tolist() + scores.flatten().tolist())
        generator.train()
        discriminator.train()

    for epoch in range(2):
        train(epoch)
        evaluate(epoch)
    state = discriminator.state_dict()
    values += state["conv2.parametrizations.weight.0._u"].tolist()
    values.append(optim_disc.param_groups[0]["lr"])
    values.append(float(len(optim_disc.param_groups[0]["params"])))
    return values
