"""DDSP, size-reduced from acids-ircam/ddsp_pytorch (``ddsp/core.py`` and ``ddsp/model.py``):
a GRU decoder reading pitch and loudness drives a harmonic synthesizer and a filtered-noise
synthesizer, a learnable reverb convolves the sum, and a multi-scale spectral loss trains it.

The idioms: ``scale_function``'s ``2 * torch.sigmoid(x)**(math.log(10)) + 1e-7``;
``remove_above_nyquist``'s ``pitch * torch.arange(1, n_harm + 1).to(pitch)`` and
``(pitches < sampling_rate / 2).float() + 1e-4``; ``amplitudes /= amplitudes.sum(-1,
keepdim=True)`` and ``amplitudes *= total_amp``; ``upsample``'s ``nn.functional.interpolate(
signal, size=signal.shape[-1] * factor)`` where ``factor`` is the registered buffer
``self.block_size`` (a 0-d tensor); ``harmonic_synth``'s ``omega = torch.cumsum(2 * math.pi *
pitch / sampling_rate, 1)`` and ``(torch.sin(omegas) * amplitudes).sum(-1, keepdim=True)``;
``amp_to_impulse_response``'s ``torch.stack([amp, torch.zeros_like(amp)], -1)``,
``torch.view_as_complex``, ``fft.irfft``, ``torch.roll(amp, filter_size // 2, -1)``,
``torch.hann_window(filter_size, dtype=amp.dtype, device=amp.device)``,
``nn.functional.pad(amp, (0, int(target_size) - int(filter_size)))`` and ``torch.roll(amp,
-filter_size // 2, -1)``; ``fft_convolve``'s zero padding and ``fft.irfft(fft.rfft(signal) *
fft.rfft(kernel))``; the noise ``torch.rand(impulse.shape[0], impulse.shape[1],
self.block_size).to(impulse) * 2 - 1`` (a tensor size); ``Reverb``'s ``nn.Parameter((
torch.rand(length) * 2 - 1).unsqueeze(-1))``, ``torch.exp(-nn.functional.softplus(-self.decay)
* self.t * 500)``, ``impulse[:, 0] = 1``; the model's ``nn.ModuleList([mlp(1, hidden_size, 3)]
* 2)`` (one shared MLP), ``nn.GRU(..., batch_first=True)``, buffers ``sampling_rate`` /
``block_size`` / ``cache_gru`` / ``phase``; ``multiscale_fft``'s ``torch.stft(signal, s,
int(s * (1 - overlap)), s, torch.hann_window(s).to(signal), True, normalized=True,
return_complex=True).abs()`` and ``safe_log``'s ``torch.log(x + eps)``; the mean/std loudness
normalisation.

Changed: 16 kHz / block 160 -> sampling rate 800 with blocks of 16 samples, 6 frames, 8
harmonics, 5 noise bands, hidden 512 -> 8, scales (64, 32); random pitch/loudness
contours drawn by ``torch.manual_seed`` (both libraries reproduce PyTorch's generator).
"""

from __future__ import annotations

import math
from typing import Any

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL, ATOL = 1e-4, 1e-5
SR, BLOCK, FRAMES, N_HARM, N_BANDS, HIDDEN, BATCH, STEPS = 800, 16, 6, 8, 5, 8, 2, 3
SCALES, OVERLAP = (64, 32), 0.75


def safe_log(torch_like: Any, x: Any) -> Any:
    return torch_like.log(x + 1e-7)


def multiscale_fft(torch_like: Any, signal: Any, scales: tuple, overlap: float) -> list:
    torch = torch_like
    stfts = []
    for s in scales:
        S = torch.stft(signal, s, int(s * (1 - overlap)), s, torch.hann_window(s).to(signal),
                       True, normalized=True, return_complex=True).abs()  # fmt: skip
        stfts.append(S)
    return stfts


def scale_function(torch_like: Any, x: Any) -> Any:
    return 2 * torch_like.sigmoid(x) ** (math.log(10)) + 1e-7


def remove_above_nyquist(torch_like: Any, amplitudes: Any, pitch: Any, sampling_rate: Any):
    n_harm = amplitudes.shape[-1]
    pitches = pitch * torch_like.arange(1, n_harm + 1).to(pitch)
    aa = (pitches < sampling_rate / 2).float() + 1e-4
    return amplitudes * aa


def upsample(torch_like: Any, signal: Any, factor: Any) -> Any:
    signal = signal.permute(0, 2, 1)
    signal = torch_like.nn.functional.interpolate(signal, size=signal.shape[-1] * factor)
    return signal.permute(0, 2, 1)


def harmonic_synth(torch_like: Any, pitch: Any, amplitudes: Any, sampling_rate: Any) -> Any:
    torch = torch_like
    n_harmonic = amplitudes.shape[-1]
    omega = torch.cumsum(2 * math.pi * pitch / sampling_rate, 1)
    omegas = omega * torch.arange(1, n_harmonic + 1).to(omega)
    signal = (torch.sin(omegas) * amplitudes).sum(-1, keepdim=True)
    return signal


