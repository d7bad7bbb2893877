"""ESRGAN's generator and losses as xinntao's ESRGAN / BasicSR (``RRDBNet_arch.py``,
``archs/rrdbnet_arch.py``, ``models/esrgan_model.py``) and eriklindernoren's PyTorch-GAN port
write them, size-reduced.

The idioms: ``ResidualDenseBlock_5C`` (five ``nn.Conv2d`` whose inputs grow by ``torch.cat((x,
x1, ...), 1)`` with ``gc`` channels each, ``nn.LeakyReLU(negative_slope=0.2, inplace=True)``,
``return x5 * 0.2 + x``), initialised by BasicSR's ``default_init_weights`` (``init.
kaiming_normal_(m.weight, **kwargs)``, ``m.weight.data *= scale`` with ``scale=0.1``,
``m.bias.data.fill_(0)``); ``RRDB`` (three dense blocks, ``out * 0.2 + x``); ``RRDBNet``
(``conv_first``, ``make_layer(RRDB, nb)`` as ``nn.Sequential(*layers)``, ``trunk_conv``,
``fea = fea + trunk``, the x4 upsampling as two ``F.interpolate(fea, scale_factor=2,
mode='nearest')`` + conv + LeakyReLU, ``conv_last(self.lrelu(self.HRconv(fea)))``); the
sub-pixel variant (``nn.Conv2d(nf, nf * 4, 3, 1, 1)`` + ``nn.PixelShuffle(2)``) of the SRResNet
family; a VGG-style discriminator (strided convs, ``nn.BatchNorm2d``, ``nn.LeakyReLU(0.2)``,
``nn.AdaptiveAvgPool2d(1)``, ``nn.Linear``); the relativistic average GAN losses with
``nn.BCEWithLogitsLoss`` (D: ``(cri_gan(real - fake.mean(), True) + cri_gan(fake - real.mean(),
False)) / 2`` on ``fake.detach()``; G: ``(cri_gan(real.detach() - fake.mean(), False) +
cri_gan(fake - real.detach().mean(), True)) / 2``, BasicSR's ``GANLoss`` building the target
with ``input.new_ones(input.size()) * self.real_label_val``); the perceptual loss through a
frozen feature extractor (``for p in self.vgg.parameters(): p.requires_grad_(False)``,
``self.vgg.eval()``, ImageNet mean/std buffers ``register_buffer``ed and applied as ``(x -
self.mean) / self.std``, ``nn.L1Loss`` on the features, weight 1); the pixel ``nn.L1Loss``
(weight 1e-2) and the GAN weight 5e-3; ``Adam(lr=1e-4, betas=(0.9, 0.99))`` for G and D with
``set_requires_grad(self.net_d, False)`` around the generator step (BasicSR's
``optimize_parameters``), and the generator's output clamped to ``[0, 1]`` for the PSNR
``10 * torch.log10(1 / mse)``.

Changed: a 2-block, 8-channel, 4-growth RRDBNet on 4x4 inputs; the frozen extractor is a tiny
random conv stack instead of VGG19 (no pretrained weights).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NF, GC, NB, LR_SIZE, BATCH, STEPS = 8, 4, 2, 4, 2, 2
PIX_W, PERC_W, GAN_W = 1e-2, 1.0, 5e-3


def _classes(torch_like: Any) -> dict:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    init = torch_like.nn.init

    def default_init_weights(module_list: Any, scale: float = 1.0, **kwargs: Any) -> None:
        if not isinstance(module_list, list):
            module_list = [module_list]
        for module in module_list:
            for m in module.modules():
                if isinstance(m, nn.Conv2d):
                    init.kaiming_normal_(m.weight, **kwargs)
                    m.weight.data *= scale
                    if m.bias is not None:
                        m.bias.data.fill_(0)

    def make_layer(block: Any, n_layers: int, **kwarg: Any) -> Any:
        layers = [block(**kwarg) for _ in range(n_layers)]
        return nn.Sequential(*layers)

    class ResidualDenseBlock_5C(nn.Module):
        def __init__(self, nf: int = 64, gc: int = 32, bias: bool = True) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1, bias=bias)
            self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1, bias=bias)
            self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1, bias=bias)
            self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1, bias=bias)
            self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1, bias=bias)
            self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
            default_init_weights([self.conv1, self.conv2, self.conv3, self.conv4, self.conv5], 0.1)

        def forward(self, x: Any) -> Any:
            x1 = self.lrelu(self.conv1(x))
            x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
            x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
            x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
            x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
            return x5 * 0.2 + x

    class RRDB(nn.Module):
        def __init__(self, nf: int, gc: int = 32) -> None:
            super().__init__()
            self.RDB1 = ResidualDenseBlock_5C(nf, gc)
            self.RDB2 = ResidualDenseBlock_5C(nf, gc)
            self.RDB3 = ResidualDenseBlock_5C(nf, gc)

        def forward(self, x: Any) -> Any:
            out = self.RDB1(x)
            out = self.RDB2(out)
            out = self.RDB3(out)
            return out * 0.2 + x

    class RRDBNet(nn.Module):
        def __init__(self, in_nc: int, out_nc: int, nf: int, nb: int, gc: int = 32) -> None:
            super().__init__()
            self.conv_first = nn.Conv2d(in_nc, nf, 3, 1, 1, bias=True)
            self.RRDB_trunk = make_layer(RRDB, nb, nf=nf, gc=gc)
            self.trunk_conv = nn.Conv2d(nf, nf, 3, 1, 1, bias=True)
            self.upconv1 = nn.Conv2d(nf, nf, 3, 1, 1, bias=True)
            self.upconv2 = nn.Conv2d(nf, nf, 3, 1, 1, bias=True)
            self.HRconv = nn.Conv2d(nf, nf, 3, 1, 1, bias=True)
            self.conv_last = nn.Conv2d(nf, out_nc, 3, 1, 1, bias=True)
            self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

        def forward(self, x: Any) -> Any:
            fea = self.conv_first(x)
            trunk = self.trunk_conv(self.RRDB_trunk(fea))
            fea = fea + trunk
            fea = self.lrelu(self.upconv1(F.interpolate(fea, scale_factor=2, mode="nearest")))
            fea = self.lrelu(self.upconv2(F.interpolate(fea, scale_factor=2, mode="nearest")))
            return self.conv_last(self.lrelu(self.HRconv(fea)))

    class PixelShuffleUpsampler(nn.Sequential):
        """SRResNet's x4 tail: (conv to 4 nf, PixelShuffle(2), LeakyReLU) twice."""

        def __init__(self, nf: int) -> None:
            m = []
            for _ in range(2):
                m += [nn.Conv2d(nf, nf * 4, 3, 1, 1), nn.PixelShuffle(2), nn.LeakyReLU(0.2)]
            super().__init__(*m)

    class Discriminator(nn.Module):
        def __init__(self, in_nc: int = 3, nf: int = 4) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(in_nc, nf, 3, 1, 1),
                nn.LeakyReLU(0.2, True),
                nn.Conv2d(nf, nf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(nf),
                nn.LeakyReLU(0.2, True),
                nn.Conv2d(nf, 2 * nf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(2 * nf),
                nn.LeakyReLU(0.2, True),
                nn.AdaptiveAvgPool2d(1),
            )
            self.classifier = nn.Linear(2 * nf, 1)

        def forward(self, x: Any) -> Any:
            return self.classifier(self.features(x).flatten(1))

    class FeatureExtractor(nn.Module):
        """A frozen stand-in for VGG19's conv5_4 features, ImageNet-normalised input."""

        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 6, 3, 1, 1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
                nn.Conv2d(6, 6, 3, 1, 1), nn.ReLU(inplace=True),
            )  # fmt: skip
            mean = torch.Tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
            std = torch.Tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
            self.register_buffer("mean", mean)
            self.register_buffer("std", std)
            for p in self.features.parameters():
                p.requires_grad_(False)

        def forward(self, x: Any) -> Any:
            return self.features((x - self.mean) / self.std)

    class GANLoss(nn.Module):
        def __init__(self, real_label_val: float = 1.0, fake_label_val: float = 0.0) -> None:
            super().__init__()
            self.real_label_val, self.fake_label_val = real_label_val, fake_label_val
            self.loss = nn.BCEWithLogitsLoss()

        def get_target_label(self, input: Any, target_is_real: bool) -> Any:
            target_val = self.real_label_val if target_is_real else self.fake_label_val
            return input.new_ones(input.size()) * target_val

        def forward(self, input: Any, target_is_real: bool) -> Any:
            return self.loss(input, self.get_target_label(input, target_is_real))

    return {
        "RRDBNet": RRDBNet,
        "PixelShuffleUpsampler": PixelShuffleUpsampler,
        "Discriminator": Discriminator,
        "FeatureExtractor": FeatureExtractor,
        "GANLoss": GANLoss,
    }


