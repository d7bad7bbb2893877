"""DCCRN speech enhancement, size-reduced from huyanxin/DeepComplexCRN (``conv_stft.py``,
``complexnn.py``, ``dc_crn.py``).

The idioms kept: ``init_kernels`` (``np.fft.rfft(np.eye(N))[:win_len]``, the real/imaginary
kernels stacked and, for the inverse, ``np.linalg.pinv(kernel).T``, times the square-rooted
window, ``torch.from_numpy(kernel.astype(np.float32))``) registered as buffers; ``ConvSTFT``
(``F.pad(inputs, [win_len - stride, win_len - stride])``, ``F.conv1d(..., stride=...)``) and
``ConviSTFT`` (``F.conv_transpose1d`` of the spectrum, the window-overlap normaliser
``self.window.repeat(1, 1, T) ** 2`` through ``F.conv_transpose1d(t, self.enframe)`` with
``enframe = torch.eye(win_len)[:, None, :]``, ``outputs / (coff + 1e-8)``, trimmed with
``[..., a:-a]``); ``ComplexConv2d``/``ComplexConvTranspose2d`` (real and imaginary
``nn.Conv2d``/``nn.ConvTranspose2d`` with ``nn.init.normal_(..., std=0.05)``, causal
``F.pad(inputs, [padding[1], 0, 0, 0])``, ``torch.chunk(inputs, 2, complex_axis)``,
``real2real - imag2imag``, ``torch.cat``); ``complex_cat`` for the skip connections; the
forward's ``torch.sqrt(real**2 + imag**2 + 1e-8)``, ``torch.atan2(imag, real)``,
``torch.stack([real, imag], 1)[:, :, 1:]``, the LSTM over ``out.permute(3, 0, 1, 2)``
reshaped by ``torch.reshape(out, [lengths, batch_size, channels * dims])``, ``out[..., 1:]``
after each decoder layer, ``F.pad(mask_real, [0, 0, 1, 0])``, the "E" mask (``torch.tanh``
of the mask magnitude, phases added, ``est_mags * torch.cos(est_phase)``), "C" and "R" masks,
``torch.clamp_(out_wav, -1, 1)``; ``get_params`` splitting biases from weights for weight
decay; the SI-SNR loss (``l2_norm`` with ``torch.sum(s1 * s2, -1, keepdim=True)``,
``10 * torch.log10(target_norm / (noise_norm + eps) + eps)``) and the "MSE" loss on the
spectrum (``labels[:, 0, :] = 0``, ``F.mse_loss(...) * d``).

Changed: fft_len 512 -> 16, hop 100 -> 8, kernel_num (16, 32, 64, 128, 256, 256) -> (4, 8),
rnn_units 256 -> 6, 64-sample waveforms, 3 steps per masking mode; the periodic Hann window
is written with NumPy (the repository calls ``scipy.signal.get_window``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
WIN_LEN, WIN_INC, FFT_LEN, WAVE = 16, 8, 16, 64


def get_window(win_type: str, win_len: int, fftbins: bool = True) -> np.ndarray:
    assert win_type == "hann" and fftbins
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win_len) / win_len)


def init_kernels(torch: Any, win_len: int, win_inc: int, fft_len: int, win_type: Any = None,
                 invers: bool = False) -> tuple:  # fmt: skip
    if win_type == "None" or win_type is None:
        window = np.ones(win_len)
    else:
        window = get_window(win_type, win_len, fftbins=True) ** 0.5
    N = fft_len
    fourier_basis = np.fft.rfft(np.eye(N))[:win_len]
    real_kernel = np.real(fourier_basis)
    imag_kernel = np.imag(fourier_basis)
    kernel = np.concatenate([real_kernel, imag_kernel], 1).T
    if invers:
        kernel = np.linalg.pinv(kernel).T
    kernel = kernel * window
    kernel = kernel[:, None, :]
    return (
        torch.from_numpy(kernel.astype(np.float32)),
        torch.from_numpy(window[None, :, None].astype(np.float32)),
    )


def _model_cls(torch: Any) -> type:
    nn, F = torch.nn, torch.nn.functional

    class ConvSTFT(nn.Module):
        def __init__(self, win_len, win_inc, fft_len=None, win_type="hamming",
                     feature_type="real", fix=True):  # noqa: ANN001 # fmt: skip
            super(ConvSTFT, self).__init__()  # noqa: UP008
            self.fft_len = fft_len
            kernel, _ = init_kernels(torch, win_len, win_inc, self.fft_len, win_type)
            self.register_buffer("weight", kernel)
            self.feature_type = feature_type
            self.stride = win_inc
            self.win_len = win_len
            self.dim = self.fft_len

        def forward(self, inputs: Any) -> Any:
            if inputs.dim() == 2:
                inputs = torch.unsqueeze(inputs, 1)
            inputs = F.pad(inputs, [self.win_len - self.stride, self.win_len - self.stride])
            outputs = F.conv1d(inputs, self.weight, stride=self.stride)
            return outputs  # feature_type 'complex'

    class ConviSTFT(nn.Module):
        def __init__(self, win_len, win_inc, fft_len=None, win_type="hamming",
                     feature_type="real", fix=True):  # noqa: ANN001 # fmt: skip
            super(ConviSTFT, self).__init__()  # noqa: UP008
            self.fft_len = fft_len
            kernel, window = init_kernels(torch, win_len, win_inc, self.fft_len, win_type,
                                          invers=True)  # fmt: skip
            self.register_buffer("weight", kernel)
            self.feature_type = feature_type
            self.win_type = win_type
            self.win_len = win_len
            self.stride = win_inc
            self.dim = self.fft_len
            self.register_buffer("window", window)
            self.register_buffer("enframe", torch.eye(win_len)[:, None, :])

        def forward(self, inputs: Any, phase: Any = None) -> Any:
            if phase is not None:
                real = inputs * torch.cos(phase)
                imag = inputs * torch.sin(phase)
                inputs = torch.cat([real, imag], 1)
            outputs = F.conv_transpose1d(inputs, self.weight, stride=self.stride)
            # this is from torch-stft: https://github.com/pseeth/torch-stft
            t = self.window.repeat(1, 1, inputs.size(-1)) ** 2
            coff = F.conv_transpose1d(t, self.enframe, stride=self.stride)
            outputs = outputs / (coff + 1e-8)
            outputs = outputs[..., self.win_len - self.stride : -(self.win_len - self.stride)]
            return outputs

    class ComplexConv2d(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size=(1, 1), stride=(1, 1),
                     padding=(0, 0), dilation=1, groups=1, causal=True,
                     complex_axis=1):  # noqa: ANN001 # fmt: skip
            super(ComplexConv2d, self).__init__()  # noqa: UP008
            self.in_channels = in_channels // 2
            self.out_channels = out_channels // 2
            self.kernel_size = kernel_size
            self.stride = stride
            self.padding = padding
            self.causal = causal
            self.groups = groups
            self.dilation = dilation
            self.complex_axis = complex_axis
            self.real_conv = nn.Conv2d(self.in_channels, self.out_channels, kernel_size,
                                       self.stride, padding=[self.padding[0], 0],
                                       dilation=self.dilation, groups=self.groups)  # fmt: skip
            self.imag_conv = nn.Conv2d(self.in_channels, self.out_channels, kernel_size,
                                       self.stride, padding=[self.padding[0], 0],
                                       dilation=self.dilation, groups=self.groups)  # fmt: skip
            nn.init.normal_(self.real_conv.weight.data, std=0.05)
            nn.init.normal_(self.imag_conv.weight.data, std=0.05)
            nn.init.constant_(self.real_conv.bias, 0.0)
            nn.init.constant_(self.imag_conv.bias, 0.0)

        def forward(self, inputs: Any) -> Any:
            if self.padding[1] != 0 and self.causal:
                inputs = F.pad(inputs, [self.padding[1], 0, 0, 0])
            else:
                inputs = F.pad(inputs, [self.padding[1], self.padding[1], 0, 0])
            if isinstance(inputs, torch.Tensor):
                real, imag = torch.chunk(inputs, 2, self.complex_axis)
            real2real = self.real_conv(real)
            imag2imag = self.imag_conv(imag)
            real2imag = self.imag_conv(real)
            imag2real = self.real_conv(imag)
            real = real2real - imag2imag
            imag = real2imag + imag2real
            out = torch.cat([real, imag], self.complex_axis)
            return out

    class ComplexConvTranspose2d(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size=(1, 1), stride=(1, 1),
                     padding=(0, 0), output_padding=(0, 0), causal=False, complex_axis=1,
                     groups=1):  # noqa: ANN001 # fmt: skip
            super(ComplexConvTranspose2d, self).__init__()  # noqa: UP008
            self.in_channels = in_channels // 2
            self.out_channels = out_channels // 2
            self.kernel_size = kernel_size
            self.stride = stride
            self.padding = padding
            self.output_padding = output_padding
            self.groups = groups
            self.real_conv = nn.ConvTranspose2d(self.in_channels, self.out_channels,
                                                kernel_size, self.stride, padding=self.padding,
                                                output_padding=output_padding,
                                                groups=self.groups)  # fmt: skip
            self.imag_conv = nn.ConvTranspose2d(self.in_channels, self.out_channels,
                                                kernel_size, self.stride, padding=self.padding,
                                                output_padding=output_padding,
                                                groups=self.groups)  # fmt: skip
            self.complex_axis = complex_axis
            nn.init.normal_(self.real_conv.weight, std=0.05)
            nn.init.normal_(self.imag_conv.weight, std=0.05)
            nn.init.constant_(self.real_conv.bias, 0.0)
            nn.init.constant_(self.imag_conv.bias, 0.0)

        def forward(self, inputs: Any) -> Any:
            if isinstance(inputs, torch.Tensor):
                real, imag = torch.chunk(inputs, 2, self.complex_axis)
            elif isinstance(inputs, tuple) or isinstance(inputs, list):  # noqa: SIM101
                real = inputs[0]
                imag = inputs[1]
            real2real = self.real_conv(real)
            imag2imag = self.imag_conv(imag)
            real2imag = self.imag_conv(real)
            imag2real = self.real_conv(imag)
            real = real2real - imag2imag
            imag = real2imag + imag2real
            out = torch.cat([real, imag], self.complex_axis)
            return out

    def complex_cat(inputs: list, axis: int) -> Any:
        real, imag = [], []
        for _idx, data in enumerate(inputs):
            r, i = torch.chunk(data, 2, axis)
            real.append(r)
            imag.append(i)
        real = torch.cat(real, axis)
        imag = torch.cat(imag, axis)
        outputs = torch.cat([real, imag], axis)
        return outputs

    class DCCRN(nn.Module):
        def __init__(self, rnn_layers=2, rnn_units=6, win_len=WIN_LEN, win_inc=WIN_INC,
                     fft_len=FFT_LEN, win_type="hann", masking_mode="E", kernel_size=5,
                     kernel_num=(4, 8)):  # noqa: ANN001 # fmt: skip
            super(DCCRN, self).__init__()  # noqa: UP008
            self.win_len = win_len
            self.win_inc = win_inc
            self.fft_len = fft_len
            self.win_type = win_type
            input_dim = win_len
            self.rnn_units = rnn_units
            self.input_dim = input_dim
            self.hidden_layers = rnn_layers
            self.kernel_size = kernel_size
            self.kernel_num = [2] + list(kernel_num)
            self.masking_mode = masking_mode
            fix = True
            self.fix = fix
            self.stft = ConvSTFT(self.win_len, self.win_inc, fft_len, self.win_type, "complex",
                                 fix=fix)  # fmt: skip
            self.istft = ConviSTFT(self.win_len, self.win_inc, fft_len, self.win_type,
                                   "complex", fix=fix)  # fmt: skip
            self.encoder = nn.ModuleList()
            self.decoder = nn.ModuleList()
            for idx in range(len(self.kernel_num) - 1):
                self.encoder.append(
                    nn.Sequential(
                        ComplexConv2d(
                            self.kernel_num[idx],
                            self.kernel_num[idx + 1],
                            kernel_size=(self.kernel_size, 2),
                            stride=(2, 1),
                            padding=(2, 1),
                        ),  # fmt: skip
                        nn.BatchNorm2d(self.kernel_num[idx + 1]),
                        nn.PReLU(),
                    )
                )
            hidden_dim = self.fft_len // (2 ** (len(self.kernel_num)))
            self.enhance = nn.LSTM(input_size=hidden_dim * self.kernel_num[-1],
                                   hidden_size=self.rnn_units, num_layers=2, dropout=0.0,
                                   bidirectional=False, batch_first=False)  # fmt: skip
            self.tranform = nn.Linear(self.rnn_units, hidden_dim * self.kernel_num[-1])
            for idx in range(len(self.kernel_num) - 1, 0, -1):
                if idx != 1:
                    self.decoder.append(
                        nn.Sequential(
                            ComplexConvTranspose2d(
                                self.kernel_num[idx] * 2,
                                self.kernel_num[idx - 1],
                                kernel_size=(self.kernel_size, 2),
                                stride=(2, 1),
                                padding=(2, 0),
                                output_padding=(1, 0),
                            ),  # fmt: skip
                            nn.BatchNorm2d(self.kernel_num[idx - 1]),
                            nn.PReLU(),
                        )
                    )
                else:
                    self.decoder.append(
                        nn.Sequential(
                            ComplexConvTranspose2d(
                                self.kernel_num[idx] * 2,
                                self.kernel_num[idx - 1],
                                kernel_size=(self.kernel_size, 2),
                                stride=(2, 1),
                                padding=(2, 0),
                                output_padding=(1, 0),
                            ),  # fmt: skip
                        )
                    )
            if isinstance(self.enhance, nn.LSTM):
                self.enhance.flatten_parameters()

        def forward(self, inputs: Any, lens: Any = None) -> tuple:
            specs = self.stft(inputs)
            real = specs[:, : self.fft_len // 2 + 1]
            imag = specs[:, self.fft_len // 2 + 1 :]
            spec_mags = torch.sqrt(real**2 + imag**2 + 1e-8)
            spec_phase = torch.atan2(imag, real)
            cspecs = torch.stack([real, imag], 1)
            cspecs = cspecs[:, :, 1:]
            out = cspecs
            encoder_out = []
            for _idx, layer in enumerate(self.encoder):
                out = layer(out)
                encoder_out.append(out)
            batch_size, channels, dims, lengths = out.size()
            out = out.permute(3, 0, 1, 2)
            out = torch.reshape(out, [lengths, batch_size, channels * dims])
            out, _ = self.enhance(out)
            out = self.tranform(out)
            out = torch.reshape(out, [lengths, batch_size, channels, dims])
            out = out.permute(1, 2, 3, 0)
            for idx in range(len(self.decoder)):
                out = complex_cat([out, encoder_out[-1 - idx]], 1)
                out = self.decoder[idx](out)
                out = out[..., 1:]
            mask_real = out[:, 0]
            mask_imag = out[:, 1]
            mask_real = F.pad(mask_real, [0, 0, 1, 0])
            mask_imag = F.pad(mask_imag, [0, 0, 1, 0])
            if self.masking_mode == "E":
                mask_mags = (mask_real**2 + mask_imag**2) ** 0.5
                real_phase = mask_real / (mask_mags + 1e-8)
                imag_phase = mask_imag / (mask_mags + 1e-8)
                mask_phase = torch.atan2(imag_phase, real_phase)
                mask_mags = torch.tanh(mask_mags)
                est_mags = mask_mags * spec_mags
                est_phase = spec_phase + mask_phase
                real = est_mags * torch.cos(est_phase)
                imag = est_mags * torch.sin(est_phase)
            elif self.masking_mode == "C":
                real, imag = (
                    real * mask_real - imag * mask_imag,
                    real * mask_imag + imag * mask_real,
                )
            elif self.masking_mode == "R":
                real, imag = real * mask_real, imag * mask_imag
            out_spec = torch.cat([real, imag], 1)
            out_wav = self.istft(out_spec)
            out_wav = torch.squeeze(out_wav, 1)
            out_wav = torch.clamp_(out_wav, -1, 1)
            return out_spec, out_wav

        def get_params(self, weight_decay: float = 0.0) -> list:
            weights, biases = [], []
            for name, param in self.named_parameters():
                if "bias" in name:
                    biases += [param]
                else:
                    weights += [param]
            params = [
                {"params": weights, "weight_decay": weight_decay},
                {"params": biases, "weight_decay": 0.0},
            ]
            return params

        def loss(self, inputs: Any, labels: Any, loss_mode: str = "SI-SNR") -> Any:
            if loss_mode == "MSE":
                b, d, t = inputs.shape
                labels[:, 0, :] = 0
                labels[:, d // 2, :] = 0
                return F.mse_loss(inputs, labels, reduction="mean") * d
            elif loss_mode == "SI-SNR":
                return -(si_snr(inputs, labels))

    return DCCRN


def l2_norm(torch: Any, s1: Any, s2: Any) -> Any:
    norm = torch.sum(s1 * s2, -1, keepdim=True)
    return norm


def _si_snr(torch: Any) -> Any:
    def si_snr(s1: Any, s2: Any, eps: float = 1e-8) -> Any:
        s1_s2_norm = l2_norm(torch, s1, s2)
        s2_s2_norm = l2_norm(torch, s2, s2)
        s_target = s1_s2_norm / (s2_s2_norm + eps) * s2
        e_nosie = s1 - s_target
        target_norm = l2_norm(torch, s_target, s_target)
        noise_norm = l2_norm(torch, e_nosie, e_nosie)
        snr = 10 * torch.log10((target_norm) / (noise_norm + eps) + eps)
        return torch.mean(snr)

    return si_snr


def make_model(torch_like: Any) -> Any:
    global si_snr
    si_snr = _si_snr(torch_like)
    return _model_cls(torch_like)()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(16)
    values: list[float] = []
    for mode in ("E", "C", "R"):
        model = make_model(torch_like)
        load_numpy_state(torch_like, model, init)
        model.masking_mode = mode
        optimizer = torch.optim.Adam(model.get_params(weight_decay=1e-5), lr=1e-2)
        for step in range(3):
            t = np.arange(WAVE) / WAVE
            clean = 0.5 * np.sin(2 * np.pi * rng.uniform(2, 6, (2, 1)) * t)
            noisy = clean + 0.1 * rng.standard_normal((2, WAVE))
            inputs = as_tensor(torch, noisy.astype(np.float32))
            labels = as_tensor(torch, clean.astype(np.float32))
            out_spec, out_wav = model(inputs)
            if step < 2:
                loss = model.loss(out_wav, labels, loss_mode="SI-SNR")
            else:
                target_spec = model.stft(labels)
                loss = model.loss(out_spec, target_spec, loss_mode="MSE")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values.append(loss.item())
    return values
