"""FastSpeech 2's variance adaptor (ming024/FastSpeech2, ``model/modules.py`` and
``model/loss.py``) trained on mel targets augmented by SpecAugment (torchaudio's
``mask_along_axis_iid`` and the widely copied ``freq_mask`` / ``time_mask`` helpers),
size-reduced.

The idioms: ``VariancePredictor``'s ``nn.Sequential(OrderedDict([("conv1d_1", Conv(...)),
("relu_1", nn.ReLU()), ("layer_norm_1", nn.LayerNorm(...)), ("dropout_1", nn.Dropout(...)),
...]))`` around a ``Conv`` wrapper (``x.contiguous().transpose(1, 2)`` around
``nn.Conv1d``), ``out.squeeze(-1)`` and ``out.masked_fill(mask, 0.0)``; the pitch/energy bins
``nn.Parameter(torch.exp(torch.linspace(np.log(pitch_min), np.log(pitch_max), n_bins - 1)),
requires_grad=False)`` and ``nn.Parameter(torch.linspace(...), requires_grad=False)`` looked
up with ``torch.bucketize(target, self.pitch_bins)`` into an ``nn.Embedding``; the control
path ``torch.clamp((torch.round(torch.exp(log_duration_prediction) - 1) * d_control),
min=0)``; ``LengthRegulator``'s ``vec.expand(max(int(expand_size), 0), -1)`` with
``predicted[i].item()``, ``torch.cat(out, 0)``, ``torch.LongTensor(mel_len)`` and ``pad``'s
``F.pad(batch, (0, 0, 0, max_len - batch.size(0)), "constant", 0.0)`` / ``torch.stack``;
the ``torch.repeat_interleave(x, d, dim=0)`` regulator of later ports; ``get_mask_from_lengths``'
``torch.arange(0, max_len).unsqueeze(0).expand(batch_size, -1)`` and ``ids >=
lengths.unsqueeze(1).expand(-1, max_len)``; ``FastSpeech2Loss``'s ``src_masks = ~src_masks``,
``torch.log(duration_targets.float() + 1)``, ``log_duration_targets.requires_grad = False``,
``masked_select`` of predictions and targets, ``nn.MSELoss()`` / ``nn.L1Loss()``.
SpecAugment: ``value = torch.rand(specgrams.shape[:axis]) * mask_param``, ``min_value =
torch.rand(...) * (specgrams.size(axis) - value)``, ``mask_start = min_value.long()[...,
None, None]``, ``mask = torch.arange(0, specgrams.size(axis), dtype=dtype)``,
``specgrams.transpose(axis, -1).masked_fill((mask >= mask_start) & (mask < mask_end),
mask_value)``; and ``freq_mask``'s ``random.randrange`` span written over
``cloned[0][f_zero:mask_end] = cloned.mean()``.

Changed: the phoneme encoder and mel decoder are single linear layers; hidden 256 -> 8,
80 mel bins -> 6, 4 phonemes of durations 0..3, a few Adam steps; data from
``torch.manual_seed`` (both libraries reproduce PyTorch's CPU generator).
"""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

