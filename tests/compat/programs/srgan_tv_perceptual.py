"""leftthomas/SRGAN (``model.py``, ``loss.py``, ``train.py``) with Po-Hsun-Su/pytorch-ssim
(``pytorch_ssim/__init__.py``, which ``train.py`` imports), size-reduced: an SRGAN generator and
discriminator trained a few steps with the repository's perceptual + adversarial + TV loss.

The idioms kept: ``Generator`` (``upsample_block_num = int(math.log(scale_factor, 2))``, a 9x9
``nn.Conv2d`` + ``nn.PReLU()`` stem, ``ResidualBlock``s, ``block8 = [UpsampleBLock(64, 2) for _ in
range(upsample_block_num)]`` then ``block8.append(...)`` into ``nn.Sequential(*block8)``,
``self.block8(block1 + block7)``, ``(torch.tanh(block8) + 1) / 2``); ``UpsampleBLock``
(``in_channels * up_scale ** 2`` channels, ``nn.PixelShuffle(up_scale)``, ``nn.PReLU()``);
``Discriminator`` (strided ``Conv2d``/``BatchNorm2d``/``LeakyReLU(0.2)``,
``nn.AdaptiveAvgPool2d(1)``, 1x1 convs, ``torch.sigmoid(self.net(x).view(batch_size))``);
``GeneratorLoss`` (``nn.Sequential( *list(vgg.features)[:31]).eval()``, ``param.requires_grad =
False``, ``torch.mean(1 - out_labels)``, ``image_loss + 0.001 * adversarial_loss + 0.006 *
perception_loss + 2e-8 * tv_loss``); ``TVLoss`` (``torch.pow((x[:, :, 1:, :] - x[:, :, :h_x - 1,
:]), 2).sum()``, the static ``tensor_size``); ``train.py``'s step (``d_loss = 1 - real_out +
fake_out``, ``d_loss.backward(retain_graph=True)``, ``netG.zero_grad()``, the regenerated
``fake_img = netG(z)`` lines "added to prevent runtime error in Google Colab",
``running_results['g_loss'] += g_loss.item() * batch_size``), its validation (``batch_mse = ((sr -
hr) ** 2).data.mean()``, ``10 * log10((hr.max()**2) / (valing_results['mse'] /
valing_results['batch_sizes']))`` with ``math.log10`` of a tensor) and ``pytorch_ssim.ssim``
(``torch.Tensor([exp(-(x - window_size // 2) ** 2 / float(2 * sigma ** 2)) for x in
range(window_size)])``, ``_1D_window.mm(_1D_window.t()) .float().unsqueeze(0).unsqueeze(0)``,
``Variable(_2D_window.expand(channel, 1, window_size, window_size).contiguous())``,
``window.type_as(img1)``, grouped ``F.conv2d(img1, window, padding=window_size // 2,
groups=channel)``).

Changed: 64 channels -> 4, five residual blocks -> 2, the discriminator's 64..512 channels and
1024-wide 1x1 conv -> 4/8 and 8, VGG-16 ``features[:31]`` -> a frozen two-conv stack with shared
random weights (no download), 88x88 crops -> 8x8 high-resolution / 4x4 low-resolution random
images, scale 4 -> 2, 3 training steps; the three networks live in one ``nn.ModuleDict`` so both
runs start from the same weights.
"""

from __future__ import annotations

import math
from math import exp, log10
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

