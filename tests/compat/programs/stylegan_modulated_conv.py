"""StyleGAN2's modulated convolution and its regularised GAN step, as rosinality/
stylegan2-pytorch's ``model.py`` and ``train.py`` write them (and the many copies of them),
size-reduced.

The idioms: ``EqualLinear`` / ``EqualConv2d`` with the equalised learning rate (``self.scale =
(1 / math.sqrt(in_dim)) * lr_mul``, ``nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))``,
``F.linear(input, self.weight * self.scale)``, ``bias=self.bias * self.lr_mul``, an
``__repr__`` written by hand with ``self.__class__.__name__``), the fused leaky ReLU in plain
PyTorch (``F.leaky_relu(input + bias.view(1, bias.shape[0], *rest_dim), negative_slope=0.2) *
scale`` with ``scale = 2 ** 0.5``), ``PixelNorm`` (``input * torch.rsqrt(torch.mean(input ** 2,
dim=1, keepdim=True) + 1e-8)``), the mapping network as ``nn.Sequential(*layers)``,
``ModulatedConv2d`` (``style = self.modulation(style).view(batch, 1, in_channel, 1, 1)``,
``weight = self.scale * self.weight * style``, demodulation ``demod = torch.rsqrt(weight.pow(2)
.sum([2, 3, 4]) + 1e-8)``, ``weight * demod.view(batch, self.out_channel, 1, 1, 1)``, the grouped
convolution ``input.view(1, batch * in_channel, height, width)``, ``F.conv2d(input, weight,
padding=self.padding, groups=batch)``, ``out.view(batch, self.out_channel, height, width)``),
``NoiseInjection`` (``image + self.weight * noise`` with a zero-initialised scalar weight and
``image.new_empty(batch, 1, height, width).normal_()`` when no noise is given), ``ConstantInput``
(``self.input.repeat(batch, 1, 1, 1)``), ``ToRGB`` with a modulated 1x1 conv without
demodulation; ``requires_grad(model, flag)``, ``d_logistic_loss`` / ``g_nonsaturating_loss``
with ``F.softplus``, ``d_r1_loss`` (``grad_real, = autograd.grad(outputs=real_pred.sum(),
inputs=real_img, create_graph=True)``, ``grad_real.pow(2).reshape(grad_real.shape[0],
-1).sum(1).mean()``) with the lazy-regularisation ratios ``d_reg_every / (d_reg_every + 1)``
in ``optim.Adam(..., betas=(0 ** g_reg_ratio, 0.99 ** g_reg_ratio))``, ``real_img.requires_grad
= True``, ``(r1 / 2 * r1_weight * d_reg_every + 0 * real_pred[0]).backward()``, and
``accumulate(g_ema, g, decay)`` (``par1[k].data.mul_(decay).add_(par2[k].data, alpha=1 -
decay)``).

The latents and noise images come from NumPy, since the two libraries' generators differ.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

STYLE_DIM, N_MLP, LR_MLP, CH, SIZE, BATCH, STEPS = 8, 2, 0.01, 4, 4, 3, 3
LR, R1, D_REG_EVERY, G_REG_EVERY, G_DECAY = 2e-3, 10.0, 2, 4, 0.9


def fused_leaky_relu(torch_like: Any, input: Any, bias: Any, negative_slope=0.2, scale=2**0.5):
    F = torch_like.nn.functional
    rest_dim = [1] * (input.ndim - bias.ndim - 1)
    return (
        F.leaky_relu(input + bias.view(1, bias.shape[0], *rest_dim), negative_slope=negative_slope)
        * scale
    )


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class PixelNorm(nn.Module):
        def __init__(self) -> None:
            super().__init__()

        def forward(self, input: Any) -> Any:
            return input * torch.rsqrt(torch.mean(input**2, dim=1, keepdim=True) + 1e-8)

    class EqualConv2d(nn.Module):
        def __init__(self, in_channel, out_channel, kernel_size, stride=1, padding=0, bias=True):
            super().__init__()
            self.weight = nn.Parameter(
                torch.randn(out_channel, in_channel, kernel_size, kernel_size)
            )
            self.scale = 1 / math.sqrt(in_channel * kernel_size**2)
            self.stride = stride
            self.padding = padding
            if bias:
                self.bias = nn.Parameter(torch.zeros(out_channel))
            else:
                self.bias = None

        def forward(self, input: Any) -> Any:
            return F.conv2d(
                input,
                self.weight * self.scale,
                bias=self.bias,
                stride=self.stride,
                padding=self.padding,
            )

        def __repr__(self) -> str:
            return (
                f"{self.__class__.__name__}({self.weight.shape[1]}, {self.weight.shape[0]},"
                f" {self.weight.shape[2]}, stride={self.stride}, padding={self.padding})"
            )

    class EqualLinear(nn.Module):
        def __init__(self, in_dim, out_dim, bias=True, bias_init=0, lr_mul=1, activation=None):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
            if bias:
                self.bias = nn.Parameter(torch.zeros(out_dim).fill_(bias_init))
            else:
                self.bias = None
            self.activation = activation
            self.scale = (1 / math.sqrt(in_dim)) * lr_mul
            self.lr_mul = lr_mul

        def forward(self, input: Any) -> Any:
            if self.activation:
                out = F.linear(input, self.weight * self.scale)
                out = fused_leaky_relu(torch, out, self.bias * self.lr_mul)
            else:
                out = F.linear(input, self.weight * self.scale, bias=self.bias * self.lr_mul)
            return out

        def __repr__(self) -> str:
            return f"{self.__class__.__name__}({self.weight.shape[1]}, {self.weight.shape[0]})"

    class FusedLeakyReLU(nn.Module):
        def __init__(self, channel: int, negative_slope=0.2, scale=2**0.5) -> None:
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(channel))
            self.negative_slope = negative_slope
            self.scale = scale

        def forward(self, input: Any) -> Any:
            return fused_leaky_relu(torch, input, self.bias, self.negative_slope, self.scale)

    class ModulatedConv2d(nn.Module):
        def __init__(self, in_channel, out_channel, kernel_size, style_dim, demodulate=True):
            super().__init__()
            self.eps = 1e-8
            self.kernel_size = kernel_size
            self.in_channel = in_channel
            self.out_channel = out_channel
            fan_in = in_channel * kernel_size**2
            self.scale = 1 / math.sqrt(fan_in)
            self.padding = kernel_size // 2
            self.weight = nn.Parameter(
                torch.randn(1, out_channel, in_channel, kernel_size, kernel_size)
            )
            self.modulation = EqualLinear(style_dim, in_channel, bias_init=1)
            self.demodulate = demodulate

        def __repr__(self) -> str:
            return (
                f"{self.__class__.__name__}({self.in_channel}, {self.out_channel}, "
                f"{self.kernel_size}, demodulate={self.demodulate})"
            )

        def forward(self, input: Any, style: Any) -> Any:
            batch, in_channel, height, width = input.shape
            style = self.modulation(style).view(batch, 1, in_channel, 1, 1)
            weight = self.scale * self.weight * style
            if self.demodulate:
                demod = torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8)
                weight = weight * demod.view(batch, self.out_channel, 1, 1, 1)
            weight = weight.view(
                batch * self.out_channel, in_channel, self.kernel_size, self.kernel_size
            )
            input = input.view(1, batch * in_channel, height, width)
            out = F.conv2d(input, weight, padding=self.padding, groups=batch)
            _, _, height, width = out.shape
            return out.view(batch, self.out_channel, height, width)

    class NoiseInjection(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(1))

        def forward(self, image: Any, noise: Any = None) -> Any:
            if noise is None:
                batch, _, height, width = image.shape
                noise = image.new_empty(batch, 1, height, width).normal_()
            return image + self.weight * noise

    class ConstantInput(nn.Module):
        def __init__(self, channel: int, size: int = 4) -> None:
            super().__init__()
            self.input = nn.Parameter(torch.randn(1, channel, size, size))

        def forward(self, input: Any) -> Any:
            batch = input.shape[0]
            return self.input.repeat(batch, 1, 1, 1)

    class StyledConv(nn.Module):
        def __init__(self, in_channel, out_channel, kernel_size, style_dim, demodulate=True):
            super().__init__()
            self.conv = ModulatedConv2d(
                in_channel, out_channel, kernel_size, style_dim, demodulate=demodulate
            )
            self.noise = NoiseInjection()
            self.activate = FusedLeakyReLU(out_channel)

        def forward(self, input: Any, style: Any, noise: Any = None) -> Any:
            out = self.conv(input, style)
            out = self.noise(out, noise=noise)
            return self.activate(out)

    class ToRGB(nn.Module):
        def __init__(self, in_channel: int, style_dim: int) -> None:
            super().__init__()
            self.conv = ModulatedConv2d(in_channel, 3, 1, style_dim, demodulate=False)
            self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

        def forward(self, input: Any, style: Any) -> Any:
            out = self.conv(input, style)
            return out + self.bias

    class Generator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers = [PixelNorm()]
            for _i in range(N_MLP):
                layers.append(
                    EqualLinear(STYLE_DIM, STYLE_DIM, lr_mul=LR_MLP, activation="fused_lrelu")
                )
            self.style = nn.Sequential(*layers)
            self.input = ConstantInput(CH, size=SIZE)
            self.conv1 = StyledConv(CH, CH, 3, STYLE_DIM)
            self.conv2 = StyledConv(CH, CH, 3, STYLE_DIM)
            self.to_rgb1 = ToRGB(CH, STYLE_DIM)

        def forward(self, styles: Any, noise: list) -> Any:
            latent = self.style(styles)
            out = self.input(latent)
            out = self.conv1(out, latent, noise=noise[0])
            out = self.conv2(out, latent, noise=noise[1])
            return self.to_rgb1(out, latent)

    class Discriminator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = EqualConv2d(3, CH, 3, padding=1)
            self.act = FusedLeakyReLU(CH)
            self.final_linear = nn.Sequential(
                EqualLinear(CH * SIZE * SIZE, CH, activation="fused_lrelu"),
                EqualLinear(CH, 1),
            )

        def forward(self, input: Any) -> Any:
            out = self.act(self.conv(input))
            out = out.view(out.shape[0], -1)
            return self.final_linear(out)

    class GAN(nn.Module):
        """Generator, its EMA copy and discriminator in one module (one state dict)."""

        def __init__(self) -> None:
            super().__init__()
            self.generator = Generator()
            self.g_ema = Generator()
            self.discriminator = Discriminator()

    gan = GAN()
    gan.g_ema.eval()
    accumulate(gan.g_ema, gan.generator, 0)
    with torch.no_grad():  # a non-zero noise strength, as after some training
        gan.generator.conv1.noise.weight.fill_(0.1)
    return gan


def requires_grad(model: Any, flag: bool = True) -> None:
    for p in model.parameters():
        p.requires_grad = flag


def accumulate(model1: Any, model2: Any, decay: float = 0.999) -> None:
    par1 = dict(model1.named_parameters())
    par2 = dict(model2.named_parameters())
    for k in par1.keys():
        par1[k].data.mul_(decay).add_(par2[k].data, alpha=1 - decay)


def d_logistic_loss(torch_like: Any, real_pred: Any, fake_pred: Any) -> Any:
    F = torch_like.nn.functional
    real_loss = F.softplus(-real_pred)
    fake_loss = F.softplus(fake_pred)
    return real_loss.mean() + fake_loss.mean()


def d_r1_loss(torch_like: Any, real_pred: Any, real_img: Any) -> Any:
    (grad_real,) = torch_like.autograd.grad(
        outputs=real_pred.sum(), inputs=real_img, create_graph=True
    )
    grad_penalty = grad_real.pow(2).reshape(grad_real.shape[0], -1).sum(1).mean()
    return grad_penalty


def g_nonsaturating_loss(torch_like: Any, fake_pred: Any) -> Any:
    F = torch_like.nn.functional
    return F.softplus(-fake_pred).mean()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    optim = torch_like.optim
    rng = np.random.default_rng(5)
    gan = make_model(torch_like)
    load_numpy_state(torch_like, gan, init)
    generator, discriminator, g_ema = gan.generator, gan.discriminator, gan.g_ema
    values: list[float] = [float(len(list(gan.parameters())))]
    d_reg_ratio = D_REG_EVERY / (D_REG_EVERY + 1)
    g_reg_ratio = G_REG_EVERY / (G_REG_EVERY + 1)
    g_optim = optim.Adam(
        generator.parameters(), lr=LR * g_reg_ratio, betas=(0**g_reg_ratio, 0.99**g_reg_ratio)
    )
    d_optim = optim.Adam(
        discriminator.parameters(),
        lr=LR * d_reg_ratio,
        betas=(0**d_reg_ratio, 0.99**d_reg_ratio),
    )
    real = as_tensor(torch_like, np.tanh(rng.standard_normal((BATCH, 3, SIZE, SIZE))))

    def noises() -> list:
        return [as_tensor(torch_like, rng.standard_normal((BATCH, 1, SIZE, SIZE))) for _ in "ab"]

    for i in range(STEPS):
        real_img = real
        requires_grad(generator, False)
        requires_grad(discriminator, True)
        z = as_tensor(torch_like, rng.standard_normal((BATCH, STYLE_DIM)))
        fake_img = generator(z, noises())
        fake_pred = discriminator(fake_img)
        real_pred = discriminator(real_img)
        d_loss = d_logistic_loss(torch_like, real_pred, fake_pred)
        discriminator.zero_grad()
        d_loss.backward()
        d_optim.step()
        values += [d_loss.item(), real_pred.mean().item(), fake_pred.mean().item()]

        d_regularize = i % D_REG_EVERY == 0
        if d_regularize:
            real_img = real_img.detach().clone()
            real_img.requires_grad = True
            real_pred = discriminator(real_img)
            r1_loss = d_r1_loss(torch_like, real_pred, real_img)
            discriminator.zero_grad()
            (R1 / 2 * r1_loss * D_REG_EVERY + 0 * real_pred[0]).backward()
            d_optim.step()
            values += [r1_loss.item(), discriminator.conv.weight.grad.abs().sum().item()]

        requires_grad(generator, True)
        requires_grad(discriminator, False)
        z = as_tensor(torch_like, rng.standard_normal((BATCH, STYLE_DIM)))
        fake_img = generator(z, noises())
        fake_pred = discriminator(fake_img)
        g_loss = g_nonsaturating_loss(torch_like, fake_pred)
        generator.zero_grad()
        g_loss.backward()
        g_optim.step()
        accumulate(g_ema, generator, G_DECAY)
        values += [g_loss.item(), generator.conv1.noise.weight.item()]
        values += [generator.style[1].weight.grad.abs().sum().item()]

    with torch.no_grad():
        z = as_tensor(torch_like, rng.standard_normal((BATCH, STYLE_DIM)))
        sample = g_ema(z, noises())
        own_noise = generator.conv1.noise(torch.zeros(2, 1, 3, 3))
    values += sample.flatten().tolist()
    values += list(own_noise.shape) + [float(own_noise.dtype == sample.dtype)]
    values += [float(discriminator.conv.weight.requires_grad)]
    return values