HIDDEN, N_MELS, N_BINS, N_PHON, BATCH, STEPS, VOCAB = 8, 6, 5, 4, 3, 3, 10


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class Conv(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size=1, stride=1, padding=0,
                     dilation=1, bias=True, w_init="linear") -> None:  # fmt: skip
            super().__init__()
            self.conv = nn.Conv1d(in_channels, out_channels, kernel_size=kernel_size,
                                  stride=stride, padding=padding, dilation=dilation,
                                  bias=bias)  # fmt: skip

        def forward(self, x: Any) -> Any:
            x = x.contiguous().transpose(1, 2)
            x = self.conv(x)
            x = x.contiguous().transpose(1, 2)
            return x

    class VariancePredictor(nn.Module):
        """Duration, Pitch and Energy Predictor"""

        def __init__(self) -> None:
            super().__init__()
            self.input_size = HIDDEN
            self.filter_size = HIDDEN
            self.kernel = 3
            self.conv_output_size = HIDDEN
            self.dropout = 0.0
            self.conv_layer = nn.Sequential(
                OrderedDict(
                    [
                        (
                            "conv1d_1",
                            Conv(
                                self.input_size,
                                self.filter_size,
                                kernel_size=self.kernel,
                                padding=(self.kernel - 1) // 2,
                            ),
                        ),  # fmt: skip
                        ("relu_1", nn.ReLU()),
                        ("layer_norm_1", nn.LayerNorm(self.filter_size)),
                        ("dropout_1", nn.Dropout(self.dropout)),
                        (
                            "conv1d_2",
                            Conv(
                                self.filter_size,
                                self.filter_size,
                                kernel_size=self.kernel,
                                padding=1,
                            ),
                        ),  # fmt: skip
                        ("relu_2", nn.ReLU()),
                        ("layer_norm_2", nn.LayerNorm(self.filter_size)),
                        ("dropout_2", nn.Dropout(self.dropout)),
                    ]
                )
            )
            self.linear_layer = nn.Linear(self.conv_output_size, 1)

        def forward(self, encoder_output: Any, mask: Any) -> Any:
            out = self.conv_layer(encoder_output)
            out = self.linear_layer(out)
            out = out.squeeze(-1)
            if mask is not None:
                out = out.masked_fill(mask, 0.0)
            return out

    def pad(input_ele: list, mel_max_length: int | None = None) -> Any:
        if mel_max_length:
            max_len = mel_max_length
        else:
            max_len = max([input_ele[i].size(0) for i in range(len(input_ele))])
        out_list = list()
        for _i, batch in enumerate(input_ele):
            if len(batch.shape) == 1:
                one_batch_padded = F.pad(batch, (0, max_len - batch.size(0)), "constant", 0.0)
            elif len(batch.shape) == 2:
                one_batch_padded = F.pad(batch, (0, 0, 0, max_len - batch.size(0)), "constant", 0.0)
            out_list.append(one_batch_padded)
        out_padded = torch.stack(out_list)
        return out_padded

    class LengthRegulator(nn.Module):
        """Length Regulator"""

        def LR(self, x: Any, duration: Any, max_len: int | None) -> tuple[Any, Any]:
            output = list()
            mel_len = list()
            for batch, expand_target in zip(x, duration, strict=True):
                expanded = self.expand(batch, expand_target)
                output.append(expanded)
                mel_len.append(expanded.shape[0])
            if max_len is not None:
                output = pad(output, max_len)
            else:
                output = pad(output)
            return output, torch.LongTensor(mel_len)

        def expand(self, batch: Any, predicted: Any) -> Any:
            out = list()
            for i, vec in enumerate(batch):
                expand_size = predicted[i].item()
                out.append(vec.expand(max(int(expand_size), 0), -1))
            out = torch.cat(out, 0)
            return out

        def forward(self, x: Any, duration: Any, max_len: int | None) -> tuple[Any, Any]:
            output, mel_len = self.LR(x, duration, max_len)
            return output, mel_len

    class VarianceAdaptor(nn.Module):
        """Variance Adaptor"""

        def __init__(self) -> None:
            super().__init__()
            self.duration_predictor = VariancePredictor()
            self.length_regulator = LengthRegulator()
            self.pitch_predictor = VariancePredictor()
            self.energy_predictor = VariancePredictor()
            pitch_min, pitch_max, energy_min, energy_max = 60.0, 400.0, -1.5, 2.0
            self.pitch_bins = nn.Parameter(
                torch.exp(torch.linspace(np.log(pitch_min), np.log(pitch_max), N_BINS - 1)),
                requires_grad=False,
            )
            self.energy_bins = nn.Parameter(
                torch.linspace(energy_min, energy_max, N_BINS - 1), requires_grad=False
            )
            self.pitch_embedding = nn.Embedding(N_BINS, HIDDEN)
            self.energy_embedding = nn.Embedding(N_BINS, HIDDEN)

        def get_pitch_embedding(self, x, target, mask, control) -> tuple[Any, Any]:
            prediction = self.pitch_predictor(x, mask)
            if target is not None:
                embedding = self.pitch_embedding(torch.bucketize(target, self.pitch_bins))
            else:
                prediction = prediction * control
                embedding = self.pitch_embedding(torch.bucketize(prediction, self.pitch_bins))
            return prediction, embedding

        def get_energy_embedding(self, x, target, mask, control) -> tuple[Any, Any]:
            prediction = self.energy_predictor(x, mask)
            if target is not None:
                embedding = self.energy_embedding(torch.bucketize(target, self.energy_bins))
            else:
                prediction = prediction * control
                embedding = self.energy_embedding(torch.bucketize(prediction, self.energy_bins))
            return prediction, embedding

        def forward(self, x, src_mask, mel_mask=None, max_len=None, pitch_target=None,
                    energy_target=None, duration_target=None, p_control=1.0,
                    e_control=1.0, d_control=1.0):  # fmt: skip
            log_duration_prediction = self.duration_predictor(x, src_mask)
            pitch_prediction, pitch_embedding = self.get_pitch_embedding(
                x, pitch_target, src_mask, p_control
            )
            x = x + pitch_embedding
            energy_prediction, energy_embedding = self.get_energy_embedding(
                x, energy_target, src_mask, e_control
            )
            x = x + energy_embedding
            if duration_target is not None:
                x, mel_len = self.length_regulator(x, duration_target, max_len)
                duration_rounded = duration_target
            else:
                duration_rounded = torch.clamp(
                    (torch.round(torch.exp(log_duration_prediction) - 1) * d_control), min=0
                )
                x, mel_len = self.length_regulator(x, duration_rounded, max_len)
                mel_mask = get_mask_from_lengths(torch_like, mel_len)
            return (x, pitch_prediction, energy_prediction, log_duration_prediction,
                    duration_rounded, mel_len, mel_mask)  # fmt: skip

    class TinyFastSpeech2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Embedding(VOCAB, HIDDEN, padding_idx=0)
            self.variance_adaptor = VarianceAdaptor()
            self.mel_linear = nn.Linear(HIDDEN, N_MELS)

        def forward(self, texts, src_mask, mel_mask=None, max_len=None, p_targets=None,
                    e_targets=None, d_targets=None, d_control=1.0):  # fmt: skip
            output = self.encoder(texts)
            output, p_pred, e_pred, log_d_pred, d_rounded, mel_lens, mel_mask = (
                self.variance_adaptor(
                    output,
                    src_mask,
                    mel_mask,
                    max_len,
                    p_targets,
                    e_targets,
                    d_targets,
                    d_control=d_control,
                )  # fmt: skip
            )
            output = self.mel_linear(output)
            return output, p_pred, e_pred, log_d_pred, d_rounded, mel_lens, mel_mask

    return TinyFastSpeech2()


