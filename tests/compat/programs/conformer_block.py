"""A Conformer encoder block as torchaudio's ``models/conformer.py`` (``_FeedForwardModule``,
``_ConvolutionModule``, ``ConformerLayer``, ``_lengths_to_padding_mask``) and sooftware/
conformer's modules (``Swish``, ``GLU``, ``Transpose``, ``DepthwiseConv1d``,
``PointwiseConv1d``, ``ResidualConnectionModule``, the xavier ``Linear``) write it,
size-reduced.

The idioms: the macaron feed-forward halves (``nn.LayerNorm``, ``nn.Linear``, ``nn.SiLU``,
``nn.Dropout`` in an ``nn.Sequential``, ``x = x * 0.5 + residual`` and
``ResidualConnectionModule(module, module_factor=0.5)``'s ``(self.module(inputs) *
self.module_factor) + (inputs * self.input_factor)``); the convolution module (``if
(depthwise_kernel_size - 1) % 2 != 0: raise ValueError(...)``, a pointwise ``nn.Conv1d(
input_dim, 2 * num_channels, 1, stride=1, padding=0, bias=bias)``, ``nn.GLU(dim=1)``, the
depthwise ``nn.Conv1d(num_channels, num_channels, k, stride=1, padding=(k - 1) // 2,
groups=num_channels, bias=bias)``, ``nn.BatchNorm1d`` or ``nn.GroupNorm(num_groups=1,
num_channels=...)``, ``x.transpose(1, 2)`` in and out, and sooftware's ``Transpose(shape=(1,
2))`` module with ``x.transpose(*self.shape)`` and ``outputs, gate = inputs.chunk(2,
dim=self.dim); return outputs * gate.sigmoid()``); ``nn.MultiheadAttention(input_dim,
num_heads, dropout=dropout, batch_first=True)`` called as ``self.self_attn(query=x, key=x,
value=x, key_padding_mask=key_padding_mask, need_weights=False)``; the padding mask
``torch.arange(max_length, device=lengths.device, dtype=lengths.dtype).expand(batch_size,
max_length) >= lengths.unsqueeze(1)`` with ``int(torch.max(lengths).item())``; a ``nn.ModuleList``
of layers; training with ``torch.optim.AdamW(model.parameters(), lr=..., betas=(0.9, 0.98),
eps=1e-9, weight_decay=1e-3)`` and the Noam warm-up as a ``LambdaLR`` (``d_model ** -0.5 *
min(step ** -0.5, step * warmup ** -1.5)``), a masked mean loss over the valid frames
(``(~mask).unsqueeze(-1)``, ``masked_fill``), ``nn.utils.clip_grad_norm_``, and ``print(model)``.

Changed: 144-dim, 4-head, 16-layer encoders on 80-dim fbank features -> 8 dims, 2 heads,
2 layers on 7 frames; dropout 0 (random masks cannot agree between two frameworks); the
convolution module without biases (``_ConvolutionModule``'s default; ``ConformerLayer`` passes
``bias=True``): a bias just before BatchNorm has an analytically zero gradient, and AdamW with
``eps=1e-9`` turns its rounding noise (~1e-15, different in every framework) into steps of
size ``lr``, which then show in ``running_mean``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, FFN, HEADS, KERNEL, LAYERS, BATCH, TIME, STEPS, WARMUP = 8, 16, 2, 3, 2, 3, 7, 4, 3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    init = torch_like.nn.init

    class _ConvolutionModule(nn.Module):
        def __init__(self, input_dim: int, num_channels: int, depthwise_kernel_size: int,
                     dropout: float = 0.0, bias: bool = False,
                     use_group_norm: bool = False) -> None:  # fmt: skip
            super().__init__()
            if (depthwise_kernel_size - 1) % 2 != 0:
                raise ValueError("depthwise_kernel_size must be odd to achieve 'SAME' padding.")
            self.layer_norm = nn.LayerNorm(input_dim)
            self.sequential = nn.Sequential(
                nn.Conv1d(input_dim, 2 * num_channels, 1, stride=1, padding=0, bias=bias),
                nn.GLU(dim=1),
                nn.Conv1d(
                    num_channels,
                    num_channels,
                    depthwise_kernel_size,
                    stride=1,
                    padding=(depthwise_kernel_size - 1) // 2,
                    groups=num_channels,
                    bias=bias,
                ),
                nn.GroupNorm(num_groups=1, num_channels=num_channels)
                if use_group_norm
                else nn.BatchNorm1d(num_channels),
                nn.SiLU(),
                nn.Conv1d(num_channels, input_dim, kernel_size=1, stride=1, padding=0, bias=bias),
                nn.Dropout(dropout),
            )

        def forward(self, input: Any) -> Any:
            x = self.layer_norm(input)
            x = x.transpose(1, 2)
            x = self.sequential(x)
            return x.transpose(1, 2)

    class _FeedForwardModule(nn.Module):
        def __init__(self, input_dim: int, hidden_dim: int, dropout: float = 0.0) -> None:
            super().__init__()
            self.sequential = nn.Sequential(
                nn.LayerNorm(input_dim),
                nn.Linear(input_dim, hidden_dim, bias=True),
                nn.SiLU(),
                nn.Dropout(dropout),
                nn.Linear(hidden_dim, input_dim, bias=True),
                nn.Dropout(dropout),
            )

        def forward(self, input: Any) -> Any:
            return self.sequential(input)

    class ConformerLayer(nn.Module):
        def __init__(self, input_dim: int, ffn_dim: int, num_attention_heads: int,
                     depthwise_conv_kernel_size: int, dropout: float = 0.0,
                     use_group_norm: bool = False,
                     convolution_first: bool = False) -> None:  # fmt: skip
            super().__init__()
            self.ffn1 = _FeedForwardModule(input_dim, ffn_dim, dropout=dropout)
            self.self_attn_layer_norm = nn.LayerNorm(input_dim)
            self.self_attn = nn.MultiheadAttention(
                input_dim, num_attention_heads, dropout=dropout, batch_first=True
            )
            self.self_attn_dropout = nn.Dropout(dropout)
            self.conv_module = _ConvolutionModule(
                input_dim=input_dim,
                num_channels=input_dim,
                depthwise_kernel_size=depthwise_conv_kernel_size,
                dropout=dropout,
                bias=False,
                use_group_norm=use_group_norm,
            )
            self.ffn2 = _FeedForwardModule(input_dim, ffn_dim, dropout=dropout)
            self.final_layer_norm = nn.LayerNorm(input_dim)
            self.convolution_first = convolution_first

        def _apply_convolution(self, input: Any) -> Any:
            residual = input
            input = self.conv_module(input)
            input = residual + input
            return input

        def forward(self, input: Any, key_padding_mask: Any) -> Any:
            residual = input
            x = self.ffn1(input)
            x = x * 0.5 + residual
            if self.convolution_first:
                x = self._apply_convolution(x)
            residual = x
            x = self.self_attn_layer_norm(x)
            x, _ = self.self_attn(
                query=x, key=x, value=x, key_padding_mask=key_padding_mask, need_weights=False
            )
            x = self.self_attn_dropout(x)
            x = x + residual
            if not self.convolution_first:
                x = self._apply_convolution(x)
            residual = x
            x = self.ffn2(x)
            x = x * 0.5 + residual
            x = self.final_layer_norm(x)
            return x

    class Swish(nn.Module):
        def forward(self, inputs: Any) -> Any:
            return inputs * inputs.sigmoid()

    class GLU(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.dim = dim

        def forward(self, inputs: Any) -> Any:
            outputs, gate = inputs.chunk(2, dim=self.dim)
            return outputs * gate.sigmoid()

    class Transpose(nn.Module):
        def __init__(self, shape: tuple) -> None:
            super().__init__()
            self.shape = shape

        def forward(self, x: Any) -> Any:
            return x.transpose(*self.shape)

    class Linear(nn.Module):
        def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
            super().__init__()
            self.linear = nn.Linear(in_features, out_features, bias=bias)
            init.xavier_uniform_(self.linear.weight)
            if bias:
                init.zeros_(self.linear.bias)

        def forward(self, x: Any) -> Any:
            return self.linear(x)

    class ResidualConnectionModule(nn.Module):
        def __init__(self, module: Any, module_factor: float = 1.0,
                     input_factor: float = 1.0) -> None:  # fmt: skip
            super().__init__()
            self.module = module
            self.module_factor = module_factor
            self.input_factor = input_factor

        def forward(self, inputs: Any) -> Any:
            return (self.module(inputs) * self.module_factor) + (inputs * self.input_factor)

    class ConformerConvModule(nn.Module):
        """sooftware's convolution module (``DepthwiseConv1d`` written inline)."""

        def __init__(self, in_channels: int, kernel_size: int = 31,
                     expansion_factor: int = 2, dropout_p: float = 0.1) -> None:  # fmt: skip
            super().__init__()
            assert (kernel_size - 1) % 2 == 0, "kernel_size should be a odd number for 'SAME'"
            assert expansion_factor == 2, "Currently, Only Supports expansion_factor 2"
            self.sequential = nn.Sequential(
                nn.LayerNorm(in_channels),
                Transpose(shape=(1, 2)),
                nn.Conv1d(in_channels, in_channels * expansion_factor, 1, bias=True),
                GLU(dim=1),
                nn.Conv1d(
                    in_channels,
                    in_channels,
                    kernel_size,
                    groups=in_channels,
                    stride=1,
                    padding=(kernel_size - 1) // 2,
                    bias=False,
                ),
                nn.BatchNorm1d(in_channels),
                Swish(),
                nn.Conv1d(in_channels, in_channels, 1, stride=1, padding=0, bias=True),
                nn.Dropout(p=dropout_p),
            )

        def forward(self, inputs: Any) -> Any:
            return self.sequential(inputs).transpose(1, 2)

    class Conformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conformer_layers = nn.ModuleList(
                [
                    ConformerLayer(
                        DIM,
                        FFN,
                        HEADS,
                        KERNEL,
                        dropout=0.0,
                        use_group_norm=i == 1,
                        convolution_first=i == 1,
                    )
                    for i in range(LAYERS)
                ]
            )
            self.macaron = ResidualConnectionModule(
                nn.Sequential(nn.LayerNorm(DIM), Linear(DIM, FFN), Swish(), Linear(FFN, DIM)),
                module_factor=0.5,
            )
            self.conv = ResidualConnectionModule(ConformerConvModule(DIM, KERNEL, dropout_p=0.0))
            self.head = nn.Linear(DIM, 1)

        def forward(self, input: Any, lengths: Any) -> tuple[Any, Any]:
            encoder_padding_mask = _lengths_to_padding_mask(torch, lengths)
            x = input
            for layer in self.conformer_layers:
                x = layer(x, encoder_padding_mask)
            x = self.conv(self.macaron(x))
            return self.head(x), lengths

    return Conformer()


