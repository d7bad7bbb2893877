"""Dual-path RNN speech separation as asteroid-team/asteroid writes it
(``asteroid/masknn/recurrent.py`` ``DPRNNBlock``/``DPRNN``, ``asteroid/masknn/norms.py``
``GlobLN``, ``asteroid/losses/sdr.py`` ``PairwiseNegSDR`` and ``asteroid/losses/pit_wrapper.py``
``PITLossWrapper``), size-reduced.

The idioms kept: ``GlobLN`` (``dims = list(range(1, len(x.shape)))``, ``x.mean(dim=dims,
keepdim=True)``, ``torch.pow(x - mean, 2).mean(dim=dims, keepdim=True)``, ``(x - mean) / (var
+ EPS).sqrt()`` and ``_LayerNorm.apply_gain_and_bias``'s ``(self.gamma * normed_x.transpose(1,
-1) + self.beta).transpose(1, -1)``); the chunking with ``unfold(mixture_w.unsqueeze(-1),
kernel_size=(chunk_size, 1), padding=(chunk_size, 0), stride=(hop_size, 1))`` and the overlap-add
back with ``fold(output.reshape(batch * n_src, to_unfold, n_chunks), (n_frames, 1), ...)``;
``DPRNNBlock.forward``'s intra-chunk ``x.transpose(1, -1).reshape(B * L, K, N)`` and
inter-chunk ``output.transpose(1, 2).transpose(2, -1).reshape(B * K, L, N)`` through
bidirectional ``nn.LSTM(batch_first=True)`` + ``nn.Linear`` with the residual sums; the
``first_out = nn.Sequential(nn.PReLU(), nn.Conv2d(bn_chan, n_src * bn_chan, 1))`` head, the
gated output ``self.net_out(output) * self.net_gate(output)`` (``Conv1d`` + ``Tanh`` /
``Sigmoid``), the ``mask_net`` 1x1 conv and ``est_mask.view(batch, n_src, out_chan,
n_frames)``; the encoder ``nn.Conv1d(1, N, k, stride=k // 2, bias=False)`` and decoder
``nn.ConvTranspose1d``; ``PairwiseNegSDR("sisdr")`` (zero-mean, ``torch.unsqueeze(targets,
dim=1)``, ``pair_wise_dot * s_target / s_target_energy``, ``10 * torch.log10(pair_wise_sdr +
EPS)``); ``PITLossWrapper.find_best_perm_factorial`` (``pwl.new_tensor(list(permutations(
range(n_src))), dtype=torch.long)``, ``pwl.new_zeros((*perms.size(), n_src)).scatter_(2, idx,
1)``, ``torch.einsum("bij,pij->bp", [pwl, perms_one_hot])``, ``loss_set /= n_src``,
``torch.min(loss_set, dim=1)``, ``torch.index_select(perms, dim=0, index=min_loss_idx)``) and
``reorder_source``'s ``torch.stack([torch.index_select(s, 0, b) for s, b in zip(source,
batch_indices)])``; Adam with ``clip_grad_norm_``.

Changed: 64 filters -> 6, bn_chan 128 -> 6, hidden 128 -> 4, chunk 100 -> 4, hop 50 -> 2, two
dual-path blocks, 3 sources (6 permutations), a 40-sample mixture of NumPy sources, 4 steps.
"""

from __future__ import annotations

