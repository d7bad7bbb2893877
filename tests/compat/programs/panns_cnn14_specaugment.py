"""PANNs audio tagging (qiuqiangkong/audioset_tagging_cnn, ``pytorch/models.py``,
``pytorch/pytorch_utils.py``, ``utils/utilities.py``, ``pytorch/losses.py``, ``pytorch/main.py``)
with torchlibrosa's ``Spectrogram``/``LogmelFilterBank``/``SpecAugmentation``
(``torchlibrosa/stft.py``, ``augmentation.py``), size-reduced.

The idioms kept: torchlibrosa's ``STFT`` as two frozen ``nn.Conv1d`` whose weights are set with
``self.conv_real.weight.data = torch.Tensor(np.real(self.W[:, 0:out_channels] *
fft_window[:, None]).T)[:, None, :]`` (the legacy ``torch.Tensor`` constructor on an array),
``F.pad(x, pad=(n_fft // 2, n_fft // 2), mode="reflect")``, ``real[:, None, :, :].transpose(2,
3)``, ``(real ** 2 + imag ** 2) ** (power / 2.0)``; ``LogmelFilterBank`` (``torch.matmul(input,
self.melW)`` with ``melW = nn.Parameter(torch.Tensor(melW))`` frozen, ``10.0 *
torch.log10(torch.clamp(input, min=self.amin, max=np.inf))``, ``log_spec -= 10.0 *
np.log10(np.maximum(self.amin, self.ref))``, ``torch.clamp(log_spec, min=log_spec.max().item()
- self.top_db, max=np.inf)``); ``DropStripes`` (``torch.randint(low=0, high=self.drop_width,
size=(1,))[0]``, ``torch.randint(low=0, high=total_width - distance, size=(1,))[0]`` with a
tensor ``high``, ``e[:, bgn : bgn + distance, :] = 0`` sliced by tensors, in place on
``input[n]``); Cnn14's ``bn0`` over ``x.transpose(1, 3)``, ``do_mixup`` (``(x[0::2].transpose(0,
-1) * mixup_lambda[0::2] + x[1::2].transpose(0, -1) * mixup_lambda[1::2]).transpose(0, -1)``) on
the spectrogram and on the targets, ``Mixup.get_lambda`` with ``np.random.RandomState.beta``,
``ConvBlock`` (``F.relu_(self.bn1(self.conv1(x)))``, ``pool_type`` 'avg', 'max', 'avg+max'),
``init_layer`` (``nn.init.xavier_uniform_``, ``layer.bias.data.fill_(0.)``) and ``init_bn``,
``torch.mean(x, dim=3)``, ``(x1, _) = torch.max(x, dim=2)``, ``F.dropout(x, p=0.5,
training=self.training)``, ``torch.sigmoid`` into ``F.binary_cross_entropy`` (``clip_bce``);
``move_data_to_device`` (``torch.Tensor(x)`` for floats, ``torch.LongTensor(x)`` for ints).

Changed: 32 kHz -> 160-sample clips, n_fft 1024 -> 32, hop 320 -> 16, 64 -> 8 mel bins (a
NumPy HTK triangular filterbank stands in for ``librosa.filters.mel``, a periodic Hann window
for ``librosa.filters.get_window``), 6 conv blocks of 64..2048 channels -> 2 of 4 and 8, 527
classes -> 3, 4 steps of batch 4.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

SAMPLES, N_FFT, HOP, MEL_BINS, CLASSES, BATCH, STEPS = 160, 32, 16, 8, 3, 4, 4


def _mel_filterbank(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) HTK triangular filters, as ``librosa.filters.mel(...).T``."""
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
    hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)  # noqa: E731
    edges = hz(np.linspace(mel(0.0), mel(sr / 2), n_mels + 2))
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    lower = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1] - edges[:-2])[:, None]
    upper = (edges[2:, None] - freqs[None, :]) / (edges[2:] - edges[1:-1])[:, None]
    return np.maximum(0, np.minimum(lower, upper)).T