def get_mask_from_lengths(torch_like: Any, lengths: Any, max_len: int | None = None) -> Any:
    batch_size = lengths.shape[0]
    if max_len is None:
        max_len = torch_like.max(lengths).item()
    ids = torch_like.arange(0, max_len).unsqueeze(0).expand(batch_size, -1)
    mask = ids >= lengths.unsqueeze(1).expand(-1, max_len)
    return mask


def mask_along_axis_iid(torch_like, specgrams, mask_param, mask_value, axis, p=1.0):
    """torchaudio.functional.mask_along_axis_iid, written out."""
    torch = torch_like
    dim = specgrams.dim()
    value = torch.rand(specgrams.shape[: (dim - 2)], dtype=specgrams.dtype) * mask_param
    min_value = torch.rand(specgrams.shape[: (dim - 2)], dtype=specgrams.dtype) * (
        specgrams.size(axis) - value
    )
    # Create broadcastable mask
    mask_start = min_value.long()[..., None, None]
    mask_end = (min_value.long() + value.long())[..., None, None]
    mask = torch.arange(0, specgrams.size(axis), dtype=specgrams.dtype)
    # Per batch example masking
    specgrams = specgrams.transpose(axis, -1)
    specgrams = specgrams.masked_fill((mask >= mask_start) & (mask < mask_end), mask_value)
    specgrams = specgrams.transpose(axis, -1)
    return specgrams


