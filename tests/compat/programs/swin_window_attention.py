"""Swin Transformer as microsoft/Swin-Transformer (``models/swin_transformer.py``) writes it,
size-reduced: ``window_partition`` (``x.view(B, H // ws, ws, W // ws, ws, C)``, ``.permute(0, 1,
3, 2, 4, 5).contiguous().view(-1, ws, ws, C)``) and ``window_reverse`` (``B = int(windows.shape[0]
/ (H * W / ws / ws))``, the inverse view/permute), the cyclic shift ``torch.roll(x, shifts=(-s,
-s), dims=(1, 2))`` and back, the shifted-window attention mask (``img_mask = torch.zeros((1, H,
W, 1))`` filled region by region through ``slice(0, -ws)``, ``slice(-ws, -s)``, ``slice(-s,
None)``, ``mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)``, ``attn_mask.masked_fill(
attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))``, registered as a buffer,
or ``register_buffer("attn_mask", None)`` for unshifted blocks), ``WindowAttention`` with its
``relative_position_bias_table`` (``nn.Parameter(torch.zeros((2 * Wh - 1) * (2 * Ww - 1),
heads))``) indexed by the ``relative_position_index`` buffer (``torch.stack(torch.meshgrid(
[coords_h, coords_w], indexing="ij"))``, ``torch.flatten(coords, 1)``, ``coords_flatten[:, :,
None] - coords_flatten[:, None, :]``, in-place ``+=``/``*=`` on integer column slices,
``.sum(-1)``), ``table[index.view(-1)].view(N, N, -1).permute(2, 0, 1).contiguous()``, the
masked softmax over ``attn.view(B_ // nW, nW, heads, N, N) + mask.unsqueeze(1).unsqueeze(0)``,
``PatchEmbed`` (``self.proj(x).flatten(2).transpose(1, 2)``), ``PatchMerging`` (``x[:, 0::2,
0::2, :]`` and friends, ``torch.cat([...], -1)``), timm's ``DropPath`` (identity in eval; its
``extra_repr``), ``trunc_normal_``/``constant_`` init through ``self.apply(self._init_weights)``,
``nn.AdaptiveAvgPool1d(1)`` and ``torch.flatten(x, 1)``, ``no_weight_decay_keywords`` splitting
the parameters into AdamW groups with and without weight decay, and ``torch.no_grad()``
evaluation. The mask is checked against a direct construction from region ids.

The last stage is a Swin V2 stage: ``WindowAttentionV2`` (cosine attention ``F.normalize(q,
dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)`` scaled by ``torch.clamp(self.logit_scale,
max=torch.log(torch.tensor(1. / 0.01))).exp()``, the continuous position bias ``cpb_mlp`` over
the log-spaced ``relative_coords_table`` buffer built with in-place ``/=``/``*=`` and
``torch.sign(t) * torch.log2(torch.abs(t) + 1.0) / np.log2(8)``, ``16 * torch.sigmoid(bias)``,
the qkv bias ``torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False),
self.v_bias))`` passed to ``F.linear(input=x, weight=self.qkv.weight, bias=qkv_bias)``),
res-post-norm blocks, and ``use_checkpoint`` blocks run through
``torch.utils.checkpoint.checkpoint(blk, x, use_reentrant=False)``. Swin's
``load_pretrained`` moves the trained weights into a model with a larger window: the
``relative_position_index``/``relative_coords_table``/``attn_mask`` keys deleted, each
``relative_position_bias_table`` resized with ``F.interpolate(table.permute(1, 0).view(1, nH1,
S1, S1), size=(S2, S2), mode='bicubic')``, ``model.load_state_dict(state_dict, strict=False)``
and its ``missing_keys``/``unexpected_keys``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

IMG, PATCH, IN_CHANS, EMBED, DEPTHS, HEADS, WINDOW, CLASSES = 8, 2, 3, 8, (2, 2), (2, 4), 2, 5
MLP_RATIO, DROP_PATH_RATE, BATCH, STEPS, LR, WEIGHT_DECAY = 2.0, 0.1, 3, 3, 1e-3, 0.05
CPB_HIDDEN, NEW_WINDOW = 16, 4


def window_partition(x: Any, window_size: int) -> Any:
    B, H, W, C = x.shape
    x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
    windows = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)
    return windows


def window_reverse(windows: Any, window_size: int, H: int, W: int) -> Any:
    B = int(windows.shape[0] / (H * W / window_size / window_size))
    x = windows.view(B, H // window_size, W // window_size, window_size, window_size, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)
    return x


def make_model(torch_like: Any, window: int = WINDOW) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    checkpoint = torch_like.utils.checkpoint
    trunc_normal_ = nn.init.trunc_normal_

    def drop_path(x: Any, drop_prob: float = 0.0, training: bool = False) -> Any:
        if drop_prob == 0.0 or not training:
            return x
        keep_prob = 1 - drop_prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        random_tensor = keep_prob + torch.rand(shape, dtype=x.dtype, device=x.device)
        random_tensor.floor_()
        return x.div(keep_prob) * random_tensor

    class DropPath(nn.Module):
        def __init__(self, drop_prob: float = 0.0) -> None:
            super().__init__()
            self.drop_prob = drop_prob

        def forward(self, x: Any) -> Any:
            return drop_path(x, self.drop_prob, self.training)

        def extra_repr(self) -> str:
            return f"drop_prob={round(self.drop_prob, 3):0.3f}"

    class Mlp(nn.Module):
        def __init__(self, in_features: int, hidden_features: int) -> None:
            super().__init__()
            self.fc1 = nn.Linear(in_features, hidden_features)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(hidden_features, in_features)
            self.drop = nn.Dropout(0.0)

        def forward(self, x: Any) -> Any:
            x = self.drop(self.act(self.fc1(x)))
            return self.drop(self.fc2(x))

    class WindowAttention(nn.Module):
        def __init__(self, dim: int, window_size: tuple, num_heads: int, qkv_bias=True) -> None:
            super().__init__()
            self.dim = dim
            self.window_size = window_size  # Wh, Ww
            self.num_heads = num_heads
            head_dim = dim // num_heads
            self.scale = head_dim**-0.5
            self.relative_position_bias_table = nn.Parameter(
                torch.zeros((2 * window_size[0] - 1) * (2 * window_size[1] - 1), num_heads)
            )  # 2*Wh-1 * 2*Ww-1, nH
            coords_h = torch.arange(self.window_size[0])
            coords_w = torch.arange(self.window_size[1])
            coords = torch.stack(torch.meshgrid([coords_h, coords_w], indexing="ij"))
            coords_flatten = torch.flatten(coords, 1)  # 2, Wh*Ww
            relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]
            relative_coords = relative_coords.permute(1, 2, 0).contiguous()  # Wh*Ww, Wh*Ww, 2
            relative_coords[:, :, 0] += self.window_size[0] - 1  # shift to start from 0
            relative_coords[:, :, 1] += self.window_size[1] - 1
            relative_coords[:, :, 0] *= 2 * self.window_size[1] - 1
            relative_position_index = relative_coords.sum(-1)  # Wh*Ww, Wh*Ww
            self.register_buffer("relative_position_index", relative_position_index)
            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
            self.attn_drop = nn.Dropout(0.0)
            self.proj = nn.Linear(dim, dim)
            self.proj_drop = nn.Dropout(0.0)
            trunc_normal_(self.relative_position_bias_table, std=0.02)
            self.softmax = nn.Softmax(dim=-1)

        def forward(self, x: Any, mask: Any = None) -> Any:
            B_, N, C = x.shape
            qkv = (
                self.qkv(x)
                .reshape(B_, N, 3, self.num_heads, C // self.num_heads)
                .permute(2, 0, 3, 1, 4)
            )
            q, k, v = qkv[0], qkv[1], qkv[2]
            q = q * self.scale
            attn = q @ k.transpose(-2, -1)
            relative_position_bias = self.relative_position_bias_table[
                self.relative_position_index.view(-1)
            ].view(
                self.window_size[0] * self.window_size[1],
                self.window_size[0] * self.window_size[1],
                -1,
            )
            relative_position_bias = relative_position_bias.permute(2, 0, 1).contiguous()
            attn = attn + relative_position_bias.unsqueeze(0)
            if mask is not None:
                nW = mask.shape[0]
                attn = attn.view(B_ // nW, nW, self.num_heads, N, N) + mask.unsqueeze(1).unsqueeze(
                    0
                )
                attn = attn.view(-1, self.num_heads, N, N)
                attn = self.softmax(attn)
            else:
                attn = self.softmax(attn)
            attn = self.attn_drop(attn)
            x = (attn @ v).transpose(1, 2).reshape(B_, N, C)
            x = self.proj(x)
            return self.proj_drop(x)

        def extra_repr(self) -> str:
            return f"dim={self.dim}, window_size={self.window_size}, num_heads={self.num_heads}"

    class WindowAttentionV2(nn.Module):
        """Swin V2's attention: scaled cosine attention and a log-spaced continuous position
        bias from a small MLP (``cpb_mlp``)."""

        def __init__(self, dim: int, window_size: tuple, num_heads: int, qkv_bias=True) -> None:
            super().__init__()
            self.dim = dim
            self.window_size = window_size  # Wh, Ww
            self.num_heads = num_heads
            self.logit_scale = nn.Parameter(
                torch.log(10 * torch.ones((num_heads, 1, 1))), requires_grad=True
            )
            # mlp to generate continuous relative position bias
            self.cpb_mlp = nn.Sequential(
                nn.Linear(2, CPB_HIDDEN, bias=True),
                nn.ReLU(inplace=True),
                nn.Linear(CPB_HIDDEN, num_heads, bias=False),
            )
            # get relative_coords_table (the original's float32: the default dtype here)
            dtype = torch.get_default_dtype()
            relative_coords_h = torch.arange(
                -(self.window_size[0] - 1), self.window_size[0], dtype=dtype
            )
            relative_coords_w = torch.arange(
                -(self.window_size[1] - 1), self.window_size[1], dtype=dtype
            )
            relative_coords_table = (
                torch.stack(torch.meshgrid([relative_coords_h, relative_coords_w], indexing="ij"))
                .permute(1, 2, 0)
                .contiguous()
                .unsqueeze(0)
            )  # 1, 2*Wh-1, 2*Ww-1, 2
            relative_coords_table[:, :, :, 0] /= self.window_size[0] - 1
            relative_coords_table[:, :, :, 1] /= self.window_size[1] - 1
            relative_coords_table *= 8  # normalize to -8, 8
            relative_coords_table = (
                torch.sign(relative_coords_table)
                * torch.log2(torch.abs(relative_coords_table) + 1.0)
                / np.log2(8)
            )
            self.register_buffer("relative_coords_table", relative_coords_table)
            coords = torch.stack(
                torch.meshgrid(
                    [torch.arange(window_size[0]), torch.arange(window_size[1])], indexing="ij"
                )
            )
            coords_flatten = torch.flatten(coords, 1)
            relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]
            relative_coords = relative_coords.permute(1, 2, 0).contiguous()
            relative_coords[:, :, 0] += self.window_size[0] - 1
            relative_coords[:, :, 1] += self.window_size[1] - 1
            relative_coords[:, :, 0] *= 2 * self.window_size[1] - 1
            self.register_buffer("relative_position_index", relative_coords.sum(-1))
            self.qkv = nn.Linear(dim, dim * 3, bias=False)
            if qkv_bias:
                self.q_bias = nn.Parameter(torch.zeros(dim))
                self.v_bias = nn.Parameter(torch.zeros(dim))
            else:
                self.q_bias = None
                self.v_bias = None
            self.attn_drop = nn.Dropout(0.0)
            self.proj = nn.Linear(dim, dim)
            self.proj_drop = nn.Dropout(0.0)
            self.softmax = nn.Softmax(dim=-1)

        def forward(self, x: Any, mask: Any = None) -> Any:
            B_, N, C = x.shape
            qkv_bias = None
            if self.q_bias is not None:
                qkv_bias = torch.cat(
                    (self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias)
                )
            qkv = F.linear(input=x, weight=self.qkv.weight, bias=qkv_bias)
            qkv = qkv.reshape(B_, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            # cosine attention
            attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
            logit_scale = torch.clamp(
                self.logit_scale, max=torch.log(torch.tensor(1.0 / 0.01))
            ).exp()
            attn = attn * logit_scale
            relative_position_bias_table = self.cpb_mlp(self.relative_coords_table).view(
                -1, self.num_heads
            )
            relative_position_bias = relative_position_bias_table[
                self.relative_position_index.view(-1)
            ].view(
                self.window_size[0] * self.window_size[1],
                self.window_size[0] * self.window_size[1],
                -1,
            )
            relative_position_bias = relative_position_bias.permute(2, 0, 1).contiguous()
            relative_position_bias = 16 * torch.sigmoid(relative_position_bias)
            attn = attn + relative_position_bias.unsqueeze(0)
            if mask is not None:
                nW = mask.shape[0]
                attn = attn.view(B_ // nW, nW, self.num_heads, N, N) + mask.unsqueeze(1).unsqueeze(
                    0
                )
                attn = attn.view(-1, self.num_heads, N, N)
            attn = self.attn_drop(self.softmax(attn))
            x = (attn @ v).transpose(1, 2).reshape(B_, N, C)
            return self.proj_drop(self.proj(x))

        def extra_repr(self) -> str:
            return f"dim={self.dim}, window_size={self.window_size}, num_heads={self.num_heads}"

    class SwinTransformerBlock(nn.Module):
        def __init__(
            self,
            dim: int,
            input_resolution: tuple,
            num_heads: int,
            window_size: int = 7,
            shift_size: int = 0,
            mlp_ratio: float = 4.0,
            drop_path: float = 0.0,
            v2: bool = False,
        ) -> None:
            super().__init__()
            self.v2 = v2
            self.dim = dim
            self.input_resolution = input_resolution
            self.num_heads = num_heads
            self.window_size = window_size
            self.shift_size = shift_size
            self.mlp_ratio = mlp_ratio
            if min(self.input_resolution) <= self.window_size:
                # if window size is larger than input resolution, we don't partition windows
                self.shift_size = 0
                self.window_size = min(self.input_resolution)
            assert 0 <= self.shift_size < self.window_size, "shift_size must in 0-window_size"
            self.norm1 = nn.LayerNorm(dim)
            attention = WindowAttentionV2 if v2 else WindowAttention
            self.attn = attention(
                dim, window_size=(self.window_size, self.window_size), num_heads=num_heads
            )
            self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio))
            if self.shift_size > 0:
                H, W = self.input_resolution
                img_mask = torch.zeros((1, H, W, 1))  # 1 H W 1
                h_slices = (
                    slice(0, -self.window_size),
                    slice(-self.window_size, -self.shift_size),
                    slice(-self.shift_size, None),
                )
                w_slices = (
                    slice(0, -self.window_size),
                    slice(-self.window_size, -self.shift_size),
                    slice(-self.shift_size, None),
                )
                cnt = 0
                for h in h_slices:
                    for w in w_slices:
                        img_mask[:, h, w, :] = cnt
                        cnt += 1
                mask_windows = window_partition(img_mask, self.window_size)
                mask_windows = mask_windows.view(-1, self.window_size * self.window_size)
                attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
                # Swin's own spelling, float(-100.0), kept as written
                attn_mask = attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(  # noqa: UP018
                    attn_mask == 0,
                    float(0.0),  # noqa: UP018
                )
            else:
                attn_mask = None
            self.register_buffer("attn_mask", attn_mask)

        def forward(self, x: Any) -> Any:
            H, W = self.input_resolution
            B, L, C = x.shape
            assert L == H * W, "input feature has wrong size"
            shortcut = x
            x = x.view(B, H, W, C) if self.v2 else self.norm1(x).view(B, H, W, C)
            if self.shift_size > 0:
                shifted_x = torch.roll(x, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
            else:
                shifted_x = x
            x_windows = window_partition(shifted_x, self.window_size)
            x_windows = x_windows.view(-1, self.window_size * self.window_size, C)
            attn_windows = self.attn(x_windows, mask=self.attn_mask)
            attn_windows = attn_windows.view(-1, self.window_size, self.window_size, C)
            shifted_x = window_reverse(attn_windows, self.window_size, H, W)
            if self.shift_size > 0:
                x = torch.roll(shifted_x, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
            else:
                x = shifted_x
            x = x.view(B, H * W, C)
            if self.v2:  # res-post-norm
                x = shortcut + self.drop_path(self.norm1(x))
                return x + self.drop_path(self.norm2(self.mlp(x)))
            x = shortcut + self.drop_path(x)
            x = x + self.drop_path(self.mlp(self.norm2(x)))
            return x

        def extra_repr(self) -> str:
            return (
                f"dim={self.dim}, input_resolution={self.input_resolution}, "
                f"num_heads={self.num_heads}, window_size={self.window_size}, "
                f"shift_size={self.shift_size}, mlp_ratio={self.mlp_ratio}"
            )

    class PatchMerging(nn.Module):
        def __init__(self, input_resolution: tuple, dim: int) -> None:
            super().__init__()
            self.input_resolution = input_resolution
            self.dim = dim
            self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
            self.norm = nn.LayerNorm(4 * dim)

        def forward(self, x: Any) -> Any:
            H, W = self.input_resolution
            B, L, C = x.shape
            assert L == H * W, "input feature has wrong size"
            assert H % 2 == 0 and W % 2 == 0, f"x size ({H}*{W}) are not even."
            x = x.view(B, H, W, C)
            x0 = x[:, 0::2, 0::2, :]  # B H/2 W/2 C
            x1 = x[:, 1::2, 0::2, :]
            x2 = x[:, 0::2, 1::2, :]
            x3 = x[:, 1::2, 1::2, :]
            x = torch.cat([x0, x1, x2, x3], -1)  # B H/2 W/2 4*C
            x = x.view(B, -1, 4 * C)
            return self.reduction(self.norm(x))

        def extra_repr(self) -> str:
            return f"input_resolution={self.input_resolution}, dim={self.dim}"

    class BasicLayer(nn.Module):
        def __init__(
            self, dim, input_resolution, depth, num_heads, window_size, drop_path, downsample, v2
        ):
            super().__init__()
            self.use_checkpoint = v2
            self.dim = dim
            self.input_resolution = input_resolution
            self.depth = depth
            self.blocks = nn.ModuleList(
                [
                    SwinTransformerBlock(
                        dim=dim,
                        input_resolution=input_resolution,
                        num_heads=num_heads,
                        window_size=window_size,
                        shift_size=0 if (i % 2 == 0) else window_size // 2,
                        mlp_ratio=MLP_RATIO,
                        drop_path=drop_path[i] if isinstance(drop_path, list) else drop_path,
                        v2=v2,
                    )
                    for i in range(depth)
                ]
            )
            if downsample is not None:
                self.downsample = downsample(input_resolution, dim=dim)
            else:
                self.downsample = None

        def forward(self, x: Any) -> Any:
            for blk in self.blocks:
                if self.use_checkpoint:
                    x = checkpoint.checkpoint(blk, x, use_reentrant=False)
                else:
                    x = blk(x)
            if self.downsample is not None:
                x = self.downsample(x)
            return x

        def extra_repr(self) -> str:
            return f"dim={self.dim}, input_resolution={self.input_resolution}, depth={self.depth}"

    class PatchEmbed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.img_size = (IMG, IMG)
            self.patches_resolution = [IMG // PATCH, IMG // PATCH]
            self.proj = nn.Conv2d(IN_CHANS, EMBED, kernel_size=PATCH, stride=PATCH)
            self.norm = nn.LayerNorm(EMBED)

        def forward(self, x: Any) -> Any:
            B, C, H, W = x.shape
            assert H == self.img_size[0] and W == self.img_size[1], "Input image size mismatch"
            x = self.proj(x).flatten(2).transpose(1, 2)  # B Ph*Pw C
            return self.norm(x)

    class SwinTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.num_layers = len(DEPTHS)
            self.num_features = int(EMBED * 2 ** (self.num_layers - 1))
            self.patch_embed = PatchEmbed()
            patches_resolution = self.patch_embed.patches_resolution
            self.pos_drop = nn.Dropout(p=0.0)
            dpr = [x.item() for x in torch.linspace(0, DROP_PATH_RATE, sum(DEPTHS))]
            self.layers = nn.ModuleList()
            for i_layer in range(self.num_layers):
                layer = BasicLayer(
                    dim=int(EMBED * 2**i_layer),
                    input_resolution=(
                        patches_resolution[0] // (2**i_layer),
                        patches_resolution[1] // (2**i_layer),
                    ),
                    depth=DEPTHS[i_layer],
                    num_heads=HEADS[i_layer],
                    window_size=window,
                    drop_path=dpr[sum(DEPTHS[:i_layer]) : sum(DEPTHS[: i_layer + 1])],
                    downsample=PatchMerging if (i_layer < self.num_layers - 1) else None,
                    v2=i_layer == self.num_layers - 1,  # the last stage is a Swin V2 stage
                )
                self.layers.append(layer)
            self.norm = nn.LayerNorm(self.num_features)
            self.avgpool = nn.AdaptiveAvgPool1d(1)
            self.head = nn.Linear(self.num_features, CLASSES)
            self.apply(self._init_weights)

        def _init_weights(self, m: Any) -> None:
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.LayerNorm):
                nn.init.constant_(m.bias, 0)
                nn.init.constant_(m.weight, 1.0)

        def no_weight_decay_keywords(self) -> set:
            return {"cpb_mlp", "logit_scale", "relative_position_bias_table"}

        def forward_features(self, x: Any) -> Any:
            x = self.patch_embed(x)
            x = self.pos_drop(x)
            for layer in self.layers:
                x = layer(x)
            x = self.norm(x)  # B L C
            x = self.avgpool(x.transpose(1, 2))  # B C 1
            return torch.flatten(x, 1)

        def forward(self, x: Any) -> Any:
            return self.head(self.forward_features(x))

    return SwinTransformer()


def set_weight_decay(model: Any, skip_keywords: set) -> list[dict]:
    """Swin's ``optimizer.set_weight_decay``: no decay on 1-d params, biases, keyword matches."""
    has_decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue  # frozen weights
        if (
            len(param.shape) == 1
            or name.endswith(".bias")
            or any(keyword in name for keyword in skip_keywords)
        ):
            no_decay.append(param)
        else:
            has_decay.append(param)
    return [{"params": has_decay}, {"params": no_decay, "weight_decay": 0.0}]


