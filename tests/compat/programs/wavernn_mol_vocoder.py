"""fatchord/WaveRNN (``models/fatchord_version.py``, ``utils/distribution.py``,
``utils/dataset.py``, ``utils/dsp.py``, ``train_wavernn.py``), size-reduced: the WaveRNN vocoder
in both output modes, RAW (a softmax over quantised samples) and MOL (a discretized mixture of
logistics), trained a few steps and sampled.

The idioms: ``Stretch2d`` (``x.unsqueeze(-1).unsqueeze(3)``, ``x.repeat(1, 1, 1, self.y_scale,
1, self.x_scale)`` on a 6-D tensor, ``x.view(b, c, h * self.y_scale, w * self.x_scale)``);
``UpsampleNetwork`` (``np.cumproduct(upsample_scales)[-1]``, ``nn.Conv2d(1, 1,
kernel_size=k_size, padding=padding, bias=False)`` initialised by ``conv.weight.data.fill_(1. /
k_size[1])``, ``m.squeeze(1)[:, :, self.indent:-self.indent]``); ``MelResNet`` / ``ResBlock``
(1x1 ``nn.Conv1d`` + ``nn.BatchNorm1d``); ``WaveRNN`` (``self._to_flatten += [self.rnn1,
self.rnn2]`` and ``[m.flatten_parameters() for m in self._to_flatten]``, ``register_buffer('step',
torch.zeros(1, dtype=torch.long))`` advanced by ``self.step += 1`` in training, ``device =
next(self.parameters()).device``, ``torch.zeros(1, bsize, self.rnn_dims, device=device)``
initial states of ``nn.GRU(..., batch_first=True)``, ``aux_idx = [self.aux_dims * i for i in
range(5)]`` slices, ``torch.cat([x.unsqueeze(-1), mels, a1], dim=2)``, residual GRUs,
``num_params``' ``sum([np.prod(p.size()) for p in parameters]) / 1_000_000`` over
``filter(lambda p: p.requires_grad, self.parameters())``); ``distribution.py``'s
``log_sum_exp`` (``torch.max(x, dim=axis)`` and ``keepdim=True``),
``discretized_mix_logistic_loss`` (``y_hat.permute(0,2,1)`` then ``transpose(1, 2)``,
``torch.clamp(..., min=log_scale_min)`` with ``float(np.log(1e-14))``, ``y.expand_as(means)``,
``plus_in - F.softplus(plus_in)``, the float masks ``(cdf_delta > 1e-5).float()``, ``(y >
0.999).float()``, ``np.log((num_classes - 1) / 2)``, ``F.log_softmax(logit_probs, -1)``),
``sample_from_discretized_mix_logistic`` (``logit_probs.data.new(logit_probs.size()).uniform_(1e-5,
1.0 - 1e-5)``, the Gumbel-max ``logit_probs.data - torch.log(- torch.log(temp))``,
``temp.max(dim=-1)``, ``torch.clamp(torch.clamp(x, min=-1.), max=1.)``) and ``to_one_hot``
(``torch.FloatTensor(tensor.size() + (n,)).zero_()``, ``one_hot.scatter_(len(tensor.size()),
tensor.unsqueeze(-1), fill_with)``); ``collate_vocoder`` (``np.random.randint(0, offset)``
window offsets, ``np.stack(mels).astype(np.float32)``, ``torch.tensor(labels).long()``,
``labels[:, :hp.voc_seq_len]``) with ``label_2_float`` (``2 * x / (2**bits - 1.) - 1.``) and
``dsp``'s ``encode_mu_law`` / ``float_2_label``; ``voc_train_loop`` (RAW: ``y_hat.transpose(1,
2).unsqueeze(-1)`` into ``F.cross_entropy`` with a ``(B, T, 1)`` target; MOL: ``y =
y.float()``; ``y.unsqueeze(-1)``; ``torch.nn.utils.clip_grad_norm_`` and ``np.isnan(grad_norm)``
on the returned tensor).

Changed: rnn / fc dims 512 -> 8, 9 bits -> 4 (RAW), 10 mixtures kept (MOL, 30 outputs),
upsample factors (5, 5, 11) -> (2, 2), 80 mels -> 4, compute / res-out dims 128 -> 8, 10 residual
blocks -> 1, ``voc_seq_len`` 1375 -> 8 samples of NumPy "speech"; ``np.cumproduct`` (gone from
NumPy 2) -> ``np.cumprod``; NumPy's global generator is seeded per run; ``num_params``' print is
kept; float32, as the repository's ``np.float32`` mels make it; ``np.isnan`` of torch's tensor
warns a NumPy 2 ``DeprecationWarning`` (torch's ``__array_wrap__`` takes one argument), silenced.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
# The MOL loss takes log(sigmoid(a) - sigmoid(b)) over bins 2 / 65535 wide: in float32 the
# difference cancels, and the two libraries' last-bit rounding reaches the gradient norms at
# ~3e-4 (the losses agree to ~3e-6; the same program in float64 agrees to 1e-9).
RTOL = 1e-3
HOP, PAD, SEQ_LEN, FEAT = 4, 1, 8, 4


def _wavernn(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class ResBlock(nn.Module):
        def __init__(self, dims):  # noqa: ANN001
            super().__init__()
            self.conv1 = nn.Conv1d(dims, dims, kernel_size=1, bias=False)
            self.conv2 = nn.Conv1d(dims, dims, kernel_size=1, bias=False)
            self.batch_norm1 = nn.BatchNorm1d(dims)
            self.batch_norm2 = nn.BatchNorm1d(dims)

        def forward(self, x: Any) -> Any:
            residual = x
            x = self.conv1(x)
            x = self.batch_norm1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = self.batch_norm2(x)
            return x + residual

    class MelResNet(nn.Module):
        def __init__(self, res_blocks, in_dims, compute_dims, res_out_dims, pad):  # noqa: ANN001
            super().__init__()
            k_size = pad * 2 + 1
            self.conv_in = nn.Conv1d(in_dims, compute_dims, kernel_size=k_size, bias=False)
            self.batch_norm = nn.BatchNorm1d(compute_dims)
            self.layers = nn.ModuleList()
            for _i in range(res_blocks):
                self.layers.append(ResBlock(compute_dims))
            self.conv_out = nn.Conv1d(compute_dims, res_out_dims, kernel_size=1)

        def forward(self, x: Any) -> Any:
            x = self.conv_in(x)
            x = self.batch_norm(x)
            x = F.relu(x)
            for f in self.layers:
                x = f(x)
            x = self.conv_out(x)
            return x

    class Stretch2d(nn.Module):
        def __init__(self, x_scale, y_scale):  # noqa: ANN001
            super().__init__()
            self.x_scale = x_scale
            self.y_scale = y_scale

        def forward(self, x: Any) -> Any:
            b, c, h, w = x.size()
            x = x.unsqueeze(-1).unsqueeze(3)
            x = x.repeat(1, 1, 1, self.y_scale, 1, self.x_scale)
            return x.view(b, c, h * self.y_scale, w * self.x_scale)

    class UpsampleNetwork(nn.Module):
        def __init__(self, feat_dims, upsample_scales, compute_dims, res_blocks, res_out_dims,
                     pad):  # noqa: ANN001 # fmt: skip
            super().__init__()
            total_scale = np.cumprod(upsample_scales)[-1]
            self.indent = pad * total_scale
            self.resnet = MelResNet(res_blocks, feat_dims, compute_dims, res_out_dims, pad)
            self.resnet_stretch = Stretch2d(total_scale, 1)
            self.up_layers = nn.ModuleList()
            for scale in upsample_scales:
                k_size = (1, scale * 2 + 1)
                padding = (0, scale)
                stretch = Stretch2d(scale, 1)
                conv = nn.Conv2d(1, 1, kernel_size=k_size, padding=padding, bias=False)
                conv.weight.data.fill_(1.0 / k_size[1])
                self.up_layers.append(stretch)
                self.up_layers.append(conv)

        def forward(self, m: Any) -> tuple[Any, Any]:
            aux = self.resnet(m).unsqueeze(1)
            aux = self.resnet_stretch(aux)
            aux = aux.squeeze(1)
            m = m.unsqueeze(1)
            for f in self.up_layers:
                m = f(m)
            m = m.squeeze(1)[:, :, self.indent : -self.indent]
            return m.transpose(1, 2), aux.transpose(1, 2)

    class WaveRNN(nn.Module):
        def __init__(self, rnn_dims, fc_dims, bits, pad, upsample_factors, feat_dims,
                     compute_dims, res_out_dims, res_blocks, hop_length, sample_rate,
                     mode="RAW"):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.mode = mode
            self.pad = pad
            if self.mode == "RAW":
                self.n_classes = 2**bits
            elif self.mode == "MOL":
                self.n_classes = 30
            else:
                RuntimeError("Unknown model mode value - ", self.mode)

            # List of rnns to call `flatten_parameters()` on
            self._to_flatten = []

            self.rnn_dims = rnn_dims
            self.aux_dims = res_out_dims // 4
            self.hop_length = hop_length
            self.sample_rate = sample_rate

            self.upsample = UpsampleNetwork(feat_dims, upsample_factors, compute_dims,
                                            res_blocks, res_out_dims, pad)  # fmt: skip
            self.I = nn.Linear(feat_dims + self.aux_dims + 1, rnn_dims)

            self.rnn1 = nn.GRU(rnn_dims, rnn_dims, batch_first=True)
            self.rnn2 = nn.GRU(rnn_dims + self.aux_dims, rnn_dims, batch_first=True)
            self._to_flatten += [self.rnn1, self.rnn2]

            self.fc1 = nn.Linear(rnn_dims + self.aux_dims, fc_dims)
            self.fc2 = nn.Linear(fc_dims + self.aux_dims, fc_dims)
            self.fc3 = nn.Linear(fc_dims, self.n_classes)

            self.register_buffer("step", torch.zeros(1, dtype=torch.long))
            self.num_params()

            # Avoid fragmentation of RNN parameters and associated warning
            self._flatten_parameters()

        def forward(self, x: Any, mels: Any) -> Any:
            device = next(self.parameters()).device  # use same device as parameters

            # Although we `_flatten_parameters()` on init, when using DataParallel
            # the model gets replicated, making it no longer guaranteed that the
            # weights are contiguous in GPU memory. Hence, we must call it again
            self._flatten_parameters()

            if self.training:
                self.step += 1
            bsize = x.size(0)
            h1 = torch.zeros(1, bsize, self.rnn_dims, device=device)
            h2 = torch.zeros(1, bsize, self.rnn_dims, device=device)
            mels, aux = self.upsample(mels)

            aux_idx = [self.aux_dims * i for i in range(5)]
            a1 = aux[:, :, aux_idx[0] : aux_idx[1]]
            a2 = aux[:, :, aux_idx[1] : aux_idx[2]]
            a3 = aux[:, :, aux_idx[2] : aux_idx[3]]
            a4 = aux[:, :, aux_idx[3] : aux_idx[4]]

            x = torch.cat([x.unsqueeze(-1), mels, a1], dim=2)
            x = self.I(x)
            res = x
            x, _ = self.rnn1(x, h1)

            x = x + res
            res = x
            x = torch.cat([x, a2], dim=2)
            x, _ = self.rnn2(x, h2)

            x = x + res
            x = torch.cat([x, a3], dim=2)
            x = F.relu(self.fc1(x))

            x = torch.cat([x, a4], dim=2)
            x = F.relu(self.fc2(x))
            return self.fc3(x)

        def num_params(self, print_out: bool = True) -> float:
            parameters = filter(lambda p: p.requires_grad, self.parameters())
            parameters = sum([np.prod(p.size()) for p in parameters]) / 1_000_000
            if print_out:
                print("Trainable Parameters: %.3fM" % parameters)  # noqa: T201, UP031
            return parameters

        def _flatten_parameters(self) -> None:
            """Calls `flatten_parameters` on all the rnns used by the WaveRNN. Used
            to improve efficiency and avoid PyTorch yelling at us."""
            [m.flatten_parameters() for m in self._to_flatten]

    return WaveRNN


def _distribution(torch_like: Any) -> dict[str, Any]:
    torch, F = torch_like, torch_like.nn.functional

    def log_sum_exp(x):  # noqa: ANN001, ANN202
        """numerically stable log_sum_exp implementation that prevents overflow"""
        # TF ordering
        axis = len(x.size()) - 1
        m, _ = torch.max(x, dim=axis)
        m2, _ = torch.max(x, dim=axis, keepdim=True)
        return m + torch.log(torch.sum(torch.exp(x - m2), dim=axis))

    def discretized_mix_logistic_loss(y_hat, y, num_classes=65536, log_scale_min=None,
                                      reduce=True):  # noqa: ANN001, ANN202 # fmt: skip
        if log_scale_min is None:
            log_scale_min = float(np.log(1e-14))
        y_hat = y_hat.permute(0, 2, 1)
        assert y_hat.dim() == 3
        assert y_hat.size(1) % 3 == 0
        nr_mix = y_hat.size(1) // 3

        # (B x T x C)
        y_hat = y_hat.transpose(1, 2)

        # unpack parameters. (B, T, num_mixtures) x 3
        logit_probs = y_hat[:, :, :nr_mix]
        means = y_hat[:, :, nr_mix : 2 * nr_mix]
        log_scales = torch.clamp(y_hat[:, :, 2 * nr_mix : 3 * nr_mix], min=log_scale_min)

        # B x T x 1 -> B x T x num_mixtures
        y = y.expand_as(means)

        centered_y = y - means
        inv_stdv = torch.exp(-log_scales)
        plus_in = inv_stdv * (centered_y + 1.0 / (num_classes - 1))
        cdf_plus = torch.sigmoid(plus_in)
        min_in = inv_stdv * (centered_y - 1.0 / (num_classes - 1))
        cdf_min = torch.sigmoid(min_in)

        # log probability for edge case of 0 (before scaling)
        # equivalent: torch.log(F.sigmoid(plus_in))
        log_cdf_plus = plus_in - F.softplus(plus_in)

        # log probability for edge case of 255 (before scaling)
        # equivalent: (1 - F.sigmoid(min_in)).log()
        log_one_minus_cdf_min = -F.softplus(min_in)

        # probability for all other cases
        cdf_delta = cdf_plus - cdf_min

        mid_in = inv_stdv * centered_y
        # log probability in the center of the bin, to be used in extreme cases
        # (not actually used in our code)
        log_pdf_mid = mid_in - log_scales - 2.0 * F.softplus(mid_in)

        inner_inner_cond = (cdf_delta > 1e-5).float()

        inner_inner_out = inner_inner_cond * torch.log(torch.clamp(cdf_delta, min=1e-12)) + (
            1.0 - inner_inner_cond
        ) * (log_pdf_mid - np.log((num_classes - 1) / 2))
        inner_cond = (y > 0.999).float()
        inner_out = inner_cond * log_one_minus_cdf_min + (1.0 - inner_cond) * inner_inner_out
        cond = (y < -0.999).float()
        log_probs = cond * log_cdf_plus + (1.0 - cond) * inner_out

        log_probs = log_probs + F.log_softmax(logit_probs, -1)

        if reduce:
            return -torch.mean(log_sum_exp(log_probs))
        else:
            return -log_sum_exp(log_probs).unsqueeze(-1)

    def to_one_hot(tensor, n, fill_with=1.0):  # noqa: ANN001, ANN202
        # we perform one hot encore with respect to the last axis
        one_hot = torch.FloatTensor(tensor.size() + (n,)).zero_()
        if tensor.is_cuda:
            one_hot = one_hot.cuda()
        one_hot.scatter_(len(tensor.size()), tensor.unsqueeze(-1), fill_with)
        return one_hot

    def sample_from_discretized_mix_logistic(y, log_scale_min=None):  # noqa: ANN001, ANN202
        if log_scale_min is None:
            log_scale_min = float(np.log(1e-14))
        assert y.size(1) % 3 == 0
        nr_mix = y.size(1) // 3

        # B x T x C
        y = y.transpose(1, 2)
        logit_probs = y[:, :, :nr_mix]

        # sample mixture indicator from softmax
        temp = logit_probs.data.new(logit_probs.size()).uniform_(1e-5, 1.0 - 1e-5)
        temp = logit_probs.data - torch.log(-torch.log(temp))
        _, argmax = temp.max(dim=-1)

        # (B, T) -> (B, T, nr_mix)
        one_hot = to_one_hot(argmax, nr_mix)
        # select logistic parameters
        means = torch.sum(y[:, :, nr_mix : 2 * nr_mix] * one_hot, dim=-1)
        log_scales = torch.clamp(
            torch.sum(y[:, :, 2 * nr_mix : 3 * nr_mix] * one_hot, dim=-1), min=log_scale_min
        )
        # sample from logistic & clip to interval
        # we don't actually round to the nearest 8bit value when sampling
        u = means.data.new(means.size()).uniform_(1e-5, 1.0 - 1e-5)
        x = means + torch.exp(log_scales) * (torch.log(u) - torch.log(1.0 - u))

        x = torch.clamp(torch.clamp(x, min=-1.0), max=1.0)

        return x

    return {
        "discretized_mix_logistic_loss": discretized_mix_logistic_loss,
        "sample_from_discretized_mix_logistic": sample_from_discretized_mix_logistic,
    }


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    WaveRNN = _wavernn(torch_like)

    class Vocoders(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            kw = dict(rnn_dims=8, fc_dims=8, pad=PAD, upsample_factors=(2, 2), feat_dims=FEAT,
                      compute_dims=8, res_out_dims=8, res_blocks=1, hop_length=HOP,
                      sample_rate=16000)  # fmt: skip
            self.raw = WaveRNN(bits=4, mode="RAW", **kw)
            self.mol = WaveRNN(bits=16, mode="MOL", **kw)

    return Vocoders()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    dist = _distribution(torch_like)
    np.random.seed(0)
    torch.manual_seed(0)
    rng = np.random.default_rng(21)

    def label_2_float(x, bits):  # noqa: ANN001, ANN202
        return 2 * x / (2**bits - 1.0) - 1.0

    def float_2_label(x, bits):  # noqa: ANN001, ANN202
        assert abs(x).max() <= 1.0
        x = (x + 1.0) * (2**bits - 1) / 2
        return x.clip(0, 2**bits - 1)

    def encode_mu_law(x, mu):  # noqa: ANN001, ANN202
        mu = mu - 1
        fx = np.sign(x) * np.log(1 + mu * np.abs(x)) / np.log(1 + mu)
        return np.floor((fx + 1) / 2 * mu + 0.5)

    def make_batch(bits: int, mode: str) -> tuple[Any, Any, Any]:
        batch = []
        for _ in range(2):
            mel = rng.normal(size=(FEAT, 10))
            wav = np.clip(0.5 * np.sin(np.arange(10 * HOP) / 3.0) + 0.1 * rng.normal(size=40),
                          -1, 1)  # fmt: skip
            quant = encode_mu_law(wav, 2**bits) if mode == "RAW" else float_2_label(wav, 16)
            batch.append((mel, quant))
        # collate_vocoder
        mel_win = SEQ_LEN // HOP + 2 * PAD
        max_offsets = [x[0].shape[-1] - 2 - (mel_win + 2 * PAD) for x in batch]
        mel_offsets = [np.random.randint(0, offset) for offset in max_offsets]
        sig_offsets = [(offset + PAD) * HOP for offset in mel_offsets]
        mels = [x[0][:, mel_offsets[i] : mel_offsets[i] + mel_win] for i, x in enumerate(batch)]
        labels = [x[1][sig_offsets[i] : sig_offsets[i] + SEQ_LEN + 1] for i, x in enumerate(batch)]
        mels = np.stack(mels).astype(np.float32)
        labels = np.stack(labels).astype(np.int64)
        mels = torch.tensor(mels)
        labels = torch.tensor(labels).long()
        x = labels[:, :SEQ_LEN]
        y = labels[:, 1:]
        bits_x = 16 if mode == "MOL" else bits
        x = label_2_float(x.float(), bits_x)
        if mode == "MOL":
            y = label_2_float(y.float(), bits_x)
        return x, y, mels

    values: list[float] = []
    for model, bits in ((models.raw, 4), (models.mol, 16)):
        loss_func = (
            F.cross_entropy if model.mode == "RAW" else dist["discretized_mix_logistic_loss"]
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        for _i in range(3):
            x, y, m = make_batch(bits, model.mode)
            y_hat = model(x, m)
            if model.mode == "RAW":
                y_hat = y_hat.transpose(1, 2).unsqueeze(-1)
            elif model.mode == "MOL":
                y = y.float()
            y = y.unsqueeze(-1)
            loss = loss_func(y_hat, y)
            optimizer.zero_grad()
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 4.0)
            with warnings.catch_warnings():  # torch's one-argument __array_wrap__ (NumPy 2)
                warnings.filterwarnings("ignore", "__array_wrap__ must accept", DeprecationWarning)
                if np.isnan(grad_norm):
                    print("grad_norm was NaN!")  # noqa: T201
            optimizer.step()
            values += [loss.item(), float(grad_norm)]
        values += [float(model.step.item()), model.num_params(print_out=False) * 1e6]
    models.eval()
    with torch.no_grad():
        out = models.mol(x, m)
        sample = dist["sample_from_discretized_mix_logistic"](out.transpose(1, 2))
    values += [sample.sum().item(), sample.abs().max().item()]
    return values