def _lengths_to_padding_mask(torch_like: Any, lengths: Any) -> Any:
    batch_size = lengths.shape[0]
    max_length = int(torch_like.max(lengths).item())
    padding_mask = torch_like.arange(max_length, device=lengths.device, dtype=lengths.dtype).expand(
        batch_size, max_length
    ) >= lengths.unsqueeze(1)
    return padding_mask


def noam_lambda(step: int) -> float:
    step = max(step, 1)
    return DIM**-0.5 * min(step**-0.5, step * WARMUP**-1.5)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(20)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []
    try:
        model.conformer_layers[0].conv_module.__class__(DIM, DIM, 4)
    except ValueError as err:
        values.append(float("odd" in str(err)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9,
                                  weight_decay=1e-3)  # fmt: skip
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=noam_lambda)
    lengths = as_tensor(torch_like, np.array([TIME, 5, 3]))
    mask = _lengths_to_padding_mask(torch_like, lengths)
    values += mask.flatten().float().tolist()
    model.train()
    for _step in range(STEPS):
        features = as_tensor(torch_like, rng.standard_normal((BATCH, TIME, DIM)))
        target = as_tensor(torch_like, rng.standard_normal((BATCH, TIME, 1)))
        out, out_lengths = model(features, lengths)
        err = (out - target).masked_fill(mask.unsqueeze(-1), 0.0)
        loss = (err**2).sum() / (~mask).sum()
        optimizer.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        values += [loss.item(), norm.item(), scheduler.get_last_lr()[0]]
    values += [float(torch.equal(out_lengths, lengths)), *out.shape]
    bn = model.conformer_layers[0].conv_module.sequential[3]
    values += bn.running_mean.tolist() + [float(bn.num_batches_tracked)]

    model.eval()
    with torch.no_grad():
        features = as_tensor(torch_like, rng.standard_normal((BATCH, TIME, DIM)))
        out, _ = model(features, lengths)
        attn = model.conformer_layers[0].self_attn
        x = model.conformer_layers[0].self_attn_layer_norm(features)
        _, weights = attn(x, x, x, key_padding_mask=mask)
        _, per_head = attn(x, x, x, key_padding_mask=mask, average_attn_weights=False)
    values += out.flatten().tolist() + weights.flatten().tolist()
    values += [*per_head.shape, per_head.mean(1).sub(weights).abs().max().item()]
    return values
