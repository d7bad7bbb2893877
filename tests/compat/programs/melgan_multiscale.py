"""MelGAN, as descriptinc/melgan-neurips writes it (``mel2wav/modules.py``: ``WNConv1d``,
``WNConvTranspose1d``, ``ResnetBlock``, ``Generator``, ``NLayerDiscriminator``,
``Discriminator``, ``Audio2Mel``, ``weights_init``; ``scripts/train.py``'s hinge and
feature-matching losses), size-reduced (ratios 8,8,2,2 -> 2,2; ngf 32 -> 4; 3 -> 2 scales).

The idioms: ``weight_norm(nn.Conv1d(*args, **kwargs))`` and ``weight_norm(nn.ConvTranspose1d(
...))`` (``torch.nn.utils.weight_norm``, its ``weight_g``/``weight_v``); ``nn.ReflectionPad1d``;
dilated residual blocks ``dilation=3 ** j``; the transposed upsampling ``kernel_size=r * 2,
stride=r, padding=r // 2 + r % 2, output_padding=r % 2``; ``self.apply(weights_init)`` with
``classname.find("Conv") != -1`` and ``m.weight.data.normal_(0.0, 0.02)``; the discriminator's
``nn.ModuleDict`` of ``"layer_%d"`` blocks with grouped strided convs (``groups=nf_prev //
4``), ``nn.LeakyReLU(0.2, True)`` and ``for key, layer in self.model.items()``; the
multi-scale ``nn.AvgPool1d(4, stride=2, padding=1, count_include_pad=False)`` between scales;
``Audio2Mel``'s ``torch.hann_window(win_length).float()`` and ``torch.from_numpy(
mel_basis).float()`` buffers, ``F.pad(audio, (p, p), "reflect").squeeze(1)``, ``torch.stft(...,
center=False, return_complex=True)``, ``torch.abs`` and ``torch.log10(torch.clamp(mel_output,
min=1e-5))``; the hinge losses ``F.relu(1 + scale[-1]).mean()`` / ``F.relu(1 -
scale[-1]).mean()`` / ``-scale[-1].mean()``; the feature matching ``wt * F.l1_loss(D_fake[i][j],
D_real[i][j].detach())`` with ``feat_weights = 4.0 / (n_layers_D + 1)``; the mel
reconstruction error ``F.l1_loss(fft(x_pred_t), s_t)``; and ``Adam(lr, betas=(0.5, 0.9))``
with ``netD.zero_grad()`` / ``netG.zero_grad()``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL, ATOL = 1e-4, 1e-5
N_MEL, N_FFT, HOP, NGF, NUM_D, NDF, N_LAYERS_D, STEPS = 8, 16, 4, 4, 2, 4, 2, 3


def _mel_basis() -> np.ndarray:
    """A fixed triangular filterbank standing in for ``librosa.filters.mel``."""
    bins = N_FFT // 2 + 1
    centres = np.linspace(0, bins - 1, N_MEL + 2)
    k = np.arange(bins)
    basis = [np.clip(1 - np.abs(k - centres[i + 1]) / (centres[1] - centres[0]), 0, None)
             for i in range(N_MEL)]  # fmt: skip
    return np.array(basis)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    weight_norm = torch_like.nn.utils.weight_norm

    def weights_init(m: Any) -> None:
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            m.weight.data.normal_(0.0, 0.02)
        elif classname.find("BatchNorm2d") != -1:
            m.weight.data.normal_(1.0, 0.02)
            m.bias.data.fill_(0)

    def WNConv1d(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():  # the old hook is deprecated for the parametrization
            warnings.simplefilter("ignore", FutureWarning)
            return weight_norm(nn.Conv1d(*args, **kwargs))

    def WNConvTranspose1d(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return weight_norm(nn.ConvTranspose1d(*args, **kwargs))

    class Audio2Mel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            window = torch.hann_window(N_FFT).float()
            mel_basis = torch.from_numpy(_mel_basis()).float()
            self.register_buffer("mel_basis", mel_basis)
            self.register_buffer("window", window)
            self.n_fft, self.hop_length, self.win_length = N_FFT, HOP, N_FFT

        def forward(self, audio: Any) -> Any:
            p = (self.n_fft - self.hop_length) // 2
            audio = F.pad(audio, (p, p), "reflect").squeeze(1)
            fft = torch.stft(
                audio, n_fft=self.n_fft, hop_length=self.hop_length,
                win_length=self.win_length, window=self.window, center=False,
                return_complex=True,
            )  # fmt: skip
            magnitude = torch.abs(fft)
            mel_output = torch.matmul(self.mel_basis, magnitude)
            log_mel_spec = torch.log10(torch.clamp(mel_output, min=1e-5))
            return log_mel_spec

    class ResnetBlock(nn.Module):
        def __init__(self, dim: int, dilation: int = 1) -> None:
            super().__init__()
            self.block = nn.Sequential(
                nn.LeakyReLU(0.2),
                nn.ReflectionPad1d(dilation),
                WNConv1d(dim, dim, kernel_size=3, dilation=dilation),
                nn.LeakyReLU(0.2),
                WNConv1d(dim, dim, kernel_size=1),
            )
            self.shortcut = WNConv1d(dim, dim, kernel_size=1)

        def forward(self, x: Any) -> Any:
            return self.shortcut(x) + self.block(x)

    class Generator(nn.Module):
        def __init__(self, input_size: int, ngf: int, n_residual_layers: int) -> None:
            super().__init__()
            ratios = [2, 2]
            self.hop_length = np.prod(ratios)
            mult = int(2 ** len(ratios))
            model = [
                nn.ReflectionPad1d(3),
                WNConv1d(input_size, mult * ngf, kernel_size=7, padding=0),
            ]
            for i, r in enumerate(ratios):  # noqa: B007 (as written)
                model += [
                    nn.LeakyReLU(0.2),
                    WNConvTranspose1d(
                        mult * ngf, mult * ngf // 2, kernel_size=r * 2, stride=r,
                        padding=r // 2 + r % 2, output_padding=r % 2,
                    ),
                ]  # fmt: skip
                for j in range(n_residual_layers):
                    model += [ResnetBlock(mult * ngf // 2, dilation=3**j)]
                mult //= 2
            model += [
                nn.LeakyReLU(0.2),
                nn.ReflectionPad1d(3),
                WNConv1d(ngf, 1, kernel_size=7, padding=0),
                nn.Tanh(),
            ]
            self.model = nn.Sequential(*model)
            self.apply(weights_init)

        def forward(self, x: Any) -> Any:
            return self.model(x)

    class NLayerDiscriminator(nn.Module):
        def __init__(self, ndf: int, n_layers: int, downsampling_factor: int) -> None:
            super().__init__()
            model = nn.ModuleDict()
            model["layer_0"] = nn.Sequential(
                nn.ReflectionPad1d(7),
                WNConv1d(1, ndf, kernel_size=15),
                nn.LeakyReLU(0.2, True),
            )
            nf = ndf
            stride = downsampling_factor
            for n in range(1, n_layers + 1):
                nf_prev = nf
                nf = min(nf * stride, 1024)
                model["layer_%d" % n] = nn.Sequential(  # noqa: UP031 (as written)
                    WNConv1d(
                        nf_prev,
                        nf,
                        kernel_size=stride * 10 + 1,
                        stride=stride,
                        padding=stride * 5,
                        groups=nf_prev // 4,
                    ),  # fmt: skip
                    nn.LeakyReLU(0.2, True),
                )
            nf_prev = nf
            nf = min(nf * 2, 1024)
            model["layer_%d" % (n_layers + 1)] = nn.Sequential(  # noqa: UP031
                WNConv1d(nf_prev, nf, kernel_size=5, stride=1, padding=2),
                nn.LeakyReLU(0.2, True),
            )
            model["layer_%d" % (n_layers + 2)] = WNConv1d(  # noqa: UP031
                nf, 1, kernel_size=3, stride=1, padding=1
            )
            self.model = model

        def forward(self, x: Any) -> list:
            results = []
            for key, layer in self.model.items():  # noqa: B007 (as written)
                x = layer(x)
                results.append(x)
            return results

    class Discriminator(nn.Module):
        def __init__(self, num_D: int, ndf: int, n_layers: int, downsampling_factor: int):
            super().__init__()
            self.model = nn.ModuleDict()
            for i in range(num_D):
                self.model[f"disc_{i}"] = NLayerDiscriminator(ndf, n_layers, downsampling_factor)
            self.downsample = nn.AvgPool1d(4, stride=2, padding=1, count_include_pad=False)
            self.apply(weights_init)

        def forward(self, x: Any) -> list:
            results = []
            for key, disc in self.model.items():  # noqa: B007 (as written)
                results.append(disc(x))
                x = self.downsample(x)
            return results

    class MelGAN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.netG = Generator(N_MEL, NGF, 2)
            self.netD = Discriminator(NUM_D, NDF, N_LAYERS_D, 2)
            self.fft = Audio2Mel()

    return MelGAN()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    melgan = make_model(torch_like)
    load_numpy_state(torch_like, melgan, init)
    netG, netD, fft = melgan.netG, melgan.netD, melgan.fft
    optG = torch.optim.Adam(netG.parameters(), lr=1e-3, betas=(0.5, 0.9))
    optD = torch.optim.Adam(netD.parameters(), lr=1e-3, betas=(0.5, 0.9))
    rng = np.random.default_rng(6)
    t = np.arange(64) / 64
    values: list[float] = []
    for _step in range(STEPS):
        freq = rng.uniform(2, 6, (2, 1, 1))
        x_t = as_tensor(torch_like, 0.5 * np.sin(2 * np.pi * freq * t), dtype=torch.float32)
        s_t = fft(x_t).detach()
        x_pred_t = netG(s_t)
        with torch.no_grad():
            s_pred_t = fft(x_pred_t.detach())
            s_error = F.l1_loss(s_t, s_pred_t).item()
        D_fake_det = netD(x_pred_t.detach())
        D_real = netD(x_t)
        loss_D = 0
        for scale in D_fake_det:
            loss_D += F.relu(1 + scale[-1]).mean()
        for scale in D_real:
            loss_D += F.relu(1 - scale[-1]).mean()
        netD.zero_grad()
        loss_D.backward()
        optD.step()
        D_fake = netD(x_pred_t)
        loss_G = 0
        for scale in D_fake:
            loss_G += -scale[-1].mean()
        loss_feat = 0
        feat_weights = 4.0 / (N_LAYERS_D + 1)
        D_weights = 1.0 / NUM_D
        wt = D_weights * feat_weights
        for i in range(NUM_D):
            for j in range(len(D_fake[i]) - 1):
                loss_feat += wt * F.l1_loss(D_fake[i][j], D_real[i][j].detach())
        netG.zero_grad()
        (loss_G + 10 * loss_feat).backward()
        optG.step()
        values.extend([loss_D.item(), loss_G.item(), loss_feat.item(), s_error])
    return values
