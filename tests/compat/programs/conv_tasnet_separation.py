"""Conv-TasNet speech separation as kaituoxu/Conv-TasNet and the Asteroid-style reimplementations
write it, size-reduced (two sources, two TCN repeats of three blocks, a 64-sample mixture).

The idioms: the encoder ``nn.Conv1d(1, N, L, stride=L // 2, bias=False)`` + ``F.relu`` on
``mixture.unsqueeze(1)``; a hand-written global layer norm (``gLN``: ``nn.Parameter(torch.Tensor(1,
N, 1))`` gamma/beta filled by ``reset_parameters`` with ``.data.fill_``, ``mean = y.mean(dim=1,
keepdim=True).mean(dim=2, keepdim=True)``, ``var = (torch.pow(y - mean, 2)).mean(dim=1,
keepdim=True).mean(dim=2, keepdim=True)``, ``gamma * (y - mean) / torch.pow(var + EPS, 0.5) +
beta``) next to the channel-wise ``cLN`` (``nn.LayerNorm`` over a transposed view); the
temporal blocks (1x1 conv -> ``nn.PReLU()`` -> gLN -> depthwise dilated conv with ``groups=
in_channels`` and ``padding = (P - 1) * dilation // 2`` -> PReLU -> gLN -> pointwise 1x1 conv,
``return out + residual``) in ``nn.Sequential(*repeats)``; the mask net's ``score.view(M, C, N,
K)`` then ``F.softmax(score, dim=1)`` / ``F.relu`` / ``torch.sigmoid``; the decoder's
``torch.unsqueeze(mixture_w, 1) * est_mask`` then ``nn.ConvTranspose1d(N, 1, L, stride=L //
2, bias=False)`` and ``F.pad(est_source, (0, T_origin - T_conv))``, checked against the
original decoder's basis ``torch.matmul`` and ``overlap_and_add`` (``math.gcd`` subframes,
``torch.arange(...).unfold(0, ...)``, ``frame.clone().detach().to(signal.device).long()``,
``new_zeros`` and ``result.index_add_(-2, frame, subframe_signal)``); the SI-SNR loss with
zero-mean normalisation and permutation-invariant training over ``itertools.permutations``
(``torch.stack(losses, dim=1)``, ``torch.min(..., dim=1)`` and the best permutation's index);
``loss.backward()``, ``nn.utils.clip_grad_norm_`` and one ``torch.optim.Adam`` step.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N, L, B, H, P, X, R, C = 8, 4, 6, 8, 3, 3, 2, 2
BATCH, SAMPLES, STEPS, LR, EPS = 2, 64, 2, 1e-3, 1e-8


def make_model(torch_like: Any, mask_nonlinear: str = "relu") -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class GlobalLayerNorm(nn.Module):
        """gLN: one mean and variance over channels and time per utterance."""

        def __init__(self, channel_size: int) -> None:
            super().__init__()
            self.gamma = nn.Parameter(torch.Tensor(1, channel_size, 1))
            self.beta = nn.Parameter(torch.Tensor(1, channel_size, 1))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            self.gamma.data.fill_(1)
            self.beta.data.zero_()

        def forward(self, y: Any) -> Any:
            mean = y.mean(dim=1, keepdim=True).mean(dim=2, keepdim=True)
            var = (torch.pow(y - mean, 2)).mean(dim=1, keepdim=True).mean(dim=2, keepdim=True)
            return self.gamma * (y - mean) / torch.pow(var + EPS, 0.5) + self.beta

    class ChannelwiseLayerNorm(nn.Module):
        """cLN: nn.LayerNorm over channels at each time step."""

        def __init__(self, channel_size: int) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(channel_size, eps=EPS)

        def forward(self, y: Any) -> Any:
            return self.norm(y.transpose(1, 2)).transpose(1, 2)

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1d_U = nn.Conv1d(1, N, kernel_size=L, stride=L // 2, bias=False)

        def forward(self, mixture: Any) -> Any:
            mixture = torch.unsqueeze(mixture, 1)  # [M, 1, T]
            return F.relu(self.conv1d_U(mixture))  # [M, N, K]

    class DepthwiseSeparableConv(nn.Module):
        def __init__(self, channels: int, out: int, dilation: int) -> None:
            super().__init__()
            padding = (P - 1) * dilation // 2
            depthwise = nn.Conv1d(
                channels,
                channels,
                P,
                stride=1,
                padding=padding,
                dilation=dilation,
                groups=channels,
                bias=False,
            )
            self.net = nn.Sequential(
                depthwise, nn.PReLU(), GlobalLayerNorm(channels), nn.Conv1d(channels, out, 1)
            )

        def forward(self, x: Any) -> Any:
            return self.net(x)

    class TemporalBlock(nn.Module):
        def __init__(self, dilation: int) -> None:
            super().__init__()
            conv1x1 = nn.Conv1d(B, H, 1, bias=False)
            self.net = nn.Sequential(
                conv1x1, nn.PReLU(), GlobalLayerNorm(H), DepthwiseSeparableConv(H, B, dilation)
            )

        def forward(self, x: Any) -> Any:
            residual = x
            out = self.net(x)
            return out + residual

    class TemporalConvNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layer_norm = ChannelwiseLayerNorm(N)
            bottleneck_conv1x1 = nn.Conv1d(N, B, 1, bias=False)
            repeats = []
            for _r in range(R):
                blocks = [TemporalBlock(2**x) for x in range(X)]
                repeats += [nn.Sequential(*blocks)]
            temporal_conv_net = nn.Sequential(*repeats)
            mask_conv1x1 = nn.Conv1d(B, C * N, 1, bias=False)
            self.network = nn.Sequential(
                layer_norm, bottleneck_conv1x1, temporal_conv_net, mask_conv1x1
            )
            self.mask_nonlinear = mask_nonlinear

        def forward(self, mixture_w: Any) -> Any:
            M, _, K = mixture_w.size()
            score = self.network(mixture_w)  # [M, C*N, K]
            score = score.view(M, C, N, K)
            if self.mask_nonlinear == "softmax":
                return F.softmax(score, dim=1)
            if self.mask_nonlinear == "sigmoid":
                return torch.sigmoid(score)
            return F.relu(score)

    class Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.basis = nn.ConvTranspose1d(N, 1, kernel_size=L, stride=L // 2, bias=False)

        def forward(self, mixture_w: Any, est_mask: Any) -> Any:
            source_w = torch.unsqueeze(mixture_w, 1) * est_mask  # [M, C, N, K]
            M, c, n, K = source_w.size()
            est = self.basis(source_w.view(M * c, n, K))  # [M*C, 1, T]
            return est.view(M, c, -1)

    class ConvTasNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = Encoder()
            self.separator = TemporalConvNet()
            self.decoder = Decoder()
            for p in self.parameters():
                if p.dim() > 1:
                    nn.init.xavier_normal_(p)

        def forward(self, mixture: Any) -> Any:
            mixture_w = self.encoder(mixture)
            est_mask = self.separator(mixture_w)
            est_source = self.decoder(mixture_w, est_mask)
            T_origin = mixture.size(-1)
            T_conv = est_source.size(-1)
            return F.pad(est_source, (0, T_origin - T_conv))

    return ConvTasNet()


def overlap_and_add(torch_like: Any, signal: Any, frame_step: int) -> Any:
    """kaituoxu's overlap-add: [..., frames, frame_length] -> [..., output_size], summing the
    overlapping subframes with ``index_add_``."""
    torch = torch_like
    outer_dimensions = signal.size()[:-2]
    frames, frame_length = signal.size()[-2:]
    subframe_length = math.gcd(frame_length, frame_step)
    subframe_step = frame_step // subframe_length
    subframes_per_frame = frame_length // subframe_length
    output_size = frame_step * (frames - 1) + frame_length
    output_subframes = output_size // subframe_length
    subframe_signal = signal.view(*outer_dimensions, -1, subframe_length)
    frame = torch.arange(0, output_subframes).unfold(0, subframes_per_frame, subframe_step)
    frame = frame.clone().detach().to(signal.device).long()
    frame = frame.contiguous().view(-1)
    result = signal.new_zeros(*outer_dimensions, output_subframes, subframe_length)
    result.index_add_(-2, frame, subframe_signal)
    return result.view(*outer_dimensions, -1)


def si_snr(torch_like: Any, est: Any, target: Any) -> Any:
    """SI-SNR in dB per (utterance) after zero-mean normalisation; est, target: [M, T]."""
    torch = torch_like
    est = est - torch.mean(est, dim=-1, keepdim=True)
    target = target - torch.mean(target, dim=-1, keepdim=True)
    dot = torch.sum(est * target, dim=-1, keepdim=True)
    s_target = dot * target / (torch.sum(target**2, dim=-1, keepdim=True) + EPS)
    e_noise = est - s_target
    ratio = torch.sum(s_target**2, dim=-1) / (torch.sum(e_noise**2, dim=-1) + EPS)
    return 10 * torch.log10(ratio + EPS)


def pit_si_snr_loss(torch_like: Any, est_sources: Any, sources: Any) -> tuple[Any, Any]:
    """Permutation-invariant negative SI-SNR: the best of every assignment per utterance."""
    torch = torch_like
    perms = list(itertools.permutations(range(C)))
    losses = []
    for perm in perms:
        snr = torch.stack(
            [si_snr(torch, est_sources[:, p], sources[:, c]) for c, p in enumerate(perm)]
        )
        losses.append(-snr.mean(dim=0))
    losses = torch.stack(losses, dim=1)  # [M, C!]
    min_loss, best = torch.min(losses, dim=1)
    return min_loss.mean(), best


def _mixtures(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(SAMPLES) / 16.0
    f = rng.uniform(0.3, 2.5, (BATCH, C, 1))
    sources = np.sin(2 * math.pi * f * t + rng.uniform(0, math.pi, (BATCH, C, 1)))
    sources[:, 1] = np.sign(sources[:, 1]) * 0.5  # a square wave next to a sine
    return sources, sources.sum(axis=1)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(11)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    sources_np, mixture_np = _mixtures(rng)
    sources = as_tensor(torch, sources_np)
    mixture = as_tensor(torch, mixture_np)

    gln = model.separator.network[2][0][0].net[2]
    y = as_tensor(torch, rng.standard_normal((2, H, 5)))
    normed = gln(y)
    values = [normed.mean().item(), normed.pow(2).mean().item()]
    values += normed[0, :2, :3].flatten().tolist()

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    for _ in range(STEPS):
        est = model(mixture)
        loss, best = pit_si_snr_loss(torch, est, sources)
        optimizer.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        optimizer.step()
        values += [loss.item(), float(norm), *best.tolist(), *est.shape]

    # the other two mask non-linearities on the same weights
    for kind in ("sigmoid", "softmax"):
        model.separator.mask_nonlinear = kind
        with torch.no_grad():
            est = model(mixture)
            loss, best = pit_si_snr_loss(torch, est, sources)
        values += [loss.item(), *best.tolist(), *est[0, :, ::16].flatten().tolist()]
    # the transposed-conv decoder is kaituoxu's basis matmul + overlap-add, gradients included
    mixture_w = model.encoder(mixture)
    est_mask = model.separator(mixture_w)
    by_conv = model.decoder(mixture_w, est_mask)
    source_w = torch.unsqueeze(mixture_w, 1) * est_mask  # [M, C, N, K]
    basis = model.decoder.basis.weight.view(N, L)
    frames = torch.matmul(torch.transpose(source_w, 2, 3), basis)  # [M, C, K, L]
    by_ola = overlap_and_add(torch, frames, L // 2)
    values += [(by_conv - by_ola).abs().max().item(), *by_ola.shape]
    by_ola.pow(2).sum().backward()
    values += model.decoder.basis.weight.grad.flatten()[:6].tolist()
    prelu = model.separator.network[2][0][0].net[1]
    values += prelu.weight.tolist()
    return values