def freq_mask(spec: Any, F: int = 30, num_masks: int = 1, replace_with_zero: bool = False):
    cloned = spec.clone()
    num_mel_channels = cloned.shape[1]
    for _i in range(0, num_masks):
        f = random.randrange(0, F)
        f_zero = random.randrange(0, num_mel_channels - f)
        # avoids randrange error if values are equal and range is empty
        if f_zero == f_zero + f:
            return cloned
        mask_end = random.randrange(f_zero, f_zero + f)
        if replace_with_zero:
            cloned[0][f_zero:mask_end] = 0
        else:
            cloned[0][f_zero:mask_end] = cloned.mean()
    return cloned


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    torch.manual_seed(3)
    random.seed(3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.9, 0.98), eps=1e-9)
    mse_loss, mae_loss = nn.MSELoss(), nn.L1Loss()
    values: list[float] = []
    for _step in range(STEPS):
        src_lens = torch.tensor([4, 3, 2])
        src_masks = get_mask_from_lengths(torch, src_lens, N_PHON)
        texts = torch.randint(1, VOCAB, (BATCH, N_PHON)).masked_fill(src_masks, 0)
        duration_targets = torch.randint(0, 4, (BATCH, N_PHON)).masked_fill(src_masks, 0)
        mel_lens = duration_targets.sum(1)
        max_mel_len = int(mel_lens.max())
        mel_masks = get_mask_from_lengths(torch, mel_lens, max_mel_len)
        pitch_targets = torch.exp(torch.rand(BATCH, N_PHON) * 2 + 4)
        energy_targets = torch.randn(BATCH, N_PHON)
        mel_targets = torch.randn(BATCH, max_mel_len, N_MELS)
        # SpecAugment on the (batch, freq, time) targets
        spec = mel_targets.transpose(1, 2)
        spec = mask_along_axis_iid(torch, spec, 3, 0.0, 1)
        spec = mask_along_axis_iid(torch, spec, 2, spec.mean(), 2)
        spec = freq_mask(spec, F=3, num_masks=2)
        mel_targets = spec.transpose(1, 2)

        out = model(texts, src_masks, mel_masks, max_mel_len, pitch_targets, energy_targets,
                    duration_targets)  # fmt: skip
        mel_predictions, pitch_predictions, energy_predictions, log_duration_predictions = out[:4]
        src_masks_v = ~src_masks
        mel_masks_v = ~mel_masks
        log_duration_targets = torch.log(duration_targets.float() + 1)
        mel_targets = mel_targets[:, : mel_masks_v.shape[1], :]
        mel_masks_v = mel_masks_v[:, : mel_masks_v.shape[1]]
        log_duration_targets.requires_grad = False
        pitch_targets.requires_grad = False
        pitch_predictions = pitch_predictions.masked_select(src_masks_v)
        pitch_targets = torch.log(pitch_targets).masked_select(src_masks_v)
        energy_predictions = energy_predictions.masked_select(src_masks_v)
        energy_targets = energy_targets.masked_select(src_masks_v)
        log_duration_predictions = log_duration_predictions.masked_select(src_masks_v)
        log_duration_targets = log_duration_targets.masked_select(src_masks_v)
        mel_predictions = mel_predictions.masked_select(mel_masks_v.unsqueeze(-1))
        mel_targets = mel_targets.masked_select(mel_masks_v.unsqueeze(-1))
        mel_loss = mae_loss(mel_predictions, mel_targets)
        pitch_loss = mse_loss(pitch_predictions, pitch_targets)
        energy_loss = mse_loss(energy_predictions, energy_targets)
        duration_loss = mse_loss(log_duration_predictions, log_duration_targets)
        total_loss = mel_loss + duration_loss + pitch_loss + energy_loss
        optimizer.zero_grad()
        total_loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values += [total_loss.item(), mel_loss.item(), pitch_loss.item(), energy_loss.item()]
        values += [duration_loss.item(), float(mel_targets.numel())]

    # inference: predicted durations, control factors, repeat_interleave regulator
    model.eval()
    with torch.no_grad():
        texts = torch.randint(1, VOCAB, (1, N_PHON))
        src_masks = torch.zeros(1, N_PHON, dtype=torch.bool)
        out = model(texts, src_masks, d_control=2.0)
        mel, _, _, log_d, d_rounded, mel_lens, mel_mask = out
        values += d_rounded.flatten().tolist() + mel_lens.tolist() + [float(mel_mask.sum())]
        values.append(mel.abs().sum().item())
        enc = model.encoder(texts)[0]
        reps = d_rounded[0].long()
        expanded = torch.repeat_interleave(enc, reps, dim=0)
        values += [float(expanded.shape[0]), expanded.sum().item()]
        bins = torch.bucketize(torch.tensor([59.0, 60.0, 100.0, 400.0, 500.0]),
                               model.variance_adaptor.pitch_bins, right=True)  # fmt: skip
        values += bins.tolist()
    return values
