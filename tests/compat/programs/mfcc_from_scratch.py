"""MFCC features written in plain torch (no torchaudio), as the "speech features from scratch"
tutorials and python_speech_features / Kaldi ports write them, feeding a tiny keyword classifier.

The idioms: pre-emphasis ``torch.cat([x[:, :1], x[:, 1:] - 0.97 * x[:, :-1]], dim=1)``; framing
with ``x.unfold(-1, frame_length, hop)`` and a periodic Hann window
``torch.hann_window(win, periodic=True)``; the power spectrum two ways, ``torch.fft.rfft(frames *
window, n=n_fft).abs() ** 2`` and ``torch.stft(x, n_fft, hop_length=hop, win_length=win,
window=window, center=False, return_complex=True).abs().pow(2)`` (checked equal); the
triangular mel filterbank from ``torch.linspace`` in mel space, ``torch.floor((n_fft + 1) *
hz / sr)`` bins and ``torch.clamp(torch.minimum(up, down), min=0)`` ramps; ``torch.matmul`` into
mel energies and ``torch.log(mel.clamp_min(1e-10))``; the orthonormal DCT-II matrix
``torch.cos(math.pi / n * (k + 0.5) * m)`` scaled by ``math.sqrt(2 / n)`` and ``1 /
math.sqrt(2)`` on row 0; liftering ``1 + L / 2 * torch.sin(math.pi * n / L)``; delta features by
``F.conv1d`` with a ``[-2, -1, 0, 1, 2] / 10`` kernel over ``groups=n_mfcc``, once on a
``F.pad(..., mode='replicate')`` input and once with ``padding='same'``; per-utterance CMVN
``(x - x.mean(dim=-1, keepdim=True)) / (x.std(dim=-1, keepdim=True) + 1e-5)``; and a few
``torch.optim.SGD`` (momentum) steps of a small conv classifier on the stacked
``torch.cat([mfcc, delta, delta2], dim=1)`` features with ``F.cross_entropy``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

SR, N_FFT, WIN, HOP, N_MELS, N_MFCC, LIFTER = 800, 32, 24, 8, 10, 6, 22
BATCH, SAMPLES, CLASSES, STEPS, LR = 4, 200, 2, 4, 0.05


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class KeywordNet(nn.Module):
        def __init__(self, in_ch: int = 3 * N_MFCC, hidden: int = 8) -> None:
            super().__init__()
            self.conv = nn.Conv1d(in_ch, hidden, kernel_size=3, padding=1)
            self.bn = nn.BatchNorm1d(hidden)
            self.fc = nn.Linear(hidden, CLASSES)

        def forward(self, x: Any) -> Any:
            x = torch_like.relu(self.bn(self.conv(x)))
            return self.fc(x.mean(dim=-1))

    return KeywordNet()


def hz_to_mel(hz: Any) -> Any:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def mel_filterbank(torch_like: Any) -> Any:
    """(n_mels, n_fft // 2 + 1) triangular filters, python_speech_features style."""
    torch = torch_like
    low, high = float(hz_to_mel(0.0)), float(hz_to_mel(SR / 2))
    mels = torch.linspace(low, high, N_MELS + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = torch.floor((N_FFT + 1) * hz / SR)
    freqs = torch.arange(N_FFT // 2 + 1).to(mels.dtype)
    left, center, right = bins[:-2, None], bins[1:-1, None], bins[2:, None]
    up = (freqs - left) / (center - left).clamp_min(1.0)
    down = (right - freqs) / (right - center).clamp_min(1.0)
    return torch.clamp(torch.minimum(up, down), min=0.0)


def dct_matrix(torch_like: Any, n_mfcc: int, n: int) -> Any:
    """Orthonormal DCT-II, (n_mfcc, n): row k = cos(pi / n * (m + 0.5) * k)."""
    torch = torch_like
    k = torch.arange(n_mfcc).to(torch.get_default_dtype()).unsqueeze(1)
    m = torch.arange(n).to(torch.get_default_dtype()).unsqueeze(0)
    dct = torch.cos(math.pi / n * (m + 0.5) * k) * math.sqrt(2.0 / n)
    dct[0] *= 1.0 / math.sqrt(2.0)
    return dct


def deltas(torch_like: Any, feats: Any, same: bool) -> Any:
    """Regression deltas over time (N = 2) for (B, C, T) features."""
    torch = torch_like
    F = torch_like.nn.functional
    channels = feats.shape[1]
    kernel = torch.arange(-2.0, 3.0).to(feats.dtype) / 10.0
    kernel = kernel.view(1, 1, -1).repeat(channels, 1, 1)
    if same:
        return F.conv1d(feats, kernel, padding="same", groups=channels)
    return F.conv1d(F.pad(feats, (2, 2), mode="replicate"), kernel, groups=channels)


def mfcc(torch_like: Any, wave: Any, fbank: Any, dct: Any) -> tuple[Any, Any, Any]:
    torch = torch_like
    emphasized = torch.cat([wave[:, :1], wave[:, 1:] - 0.97 * wave[:, :-1]], dim=1)
    window = torch.hann_window(WIN, periodic=True, dtype=wave.dtype)
    frames = emphasized.unfold(-1, WIN, HOP)  # (B, n_frames, WIN)
    power = torch.fft.rfft(frames * window, n=N_FFT).abs() ** 2  # (B, n_frames, F)
    # torch.stft centres a short window inside each n_fft frame: the same power spectrum
    spec = torch.stft(
        emphasized,
        N_FFT,
        hop_length=HOP,
        win_length=WIN,
        window=window,
        center=False,
        return_complex=True,
    )
    power_stft = spec.abs().pow(2).transpose(1, 2)
    left = (N_FFT - WIN) // 2
    centred = torch.nn.functional.pad(window, (left, N_FFT - WIN - left))
    long_frames = emphasized.unfold(-1, N_FFT, HOP)
    power_long = torch.fft.rfft(long_frames * centred).abs() ** 2
    mel = torch.matmul(power, fbank.T)
    log_mel = torch.log(mel.clamp_min(1e-10))
    ceps = torch.matmul(log_mel, dct.T)  # (B, n_frames, n_mfcc)
    n = torch.arange(N_MFCC).to(wave.dtype)
    lift = 1 + (LIFTER / 2.0) * torch.sin(math.pi * n / LIFTER)
    return (ceps * lift).transpose(1, 2), power_long, power_stft


def _keywords(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(SAMPLES) / SR
    labels = np.array([0, 1, 0, 1])
    f0 = np.where(labels == 0, 90.0, 260.0)[:, None] * rng.uniform(0.9, 1.1, (BATCH, 1))
    wave = np.sin(2 * math.pi * f0 * t) * np.hanning(SAMPLES)
    return wave + 0.05 * rng.standard_normal((BATCH, SAMPLES)), labels


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(21)
    wave_np, labels_np = _keywords(rng)
    wave = as_tensor(torch, wave_np)
    labels = as_tensor(torch, labels_np)

    fbank = mel_filterbank(torch)
    dct = dct_matrix(torch, N_MFCC, N_MELS)
    values = fbank.sum(dim=1).tolist() + [float((fbank > 0).sum())]
    values += [(dct @ dct.T - torch.eye(N_MFCC)).abs().max().item()]
    values += torch.hann_window(8, periodic=True).tolist()

    ceps, power, power_stft = mfcc(torch, wave, fbank, dct)
    values += [(power - power_stft).abs().max().item(), *power.shape, *power_stft.shape]
    values += ceps[0, :, :3].flatten().tolist()
    d_rep = deltas(torch, ceps, same=False)
    d_same = deltas(torch, ceps, same=True)
    dd = deltas(torch, d_rep, same=False)
    values += d_rep[1, :2, :4].flatten().tolist() + d_same[1, :2, :4].flatten().tolist()
    values += [(d_rep - d_same)[..., 2:-2].abs().max().item()]
    feats = torch.cat([ceps, d_rep, dd], dim=1)
    feats = (feats - feats.mean(dim=-1, keepdim=True)) / (feats.std(dim=-1, keepdim=True) + 1e-5)
    values += [feats.mean().item(), feats.std().item(), *feats.shape]

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    model.train()
    for _ in range(STEPS):
        optimizer.zero_grad()
        logits = model(feats)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        values += [loss.item()]
    model.eval()
    with torch.no_grad():
        logits = model(feats)
        pred = logits.argmax(dim=-1)
        values += logits.flatten().tolist() + [pred.eq(labels).sum().item()]
    return values
