"""NVIDIA/BigVGAN (``bigvgan.py``, ``activations.py``, ``alias_free_activation/torch/filter.py``,
``resample.py``, ``act.py``, ``utils.py``), size-reduced: the anti-aliased periodic-activation
vocoder generator trained a few steps on the mel L1 loss, then stripped of weight norm.

The idioms: ``kaiser_sinc_filter1d`` (``A = 2.285 * (half_size - 1) * math.pi * delta_f + 7.95``
and the three-way ``beta`` rule, ``torch.kaiser_window(kernel_size, beta=beta,
periodic=False)``, the even-length ``(torch.arange(-half_size, half_size) + 0.5)``, the
``'sinc' in dir(torch)`` choice of ``torch.sinc``, ``filter_ /= filter_.sum()``,
``filter_.view(1, 1, kernel_size)``); ``LowPassFilter1d`` (``F.pad(x, (self.pad_left,
self.pad_right), mode=self.padding_mode)`` with ``'replicate'``, ``F.conv1d(x,
self.filter.expand(C, -1, -1), stride=self.stride, groups=C)``); ``UpSample1d`` (``self.ratio *
F.conv_transpose1d(x, self.filter.expand(C, -1, -1), stride=self.stride, groups=C)``,
``x[..., self.pad_left:-self.pad_right]``) and ``DownSample1d``; ``Activation1d`` (upsample ->
activation -> downsample); ``Snake`` / ``SnakeBeta`` (``Parameter(torch.zeros(in_features) *
alpha)`` in log scale, ``self.alpha.requires_grad = alpha_trainable``,
``self.alpha.unsqueeze(0).unsqueeze(-1)``, ``torch.exp``, ``x + (1.0 / (beta +
self.no_div_by_zero)) * pow(sin(x * alpha), 2)`` with ``from torch import sin, pow`` where
``pow`` is Python's builtin on a tensor); ``AMPBlock1`` (``weight_norm(Conv1d(channels,
channels, kernel_size, 1, dilation=d, padding=get_padding(kernel_size, d)))``,
``self.convs1.apply(init_weights)``, the ``acts1, acts2 = self.activations[::2],
self.activations[1::2]`` slices of a ``nn.ModuleList`` zipped with the convs,
and its ``remove_weight_norm``);
``BigVGAN`` (``nn.ModuleList([nn.ModuleList([weight_norm(ConvTranspose1d(...,
padding=(k - u) // 2))])])``, ``self.resblocks[i * self.num_kernels + j](x)`` summed and divided
by ``self.num_kernels``, ``activation_post``, ``use_bias_at_final=False``,
``use_tanh_at_final=False`` -> ``torch.clamp(x, min=-1.0, max=1.0)``); ``utils.init_weights``
(``classname.find("Conv") != -1``, ``m.weight.data.normal_(mean, std)``) and ``get_padding``;
``train.py``'s ``F.l1_loss(y_mel, y_g_hat_mel) * 45`` on a hand-written log mel and
``torch.optim.AdamW(..., betas=[h.adam_b1, h.adam_b2])`` with ``ExponentialLR(gamma=h.lr_decay)``.

Changed: 100 mel bins -> 4, upsample rates (4, 4, 2, 2, 2, 2) -> (2, 2), initial channel 1536 ->
8, resblock kernels (3, 7, 11) -> (3, 5) with dilations (1, 3, 5) -> (1, 3); the discriminators
are left out (the HiFi-GAN and UnivNet programs cover them); the mel front end is an STFT with a
fixed NumPy filter bank; the deprecated ``weight_norm`` hook's ``FutureWarning`` is silenced;
mels and audio come from NumPy.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

N_MELS, CH0 = 4, 8
UP_RATES, UP_KERNELS = (2, 2), (4, 4)
RB_KERNELS, RB_DILATIONS = (3, 5), ((1, 3), (1, 3))


def _filters(torch_like: Any) -> dict[str, Any]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    if "sinc" in dir(torch):
        sinc = torch.sinc
    else:
        # This code is adopted from adefossez's julius.core.sinc under the MIT License
        def sinc(x):  # noqa: ANN001, ANN202
            return torch.where(x == 0, torch.tensor(1.0, device=x.device, dtype=x.dtype),
                               torch.sin(math.pi * x) / math.pi / x)  # fmt: skip

    def kaiser_sinc_filter1d(cutoff, half_width, kernel_size):  # return filter [1,1,kernel_size]  # noqa: ANN001, ANN202
        even = kernel_size % 2 == 0
        half_size = kernel_size // 2

        # For kaiser window
        delta_f = 4 * half_width
        A = 2.285 * (half_size - 1) * math.pi * delta_f + 7.95
        if A > 50.0:
            beta = 0.1102 * (A - 8.7)
        elif A >= 21.0:
            beta = 0.5842 * (A - 21) ** 0.4 + 0.07886 * (A - 21.0)
        else:
            beta = 0.0
        window = torch.kaiser_window(kernel_size, beta=beta, periodic=False)

        # ratio = 0.5/cutoff -> 2 * cutoff = 1 / ratio
        if even:
            time = torch.arange(-half_size, half_size) + 0.5
        else:
            time = torch.arange(kernel_size) - half_size
        if cutoff == 0:
            filter_ = torch.zeros_like(time)
        else:
            filter_ = 2 * cutoff * window * sinc(2 * cutoff * time)
            # Normalize filter to have sum = 1, otherwise we will have a small leakage
            # of the constant component in the input signal.
            filter_ /= filter_.sum()
            filter = filter_.view(1, 1, kernel_size)

        return filter

    class LowPassFilter1d(nn.Module):
        def __init__(self, cutoff=0.5, half_width=0.6, stride: int = 1, padding: bool = True,
                     padding_mode: str = "replicate", kernel_size: int = 12):  # noqa: ANN001 # fmt: skip
            super().__init__()
            if cutoff < -0.0:
                raise ValueError("Minimum cutoff must be larger than zero.")
            if cutoff > 0.5:
                raise ValueError("A cutoff above 0.5 does not make sense.")
            self.kernel_size = kernel_size
            self.even = kernel_size % 2 == 0
            self.pad_left = kernel_size // 2 - int(self.even)
            self.pad_right = kernel_size // 2
            self.stride = stride
            self.padding = padding
            self.padding_mode = padding_mode
            filter = kaiser_sinc_filter1d(cutoff, half_width, kernel_size)
            self.register_buffer("filter", filter)

        # input [B, C, T]
        def forward(self, x: Any) -> Any:
            _, C, _ = x.shape

            if self.padding:
                x = F.pad(x, (self.pad_left, self.pad_right), mode=self.padding_mode)
            out = F.conv1d(x, self.filter.expand(C, -1, -1), stride=self.stride, groups=C)

            return out

    class UpSample1d(nn.Module):
        def __init__(self, ratio=2, kernel_size=None):  # noqa: ANN001
            super().__init__()
            self.ratio = ratio
            self.kernel_size = int(6 * ratio // 2) * 2 if kernel_size is None else kernel_size
            self.stride = ratio
            self.pad = self.kernel_size // ratio - 1
            self.pad_left = self.pad * self.stride + (self.kernel_size - self.stride) // 2
            self.pad_right = self.pad * self.stride + (self.kernel_size - self.stride + 1) // 2
            filter = kaiser_sinc_filter1d(cutoff=0.5 / ratio, half_width=0.6 / ratio,
                                          kernel_size=self.kernel_size)  # fmt: skip
            self.register_buffer("filter", filter)

        # x: [B, C, T]
        def forward(self, x: Any) -> Any:
            _, C, _ = x.shape

            x = F.pad(x, (self.pad, self.pad), mode="replicate")
            x = self.ratio * F.conv_transpose1d(x, self.filter.expand(C, -1, -1),
                                                stride=self.stride, groups=C)  # fmt: skip
            x = x[..., self.pad_left : -self.pad_right]

            return x

    class DownSample1d(nn.Module):
        def __init__(self, ratio=2, kernel_size=None):  # noqa: ANN001
            super().__init__()
            self.ratio = ratio
            self.kernel_size = int(6 * ratio // 2) * 2 if kernel_size is None else kernel_size
            self.lowpass = LowPassFilter1d(cutoff=0.5 / ratio, half_width=0.6 / ratio,
                                           stride=ratio, kernel_size=self.kernel_size)  # fmt: skip

        def forward(self, x: Any) -> Any:
            xx = self.lowpass(x)

            return xx

    class Activation1d(nn.Module):
        def __init__(self, activation, up_ratio: int = 2, down_ratio: int = 2,
                     up_kernel_size: int = 12, down_kernel_size: int = 12):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.up_ratio = up_ratio
            self.down_ratio = down_ratio
            self.act = activation
            self.upsample = UpSample1d(up_ratio, up_kernel_size)
            self.downsample = DownSample1d(down_ratio, down_kernel_size)

        # x: [B,C,T]
        def forward(self, x: Any) -> Any:
            x = self.upsample(x)
            x = self.act(x)
            x = self.downsample(x)

            return x

    return {"Activation1d": Activation1d, "kaiser_sinc_filter1d": kaiser_sinc_filter1d}


def _activations(torch_like: Any) -> tuple[Any, Any]:
    nn, torch = torch_like.nn, torch_like
    Parameter, sin = torch_like.nn.Parameter, torch_like.sin

    class Snake(nn.Module):
        def __init__(self, in_features, alpha=1.0, alpha_trainable=True, alpha_logscale=False):  # noqa: ANN001
            super(Snake, self).__init__()  # noqa: UP008 (as in the repository)
            self.in_features = in_features

            # initialize alpha
            self.alpha_logscale = alpha_logscale
            if self.alpha_logscale:  # log scale alphas initialized to zeros
                self.alpha = Parameter(torch.zeros(in_features) * alpha)
            else:  # linear scale alphas initialized to ones
                self.alpha = Parameter(torch.ones(in_features) * alpha)

            self.alpha.requires_grad = alpha_trainable

            self.no_div_by_zero = 0.000000001

        def forward(self, x: Any) -> Any:
            alpha = self.alpha.unsqueeze(0).unsqueeze(-1)  # line up with x to [B, C, T]
            if self.alpha_logscale:
                alpha = torch.exp(alpha)
            x = x + (1.0 / (alpha + self.no_div_by_zero)) * pow(sin(x * alpha), 2)

            return x

    class SnakeBeta(nn.Module):
        def __init__(self, in_features, alpha=1.0, alpha_trainable=True, alpha_logscale=False):  # noqa: ANN001
            super(SnakeBeta, self).__init__()  # noqa: UP008
            self.in_features = in_features

            # initialize alpha
            self.alpha_logscale = alpha_logscale
            if self.alpha_logscale:  # log scale alphas initialized to zeros
                self.alpha = Parameter(torch.zeros(in_features) * alpha)
                self.beta = Parameter(torch.zeros(in_features) * alpha)
            else:  # linear scale alphas initialized to ones
                self.alpha = Parameter(torch.ones(in_features) * alpha)
                self.beta = Parameter(torch.ones(in_features) * alpha)

            self.alpha.requires_grad = alpha_trainable
            self.beta.requires_grad = alpha_trainable

            self.no_div_by_zero = 0.000000001

        def forward(self, x: Any) -> Any:
            alpha = self.alpha.unsqueeze(0).unsqueeze(-1)  # line up with x to [B, C, T]
            beta = self.beta.unsqueeze(0).unsqueeze(-1)
            if self.alpha_logscale:
                alpha = torch.exp(alpha)
                beta = torch.exp(beta)
            x = x + (1.0 / (beta + self.no_div_by_zero)) * pow(sin(x * alpha), 2)

            return x

    return Snake, SnakeBeta


def _bigvgan(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    Conv1d, ConvTranspose1d = nn.Conv1d, nn.ConvTranspose1d
    remove_weight_norm = nn.utils.remove_weight_norm
    Activation1d = _filters(torch_like)["Activation1d"]
    Snake, SnakeBeta = _activations(torch_like)

    def weight_norm(module: Any) -> Any:
        with warnings.catch_warnings():  # the hook is deprecated for parametrizations.weight_norm
            warnings.simplefilter("ignore", FutureWarning)
            return nn.utils.weight_norm(module)

    def init_weights(m, mean=0.0, std=0.01):  # noqa: ANN001, ANN202
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            m.weight.data.normal_(mean, std)

    def get_padding(kernel_size, dilation=1):  # noqa: ANN001, ANN202
        return int((kernel_size * dilation - dilation) / 2)

    class AMPBlock1(torch.nn.Module):
        def __init__(self, channels, kernel_size=3, dilation=(1, 3, 5), activation=None,
                     snake_logscale=True):  # noqa: ANN001 # fmt: skip
            super(AMPBlock1, self).__init__()  # noqa: UP008

            self.convs1 = nn.ModuleList(
                [
                    weight_norm(
                        Conv1d(
                            channels,
                            channels,
                            kernel_size,
                            stride=1,
                            dilation=d,
                            padding=get_padding(kernel_size, d),
                        )
                    )  # fmt: skip
                    for d in dilation
                ]
            )
            self.convs1.apply(init_weights)

            self.convs2 = nn.ModuleList(
                [
                    weight_norm(
                        Conv1d(
                            channels,
                            channels,
                            kernel_size,
                            stride=1,
                            dilation=1,
                            padding=get_padding(kernel_size, 1),
                        )
                    )  # fmt: skip
                    for _ in range(len(dilation))
                ]
            )
            self.convs2.apply(init_weights)

            self.num_layers = len(self.convs1) + len(self.convs2)  # Total number of conv layers

            # Activation functions
            if activation == "snake":
                self.activations = nn.ModuleList(
                    [
                        Activation1d(activation=Snake(channels, alpha_logscale=snake_logscale))
                        for _ in range(self.num_layers)
                    ]
                )
            elif activation == "snakebeta":
                self.activations = nn.ModuleList(
                    [
                        Activation1d(activation=SnakeBeta(channels, alpha_logscale=snake_logscale))
                        for _ in range(self.num_layers)
                    ]
                )
            else:
                raise NotImplementedError(
                    "activation incorrectly specified. check the config file and look for "
                    "'activation'."
                )

        def forward(self, x: Any) -> Any:
            acts1, acts2 = self.activations[::2], self.activations[1::2]
            for c1, c2, a1, a2 in zip(self.convs1, self.convs2, acts1, acts2, strict=True):
                xt = a1(x)
                xt = c1(xt)
                xt = a2(xt)
                xt = c2(xt)
                x = xt + x

            return x

        def remove_weight_norm(self) -> None:
            for l in self.convs1:  # noqa: E741 (as in the repository)
                remove_weight_norm(l)
            for l in self.convs2:  # noqa: E741
                remove_weight_norm(l)

    class BigVGAN(torch.nn.Module):
        def __init__(self, use_tanh_at_final: bool = False, use_bias_at_final: bool = False):
            super().__init__()
            self.num_kernels = len(RB_KERNELS)
            self.num_upsamples = len(UP_RATES)

            # Pre-conv
            self.conv_pre = weight_norm(Conv1d(N_MELS, CH0, 7, 1, padding=3))

            # Transposed conv-based upsamplers. does not apply anti-aliasing
            self.ups = nn.ModuleList()
            for i, (u, k) in enumerate(zip(UP_RATES, UP_KERNELS, strict=True)):
                self.ups.append(
                    nn.ModuleList(
                        [
                            weight_norm(
                                ConvTranspose1d(
                                    CH0 // (2**i), CH0 // (2 ** (i + 1)), k, u, padding=(k - u) // 2
                                )
                            )  # fmt: skip
                        ]
                    )
                )

            # Residual blocks using anti-aliased multi-periodicity composition modules (AMP)
            self.resblocks = nn.ModuleList()
            for i in range(len(self.ups)):
                ch = CH0 // (2 ** (i + 1))
                for _j, (k, d) in enumerate(zip(RB_KERNELS, RB_DILATIONS, strict=True)):
                    self.resblocks.append(AMPBlock1(ch, k, d, activation="snakebeta"))

            # Post-conv
            activation_post = SnakeBeta(ch, alpha_logscale=True)
            self.activation_post = Activation1d(activation=activation_post)

            # Whether to use bias for the final conv_post (True by default, for compatibility)
            self.use_bias_at_final = use_bias_at_final
            self.conv_post = weight_norm(
                Conv1d(ch, 1, 7, 1, padding=3, bias=self.use_bias_at_final)
            )

            # Weight initialization
            for i in range(len(self.ups)):
                self.ups[i].apply(init_weights)
            self.conv_post.apply(init_weights)

            # Final tanh activation. Defaults to True for backward compatibility
            self.use_tanh_at_final = use_tanh_at_final

        def forward(self, x: Any) -> Any:
            # Pre-conv
            x = self.conv_pre(x)

            for i in range(self.num_upsamples):
                # Upsampling
                for i_up in range(len(self.ups[i])):
                    x = self.ups[i][i_up](x)
                # AMP blocks
                xs = None
                for j in range(self.num_kernels):
                    if xs is None:
                        xs = self.resblocks[i * self.num_kernels + j](x)
                    else:
                        xs += self.resblocks[i * self.num_kernels + j](x)
                x = xs / self.num_kernels

            # Post-conv
            x = self.activation_post(x)
            x = self.conv_post(x)
            # Final tanh activation
            if self.use_tanh_at_final:
                x = torch.tanh(x)
            else:
                x = torch.clamp(x, min=-1.0, max=1.0)  # Bound the output to [-1, 1]

            return x

        def remove_weight_norm(self) -> None:
            print("Removing weight norm...")  # noqa: T201 (as in the repository)
            for l in self.ups:  # noqa: E741
                for l_i in l:
                    remove_weight_norm(l_i)
            for l in self.resblocks:  # noqa: E741
                l.remove_weight_norm()
            remove_weight_norm(self.conv_pre)
            remove_weight_norm(self.conv_post)

    return BigVGAN


def make_model(torch_like: Any) -> Any:
    return _bigvgan(torch_like)()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    generator = make_model(torch_like)
    load_numpy_state(torch_like, generator, init)
    kaiser_sinc_filter1d = _filters(torch_like)["kaiser_sinc_filter1d"]
    n_fft, hop = 8, 2
    rng = np.random.default_rng(9)
    fb = rng.uniform(0.0, 1.0, (n_fft // 2 + 1, N_MELS))
    window = torch.hann_window(n_fft)

    def mel_spectrogram(y):  # noqa: ANN001, ANN202
        spec = torch.stft(y, n_fft, hop_length=hop, win_length=n_fft, window=window,
                          center=True, pad_mode="reflect", return_complex=True)  # fmt: skip
        spec = torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + 1e-9)
        mel = torch.matmul(torch.tensor(fb).T, spec)
        return torch.log(torch.clamp(mel, min=1e-5))

    optim_g = torch.optim.AdamW(generator.parameters(), 2e-3, betas=[0.8, 0.99])
    scheduler_g = torch.optim.lr_scheduler.ExponentialLR(optim_g, gamma=0.9)
    values: list[float] = []
    for _step in range(3):
        y = as_tensor(torch, np.clip(0.4 * rng.normal(size=(2, 16)), -1, 1))
        x = mel_spectrogram(y)[:, :, :4]
        generator.train()
        y_g_hat = generator(x)
        y_mel = x
        y_g_hat_mel = mel_spectrogram(y_g_hat.squeeze(1))[:, :, :4]
        loss_mel = F.l1_loss(y_mel, y_g_hat_mel) * 45
        optim_g.zero_grad()
        loss_mel.backward()
        optim_g.step()
        scheduler_g.step()
        values += [loss_mel.item(), y_g_hat.abs().sum().item()]
    values += [kaiser_sinc_filter1d(0.25, 0.3, 12).sum().item(),
               (kaiser_sinc_filter1d(0.25, 0.3, 11) ** 2).sum().item(),
               kaiser_sinc_filter1d(0.5, 0.01, 6)[0, 0, 0].item()]  # fmt: skip
    generator.eval()
    with torch.no_grad():
        before = generator(x)
        generator.remove_weight_norm()
        after = generator(x)
    values += [before.sum().item(), (after - before).abs().max().item()]
    return values