def amp_to_impulse_response(torch_like: Any, amp: Any, target_size: Any) -> Any:
    torch = torch_like
    amp = torch.stack([amp, torch.zeros_like(amp)], -1)
    amp = torch.view_as_complex(amp)
    amp = torch.fft.irfft(amp)
    filter_size = amp.shape[-1]
    amp = torch.roll(amp, filter_size // 2, -1)
    win = torch.hann_window(filter_size, dtype=amp.dtype, device=amp.device)
    amp = amp * win
    amp = torch.nn.functional.pad(amp, (0, int(target_size) - int(filter_size)))
    amp = torch.roll(amp, -filter_size // 2, -1)
    return amp


def fft_convolve(torch_like: Any, signal: Any, kernel: Any) -> Any:
    torch = torch_like
    signal = torch.nn.functional.pad(signal, (0, signal.shape[-1]))
    kernel = torch.nn.functional.pad(kernel, (kernel.shape[-1], 0))
    output = torch.fft.irfft(torch.fft.rfft(signal) * torch.fft.rfft(kernel))
    output = output[..., output.shape[-1] // 2 :]
    return output


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def mlp(in_size: int, hidden_size: int, n_layers: int) -> Any:
        channels = [in_size] + (n_layers) * [hidden_size]
        net = []
        for i in range(n_layers):
            net.append(nn.Linear(channels[i], channels[i + 1]))
            net.append(nn.LayerNorm(channels[i + 1]))
            net.append(nn.LeakyReLU())
        return nn.Sequential(*net)

    def gru(n_input: int, hidden_size: int) -> Any:
        return nn.GRU(n_input * hidden_size, hidden_size, batch_first=True)

    class Reverb(nn.Module):
        def __init__(self, length, sampling_rate, initial_wet=0, initial_decay=5) -> None:
            super().__init__()
            self.length = length
            self.sampling_rate = sampling_rate
            self.noise = nn.Parameter((torch.rand(length) * 2 - 1).unsqueeze(-1))
            self.decay = nn.Parameter(torch.tensor(float(initial_decay)))
            self.wet = nn.Parameter(torch.tensor(float(initial_wet)))
            t = torch.arange(self.length) / self.sampling_rate
            t = t.reshape(1, -1, 1)
            self.register_buffer("t", t)

        def build_impulse(self) -> Any:
            t = torch.exp(-nn.functional.softplus(-self.decay) * self.t * 500)
            noise = self.noise * t
            impulse = noise * torch.sigmoid(self.wet)
            impulse[:, 0] = 1
            return impulse

        def forward(self, x: Any) -> Any:
            lenx = x.shape[1]
            impulse = self.build_impulse()
            impulse = nn.functional.pad(impulse, (0, 0, 0, lenx - self.length))
            x = fft_convolve(torch, x.squeeze(-1), impulse.squeeze(-1)).unsqueeze(-1)
            return x

    class DDSP(nn.Module):
        def __init__(self, hidden_size, n_harmonic, n_bands, sampling_rate, block_size) -> None:
            super().__init__()
            self.register_buffer("sampling_rate", torch.tensor(sampling_rate))
            self.register_buffer("block_size", torch.tensor(block_size))
            self.in_mlps = nn.ModuleList([mlp(1, hidden_size, 3)] * 2)
            self.gru = gru(2, hidden_size)
            self.out_mlp = mlp(hidden_size + 2, hidden_size, 3)
            self.proj_matrices = nn.ModuleList(
                [nn.Linear(hidden_size, n_harmonic + 1), nn.Linear(hidden_size, n_bands)]
            )
            self.reverb = Reverb(sampling_rate // 10, sampling_rate)
            self.register_buffer("cache_gru", torch.zeros(1, 1, hidden_size))
            self.register_buffer("phase", torch.zeros(1))

        def forward(self, pitch: Any, loudness: Any) -> Any:
            hidden = torch.cat([self.in_mlps[0](pitch), self.in_mlps[1](loudness)], -1)
            hidden = torch.cat([self.gru(hidden)[0], pitch, loudness], -1)
            hidden = self.out_mlp(hidden)

            # harmonic part
            param = scale_function(torch, self.proj_matrices[0](hidden))
            total_amp = param[..., :1]
            amplitudes = param[..., 1:]
            amplitudes = remove_above_nyquist(torch, amplitudes, pitch, self.sampling_rate)
            amplitudes /= amplitudes.sum(-1, keepdim=True)
            amplitudes *= total_amp
            amplitudes = upsample(torch, amplitudes, self.block_size)
            pitch = upsample(torch, pitch, self.block_size)
            harmonic = harmonic_synth(torch, pitch, amplitudes, self.sampling_rate)

            # noise part
            param = scale_function(torch, self.proj_matrices[1](hidden) - 5)
            impulse = amp_to_impulse_response(torch, param, self.block_size)
            noise = (
                torch.rand(impulse.shape[0], impulse.shape[1], self.block_size).to(impulse) * 2 - 1
            )
            noise = fft_convolve(torch, noise, impulse).contiguous()
            noise = noise.reshape(noise.shape[0], -1, 1)
            signal = harmonic + noise

            # reverb part
            signal = self.reverb(signal)
            return signal

    return DDSP(HIDDEN, N_HARM, N_BANDS, SR, BLOCK)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    torch.manual_seed(9)
    mean_loudness, std_loudness = -4.0, 2.0
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    values: list[float] = []
    for _step in range(STEPS):
        pitch = 60 + 80 * torch.rand(BATCH, FRAMES, 1)
        loudness = -4 + 2 * torch.randn(BATCH, FRAMES, 1)
        t = torch.arange(FRAMES * BLOCK) / SR
        s = (torch.sin(2 * math.pi * 110 * t) * 0.5).expand(BATCH, -1)
        loudness = (loudness - mean_loudness) / std_loudness
        y = model(pitch, loudness).squeeze(-1)
        ori_stft = multiscale_fft(torch, s, SCALES, OVERLAP)
        rec_stft = multiscale_fft(torch, y, SCALES, OVERLAP)
        loss = 0
        for s_x, s_y in zip(ori_stft, rec_stft, strict=True):
            lin_loss = (s_x - s_y).abs().mean()
            log_loss = (safe_log(torch, s_x) - safe_log(torch, s_y)).abs().mean()
            loss = loss + lin_loss + log_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        values += [loss.item(), y.abs().mean().item(), model.reverb.decay.item()]
    return values
