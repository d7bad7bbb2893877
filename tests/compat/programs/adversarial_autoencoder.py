"""Makhzani et al. 2015 "Adversarial Autoencoders" as eriklindernoren/PyTorch-GAN
(``implementations/aae/aae.py``) writes it, size-reduced.

The idioms: ``Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor`` used three ways
(``Tensor(np.random.normal(0, 1, (mu.size(0), opt.latent_dim)))`` from a NumPy array,
``Tensor(imgs.shape[0], 1).fill_(1.0)`` from sizes, ``imgs.type(Tensor)``); ``Variable(...,
requires_grad=False)``; ``reparameterization`` (``torch.exp(logvar / 2)``, ``sampled_z * std +
mu``); an ``Encoder`` of ``nn.Linear(int(np.prod(img_shape)), 512)``, ``nn.LeakyReLU(0.2,
inplace=True)`` and ``nn.BatchNorm1d`` over ``img.view(img.shape[0], -1)``; a ``Decoder`` ending
in ``nn.Tanh()`` and ``img_flat.view(img_flat.shape[0], *img_shape)``; the latent
``Discriminator`` (``nn.Sigmoid()``); ``torch.optim.Adam(itertools.chain(encoder.parameters(),
decoder.parameters()), lr=opt.lr, betas=(opt.b1, opt.b2))``; the generator loss ``0.001 *
adversarial_loss(discriminator(encoded_imgs), valid) + 0.999 * pixelwise_loss(decoded_imgs,
real_imgs)`` with ``BCELoss``/``L1Loss``; the discriminator on prior samples vs
``encoded_imgs.detach()`` (``0.5 * (real_loss + fake_loss)``); and ``sample_image``'s decoder
grid, normalised as ``save_image(..., normalize=True)`` does (``img.clamp_(min=low,
max=high)``, ``img.sub_(low).div_(max(high - low, 1e-5))``).

Changed: MNIST 28x28 -> 1x6x6 NumPy images scaled to [-1, 1], widths 512 -> 8, latent 10 -> 3;
``np.random.normal`` is a seeded generator's ``normal``; 3 steps of batch 6, compared to 1e-3
(see ``RTOL``).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
# The Linear biases just before BatchNorm1d have a true gradient of 0; what reaches Adam is
# float32 rounding noise, which Adam turns into steps of +-lr with the noise's sign, so the two
# runs part at ~1e-4 from the second step (in float64 they agree to 1e-12, the same effect).
RTOL, ATOL = 1e-3, 1e-5
IMG_SHAPE, LATENT_DIM, WIDTH, LR, B1, B2 = (1, 6, 6), 3, 8, 2e-3, 0.5, 0.999


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    img_shape = IMG_SHAPE

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = nn.Sequential(
                nn.Linear(int(np.prod(img_shape)), WIDTH),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(WIDTH, WIDTH),
                nn.BatchNorm1d(WIDTH),
                nn.LeakyReLU(0.2, inplace=True),
            )
            self.mu = nn.Linear(WIDTH, LATENT_DIM)
            self.logvar = nn.Linear(WIDTH, LATENT_DIM)

        def forward(self, img: Any, sampled_z: Any) -> Any:
            img_flat = img.view(img.shape[0], -1)
            x = self.model(img_flat)
            mu = self.mu(x)
            logvar = self.logvar(x)
            std = torch.exp(logvar / 2)
            return sampled_z * std + mu  # reparameterization(mu, logvar)

    class Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = nn.Sequential(
                nn.Linear(LATENT_DIM, WIDTH),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(WIDTH, WIDTH),
                nn.BatchNorm1d(WIDTH),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(WIDTH, int(np.prod(img_shape))),
                nn.Tanh(),
            )

        def forward(self, z: Any) -> Any:
            img_flat = self.model(z)
            img = img_flat.view(img_flat.shape[0], *img_shape)
            return img

    class Discriminator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = nn.Sequential(
                nn.Linear(LATENT_DIM, WIDTH),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(WIDTH, WIDTH // 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(WIDTH // 2, 1),
                nn.Sigmoid(),
            )

        def forward(self, z: Any) -> Any:
            validity = self.model(z)
            return validity

    class AAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = Encoder()
            self.decoder = Decoder()
            self.discriminator = Discriminator()

    return AAE()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    Variable = torch_like.autograd.Variable
    np_random = np.random.default_rng(45)
    aae = make_model(torch_like)
    load_numpy_state(torch_like, aae, init)
    encoder, decoder, discriminator = aae.encoder, aae.decoder, aae.discriminator
    adversarial_loss = torch.nn.BCELoss()
    pixelwise_loss = torch.nn.L1Loss()
    optimizer_G = torch.optim.Adam(
        itertools.chain(encoder.parameters(), decoder.parameters()), lr=LR, betas=(B1, B2)
    )
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=LR, betas=(B1, B2))
    cuda = False
    Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor
    protos = np_random.random((3, *IMG_SHAPE))
    values: list[float] = []
    for _i in range(3):
        raw = protos[np_random.integers(0, 3, 6)] + 0.1 * np_random.standard_normal((6, *IMG_SHAPE))
        imgs = torch.from_numpy(np.clip(raw, 0, 1) * 2 - 1)  # float64, as a loader may give
        # Adversarial ground truths
        valid = Variable(Tensor(imgs.shape[0], 1).fill_(1.0), requires_grad=False)
        fake = Variable(Tensor(imgs.shape[0], 1).fill_(0.0), requires_grad=False)
        # Configure input
        real_imgs = Variable(imgs.type(Tensor))
        # Train Generator
        optimizer_G.zero_grad()
        sampled_z = Variable(Tensor(np_random.normal(0, 1, (imgs.shape[0], LATENT_DIM))))
        encoded_imgs = encoder(real_imgs, sampled_z)
        decoded_imgs = decoder(encoded_imgs)
        # Loss measures generator's ability to fool the discriminator
        g_loss = 0.001 * adversarial_loss(
            discriminator(encoded_imgs), valid
        ) + 0.999 * pixelwise_loss(decoded_imgs, real_imgs)
        g_loss.backward()
        optimizer_G.step()
        # Train Discriminator
        optimizer_D.zero_grad()
        # Sample noise as discriminator ground truth
        z = Variable(Tensor(np_random.normal(0, 1, (imgs.shape[0], LATENT_DIM))))
        # Measure discriminator's ability to classify real from generated samples
        real_loss = adversarial_loss(discriminator(z), valid)
        fake_loss = adversarial_loss(discriminator(encoded_imgs.detach()), fake)
        d_loss = 0.5 * (real_loss + fake_loss)
        d_loss.backward()
        optimizer_D.step()
        values += [d_loss.item(), g_loss.item(), real_imgs.type() == "torch.FloatTensor"]
    # sample_image(n_row=2): the decoder's grid, as save_image(normalize=True) scales it
    decoder.eval()
    n_row = 2
    z = Variable(Tensor(np_random.normal(0, 1, (n_row**2, LATENT_DIM))))
    gen_imgs = decoder(z)
    img = gen_imgs.data.clone()
    low, high = float(img.min()), float(img.max())
    img.clamp_(min=low, max=high)
    img.sub_(low).div_(max(high - low, 1e-5))
    values += img.view(n_row**2, -1).mean(1).tolist()
    return values
