"""Demucs (v1/v2 and facebookresearch/denoiser's waveform U-Net) as its ``model.py`` writes it,
size-reduced (depth 2, 4 hidden channels, a 2-channel 70-sample stereo excerpt, 2 sources).

The idioms: ``valid_length`` rounding the input up with ``math.ceil`` through the strided
encoder and the decoder, ``F.pad(mix, (delta // 2, delta - delta // 2))``; input normalisation
``mono = mix.mean(dim=1, keepdim=True)``, ``mean = mono.mean(dim=-1, keepdim=True)``, ``std =
mono.std(dim=-1, keepdim=True)``, ``(mix - mean) / (1e-5 + std)`` and its undo; encoder layers
``nn.Sequential(nn.Conv1d(chin, hidden, kernel, stride), nn.ReLU(), nn.Conv1d(hidden, 2 *
hidden, 1), nn.GLU(1))``; the BLSTM bottleneck (``x.permute(2, 0, 1)``, ``nn.LSTM(bidirectional=
True, num_layers=2, hidden_size=dim)``, ``nn.Linear(2 * dim, dim)``, ``x.permute(1, 2, 0)``);
decoder layers ``nn.Conv1d(hidden, 2 * hidden, 3, padding=1)`` + ``nn.GLU(1)`` +
``nn.ConvTranspose1d(hidden, chout, kernel, stride)`` (+ ``nn.ReLU()`` except the last), fed
``x + center_trim(skip, x)`` where ``center_trim`` slices ``tensor[..., delta // 2:-(delta -
delta // 2)]``; the rescaling ``rescale_module`` (``std = sub.weight.std().detach()``, ``scale =
(std / reference) ** 0.5``, ``sub.weight.data /= scale``); ``x.view(x.size(0), self.sources,
self.audio_channels, x.size(-1))``; an ``F.l1_loss`` on ``center_trim``'d targets; one
``torch.optim.Adam`` step and an evaluation under ``torch.no_grad()``; and denoiser's
factor-2 resampling around the model (``upsample2``/``downsample2``: a windowed-sinc kernel
from ``torch.hann_window(4 * zeros + 1, periodic=False)[1::2]``, ``torch.linspace``, ``t *=
math.pi``, ``torch.where(t == 0, torch.tensor(1., device=t.device, dtype=t.dtype), torch.sin(t)
/ t)``, ``kernel.to(x)``, ``F.conv1d(x.view(-1, 1, time), kernel, padding=zeros)[..., 1:]``,
``torch.stack([x, out], dim=-1).view(*other, -1)``, ``x[..., ::2]`` / ``x[..., 1::2]`` and
``.mul(0.5)``), with gradients.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

SOURCES, AUDIO_CHANNELS, CHANNELS, DEPTH, KERNEL, STRIDE, GROWTH = 2, 2, 4, 2, 8, 4, 2
BATCH, LENGTH, STEPS, LR, ZEROS = 2, 70, 2, 3e-4, 8


def center_trim(tensor: Any, reference: Any) -> Any:
    """Trim ``tensor`` on both sides so its last dimension is ``reference``'s size."""
    if hasattr(reference, "size"):
        reference = reference.size(-1)
    delta = tensor.size(-1) - reference
    if delta < 0:
        raise ValueError(f"tensor must be larger than reference. Delta is {delta}.")
    if delta:
        tensor = tensor[..., delta // 2 : -(delta - delta // 2)]
    return tensor


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class BLSTM(nn.Module):
        def __init__(self, dim: int, layers: int = 2) -> None:
            super().__init__()
            self.lstm = nn.LSTM(
                bidirectional=True, num_layers=layers, hidden_size=dim, input_size=dim
            )
            self.linear = nn.Linear(2 * dim, dim)

        def forward(self, x: Any) -> Any:
            x = x.permute(2, 0, 1)
            x = self.lstm(x)[0]
            x = self.linear(x)
            return x.permute(1, 2, 0)

    def rescale_conv(conv: Any, reference: float) -> None:
        std = conv.weight.std().detach()
        scale = (std / reference) ** 0.5
        conv.weight.data /= scale
        if conv.bias is not None:
            conv.bias.data /= scale

    def rescale_module(module: Any, reference: float) -> None:
        for sub in module.modules():
            if isinstance(sub, (nn.Conv1d, nn.ConvTranspose1d)):
                rescale_conv(sub, reference)

    class Demucs(nn.Module):
        def __init__(self, rescale: float = 0.1) -> None:
            super().__init__()
            self.sources = SOURCES
            self.audio_channels = AUDIO_CHANNELS
            self.kernel_size = KERNEL
            self.stride = STRIDE
            self.depth = DEPTH
            self.encoder = nn.ModuleList()
            self.decoder = nn.ModuleList()
            in_channels = AUDIO_CHANNELS
            channels = CHANNELS
            for index in range(DEPTH):
                encode = [
                    nn.Conv1d(in_channels, channels, KERNEL, STRIDE),
                    nn.ReLU(),
                    nn.Conv1d(channels, 2 * channels, 1),
                    nn.GLU(1),
                ]
                self.encoder.append(nn.Sequential(*encode))
                out_channels = in_channels if index > 0 else SOURCES * AUDIO_CHANNELS
                decode = [
                    nn.Conv1d(channels, 2 * channels, 3, padding=1),
                    nn.GLU(1),
                    nn.ConvTranspose1d(channels, out_channels, KERNEL, STRIDE),
                ]
                if index > 0:
                    decode.append(nn.ReLU())
                self.decoder.insert(0, nn.Sequential(*decode))
                in_channels = channels
                channels = int(GROWTH * channels)
            channels = in_channels
            self.lstm = BLSTM(channels)
            if rescale:
                rescale_module(self, reference=rescale)

        def valid_length(self, length: int) -> int:
            for _ in range(self.depth):
                length = math.ceil((length - self.kernel_size) / self.stride) + 1
                length = max(1, length)
            for _ in range(self.depth):
                length = (length - 1) * self.stride + self.kernel_size
            return int(length)

        def forward(self, mix: Any) -> Any:
            x = mix
            saved = [x]
            for encode in self.encoder:
                x = encode(x)
                saved.append(x)
            x = self.lstm(x)
            for decode in self.decoder:
                skip = center_trim(saved.pop(-1), x)
                x = x + skip
                x = decode(x)
            x = x.view(x.size(0), self.sources, self.audio_channels, x.size(-1))
            return x

    return Demucs()


def sinc(torch_like: Any, t: Any) -> Any:
    torch = torch_like
    return torch.where(t == 0, torch.tensor(1.0, device=t.device, dtype=t.dtype), torch.sin(t) / t)


def kernel_upsample2(torch_like: Any, zeros: int = ZEROS) -> Any:
    """denoiser's windowed-sinc interpolation kernel for a factor-2 resampling."""
    torch = torch_like
    win = torch.hann_window(4 * zeros + 1, periodic=False)
    winodd = win[1::2]
    t = torch.linspace(-zeros + 0.5, zeros - 0.5, 2 * zeros)
    t *= math.pi
    return (sinc(torch, t) * winodd).view(1, 1, -1)


def upsample2(torch_like: Any, x: Any, zeros: int = ZEROS) -> Any:
    F = torch_like.nn.functional
    *other, time = x.shape
    kernel = kernel_upsample2(torch_like, zeros).to(x)
    out = F.conv1d(x.view(-1, 1, time), kernel, padding=zeros)[..., 1:].view(*other, time)
    y = torch_like.stack([x, out], dim=-1)
    return y.view(*other, -1)


def downsample2(torch_like: Any, x: Any, zeros: int = ZEROS) -> Any:
    F = torch_like.nn.functional
    if x.shape[-1] % 2 != 0:
        x = F.pad(x, (0, 1))
    xeven = x[..., ::2]
    xodd = x[..., 1::2]
    *other, time = xodd.shape
    kernel = kernel_upsample2(torch_like, zeros).to(x)
    out = xeven + F.conv1d(xodd.view(-1, 1, time), kernel, padding=zeros)[..., :-1].view(
        *other, time
    )
    return out.view(*other, -1).mul(0.5)


def separate(torch_like: Any, model: Any, mix: Any, resample: bool = False) -> Any:
    """Normalise by the mono mixture's statistics, pad to a valid length, separate, undo
    (optionally at twice the sample rate, as facebookresearch/denoiser's ``resample=2``)."""
    F = torch_like.nn.functional
    mono = mix.mean(dim=1, keepdim=True)
    mean = mono.mean(dim=-1, keepdim=True)
    std = mono.std(dim=-1, keepdim=True)
    x = (mix - mean) / (1e-5 + std)
    if resample:
        x = upsample2(torch_like, x)
    length = x.shape[-1]
    delta = model.valid_length(length) - length
    padded = F.pad(x, (delta // 2, delta - delta // 2))
    out = model(padded)
    out = center_trim(out, length)
    if resample:
        out = downsample2(torch_like, out.contiguous())
    return out * std.unsqueeze(1) + mean.unsqueeze(1)


def _tracks(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(LENGTH) / 10.0
    bass = np.sin(2 * np.pi * 0.4 * t)[None, None] * rng.uniform(
        0.5, 1.0, (BATCH, AUDIO_CHANNELS, 1)
    )
    hats = 0.3 * rng.standard_normal((BATCH, AUDIO_CHANNELS, LENGTH))
    return np.stack([bass, hats], axis=1)  # (B, S, C, T)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(3)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    sources = as_tensor(torch, _tracks(rng))
    mix = sources.sum(dim=1)
    values = [float(model.valid_length(LENGTH)), float(model.valid_length(1))]
    values += center_trim(torch.arange(10.0), 7).tolist()

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    for _ in range(STEPS):
        estimates = separate(torch, model, mix)
        loss = F.l1_loss(estimates, center_trim(sources, estimates))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), *estimates.shape]

    model.eval()
    with torch.no_grad():
        estimates = separate(torch, model, mix)
        values += [F.l1_loss(estimates, sources).item()]
        values += estimates[0, :, 0, ::10].flatten().tolist()
        values += [model.encoder[0][0].weight.std().item()]
        wave = as_tensor(torch, np.sin(np.arange(40) / 3.0))
        values += [(downsample2(torch, upsample2(torch, wave)) - wave)[10:-10].abs().max().item()]
    estimates = separate(torch, model, mix, resample=True)
    loss = F.l1_loss(estimates, sources)
    loss.backward()
    values += [loss.item(), *estimates.shape, model.lstm.linear.bias.grad.abs().sum().item()]
    return values