def _modules(torch: Any) -> dict:
    nn, F = torch.nn, torch.nn.functional

    class STFT(nn.Module):
        def __init__(self, n_fft=N_FFT, hop_length=HOP, center=True, pad_mode="reflect",
                     freeze_parameters=True):  # noqa: ANN001 # fmt: skip
            super(STFT, self).__init__()  # noqa: UP008
            self.n_fft, self.hop_length = n_fft, hop_length
            self.center, self.pad_mode = center, pad_mode
            fft_window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
            self.W = np.exp(-2j * np.pi * np.outer(np.arange(n_fft), np.arange(n_fft)) / n_fft)
            out_channels = n_fft // 2 + 1
            self.conv_real = nn.Conv1d(in_channels=1, out_channels=out_channels,
                                       kernel_size=n_fft, stride=self.hop_length, padding=0,
                                       dilation=1, groups=1, bias=False)  # fmt: skip
            self.conv_imag = nn.Conv1d(in_channels=1, out_channels=out_channels,
                                       kernel_size=n_fft, stride=self.hop_length, padding=0,
                                       dilation=1, groups=1, bias=False)  # fmt: skip
            self.conv_real.weight.data = torch.Tensor(
                np.real(self.W[:, 0:out_channels] * fft_window[:, None]).T
            )[:, None, :]
            self.conv_imag.weight.data = torch.Tensor(
                np.imag(self.W[:, 0:out_channels] * fft_window[:, None]).T
            )[:, None, :]
            if freeze_parameters:
                for param in self.parameters():
                    param.requires_grad = False

        def forward(self, input: Any) -> tuple:
            x = input[:, None, :]
            if self.center:
                x = F.pad(x, pad=(self.n_fft // 2, self.n_fft // 2), mode=self.pad_mode)
            real = self.conv_real(x)
            imag = self.conv_imag(x)
            real = real[:, None, :, :].transpose(2, 3)
            imag = imag[:, None, :, :].transpose(2, 3)
            return real, imag

    class Spectrogram(nn.Module):
        def __init__(self, power=2.0, **kwargs):  # noqa: ANN001, ANN003
            super(Spectrogram, self).__init__()  # noqa: UP008
            self.power = power
            self.stft = STFT(**kwargs)

        def forward(self, input: Any) -> Any:
            (real, imag) = self.stft.forward(input)
            spectrogram = real**2 + imag**2
            if self.power == 2.0:
                pass
            else:
                spectrogram = spectrogram ** (self.power / 2.0)
            return spectrogram

    class LogmelFilterBank(nn.Module):
        def __init__(self, sr=8000, n_fft=N_FFT, n_mels=MEL_BINS, ref=1.0, amin=1e-10,
                     top_db=80.0, is_log=True, freeze_parameters=True):  # noqa: ANN001 # fmt: skip
            super(LogmelFilterBank, self).__init__()  # noqa: UP008
            self.is_log, self.ref, self.amin, self.top_db = is_log, ref, amin, top_db
            self.melW = _mel_filterbank(sr, n_fft, n_mels)
            self.melW = nn.Parameter(torch.Tensor(self.melW))
            if freeze_parameters:
                for param in self.parameters():
                    param.requires_grad = False

        def forward(self, input: Any) -> Any:
            mel_spectrogram = torch.matmul(input, self.melW)
            if self.is_log:
                output = self.power_to_db(mel_spectrogram)
            else:
                output = mel_spectrogram
            return output

        def power_to_db(self, input: Any) -> Any:
            ref_value = self.ref
            log_spec = 10.0 * torch.log10(torch.clamp(input, min=self.amin, max=np.inf))
            log_spec -= 10.0 * np.log10(np.maximum(self.amin, ref_value))
            if self.top_db is not None:
                if self.top_db < 0:
                    raise ValueError("top_db must be non-negative")
                log_spec = torch.clamp(log_spec, min=log_spec.max().item() - self.top_db,
                                       max=np.inf)  # fmt: skip
            return log_spec

    class DropStripes(nn.Module):
        def __init__(self, dim, drop_width, stripes_num):  # noqa: ANN001
            super(DropStripes, self).__init__()  # noqa: UP008
            assert dim in [2, 3]  # dim 2: time; dim 3: frequency
            self.dim = dim
            self.drop_width = drop_width
            self.stripes_num = stripes_num

        def forward(self, input: Any) -> Any:
            """input: (batch_size, channels, time_steps, freq_bins)"""
            assert input.ndimension() == 4
            if self.training is False:
                return input
            else:
                batch_size = input.shape[0]
                total_width = input.shape[self.dim]
                for n in range(batch_size):
                    self.transform_slice(input[n], total_width)
                return input

        def transform_slice(self, e: Any, total_width: int) -> None:
            """e: (channels, time_steps, freq_bins)"""
            for _ in range(self.stripes_num):
                distance = torch.randint(low=0, high=self.drop_width, size=(1,))[0]
                bgn = torch.randint(low=0, high=total_width - distance, size=(1,))[0]
                if self.dim == 2:
                    e[:, bgn : bgn + distance, :] = 0
                elif self.dim == 3:
                    e[:, :, bgn : bgn + distance] = 0

    class SpecAugmentation(nn.Module):
        def __init__(self, time_drop_width, time_stripes_num, freq_drop_width,
                     freq_stripes_num):  # noqa: ANN001 # fmt: skip
            super(SpecAugmentation, self).__init__()  # noqa: UP008
            self.time_dropper = DropStripes(dim=2, drop_width=time_drop_width,
                                            stripes_num=time_stripes_num)  # fmt: skip
            self.freq_dropper = DropStripes(dim=3, drop_width=freq_drop_width,
                                            stripes_num=freq_stripes_num)  # fmt: skip

        def forward(self, input: Any) -> Any:
            x = self.time_dropper(input)
            x = self.freq_dropper(x)
            return x

    def init_layer(layer: Any) -> None:
        """Initialize a Linear or Convolutional layer."""
        nn.init.xavier_uniform_(layer.weight)
        if hasattr(layer, "bias"):
            if layer.bias is not None:
                layer.bias.data.fill_(0.0)

    def init_bn(bn: Any) -> None:
        """Initialize a Batchnorm layer."""
        bn.bias.data.fill_(0.0)
        bn.weight.data.fill_(1.0)

    class ConvBlock(nn.Module):
        def __init__(self, in_channels, out_channels):  # noqa: ANN001
            super(ConvBlock, self).__init__()  # noqa: UP008
            self.conv1 = nn.Conv2d(in_channels=in_channels, out_channels=out_channels,
                                   kernel_size=(3, 3), stride=(1, 1), padding=(1, 1),
                                   bias=False)  # fmt: skip
            self.conv2 = nn.Conv2d(in_channels=out_channels, out_channels=out_channels,
                                   kernel_size=(3, 3), stride=(1, 1), padding=(1, 1),
                                   bias=False)  # fmt: skip
            self.bn1 = nn.BatchNorm2d(out_channels)
            self.bn2 = nn.BatchNorm2d(out_channels)
            self.init_weight()

        def init_weight(self) -> None:
            init_layer(self.conv1)
            init_layer(self.conv2)
            init_bn(self.bn1)
            init_bn(self.bn2)

        def forward(self, input: Any, pool_size: tuple = (2, 2), pool_type: str = "avg") -> Any:
            x = input
            x = F.relu_(self.bn1(self.conv1(x)))
            x = F.relu_(self.bn2(self.conv2(x)))
            if pool_type == "max":
                x = F.max_pool2d(x, kernel_size=pool_size)
            elif pool_type == "avg":
                x = F.avg_pool2d(x, kernel_size=pool_size)
            elif pool_type == "avg+max":
                x1 = F.avg_pool2d(x, kernel_size=pool_size)
                x2 = F.max_pool2d(x, kernel_size=pool_size)
                x = x1 + x2
            else:
                raise Exception("Incorrect argument!")
            return x

    class Cnn14(nn.Module):
        def __init__(self, mel_bins=MEL_BINS, classes_num=CLASSES):  # noqa: ANN001
            super(Cnn14, self).__init__()  # noqa: UP008
            self.spectrogram_extractor = Spectrogram(n_fft=N_FFT, hop_length=HOP,
                                                     center=True, pad_mode="reflect",
                                                     freeze_parameters=True)  # fmt: skip
            self.logmel_extractor = LogmelFilterBank(n_mels=mel_bins, top_db=None,
                                                     freeze_parameters=True)  # fmt: skip
            self.spec_augmenter = SpecAugmentation(
                time_drop_width=3, time_stripes_num=2, freq_drop_width=2, freq_stripes_num=2
            )
            self.bn0 = nn.BatchNorm2d(mel_bins)
            self.conv_block1 = ConvBlock(in_channels=1, out_channels=4)
            self.conv_block2 = ConvBlock(in_channels=4, out_channels=8)
            self.fc1 = nn.Linear(8, 8, bias=True)
            self.fc_audioset = nn.Linear(8, classes_num, bias=True)
            self.init_weight()

        def init_weight(self) -> None:
            init_bn(self.bn0)
            init_layer(self.fc1)
            init_layer(self.fc_audioset)

        def forward(self, input: Any, mixup_lambda: Any = None) -> dict:
            x = self.spectrogram_extractor(input)  # (batch_size, 1, time_steps, freq_bins)
            x = self.logmel_extractor(x)  # (batch_size, 1, time_steps, mel_bins)
            x = x.transpose(1, 3)
            x = self.bn0(x)
            x = x.transpose(1, 3)
            if self.training:
                x = self.spec_augmenter(x)
            if self.training and mixup_lambda is not None:
                x = do_mixup(x, mixup_lambda)
            x = self.conv_block1(x, pool_size=(2, 2), pool_type="avg")
            x = F.dropout(x, p=0.2, training=self.training)
            x = self.conv_block2(x, pool_size=(2, 2), pool_type=self.pool_type)
            x = F.dropout(x, p=0.2, training=self.training)
            x = torch.mean(x, dim=3)
            (x1, _) = torch.max(x, dim=2)
            x2 = torch.mean(x, dim=2)
            x = x1 + x2
            x = F.dropout(x, p=0.5, training=self.training)
            x = F.relu_(self.fc1(x))
            embedding = F.dropout(x, p=0.5, training=self.training)
            clipwise_output = torch.sigmoid(self.fc_audioset(x))
            output_dict = {"clipwise_output": clipwise_output, "embedding": embedding}
            return output_dict

    return {"Cnn14": Cnn14}


def do_mixup(x: Any, mixup_lambda: Any) -> Any:
    out = (
        x[0::2].transpose(0, -1) * mixup_lambda[0::2]
        + x[1::2].transpose(0, -1) * mixup_lambda[1::2]
    ).transpose(0, -1)
    return out


class Mixup:
    def __init__(self, mixup_alpha: float, random_seed: int = 1234) -> None:
        self.mixup_alpha = mixup_alpha
        self.random_state = np.random.RandomState(random_seed)

    def get_lambda(self, batch_size: int) -> np.ndarray:
        mixup_lambdas = []
        for _n in range(0, batch_size, 2):
            lam = self.random_state.beta(self.mixup_alpha, self.mixup_alpha, 1)[0]
            mixup_lambdas.append(lam)
            mixup_lambdas.append(1.0 - lam)
        return np.array(mixup_lambdas)


def move_data_to_device(torch: Any, x: Any, device: str) -> Any:
    if "float" in str(x.dtype):
        x = torch.Tensor(x)
    elif "int" in str(x.dtype):
        x = torch.LongTensor(x)
    else:
        return x
    return x.to(device)


def make_model(torch_like: Any) -> Any:
    model = _modules(torch_like)["Cnn14"]()
    model.pool_type = "avg"
    return model


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional

    def clip_bce(output_dict: dict, target_dict: dict) -> Any:
        return F.binary_cross_entropy(output_dict["clipwise_output"], target_dict["target"])

    torch.manual_seed(1234)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-08,
                                 weight_decay=0.0, amsgrad=True)  # fmt: skip
    mixup_augmenter = Mixup(mixup_alpha=1.0)
    rng = np.random.default_rng(32)
    values: list[float] = []
    for iteration, pool_type in enumerate(("avg", "max", "avg+max", "avg")):
        model.pool_type = pool_type
        batch_data_dict = {
            "waveform": rng.uniform(-0.5, 0.5, (BATCH, SAMPLES)),
            "target": (rng.random((BATCH, CLASSES)) < 0.4).astype(np.float64),
            "mixup_lambda": mixup_augmenter.get_lambda(batch_size=BATCH),
        }
        for key in batch_data_dict.keys():
            batch_data_dict[key] = move_data_to_device(torch, batch_data_dict[key], "cpu")
        model.train()
        if iteration % 2 == 0:
            batch_output_dict = model(batch_data_dict["waveform"],
                                      batch_data_dict["mixup_lambda"])  # fmt: skip
            batch_target_dict = {"target": do_mixup(batch_data_dict["target"],
                                                    batch_data_dict["mixup_lambda"])}  # fmt: skip
        else:
            batch_output_dict = model(batch_data_dict["waveform"], None)
            batch_target_dict = {"target": batch_data_dict["target"]}
        loss = clip_bce(batch_output_dict, batch_target_dict)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        out = model(batch_data_dict["waveform"])
    values.append(out["clipwise_output"].sum().item())
    values.append(out["embedding"].sum().item())
    return values
