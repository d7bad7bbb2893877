"""gemelo-ai/vocos (``vocos/spectral_ops.py``, ``heads.py``, ``models.py``, ``modules.py``,
``feature_extractors.py``, ``discriminators.py``, ``loss.py``, ``experiment.py``),
size-reduced: a Fourier-domain vocoder whose ConvNeXt backbone predicts STFT coefficients that
an inverse STFT turns into audio, trained a few GAN steps.

The idioms: ``ISTFT`` with ``padding="same"`` (``torch.fft.irfft(spec, self.n_fft, dim=1,
norm="backward")``, ``ifft * self.window[None, :, None]``, overlap-add by
``torch.nn.functional.fold(ifft, output_size=(1, output_size), kernel_size=(1,
self.win_length), stride=(1, self.hop_length))[:, 0, 0, pad:-pad]``, the window envelope from
``self.window.square().expand(1, T, -1).transpose(1, 2)`` folded and ``.squeeze()[pad:-pad]``,
``assert (window_envelope > 1e-11).all()``) and its ``"center"`` fallback ``torch.istft(spec,
self.n_fft, self.hop_length, self.win_length, self.window, center=True)``; ``ISTFTHead``
(``self.out(x).transpose(1, 2)``, ``mag, p = x.chunk(2, dim=1)``, ``torch.exp``,
``torch.clip(mag, max=1e2)``, ``S = mag * (x + 1j * y)`` from ``torch.cos(p)`` /
``torch.sin(p)``); ``ConvNeXtBlock`` (depthwise ``nn.Conv1d(dim, dim, kernel_size=7,
padding=3, groups=dim)``, ``nn.LayerNorm(dim, eps=1e-6)`` on ``x.transpose(1, 2)``,
``nn.Linear`` pointwise convs with ``nn.GELU()``, ``nn.Parameter(layer_scale_init_value *
torch.ones(dim), requires_grad=True)``) and ``AdaLayerNorm`` (``nn.Embedding`` scale/shift with
``torch.nn.init.ones_`` / ``zeros_``, ``nn.functional.layer_norm(x, (self.dim,),
eps=self.eps)``) selected by ``bandwidth_id = kwargs.get('bandwidth_id', None)``;
``VocosBackbone`` (``layer_scale_init_value or 1 / num_layers``, ``self.apply(self._init_weights)``
with ``nn.init.trunc_normal_(m.weight, std=0.02)``); ``MelSpectrogramFeatures`` with ``"same"``
padding (``torch.nn.functional.pad(audio, (pad // 2, pad // 2), mode="reflect")``) and
``safe_log`` (``torch.log(torch.clip(x, min=clip_val))``); ``DiscriminatorR`` (DC removal
``x - x.mean(dim=-1, keepdims=True)``, peak normalisation ``0.8 * x / (x.abs().max(dim=-1,
keepdim=True)[0] + 1e-9)``, ``torch.view_as_real`` then ``rearrange(x, "b f t c -> b c t f")``,
the band split ``[x[..., b[0] : b[1]] for b in self.bands]`` from ``(int(b[0] * n_fft), int(b[1]
* n_fft))``, one ``weight_norm(nn.Conv2d(...))`` stack per band from a ``convs = lambda:
nn.ModuleList([...])`` factory, ``torch.cat(x, dim=-1)``, the conditional ``emb.view(1, -1, 1,
1) * x).sum(dim=1, keepdims=True)`` and ``x += h``); ``loss.py``'s hinge ``GeneratorLoss``
(``torch.mean(torch.clamp(1 - dg, min=0))``), ``DiscriminatorLoss`` (``torch.clamp(1 - dr,
min=0)``, ``torch.clamp(1 + dg, min=0)``), ``FeatureMatchingLoss`` (``torch.mean(torch.abs(rl -
gl))``) and ``MelSpecReconstructionLoss`` (``torch.nn.functional.l1_loss``); ``experiment.py``'s
alternating ``optimizer_idx`` steps, ``mel_loss_coeff = 45`` and ``mrd_loss_coeff``.

Changed: 100 mel bins -> 4 (a fixed NumPy triangular filter bank stands in for torchaudio's
``MelSpectrogram``, whose STFT is written as ``torch.stft(..., center=False,
power=1)``-equivalent ``.abs()``), ``n_fft`` 1024 -> 8, hop 256 -> 2, dim 512 -> 8, 8 layers ->
2, one discriminator resolution with two bands and 4 channels; torchaudio's ``Spectrogram(
power=None)`` is the ``torch.stft(..., return_complex=True)`` it runs; ``einops.rearrange`` is
``permute(0, 3, 2, 1)``; the deprecated ``weight_norm`` hook's ``FutureWarning`` is silenced;
audio comes from NumPy.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

N_FFT, HOP, N_MELS, DIM, INTER, LAYERS = 8, 2, 4, 8, 16, 2


def _mel_fb() -> np.ndarray:
    n_freqs = N_FFT // 2 + 1
    pts = np.linspace(0, n_freqs - 1, N_MELS + 2)
    bins = np.arange(n_freqs)[:, None]
    up = (bins - pts[None, :-2]) / (pts[1:-1] - pts[:-2])[None]
    down = (pts[None, 2:] - bins) / (pts[2:] - pts[1:-1])[None]
    return np.maximum(0.0, np.minimum(up, down))  # (n_freqs, n_mels)


def _classes(torch_like: Any) -> dict[str, Any]:
    torch, nn = torch_like, torch_like.nn

    def safe_log(x, clip_val: float = 1e-7):  # noqa: ANN001, ANN202
        return torch.log(torch.clip(x, min=clip_val))

    class ISTFT(nn.Module):
        def __init__(self, n_fft: int, hop_length: int, win_length: int, padding: str = "same"):
            super().__init__()
            if padding not in ["center", "same"]:
                raise ValueError("Padding must be 'center' or 'same'.")
            self.padding = padding
            self.n_fft = n_fft
            self.hop_length = hop_length
            self.win_length = win_length
            window = torch.hann_window(win_length)
            self.register_buffer("window", window)

        def forward(self, spec: Any) -> Any:
            if self.padding == "center":
                # Fallback to pytorch native implementation
                return torch.istft(spec, self.n_fft, self.hop_length, self.win_length,
                                   self.window, center=True)  # fmt: skip
            elif self.padding == "same":
                pad = (self.win_length - self.hop_length) // 2
            else:
                raise ValueError("Padding must be 'center' or 'same'.")

            assert spec.dim() == 3, "Expected a 3D tensor as input"
            B, N, T = spec.shape

            # Inverse FFT
            ifft = torch.fft.irfft(spec, self.n_fft, dim=1, norm="backward")
            ifft = ifft * self.window[None, :, None]

            # Overlap and Add
            output_size = (T - 1) * self.hop_length + self.win_length
            y = torch.nn.functional.fold(
                ifft,
                output_size=(1, output_size),
                kernel_size=(1, self.win_length),
                stride=(1, self.hop_length),
            )[:, 0, 0, pad:-pad]

            # Window envelope
            window_sq = self.window.square().expand(1, T, -1).transpose(1, 2)
            window_envelope = torch.nn.functional.fold(
                window_sq,
                output_size=(1, output_size),
                kernel_size=(1, self.win_length),
                stride=(1, self.hop_length),
            ).squeeze()[pad:-pad]

            # Normalize
            assert (window_envelope > 1e-11).all()
            y = y / window_envelope

            return y

    class ISTFTHead(nn.Module):
        def __init__(self, dim: int, n_fft: int, hop_length: int, padding: str = "same"):
            super().__init__()
            out_dim = n_fft + 2
            self.out = torch.nn.Linear(dim, out_dim)
            self.istft = ISTFT(n_fft=n_fft, hop_length=hop_length, win_length=n_fft,
                               padding=padding)  # fmt: skip

        def forward(self, x: Any) -> Any:
            x = self.out(x).transpose(1, 2)
            mag, p = x.chunk(2, dim=1)
            mag = torch.exp(mag)
            mag = torch.clip(mag, max=1e2)  # safeguard to prevent excessively large magnitudes
            # wrapping happens here. These two lines produce real and imaginary value
            x = torch.cos(p)
            y = torch.sin(p)
            S = mag * (x + 1j * y)
            audio = self.istft(S)
            return audio

    class AdaLayerNorm(nn.Module):
        def __init__(self, num_embeddings: int, embedding_dim: int, eps: float = 1e-6):
            super().__init__()
            self.eps = eps
            self.dim = embedding_dim
            self.scale = nn.Embedding(num_embeddings=num_embeddings, embedding_dim=embedding_dim)
            self.shift = nn.Embedding(num_embeddings=num_embeddings, embedding_dim=embedding_dim)
            torch.nn.init.ones_(self.scale.weight)
            torch.nn.init.zeros_(self.shift.weight)

        def forward(self, x: Any, cond_embedding_id: Any) -> Any:
            scale = self.scale(cond_embedding_id)
            shift = self.shift(cond_embedding_id)
            x = nn.functional.layer_norm(x, (self.dim,), eps=self.eps)
            x = x * scale + shift
            return x

    class ConvNeXtBlock(nn.Module):
        def __init__(self, dim: int, intermediate_dim: int, layer_scale_init_value: float,
                     adanorm_num_embeddings: int | None = None):  # fmt: skip
            super().__init__()
            self.dwconv = nn.Conv1d(
                dim, dim, kernel_size=7, padding=3, groups=dim
            )  # depthwise conv
            self.adanorm = adanorm_num_embeddings is not None
            if adanorm_num_embeddings:
                self.norm = AdaLayerNorm(adanorm_num_embeddings, dim, eps=1e-6)
            else:
                self.norm = nn.LayerNorm(dim, eps=1e-6)
            self.pwconv1 = nn.Linear(dim, intermediate_dim)  # pointwise/1x1 convs
            self.act = nn.GELU()
            self.pwconv2 = nn.Linear(intermediate_dim, dim)
            self.gamma = (
                nn.Parameter(layer_scale_init_value * torch.ones(dim), requires_grad=True)
                if layer_scale_init_value > 0
                else None
            )

        def forward(self, x: Any, cond_embedding_id: Any = None) -> Any:
            residual = x
            x = self.dwconv(x)
            x = x.transpose(1, 2)  # (B, C, T) -> (B, T, C)
            if self.adanorm:
                assert cond_embedding_id is not None
                x = self.norm(x, cond_embedding_id)
            else:
                x = self.norm(x)
            x = self.pwconv1(x)
            x = self.act(x)
            x = self.pwconv2(x)
            if self.gamma is not None:
                x = self.gamma * x
            x = x.transpose(1, 2)  # (B, T, C) -> (B, C, T)

            x = residual + x
            return x

    class VocosBackbone(nn.Module):
        def __init__(self, input_channels: int, dim: int, intermediate_dim: int, num_layers: int,
                     layer_scale_init_value: float | None = None,
                     adanorm_num_embeddings: int | None = None):  # fmt: skip
            super().__init__()
            self.input_channels = input_channels
            self.embed = nn.Conv1d(input_channels, dim, kernel_size=7, padding=3)
            self.adanorm = adanorm_num_embeddings is not None
            if adanorm_num_embeddings:
                self.norm = AdaLayerNorm(adanorm_num_embeddings, dim, eps=1e-6)
            else:
                self.norm = nn.LayerNorm(dim, eps=1e-6)
            layer_scale_init_value = layer_scale_init_value or 1 / num_layers
            self.convnext = nn.ModuleList(
                [
                    ConvNeXtBlock(
                        dim=dim,
                        intermediate_dim=intermediate_dim,
                        layer_scale_init_value=layer_scale_init_value,
                        adanorm_num_embeddings=adanorm_num_embeddings,
                    )
                    for _ in range(num_layers)
                ]
            )
            self.final_layer_norm = nn.LayerNorm(dim, eps=1e-6)
            self.apply(self._init_weights)

        def _init_weights(self, m: Any) -> None:
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.constant_(m.bias, 0)

        def forward(self, x: Any, **kwargs: Any) -> Any:
            bandwidth_id = kwargs.get("bandwidth_id", None)
            x = self.embed(x)
            if self.adanorm:
                assert bandwidth_id is not None
                x = self.norm(x.transpose(1, 2), cond_embedding_id=bandwidth_id)
            else:
                x = self.norm(x.transpose(1, 2))
            x = x.transpose(1, 2)
            for conv_block in self.convnext:
                x = conv_block(x, cond_embedding_id=bandwidth_id)
            x = self.final_layer_norm(x.transpose(1, 2))
            return x

    class Vocos(nn.Module):
        def __init__(self, adanorm_num_embeddings: int | None = None) -> None:
            super().__init__()
            self.backbone = VocosBackbone(
                N_MELS, DIM, INTER, LAYERS, adanorm_num_embeddings=adanorm_num_embeddings
            )
            self.head = ISTFTHead(DIM, N_FFT, HOP, padding="same")

        def decode(self, features_input: Any, **kwargs: Any) -> Any:
            x = self.backbone(features_input, **kwargs)
            audio_output = self.head(x)
            return audio_output

    def weight_norm(module: Any) -> Any:
        with warnings.catch_warnings():  # the hook is deprecated for parametrizations.weight_norm
            warnings.simplefilter("ignore", FutureWarning)
            return nn.utils.weight_norm(module)

    class DiscriminatorR(nn.Module):
        def __init__(self, window_length: int, num_embeddings: int | None = None,
                     channels: int = 4, hop_factor: float = 0.25,
                     bands: tuple = ((0.0, 0.5), (0.5, 1.0))):  # fmt: skip
            super().__init__()
            self.window_length = window_length
            self.hop_factor = hop_factor
            self.hop_length = int(window_length * hop_factor)
            n_fft = window_length // 2 + 1
            bands = [(int(b[0] * n_fft), int(b[1] * n_fft)) for b in bands]
            self.bands = bands
            convs = lambda: nn.ModuleList(  # noqa: E731 (as in the repository)
                [
                    weight_norm(nn.Conv2d(2, channels, (3, 9), (1, 1), padding=(1, 4))),
                    weight_norm(nn.Conv2d(channels, channels, (3, 9), (1, 2), padding=(1, 4))),
                    weight_norm(nn.Conv2d(channels, channels, (3, 3), (1, 1), padding=(1, 1))),
                ]
            )
            self.band_convs = nn.ModuleList([convs() for _ in range(len(self.bands))])

            if num_embeddings is not None:
                self.emb = torch.nn.Embedding(num_embeddings=num_embeddings,
                                              embedding_dim=channels)  # fmt: skip
                torch.nn.init.zeros_(self.emb.weight)

            self.conv_post = weight_norm(nn.Conv2d(channels, 1, (3, 3), (1, 1), padding=(1, 1)))

        def spec_fn(self, x: Any) -> Any:  # torchaudio.transforms.Spectrogram(power=None)
            return torch.stft(x, self.window_length, self.hop_length, self.window_length,
                              torch.hann_window(self.window_length), center=True,
                              pad_mode="reflect", normalized=False, onesided=True,
                              return_complex=True)  # fmt: skip

        def spectrogram(self, x: Any) -> list[Any]:
            # Remove DC offset
            x = x - x.mean(dim=-1, keepdims=True)
            # Peak normalize the volume of input audio
            x = 0.8 * x / (x.abs().max(dim=-1, keepdim=True)[0] + 1e-9)
            x = self.spec_fn(x)
            x = torch.view_as_real(x)
            x = x.permute(0, 3, 2, 1)  # rearrange(x, "b f t c -> b c t f")
            # Split into bands
            x_bands = [x[..., b[0] : b[1]] for b in self.bands]
            return x_bands

        def forward(self, x: Any, cond_embedding_id: Any = None) -> tuple[Any, list[Any]]:
            x_bands = self.spectrogram(x)
            fmap = []
            x = []
            for band, stack in zip(x_bands, self.band_convs, strict=True):
                for i, layer in enumerate(stack):
                    band = layer(band)
                    band = torch.nn.functional.leaky_relu(band, 0.1)
                    if i > 0:
                        fmap.append(band)
                x.append(band)
            x = torch.cat(x, dim=-1)
            if cond_embedding_id is not None:
                emb = self.emb(cond_embedding_id)
                h = (emb.view(1, -1, 1, 1) * x).sum(dim=1, keepdims=True)
            else:
                h = 0
            x = self.conv_post(x)
            fmap.append(x)
            x += h

            return x, fmap

    class GeneratorLoss(nn.Module):
        def forward(self, disc_outputs: list[Any]) -> tuple[Any, list[Any]]:
            loss = torch.zeros(1, device=disc_outputs[0].device, dtype=disc_outputs[0].dtype)
            gen_losses = []
            for dg in disc_outputs:
                l = torch.mean(torch.clamp(1 - dg, min=0))  # noqa: E741 (as in the repository)
                gen_losses.append(l)
                loss += l

            return loss, gen_losses

    class DiscriminatorLoss(nn.Module):
        def forward(self, disc_real_outputs: list[Any], disc_generated_outputs: list[Any]) -> Any:
            loss = torch.zeros(1, device=disc_real_outputs[0].device,
                               dtype=disc_real_outputs[0].dtype)  # fmt: skip
            r_losses = []
            g_losses = []
            for dr, dg in zip(disc_real_outputs, disc_generated_outputs, strict=True):
                r_loss = torch.mean(torch.clamp(1 - dr, min=0))
                g_loss = torch.mean(torch.clamp(1 + dg, min=0))
                loss += r_loss + g_loss
                r_losses.append(r_loss)
                g_losses.append(g_loss)

            return loss, r_losses, g_losses

    class FeatureMatchingLoss(nn.Module):
        def forward(self, fmap_r: list[list[Any]], fmap_g: list[list[Any]]) -> Any:
            loss = torch.zeros(1, device=fmap_r[0][0].device, dtype=fmap_r[0][0].dtype)
            for dr, dg in zip(fmap_r, fmap_g, strict=True):
                for rl, gl in zip(dr, dg, strict=True):
                    loss += torch.mean(torch.abs(rl - gl))

            return loss

    class MelSpectrogramFeatures(nn.Module):
        def __init__(self, padding: str = "same") -> None:
            super().__init__()
            self.padding = padding
            self.win_length, self.hop_length = N_FFT, HOP
            self.register_buffer("window", torch.hann_window(N_FFT))
            self.register_buffer("fb", torch.tensor(_mel_fb()))

        def mel_spec(self, audio: Any) -> Any:
            spec = torch.stft(audio, N_FFT, self.hop_length, self.win_length, self.window,
                              center=self.padding == "center",
                              return_complex=True).abs()  # fmt: skip
            return torch.matmul(spec.transpose(-1, -2), self.fb).transpose(-1, -2)

        def forward(self, audio: Any, **kwargs: Any) -> Any:
            if self.padding == "same":
                pad = self.win_length - self.hop_length
                audio = torch.nn.functional.pad(audio, (pad // 2, pad // 2), mode="reflect")
            mel = self.mel_spec(audio)
            features = safe_log(mel)
            return features

    class MelSpecReconstructionLoss(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mel_spec = MelSpectrogramFeatures(padding="center")

        def forward(self, y_hat: Any, y: Any) -> Any:
            mel_hat = self.mel_spec(y_hat)
            mel = self.mel_spec(y)
            loss = torch.nn.functional.l1_loss(mel, mel_hat)
            return loss

    return {
        "Vocos": Vocos,
        "DiscriminatorR": DiscriminatorR,
        "ISTFT": ISTFT,
        "GeneratorLoss": GeneratorLoss,
        "DiscriminatorLoss": DiscriminatorLoss,
        "FeatureMatchingLoss": FeatureMatchingLoss,
        "MelSpectrogramFeatures": MelSpectrogramFeatures,
        "MelSpecReconstructionLoss": MelSpecReconstructionLoss,
    }


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    c = _classes(torch_like)

    class VocosExp(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.vocos = c["Vocos"]()
            self.vocos_ada = c["Vocos"](adanorm_num_embeddings=2)
            self.mrd = c["DiscriminatorR"](window_length=8, num_embeddings=2)

    return VocosExp()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    c = _classes(torch_like)
    exp = make_model(torch_like)
    load_numpy_state(torch_like, exp, init)
    feature_extractor = c["MelSpectrogramFeatures"]()
    disc_loss, gen_loss = c["DiscriminatorLoss"](), c["GeneratorLoss"]()
    feat_matching_loss = c["FeatureMatchingLoss"]()
    melspec_loss = c["MelSpecReconstructionLoss"]()
    mel_loss_coeff, mrd_loss_coeff = 45, 1.0
    gen_params = list(exp.vocos.parameters()) + list(exp.vocos_ada.parameters())
    opt_disc = torch.optim.AdamW(exp.mrd.parameters(), lr=2e-3, betas=(0.8, 0.9))
    opt_gen = torch.optim.AdamW(gen_params, lr=2e-3, betas=(0.8, 0.9))
    rng = np.random.default_rng(11)
    values: list[float] = []
    for step in range(3):
        t = np.arange(16) / 16.0
        audio_input = as_tensor(torch, np.sin(2 * np.pi * (2 + step) * t)[None].repeat(2, 0)
                                + 0.1 * rng.normal(size=(2, 16)))  # fmt: skip
        bandwidth_id = torch.tensor([step % 2])
        features = feature_extractor(audio_input)
        audio_hat = exp.vocos.decode(features)
        audio_hat_ada = exp.vocos_ada.decode(features, bandwidth_id=bandwidth_id)
        audio_hat = 0.5 * (audio_hat + audio_hat_ada)
        # optimizer_idx == 0: the discriminator
        real_score_mrd, _ = exp.mrd(audio_input, cond_embedding_id=bandwidth_id)
        gen_score_mrd, _ = exp.mrd(audio_hat.detach(), cond_embedding_id=bandwidth_id)
        loss_mrd, _loss_mrd_real, _ = disc_loss(
            disc_real_outputs=[real_score_mrd], disc_generated_outputs=[gen_score_mrd]
        )
        loss_d = mrd_loss_coeff * loss_mrd
        opt_disc.zero_grad()
        loss_d.sum().backward()
        opt_disc.step()
        # optimizer_idx == 1: the generator
        _, fmap_rs_mrd = exp.mrd(audio_input, cond_embedding_id=bandwidth_id)
        gen_score_mrd, fmap_gs_mrd = exp.mrd(audio_hat, cond_embedding_id=bandwidth_id)
        loss_gen_mrd, _list_loss_gen_mrd = gen_loss(disc_outputs=[gen_score_mrd])
        loss_fm_mrd = feat_matching_loss(fmap_r=[fmap_rs_mrd], fmap_g=[fmap_gs_mrd])
        mel_loss = melspec_loss(audio_hat, audio_input)
        loss = (mrd_loss_coeff * (loss_gen_mrd + loss_fm_mrd) + mel_loss_coeff * mel_loss).sum()
        opt_gen.zero_grad()
        loss.backward()
        opt_gen.step()
        values += [loss_d.item(), loss.item(), mel_loss.item()]
    # the "center" head falls back to torch.istft; both invert a real STFT
    center = c["ISTFT"](N_FFT, HOP, N_FFT, padding="center")
    same = c["ISTFT"](N_FFT, HOP, N_FFT, padding="same")
    with torch.no_grad():
        x = audio_input[:1]
        spec_c = torch.stft(x, N_FFT, HOP, N_FFT, center.window, center=True, return_complex=True)
        values += [center(spec_c).sum().item(), (center(spec_c) - x).abs().max().item()]
        padded = torch.nn.functional.pad(x, (3, 3), mode="reflect")
        spec_s = torch.stft(padded, N_FFT, HOP, N_FFT, same.window, center=False,
                            return_complex=True)  # fmt: skip
        values += [same(spec_s).sum().item()]
        try:
            c["ISTFT"](N_FFT, HOP, N_FFT, padding="valid")
        except ValueError as e:
            values.append(float(str(e) == "Padding must be 'center' or 'same'."))
    return values
