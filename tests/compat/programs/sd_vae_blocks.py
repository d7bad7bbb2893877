"""The Stable Diffusion autoencoder (``AutoencoderKL``) pieces as CompVis' ``ldm/modules/
diffusionmodules/model.py`` and diffusers' ``models/autoencoders/vae.py`` write them,
size-reduced.

The idioms: ``Normalize`` (``nn.GroupNorm(num_groups=32, num_channels=in_channels, eps=1e-6,
affine=True)``) and ``nonlinearity`` (``x * torch.sigmoid(x)``, ``F.silu``); ``ResnetBlock``
(norm1 / conv1 / norm2 / ``nn.Dropout`` / conv2, a 1x1 ``nin_shortcut`` when the channel count
changes, ``x + h``); ``Downsample`` with the asymmetric ``pad = (0, 1, 0, 1)``,
``F.pad(x, pad, mode="constant", value=0)`` then a stride-2 3x3 conv with ``padding=0``;
``Upsample`` (``F.interpolate(x, scale_factor=2.0, mode="nearest")`` then a 3x3 conv);
``AttnBlock`` (1x1 ``q``/``k``/``v``/``proj_out`` convs, ``q.reshape(b, c, h * w)``,
``q.permute(0, 2, 1)``, ``torch.bmm(q, k)``, ``w_ * (int(c) ** (-0.5))``,
``F.softmax(w_, dim=2)``, ``torch.bmm(v, w_)``); the ``Encoder`` (``conv_in``, down blocks,
mid block ``block_1`` / ``attn_1`` / ``block_2``, ``norm_out``, ``conv_out`` to
``2 * z_channels``) with ``quant_conv``, the ``Decoder`` with ``post_quant_conv``;
``DiagonalGaussianDistribution`` (``torch.chunk(parameters, 2, dim=1)``,
``torch.clamp(self.logvar, -30.0, 20.0)``, ``torch.exp(0.5 * self.logvar)``, ``sample`` as
``mean + std * noise``, ``kl`` as ``0.5 * torch.sum(torch.pow(self.mean, 2) + self.var - 1.0 -
self.logvar, dim=[1, 2, 3])``, ``nll`` with ``np.log(2.0 * np.pi)``, ``mode``); latents
scaled by ``0.18215`` (``latents = latents * vae.config.scaling_factor`` and the
``1 / 0.18215`` before decoding); a training step with the reconstruction + KL loss.

Changed: 64-channel 256 x 256 images -> 3 x 8 x 8 from NumPy, ``ch = 32``, one down / up level,
``z_channels = 2``; the sampling noise (``torch.randn``) comes from NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

CH, Z, IMG, BATCH, STEPS = 32, 2, 8, 2, 3
SCALING_FACTOR = 0.18215


def _classes(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    def Normalize(in_channels: int) -> Any:
        return nn.GroupNorm(num_groups=32, num_channels=in_channels, eps=1e-6, affine=True)

    def nonlinearity(x: Any) -> Any:
        return x * torch.sigmoid(x)

    class ResnetBlock(nn.Module):
        def __init__(
            self, *, in_channels: int, out_channels: int | None = None, dropout: float = 0.0
        ) -> None:
            super().__init__()
            out_channels = in_channels if out_channels is None else out_channels
            self.in_channels = in_channels
            self.out_channels = out_channels
            self.norm1 = Normalize(in_channels)
            self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)
            self.norm2 = Normalize(out_channels)
            self.dropout = nn.Dropout(dropout)
            self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1)
            if self.in_channels != self.out_channels:
                self.nin_shortcut = nn.Conv2d(in_channels, out_channels, 1, 1, 0)

        def forward(self, x: Any) -> Any:
            h = x
            h = self.norm1(h)
            h = nonlinearity(h)
            h = self.conv1(h)
            h = self.norm2(h)
            h = F.silu(h)
            h = self.dropout(h)
            h = self.conv2(h)
            if self.in_channels != self.out_channels:
                x = self.nin_shortcut(x)
            return x + h

    class Downsample(nn.Module):
        def __init__(self, in_channels: int) -> None:
            super().__init__()
            self.conv = nn.Conv2d(in_channels, in_channels, kernel_size=3, stride=2, padding=0)

        def forward(self, x: Any) -> Any:
            pad = (0, 1, 0, 1)
            x = F.pad(x, pad, mode="constant", value=0)
            return self.conv(x)

    class Upsample(nn.Module):
        def __init__(self, in_channels: int) -> None:
            super().__init__()
            self.conv = nn.Conv2d(in_channels, in_channels, kernel_size=3, stride=1, padding=1)

        def forward(self, x: Any) -> Any:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            return self.conv(x)

    class AttnBlock(nn.Module):
        def __init__(self, in_channels: int) -> None:
            super().__init__()
            self.norm = Normalize(in_channels)
            self.q = nn.Conv2d(in_channels, in_channels, kernel_size=1, stride=1, padding=0)
            self.k = nn.Conv2d(in_channels, in_channels, kernel_size=1, stride=1, padding=0)
            self.v = nn.Conv2d(in_channels, in_channels, kernel_size=1, stride=1, padding=0)
            self.proj_out = nn.Conv2d(in_channels, in_channels, 1, 1, 0)

        def forward(self, x: Any) -> Any:
            h_ = self.norm(x)
            q, k, v = self.q(h_), self.k(h_), self.v(h_)
            b, c, h, w = q.shape
            q = q.reshape(b, c, h * w)
            q = q.permute(0, 2, 1)  # b,hw,c
            k = k.reshape(b, c, h * w)  # b,c,hw
            w_ = torch.bmm(q, k)  # b,hw,hw    w[b,i,j]=sum_c q[b,i,c]k[b,c,j]
            w_ = w_ * (int(c) ** (-0.5))
            w_ = F.softmax(w_, dim=2)
            v = v.reshape(b, c, h * w)
            w_ = w_.permute(0, 2, 1)  # b,hw,hw (first hw of k, second of q)
            h_ = torch.bmm(v, w_)  # b, c,hw (hw of q)
            h_ = h_.reshape(b, c, h, w)
            h_ = self.proj_out(h_)
            return x + h_

    class Encoder(nn.Module):
        def __init__(self, ch: int, in_channels: int, z_channels: int) -> None:
            super().__init__()
            self.conv_in = nn.Conv2d(in_channels, ch, kernel_size=3, stride=1, padding=1)
            self.down = nn.ModuleList()
            down = nn.Module()
            down.block = nn.ModuleList([ResnetBlock(in_channels=ch, out_channels=ch)])
            down.attn = nn.ModuleList()
            down.downsample = Downsample(ch)
            self.down.append(down)
            self.mid = nn.Module()
            self.mid.block_1 = ResnetBlock(in_channels=ch, out_channels=2 * ch)
            self.mid.attn_1 = AttnBlock(2 * ch)
            self.mid.block_2 = ResnetBlock(in_channels=2 * ch, out_channels=2 * ch, dropout=0.0)
            self.norm_out = Normalize(2 * ch)
            self.conv_out = nn.Conv2d(2 * ch, 2 * z_channels, 3, stride=1, padding=1)

        def forward(self, x: Any) -> Any:
            hs = [self.conv_in(x)]
            for down in self.down:
                h = down.block[0](hs[-1])
                hs.append(h)
                hs.append(down.downsample(hs[-1]))
            h = hs[-1]
            h = self.mid.block_1(h)
            h = self.mid.attn_1(h)
            h = self.mid.block_2(h)
            h = self.norm_out(h)
            h = nonlinearity(h)
            return self.conv_out(h)

    class Decoder(nn.Module):
        def __init__(self, ch: int, out_ch: int, z_channels: int) -> None:
            super().__init__()
            self.conv_in = nn.Conv2d(z_channels, 2 * ch, kernel_size=3, stride=1, padding=1)
            self.mid = nn.Module()
            self.mid.block_1 = ResnetBlock(in_channels=2 * ch, out_channels=2 * ch)
            self.mid.attn_1 = AttnBlock(2 * ch)
            self.up = nn.ModuleList()
            up = nn.Module()
            up.block = nn.ModuleList([ResnetBlock(in_channels=2 * ch, out_channels=ch)])
            up.upsample = Upsample(ch)
            self.up.insert(0, up)
            self.norm_out = Normalize(ch)
            self.conv_out = nn.Conv2d(ch, out_ch, kernel_size=3, stride=1, padding=1)

        def forward(self, z: Any) -> Any:
            h = self.conv_in(z)
            h = self.mid.block_1(h)
            h = self.mid.attn_1(h)
            for i_level in reversed(range(len(self.up))):
                for block in self.up[i_level].block:
                    h = block(h)
                h = self.up[i_level].upsample(h)
            h = self.norm_out(h)
            h = nonlinearity(h)
            return torch.tanh(self.conv_out(h))

    class DiagonalGaussianDistribution:
        def __init__(self, parameters: Any, deterministic: bool = False) -> None:
            self.parameters = parameters
            self.mean, self.logvar = torch.chunk(parameters, 2, dim=1)
            self.logvar = torch.clamp(self.logvar, -30.0, 20.0)
            self.deterministic = deterministic
            self.std = torch.exp(0.5 * self.logvar)
            self.var = torch.exp(self.logvar)
            if self.deterministic:
                self.var = self.std = torch.zeros_like(self.mean).to(device=self.parameters.device)

        def sample(self, noise: Any) -> Any:
            return self.mean + self.std * noise.to(device=self.parameters.device)

        def kl(self, other: Any = None) -> Any:
            if self.deterministic:
                return torch.Tensor([0.0])
            if other is None:
                return 0.5 * torch.sum(
                    torch.pow(self.mean, 2) + self.var - 1.0 - self.logvar, dim=[1, 2, 3]
                )
            return 0.5 * torch.sum(
                torch.pow(self.mean - other.mean, 2) / other.var
                + self.var / other.var
                - 1.0
                - self.logvar
                + other.logvar,
                dim=[1, 2, 3],
            )

        def nll(self, sample: Any, dims: Any = (1, 2, 3)) -> Any:
            if self.deterministic:
                return torch.Tensor([0.0])
            logtwopi = np.log(2.0 * np.pi)
            return 0.5 * torch.sum(
                logtwopi + self.logvar + torch.pow(sample - self.mean, 2) / self.var, dim=dims
            )

        def mode(self) -> Any:
            return self.mean

    class AutoencoderKL(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = Encoder(CH, 3, Z)
            self.decoder = Decoder(CH, 3, Z)
            self.quant_conv = nn.Conv2d(2 * Z, 2 * Z, 1)
            self.post_quant_conv = nn.Conv2d(Z, Z, 1)

        def encode(self, x: Any) -> Any:
            h = self.encoder(x)
            moments = self.quant_conv(h)
            return DiagonalGaussianDistribution(moments)

        def decode(self, z: Any) -> Any:
            z = self.post_quant_conv(z)
            return self.decoder(z)

    return AutoencoderKL, DiagonalGaussianDistribution


def make_model(torch_like: Any) -> Any:
    AutoencoderKL, _ = _classes(torch_like)
    return AutoencoderKL()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(5)
    AutoencoderKL, DiagonalGaussianDistribution = _classes(torch)
    vae = AutoencoderKL()
    load_numpy_state(torch, vae, init)
    optimizer = torch.optim.Adam(vae.parameters(), lr=4.5e-6 * 100, betas=(0.5, 0.9))
    images = as_tensor(torch, np.tanh(rng.standard_normal((BATCH, 3, IMG, IMG))))
    values: list[float] = []
    kl_weight = 1e-3
    for _ in range(STEPS):
        posterior = vae.encode(images)
        noise = as_tensor(torch, rng.standard_normal(posterior.mean.shape))
        z = posterior.sample(noise)
        rec = vae.decode(z)
        rec_loss = torch.abs(images.contiguous() - rec.contiguous())
        nll_loss = torch.sum(rec_loss) / rec_loss.shape[0]
        kl_loss = posterior.kl()
        kl_loss = torch.sum(kl_loss) / kl_loss.shape[0]
        loss = nll_loss + kl_weight * kl_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), kl_loss.item(), posterior.nll(z).mean().item()]
    vae.eval()
    with torch.no_grad():
        latents = vae.encode(images).mode() * SCALING_FACTOR
        values += [latents.abs().mean().item(), latents.std().item()]
        decoded = vae.decode(latents / SCALING_FACTOR)
        image = (decoded / 2 + 0.5).clamp(0, 1)
        values += [image.mean().item(), image[0, :, 0, :].sum().item()]
        # a wide clamp range: logvar outside [-30, 20] is clipped
        params = as_tensor(
            torch,
            np.concatenate(
                [
                    rng.standard_normal((1, 2, 2, 2)),
                    np.array([-50.0, 25.0, 0.5, -1.0] * 2).reshape(1, 2, 2, 2),
                ],
                axis=1,
            ),
        )
        dist = DiagonalGaussianDistribution(params)
        values += dist.logvar.flatten().tolist() + dist.std.flatten().tolist()
        other = DiagonalGaussianDistribution(torch.zeros_like(params))
        values += dist.kl(other).tolist() + dist.nll(dist.mode()).tolist()
        det = DiagonalGaussianDistribution(params, deterministic=True)
        values += [float(det.std.abs().sum()), det.kl().item()]
    return values
