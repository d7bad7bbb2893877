"""Chen et al. 2016 "InfoGAN" as Natsu6767/InfoGAN-PyTorch (``models/mnist_model.py``,
``utils.py``, ``train.py``) writes it, size-reduced.

The idioms: ``weights_init`` applied with ``.apply`` (``classname = m.__class__.__name__``,
``classname.find('Conv') != -1`` -> ``nn.init.normal_(m.weight.data, 0.0, 0.02)``, BatchNorm ->
``normal_(1.0, 0.02)``/``constant_(m.bias.data, 0)``); a ``ConvTranspose2d``/``BatchNorm2d``
generator ending in ``torch.sigmoid``; a shared discriminator trunk with ``F.leaky_relu(...,
0.1, inplace=True)``, a ``DHead`` (``torch.sigmoid(self.conv(x))``) and a ``QHead`` returning
``disc_logits = self.conv_disc(x).squeeze()``, ``mu = self.conv_mu(x).squeeze()``, ``var =
torch.exp(self.conv_var(x).squeeze())``; ``NormalNLLLoss`` (``-0.5 * (var.mul(2 * np.pi) +
1e-6).log() - (x - mu).pow(2).div(var.mul(2.0) + 1e-6)``, ``-(logli.sum(1).mean())``);
``noise_sample`` building the categorical codes with ``dis_c[torch.arange(0, batch_size), i,
idx[i]] = 1.0`` and ``dis_c.view(batch_size, -1, 1, 1)``, the continuous codes ``* 2 - 1`` and
``torch.cat((z, dis_c, con_c), dim=1)``; two Adam optimizers over parameter-group lists
(``[{'params': discriminator.parameters()}, {'params': netD.parameters()}]``, ``betas=(0.5,
0.999)``); ``label = torch.full((b_size, ), real_label)``, ``label.fill_(fake_label)``,
``netD(discriminator(fake_data.detach())).view(-1)``; the mutual-information loss
``criterionQ_dis(q_logits[:, j*10 : j*10 + 10], target[j])`` over ``target =
torch.LongTensor(idx)`` plus ``criterionQ_con(noise[:, nz + n_dis*dim:].view(-1, n_con), q_mu,
q_var) * 0.1``; and the fixed-noise grid (``torch.linspace(-2, 2, 10).view(-1, 1)``,
``np.repeat``/``np.tile`` of code indices) sampled under ``torch.no_grad()``.

Changed: 28x28 MNIST -> 8x8 NumPy images, widths 1024..64 -> 16/8, 62 noise dims and 10-way
codes -> 4 noise dims, two 3-way categorical and two continuous codes; ``torch.randn``/
``np.random`` draws come from one seeded NumPy generator; 3 training steps of batch 6.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NUM_Z, NUM_DIS_C, DIS_C_DIM, NUM_CON_C, BATCH = 4, 2, 3, 2, 6
N_NOISE = NUM_Z + NUM_DIS_C * DIS_C_DIM + NUM_CON_C


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class Generator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tconv1 = nn.ConvTranspose2d(N_NOISE, 16, 2, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.tconv2 = nn.ConvTranspose2d(16, 8, 4, 2, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(8)
            self.tconv3 = nn.ConvTranspose2d(8, 1, 4, 2, padding=1)

        def forward(self, x: Any) -> Any:
            x = F.relu(self.bn1(self.tconv1(x)))
            x = F.relu(self.bn2(self.tconv2(x)))
            return torch.sigmoid(self.tconv3(x))

    class Discriminator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 4, 2, 1)
            self.conv2 = nn.Conv2d(8, 16, 4, 2, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(16)

        def forward(self, x: Any) -> Any:
            x = F.leaky_relu(self.conv1(x), 0.1, inplace=True)
            return F.leaky_relu(self.bn2(self.conv2(x)), 0.1, inplace=True)

    class DHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(16, 1, 2)

        def forward(self, x: Any) -> Any:
            return torch.sigmoid(self.conv(x))

    class QHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(16, 16, 2, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.conv_disc = nn.Conv2d(16, NUM_DIS_C * DIS_C_DIM, 1)
            self.conv_mu = nn.Conv2d(16, NUM_CON_C, 1)
            self.conv_var = nn.Conv2d(16, NUM_CON_C, 1)

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            x = F.leaky_relu(self.bn1(self.conv1(x)), 0.1, inplace=True)
            disc_logits = self.conv_disc(x).squeeze()
            mu = self.conv_mu(x).squeeze()
            var = torch.exp(self.conv_var(x).squeeze())
            return disc_logits, mu, var

    def weights_init(m: Any) -> None:
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    class InfoGAN(nn.Module):
        """The four networks of ``train.py`` in one module (one state dict for the test)."""

        def __init__(self) -> None:
            super().__init__()
            self.netG = Generator()
            self.discriminator = Discriminator()
            self.netD = DHead()
            self.netQ = QHead()
            for net in (self.netG, self.discriminator, self.netD, self.netQ):
                net.apply(weights_init)

    return InfoGAN()


class NormalNLLLoss:
    """Calculate the negative log likelihood of normal distribution."""

    def __call__(self, x: Any, mu: Any, var: Any) -> Any:
        logli = -0.5 * (var.mul(2 * np.pi) + 1e-6).log() - (x - mu).pow(2).div(var.mul(2.0) + 1e-6)
        nll = -(logli.sum(1).mean())
        return nll


def noise_sample(torch: Any, rng: np.random.Generator, batch_size: int) -> tuple[Any, Any]:
    z = as_tensor(torch, rng.standard_normal((batch_size, NUM_Z, 1, 1)))
    idx = np.zeros((NUM_DIS_C, batch_size))
    dis_c = torch.zeros(batch_size, NUM_DIS_C, DIS_C_DIM)
    for i in range(NUM_DIS_C):
        idx[i] = rng.integers(DIS_C_DIM, size=batch_size)
        dis_c[torch.arange(0, batch_size), i, idx[i]] = 1.0
    dis_c = dis_c.view(batch_size, -1, 1, 1)
    con_c = as_tensor(torch, rng.random((batch_size, NUM_CON_C, 1, 1))) * 2 - 1
    noise = torch.cat((z, dis_c, con_c), dim=1)
    return noise, idx


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    rng = np.random.default_rng(35)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    netG, discriminator, netD, netQ = model.netG, model.discriminator, model.netD, model.netQ
    criterionD = nn.BCELoss()
    criterionQ_dis = nn.CrossEntropyLoss()
    criterionQ_con = NormalNLLLoss()
    optimD = optim.Adam(
        [{"params": discriminator.parameters()}, {"params": netD.parameters()}],
        lr=2e-3,
        betas=(0.5, 0.999),
    )
    optimG = optim.Adam(
        [{"params": netG.parameters()}, {"params": netQ.parameters()}], lr=1e-2, betas=(0.5, 0.999)
    )
    real_label, fake_label = 1, 0
    values: list[float] = []
    for _step in range(3):
        real_data = as_tensor(torch, rng.random((BATCH, 1, 8, 8))).float().double()
        b_size = real_data.size(0)
        # Updating discriminator and DHead
        optimD.zero_grad()
        label = torch.full((b_size,), real_label, dtype=torch.get_default_dtype())
        output1 = discriminator(real_data)
        probs_real = netD(output1).view(-1)
        loss_real = criterionD(probs_real, label)
        loss_real.backward()
        label.fill_(fake_label)
        noise, idx = noise_sample(torch, rng, b_size)
        fake_data = netG(noise)
        output2 = discriminator(fake_data.detach())
        probs_fake = netD(output2).view(-1)
        loss_fake = criterionD(probs_fake, label)
        loss_fake.backward()
        D_loss = loss_real + loss_fake
        optimD.step()
        # Updating Generator and QHead
        optimG.zero_grad()
        output = discriminator(fake_data)
        label.fill_(real_label)
        probs_fake = netD(output).view(-1)
        gen_loss = criterionD(probs_fake, label)
        q_logits, q_mu, q_var = netQ(output)
        target = torch.LongTensor(idx)
        dis_loss = 0
        for j in range(NUM_DIS_C):
            dis_loss += criterionQ_dis(
                q_logits[:, j * DIS_C_DIM : j * DIS_C_DIM + DIS_C_DIM], target[j]
            )
        con_loss = 0
        if NUM_CON_C != 0:
            con_loss = (
                criterionQ_con(
                    noise[:, NUM_Z + NUM_DIS_C * DIS_C_DIM :].view(-1, NUM_CON_C), q_mu, q_var
                )
                * 0.1
            )
        G_loss = gen_loss + dis_loss + con_loss
        G_loss.backward()
        optimG.step()
        values += [D_loss.item(), G_loss.item(), dis_loss.item(), con_loss.item()]
    # the fixed-noise grid of train.py: one categorical code swept, a continuous code varied
    z = as_tensor(torch, rng.standard_normal((DIS_C_DIM * 2, NUM_Z, 1, 1)))
    idx = np.repeat(np.arange(DIS_C_DIM), 2)
    dis_c = torch.zeros(DIS_C_DIM * 2, NUM_DIS_C, DIS_C_DIM)
    dis_c[torch.arange(0, DIS_C_DIM * 2), 0, idx] = 1.0
    dis_c = dis_c.view(DIS_C_DIM * 2, -1, 1, 1)
    c = torch.linspace(-2, 2, 2).view(-1, 1)
    c = c.repeat(DIS_C_DIM, 1).view(-1, 1, 1, 1)
    con_c = torch.cat((c, torch.zeros_like(c)), dim=1)
    fixed_noise = torch.cat((z, dis_c, con_c), dim=1)
    netG.eval()
    with torch.no_grad():
        gen_data = netG(fixed_noise).detach().cpu()
    values += gen_data.mean(dim=(1, 2, 3)).tolist() + [float(np.tile(idx, 2).sum())]
    return values
