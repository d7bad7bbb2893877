"""DCGAN-style training steps: a ConvTranspose2d generator and a Conv2d discriminator with
BatchNorm and LeakyReLU, two Adam optimizers, ``fake.detach()`` for the discriminator update,
``BCELoss`` against label tensors filled in place with ``fill_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

NZ, NGF, NDF = 4, 6, 6


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    generator = nn.Sequential(
        nn.ConvTranspose2d(NZ, NGF, 4, 1, 0, bias=False),  # 1x1 -> 4x4
        nn.BatchNorm2d(NGF),
        nn.ReLU(True),
        nn.ConvTranspose2d(NGF, 1, 4, 2, 1, bias=False),  # 4x4 -> 8x8
        nn.Tanh(),
    )
    discriminator = nn.Sequential(
        nn.Conv2d(1, NDF, 4, 2, 1, bias=False),  # 8x8 -> 4x4
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False),  # 4x4 -> 2x2
        nn.BatchNorm2d(NDF * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 2, 1, 2, 1, 0, bias=False),  # 2x2 -> 1x1
        nn.Sigmoid(),
    )
    return nn.ModuleDict({"G": generator, "D": discriminator})


def run(torch_like: Any, init: dict | None) -> list[float]:
    rng = np.random.default_rng(3)
    nets = make_model(torch_like)
    load_numpy_state(torch_like, nets, init)
    net_g, net_d = nets["G"], nets["D"]
    criterion = torch_like.nn.BCELoss()
    opt_d = torch_like.optim.Adam(net_d.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_g = torch_like.optim.Adam(net_g.parameters(), lr=2e-3, betas=(0.5, 0.999))
    real_label, fake_label = 1.0, 0.0
    batch = 5

    values = []
    for _step in range(3):
        real = as_tensor(torch_like, np.tanh(rng.standard_normal((batch, 1, 8, 8))))
        noise = as_tensor(torch_like, rng.standard_normal((batch, NZ, 1, 1)))

        # (1) discriminator: maximise log D(x) + log(1 - D(G(z)))
        net_d.zero_grad()
        label = torch_like.full((batch,), real_label)
        output = net_d(real).view(-1)
        err_d_real = criterion(output, label)
        err_d_real.backward()
        d_x = output.mean().item()
        fake = net_g(noise)
        label.fill_(fake_label)
        output = net_d(fake.detach()).view(-1)
        err_d_fake = criterion(output, label)
        err_d_fake.backward()
        err_d = err_d_real + err_d_fake
        opt_d.step()

        # (2) generator: maximise log D(G(z))
        net_g.zero_grad()
        label.fill_(real_label)
        output = net_d(fake).view(-1)
        err_g = criterion(output, label)
        err_g.backward()
        opt_g.step()
        values += [err_d.item(), err_g.item(), d_x]
    return values