def load_pretrained(torch_like: Any, model: Any, state_dict: dict) -> Any:
    """Swin's ``utils.load_pretrained``: drop the buffers a model rebuilds, resize each
    ``relative_position_bias_table`` to the model's window (bicubic), load with strict=False."""
    F = torch_like.nn.functional
    relative_position_index_keys = [k for k in state_dict.keys() if "relative_position_index" in k]
    for k in relative_position_index_keys:
        del state_dict[k]
    relative_coords_table_keys = [k for k in state_dict.keys() if "relative_coords_table" in k]
    for k in relative_coords_table_keys:
        del state_dict[k]
    attn_mask_keys = [k for k in state_dict.keys() if "attn_mask" in k]
    for k in attn_mask_keys:
        del state_dict[k]
    relative_position_bias_table_keys = [
        k for k in state_dict.keys() if "relative_position_bias_table" in k
    ]
    for k in relative_position_bias_table_keys:
        relative_position_bias_table_pretrained = state_dict[k]
        relative_position_bias_table_current = model.state_dict()[k]
        L1, nH1 = relative_position_bias_table_pretrained.size()
        L2, nH2 = relative_position_bias_table_current.size()
        if nH1 != nH2:
            continue
        if L1 != L2:
            S1 = int(L1**0.5)
            S2 = int(L2**0.5)
            resized = F.interpolate(
                relative_position_bias_table_pretrained.permute(1, 0).view(1, nH1, S1, S1),
                size=(S2, S2),
                mode="bicubic",
            )
            state_dict[k] = resized.view(nH2, L2).permute(1, 0)
    return model.load_state_dict(state_dict, strict=False)