C = 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class ResidualBlock(nn.Module):
        def __init__(self, channels):  # noqa: ANN001
            super(ResidualBlock, self).__init__()  # noqa: UP008 (as in the repository)
            self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
            self.bn1 = nn.BatchNorm2d(channels)
            self.prelu = nn.PReLU()
            self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
            self.bn2 = nn.BatchNorm2d(channels)

        def forward(self, x: Any) -> Any:
            residual = self.conv1(x)
            residual = self.bn1(residual)
            residual = self.prelu(residual)
            residual = self.conv2(residual)
            residual = self.bn2(residual)

            return x + residual

    class UpsampleBLock(nn.Module):
        def __init__(self, in_channels, up_scale):  # noqa: ANN001
            super(UpsampleBLock, self).__init__()  # noqa: UP008
            self.conv = nn.Conv2d(in_channels, in_channels * up_scale**2, kernel_size=3,
                                  padding=1)  # fmt: skip
            self.pixel_shuffle = nn.PixelShuffle(up_scale)
            self.prelu = nn.PReLU()

        def forward(self, x: Any) -> Any:
            x = self.conv(x)
            x = self.pixel_shuffle(x)
            x = self.prelu(x)
            return x

    class Generator(nn.Module):
        def __init__(self, scale_factor):  # noqa: ANN001
            upsample_block_num = int(math.log(scale_factor, 2))

            super(Generator, self).__init__()  # noqa: UP008
            self.block1 = nn.Sequential(nn.Conv2d(3, C, kernel_size=9, padding=4), nn.PReLU())
            self.block2 = ResidualBlock(C)
            self.block3 = ResidualBlock(C)
            self.block7 = nn.Sequential(
                nn.Conv2d(C, C, kernel_size=3, padding=1), nn.BatchNorm2d(C)
            )
            block8 = [UpsampleBLock(C, 2) for _ in range(upsample_block_num)]
            block8.append(nn.Conv2d(C, 3, kernel_size=9, padding=4))
            self.block8 = nn.Sequential(*block8)

        def forward(self, x: Any) -> Any:
            block1 = self.block1(x)
            block2 = self.block2(block1)
            block3 = self.block3(block2)
            block7 = self.block7(block3)
            block8 = self.block8(block1 + block7)

            return (torch.tanh(block8) + 1) / 2

    class Discriminator(nn.Module):
        def __init__(self) -> None:
            super(Discriminator, self).__init__()  # noqa: UP008
            self.net = nn.Sequential(
                nn.Conv2d(3, C, kernel_size=3, padding=1),
                nn.LeakyReLU(0.2),
                nn.Conv2d(C, C, kernel_size=3, stride=2, padding=1),
                nn.BatchNorm2d(C),
                nn.LeakyReLU(0.2),
                nn.Conv2d(C, 2 * C, kernel_size=3, padding=1),
                nn.BatchNorm2d(2 * C),
                nn.LeakyReLU(0.2),
                nn.AdaptiveAvgPool2d(1),
                nn.Conv2d(2 * C, 8, kernel_size=1),
                nn.LeakyReLU(0.2),
                nn.Conv2d(8, 1, kernel_size=1),
            )

        def forward(self, x: Any) -> Any:
            batch_size = x.size(0)
            return torch.sigmoid(self.net(x).view(batch_size))

    features = nn.Sequential(
        nn.Conv2d(3, C, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(C, C, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=2, stride=2),
    )  # fmt: skip
    return nn.ModuleDict({"netG": Generator(2), "netD": Discriminator(), "vgg": features})


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    nn, F = torch.nn, torch.nn.functional
    Variable = torch.autograd.Variable

    class TVLoss(nn.Module):
        def __init__(self, tv_loss_weight=1):  # noqa: ANN001
            super(TVLoss, self).__init__()  # noqa: UP008
            self.tv_loss_weight = tv_loss_weight

        def forward(self, x: Any) -> Any:
            batch_size = x.size()[0]
            h_x = x.size()[2]
            w_x = x.size()[3]
            count_h = self.tensor_size(x[:, :, 1:, :])
            count_w = self.tensor_size(x[:, :, :, 1:])
            h_tv = torch.pow((x[:, :, 1:, :] - x[:, :, : h_x - 1, :]), 2).sum()
            w_tv = torch.pow((x[:, :, :, 1:] - x[:, :, :, : w_x - 1]), 2).sum()
            return self.tv_loss_weight * 2 * (h_tv / count_h + w_tv / count_w) / batch_size

        @staticmethod
        def tensor_size(t):  # noqa: ANN001, ANN205
            return t.size()[1] * t.size()[2] * t.size()[3]

    class GeneratorLoss(nn.Module):
        def __init__(self, vgg_features):  # noqa: ANN001
            super(GeneratorLoss, self).__init__()  # noqa: UP008
            loss_network = nn.Sequential(*list(vgg_features)[:31]).eval()
            for param in loss_network.parameters():
                param.requires_grad = False
            self.loss_network = loss_network
            self.mse_loss = nn.MSELoss()
            self.tv_loss = TVLoss()

        def forward(self, out_labels, out_images, target_images):  # noqa: ANN001, ANN201
            # Adversarial Loss
            adversarial_loss = torch.mean(1 - out_labels)
            # Perception Loss
            perception_loss = self.mse_loss(
                self.loss_network(out_images), self.loss_network(target_images)
            )
            # Image Loss
            image_loss = self.mse_loss(out_images, target_images)
            # TV Loss
            tv_loss = self.tv_loss(out_images)
            return image_loss + 0.001 * adversarial_loss + 0.006 * perception_loss + 2e-8 * tv_loss

    def gaussian(window_size, sigma):  # noqa: ANN001, ANN202
        gauss = torch.Tensor(
            [exp(-((x - window_size // 2) ** 2) / float(2 * sigma**2)) for x in range(window_size)]
        )
        return gauss / gauss.sum()

    def create_window(window_size, channel):  # noqa: ANN001, ANN202
        _1D_window = gaussian(window_size, 1.5).unsqueeze(1)
        _2D_window = _1D_window.mm(_1D_window.t()).float().unsqueeze(0).unsqueeze(0)
        window = Variable(_2D_window.expand(channel, 1, window_size, window_size).contiguous())
        return window

    def _ssim(img1, img2, window, window_size, channel, size_average=True):  # noqa: ANN001, ANN202
        mu1 = F.conv2d(img1, window, padding=window_size // 2, groups=channel)
        mu2 = F.conv2d(img2, window, padding=window_size // 2, groups=channel)

        mu1_sq = mu1.pow(2)
        mu2_sq = mu2.pow(2)
        mu1_mu2 = mu1 * mu2

        sigma1_sq = F.conv2d(img1 * img1, window, padding=window_size // 2, groups=channel) - mu1_sq
        sigma2_sq = F.conv2d(img2 * img2, window, padding=window_size // 2, groups=channel) - mu2_sq
        sigma12 = F.conv2d(img1 * img2, window, padding=window_size // 2, groups=channel) - mu1_mu2

        C1 = 0.01**2
        C2 = 0.03**2

        ssim_map = ((2 * mu1_mu2 + C1) * (2 * sigma12 + C2)) / (
            (mu1_sq + mu2_sq + C1) * (sigma1_sq + sigma2_sq + C2)
        )

        if size_average:
            return ssim_map.mean()
        else:
            return ssim_map.mean(1).mean(1).mean(1)

    def ssim(img1, img2, window_size=11, size_average=True):  # noqa: ANN001, ANN202
        (_, channel, _, _) = img1.size()
        window = create_window(window_size, channel)

        if img1.is_cuda:
            window = window.cuda(img1.get_device())
        window = window.type_as(img1)

        return _ssim(img1, img2, window, window_size, channel, size_average)

    nets = make_model(torch_like)
    load_numpy_state(torch_like, nets, init)
    netG, netD = nets["netG"], nets["netD"]
    generator_criterion = GeneratorLoss(nets["vgg"])
    optimizerG = torch.optim.Adam(netG.parameters())
    optimizerD = torch.optim.Adam(netD.parameters())
    rng = np.random.default_rng(9)

    def pair(n: int) -> tuple[Any, Any]:
        hr = rng.random((n, 3, 8, 8))
        lr = hr.reshape(n, 3, 4, 2, 4, 2).mean((3, 5))
        return torch.from_numpy(lr), torch.from_numpy(hr)

    values: list[float] = []
    running_results = {"batch_sizes": 0, "d_loss": 0, "g_loss": 0, "d_score": 0, "g_score": 0}
    netG.train()
    netD.train()
    for _step in range(3):
        data, target = pair(2)
        batch_size = data.size(0)
        running_results["batch_sizes"] += batch_size

        real_img = Variable(target)
        z = Variable(data)
        fake_img = netG(z)

        netD.zero_grad()
        real_out = netD(real_img).mean()
        fake_out = netD(fake_img).mean()
        d_loss = 1 - real_out + fake_out
        d_loss.backward(retain_graph=True)
        optimizerD.step()

        netG.zero_grad()
        ## The two lines below are added to prevent runetime error in Google Colab ##
        fake_img = netG(z)
        fake_out = netD(fake_img).mean()
        ##
        g_loss = generator_criterion(fake_out, fake_img, real_img)
        g_loss.backward()

        fake_img = netG(z)
        fake_out = netD(fake_img).mean()

        optimizerG.step()

        # loss for current batch before optimization
        running_results["g_loss"] += g_loss.item() * batch_size
        running_results["d_loss"] += d_loss.item() * batch_size
        running_results["d_score"] += real_out.item() * batch_size
        running_results["g_score"] += fake_out.item() * batch_size
        values += [g_loss.item(), d_loss.item(), real_out.item(), fake_out.item()]

    netG.eval()
    with torch.no_grad():
        valing_results = {"mse": 0, "ssims": 0, "psnr": 0, "ssim": 0, "batch_sizes": 0}
        val_lr, val_hr = pair(1)
        batch_size = val_lr.size(0)
        valing_results["batch_sizes"] += batch_size
        lr, hr = val_lr, val_hr
        sr = netG(lr)

        batch_mse = ((sr - hr) ** 2).data.mean()
        valing_results["mse"] += batch_mse * batch_size
        batch_ssim = ssim(sr, hr).item()
        valing_results["ssims"] += batch_ssim * batch_size
        valing_results["psnr"] = 10 * log10(
            (hr.max() ** 2) / (valing_results["mse"] / valing_results["batch_sizes"])
        )
        valing_results["ssim"] = valing_results["ssims"] / valing_results["batch_sizes"]
    values += [valing_results["psnr"], valing_results["ssim"], running_results["g_loss"]]
    return values
