"""Fast WaveNet generation (Paine et al.'s "Fast Wavenet Generation Algorithm", as
tomlepaine/fast-wavenet and the PyTorch ports with a per-layer ``DilatedQueue`` write it),
size-reduced: 256 mu-law classes, 2 stacks of 3 dilated layers, a 40-sample training clip.

The idioms: mu-law companding ``torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)``
and ``((y + 1) / 2 * mu + 0.5).long()`` into 256 classes, decoded with ``torch.expm1``;
``nn.Embedding`` inputs turned channels-first by ``.transpose(1, 2)``; causal dilated
``nn.Conv1d(kernel_size=2, dilation=d)`` fed ``F.pad(x, (d, 0))``; the gated unit
``torch.tanh(filter) * torch.sigmoid(gate)`` from two convolutions; residual and skip 1x1 convs,
``x = x + residual`` and a skip sum through ``F.relu`` -> 1x1 -> ``F.relu`` -> 1x1 to 256
logits; one training step of ``F.cross_entropy(logits, target)`` on ``(B, 256, T)`` logits with
``torch.optim.Adam``; then generation with a cache: each layer keeps a queue of its last ``d``
inputs, the conv at one step (``F.conv1d`` with the layer's ``weight`` and ``bias``, no
dilation) sees ``torch.cat([queue.narrow(-1, 0, 1), x], dim=-1)`` (the input ``d`` steps back
next to the current one, no padding), and the queue is rolled with
``torch.cat([queue.narrow(-1, 1, d - 1), x], dim=-1)``; greedy ``argmax`` and inverse-CDF
sampling with ``torch.searchsorted(torch.cumsum(probs, -1), u)`` from NumPy uniforms; the cached
logits checked against the full convolutional forward on the generated sequence.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

CLASSES, RES, DIL_CH, SKIP, LAYERS, STACKS = 256, 8, 8, 12, 3, 2
BATCH, T, LR, GEN = 2, 40, 1e-3, 10
DILATIONS = [2**i for i in range(LAYERS)] * STACKS


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class ResidualLayer(nn.Module):
        def __init__(self, dilation: int) -> None:
            super().__init__()
            self.dilation = dilation
            self.filter_conv = nn.Conv1d(RES, DIL_CH, kernel_size=2, dilation=dilation)
            self.gate_conv = nn.Conv1d(RES, DIL_CH, kernel_size=2, dilation=dilation)
            self.residual_conv = nn.Conv1d(DIL_CH, RES, 1)
            self.skip_conv = nn.Conv1d(DIL_CH, SKIP, 1)

        def gated(self, x: Any, cached: bool = False) -> tuple[Any, Any]:
            if cached:  # the pair (x[t - d], x[t]) is adjacent: the same weights, no dilation
                f = F.conv1d(x, self.filter_conv.weight, self.filter_conv.bias)
                g = F.conv1d(x, self.gate_conv.weight, self.gate_conv.bias)
            else:
                f, g = self.filter_conv(x), self.gate_conv(x)
            z = torch.tanh(f) * torch.sigmoid(g)
            return self.residual_conv(z), self.skip_conv(z)

        def forward(self, x: Any) -> tuple[Any, Any]:
            res, skip = self.gated(F.pad(x, (self.dilation, 0)))
            return x + res, skip

        def step(self, x: Any, queue: Any) -> tuple[Any, Any, Any]:
            """x: (B, RES, 1), queue: (B, RES, dilation) of past inputs, oldest first."""
            pair = torch.cat([queue.narrow(-1, 0, 1), x], dim=-1)  # (B, RES, 2)
            res, skip = self.gated(pair, cached=True)
            queue = torch.cat([queue.narrow(-1, 1, self.dilation - 1), x], dim=-1)
            return x + res, skip, queue

    class WaveNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(CLASSES, RES)
            self.layers = nn.ModuleList([ResidualLayer(d) for d in DILATIONS])
            self.end1 = nn.Conv1d(SKIP, SKIP, 1)
            self.end2 = nn.Conv1d(SKIP, CLASSES, 1)

        def head(self, skips: Any) -> Any:
            return self.end2(F.relu(self.end1(F.relu(skips))))

        def forward(self, samples: Any) -> Any:
            x = self.embed(samples).transpose(1, 2)  # (B, RES, T)
            skips = 0
            for layer in self.layers:
                x, s = layer(x)
                skips = skips + s
            return self.head(skips)  # (B, CLASSES, T)

        def init_queues(self, batch: int) -> list[Any]:
            return [torch.zeros(batch, RES, layer.dilation) for layer in self.layers]

        def step(self, sample: Any, queues: list[Any]) -> tuple[Any, list[Any]]:
            """One sample per sequence (B,) -> logits (B, CLASSES) and the rolled queues."""
            x = self.embed(sample).unsqueeze(-1)  # (B, RES, 1)
            skips = 0
            new_queues = []
            for layer, queue in zip(self.layers, queues):
                x, s, queue = layer.step(x, queue)
                new_queues.append(queue)
                skips = skips + s
            return self.head(skips).squeeze(-1), new_queues

    return WaveNet()


def mu_law_encode(torch_like: Any, x: Any, mu: int = CLASSES - 1) -> Any:
    torch = torch_like
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return ((y + 1) / 2 * mu + 0.5).long()


def mu_law_decode(torch_like: Any, q: Any, mu: int = CLASSES - 1) -> Any:
    torch = torch_like
    y = 2 * q.to(torch.get_default_dtype()) / mu - 1
    return torch.sign(y) * torch.expm1(y.abs() * math.log1p(mu)) / mu


def generate(torch_like: Any, model: Any, first: Any, uniforms: np.ndarray) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    queues = model.init_queues(first.shape[0])
    current = first
    seq, step_logits, values = [first], [], []
    with torch.no_grad():
        for i in range(GEN):
            logits, queues = model.step(current, queues)
            step_logits.append(logits)
            probs = F.softmax(logits, dim=-1)
            greedy = logits.argmax(dim=-1)
            cdf = torch.cumsum(probs, dim=-1)
            u = torch.tensor(uniforms[i]).unsqueeze(-1).to(cdf.dtype)
            sampled = torch.searchsorted(cdf, u).squeeze(-1).clamp(max=CLASSES - 1)
            current = torch.where(torch.tensor([True, False]), greedy, sampled)
            seq.append(current)
            values += current.tolist() + [probs.max().item()]
        # the cached steps reproduce the full causal forward on the same (teacher-forced) inputs
        full = model(torch.stack(seq[:-1], dim=1))  # (B, CLASSES, GEN)
        cached = torch.stack(step_logits, dim=-1)
        values += [(full - cached).abs().max().item(), *full.shape]
        values += [q.shape[-1] for q in queues]
        audio = mu_law_decode(torch, torch.stack(seq, dim=1))
        values += audio[0].tolist()
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(13)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    t = np.arange(T + 1) / 6.0
    wave_np = 0.7 * np.sin(2 * np.pi * 0.3 * t)[None] * rng.uniform(0.4, 1.0, (BATCH, 1))
    wave = as_tensor(torch, np.clip(wave_np + 0.02 * rng.standard_normal((BATCH, T + 1)), -1, 1))
    q = mu_law_encode(torch, wave)
    values = q[0, :10].tolist() + [(mu_law_decode(torch, q) - wave).abs().max().item()]
    values += [float(q.dtype == torch.int64), float(q.min()), float(q.max())]

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    inputs, target = q[:, :-1], q[:, 1:]
    for _ in range(2):
        logits = model(inputs)
        loss = F.cross_entropy(logits, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), *logits.shape]

    model.eval()
    values += generate(torch, model, q[:, 0], rng.uniform(0.0, 1.0, (GEN, BATCH)))
    return values
