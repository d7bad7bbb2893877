"""jik876/hifi-gan (``models.py``, ``meldataset.py``, ``train.py``), the HiFi-GAN vocoder of
Kong et al., size-reduced: the ``Generator`` (``conv_pre``, ``ConvTranspose1d`` upsamplers and a
``ResBlock1`` of dilated ``Conv1d``s, every one under the old ``torch.nn.utils.weight_norm`` hook,
``self.ups.apply(init_weights)``, ``torch.tanh`` on ``conv_post`` and ``remove_weight_norm`` for
inference); ``DiscriminatorP`` (a waveform padded with ``F.pad(x, (0, n_pad), "reflect")`` and
folded into 2-d by ``x.view(b, c, t // self.period, self.period)``, ``Conv2d`` with ``(k, 1)``
kernels, ``torch.flatten(x, 1, -1)``) inside ``MultiPeriodDiscriminator``; ``DiscriminatorS``
(grouped ``Conv1d``s, the first one under ``torch.nn.utils.spectral_norm``) inside
``MultiScaleDiscriminator`` with its ``AvgPool1d(4, 2, padding=2)`` mean pools; ``feature_loss``,
the LSGAN ``discriminator_loss`` / ``generator_loss``; ``mel_spectrogram`` (the mel basis and
``torch.hann_window`` cached in global dicts, reflect padding by ``(n_fft - hop_size) / 2``,
``torch.stft(..., center=False, return_complex=True)``, ``torch.view_as_real``,
``torch.sqrt(spec.pow(2).sum(-1) + 1e-9)``, ``torch.matmul(mel_basis, spec)`` and
``torch.log(torch.clamp(x, min=1e-5) * C)``); ``train.py``'s two ``AdamW`` optimizers (the
discriminators' over ``itertools.chain(msd.parameters(), mpd.parameters())``), the
discriminator step on ``y_g_hat.detach()``, the generator step with ``F.l1_loss(y_mel,
y_g_hat_mel) * 45`` plus feature matching, and ``ExponentialLR`` per epoch.

Changed: librosa's mel filter bank is a small triangular bank built in NumPy; the mel basis is
cast to the waveform's dtype instead of ``.float()`` (the run is in float64); the LJSpeech clips
are two NumPy waveforms of 48 samples; channels 512/128..1024 -> 4..16, periods [2, 3, 5, 7,
11] -> [2, 3, 5], n_fft 1024 -> 16, hop 256 -> 4, 80 mels -> 4, upsample rates [8, 8, 2, 2]
-> [2, 2]; 2 training steps.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor

LRELU_SLOPE = 0.1
N_FFT = 16
NUM_MELS = 4
SAMPLING_RATE = 800
HOP_SIZE = 4
WIN_SIZE = 16
FMIN = 0
FMAX = 400
SEGMENT = 48
LEARNING_RATE = 2e-4
ADAM_B1, ADAM_B2 = 0.8, 0.99
LR_DECAY = 0.999

mel_basis: dict[str, Any] = {}
hann_window: dict[str, Any] = {}


def get_padding(kernel_size: int, dilation: int = 1) -> int:
    return int((kernel_size * dilation - dilation) / 2)


def init_weights(m: Any, mean: float = 0.0, std: float = 0.01) -> None:
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        m.weight.data.normal_(mean, std)


def _mel_filters(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """A triangular mel filter bank (stands in for ``librosa.filters.mel``)."""
    mel = 2595.0 * np.log10(1.0 + np.array([fmin, fmax]) / 700.0)
    hz = 700.0 * (10 ** (np.linspace(mel[0], mel[1], n_mels + 2) / 2595.0) - 1.0)
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    up = (freqs[None, :] - hz[:-2, None]) / (hz[1:-1, None] - hz[:-2, None])
    down = (hz[2:, None] - freqs[None, :]) / (hz[2:, None] - hz[1:-1, None])
    return np.maximum(0.0, np.minimum(up, down))


def dynamic_range_compression_torch(
    torch: Any, x: Any, C: float = 1, clip_val: float = 1e-5
) -> Any:
    return torch.log(torch.clamp(x, min=clip_val) * C)


def spectral_normalize_torch(torch: Any, magnitudes: Any) -> Any:
    output = dynamic_range_compression_torch(torch, magnitudes)
    return output


def mel_spectrogram(
    torch: Any,
    y: Any,
    n_fft: int,
    num_mels: int,
    sampling_rate: int,
    hop_size: int,
    win_size: int,
    fmin: float,
    fmax: float,
    center: bool = False,
) -> Any:
    global mel_basis, hann_window  # noqa: PLW0602 (as in meldataset.py)
    key = torch.__name__ + "_" + str(fmax) + "_" + str(y.device)
    if key not in mel_basis:
        mel = _mel_filters(sampling_rate, n_fft, num_mels, fmin, fmax)
        mel_basis[key] = torch.from_numpy(mel).to(y.dtype).to(y.device)
        hann_window[key] = torch.hann_window(win_size).to(y.device)

    y = torch.nn.functional.pad(
        y.unsqueeze(1),
        (int((n_fft - hop_size) / 2), int((n_fft - hop_size) / 2)),
        mode="reflect",
    )
    y = y.squeeze(1)

    spec = torch.stft(
        y,
        n_fft,
        hop_length=hop_size,
        win_length=win_size,
        window=hann_window[key],
        center=center,
        pad_mode="reflect",
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    spec = torch.view_as_real(spec)
    spec = torch.sqrt(spec.pow(2).sum(-1) + (1e-9))

    spec = torch.matmul(mel_basis[key], spec)
    spec = spectral_normalize_torch(torch, spec)
    return spec


def _classes(torch_like: Any) -> tuple[type, type, type]:
    torch = torch_like
    nn = torch.nn
    F = torch.nn.functional
    Conv1d, ConvTranspose1d, Conv2d, AvgPool1d = (
        nn.Conv1d,
        nn.ConvTranspose1d,
        nn.Conv2d,
        nn.AvgPool1d,
    )
    remove_weight_norm, spectral_norm = nn.utils.remove_weight_norm, nn.utils.spectral_norm

    def weight_norm(module: Any) -> Any:
        with warnings.catch_warnings():  # the hook is deprecated for parametrizations.weight_norm
            warnings.simplefilter("ignore", FutureWarning)
            return nn.utils.weight_norm(module)

    class ResBlock1(torch.nn.Module):
        def __init__(self, channels: int, kernel_size: int = 3, dilation: tuple = (1, 3)) -> None:
            super(ResBlock1, self).__init__()  # noqa: UP008 (as in the repository)
            self.convs1 = nn.ModuleList(
                [
                    weight_norm(
                        Conv1d(
                            channels,
                            channels,
                            kernel_size,
                            1,
                            dilation=d,
                            padding=get_padding(kernel_size, d),
                        )
                    )
                    for d in dilation
                ]
            )
            self.convs1.apply(init_weights)
            self.convs2 = nn.ModuleList(
                [
                    weight_norm(
                        Conv1d(
                            channels,
                            channels,
                            kernel_size,
                            1,
                            dilation=1,
                            padding=get_padding(kernel_size, 1),
                        )
                    )
                    for _ in dilation
                ]
            )
            self.convs2.apply(init_weights)

        def forward(self, x: Any) -> Any:
            for c1, c2 in zip(self.convs1, self.convs2, strict=True):
                xt = F.leaky_relu(x, LRELU_SLOPE)
                xt = c1(xt)
                xt = F.leaky_relu(xt, LRELU_SLOPE)
                xt = c2(xt)
                x = xt + x
            return x

        def remove_weight_norm(self) -> None:
            for layer in self.convs1:
                remove_weight_norm(layer)
            for layer in self.convs2:
                remove_weight_norm(layer)

    class Generator(torch.nn.Module):
        def __init__(self) -> None:
            super(Generator, self).__init__()  # noqa: UP008
            upsample_rates, upsample_kernel_sizes = [2, 2], [4, 4]
            resblock_kernel_sizes = [3]
            initial_channel = 8
            self.num_kernels = len(resblock_kernel_sizes)
            self.num_upsamples = len(upsample_rates)
            self.conv_pre = weight_norm(Conv1d(NUM_MELS, initial_channel, 7, 1, padding=3))

            self.ups = nn.ModuleList()
            for i, (u, k) in enumerate(zip(upsample_rates, upsample_kernel_sizes, strict=True)):
                self.ups.append(
                    weight_norm(
                        ConvTranspose1d(
                            initial_channel // (2**i),
                            initial_channel // (2 ** (i + 1)),
                            k,
                            u,
                            padding=(k - u) // 2,
                        )
                    )
                )

            self.resblocks = nn.ModuleList()
            for i in range(len(self.ups)):
                ch = initial_channel // (2 ** (i + 1))
                for k in resblock_kernel_sizes:
                    self.resblocks.append(ResBlock1(ch, k))

            self.conv_post = weight_norm(Conv1d(ch, 1, 7, 1, padding=3))
            self.ups.apply(init_weights)
            self.conv_post.apply(init_weights)

        def forward(self, x: Any) -> Any:
            x = self.conv_pre(x)
            for i in range(self.num_upsamples):
                x = F.leaky_relu(x, LRELU_SLOPE)
                x = self.ups[i](x)
                xs = None
                for j in range(self.num_kernels):
                    if xs is None:
                        xs = self.resblocks[i * self.num_kernels + j](x)
                    else:
                        xs += self.resblocks[i * self.num_kernels + j](x)
                x = xs / self.num_kernels
            x = F.leaky_relu(x)
            x = self.conv_post(x)
            x = torch.tanh(x)
            return x

        def remove_weight_norm(self) -> None:
            for layer in self.ups:
                remove_weight_norm(layer)
            for layer in self.resblocks:
                layer.remove_weight_norm()
            remove_weight_norm(self.conv_pre)
            remove_weight_norm(self.conv_post)

    class DiscriminatorP(torch.nn.Module):
        def __init__(
            self,
            period: int,
            kernel_size: int = 5,
            stride: int = 3,
            use_spectral_norm: bool = False,
        ) -> None:
            super(DiscriminatorP, self).__init__()  # noqa: UP008
            self.period = period
            norm_f = weight_norm if use_spectral_norm == False else spectral_norm  # noqa: E712
            self.convs = nn.ModuleList(
                [
                    norm_f(
                        Conv2d(1, 4, (kernel_size, 1), (stride, 1), padding=(get_padding(5, 1), 0))
                    ),
                    norm_f(
                        Conv2d(4, 8, (kernel_size, 1), (stride, 1), padding=(get_padding(5, 1), 0))
                    ),
                ]
            )
            self.conv_post = norm_f(Conv2d(8, 1, (3, 1), 1, padding=(1, 0)))

        def forward(self, x: Any) -> tuple[Any, list]:
            fmap = []

            # 1d to 2d
            b, c, t = x.shape
            if t % self.period != 0:  # pad first
                n_pad = self.period - (t % self.period)
                x = F.pad(x, (0, n_pad), "reflect")
                t = t + n_pad
            x = x.view(b, c, t // self.period, self.period)

            for layer in self.convs:
                x = layer(x)
                x = F.leaky_relu(x, LRELU_SLOPE)
                fmap.append(x)
            x = self.conv_post(x)
            fmap.append(x)
            x = torch.flatten(x, 1, -1)

            return x, fmap

    class MultiPeriodDiscriminator(torch.nn.Module):
        def __init__(self) -> None:
            super(MultiPeriodDiscriminator, self).__init__()  # noqa: UP008
            self.discriminators = nn.ModuleList(
                [
                    DiscriminatorP(2),
                    DiscriminatorP(3),
                    DiscriminatorP(5),
                ]
            )

        def forward(self, y: Any, y_hat: Any) -> tuple[list, list, list, list]:
            y_d_rs = []
            y_d_gs = []
            fmap_rs = []
            fmap_gs = []
            for _i, d in enumerate(self.discriminators):
                y_d_r, fmap_r = d(y)
                y_d_g, fmap_g = d(y_hat)
                y_d_rs.append(y_d_r)
                fmap_rs.append(fmap_r)
                y_d_gs.append(y_d_g)
                fmap_gs.append(fmap_g)

            return y_d_rs, y_d_gs, fmap_rs, fmap_gs

    class DiscriminatorS(torch.nn.Module):
        def __init__(self, use_spectral_norm: bool = False) -> None:
            super(DiscriminatorS, self).__init__()  # noqa: UP008
            norm_f = weight_norm if use_spectral_norm == False else spectral_norm  # noqa: E712
            self.convs = nn.ModuleList(
                [
                    norm_f(Conv1d(1, 8, 15, 1, padding=7)),
                    norm_f(Conv1d(8, 8, 41, 2, groups=4, padding=20)),
                    norm_f(Conv1d(8, 16, 41, 4, groups=8, padding=20)),
                ]
            )
            self.conv_post = norm_f(Conv1d(16, 1, 3, 1, padding=1))

        def forward(self, x: Any) -> tuple[Any, list]:
            fmap = []
            for layer in self.convs:
                x = layer(x)
                x = F.leaky_relu(x, LRELU_SLOPE)
                fmap.append(x)
            x = self.conv_post(x)
            fmap.append(x)
            x = torch.flatten(x, 1, -1)

            return x, fmap

    class MultiScaleDiscriminator(torch.nn.Module):
        def __init__(self) -> None:
            super(MultiScaleDiscriminator, self).__init__()  # noqa: UP008
            self.discriminators = nn.ModuleList(
                [
                    DiscriminatorS(use_spectral_norm=True),
                    DiscriminatorS(),
                    DiscriminatorS(),
                ]
            )
            self.meanpools = nn.ModuleList([AvgPool1d(4, 2, padding=2), AvgPool1d(4, 2, padding=2)])

        def forward(self, y: Any, y_hat: Any) -> tuple[list, list, list, list]:
            y_d_rs = []
            y_d_gs = []
            fmap_rs = []
            fmap_gs = []
            for i, d in enumerate(self.discriminators):
                if i != 0:
                    y = self.meanpools[i - 1](y)
                    y_hat = self.meanpools[i - 1](y_hat)
                y_d_r, fmap_r = d(y)
                y_d_g, fmap_g = d(y_hat)
                y_d_rs.append(y_d_r)
                fmap_rs.append(fmap_r)
                y_d_gs.append(y_d_g)
                fmap_gs.append(fmap_g)

            return y_d_rs, y_d_gs, fmap_rs, fmap_gs

    return Generator, MultiPeriodDiscriminator, MultiScaleDiscriminator


def feature_loss(fmap_r: list, fmap_g: list) -> Any:
    loss = 0
    for dr, dg in zip(fmap_r, fmap_g, strict=True):
        for rl, gl in zip(dr, dg, strict=True):
            loss += (rl - gl).abs().mean()
    return loss * 2


def discriminator_loss(disc_real_outputs: list, disc_generated_outputs: list) -> tuple:
    loss = 0
    r_losses = []
    g_losses = []
    for dr, dg in zip(disc_real_outputs, disc_generated_outputs, strict=True):
        r_loss = ((1 - dr) ** 2).mean()
        g_loss = (dg**2).mean()
        loss += r_loss + g_loss
        r_losses.append(r_loss.item())
        g_losses.append(g_loss.item())

    return loss, r_losses, g_losses


def generator_loss(disc_outputs: list) -> tuple:
    loss = 0
    gen_losses = []
    for dg in disc_outputs:
        l = ((1 - dg) ** 2).mean()  # noqa: E741 (as in the repository)
        gen_losses.append(l)
        loss += l

    return loss, gen_losses


def make_model(torch_like: Any) -> Any:
    Generator, MultiPeriodDiscriminator, MultiScaleDiscriminator = _classes(torch_like)
    return torch_like.nn.ModuleDict(
        {
            "generator": Generator(),
            "mpd": MultiPeriodDiscriminator(),
            "msd": MultiScaleDiscriminator(),
        }
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch_like)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    generator, mpd, msd = model["generator"], model["mpd"], model["msd"]
    rng = np.random.default_rng(11)
    t = np.arange(SEGMENT) / SAMPLING_RATE
    audio = 0.5 * np.sin(2 * np.pi * np.array([[60.0], [130.0]]) * t) + 0.05 * rng.standard_normal(
        (2, SEGMENT)
    )
    values: list[float] = []

    optim_g = torch.optim.AdamW(generator.parameters(), LEARNING_RATE, betas=[ADAM_B1, ADAM_B2])
    optim_d = torch.optim.AdamW(
        itertools.chain(msd.parameters(), mpd.parameters()), LEARNING_RATE, betas=[ADAM_B1, ADAM_B2]
    )
    scheduler_g = torch.optim.lr_scheduler.ExponentialLR(optim_g, gamma=LR_DECAY, last_epoch=-1)
    scheduler_d = torch.optim.lr_scheduler.ExponentialLR(optim_d, gamma=LR_DECAY, last_epoch=-1)

    generator.train()
    mpd.train()
    msd.train()
    for _epoch in range(2):
        y = as_tensor(torch, audio)
        mel_args = (N_FFT, NUM_MELS, SAMPLING_RATE, HOP_SIZE, WIN_SIZE, FMIN, FMAX)
        x = mel_spectrogram(torch, y, *mel_args)
        y_mel = x
        y = y.unsqueeze(1)

        y_g_hat = generator(x)
        y_g_hat_mel = mel_spectrogram(torch, y_g_hat.squeeze(1), *mel_args)

        optim_d.zero_grad()

        # MPD
        y_df_hat_r, y_df_hat_g, _, _ = mpd(y, y_g_hat.detach())
        loss_disc_f, losses_disc_f_r, losses_disc_f_g = discriminator_loss(y_df_hat_r, y_df_hat_g)

        # MSD
        y_ds_hat_r, y_ds_hat_g, _, _ = msd(y, y_g_hat.detach())
        loss_disc_s, losses_disc_s_r, losses_disc_s_g = discriminator_loss(y_ds_hat_r, y_ds_hat_g)

        loss_disc_all = loss_disc_s + loss_disc_f

        loss_disc_all.backward()
        optim_d.step()

        # Generator
        optim_g.zero_grad()

        # L1 Mel-Spectrogram Loss
        loss_mel = F.l1_loss(y_mel, y_g_hat_mel) * 45

        y_df_hat_r, y_df_hat_g, fmap_f_r, fmap_f_g = mpd(y, y_g_hat)
        y_ds_hat_r, y_ds_hat_g, fmap_s_r, fmap_s_g = msd(y, y_g_hat)
        loss_fm_f = feature_loss(fmap_f_r, fmap_f_g)
        loss_fm_s = feature_loss(fmap_s_r, fmap_s_g)
        loss_gen_f, losses_gen_f = generator_loss(y_df_hat_g)
        loss_gen_s, losses_gen_s = generator_loss(y_ds_hat_g)
        loss_gen_all = loss_gen_s + loss_gen_f + loss_fm_s + loss_fm_f + loss_mel

        loss_gen_all.backward()
        optim_g.step()

        with torch.no_grad():
            mel_error = F.l1_loss(y_mel, y_g_hat_mel).item()
        values += [loss_disc_all.item(), loss_gen_all.item(), mel_error, loss_fm_f.item()]
        values += losses_disc_f_r + losses_disc_s_g + [g.item() for g in losses_gen_s]

        scheduler_g.step()
        scheduler_d.step()

    # the spectral norm's power-iteration vector, updated by every training forward
    values.append(msd.discriminators[0].convs[0].weight_u.sum().item())

    # inference.py: remove_weight_norm, then synthesise without gradients
    generator.eval()
    generator.remove_weight_norm()
    with torch.no_grad():
        audio_out = generator(mel_spectrogram(torch, as_tensor(torch, audio), *mel_args))
        audio_out = audio_out.squeeze()
        values += [audio_out.sum().item(), audio_out.abs().max().item()]
    values.append(float(len(generator.state_dict())))
    return values
