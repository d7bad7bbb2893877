"""mindslab-ai/univnet (``model/lvcnet.py``, ``model/generator.py``, ``model/mrd.py``,
``utils/stft_loss.py``), size-reduced: the location-variable convolution generator trained a few
steps against its multi-resolution STFT loss and the multi-resolution discriminator.

The idioms: ``KernelPredictor`` (``kpnet_kernel_channels = conv_in_channels * conv_out_channels *
conv_kernel_size * conv_layers``, ``getattr(nn, kpnet_nonlinear_activation)(
**kpnet_nonlinear_activation_params)``, residual ``nn.Sequential``s of ``nn.Dropout`` and
``nn.utils.weight_norm(nn.Conv1d(...))``, ``residual_conv.to(c.device)``, ``k.contiguous().view(
batch, self.conv_layers, self.conv_in_channels, self.conv_out_channels, self.conv_kernel_size,
cond_length)``); ``LVCBlock`` (``nn.utils.weight_norm(nn.ConvTranspose1d(in_channels,
in_channels, 2 * stride, stride=stride, padding=stride // 2 + stride % 2, output_padding=stride %
2))``, ``kernels[:, i, :, :, :, :]``, the gated ``torch.sigmoid(output[:, :in_channels, :]) *
torch.tanh(output[:, in_channels:, :])``) and its ``location_variable_convolution`` (``F.pad(x,
(padding, padding), 'constant', 0)``, ``x.unfold(2, hop_size + 2 * padding, hop_size)``,
``x.unfold(3, dilation, dilation)``, ``x[:, :, :, :, :hop_size]``, ``x.transpose(3, 4)``,
``x.unfold(4, kernel_size, 1)``, ``torch.einsum('bildsk,biokl->bolsd', x, kernel)``,
``o.to(memory_format=torch.channels_last_3d)``, ``bias.unsqueeze(-1).unsqueeze(-1).to(
memory_format=torch.channels_last_3d)``, ``o.contiguous().view(batch, out_channels, -1)``); the
``Generator`` (``padding_mode='reflect'`` convs, ``hop_length = stride * hop_length`` per block,
``nn.Tanh()`` post) and ``remove_weight_norm`` walking every block; ``stft_loss.py``'s ``stft``
(``torch.sqrt(torch.clamp(real ** 2 + imag ** 2, min=1e-7)).transpose(2, 1)``),
``SpectralConvergengeLoss`` (``torch.norm(y_mag - x_mag, p="fro") / torch.norm(y_mag,
p="fro")``), ``LogSTFTMagnitudeLoss`` (``F.l1_loss(torch.log(y_mag), torch.log(x_mag))``), the
window from ``getattr(torch, window)(win_length)`` registered as a buffer, and
``MultiResolutionSTFTLoss`` averaging over ``torch.nn.ModuleList``; ``mrd.py``'s
``DiscriminatorR.spectrogram`` (``F.pad(x, (int((n_fft - hop_length) / 2), int((n_fft -
hop_length) / 2)), mode='reflect')``, ``x.squeeze(1)``, ``torch.stft(..., center=False)``,
``torch.norm(x, p=2, dim=-1)``), its ``weight_norm(nn.Conv2d(...))`` stack with ``fmap.append``
and ``torch.flatten(x, 1, -1)``; ``trainer.py``'s LSGAN losses (``torch.mean(torch.pow(score_real
- 1.0, 2))``, ``torch.mean(torch.pow(score_fake, 2))``) with the ``stft_lamb`` weighted
``sc_loss + mag_loss``, and ``AdamW(..., betas=(hp.train.adam.beta1, hp.train.adam.beta2))``.

Changed: 100 mel bins -> 4, 32 channels -> 4, strides (8, 8, 4) -> (2, 2), dilations (1, 3, 9,
27) -> (1, 3), kpnet hidden 64 -> 8, STFT resolutions (1024/512/2048 ...) -> (16, 4, 12) and (8,
2, 8); the old real-valued ``torch.stft`` output is ``torch.view_as_real(torch.stft(...,
return_complex=True))``, and the window is moved with ``.to(x.device)`` (``x.get_device()`` is
-1 on a CPU); the deprecated ``nn.utils.weight_norm`` hook warns a ``FutureWarning``, silenced
here; mel conditioning, noise and audio come from NumPy.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

N_MEL, NOISE, CH, STRIDES, DILATIONS, HIDDEN = 4, 4, 4, (2, 2), (1, 3), 8


def _weight_norm(torch_like: Any, module: Any) -> Any:
    with warnings.catch_warnings():  # the hook is deprecated for parametrizations.weight_norm
        warnings.simplefilter("ignore", FutureWarning)
        return torch_like.nn.utils.weight_norm(module)


def _generator(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    def wn(module: Any) -> Any:
        return _weight_norm(torch_like, module)

    class KernelPredictor(torch.nn.Module):
        """Kernel predictor for the location-variable convolutions"""

        def __init__(self, cond_channels, conv_in_channels, conv_out_channels, conv_layers,
                     conv_kernel_size=3, kpnet_hidden_channels=64, kpnet_conv_size=3,
                     kpnet_dropout=0.0, kpnet_nonlinear_activation="LeakyReLU",
                     kpnet_nonlinear_activation_params={"negative_slope": 0.1}):  # noqa: ANN001, B006 # fmt: skip
            super().__init__()
            self.conv_in_channels = conv_in_channels
            self.conv_out_channels = conv_out_channels
            self.conv_kernel_size = conv_kernel_size
            self.conv_layers = conv_layers

            kpnet_kernel_channels = (
                conv_in_channels * conv_out_channels * conv_kernel_size * conv_layers
            )  # l_w
            kpnet_bias_channels = conv_out_channels * conv_layers  # l_b

            self.input_conv = nn.Sequential(
                wn(nn.Conv1d(cond_channels, kpnet_hidden_channels, 5, padding=2, bias=True)),
                getattr(nn, kpnet_nonlinear_activation)(**kpnet_nonlinear_activation_params),
            )

            self.residual_convs = nn.ModuleList()
            padding = (kpnet_conv_size - 1) // 2
            for _ in range(3):
                self.residual_convs.append(
                    nn.Sequential(
                        nn.Dropout(kpnet_dropout),
                        wn(
                            nn.Conv1d(
                                kpnet_hidden_channels,
                                kpnet_hidden_channels,
                                kpnet_conv_size,
                                padding=padding,
                                bias=True,
                            )
                        ),  # fmt: skip
                        getattr(nn, kpnet_nonlinear_activation)(
                            **kpnet_nonlinear_activation_params
                        ),
                        wn(
                            nn.Conv1d(
                                kpnet_hidden_channels,
                                kpnet_hidden_channels,
                                kpnet_conv_size,
                                padding=padding,
                                bias=True,
                            )
                        ),  # fmt: skip
                        getattr(nn, kpnet_nonlinear_activation)(
                            **kpnet_nonlinear_activation_params
                        ),
                    )
                )
            self.kernel_conv = wn(
                nn.Conv1d(kpnet_hidden_channels, kpnet_kernel_channels, kpnet_conv_size,
                          padding=padding, bias=True)
            )  # fmt: skip
            self.bias_conv = wn(nn.Conv1d(kpnet_hidden_channels, kpnet_bias_channels,
                                          kpnet_conv_size, padding=padding, bias=True))  # fmt: skip

        def forward(self, c: Any) -> tuple[Any, Any]:
            batch, _, cond_length = c.shape
            c = self.input_conv(c)
            for residual_conv in self.residual_convs:
                residual_conv.to(c.device)
                c = c + residual_conv(c)
            k = self.kernel_conv(c)
            b = self.bias_conv(c)
            kernels = k.contiguous().view(batch, self.conv_layers, self.conv_in_channels,
                                          self.conv_out_channels, self.conv_kernel_size,
                                          cond_length)  # fmt: skip
            bias = b.contiguous().view(batch, self.conv_layers, self.conv_out_channels,
                                       cond_length)  # fmt: skip
            return kernels, bias

        def remove_weight_norm(self) -> None:
            nn.utils.remove_weight_norm(self.input_conv[0])
            nn.utils.remove_weight_norm(self.kernel_conv)
            nn.utils.remove_weight_norm(self.bias_conv)
            for block in self.residual_convs:
                nn.utils.remove_weight_norm(block[1])
                nn.utils.remove_weight_norm(block[3])

    class LVCBlock(torch.nn.Module):
        """the location-variable convolutions"""

        def __init__(self, in_channels, cond_channels, stride, dilations=[1, 3, 9, 27],  # noqa: B006
                     lReLU_slope=0.2, conv_kernel_size=3, cond_hop_length=256,
                     kpnet_hidden_channels=64, kpnet_conv_size=3, kpnet_dropout=0.0):  # noqa: ANN001, B006, N803 # fmt: skip
            super().__init__()
            self.cond_hop_length = cond_hop_length
            self.conv_layers = len(dilations)
            self.conv_kernel_size = conv_kernel_size

            self.kernel_predictor = KernelPredictor(
                cond_channels=cond_channels,
                conv_in_channels=in_channels,
                conv_out_channels=2 * in_channels,
                conv_layers=len(dilations),
                conv_kernel_size=conv_kernel_size,
                kpnet_hidden_channels=kpnet_hidden_channels,
                kpnet_conv_size=kpnet_conv_size,
                kpnet_dropout=kpnet_dropout,
                kpnet_nonlinear_activation_params={"negative_slope": lReLU_slope},
            )

            self.convt_pre = nn.Sequential(
                nn.LeakyReLU(lReLU_slope),
                wn(
                    nn.ConvTranspose1d(
                        in_channels,
                        in_channels,
                        2 * stride,
                        stride=stride,
                        padding=stride // 2 + stride % 2,
                        output_padding=stride % 2,
                    )
                ),  # fmt: skip
            )

            self.conv_blocks = nn.ModuleList()
            for dilation in dilations:
                self.conv_blocks.append(
                    nn.Sequential(
                        nn.LeakyReLU(lReLU_slope),
                        wn(
                            nn.Conv1d(
                                in_channels,
                                in_channels,
                                conv_kernel_size,
                                padding=dilation * (conv_kernel_size - 1) // 2,
                                dilation=dilation,
                            )
                        ),  # fmt: skip
                        nn.LeakyReLU(lReLU_slope),
                    )
                )

        def forward(self, x: Any, c: Any) -> Any:
            _, in_channels, _ = x.shape  # (B, c_g, L')

            x = self.convt_pre(x)  # (B, c_g, stride * L')
            kernels, bias = self.kernel_predictor(c)

            for i, conv in enumerate(self.conv_blocks):
                output = conv(x)  # (B, c_g, stride * L')

                k = kernels[:, i, :, :, :, :]  # (B, 2 * c_g, c_g, kernel_size, cond_length)
                b = bias[:, i, :, :]  # (B, 2 * c_g, cond_length)

                output = self.location_variable_convolution(
                    output, k, b, hop_size=self.cond_hop_length
                )  # (B, 2 * c_g, stride * L'): LVC
                x = x + torch.sigmoid(output[:, :in_channels, :]) * torch.tanh(
                    output[:, in_channels:, :]
                )  # (B, c_g, stride * L'): GAU

            return x

        def location_variable_convolution(self, x, kernel, bias, dilation=1, hop_size=256):  # noqa: ANN001, ANN201
            batch, _, in_length = x.shape
            batch, _, out_channels, kernel_size, kernel_length = kernel.shape
            assert in_length == (kernel_length * hop_size), "length of (x, kernel) is not matched"

            padding = dilation * int((kernel_size - 1) / 2)
            x = F.pad(
                x, (padding, padding), "constant", 0
            )  # (batch, in_channels, in_length + 2*padding)
            x = x.unfold(
                2, hop_size + 2 * padding, hop_size
            )  # (batch, in_channels, kernel_length, hop_size + 2*padding)

            if hop_size < dilation:
                x = F.pad(x, (0, dilation), "constant", 0)
            x = x.unfold(
                3, dilation, dilation
            )  # (batch, in_channels, kernel_length, (hop_size + 2*padding)/dilation, dilation)
            x = x[:, :, :, :, :hop_size]
            x = x.transpose(
                3, 4
            )  # (batch, in_channels, kernel_length, dilation, (hop_size + 2*padding)/dilation)
            x = x.unfold(
                4, kernel_size, 1
            )  # (batch, in_channels, kernel_length, dilation, _, kernel_size)

            o = torch.einsum("bildsk,biokl->bolsd", x, kernel)
            o = o.to(memory_format=torch.channels_last_3d)
            bias = bias.unsqueeze(-1).unsqueeze(-1).to(memory_format=torch.channels_last_3d)
            o = o + bias
            o = o.contiguous().view(batch, out_channels, -1)
            return o

        def remove_weight_norm(self) -> None:
            self.kernel_predictor.remove_weight_norm()
            nn.utils.remove_weight_norm(self.convt_pre[1])
            for block in self.conv_blocks:
                nn.utils.remove_weight_norm(block[1])

    class Generator(nn.Module):
        """UnivNet Generator"""

        def __init__(self) -> None:
            super().__init__()
            self.mel_channel = N_MEL
            self.noise_dim = NOISE
            channel_size = CH
            kpnet_conv_size = 3

            self.res_stack = nn.ModuleList()
            hop_length = 1
            for stride in STRIDES:
                hop_length = stride * hop_length
                self.res_stack.append(
                    LVCBlock(
                        channel_size,
                        N_MEL,
                        stride=stride,
                        dilations=list(DILATIONS),
                        lReLU_slope=0.2,
                        cond_hop_length=hop_length,
                        kpnet_hidden_channels=HIDDEN,
                        kpnet_conv_size=kpnet_conv_size,
                    )  # fmt: skip
                )

            self.conv_pre = wn(nn.Conv1d(NOISE, channel_size, 7, padding=3, padding_mode="reflect"))

            self.conv_post = nn.Sequential(
                nn.LeakyReLU(0.2),
                wn(nn.Conv1d(channel_size, 1, 7, padding=3, padding_mode="reflect")),
                nn.Tanh(),
            )

        def forward(self, c: Any, z: Any) -> Any:
            """
            Args:
                c (Tensor): the conditioning sequence of mel-spectrogram
                    (batch, mel_channels, in_length)
                z (Tensor): the noise sequence (batch, noise_dim, in_length)
            """
            z = self.conv_pre(z)  # (B, c_g, L)

            for res_block in self.res_stack:
                res_block.to(z.device)
                z = res_block(z, c)  # (B, c_g, L * s_0 * ... * s_i)

            z = self.conv_post(z)  # (B, 1, L * 256)

            return z

        def remove_weight_norm(self) -> None:
            print("Removing weight norm...")  # noqa: T201 (as in the repository)
            nn.utils.remove_weight_norm(self.conv_pre)
            for layer in self.conv_post:
                if len(layer.state_dict()) != 0:
                    nn.utils.remove_weight_norm(layer)
            for res_block in self.res_stack:
                res_block.remove_weight_norm()

    return Generator


def _losses_and_mrd(torch_like: Any) -> tuple[Any, Any]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    def stft(x, fft_size, hop_size, win_length, window):  # noqa: ANN001, ANN202
        x_stft = torch.view_as_real(
            torch.stft(x, fft_size, hop_size, win_length, window, return_complex=True)
        )
        real = x_stft[..., 0]
        imag = x_stft[..., 1]

        # NOTE(kan-bayashi): clamp is needed to avoid nan or inf
        return torch.sqrt(torch.clamp(real**2 + imag**2, min=1e-7)).transpose(2, 1)

    class SpectralConvergengeLoss(torch.nn.Module):
        """Spectral convergence loss module."""

        def forward(self, x_mag: Any, y_mag: Any) -> Any:
            return torch.norm(y_mag - x_mag, p="fro") / torch.norm(y_mag, p="fro")

    class LogSTFTMagnitudeLoss(torch.nn.Module):
        """Log STFT magnitude loss module."""

        def forward(self, x_mag: Any, y_mag: Any) -> Any:
            return F.l1_loss(torch.log(y_mag), torch.log(x_mag))

    class STFTLoss(torch.nn.Module):
        """STFT loss module."""

        def __init__(self, fft_size=1024, shift_size=120, win_length=600, window="hann_window"):  # noqa: ANN001
            super().__init__()
            self.fft_size = fft_size
            self.shift_size = shift_size
            self.win_length = win_length
            self.register_buffer("window", getattr(torch, window)(win_length))
            self.spectral_convergenge_loss = SpectralConvergengeLoss()
            self.log_stft_magnitude_loss = LogSTFTMagnitudeLoss()

        def forward(self, x: Any, y: Any) -> tuple[Any, Any]:
            window = self.window.to(x.device)
            x_mag = stft(x, self.fft_size, self.shift_size, self.win_length, window)
            y_mag = stft(y, self.fft_size, self.shift_size, self.win_length, window)
            sc_loss = self.spectral_convergenge_loss(x_mag, y_mag)
            mag_loss = self.log_stft_magnitude_loss(x_mag, y_mag)
            return sc_loss, mag_loss

    class MultiResolutionSTFTLoss(torch.nn.Module):
        """Multi resolution STFT loss module."""

        def __init__(self, resolutions, window="hann_window"):  # noqa: ANN001
            super().__init__()
            self.stft_losses = torch.nn.ModuleList()
            for fs, ss, wl in resolutions:
                self.stft_losses += [STFTLoss(fs, ss, wl, window)]

        def forward(self, x: Any, y: Any) -> tuple[Any, Any]:
            sc_loss = 0.0
            mag_loss = 0.0
            for f in self.stft_losses:
                sc_l, mag_l = f(x, y)
                sc_loss += sc_l
                mag_loss += mag_l
            sc_loss /= len(self.stft_losses)
            mag_loss /= len(self.stft_losses)
            return sc_loss, mag_loss

    class DiscriminatorR(nn.Module):
        def __init__(self, resolution) -> None:  # noqa: ANN001
            super().__init__()
            self.resolution = resolution
            self.LRELU_SLOPE = 0.2
            self.convs = nn.ModuleList(
                [
                    _weight_norm(torch, nn.Conv2d(1, 4, (3, 9), padding=(1, 4))),
                    _weight_norm(torch, nn.Conv2d(4, 4, (3, 9), stride=(1, 2), padding=(1, 4))),
                    _weight_norm(torch, nn.Conv2d(4, 4, (3, 3), padding=(1, 1))),
                ]
            )
            self.conv_post = _weight_norm(torch, nn.Conv2d(4, 1, (3, 3), padding=(1, 1)))

        def forward(self, x: Any) -> tuple[list[Any], Any]:
            fmap = []

            x = self.spectrogram(x)
            x = x.unsqueeze(1)
            for l in self.convs:  # noqa: E741 (as in the repository)
                x = l(x)
                x = F.leaky_relu(x, self.LRELU_SLOPE)
                fmap.append(x)
            x = self.conv_post(x)
            fmap.append(x)
            x = torch.flatten(x, 1, -1)

            return fmap, x

        def spectrogram(self, x: Any) -> Any:
            n_fft, hop_length, win_length = self.resolution
            x = F.pad(x, (int((n_fft - hop_length) / 2), int((n_fft - hop_length) / 2)),
                      mode="reflect")  # fmt: skip
            x = x.squeeze(1)
            with warnings.catch_warnings():  # no window: PyTorch warns (once) of leakage
                warnings.filterwarnings("ignore", "A window was not provided", UserWarning)
                x = torch.view_as_real(
                    torch.stft(
                        x,
                        n_fft=n_fft,
                        hop_length=hop_length,
                        win_length=win_length,
                        center=False,
                        return_complex=True,
                    )  # fmt: skip
                )  # [B, F, TT, 2]
            mag = torch.norm(x, p=2, dim=-1)  # [B, F, TT]

            return mag

    class MultiResolutionDiscriminator(nn.Module):
        def __init__(self, resolutions) -> None:  # noqa: ANN001
            super().__init__()
            self.resolutions = resolutions
            self.discriminators = nn.ModuleList(
                [DiscriminatorR(resolution) for resolution in self.resolutions]
            )

        def forward(self, x: Any) -> list[tuple[list[Any], Any]]:
            ret = list()  # noqa: C408 (as in the repository)
            for disc in self.discriminators:
                ret.append(disc(x))

            return ret  # [(feat, score), (feat, score), (feat, score)]

    return MultiResolutionSTFTLoss, MultiResolutionDiscriminator


RESOLUTIONS = [(16, 4, 12), (8, 2, 8)]


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    _, MRD = _losses_and_mrd(torch_like)

    class Pair(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.generator = _generator(torch_like)()
            self.mrd = MRD([(16, 4, 12), (8, 2, 8)])

    return Pair()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model_g, model_d = model.generator, model.mrd
    MultiResolutionSTFTLoss, _ = _losses_and_mrd(torch_like)
    stft_criterion = MultiResolutionSTFTLoss(RESOLUTIONS)
    optim_g = torch.optim.AdamW(model_g.parameters(), lr=1e-3, betas=(0.5, 0.9))
    optim_d = torch.optim.AdamW(model_d.parameters(), lr=1e-3, betas=(0.5, 0.9))
    rng = np.random.default_rng(7)
    stft_lamb = 2.5
    values: list[float] = []
    for _step in range(3):
        mel = as_tensor(torch, rng.normal(size=(2, N_MEL, 4)))
        noise = as_tensor(torch, rng.normal(size=(2, NOISE, 4)))
        audio = as_tensor(torch, 0.5 * np.sin(np.linspace(0, 6, 16))[None, None] +
                          0.1 * rng.normal(size=(2, 1, 16)))  # fmt: skip
        # generator
        optim_g.zero_grad()
        fake_audio = model_g(mel, noise)[:, :, : audio.size(2)]
        sc_loss, mag_loss = stft_criterion(fake_audio.squeeze(1), audio.squeeze(1))
        stft_loss = (sc_loss + mag_loss) * stft_lamb
        res_fake = model_d(fake_audio)
        score_loss = 0.0
        for _, score_fake in res_fake:
            score_loss += torch.mean(torch.pow(score_fake - 1.0, 2))
        score_loss = score_loss / len(res_fake)
        loss_g = score_loss + stft_loss
        loss_g.backward()
        optim_g.step()
        # discriminator
        optim_d.zero_grad()
        res_fake = model_d(fake_audio.detach())
        res_real = model_d(audio)
        loss_d = 0.0
        for (_, score_fake), (_, score_real) in zip(res_fake, res_real, strict=True):
            loss_d += torch.mean(torch.pow(score_real - 1.0, 2))
            loss_d += torch.mean(torch.pow(score_fake, 2))
        loss_d = loss_d / len(res_fake)
        loss_d.backward()
        optim_d.step()
        values += [loss_g.item(), stft_loss.item(), loss_d.item()]
    model_g.eval()
    with torch.no_grad():
        before = model_g(mel, noise)
        model_g.remove_weight_norm()
        after = model_g(mel, noise)
    values += [before.sum().item(), after.sum().item(), float(len(model_g.state_dict()))]
    return values
