"""A spectral-masking speech denoiser as torchaudio-free PyTorch code writes it (the
"mask in the STFT domain" baselines of speech-enhancement repositories and tutorials:
``torch.stft`` -> magnitude mask -> ``torch.istft``), size-reduced.

The idioms: ``window = torch.hann_window(n_fft)``; ``torch.stft(x, n_fft,
hop_length=hop, win_length=n_fft, window=window, center=True, return_complex=True)``;
``mag = spec.abs()``, ``phase = torch.angle(spec)``; a small ``nn.Conv1d`` / ``nn.Linear`` mask
network on ``torch.log1p(mag)`` ending in ``torch.sigmoid``; the masked spectrum rebuilt with
``torch.polar(mag * mask, phase)`` and the equivalent ``mag * mask * torch.exp(1j * phase)``;
``torch.istft(masked, n_fft, hop_length=hop, window=window, length=x.shape[-1])``; an SI-SDR
loss (``torch.sum(..., dim=-1, keepdim=True)``, ``eps``, ``10 * torch.log10``); a spectral
L1 term on ``torch.view_as_real``; and training steps with ``torch.optim.Adam`` and
``clip_grad_norm_``. float64 throughout (complex128 spectra).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_FFT, HOP, BATCH, SAMPLES, STEPS, LR = 16, 4, 2, 96, 4, 3e-3
FREQS = N_FFT // 2 + 1


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn

    class MaskNet(nn.Module):
        """log-magnitude (B, F, T) -> mask in (0, 1) of the same shape."""

        def __init__(self, n_freq: int, hidden: int = 12) -> None:
            super().__init__()
            self.conv = nn.Conv1d(n_freq, hidden, kernel_size=3, padding=1)
            self.act = nn.PReLU()
            self.proj = nn.Linear(hidden, n_freq)

        def forward(self, logmag: Any) -> Any:
            h = self.act(self.conv(logmag))  # (B, hidden, T)
            h = self.proj(h.transpose(1, 2)).transpose(1, 2)  # (B, F, T)
            return torch.sigmoid(h)

    return MaskNet(FREQS)


def si_sdr(torch_like: Any, estimate: Any, reference: Any, eps: float = 1e-8) -> Any:
    """Scale-invariant SDR in dB, per signal."""
    torch = torch_like
    estimate = estimate - estimate.mean(dim=-1, keepdim=True)
    reference = reference - reference.mean(dim=-1, keepdim=True)
    dot = torch.sum(estimate * reference, dim=-1, keepdim=True)
    energy = torch.sum(reference**2, dim=-1, keepdim=True) + eps
    target = dot / energy * reference
    noise = estimate - target
    ratio = torch.sum(target**2, dim=-1) / (torch.sum(noise**2, dim=-1) + eps)
    return 10 * torch.log10(ratio + eps)


def enhance(torch_like: Any, model: Any, noisy: Any, window: Any) -> tuple[Any, Any]:
    torch = torch_like
    spec = torch.stft(
        noisy,
        N_FFT,
        hop_length=HOP,
        win_length=N_FFT,
        window=window,
        center=True,
        return_complex=True,
    )
    mag = spec.abs()
    phase = torch.angle(spec)
    mask = model(torch.log1p(mag))
    masked = torch.polar(mag * mask, phase)
    wav = torch.istft(masked, N_FFT, hop_length=HOP, window=window, length=noisy.shape[-1])
    return wav, masked


def _signals(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(SAMPLES) / 16.0
    freqs = rng.uniform(0.5, 3.0, (BATCH, 1))
    clean = np.sin(2 * math.pi * freqs * t) * np.hanning(SAMPLES)
    noisy = clean + 0.3 * rng.standard_normal((BATCH, SAMPLES))
    return clean, noisy


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(7)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    window = torch.hann_window(N_FFT)
    values: list[float] = [float(window.dtype == torch.float64)] + window.tolist()

    clean_np, noisy_np = _signals(rng)
    clean = as_tensor(torch_like, clean_np)
    noisy = as_tensor(torch_like, noisy_np)

    # the analysis / synthesis round trip and the two ways of rebuilding a spectrum
    spec = torch.stft(noisy, N_FFT, HOP, window=window, return_complex=True)
    values += list(spec.shape) + [float(spec.dtype == torch.complex128)]
    back = torch.istft(spec, N_FFT, HOP, window=window, length=noisy.shape[-1])
    values += [(back - noisy).abs().max().item()]
    mag, phase = spec.abs(), torch.angle(spec)
    half = torch.full_like(mag, 0.5)
    by_polar = torch.polar(mag * half, phase)
    by_exp = mag * half * torch.exp(1j * phase)
    values += [(by_polar - by_exp).abs().max().item(), float(by_exp.dtype == torch.complex128)]
    values += torch.view_as_real(by_polar)[0, 1, :3].flatten().tolist()

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    for _ in range(STEPS):
        optimizer.zero_grad()
        wav, masked = enhance(torch_like, model, noisy, window)
        target_spec = torch.stft(clean, N_FFT, HOP, window=window, return_complex=True)
        spec_l1 = (torch.view_as_real(masked) - torch.view_as_real(target_spec)).abs().mean()
        loss = -si_sdr(torch_like, wav, clean).mean() + spec_l1
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        optimizer.step()
        values += [loss.item(), spec_l1.item(), float(norm)]

    model.eval()
    with torch.no_grad():
        wav, _ = enhance(torch_like, model, noisy, window)
        values += si_sdr(torch_like, wav, clean).tolist()
        values += si_sdr(torch_like, noisy, clean).tolist()
        values += wav[0, ::8].tolist()
    return values
