"""End-to-end neural speaker diarization (EEND, Fujita et al. 2019) as Xflick/EEND_PyTorch
writes it (``eend/pytorch_backend/models.py`` ``TransformerModel`` and ``NoamScheduler``,
``eend/pytorch_backend/loss.py`` ``pit_loss``/``batch_pit_loss``/``report_diarization_error``,
``eend/pytorch_backend/train.py``'s step), size-reduced.

The idioms kept: variable-length inputs padded by ``nn.utils.rnn.pad_sequence(src,
padding_value=-1, batch_first=True)`` and the outputs cut back with ``[out[:ilen] for out, ilen
in zip(output, ilens)]``; ``init_weights`` (``self.encoder.bias.data.zero_()``,
``self.encoder.weight.data.uniform_(-initrange, initrange)``); ``nn.Linear`` + ``nn.LayerNorm``
into a sequence-first ``TransformerEncoder(TransformerEncoderLayer(n_units, n_heads,
dim_feedforward, dropout), n_layers)`` with ``src.transpose(0, 1)`` and ``self.src_mask =
None``; ``pit_loss`` (``label[..., list(p)] for p in permutations(range(label.shape[-1]))``,
``torch.stack([F.binary_cross_entropy_with_logits(pred[label_delay:, ...], l[:len(l) -
label_delay, ...]) for l in label_perms])``, ``losses.min() * (len(label) - label_delay)``,
``losses.argmin().detach()`` used to index a Python list), ``batch_pit_loss`` (``zip(*...)``,
``torch.stack(losses).sum()`` over ``np.sum([t.shape[0] for t in ts])``); the diarization error
counts from ``(pred.data.cpu().numpy() > 0).astype(int)``; ``nn.utils.clip_grad_value_`` and
Adam under ``NoamScheduler``, an ``_LRScheduler`` subclass whose ``get_lr`` sets
``self.last_epoch = max(1, self.last_epoch)`` and returns ``[base_lr / base_lr * val for
base_lr in self.base_lrs]``.

Changed: 345-dimensional log-mel features -> 6 NumPy numbers per frame, 256 units / 4 heads /
4 layers -> 8 / 2 / 2, dim_feedforward 1024 -> 16, dropout 0.1 -> 0.0, 3 recordings of 7-11
frames with 2 speakers, 4 steps. The sequence-first ``TransformerEncoder`` warns that nested
tensors are off (PyTorch's UserWarning): it is built under ``warnings.catch_warnings(
record=True)`` and the number of warnings is returned.
"""

from __future__ import annotations