from itertools import permutations
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_FILT, KERNEL, BN, HID, CHUNK, HOP, N_SRC, T, BATCH = 6, 4, 6, 4, 4, 2, 3, 40, 2


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    unfold, fold = nn.functional.unfold, nn.functional.fold

    class GlobLN(nn.Module):
        def __init__(self, channel_size):
            super().__init__()
            self.gamma = nn.Parameter(torch.ones(channel_size), requires_grad=True)
            self.beta = nn.Parameter(torch.zeros(channel_size), requires_grad=True)

        def apply_gain_and_bias(self, normed_x):
            return (self.gamma * normed_x.transpose(1, -1) + self.beta).transpose(1, -1)

        def forward(self, x, EPS: float = 1e-8):
            dims = list(range(1, len(x.shape)))
            mean = x.mean(dim=dims, keepdim=True)
            var = torch.pow(x - mean, 2).mean(dim=dims, keepdim=True)
            return self.apply_gain_and_bias((x - mean) / (var + EPS).sqrt())

    class SingleRNN(nn.Module):
        def __init__(self, input_size, hidden_size, bidirectional=False):
            super().__init__()
            self.rnn = nn.LSTM(
                input_size, hidden_size, num_layers=1, batch_first=True,
                bidirectional=bool(bidirectional),
            )  # fmt: skip
            self.output_size = hidden_size * (int(bidirectional) + 1)

        def forward(self, inp):
            output, _ = self.rnn(inp)
            return output

    class DPRNNBlock(nn.Module):
        def __init__(self, in_chan, hid_size):
            super().__init__()
            self.intra_RNN = SingleRNN(in_chan, hid_size, bidirectional=True)
            self.inter_RNN = SingleRNN(in_chan, hid_size, bidirectional=True)
            self.intra_linear = nn.Linear(self.intra_RNN.output_size, in_chan)
            self.intra_norm = GlobLN(in_chan)
            self.inter_linear = nn.Linear(self.inter_RNN.output_size, in_chan)
            self.inter_norm = GlobLN(in_chan)

        def forward(self, x):
            """Input shape : [batch, feats, chunk_size, num_chunks]"""
            B, N, K, L = x.size()
            output = x  # for skip connection
            # Intra-chunk processing
            x = x.transpose(1, -1).reshape(B * L, K, N)
            x = self.intra_RNN(x)
            x = self.intra_linear(x)
            x = x.reshape(B, L, K, N).transpose(1, -1)
            x = self.intra_norm(x)
            output = output + x
            # Inter-chunk processing
            x = output.transpose(1, 2).transpose(2, -1).reshape(B * K, L, N)
            x = self.inter_RNN(x)
            x = self.inter_linear(x)
            x = x.reshape(B, K, L, N).transpose(1, -1).transpose(2, -1).contiguous()
            x = self.inter_norm(x)
            return output + x

    class DPRNN(nn.Module):
        def __init__(self, in_chan, n_src, out_chan=None, bn_chan=BN, hid_size=HID,
                     chunk_size=CHUNK, hop_size=HOP, n_repeats=2):  # fmt: skip
            super().__init__()
            self.in_chan, self.n_src = in_chan, n_src
            self.out_chan = out_chan if out_chan is not None else in_chan
            self.bn_chan, self.chunk_size, self.hop_size = bn_chan, chunk_size, hop_size
            layer_norm = GlobLN(in_chan)
            bottleneck_conv = nn.Conv1d(in_chan, bn_chan, 1)
            self.bottleneck = nn.Sequential(layer_norm, bottleneck_conv)
            net = [DPRNNBlock(bn_chan, hid_size) for _ in range(n_repeats)]
            self.net = nn.Sequential(*net)
            net_out_conv = nn.Conv2d(bn_chan, n_src * bn_chan, 1)
            self.first_out = nn.Sequential(nn.PReLU(), net_out_conv)
            # Gating and masking in 2D space (after fold)
            self.net_out = nn.Sequential(nn.Conv1d(bn_chan, bn_chan, 1), nn.Tanh())
            self.net_gate = nn.Sequential(nn.Conv1d(bn_chan, bn_chan, 1), nn.Sigmoid())
            self.mask_net = nn.Conv1d(bn_chan, self.out_chan, 1, bias=False)
            self.output_act = nn.ReLU()

        def forward(self, mixture_w):
            batch, n_filters, n_frames = mixture_w.size()
            mixture_w = self.bottleneck(mixture_w)  # [batch, bn_chan, n_frames]
            mixture_w = unfold(
                mixture_w.unsqueeze(-1),
                kernel_size=(self.chunk_size, 1),
                padding=(self.chunk_size, 0),
                stride=(self.hop_size, 1),
            )
            n_chunks = mixture_w.shape[-1]
            mixture_w = mixture_w.reshape(batch, self.bn_chan, self.chunk_size, n_chunks)
            # Apply stacked DPRNN Blocks sequentially
            output = self.net(mixture_w)
            # Map to sources with kind of 2D masks
            output = self.first_out(output)
            output = output.reshape(batch * self.n_src, self.bn_chan, self.chunk_size, n_chunks)
            # Overlap and add:
            # [batch, out_chan, chunk_size, n_chunks] -> [batch, out_chan, n_frames]
            to_unfold = self.bn_chan * self.chunk_size
            output = fold(
                output.reshape(batch * self.n_src, to_unfold, n_chunks),
                (n_frames, 1),
                kernel_size=(self.chunk_size, 1),
                padding=(self.chunk_size, 0),
                stride=(self.hop_size, 1),
            )
            # Apply gating
            output = output.reshape(batch * self.n_src, self.bn_chan, -1)
            output = self.net_out(output) * self.net_gate(output)
            # Compute mask
            score = self.mask_net(output)
            est_mask = self.output_act(score)
            est_mask = est_mask.view(batch, self.n_src, self.out_chan, n_frames)
            return est_mask

    class DPRNNTasNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Conv1d(1, N_FILT, KERNEL, stride=KERNEL // 2, bias=False)
            self.masker = DPRNN(N_FILT, N_SRC)
            self.decoder = nn.ConvTranspose1d(N_FILT, 1, KERNEL, stride=KERNEL // 2, bias=False)

        def forward(self, wav):
            tf_rep = torch.relu(self.encoder(wav.unsqueeze(1)))
            est_masks = self.masker(tf_rep)
            masked_tf_rep = est_masks * tf_rep.unsqueeze(1)
            b = masked_tf_rep.shape[0]
            decoded = self.decoder(masked_tf_rep.reshape(b * N_SRC, N_FILT, -1))
            decoded = nn.functional.pad(decoded, [0, wav.shape[-1] - decoded.shape[-1]])
            return decoded.view(b, N_SRC, -1)

    return DPRNNTasNet()


def pairwise_neg_sisdr(torch: Any, est_targets: Any, targets: Any, EPS: float = 1e-8) -> Any:
    # Step 1. Zero-mean norm
    mean_source = torch.mean(targets, dim=2, keepdim=True)
    mean_estimate = torch.mean(est_targets, dim=2, keepdim=True)
    targets = targets - mean_source
    est_targets = est_targets - mean_estimate
    # Step 2. Pair-wise SI-SDR. (Reshape to use broadcast)
    s_target = torch.unsqueeze(targets, dim=1)
    s_estimate = torch.unsqueeze(est_targets, dim=2)
    # [batch, n_src, n_src, 1]
    pair_wise_dot = torch.sum(s_estimate * s_target, dim=3, keepdim=True)
    # [batch, 1, n_src, 1]
    s_target_energy = torch.sum(s_target**2, dim=3, keepdim=True) + EPS
    # [batch, n_src, n_src, time]
    pair_wise_proj = pair_wise_dot * s_target / s_target_energy
    e_noise = s_estimate - pair_wise_proj
    # [batch, n_src, n_src]
    pair_wise_sdr = torch.sum(pair_wise_proj**2, dim=3) / (torch.sum(e_noise**2, dim=3) + EPS)
    pair_wise_sdr = 10 * torch.log10(pair_wise_sdr + EPS)
    return -pair_wise_sdr


def find_best_perm_factorial(torch: Any, pair_wise_losses: Any) -> tuple[Any, Any]:
    n_src = pair_wise_losses.shape[-1]
    # After transposition, dim 1 corresp. to sources and dim 2 to estimates
    pwl = pair_wise_losses.transpose(-1, -2)
    perms = pwl.new_tensor(list(permutations(range(n_src))), dtype=torch.long)
    # Column permutation indices
    idx = torch.unsqueeze(perms, 2)
    # one-hot, [n_src!, n_src, n_src]
    perms_one_hot = pwl.new_zeros((*perms.size(), n_src)).scatter_(2, idx, 1)
    loss_set = torch.einsum("bij,pij->bp", [pwl, perms_one_hot])
    loss_set /= n_src
    min_loss, min_loss_idx = torch.min(loss_set, dim=1)
    # Permutation indices for each batch.
    batch_indices = torch.index_select(perms, dim=0, index=min_loss_idx)
    return min_loss, batch_indices


def reorder_source(torch: Any, source: Any, batch_indices: Any) -> Any:
    return torch.stack([torch.index_select(s, 0, b) for s, b in zip(source, batch_indices)])


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(5)
    t = np.arange(T)
    out: list[float] = []
    for _step in range(4):
        freqs = rng.uniform(0.05, 0.4, (BATCH, N_SRC, 1))
        srcs = np.sin(2 * np.pi * freqs * t) * rng.uniform(0.5, 1.5, (BATCH, N_SRC, 1))
        srcs = srcs + 0.05 * rng.normal(size=srcs.shape)
        targets = as_tensor(torch_like, srcs)
        mix = targets.sum(1)
        est_targets = model(mix)
        pw_losses = pairwise_neg_sisdr(torch, est_targets, targets)
        min_loss, batch_indices = find_best_perm_factorial(torch, pw_losses)
        mean_loss = torch.mean(min_loss)
        reordered = reorder_source(torch, est_targets, batch_indices)
        optimizer.zero_grad()
        mean_loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        out += [mean_loss.item(), float(grad_norm), reordered.pow(2).sum().item()]
        out += batch_indices.flatten().tolist()
    return out
