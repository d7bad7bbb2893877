"""EnCodec's residual vector quantizer and SEANet codec as facebookresearch/encodec (and
audiocraft) write them (``quantization/core_vq.py``, ``modules/conv.py``, ``modules/lstm.py``,
``modules/seanet.py``), size-reduced, trained a few steps on synthetic audio.

The quantizer: ``ema_inplace`` (``moving_avg.data.mul_(decay).add_(new, alpha=(1 - decay))``),
``laplace_smoothing``, ``uniform_init`` (``torch.empty(shape)`` + ``nn.init.kaiming_uniform_``),
``kmeans`` (``-(diffs ** 2).sum(dim=-1)``, ``dists.max(dim=-1).indices``, ``torch.bincount(
buckets, minlength=num_clusters)``, ``bins.masked_fill(zero_mask, 1)``, ``buckets.new_zeros(
num_clusters, dim, dtype=dtype)``, ``new_means.scatter_add_(0, ..., samples)``,
``torch.where(zero_mask[..., None], means, new_means)``); ``EuclideanCodebook`` with its
buffers (``register_buffer("inited", torch.Tensor([not kmeans_init]))``, ``cluster_size``,
``embed``, ``embed_avg``), the lazy k-means init (``if self.inited: return``,
``self.embed.data.copy_(embed)``, ``self.inited.data.copy_(torch.Tensor([True]))``), dead-code
expiry (``expired_codes = self.cluster_size < self.threshold_ema_dead_code``, ``if not
torch.any(expired_codes)``, ``torch.where(mask[..., None], sample_vectors(samples,
self.codebook_size), self.embed)``), the distance ``-(x.pow(2).sum(1, keepdim=True) - 2 * x @
embed + embed.pow(2).sum(0, keepdim=True))``, ``F.one_hot(embed_ind, self.codebook_size)
.type(dtype)``, ``F.embedding(embed_ind, self.embed)``, the EMA codebook update (``x.t() @
embed_onehot``, ``self.embed_avg / cluster_size.unsqueeze(1)``); ``VectorQuantization``
(``project_in`` / ``project_out`` as ``nn.Identity()`` or ``nn.Linear``, the straight-through
``quantize = x + (quantize - x).detach()``, ``loss = torch.tensor([0.0], device=device,
requires_grad=self.training)``, the commitment ``F.mse_loss(quantize.detach(), x)``);
``ResidualVectorQuantization`` (``quantized_out = 0.0``, ``residual = residual - quantized``,
``map(torch.stack, (all_losses, all_indices))``, ``encode`` / ``decode`` with ``n_q`` and
``quantized_out = torch.tensor(0.0, device=q_indices.device)``).

The codec: ``SConv1d`` (``get_extra_padding_for_conv1d`` with ``math.ceil(n_frames)``,
``pad1d`` in ``reflect`` mode with the short-input extra padding, causal and non-causal
padding), ``SConvTranspose1d`` with ``unpad1d`` and ``trim_right_ratio``, ``NormConv1d`` /
``NormConvTranspose1d`` through ``torch.nn.utils.parametrizations.weight_norm``, the
activation ``getattr(nn, activation)(**activation_params)`` (``ELU``, ``alpha=1.0``), the
``SEANetResnetBlock`` (dilations ``dilation_base ** j``, ``true_skip`` shortcut), ``SLSTM``
(``x.permute(2, 0, 1)``, ``y, _ = self.lstm(x)``, ``y = y + x``, ``y.permute(1, 2, 0)``); the
encoder and decoder built with ``reversed(self.ratios)``, ``np.prod(self.ratios)`` as the hop.

Changed: ``einops.rearrange`` / ``repeat`` written as ``transpose`` / ``expand``; the
``torch.randperm`` / ``torch.randint`` draws of ``sample_vectors`` come from a NumPy generator
(the two libraries' generators differ), so both runs pick the same vectors. 2 channels x 64
samples, ratios (4, 2), 4 base filters, an 8-dim latent, 3 codebooks of 8 codes.
"""

from __future__ import annotations

import math
import typing as tp
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, BINS, N_Q = 8, 8, 3