import warnings
from itertools import permutations
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IN, UNITS, HEADS, LAYERS, FF, SPK = 6, 8, 2, 2, 16, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    TransformerEncoder, TransformerEncoderLayer = nn.TransformerEncoder, nn.TransformerEncoderLayer

    class TransformerModel(nn.Module):
        def __init__(self, n_speakers, in_size, n_heads, n_units, n_layers, dim_feedforward=2048,
                     dropout=0.5, has_pos=False):  # fmt: skip
            super().__init__()
            self.n_speakers = n_speakers
            self.in_size = in_size
            self.n_heads = n_heads
            self.n_units = n_units
            self.n_layers = n_layers
            self.has_pos = has_pos
            self.src_mask = None
            self.encoder = nn.Linear(in_size, n_units)
            self.encoder_norm = nn.LayerNorm(n_units)
            encoder_layers = TransformerEncoderLayer(n_units, n_heads, dim_feedforward, dropout)
            with warnings.catch_warnings(record=True) as caught:  # see Changed
                warnings.simplefilter("always")
                self.transformer_encoder = TransformerEncoder(encoder_layers, n_layers)
            self.nested_tensor_warnings = sum("enable_nested_tensor" in str(w.message)
                                              for w in caught)  # fmt: skip
            self.decoder = nn.Linear(n_units, n_speakers)
            self.init_weights()

        def init_weights(self):
            initrange = 0.1
            self.encoder.bias.data.zero_()
            self.encoder.weight.data.uniform_(-initrange, initrange)
            self.decoder.bias.data.zero_()
            self.decoder.weight.data.uniform_(-initrange, initrange)

        def forward(self, src, has_mask=False, activation=None):
            ilens = [x.shape[0] for x in src]
            src = nn.utils.rnn.pad_sequence(src, padding_value=-1, batch_first=True)
            # src: (B, T, E)
            src = self.encoder(src)
            src = self.encoder_norm(src)
            # src: (T, B, E)
            src = src.transpose(0, 1)
            # output: (T, B, E)
            output = self.transformer_encoder(src, self.src_mask)
            # output: (B, T, E)
            output = output.transpose(0, 1)
            # output: (B, T, C)
            output = self.decoder(output)
            if activation:
                output = activation(output)
            output = [out[:ilen] for out, ilen in zip(output, ilens)]
            return output

    return TransformerModel(SPK, IN, HEADS, UNITS, LAYERS, dim_feedforward=FF, dropout=0.0)


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional
    _LRScheduler = torch.optim.lr_scheduler._LRScheduler

    class NoamScheduler(_LRScheduler):
        def __init__(self, optimizer, d_model, warmup_steps, tot_step, scale, last_epoch=-1):
            self.d_model = d_model
            self.warmup_steps = warmup_steps
            self.tot_step = tot_step
            self.scale = scale
            super(NoamScheduler, self).__init__(optimizer, last_epoch)  # noqa: UP008

        def get_lr(self):
            self.last_epoch = max(1, self.last_epoch)
            step_num = self.last_epoch
            val = (
                self.scale
                * self.d_model ** (-0.5)
                * min(step_num ** (-0.5), step_num * self.warmup_steps ** (-1.5))
            )
            return [base_lr / base_lr * val for base_lr in self.base_lrs]

    def pit_loss(pred, label, label_delay=0):
        # label permutations along the speaker axis
        label_perms = [label[..., list(p)] for p in permutations(range(label.shape[-1]))]
        losses = torch.stack(
            [
                F.binary_cross_entropy_with_logits(
                    pred[label_delay:, ...], l[: len(l) - label_delay, ...]
                )
                for l in label_perms  # noqa: E741
            ]
        )
        min_loss = losses.min() * (len(label) - label_delay)
        min_index = losses.argmin().detach()
        return min_loss, label_perms[min_index]

    def batch_pit_loss(ys, ts, label_delay=0):
        loss_w_labels = [pit_loss(y, t, label_delay) for (y, t) in zip(ys, ts)]
        losses, labels = zip(*loss_w_labels)
        loss = torch.stack(losses).sum()
        n_frames = np.sum([t.shape[0] for t in ts])
        loss = loss / n_frames
        return loss, labels

    def calc_diarization_error(pred, label, label_delay=0):
        label_np = label.data.cpu().numpy().astype(int)
        pred_np = (pred.data.cpu().numpy() > 0).astype(int)
        label_np = label_np[: len(label_np) - label_delay, ...]
        pred_np = pred_np[label_delay:, ...]
        n_ref = np.sum(label_np, axis=1)
        n_sys = np.sum(pred_np, axis=1)
        res = {}
        res["speech_scored"] = float(np.sum(n_ref > 0))
        res["speech_miss"] = float(np.sum(np.logical_and(n_ref > 0, n_sys == 0)))
        res["speech_falarm"] = float(np.sum(np.logical_and(n_ref == 0, n_sys > 0)))
        res["speaker_scored"] = float(np.sum(n_ref))
        res["speaker_miss"] = float(np.sum(np.maximum(n_ref - n_sys, 0)))
        res["speaker_falarm"] = float(np.sum(np.maximum(n_sys - n_ref, 0)))
        n_map = np.sum(np.logical_and(label_np == 1, pred_np == 1), axis=1)
        res["speaker_error"] = float(np.sum(np.minimum(n_ref, n_sys) - n_map))
        res["correct"] = float(np.sum(label_np == pred_np) / label_np.shape[1])
        res["diarization_error"] = (
            res["speaker_miss"] + res["speaker_falarm"] + res["speaker_error"]
        )
        res["frames"] = len(label_np)
        return res

    def report_diarization_error(ys, labels):
        stats_avg = {}
        cnt = 0
        for y, t in zip(ys, labels):
            stats = calc_diarization_error(y, t)
            for k, v in stats.items():
                stats_avg[k] = stats_avg.get(k, 0) + float(v)
            cnt += 1
        stats_avg = {k: v / cnt for k, v in stats_avg.items()}
        return stats_avg

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    scheduler = NoamScheduler(optimizer, UNITS, warmup_steps=2, tot_step=4, scale=1.0)
    rng = np.random.default_rng(19)
    out: list[float] = [float(model.nested_tensor_warnings)]
    for _step in range(4):
        lengths = rng.integers(7, 12, 3)
        t = [(rng.random((n, SPK)) < 0.4).astype(np.float64) for n in lengths]
        y = [ti @ rng.normal(size=(SPK, IN)) + 0.3 * rng.normal(size=(len(ti), IN)) for ti in t]
        y = [as_tensor(torch, yi) for yi in y]
        t = [as_tensor(torch, ti) for ti in t]
        output = model(y)
        loss, label = batch_pit_loss(output, t)
        # clear gradient accumulation
        optimizer.zero_grad()
        # backprop
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 5)
        optimizer.step()
        scheduler.step()
        stats = report_diarization_error(output, label)
        out += [
            loss.item(),
            stats["diarization_error"],
            stats["correct"],
            scheduler.get_last_lr()[0],
        ]
    return out
