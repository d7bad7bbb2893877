"""Progressive GAN's building blocks and a growing-resolution GAN step, as
facebookresearch/pytorch_GAN_zoo (``models/networks/custom_layers.py``, ``mini_batch_stddev``
in ``models/networks/progressive_conv_net.py`` and its ``loss_criterions``) and NVlabs/
stylegan2-ada-pytorch (``training/networks.py``'s ``MinibatchStdLayer``, ``training/loss.py``'s
``StyleGAN2Loss``) write them, size-reduced.

The idioms: the equalised learning rate as a wrapper (``ConstrainedLayer``: ``self.module.
bias.data.fill_(0)``, ``self.module.weight.data.normal_(0, 1)``, ``weight.data /= lrMul``,
``getLayerNormalizationFactor`` with ``fan_in = prod(size[1:])`` and ``math.sqrt(2.0 /
fan_in)``, ``x *= self.weight`` on the wrapped layer's output) and as a layer holding its own
``nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)`` scaled at run time
by ``self.weight_gain = lr_multiplier / np.sqrt(in_features)`` (``torch.addmm(b.unsqueeze(0),
x, w.t())``); ``NormalizationLayer`` (``x * (((x**2).mean(dim=1, keepdim=True) + epsilon)
.rsqrt())``) and StyleGAN2-ADA's ``normalize_2nd_moment`` (``x * (x.square().mean(dim=dim,
keepdim=True) + eps).rsqrt()``); the minibatch standard deviation both ways (GAN zoo's
``x.view(-1, subGroupSize, size[1], size[2], size[3])``, ``torch.var(y, 1)``, ``torch.sqrt(y
+ 1e-8)``, ``y.expand(G, size[2]*size[3]).view((G, 1, 1, size[2], size[3]))``, ``.expand(G,
subGroupSize, -1, -1, -1).contiguous().view(...)``; StyleGAN2-ADA's ``torch.min(torch.as_tensor(
self.group_size), torch.as_tensor(N))``, ``x.reshape(G, -1, F, c, H, W)``, ``y - y.mean(dim=0)``,
``y.square().mean(dim=0)``, ``(y + 1e-8).sqrt()``, ``y.mean(dim=[2,3,4])``, ``y.repeat(G, 1, H,
W)``), and the ``.var(dim=0, unbiased=False).add(1e-8).sqrt()`` short form; GAN zoo's
``Upscale2d`` (``x.view(-1, s[1], s[2], 1, s[3], 1).expand(-1, s[1], s[2], factor, s[3],
factor)``) next to ``F.interpolate(scale_factor=2, mode="nearest")``; the fade-in of a new
resolution (``self.alpha * y + (1 - self.alpha) * x`` after ``F.avg_pool2d(x, (2, 2))`` into the
discriminator and an upsampled ``toRGB`` out of the generator, ``alpha`` raised each step by
``updateAlpha``); the non-saturating logistic loss (``F.softplus(gen_logits)``,
``F.softplus(-real_logits)``), the drift term ``epsilon_d * (real_logits ** 2)`` and the R1
penalty (``torch.autograd.grad(outputs=[real_logits.sum()], inputs=[real_img_tmp],
create_graph=True, only_inputs=True)[0]``, ``r1_grads.square().sum([1,2,3])``, ``r1_penalty *
(r1_gamma / 2)``) on ``real_img.detach().requires_grad_(True)``; ``Adam(betas=(0.0, 0.99),
eps=1e-8)``.

Changed: 4x4 -> 8x8 instead of 4x4 -> 1024x1024, channels 512 -> 4, latent 512 -> 6, batch 16 ->
4 with group size 2, the data are NumPy images; three steps, the R1 term every other step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

LATENT, CH, BATCH, GROUP, STEPS = 6, 4, 4, 2, 3
LR, R1_GAMMA, EPS_DRIFT = 1e-3, 10.0, 0.001


def _prod(xs: Any) -> int:
    out = 1
    for v in xs:
        out *= v
    return out


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    def getLayerNormalizationFactor(x: Any) -> float:
        size = x.weight.size()
        fan_in = _prod(size[1:])
        return math.sqrt(2.0 / fan_in)

    class ConstrainedLayer(nn.Module):
        def __init__(self, module, equalized=True, lrMul=1.0, initBiasToZero=True):
            super(ConstrainedLayer, self).__init__()  # noqa: UP008 (as in the repository)
            self.module = module
            self.equalized = equalized
            if initBiasToZero:
                self.module.bias.data.fill_(0)
            if self.equalized:
                self.module.weight.data.normal_(0, 1)
                self.module.weight.data /= lrMul
                self.weight = getLayerNormalizationFactor(self.module) * lrMul

        def forward(self, x: Any) -> Any:
            x = self.module(x)
            if self.equalized:
                x *= self.weight
            return x

    class EqualizedConv2d(ConstrainedLayer):
        def __init__(self, nChannelsPrevious, nChannels, kernelSize, padding=0, bias=True, **kw):
            ConstrainedLayer.__init__(
                self,
                nn.Conv2d(nChannelsPrevious, nChannels, kernelSize, padding=padding, bias=bias),
                **kw,
            )

    class FullyConnectedLayer(nn.Module):
        """StyleGAN2-ADA's layer: the weight is stored unit-variance and scaled when used."""

        def __init__(self, in_features, out_features, bias=True, lr_multiplier=1, bias_init=0):
            super().__init__()
            self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
            self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
            self.weight_gain = lr_multiplier / np.sqrt(in_features)
            self.bias_gain = lr_multiplier

        def forward(self, x: Any) -> Any:
            w = self.weight.to(x.dtype) * self.weight_gain
            b = self.bias
            if b is not None:
                b = b.to(x.dtype)
                if self.bias_gain != 1:
                    b = b * self.bias_gain
            return torch.addmm(b.unsqueeze(0), x, w.t())

        def extra_repr(self) -> str:
            return f"in_features={self.weight.shape[1]:d}, out_features={self.weight.shape[0]:d}"

    class NormalizationLayer(nn.Module):
        def __init__(self):
            super(NormalizationLayer, self).__init__()  # noqa: UP008

        def forward(self, x: Any, epsilon: float = 1e-8) -> Any:
            return x * (((x**2).mean(dim=1, keepdim=True) + epsilon).rsqrt())

    def Upscale2d(x: Any, factor: int = 2) -> Any:
        assert isinstance(factor, int) and factor >= 1
        if factor == 1:
            return x
        s = x.size()
        x = x.view(-1, s[1], s[2], 1, s[3], 1)
        x = x.expand(-1, s[1], s[2], factor, s[3], factor)
        x = x.contiguous().view(-1, s[1], s[2] * factor, s[3] * factor)
        return x

    def miniBatchStdDev(x: Any, subGroupSize: int = 4) -> Any:
        size = x.size()
        subGroupSize = min(size[0], subGroupSize)
        if size[0] % subGroupSize != 0:
            subGroupSize = size[0]
        G = int(size[0] / subGroupSize)
        if subGroupSize > 1:
            y = x.view(-1, subGroupSize, size[1], size[2], size[3])
            y = torch.var(y, 1)
            y = torch.sqrt(y + 1e-8)
            y = y.view(G, -1)
            y = torch.mean(y, 1).view(G, 1)
            y = y.expand(G, size[2] * size[3]).view((G, 1, 1, size[2], size[3]))
            y = y.expand(G, subGroupSize, -1, -1, -1)
            y = y.contiguous().view((-1, 1, size[2], size[3]))
        else:
            y = torch.zeros(x.size(0), 1, x.size(2), x.size(3), device=x.device)
        return torch.cat([x, y], dim=1)

    class MinibatchStdLayer(nn.Module):
        def __init__(self, group_size, num_channels=1):
            super().__init__()
            self.group_size = group_size
            self.num_channels = num_channels

        def forward(self, x: Any) -> Any:
            N, C, H, W = x.shape
            G = (
                torch.min(torch.as_tensor(self.group_size), torch.as_tensor(N))
                if self.group_size is not None
                else N
            )
            F_ = self.num_channels
            c = C // F_
            y = x.reshape(G, -1, F_, c, H, W)  # [GnFcHW] split the batch into groups of G
            y = y - y.mean(dim=0)  # [GnFcHW] subtract the group mean
            y = y.square().mean(dim=0)  # [nFcHW] variance over the group
            y = (y + 1e-8).sqrt()  # [nFcHW] standard deviation over the group
            y = y.mean(dim=[2, 3, 4])  # [nF] average over channels and pixels
            y = y.reshape(-1, F_, 1, 1)  # [nF11]
            y = y.repeat(G, 1, H, W)  # [NFHW] replicate over the group and the pixels
            return torch.cat([x, y], dim=1)

        def extra_repr(self) -> str:
            return f"group_size={self.group_size}, num_channels={self.num_channels:d}"

    def mbstd_short(x: Any, group_size: int) -> Any:
        """The compact form many re-implementations use: one ``var`` call over the group."""
        N, C, H, W = x.shape
        y = x.reshape(group_size, -1, C, H, W)
        y = y.var(dim=0, unbiased=False).add(1e-8).sqrt()
        y = y.mean(dim=[1, 2, 3]).reshape(-1, 1, 1, 1)
        return torch.cat([x, y.repeat(group_size, 1, H, W)], dim=1)

    class Generator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.normalizationLayer = NormalizationLayer()
            self.formatLayer = FullyConnectedLayer(LATENT, 16 * CH)
            self.groupScale0 = nn.ModuleList([EqualizedConv2d(CH, CH, 3, padding=1)])
            self.toRGBLayers = nn.ModuleList([EqualizedConv2d(CH, 3, 1, equalized=True)])
            self.scaleLayers = nn.ModuleList(
                [nn.ModuleList([EqualizedConv2d(CH, CH, 3, padding=1)])]
            )
            self.toRGBLayers.append(EqualizedConv2d(CH, 3, 1))
            self.leakyRelu = nn.LeakyReLU(0.2)
            self.alpha = 0.0

        def setNewAlpha(self, alpha: float) -> None:
            self.alpha = alpha

        def forward(self, x: Any) -> Any:
            x = self.normalizationLayer(x)
            x = x.view(-1, _prod(x.size()[1:]))
            x = self.leakyRelu(self.formatLayer(x))
            x = x.view(x.size()[0], -1, 4, 4)
            x = self.normalizationLayer(x)
            for convLayer in self.groupScale0:
                x = self.leakyRelu(convLayer(x))
                x = self.normalizationLayer(x)
            if self.alpha > 0:
                y = self.toRGBLayers[-2](x)
                y = Upscale2d(y)
            for _scale, layerGroup in enumerate(self.scaleLayers, 0):
                x = F.interpolate(x, scale_factor=2, mode="nearest")
                for convLayer in layerGroup:
                    x = self.leakyRelu(convLayer(x))
                    x = self.normalizationLayer(x)
            x = self.toRGBLayers[-1](x)
            if self.alpha > 0:
                x = self.alpha * y + (1.0 - self.alpha) * x
            return x

    class Discriminator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fromRGBLayers = nn.ModuleList([EqualizedConv2d(3, CH, 1)])
            self.fromRGBLayers.append(EqualizedConv2d(3, CH, 1))
            self.scaleLayers = nn.ModuleList(
                [
                    nn.ModuleList(
                        [
                            EqualizedConv2d(CH, CH, 3, padding=1),
                            EqualizedConv2d(CH, CH, 3, padding=1),
                        ]
                    )
                ]
            )
            self.mbstd = MinibatchStdLayer(group_size=GROUP)
            self.groupScaleZero = nn.ModuleList([EqualizedConv2d(CH + 3, CH, 3, padding=1)])
            self.decisionLayer = FullyConnectedLayer(16 * CH, 1)
            self.leakyRelu = nn.LeakyReLU(0.2)
            self.alpha = 0.0

        def setNewAlpha(self, alpha: float) -> None:
            self.alpha = alpha

        def forward(self, x: Any) -> Any:
            if self.alpha > 0:
                y = F.avg_pool2d(x, (2, 2))
                y = self.leakyRelu(self.fromRGBLayers[-2](y))
            x = self.leakyRelu(self.fromRGBLayers[-1](x))
            shift = len(self.fromRGBLayers) - 2
            for groupLayer in reversed(self.scaleLayers):
                for layer in groupLayer:
                    x = self.leakyRelu(layer(x))
                x = F.avg_pool2d(x, (2, 2))
                if self.alpha > 0 and shift == 0:
                    x = self.alpha * y + (1 - self.alpha) * x
                shift -= 1
            # three minibatch-stddev features: the GAN zoo, StyleGAN2-ADA and short forms
            x = torch.cat(
                [
                    miniBatchStdDev(x, GROUP),
                    self.mbstd(x)[:, -1:],
                    mbstd_short(x, GROUP)[:, -1:],
                ],
                dim=1,
            )
            x = self.leakyRelu(self.groupScaleZero[0](x))
            x = x.view(-1, _prod(x.size()[1:]))
            return self.decisionLayer(x)

    return nn.ModuleDict({"G": Generator(), "D": Discriminator()})


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    G, D = model["G"], model["D"]
    opt_G = torch.optim.Adam(G.parameters(), lr=LR, betas=(0.0, 0.99), eps=1e-8)
    opt_D = torch.optim.Adam(D.parameters(), lr=LR, betas=(0.0, 0.99), eps=1e-8)
    rng = np.random.default_rng(5)
    values: list[float] = []
    for step in range(STEPS):
        alpha = 1.0 - step / STEPS  # updateAlpha: the old resolution fades out
        G.setNewAlpha(alpha)
        D.setNewAlpha(alpha)
        real_img = as_tensor(torch, rng.standard_normal((BATCH, 3, 8, 8)))
        z = as_tensor(torch, rng.standard_normal((BATCH, LATENT)))

        # discriminator: logistic loss on fakes and reals, drift, lazy R1
        opt_D.zero_grad(set_to_none=True)
        with torch.no_grad():
            gen_img = G(z)
        gen_logits = D(gen_img)
        loss_Dgen = F.softplus(gen_logits)
        real_img_tmp = real_img.detach().requires_grad_(step % 2 == 0)
        real_logits = D(real_img_tmp)
        loss_Dreal = F.softplus(-real_logits) + EPS_DRIFT * (real_logits**2)
        loss_D = loss_Dgen.mean() + loss_Dreal.mean()
        if step % 2 == 0:
            r1_grads = torch.autograd.grad(
                outputs=[real_logits.sum()],
                inputs=[real_img_tmp],
                create_graph=True,
                only_inputs=True,
            )[0]
            r1_penalty = r1_grads.square().sum([1, 2, 3])
            loss_Dr1 = r1_penalty * (R1_GAMMA / 2)
            loss_D = loss_D + loss_Dr1.mean()
            values.append(r1_penalty.mean().item())
        loss_D.backward()
        opt_D.step()

        # generator: non-saturating loss
        opt_G.zero_grad(set_to_none=True)
        gen_logits = D(G(z))
        loss_G = F.softplus(-gen_logits).mean()
        loss_G.backward()
        opt_G.step()
        values += [loss_D.item(), loss_G.item()]
    return values