def _build(torch_like: Any) -> dict[str, Any]:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional
    weight_norm = torch.nn.utils.parametrizations.weight_norm
    draws = np.random.default_rng(7)

    # ---------------------------------------------------------------- core_vq.py
    def default(val: tp.Any, d: tp.Any) -> tp.Any:
        return val if val is not None else d

    def ema_inplace(moving_avg: Any, new: Any, decay: float) -> None:
        moving_avg.data.mul_(decay).add_(new, alpha=(1 - decay))

    def laplace_smoothing(x: Any, n_categories: int, epsilon: float = 1e-5) -> Any:
        return (x + epsilon) / (x.sum() + n_categories * epsilon)

    def uniform_init(*shape: int) -> Any:
        t = torch.empty(shape)
        nn.init.kaiming_uniform_(t)
        return t

    def sample_vectors(samples: Any, num: int) -> Any:
        num_samples, device = samples.shape[0], samples.device
        if num_samples >= num:
            indices = torch.as_tensor(draws.permutation(num_samples), device=device)[:num]
        else:
            indices = torch.as_tensor(draws.integers(0, num_samples, (num,)), device=device)
        return samples[indices]

    def kmeans(samples: Any, num_clusters: int, num_iters: int = 10) -> tuple[Any, Any]:
        dim, dtype = samples.shape[-1], samples.dtype
        means = sample_vectors(samples, num_clusters)
        for _ in range(num_iters):
            diffs = samples[:, None, :] - means[None, :, :]
            dists = -(diffs**2).sum(dim=-1)
            buckets = dists.max(dim=-1).indices
            bins = torch.bincount(buckets, minlength=num_clusters)
            zero_mask = bins == 0
            bins_min_clamped = bins.masked_fill(zero_mask, 1)
            new_means = buckets.new_zeros(num_clusters, dim, dtype=dtype)
            new_means.scatter_add_(0, buckets[:, None].expand(-1, dim), samples)
            new_means = new_means / bins_min_clamped[..., None]
            means = torch.where(zero_mask[..., None], means, new_means)
        return means, bins

    class EuclideanCodebook(nn.Module):
        def __init__(
            self,
            dim: int,
            codebook_size: int,
            kmeans_init: int = False,
            kmeans_iters: int = 10,
            decay: float = 0.99,
            epsilon: float = 1e-5,
            threshold_ema_dead_code: int = 2,
        ) -> None:
            super().__init__()
            self.decay = decay
            init_fn: tp.Callable | tp.Any = uniform_init if not kmeans_init else torch.zeros
            embed = init_fn(codebook_size, dim)
            self.codebook_size = codebook_size
            self.kmeans_iters = kmeans_iters
            self.epsilon = epsilon
            self.threshold_ema_dead_code = threshold_ema_dead_code
            self.register_buffer("inited", torch.Tensor([not kmeans_init]))
            self.register_buffer("cluster_size", torch.zeros(codebook_size))
            self.register_buffer("embed", embed)
            self.register_buffer("embed_avg", embed.clone())

        def init_embed_(self, data: Any) -> None:
            if self.inited:
                return
            embed, cluster_size = kmeans(data, self.codebook_size, self.kmeans_iters)
            self.embed.data.copy_(embed)
            self.embed_avg.data.copy_(embed.clone())
            self.cluster_size.data.copy_(cluster_size)
            self.inited.data.copy_(torch.Tensor([True]))

        def replace_(self, samples: Any, mask: Any) -> None:
            modified_codebook = torch.where(
                mask[..., None], sample_vectors(samples, self.codebook_size), self.embed
            )
            self.embed.data.copy_(modified_codebook)

        def expire_codes_(self, batch_samples: Any) -> None:
            if self.threshold_ema_dead_code == 0:
                return
            expired_codes = self.cluster_size < self.threshold_ema_dead_code
            if not torch.any(expired_codes):
                return
            self.expired += int(expired_codes.sum())
            batch_samples = batch_samples.reshape(-1, batch_samples.shape[-1])
            self.replace_(batch_samples, mask=expired_codes)

        expired = 0

        def preprocess(self, x: Any) -> Any:
            return x.reshape(-1, x.shape[-1])

        def quantize(self, x: Any) -> Any:
            embed = self.embed.t()
            dist = -(
                x.pow(2).sum(1, keepdim=True) - 2 * x @ embed + embed.pow(2).sum(0, keepdim=True)
            )
            embed_ind = dist.max(dim=-1).indices
            return embed_ind

        def postprocess_emb(self, embed_ind: Any, shape: Any) -> Any:
            return embed_ind.view(*shape[:-1])

        def dequantize(self, embed_ind: Any) -> Any:
            quantize = F.embedding(embed_ind, self.embed)
            return quantize

        def encode(self, x: Any) -> Any:
            shape = x.shape
            x = self.preprocess(x)
            embed_ind = self.quantize(x)
            embed_ind = self.postprocess_emb(embed_ind, shape)
            return embed_ind

        def decode(self, embed_ind: Any) -> Any:
            quantize = self.dequantize(embed_ind)
            return quantize

        def forward(self, x: Any) -> tuple[Any, Any]:
            shape, dtype = x.shape, x.dtype
            x = self.preprocess(x)

            self.init_embed_(x)

            embed_ind = self.quantize(x)
            embed_onehot = F.one_hot(embed_ind, self.codebook_size).type(dtype)
            embed_ind = self.postprocess_emb(embed_ind, shape)
            quantize = self.dequantize(embed_ind)

            if self.training:
                # We do the expiry of code at that point as buffers are in sync
                # and all the workers will take the same decision.
                self.expire_codes_(x)
                ema_inplace(self.cluster_size, embed_onehot.sum(0), self.decay)
                embed_sum = x.t() @ embed_onehot
                ema_inplace(self.embed_avg, embed_sum.t(), self.decay)
                cluster_size = (
                    laplace_smoothing(self.cluster_size, self.codebook_size, self.epsilon)
                    * self.cluster_size.sum()
                )
                embed_normalized = self.embed_avg / cluster_size.unsqueeze(1)
                self.embed.data.copy_(embed_normalized)

            return quantize, embed_ind

    class VectorQuantization(nn.Module):
        def __init__(
            self,
            dim: int,
            codebook_size: int,
            codebook_dim: tp.Optional[int] = None,  # noqa: UP045 (as in the repo)
            decay: float = 0.99,
            epsilon: float = 1e-5,
            kmeans_init: bool = True,
            kmeans_iters: int = 50,
            threshold_ema_dead_code: int = 2,
            commitment_weight: float = 1.0,
        ) -> None:
            super().__init__()
            _codebook_dim: int = default(codebook_dim, dim)

            requires_projection = _codebook_dim != dim
            self.project_in = (
                nn.Linear(dim, _codebook_dim) if requires_projection else nn.Identity()
            )
            self.project_out = (
                nn.Linear(_codebook_dim, dim) if requires_projection else nn.Identity()
            )

            self.epsilon = epsilon
            self.commitment_weight = commitment_weight

            self._codebook = EuclideanCodebook(
                dim=_codebook_dim, codebook_size=codebook_size,
                kmeans_init=kmeans_init, kmeans_iters=kmeans_iters,
                decay=decay, epsilon=epsilon,
                threshold_ema_dead_code=threshold_ema_dead_code,
            )  # fmt: skip
            self.codebook_size = codebook_size

        @property
        def codebook(self) -> Any:
            return self._codebook.embed

        def encode(self, x: Any) -> Any:
            x = x.transpose(1, 2)  # rearrange(x, "b d n -> b n d")
            x = self.project_in(x)
            embed_in = self._codebook.encode(x)
            return embed_in

        def decode(self, embed_ind: Any) -> Any:
            quantize = self._codebook.decode(embed_ind)
            quantize = self.project_out(quantize)
            quantize = quantize.transpose(1, 2)  # rearrange(quantize, "b n d -> b d n")
            return quantize

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            device = x.device
            x = x.transpose(1, 2)
            x = self.project_in(x)

            quantize, embed_ind = self._codebook(x)

            if self.training:
                quantize = x + (quantize - x).detach()

            loss = torch.tensor([0.0], device=device, requires_grad=self.training)

            if self.training:
                if self.commitment_weight > 0:
                    commit_loss = F.mse_loss(quantize.detach(), x)
                    loss = loss + commit_loss * self.commitment_weight

            quantize = self.project_out(quantize)
            quantize = quantize.transpose(1, 2)
            return quantize, embed_ind, loss

    class ResidualVectorQuantization(nn.Module):
        def __init__(self, *, num_quantizers: int, **kwargs: Any) -> None:
            super().__init__()
            self.layers = nn.ModuleList(
                [VectorQuantization(**kwargs) for _ in range(num_quantizers)]
            )

        def forward(self, x: Any, n_q: tp.Optional[int] = None) -> tuple[Any, Any, Any]:  # noqa: UP045
            quantized_out = 0.0
            residual = x

            all_losses = []
            all_indices = []

            n_q = n_q or len(self.layers)

            for layer in self.layers[:n_q]:
                quantized, indices, loss = layer(residual)
                residual = residual - quantized
                quantized_out = quantized_out + quantized

                all_indices.append(indices)
                all_losses.append(loss)

            out_losses, out_indices = map(torch.stack, (all_losses, all_indices))
            return quantized_out, out_indices, out_losses

        def encode(self, x: Any, n_q: tp.Optional[int] = None) -> Any:  # noqa: UP045
            residual = x
            all_indices = []
            n_q = n_q or len(self.layers)
            for layer in self.layers[:n_q]:
                indices = layer.encode(residual)
                quantized = layer.decode(indices)
                residual = residual - quantized
                all_indices.append(indices)
            out_indices = torch.stack(all_indices)
            return out_indices

        def decode(self, q_indices: Any) -> Any:
            quantized_out = torch.tensor(0.0, device=q_indices.device)
            for i, indices in enumerate(q_indices):
                layer = self.layers[i]
                quantized = layer.decode(indices)
                quantized_out = quantized_out + quantized
            return quantized_out

    # ------------------------------------------------------------------ conv.py
    def get_extra_padding_for_conv1d(
        x: Any, kernel_size: int, stride: int, padding_total: int = 0
    ) -> int:
        length = x.shape[-1]
        n_frames = (length - kernel_size + padding_total) / stride + 1
        ideal_length = (math.ceil(n_frames) - 1) * stride + (kernel_size - padding_total)
        return ideal_length - length

    def pad1d(x: Any, paddings: tuple[int, int], mode: str = "zero", value: float = 0.0) -> Any:
        length = x.shape[-1]
        padding_left, padding_right = paddings
        assert padding_left >= 0 and padding_right >= 0, (padding_left, padding_right)
        if mode == "reflect":
            max_pad = max(padding_left, padding_right)
            extra_pad = 0
            if length <= max_pad:
                extra_pad = max_pad - length + 1
                x = F.pad(x, (0, extra_pad))
            padded = F.pad(x, paddings, mode, value)
            end = padded.shape[-1] - extra_pad
            return padded[..., :end]
        else:
            return F.pad(x, paddings, mode, value)

    def unpad1d(x: Any, paddings: tuple[int, int]) -> Any:
        padding_left, padding_right = paddings
        assert padding_left >= 0 and padding_right >= 0, (padding_left, padding_right)
        assert (padding_left + padding_right) <= x.shape[-1]
        end = x.shape[-1] - padding_right
        return x[..., padding_left:end]

    class NormConv1d(nn.Module):
        def __init__(self, *args: Any, norm: str = "none", **kwargs: Any) -> None:
            super().__init__()
            conv = nn.Conv1d(*args, **kwargs)
            self.conv = weight_norm(conv) if norm == "weight_norm" else conv
            self.norm = nn.Identity()

        def forward(self, x: Any) -> Any:
            x = self.conv(x)
            x = self.norm(x)
            return x

    class NormConvTranspose1d(nn.Module):
        def __init__(self, *args: Any, norm: str = "none", **kwargs: Any) -> None:
            super().__init__()
            convtr = nn.ConvTranspose1d(*args, **kwargs)
            self.convtr = weight_norm(convtr) if norm == "weight_norm" else convtr
            self.norm = nn.Identity()

        def forward(self, x: Any) -> Any:
            return self.norm(self.convtr(x))

    class SConv1d(nn.Module):
        def __init__(
            self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
            dilation: int = 1, groups: int = 1, bias: bool = True, causal: bool = False,
            norm: str = "weight_norm", pad_mode: str = "reflect",
        ) -> None:  # fmt: skip
            super().__init__()
            self.conv = NormConv1d(
                in_channels, out_channels, kernel_size, stride,
                dilation=dilation, groups=groups, bias=bias, norm=norm,
            )  # fmt: skip
            self.causal = causal
            self.pad_mode = pad_mode

        def forward(self, x: Any) -> Any:
            B, C, T = x.shape
            kernel_size = self.conv.conv.kernel_size[0]
            stride = self.conv.conv.stride[0]
            dilation = self.conv.conv.dilation[0]
            kernel_size = (kernel_size - 1) * dilation + 1  # effective kernel size with dilations
            padding_total = kernel_size - stride
            extra_padding = get_extra_padding_for_conv1d(x, kernel_size, stride, padding_total)
            if self.causal:
                # Left padding for causal
                x = pad1d(x, (padding_total, extra_padding), mode=self.pad_mode)
            else:
                # Asymmetric padding required for odd strides
                padding_right = padding_total // 2
                padding_left = padding_total - padding_right
                x = pad1d(x, (padding_left, padding_right + extra_padding), mode=self.pad_mode)
            return self.conv(x)

    class SConvTranspose1d(nn.Module):
        def __init__(
            self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
            causal: bool = False, norm: str = "weight_norm", trim_right_ratio: float = 1.0,
        ) -> None:  # fmt: skip
            super().__init__()
            self.convtr = NormConvTranspose1d(
                in_channels, out_channels, kernel_size, stride, norm=norm
            )
            self.causal = causal
            self.trim_right_ratio = trim_right_ratio
            assert self.causal or self.trim_right_ratio == 1.0, (
                "`trim_right_ratio` != 1.0 only makes sense for causal convolutions"
            )
            assert self.trim_right_ratio >= 0.0 and self.trim_right_ratio <= 1.0

        def forward(self, x: Any) -> Any:
            kernel_size = self.convtr.convtr.kernel_size[0]
            stride = self.convtr.convtr.stride[0]
            padding_total = kernel_size - stride

            y = self.convtr(x)

            # We will only trim fixed padding. Extra padding from `pad_for_conv1d` would be
            # removed at the very end, when keeping only the right length for the output,
            # as removing it here would require also passing the length at the matching layer
            # in the encoder.
            if self.causal:
                # Trim the padding on the right according to the specified ratio
                # if trim_right_ratio = 1.0, trim everything from right
                padding_right = math.ceil(padding_total * self.trim_right_ratio)
                padding_left = padding_total - padding_right
                y = unpad1d(y, (padding_left, padding_right))
            else:
                # Asymmetric padding required for odd strides
                padding_right = padding_total // 2
                padding_left = padding_total - padding_right
                y = unpad1d(y, (padding_left, padding_right))
            return y

    class SLSTM(nn.Module):
        def __init__(self, dimension: int, num_layers: int = 2, skip: bool = True) -> None:
            super().__init__()
            self.skip = skip
            self.lstm = nn.LSTM(dimension, dimension, num_layers)

        def forward(self, x: Any) -> Any:
            x = x.permute(2, 0, 1)
            y, _ = self.lstm(x)
            if self.skip:
                y = y + x
            y = y.permute(1, 2, 0)
            return y

    # ---------------------------------------------------------------- seanet.py
    class SEANetResnetBlock(nn.Module):
        def __init__(
            self, dim: int, kernel_sizes: tp.List[int] = [3, 1],  # noqa: B006,UP006
            dilations: tp.List[int] = [1, 1], activation: str = "ELU",  # noqa: B006,UP006
            activation_params: dict = {"alpha": 1.0}, causal: bool = False,  # noqa: B006
            compress: int = 2, true_skip: bool = True,
        ) -> None:  # fmt: skip
            super().__init__()
            assert len(kernel_sizes) == len(dilations), (
                "Number of kernel sizes should match number of dilations"
            )
            act = getattr(nn, activation)
            hidden = dim // compress
            block = []
            for i, (kernel_size, dilation) in enumerate(zip(kernel_sizes, dilations)):
                in_chs = dim if i == 0 else hidden
                out_chs = dim if i == len(kernel_sizes) - 1 else hidden
                block += [
                    act(**activation_params),
                    SConv1d(in_chs, out_chs, kernel_size=kernel_size, dilation=dilation,
                            causal=causal),
                ]  # fmt: skip
            self.block = nn.Sequential(*block)
            self.shortcut: nn.Module
            if true_skip:
                self.shortcut = nn.Identity()
            else:
                self.shortcut = SConv1d(dim, dim, kernel_size=1, causal=causal)

        def forward(self, x: Any) -> Any:
            return self.shortcut(x) + self.block(x)

    class SEANetEncoder(nn.Module):
        def __init__(
            self, channels: int = 1, dimension: int = DIM, n_filters: int = 4,
            n_residual_layers: int = 1, ratios: tp.List[int] = [2, 4],  # noqa: B006,UP006
            activation: str = "ELU", activation_params: dict = {"alpha": 1.0},  # noqa: B006
            kernel_size: int = 7, last_kernel_size: int = 7, residual_kernel_size: int = 3,
            dilation_base: int = 2, causal: bool = False, true_skip: bool = False,
            compress: int = 2, lstm: int = 1,
        ) -> None:  # fmt: skip
            super().__init__()
            self.channels = channels
            self.dimension = dimension
            self.n_filters = n_filters
            self.ratios = list(reversed(ratios))
            del ratios
            self.n_residual_layers = n_residual_layers
            self.hop_length = np.prod(self.ratios)

            act = getattr(nn, activation)
            mult = 1
            model: tp.List[nn.Module] = [  # noqa: UP006
                SConv1d(channels, mult * n_filters, kernel_size, causal=causal)
            ]
            # Downsample to raw audio scale
            for _i, ratio in enumerate(self.ratios):
                # Add residual layers
                for j in range(n_residual_layers):
                    model += [
                        SEANetResnetBlock(
                            mult * n_filters, kernel_sizes=[residual_kernel_size, 1],
                            dilations=[dilation_base**j, 1], activation=activation,
                            activation_params=activation_params, causal=causal,
                            compress=compress, true_skip=true_skip,
                        )
                    ]  # fmt: skip

                # Add downsampling layers
                model += [
                    act(**activation_params),
                    SConv1d(mult * n_filters, mult * n_filters * 2,
                            kernel_size=ratio * 2, stride=ratio, causal=causal),
                ]  # fmt: skip
                mult *= 2

            if lstm:
                model += [SLSTM(mult * n_filters, num_layers=lstm)]

            model += [
                act(**activation_params),
                SConv1d(mult * n_filters, dimension, last_kernel_size, causal=causal),
            ]

            self.model = nn.Sequential(*model)

        def forward(self, x: Any) -> Any:
            return self.model(x)

    class SEANetDecoder(nn.Module):
        def __init__(
            self, channels: int = 1, dimension: int = DIM, n_filters: int = 4,
            n_residual_layers: int = 1, ratios: tp.List[int] = [2, 4],  # noqa: B006,UP006
            activation: str = "ELU", activation_params: dict = {"alpha": 1.0},  # noqa: B006
            kernel_size: int = 7, last_kernel_size: int = 7, residual_kernel_size: int = 3,
            dilation_base: int = 2, causal: bool = False, true_skip: bool = False,
            compress: int = 2, lstm: int = 1, trim_right_ratio: float = 1.0,
        ) -> None:  # fmt: skip
            super().__init__()
            self.dimension = dimension
            self.channels = channels
            self.n_filters = n_filters
            self.ratios = ratios
            del ratios
            self.hop_length = np.prod(self.ratios)

            act = getattr(nn, activation)
            mult = int(2 ** len(self.ratios))
            model: tp.List[nn.Module] = [  # noqa: UP006
                SConv1d(dimension, mult * n_filters, kernel_size, causal=causal)
            ]
            if lstm:
                model += [SLSTM(mult * n_filters, num_layers=lstm)]

            # Upsample to raw audio scale
            for _i, ratio in enumerate(self.ratios):
                # Add upsampling layers
                model += [
                    act(**activation_params),
                    SConvTranspose1d(mult * n_filters, mult * n_filters // 2,
                                     kernel_size=ratio * 2, stride=ratio, causal=causal,
                                     trim_right_ratio=trim_right_ratio),
                ]  # fmt: skip
                # Add residual layers
                for j in range(n_residual_layers):
                    model += [
                        SEANetResnetBlock(
                            mult * n_filters // 2, kernel_sizes=[residual_kernel_size, 1],
                            dilations=[dilation_base**j, 1], activation=activation,
                            activation_params=activation_params, causal=causal,
                            compress=compress, true_skip=true_skip,
                        )
                    ]  # fmt: skip
                mult //= 2

            # Add final layers
            model += [
                act(**activation_params),
                SConv1d(n_filters, channels, last_kernel_size, causal=causal),
            ]
            self.model = nn.Sequential(*model)

        def forward(self, z: Any) -> Any:
            y = self.model(z)
            return y

    class Codec(nn.Module):
        def __init__(self, causal: bool = False) -> None:
            super().__init__()
            self.encoder = SEANetEncoder(ratios=[4, 2], causal=causal)
            self.quantizer = ResidualVectorQuantization(
                num_quantizers=N_Q, dim=DIM, codebook_size=BINS, kmeans_init=True,
                kmeans_iters=5, threshold_ema_dead_code=2,
            )  # fmt: skip
            self.decoder = SEANetDecoder(ratios=[4, 2], causal=causal, trim_right_ratio=1.0)

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            length = x.shape[-1]
            emb = self.encoder(x)
            quantized, codes, commit = self.quantizer(emb)
            y = self.decoder(quantized)
            return y[..., :length], codes, commit

    return {"Codec": Codec, "pad1d": pad1d, "extra": get_extra_padding_for_conv1d}