def make_model(torch_like: Any) -> Any:
    """The four networks in one ``nn.ModuleDict`` (one state dict for the runner)."""
    c = _classes(torch_like)
    return torch_like.nn.ModuleDict(
        {
            "net_g": c["RRDBNet"](3, 3, NF, NB, gc=GC),
            "net_d": c["Discriminator"](),
            "vgg": c["FeatureExtractor"](),
            "upsampler": c["PixelShuffleUpsampler"](NF),
        }
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    nets = make_model(torch)
    load_numpy_state(torch, nets, init)
    net_g, net_d, vgg, upsampler = (nets[k] for k in ("net_g", "net_d", "vgg", "upsampler"))
    vgg.eval()
    rng = np.random.default_rng(2)
    hr = rng.uniform(0.0, 1.0, size=(BATCH, 3, 4 * LR_SIZE, 4 * LR_SIZE))
    lq = hr.reshape(BATCH, 3, LR_SIZE, 4, LR_SIZE, 4).mean(axis=(3, 5))  # 4x4 box downsample
    gt, lq = as_tensor(torch, hr), as_tensor(torch, lq)

    cri_pix = nn.L1Loss()
    cri_perceptual = nn.L1Loss()
    cri_gan = _classes(torch)["GANLoss"]()
    optimizer_g = torch.optim.Adam(net_g.parameters(), lr=1e-4, betas=(0.9, 0.99))
    optimizer_d = torch.optim.Adam(net_d.parameters(), lr=1e-4, betas=(0.9, 0.99))

    def set_requires_grad(net: Any, flag: bool) -> None:
        for p in net.parameters():
            p.requires_grad = flag

    values: list[float] = []
    for _step in range(STEPS):
        # optimize net_g
        set_requires_grad(net_d, False)
        optimizer_g.zero_grad()
        output = net_g(lq)
        l_g_pix = PIX_W * cri_pix(output, gt)
        l_g_percep = PERC_W * cri_perceptual(vgg(output), vgg(gt).detach())
        real_d_pred = net_d(gt).detach()
        fake_g_pred = net_d(output)
        l_g_real = cri_gan(real_d_pred - torch.mean(fake_g_pred), False)
        l_g_fake = cri_gan(fake_g_pred - torch.mean(real_d_pred), True)
        l_g_gan = GAN_W * (l_g_real + l_g_fake) / 2
        l_g_total = l_g_pix + l_g_percep + l_g_gan
        l_g_total.backward()
        optimizer_g.step()

        # optimize net_d
        set_requires_grad(net_d, True)
        optimizer_d.zero_grad()
        fake_d_pred = net_d(output).detach()
        real_d_pred = net_d(gt)
        l_d_real = cri_gan(real_d_pred - torch.mean(fake_d_pred), True) * 0.5
        l_d_real.backward()
        fake_d_pred = net_d(output.detach())
        l_d_fake = cri_gan(fake_d_pred - torch.mean(real_d_pred.detach()), False) * 0.5
        l_d_fake.backward()
        optimizer_d.step()

        with torch.no_grad():
            sr = output.clamp(0, 1)
            psnr = 10 * torch.log10(1.0 / F.mse_loss(sr, gt))
        first = net_g.RRDB_trunk[0].RDB1.conv1.weight
        values += [l_g_pix.item(), l_g_percep.item(), l_g_gan.item(), l_g_total.item()]
        values += [l_d_real.item(), l_d_fake.item(), psnr.item(), first.grad.norm().item()]
        values += [float(vgg.features[0].weight.grad is None), vgg.mean.sum().item()]

    # the sub-pixel tail next to the nearest-neighbour one, with its gradient
    fea = net_g.conv_first(lq)
    up = upsampler(fea)
    near = F.interpolate(F.interpolate(fea, scale_factor=2), scale_factor=2.0, mode="nearest")
    (up * near).mean().backward()
    values += [up.shape[-1], up.abs().sum().item(), net_g.conv_first.weight.grad.norm().item()]
    values += [upsampler[0].weight.grad.abs().sum().item()]
    return values
