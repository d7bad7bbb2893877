"""Open-Unmix music source separation as sigsep/open-unmix-pytorch writes it
(``openunmix/model.py``: ``OpenUnmix``, ``openunmix/transforms.py``: ``TorchSTFT``,
``ComplexNorm``; ``scripts/train.py``: ``train``, ``valid``, ``get_statistics``;
``openunmix/utils.py``: ``AverageMeter``, ``EarlyStopping``), size-reduced.

Kept verbatim: ``OpenUnmix`` with ``max_bin`` cropping, ``Linear(..., bias=False)`` +
``BatchNorm1d`` stages, a bidirectional ``LSTM(batch_first=False, dropout=0.4 if nb_layers > 1
else 0)`` with the skip ``torch.cat([x, lstm_out[0]], -1)``, ``input_mean``/``input_scale``
built with ``torch.from_numpy(-input_mean[: self.nb_bins]).float()`` and wrapped in
``Parameter``, ``output_scale``/``output_mean`` applied in place (``x *= self.output_scale``,
``x += self.output_mean``), ``mix = x.detach().clone()``, ``nb_frames, nb_samples,
nb_channels, nb_bins = x.data.shape``, ``F.relu(x) * mix`` and the permutes; ``TorchSTFT``'s
``nn.Parameter(torch.hann_window(n_fft), requires_grad=False)`` window and ``torch.stft(...,
center=self.center, normalized=False, onesided=True, pad_mode="reflect",
return_complex=True)`` followed by ``torch.view_as_real`` and ``stft_f.view(shape[:-1] +
stft_f.shape[-3:])``; ``ComplexNorm``'s ``torch.abs(torch.view_as_complex(spec))``; the
encoder ``torch.nn.Sequential(stft, model.ComplexNorm(mono=...))``; ``get_statistics``' running
mean/scale (sklearn's ``StandardScaler.partial_fit`` as NumPy sums here) over ``X =
encoder(x[None, ...]).mean(1, keepdim=False).permute(0, 2, 1)``; ``train``/``valid`` with
``torch.nn.functional.mse_loss(Y_hat, Y)``, ``losses.update(loss.item(), Y.size(1))``,
``torch.optim.Adam(unmix.parameters(), lr=args.lr, weight_decay=args.weight_decay)``,
``ReduceLROnPlateau(optimizer, factor=args.lr_decay_gamma, patience=args.lr_decay_patience,
cooldown=10)``, ``EarlyStopping`` and the best-state ``copy.deepcopy``-free
``unmix.state_dict()`` checkpoint; ``freeze()`` setting ``p.requires_grad = False``.

Changed: n_fft 4096 -> 32, hop 1024 -> 8, hidden 512 -> 8, 3 LSTM layers -> 2, max_bin from
the bandwidth -> 12, 6 random stereo excerpts of 96 samples (target = a scaled copy of the
mixture plus noise) instead of MUSDB18, batch 16 -> 3, 3 epochs, no tqdm.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_FFT, N_HOP, HIDDEN, CHANNELS = 32, 8, 8, 2
NB_BINS = N_FFT // 2 + 1
MAX_BIN = 12


def _openunmix(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional
    Linear, BatchNorm1d, LSTM, Parameter = nn.Linear, nn.BatchNorm1d, nn.LSTM, nn.Parameter

    class OpenUnmix(nn.Module):
        """OpenUnmix Core spectrogram based separation module."""

        def __init__(self, nb_bins=4096, nb_channels=2, hidden_size=512, nb_layers=3,
                     unidirectional=False, input_mean=None, input_scale=None,
                     max_bin=None):  # noqa: ANN001 # fmt: skip
            super(OpenUnmix, self).__init__()  # noqa: UP008 (as in the repository)

            self.nb_output_bins = nb_bins
            if max_bin:
                self.nb_bins = max_bin
            else:
                self.nb_bins = self.nb_output_bins

            self.hidden_size = hidden_size

            self.fc1 = Linear(self.nb_bins * nb_channels, hidden_size, bias=False)

            self.bn1 = BatchNorm1d(hidden_size)

            if unidirectional:
                lstm_hidden_size = hidden_size
            else:
                lstm_hidden_size = hidden_size // 2

            self.lstm = LSTM(
                input_size=hidden_size,
                hidden_size=lstm_hidden_size,
                num_layers=nb_layers,
                bidirectional=not unidirectional,
                batch_first=False,
                dropout=0.4 if nb_layers > 1 else 0,
            )

            fc2_hiddensize = hidden_size * 2
            self.fc2 = Linear(in_features=fc2_hiddensize, out_features=hidden_size, bias=False)

            self.bn2 = BatchNorm1d(hidden_size)

            self.fc3 = Linear(
                in_features=hidden_size,
                out_features=self.nb_output_bins * nb_channels,
                bias=False,
            )

            self.bn3 = BatchNorm1d(self.nb_output_bins * nb_channels)

            if input_mean is not None:
                input_mean = torch.from_numpy(-input_mean[: self.nb_bins]).float()
            else:
                input_mean = torch.zeros(self.nb_bins)

            if input_scale is not None:
                input_scale = torch.from_numpy(1.0 / input_scale[: self.nb_bins]).float()
            else:
                input_scale = torch.ones(self.nb_bins)

            self.input_mean = Parameter(input_mean)
            self.input_scale = Parameter(input_scale)

            self.output_scale = Parameter(torch.ones(self.nb_output_bins).float())
            self.output_mean = Parameter(torch.ones(self.nb_output_bins).float())

        def freeze(self):  # noqa: ANN201
            # set all parameters as not requiring gradient, more RAM-efficient
            # at test time
            for p in self.parameters():
                p.requires_grad = False
            self.eval()

        def forward(self, x):  # noqa: ANN001, ANN201
            # permute so that batch is last for lstm
            x = x.permute(3, 0, 1, 2)
            # get current spectrogram shape
            nb_frames, nb_samples, nb_channels, nb_bins = x.data.shape

            mix = x.detach().clone()

            # crop
            x = x[..., : self.nb_bins]
            # shift and scale input to mean=0 std=1 (across all bins)
            x = x + self.input_mean
            x = x * self.input_scale

            # to (nb_frames*nb_samples, nb_channels*nb_bins)
            # and encode to (nb_frames*nb_samples, hidden_size)
            x = self.fc1(x.reshape(-1, nb_channels * self.nb_bins))
            # normalize every instance in a batch
            x = self.bn1(x)
            x = x.reshape(nb_frames, nb_samples, self.hidden_size)
            # squash range ot [-1, 1]
            x = torch.tanh(x)

            # apply 3-layers of stacked LSTM
            lstm_out = self.lstm(x)

            # lstm skip connection
            x = torch.cat([x, lstm_out[0]], -1)

            # first dense stage + batch norm
            x = self.fc2(x.reshape(-1, x.shape[-1]))
            x = self.bn2(x)

            x = F.relu(x)

            # second dense stage + layer norm
            x = self.fc3(x)
            x = self.bn3(x)

            # reshape back to original dim
            x = x.reshape(nb_frames, nb_samples, nb_channels, self.nb_output_bins)

            # apply output scaling
            x *= self.output_scale
            x += self.output_mean

            # since our output is non-negative, we can apply RELU
            x = F.relu(x) * mix
            # permute back to (nb_samples, nb_channels, nb_bins, nb_frames)
            return x.permute(1, 2, 3, 0)

    return OpenUnmix


def _transforms(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn

    class TorchSTFT(nn.Module):
        def __init__(self, n_fft=4096, n_hop=1024, center=False, window=None):  # noqa: ANN001
            super(TorchSTFT, self).__init__()  # noqa: UP008
            if window is None:
                self.window = nn.Parameter(torch.hann_window(n_fft), requires_grad=False)
            else:
                self.window = window

            self.n_fft = n_fft
            self.n_hop = n_hop
            self.center = center

        def forward(self, x):  # noqa: ANN001, ANN201
            shape = x.size()
            nb_samples, nb_channels, nb_timesteps = shape

            # pack batch
            x = x.view(-1, shape[-1])

            complex_stft = torch.stft(
                x,
                n_fft=self.n_fft,
                hop_length=self.n_hop,
                window=self.window,
                center=self.center,
                normalized=False,
                onesided=True,
                pad_mode="reflect",
                return_complex=True,
            )
            stft_f = torch.view_as_real(complex_stft)
            # unpack batch
            stft_f = stft_f.view(shape[:-1] + stft_f.shape[-3:])
            return stft_f

    class ComplexNorm(nn.Module):
        def __init__(self, mono: bool = False):
            super(ComplexNorm, self).__init__()  # noqa: UP008
            self.mono = mono

        def forward(self, spec):  # noqa: ANN001, ANN201
            # take the magnitude
            spec = torch.abs(torch.view_as_complex(spec))

            # downmix in the mag domain to preserve energy
            if self.mono:
                spec = torch.mean(spec, 1, keepdim=True)

            return spec

    return TorchSTFT, ComplexNorm


def make_model(torch_like: Any) -> Any:
    return _openunmix(torch_like)(nb_bins=NB_BINS, nb_channels=CHANNELS, hidden_size=HIDDEN,
                                  nb_layers=2, max_bin=MAX_BIN)  # fmt: skip


class AverageMeter:
    """Computes and stores the average and current value"""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val: float, n: int = 1) -> None:
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count


class EarlyStopping:
    def __init__(self, mode: str = "min", min_delta: float = 0, patience: int = 10) -> None:
        self.mode = mode
        self.min_delta = min_delta
        self.patience = patience
        self.best = None
        self.num_bad_epochs = 0
        self.is_better = lambda a, best: a < best - min_delta

    def step(self, metrics: float) -> bool:
        if self.best is None:
            self.best = metrics
            return False
        if self.is_better(metrics, self.best):
            self.num_bad_epochs = 0
            self.best = metrics
        else:
            self.num_bad_epochs += 1
        return self.num_bad_epochs >= self.patience


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    TorchSTFT, ComplexNorm = _transforms(torch_like)
    rng = np.random.default_rng(3)
    mixes = rng.normal(0, 0.5, (6, CHANNELS, 96))
    targets = 0.6 * mixes + rng.normal(0, 0.05, mixes.shape)
    stft = TorchSTFT(n_fft=N_FFT, n_hop=N_HOP, center=False)
    encoder = torch.nn.Sequential(stft, ComplexNorm(mono=CHANNELS == 1))

    # get_statistics: a StandardScaler's mean and scale over the training spectrogram frames
    count, total, total_sq = 0, 0.0, 0.0
    for x in mixes:
        X = encoder(as_tensor(torch, x)[None, ...]).mean(1, keepdim=False).permute(0, 2, 1)
        frames = np.squeeze(X.detach().numpy(), axis=0)
        count, total, total_sq = (
            count + len(frames),
            total + frames.sum(0),
            total_sq + (frames**2).sum(0),
        )
    mean = total / count
    std = np.maximum(np.sqrt(total_sq / count - mean**2), 1e-12)

    torch.manual_seed(42)
    unmix = _openunmix(torch_like)(nb_bins=NB_BINS, nb_channels=CHANNELS, hidden_size=HIDDEN,
                                   nb_layers=2, max_bin=MAX_BIN, input_mean=mean,
                                   input_scale=std)  # fmt: skip
    if init is not None:  # the training starts from the shared weights, statistics kept
        state = dict(init)
        state.pop("input_mean")
        state.pop("input_scale")
        stats = {"input_mean": unmix.input_mean.detach().numpy(),
                 "input_scale": unmix.input_scale.detach().numpy()}  # fmt: skip
        load_numpy_state(torch_like, unmix, {**state, **stats})
    optimizer = torch.optim.Adam(unmix.parameters(), lr=0.01, weight_decay=0.00001)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=0.3, patience=1, cooldown=10
    )
    es = EarlyStopping(patience=140)
    values: list[float] = []
    best_state = None
    for _epoch in range(3):
        losses = AverageMeter()
        unmix.train()
        order = rng.permutation(6)
        for start in range(0, 6, 3):
            idx = order[start : start + 3]
            x, y = as_tensor(torch, mixes[idx]), as_tensor(torch, targets[idx])
            optimizer.zero_grad()
            X = encoder(x)
            Y_hat = unmix(X)
            Y = encoder(y)
            loss = torch.nn.functional.mse_loss(Y_hat, Y)
            loss.backward()
            optimizer.step()
            losses.update(loss.item(), Y.size(1))
        train_loss = losses.avg

        # valid
        losses = AverageMeter()
        unmix.eval()
        with torch.no_grad():
            for i in range(2):
                x, y = as_tensor(torch, mixes[i : i + 1]), as_tensor(torch, targets[i : i + 1])
                X = encoder(x)
                Y_hat = unmix(X)
                Y = encoder(y)
                loss = torch.nn.functional.mse_loss(Y_hat, Y)
                losses.update(loss.item(), Y.size(1))
        valid_loss = losses.avg
        scheduler.step(valid_loss)
        stop = es.step(valid_loss)
        if valid_loss == es.best:
            best_state = {k: v.clone() for k, v in unmix.state_dict().items()}
        values += [train_loss, valid_loss, optimizer.param_groups[0]["lr"], float(stop)]
    unmix.load_state_dict(best_state)
    unmix.freeze()
    with torch.no_grad():
        estimate = unmix(encoder(as_tensor(torch, mixes[:1])))
    values += [float(estimate.sum()), float(sum(p.requires_grad for p in unmix.parameters()))]
    return values
