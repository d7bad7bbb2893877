"""A Speech Commands keyword classifier without torchaudio, as the PyTorch audio tutorials'
``M5`` model and the many hand-written log-mel front ends (librosa's ``mel_frequencies`` /
``filters.mel`` and torchaudio's ``melscale_fbanks`` / ``AmplitudeToDB`` ported to plain torch)
write it, size-reduced: ``torch.stft(x, n_fft, hop_length=hop, win_length=n_fft,
window=torch.hann_window(n_fft), center=True, pad_mode='reflect', normalized=False,
onesided=True, return_complex=True)``, the power spectrogram ``spec.abs() ** 2`` (and
``torch.view_as_real`` + ``.pow(2).sum(-1)``), the HTK mel scale ``2595.0 * torch.log10(1.0 +
hz / 700.0)`` / ``700.0 * (10 ** (mel / 2595.0) - 1.0)``, ``torch.linspace(m_min, m_max,
n_mels + 2)`` in mel space, the triangular filters from ``f_diff = f_pts[1:] - f_pts[:-1]``,
``slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)``, ``down_slopes = (-1.0 * slopes[:,
:-2]) / f_diff[:-1]``, ``up_slopes = slopes[:, 2:] / f_diff[1:]``, ``torch.max(zero,
torch.min(down_slopes, up_slopes))`` (and the same with ``torch.clamp(..., min=0)``), Slaney
normalisation ``2.0 / (f_pts[2:n_mels + 2] - f_pts[:n_mels])``, ``torch.matmul(spec.transpose(-1,
-2), fb).transpose(-1, -2)``, ``torch.log(mel + 1e-6)`` and ``AmplitudeToDB`` (``10.0 *
torch.log10(torch.clamp(x, min=amin))``, ``- 10.0 * math.log10(max(amin, ref_value))``, the
``top_db`` floor ``torch.max(x_db, (x_db.amax(dim=(-3, -2, -1)) - top_db).view(-1, 1, 1, 1))``
and ``torch.clamp(x, min=x.max() - 80)``); SpecAugment masks at fixed (NumPy-drawn) positions
(``mask = (torch.arange(n) >= f0) & (torch.arange(n) < f0 + f)``, ``spec.masked_fill(mask.view(1,
1, -1, 1), 0.0)`` on frequency rows and on time columns, and the mean fill); a
``torch.fft.rfft`` / ``torch.fft.irfft(n=...)`` round trip and ``torch.istft`` inverting the
STFT; the ``M5`` 1-D conv net on the raw waveform (``nn.Conv1d(..., stride=16)`` +
``nn.BatchNorm1d`` + ``nn.MaxPool1d(4)``, ``F.avg_pool1d(x, x.shape[-1])``, ``x.permute(0, 2,
1)``, ``F.log_softmax(x, dim=2)``, ``F.nll_loss(output.squeeze(), target)``) and a small
``Conv2d`` + ``BatchNorm2d`` net on the log-mel image, each trained a few ``Adam`` steps;
``pred.argmax(dim=-1)`` and ``pred.squeeze().eq(target).sum().item()`` accuracy.

Changed: the 8 kHz one-second clips are 0.128 s synthetic tones plus noise (NumPy); the masks'
random positions come from NumPy; widths are small.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

# The conv biases before batch norm (as in M5), and M5's first batch-norm shifts, which reach the
# loss only through conv2 into a training-mode batch norm that cancels them, have gradients that
# are zero up to rounding; Adam scales that noise up to ~1e-7 of a step, which the eval pass
# (running statistics, nothing cancels) shows at ~2e-8 relative. Training values agree to 1e-9.
RTOL = 1e-6

SR, N_SAMPLES, N_FFT, HOP, N_MELS, N_CLS, BATCH, STEPS = 8000, 1024, 64, 16, 12, 3, 6, 3


def hz_to_mel(torch: Any, freq: Any) -> Any:
    return 2595.0 * torch.log10(1.0 + freq / 700.0)


def mel_to_hz(torch: Any, mels: Any) -> Any:
    return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)


def melscale_fbanks(
    torch: Any, n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int, norm: Any
) -> Any:
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_min = hz_to_mel(torch, torch.tensor(f_min))
    m_max = hz_to_mel(torch, torch.tensor(f_max))
    m_pts = torch.linspace(m_min.item(), m_max.item(), n_mels + 2)
    f_pts = mel_to_hz(torch, m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]  # (n_filter + 1)
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)  # (n_freqs, n_filter + 2)
    down_slopes = (-1.0 * slopes[:, :-2]) / f_diff[:-1]  # (n_freqs, n_filter)
    up_slopes = slopes[:, 2:] / f_diff[1:]  # (n_freqs, n_filter)
    zero = torch.zeros(1)
    fb = torch.max(zero, torch.min(down_slopes, up_slopes))
    if norm is not None and norm == "slaney":
        enorm = 2.0 / (f_pts[2 : n_mels + 2] - f_pts[:n_mels])
        fb *= enorm.unsqueeze(0)
    return fb


def amplitude_to_db(
    torch: Any, x: Any, multiplier: float, amin: float, db_multiplier: float, top_db: Any
) -> Any:
    x_db = multiplier * torch.log10(torch.clamp(x, min=amin))
    x_db -= multiplier * db_multiplier
    if top_db is not None:
        shape = x_db.size()
        packed_channels = shape[-3] if x_db.dim() > 2 else 1
        x_db = x_db.reshape(-1, packed_channels, shape[-2], shape[-1])
        x_db = torch.max(x_db, (x_db.amax(dim=(-3, -2, -1)) - top_db).view(-1, 1, 1, 1))
        x_db = x_db.reshape(shape)
    return x_db


def range_mask(torch: Any, n: int, start: int, width: int) -> Any:
    idx = torch.arange(n)
    return (idx >= start) & (idx < start + width)


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class M5(nn.Module):
        def __init__(self, n_input: int = 1, n_output: int = N_CLS, stride: int = 16) -> None:
            super().__init__()
            n_channel = 6
            self.conv1 = nn.Conv1d(n_input, n_channel, kernel_size=40, stride=stride)
            self.bn1 = nn.BatchNorm1d(n_channel)
            self.pool1 = nn.MaxPool1d(4)
            self.conv2 = nn.Conv1d(n_channel, n_channel, kernel_size=3)
            self.bn2 = nn.BatchNorm1d(n_channel)
            self.pool2 = nn.MaxPool1d(4)
            self.fc1 = nn.Linear(n_channel, n_output)

        def forward(self, x: Any) -> Any:
            x = self.conv1(x)
            x = F.relu(self.bn1(x))
            x = self.pool1(x)
            x = self.conv2(x)
            x = F.relu(self.bn2(x))
            x = self.pool2(x)
            x = F.avg_pool1d(x, x.shape[-1])
            x = x.permute(0, 2, 1)
            x = self.fc1(x)
            return F.log_softmax(x, dim=2)

    class MelCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 4, kernel_size=3, padding=1),
                nn.BatchNorm2d(4),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Conv2d(4, 8, kernel_size=3, padding=1),
                nn.BatchNorm2d(8),
                nn.ReLU(inplace=True),
                nn.AdaptiveAvgPool2d((1, 1)),
            )
            self.classifier = nn.Linear(8, N_CLS)

        def forward(self, x: Any) -> Any:
            return self.classifier(torch_like.flatten(self.features(x), 1))

    class Both(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.m5 = M5()
            self.mel_cnn = MelCNN()

    return Both()


def _waves(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(BATCH) % N_CLS
    t = np.arange(N_SAMPLES) / SR
    freqs = np.array([400.0, 1200.0, 2600.0])[labels] * (1 + 0.05 * rng.standard_normal(BATCH))
    waves = np.sin(2 * np.pi * freqs[:, None] * t) + 0.1 * rng.standard_normal((BATCH, N_SAMPLES))
    return waves[:, None, :], labels


def log_mel(torch: Any, waveform: Any, fb: Any, rng: np.random.Generator) -> list[Any]:
    """The front end: STFT -> power -> mel -> log / dB, then SpecAugment masks."""
    window = torch.hann_window(N_FFT)
    spec = torch.stft(
        waveform.squeeze(1),
        N_FFT,
        hop_length=HOP,
        win_length=N_FFT,
        window=window,
        center=True,
        pad_mode="reflect",
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    power = spec.abs() ** 2
    power_real = torch.view_as_real(spec).pow(2).sum(-1)
    mel = torch.matmul(power.transpose(-1, -2), fb).transpose(-1, -2)
    log_mel = torch.log(mel + 1e-6).unsqueeze(1)  # (B, 1, n_mels, time)
    db = amplitude_to_db(torch, mel.unsqueeze(1), 10.0, 1e-10, math.log10(max(1e-10, 1.0)), 80.0)
    db_simple = 10 * torch.log10(mel + 1e-10)
    db_simple = torch.clamp(db_simple, min=db_simple.max() - 80)
    n_frames = log_mel.shape[-1]
    f0, t0 = (int(v) for v in rng.integers(0, 4, size=2))
    freq_mask = range_mask(torch, N_MELS, f0, 3).view(1, 1, -1, 1)
    time_mask = range_mask(torch, n_frames, t0, 5).view(1, 1, 1, -1)
    augmented = log_mel.masked_fill(freq_mask, 0.0)
    augmented = augmented.masked_fill(time_mask, log_mel.mean().item())
    inverse = torch.istft(spec, N_FFT, hop_length=HOP, window=window, length=N_SAMPLES)
    return [spec, power, power_real, log_mel, db, db_simple, augmented, inverse]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(31)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    waves, labels = _waves(rng)
    waveform = as_tensor(torch, waves)
    target = as_tensor(torch, labels)
    fb = melscale_fbanks(torch, N_FFT // 2 + 1, 0.0, SR / 2, N_MELS, SR, norm="slaney")
    fb_htk = melscale_fbanks(torch, N_FFT // 2 + 1, 20.0, 3800.0, N_MELS, SR, norm=None)
    # the clamp spelling of the triangles
    mel_round = mel_to_hz(torch, hz_to_mel(torch, torch.tensor([0.0, 440.0, 4000.0])))
    values: list[float] = fb.sum(0).tolist() + fb_htk.sum(0).tolist() + mel_round.tolist()
    spec, power, power_real, lm, db, db_simple, augmented, inverse = log_mel(
        torch, waveform, fb, rng
    )
    values += list(spec.shape) + [float(spec.is_complex())]
    values += [(power - power_real).abs().max().item(), (inverse - waveform.squeeze(1)).abs().max()]
    values += [lm.sum().item(), db.min().item(), db.max().item(), db_simple.min().item()]
    values += [(augmented == 0).sum().item(), augmented.sum().item()]
    # rfft / irfft round trip
    rf = torch.fft.rfft(waveform, dim=-1)
    back = torch.fft.irfft(rf, n=N_SAMPLES, dim=-1)
    values += [rf.abs().max().item(), (back - waveform).abs().max().item()]
    values += torch.fft.rfftfreq(N_FFT, d=1.0 / SR)[:4].tolist()
    m5_opt = torch.optim.Adam(model.m5.parameters(), lr=0.01, weight_decay=0.0001)
    cnn_opt = torch.optim.Adam(model.mel_cnn.parameters(), lr=0.01)
    model.train()
    for _step in range(STEPS):
        m5_opt.zero_grad()
        output = model.m5(waveform)
        loss = F.nll_loss(output.squeeze(), target)
        loss.backward()
        m5_opt.step()
        cnn_opt.zero_grad()
        logits = model.mel_cnn(augmented)
        cnn_loss = F.cross_entropy(logits, target)
        cnn_loss.backward()
        cnn_opt.step()
        pred = output.argmax(dim=-1)
        correct = pred.squeeze().eq(target).sum().item()
        values += [loss.item(), cnn_loss.item(), float(correct)]
        values += [model.mel_cnn.features[0].weight.grad.abs().sum().item()]
    model.eval()
    with torch.no_grad():
        values += model.m5(waveform).flatten().tolist()
        values += model.mel_cnn(lm).flatten().tolist()
    return values


def check(values: list[float]) -> None:
    assert abs(values[2 * N_MELS + 1] - 440.0) < 1e-9  # hz -> mel -> hz