def make_model(torch_like: Any) -> Any:
    return _build(torch_like)["Codec"]()


def _audio(rng: np.random.Generator, batch: int, length: int) -> np.ndarray:
    t = np.arange(length) / length
    freqs = rng.uniform(2, 6, (batch, 1, 1))
    return np.sin(2 * np.pi * freqs * t) * 0.5 + 0.05 * rng.standard_normal((batch, 1, length))


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    parts = _build(torch_like)
    model = parts["Codec"]()
    load_numpy_state(torch_like, model, init)
    values: list[float] = []
    conv = model.encoder.model[0].conv.conv
    values.append(float(torch.nn.utils.parametrize.is_parametrized(conv, "weight")))
    values.append(float("encoder.model.0.conv.conv.parametrizations.weight.original0" in init))
    values.append(float(model.quantizer.layers[0]._codebook.inited.item()))
    values.append(float(model.encoder.hop_length))

    # reflect padding of an input shorter than the pad (the extra zero padding path)
    short = torch.arange(3.0).view(1, 1, 3)
    values += parts["pad1d"](short, (4, 2), mode="reflect").flatten().tolist()
    values.append(parts["extra"](torch.zeros(1, 1, 37), 8, 4, 4))

    rng = np.random.default_rng(2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.5, 0.9))
    model.train()
    for _ in range(4):
        x = as_tensor(torch, _audio(rng, 2, 64))
        y, codes, commit = model(x)
        recon = F.l1_loss(y, x) + F.mse_loss(y, x)
        loss = recon + commit.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [recon.item(), commit.sum().item()]
        values.append(float(codes.shape == (N_Q, 2, 8)))
        values += codes[:, 0, :4].flatten().tolist()
    books = [layer._codebook for layer in model.quantizer.layers]
    values += [float(b.inited.item()) for b in books]
    values += [b.expired for b in books]
    values += books[0].cluster_size.tolist()
    values += books[1].embed[:2].flatten().tolist()

    # inference: encode -> decode through the codes, against the full forward
    model.eval()
    with torch.no_grad():
        x = as_tensor(torch, _audio(rng, 2, 64))
        emb = model.encoder(x)
        codes = model.quantizer.encode(emb, n_q=2)
        quantized = model.quantizer.decode(codes)
        full, _, losses = model.quantizer(emb, n_q=2)
        values.append(float(losses.shape == (2, 1) and not losses.requires_grad))
        values.append(float(torch.allclose(quantized, full)))
        values += codes.flatten()[:8].tolist()
        y = model.decoder(quantized)[..., :64]
        values.append(F.mse_loss(y, x).item())

    # a causal codec: left padding only, all trimming on the right
    causal = parts["Codec"](causal=True)
    load_numpy_state(torch_like, causal, init)
    causal.eval()
    with torch.no_grad():
        x = as_tensor(torch, _audio(rng, 1, 40))
        values += causal.encoder(x).flatten()[:6].tolist()
        values.append(float(causal.encoder(x).shape[-1]))
    return values
