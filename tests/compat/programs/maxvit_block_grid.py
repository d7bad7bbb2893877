"""MaxViT as written in timm/torchvision-style PyTorch (``torchvision/models/maxvit.py``'s
``window_partition``/``grid_partition`` helpers and ``RelativePositionalMultiHeadAttention``,
ChristophReich1996/MaxViT's ``MBConv``), size-reduced: ``MBConv`` (pre-norm ``BatchNorm2d``,
1x1 expansion, depthwise 3x3 ``Conv2d(groups=...)``, squeeze-excitation with
``x.mean((2, 3), keepdim=True)``, ``nn.SiLU``/``nn.GELU``, ``torch.sigmoid`` gating, a strided
``AvgPool2d`` + 1x1 projection shortcut); block attention by ``window_partition`` (``x.view(B,
H // p, p, W // p, p, C).permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, p * p, C)``) and
grid attention by ``grid_partition`` (``x.view(B, g, H // g, g, W // g, C).permute(0, 2, 4, 1,
3, 5)``) with their reverses; ``RelativePositionalMultiHeadAttention`` building the relative
position index from ``torch.stack(torch.meshgrid(coords_h, coords_w, indexing="ij"))``,
``torch.flatten(coords, 1)``, ``coords[:, :, None] - coords[:, None, :]``, ``.permute(1, 2,
0).contiguous()``, ``+= size - 1`` / ``*= 2 * size - 1``, ``.sum(-1)``, registered as a buffer,
and gathering a ``nn.Parameter(torch.zeros((2 * size - 1) * (2 * size - 1), n_heads))`` table
``[self.relative_position_index.view(-1)]`` into a ``(N, N, heads)`` bias (``nn.init.
trunc_normal_(..., std=.02)``); ``F.scaled_dot_product_attention``-free explicit softmax
attention with ``q * self.scale``; ``stochastic_depth`` (``torchvision.ops``) replaced by
``nn.Identity``; the classifier head (``nn.AdaptiveAvgPool2d(1)``, ``nn.Flatten()``,
``nn.LayerNorm``, ``nn.Tanh``); training with ``CrossEntropyLoss(label_smoothing=0.1)``,
AdamW, and gradient clipping.

Changed: stem 64 -> 8 channels, one MaxViT block (MBConv + block + grid attention), 224x224 ->
16x16 images (8x8 after the stem), partition size 7 -> 2, heads 2 with head dim 4, 10 classes;
data from a seeded NumPy generator; compared to 1e-6 (the float32 bias table, above).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

C, P, HEADS, NUM_CLASSES = 8, 2, 2, 10
# the bias table is float32 (``dtype=torch.float32`` as in torchvision) in a float64 model, and
# AdamW's float32 update differs from PyTorch's by an ulp in some elements
RTOL = 1e-6


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    def window_partition(x: Any, p: int) -> Any:  # (B, H, W, C) -> (B * nW, p * p, C)
        B, H, W, C = x.shape
        x = x.view(B, H // p, p, W // p, p, C)
        return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, p * p, C)

    def window_reverse(x: Any, p: int, H: int, W: int) -> Any:
        C = x.shape[-1]
        x = x.view(-1, H // p, W // p, p, p, C)
        return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, H, W, C)

    def grid_partition(x: Any, g: int) -> Any:  # (B, H, W, C) -> (B * (H/g)(W/g), g * g, C)
        B, H, W, C = x.shape
        x = x.view(B, g, H // g, g, W // g, C)
        return x.permute(0, 2, 4, 1, 3, 5).contiguous().view(-1, g * g, C)

    def grid_reverse(x: Any, g: int, H: int, W: int) -> Any:
        C = x.shape[-1]
        x = x.view(-1, H // g, W // g, g, g, C)
        return x.permute(0, 3, 1, 4, 2, 5).contiguous().view(-1, H, W, C)

    class SqueezeExcitation(nn.Module):
        def __init__(self, in_channels: int, rd_channels: int) -> None:
            super().__init__()
            self.fc1 = nn.Conv2d(in_channels, rd_channels, 1)
            self.act = nn.SiLU()
            self.fc2 = nn.Conv2d(rd_channels, in_channels, 1)

        def forward(self, x: Any) -> Any:
            x_se = x.mean((2, 3), keepdim=True)
            x_se = self.fc2(self.act(self.fc1(x_se)))
            return x * torch.sigmoid(x_se)

    class MBConv(nn.Module):
        def __init__(self, in_channels: int, out_channels: int, expansion_ratio: float = 4,
                     squeeze_ratio: float = 0.25, stride: int = 1) -> None:  # fmt: skip
            super().__init__()
            should_proj = stride != 1 or in_channels != out_channels
            if should_proj:
                proj = [nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, bias=True)]
                if stride == 2:
                    proj = [nn.AvgPool2d(kernel_size=3, stride=stride, padding=1)] + proj
                self.proj = nn.Sequential(*proj)
            else:
                self.proj = nn.Identity()
            mid_channels = int(out_channels * expansion_ratio)
            sqz_channels = int(out_channels * squeeze_ratio)
            self.stochastic_depth = nn.Identity()
            self.layers = nn.Sequential()
            self.layers.add_module("pre_norm", nn.BatchNorm2d(in_channels))
            self.layers.add_module("conv_a", nn.Sequential(
                nn.Conv2d(in_channels, mid_channels, 1, bias=False),
                nn.BatchNorm2d(mid_channels), nn.GELU()))  # fmt: skip
            self.layers.add_module("conv_b", nn.Sequential(
                nn.Conv2d(mid_channels, mid_channels, 3, stride=stride, padding=1,
                          groups=mid_channels, bias=False),
                nn.BatchNorm2d(mid_channels), nn.GELU()))  # fmt: skip
            self.layers.add_module(
                "squeeze_excitation", SqueezeExcitation(mid_channels, sqz_channels)
            )
            self.layers.add_module("conv_c", nn.Conv2d(mid_channels, out_channels, 1, bias=True))

        def forward(self, x: Any) -> Any:
            res = self.proj(x)
            x = self.stochastic_depth(self.layers(x))
            return res + x

    class RelativePositionalMultiHeadAttention(nn.Module):
        def __init__(self, feat_dim: int, head_dim: int, max_seq_len: int) -> None:
            super().__init__()
            if feat_dim % head_dim != 0:
                raise ValueError(f"feat_dim: {feat_dim} must be divisible by head_dim: {head_dim}")
            self.n_heads = feat_dim // head_dim
            self.head_dim = head_dim
            self.size = int(max_seq_len**0.5)
            self.max_seq_len = max_seq_len
            self.to_qkv = nn.Linear(feat_dim, self.n_heads * self.head_dim * 3)
            self.scale_factor = feat_dim**-0.5
            self.merge = nn.Linear(self.head_dim * self.n_heads, feat_dim)
            self.relative_position_bias_table = nn.parameter.Parameter(
                torch.empty(((2 * self.size - 1) * (2 * self.size - 1), self.n_heads),
                            dtype=torch.float32))  # fmt: skip
            self.register_buffer("relative_position_index", self._get_relative_position_index(
                self.size, self.size))  # fmt: skip
            # initialize with truncated normal the bias
            torch.nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

        @staticmethod
        def _get_relative_position_index(height: int, width: int) -> Any:
            coords = torch.stack(torch.meshgrid([torch.arange(height), torch.arange(width)],
                                                indexing="ij"))  # fmt: skip
            coords_flat = torch.flatten(coords, 1)
            relative_coords = coords_flat[:, :, None] - coords_flat[:, None, :]
            relative_coords = relative_coords.permute(1, 2, 0).contiguous()
            relative_coords[:, :, 0] += height - 1
            relative_coords[:, :, 1] += width - 1
            relative_coords[:, :, 0] *= 2 * width - 1
            return relative_coords.sum(-1)

        def get_relative_positional_bias(self) -> Any:
            bias_index = self.relative_position_index.view(-1)  # type: ignore
            relative_bias = self.relative_position_bias_table[bias_index].view(
                self.max_seq_len, self.max_seq_len, -1)  # type: ignore # fmt: skip
            relative_bias = relative_bias.permute(2, 0, 1).contiguous()
            return relative_bias.unsqueeze(0)

        def forward(self, x: Any) -> Any:
            B, N, D = x.shape
            H, DH = self.n_heads, self.head_dim
            qkv = self.to_qkv(x)
            q, k, v = torch.chunk(qkv, 3, dim=-1)
            q = q.reshape(B, N, H, DH).permute(0, 2, 1, 3)
            k = k.reshape(B, N, H, DH).permute(0, 2, 1, 3)
            v = v.reshape(B, N, H, DH).permute(0, 2, 1, 3)
            k = k * self.scale_factor
            dot_prod = torch.einsum("B H I D, B H J D -> B H I J", q, k)
            pos_bias = self.get_relative_positional_bias()
            dot_prod = F.softmax(dot_prod + pos_bias, dim=-1)
            out = torch.einsum("B H I J, B H J D -> B H I D", dot_prod, v)
            out = out.permute(0, 2, 1, 3).reshape(B, N, D)
            out = self.merge(out)
            return out

    class PartitionAttentionLayer(nn.Module):
        def __init__(self, in_channels: int, head_dim: int, partition_size: int,
                     partition_type: str) -> None:  # fmt: skip
            super().__init__()
            self.partition_size = partition_size
            self.partition_type = partition_type
            self.attn_layer = nn.Sequential(
                nn.LayerNorm(in_channels),
                RelativePositionalMultiHeadAttention(in_channels, head_dim, partition_size**2),
                nn.Dropout(0.0),
            )
            self.mlp_layer = nn.Sequential(
                nn.LayerNorm(in_channels),
                nn.Linear(in_channels, in_channels * 4),
                nn.GELU(),
                nn.Linear(in_channels * 4, in_channels),
                nn.Dropout(0.0),
            )
            self.stochastic_dropout = nn.Identity()

        def forward(self, x: Any) -> Any:
            B, C, H, W = x.shape
            p = self.partition_size
            x = x.permute(0, 2, 3, 1)  # B, H, W, C
            if self.partition_type == "window":
                t = window_partition(x, p)
            else:
                t = grid_partition(x, p)
            t = t + self.stochastic_dropout(self.attn_layer(t))
            t = t + self.stochastic_dropout(self.mlp_layer(t))
            if self.partition_type == "window":
                x = window_reverse(t, p, H, W)
            else:
                x = grid_reverse(t, p, H, W)
            return x.permute(0, 3, 1, 2)

    class MaxVit(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(3, C, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(C, eps=1e-3, momentum=0.99),
                nn.GELU(),
                nn.Conv2d(C, C, 3, stride=1, padding=1, bias=True),
            )
            self.blocks = nn.Sequential(
                MBConv(C, C),
                PartitionAttentionLayer(C, C // HEADS, P, "window"),
                PartitionAttentionLayer(C, C // HEADS, P, "grid"),
                MBConv(C, 2 * C, stride=2),
            )
            self.classifier = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                nn.LayerNorm(2 * C),
                nn.Linear(2 * C, 2 * C),
                nn.Tanh(),
                nn.Linear(2 * C, NUM_CLASSES, bias=False),
            )

        def forward(self, x: Any) -> Any:
            x = self.stem(x)
            x = self.blocks(x)
            return self.classifier(x)

    return MaxVit()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(7)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model.train()
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    values: list[float] = []
    for _step in range(3):
        image = torch.from_numpy(rng.random((4, 3, 16, 16)))
        target = torch.from_numpy(rng.integers(0, NUM_CLASSES, 4))
        output = model(image)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(rng.random((2, 3, 16, 16))))
    attn = model.blocks[1].attn_layer[1]
    values += [out.sum().item(), attn.relative_position_bias_table.sum().item(),
               attn.relative_position_index.sum().item()]  # fmt: skip
    return values
