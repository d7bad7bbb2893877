"""A DeepSpeech2-style recogniser with its audio front end written in plain torch, as people write
it when they drop torchaudio (the ``deepspeech.pytorch`` / ESPnet / NeMo preprocessors ported to
``torch`` calls), size-reduced: variable-length waveforms zero-padded into a batch with their
``lengths``; ``torch.hann_window(win_length, periodic=True)``; ``torch.stft(x, n_fft,
hop_length=hop, win_length=win_length, window=window, center=True, pad_mode="reflect",
return_complex=True)`` and the frame lengths ``lengths // hop + 1``; the power spectrogram
``spec.abs().pow(2)`` (and ``torch.view_as_real(spec).pow(2).sum(-1)``); a Slaney-style mel
filterbank built from ``torch.linspace`` in mel space, ``torch.minimum(lower, upper)`` of the
triangle slopes and ``torch.clamp(..., min=0.0)``; the log-mel both as ``torch.log(mel + 1e-6)`` and
as ``10 * torch.log10(torch.clamp(mel, min=1e-10))``; SpecAugment time and frequency masks from
``torch.arange`` comparisons (``(t >= t0[:, None]) & (t < (t0 + w)[:, None])``) and
``masked_fill``; per-utterance mean/variance normalisation over the valid frames only (a
``sequence_mask`` from ``torch.arange(T)[None, :] < lengths[:, None]``, and the loop over
``feats[i, :, :length]`` with ``.mean(dim=-1, keepdim=True)`` / ``.std(dim=-1, keepdim=True)``);
the DeepSpeech2 ``MaskConv`` stack (``nn.Conv2d`` strided in frequency, ``nn.BatchNorm2d``,
``nn.Hardtanh(0, 20, inplace=True)``, padded frames zeroed again with ``masked_fill``), the
``(B, C, F, T) -> (T, B, C*F)`` ``view`` / ``transpose``, a bidirectional ``nn.GRU`` over
``nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)`` and
``pad_packed_sequence(..., total_length=T)``, the summed directions ``x.view(T, B, 2,
-1).sum(2)``, ``log_softmax(-1)`` into ``nn.CTCLoss(blank=0, zero_infinity=True)``, an utterance
classification head on the masked mean over time with ``F.cross_entropy(..., label_smoothing=
0.1)``, ``Adam`` steps, and greedy CTC decoding (``argmax(-1)``, ``torch.unique_consecutive``,
blanks dropped).

Changed: the utterances are 0.05-0.08 s synthetic chirps plus noise at 1 kHz (NumPy); the masks'
random positions and the transcripts come from NumPy; widths are small.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

SR, N_FFT, WIN, HOP, N_MELS = 1000, 16, 16, 8, 8
CONV_CH, HIDDEN, N_CHARS, N_LABELS, BATCH = 3, 6, 5, 3, 4  # char 0 is the CTC blank
LENGTHS = [80, 56, 72, 64]


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class MaskConv(nn.Module):
        def __init__(self, seq_module: Any) -> None:
            super().__init__()
            self.seq_module = seq_module

        def forward(self, x: Any, lengths: Any) -> Any:
            t = torch_like.arange(x.size(3))
            mask = t[None, :] >= lengths[:, None]  # (B, T): padded frames
            for module in self.seq_module:
                x = module(x)
                x = x.masked_fill(mask[:, None, None, :], 0.0)
            return x, lengths

    class DeepSpeech(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = MaskConv(
                nn.Sequential(
                    nn.Conv2d(1, CONV_CH, kernel_size=(3, 3), stride=(2, 1), padding=(1, 1)),
                    nn.BatchNorm2d(CONV_CH),
                    nn.Hardtanh(0, 20, inplace=True),
                )
            )
            rnn_input_size = CONV_CH * (N_MELS // 2)
            self.rnn = nn.GRU(rnn_input_size, HIDDEN, bidirectional=True)
            self.fc = nn.Linear(HIDDEN, N_CHARS, bias=False)
            self.classifier = nn.Linear(HIDDEN, N_LABELS)

        def forward(self, x: Any, lengths: Any) -> tuple[Any, Any, Any]:
            x, output_lengths = self.conv(x.unsqueeze(1), lengths)
            sizes = x.size()
            x = x.view(sizes[0], sizes[1] * sizes[2], sizes[3])  # (B, C*F, T)
            x = x.transpose(1, 2).transpose(0, 1).contiguous()  # (T, B, C*F)
            total_length = x.size(0)
            packed = nn.utils.rnn.pack_padded_sequence(
                x, output_lengths.cpu(), enforce_sorted=False
            )
            packed, h_n = self.rnn(packed)
            x, _ = nn.utils.rnn.pad_packed_sequence(packed, total_length=total_length)
            x = x.view(x.size(0), x.size(1), 2, -1).sum(2)  # sum the two directions
            log_probs = self.fc(x).log_softmax(-1)  # (T, B, C)
            mask = (torch_like.arange(total_length)[:, None] < output_lengths[None, :]).to(x.dtype)
            pooled = (x * mask.unsqueeze(-1)).sum(0) / output_lengths[:, None].to(x.dtype)
            return log_probs, output_lengths, self.classifier(pooled)

    return DeepSpeech()


def hz_to_mel(f: Any) -> Any:
    return 2595.0 * np.log10(1.0 + f / 700.0)


def mel_filterbank(torch_like: Any, n_freqs: int, n_mels: int, sample_rate: int) -> Any:
    """(n_freqs, n_mels) triangular filters, Slaney-normalised."""
    torch = torch_like
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_min, m_max = hz_to_mel(0.0), hz_to_mel(sample_rate / 2)
    m_pts = torch.linspace(m_min, m_max, n_mels + 2)
    f_pts = 700.0 * (10 ** (m_pts / 2595.0) - 1.0)
    lower = (all_freqs[:, None] - f_pts[None, :-2]) / (f_pts[1:-1] - f_pts[:-2])
    upper = (f_pts[None, 2:] - all_freqs[:, None]) / (f_pts[2:] - f_pts[1:-1])
    fb = torch.clamp(torch.minimum(lower, upper), min=0.0)
    enorm = 2.0 / (f_pts[2 : n_mels + 2] - f_pts[:n_mels])
    return fb * enorm.unsqueeze(0)


def waveforms() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    batch = np.zeros((BATCH, max(LENGTHS)))
    for i, n in enumerate(LENGTHS):
        t = np.arange(n) / SR
        f0 = 60.0 + 40.0 * i
        batch[i, :n] = np.sin(2 * math.pi * (f0 + 900.0 * t) * t) + 0.1 * rng.standard_normal(n)
    return batch, np.array(LENGTHS)


def front_end(
    torch_like: Any, wav: Any, lengths: Any, t0: Any, f0: Any, log10: bool = False
) -> tuple[Any, Any]:
    torch = torch_like
    window = torch.hann_window(WIN, periodic=True, dtype=wav.dtype)
    spec = torch.stft(
        wav,
        N_FFT,
        hop_length=HOP,
        win_length=WIN,
        window=window,
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    power = spec.abs().pow(2)  # (B, F, T)
    fb = mel_filterbank(torch, N_FFT // 2 + 1, N_MELS, SR)
    mel = torch.matmul(power.transpose(1, 2), fb).transpose(1, 2)  # (B, n_mels, T)
    if log10:
        feats = 10 * torch.log10(torch.clamp(mel, min=1e-10))
    else:
        feats = torch.log(mel + 1e-6)
    frames = lengths // HOP + 1
    n_mels, n_frames = feats.shape[1], feats.shape[2]

    # SpecAugment: one time mask and one frequency mask per utterance
    t = torch.arange(n_frames)
    time_mask = (t[None, :] >= t0[:, None]) & (t[None, :] < (t0 + 2)[:, None])
    f = torch.arange(n_mels)
    freq_mask = (f[None, :] >= f0[:, None]) & (f[None, :] < (f0 + 2)[:, None])
    feats = feats.masked_fill(time_mask[:, None, :], 0.0)
    feats = feats.masked_fill(freq_mask[:, :, None], 0.0)

    # per-utterance mean / variance normalisation over the valid frames
    valid = t[None, :] < frames[:, None]  # (B, T)
    m = valid[:, None, :].to(feats.dtype)
    count = frames[:, None, None].to(feats.dtype)
    mean = (feats * m).sum(-1, keepdim=True) / count
    var = ((feats - mean).pow(2) * m).sum(-1, keepdim=True) / (count - 1)
    feats = ((feats - mean) / torch.sqrt(var + 1e-5)).masked_fill(~valid[:, None, :], 0.0)
    return feats, frames


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    wav_np, lengths_np = waveforms()
    rng = np.random.default_rng(9)
    wav, lengths = as_tensor(torch, wav_np), as_tensor(torch, lengths_np)
    values: list[float] = []

    # the window and the spectrogram's shape / dtype
    window = torch.hann_window(WIN, periodic=True)
    values += [window.sum().item(), window[0].item(), window[WIN // 2].item()]
    values += [torch.hann_window(WIN, periodic=False)[-1].item()]
    values += [torch.hann_window(WIN + 1, periodic=False)[:WIN].sub(window).abs().max().item()]
    spec = torch.stft(wav, N_FFT, HOP, WIN, window, return_complex=True)
    values += list(spec.shape) + [float(spec.dtype == torch.complex128)]
    values += [(torch.view_as_real(spec).pow(2).sum(-1) - spec.abs().pow(2)).abs().max().item()]
    fb = mel_filterbank(torch, N_FFT // 2 + 1, N_MELS, SR)
    values += fb.sum(0).tolist() + [float((fb >= 0).all().item())]

    # each utterance alone: the batched, padded front end agrees on the valid frames
    no_t0 = torch.full((BATCH,), -10, dtype=torch.long)
    plain, frames = front_end(torch, wav, lengths, no_t0, no_t0)
    values += frames.tolist()
    for i, n in enumerate(LENGTHS):
        alone = torch.stft(
            wav[i, :n], N_FFT, hop_length=HOP, window=torch.hann_window(WIN), return_complex=True
        )
        p = alone.abs().pow(2)
        values += [p.shape[-1], p[:, : frames[i] - 2].sum().item()]
        item = plain[i, :, : frames[i]]
        values += [item.mean(dim=-1).abs().max().item(), item.std(dim=-1).mean().item()]

    log10_feats, _ = front_end(torch, wav, lengths, no_t0, no_t0, log10=True)
    values += [log10_feats.pow(2).sum().item(), log10_feats.abs().max().item()]
    mel = torch.matmul(spec.abs().pow(2).transpose(1, 2), fb).transpose(1, 2)
    db = 10 * torch.log10(torch.clamp(mel, min=1e-10))
    values += [db.mean().item(), db.min().item(), torch.log(mel + 1e-6).max().item()]

    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    ctc_loss = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    targets_np = rng.integers(1, N_CHARS, size=(BATCH, 3))
    target_lengths = torch.tensor([3, 2, 3, 1])
    targets = as_tensor(torch, targets_np)
    labels = as_tensor(torch, rng.integers(0, N_LABELS, size=BATCH))
    for _ in range(4):
        t0 = as_tensor(torch, rng.integers(0, 8, size=BATCH))
        f0 = as_tensor(torch, rng.integers(0, N_MELS - 2, size=BATCH))
        feats, frames = front_end(torch, wav, lengths, t0, f0)
        model.train()
        log_probs, out_lengths, logits = model(feats, frames)
        loss_ctc = ctc_loss(log_probs, targets, out_lengths, target_lengths)
        loss_ce = F.cross_entropy(logits, labels, label_smoothing=0.1)
        loss = loss_ctc + 0.5 * loss_ce
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        values += [loss_ctc.item(), loss_ce.item()]
        values += [log_probs[frames[1] :, 1].exp().sum(-1).sub(1).abs().max().item()]

    # evaluation and greedy CTC decoding
    model.eval()
    with torch.no_grad():
        log_probs, out_lengths, logits = model(plain, frames)
    best = log_probs.argmax(-1).transpose(0, 1)  # (B, T)
    for i in range(BATCH):
        path = torch.unique_consecutive(best[i, : out_lengths[i]])
        decoded = path[path != 0]
        values += [len(decoded), decoded.sum().item()]
    values += (
        [best.sum().item()]
        + logits.argmax(-1).tolist()
        + [model.conv.seq_module[1].running_var.sum().item()]
    )
    return values


def check(values: list[float]) -> None:
    # a periodic Hann window of length N is the first N points of the symmetric one of N + 1
    assert values[4] < 1e-12, values[4]