def mask_by_regions(torch_like: Any, block: Any) -> float:
    """The registered shifted-window mask against region ids computed with NumPy."""
    H, W = block.input_resolution
    ws, s = block.window_size, block.shift_size
    ids = np.zeros((H, W))
    edges = [(0, H - ws), (H - ws, H - s), (H - s, H)]
    for i, (h0, h1) in enumerate(edges):
        for j, (w0, w1) in enumerate(edges):
            ids[h0:h1, w0:w1] = 3 * i + j
    windows = ids.reshape(H // ws, ws, W // ws, ws).transpose(0, 2, 1, 3).reshape(-1, ws * ws)
    want = np.where(windows[:, None, :] != windows[:, :, None], -100.0, 0.0)
    got = block.attn_mask.detach().cpu().numpy()
    return float(np.abs(got - want).max())


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(11)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    shifted = model.layers[0].blocks[1]
    values: list[float] = [mask_by_regions(torch_like, shifted)]
    values += [float(model.layers[0].blocks[0].attn_mask is None)]
    values += [float("layers.0.blocks.0.attn_mask" in model.state_dict())]
    index = model.layers[0].blocks[0].attn.relative_position_index
    values += index.flatten().tolist() + [float(index.dtype == torch.int64)]

    skip = model.no_weight_decay_keywords()
    optimizer = torch.optim.AdamW(set_weight_decay(model, skip), lr=LR, weight_decay=WEIGHT_DECAY)
    criterion = torch.nn.CrossEntropyLoss()
    x = as_tensor(torch_like, rng.standard_normal((BATCH, IN_CHANS, IMG, IMG)))
    target = as_tensor(torch_like, rng.integers(0, CLASSES, BATCH))
    model.eval()  # DropPath is the identity, so both runs compute the same function
    for _step in range(STEPS):
        optimizer.zero_grad()
        output = model(x)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        table = model.layers[0].blocks[1].attn.relative_position_bias_table
        values += [loss.item(), table.grad.abs().sum().item(), table.grad[0].abs().sum().item()]
    model.eval()
    with torch.no_grad():
        probs = F.softmax(model(x), dim=-1)
        windows = window_partition(x.permute(0, 2, 3, 1), 4)
        back = window_reverse(windows, 4, IMG, IMG).permute(0, 3, 1, 2)
        rolled = torch.roll(torch.roll(x, shifts=(-1, -1), dims=(2, 3)), shifts=(1, 1), dims=(2, 3))
    values += probs.flatten().tolist()
    bigger = make_model(torch_like, window=NEW_WINDOW)
    msg = load_pretrained(torch_like, bigger, dict(model.state_dict()))
    values += [float(len(msg.missing_keys)), float(len(msg.unexpected_keys))]
    bigger.eval()
    with torch.no_grad():
        values += F.softmax(bigger(x), dim=-1).flatten().tolist()
    values += [(back - x).abs().max().item(), (rolled - x).abs().max().item()]
    return values


def check(values: list[float]) -> None:
    assert values[0] == 0.0  # the masked_fill mask is the region-id mask
    assert values[1:3] == [1.0, 0.0]  # a None buffer is registered but not saved
    assert values[-2:] == [0.0, 0.0]  # window_reverse inverts window_partition; roll inverts
