"""SimMIM masked image modelling with a BEiT-style ViT encoder, as microsoft/SimMIM writes it
(``models/simmim.py``'s ``VisionTransformerForSimMIM`` and ``SimMIM``, ``models/
vision_transformer.py``'s ``Attention``, ``Block`` and ``RelativePositionBias``,
``data/data_simmim.py``'s ``MaskGenerator``, ``optimizer.py``'s ``build_pretrain_optimizer``,
``set_weight_decay`` and ``check_keywords_in_name``), size-reduced.

The idioms: ``MaskGenerator``'s ``np.random.permutation(self.token_count)[:self.mask_count]``
and ``mask.repeat(self.scale, axis=0).repeat(self.scale, axis=1)``; the encoder's
``self.mask_token.expand(B, L, -1)``, ``w = mask.flatten(1).unsqueeze(-1).type_as(mask_token)``,
``x = x * (1 - w) + mask_token * w``, ``self.cls_token.expand(B, -1, -1)``, ``x[:, 1:]`` and
``x.permute(0, 2, 1).reshape(B, C, H, W)``; BEiT's ``RelativePositionBias`` (``torch.stack(
torch.meshgrid([coords_h, coords_w]))`` without ``indexing``, ``torch.flatten(coords, 1)``,
``coords_flatten[:, :, None] - coords_flatten[:, None, :]``, the in-place index arithmetic
``relative_coords[:, :, 0] += window_size[0] - 1`` and ``*= 2 * window_size[1] - 1``, the
``torch.zeros(size=(...,) * 2, dtype=relative_coords.dtype)`` index with its cls rows and
columns, ``self.relative_position_bias_table[self.relative_position_index.view(-1)].view(...)``
and ``.permute(2, 0, 1).contiguous()``) shared by all blocks; ``Attention``'s separate
``q_bias``/``v_bias`` (``torch.cat((self.q_bias, torch.zeros_like(self.v_bias,
requires_grad=False), self.v_bias))`` into ``F.linear(input=x, weight=self.qkv.weight,
bias=qkv_bias)``); LayerScale ``self.gamma_1 * self.attn(...)``; the decoder
``nn.Conv2d(..., kernel_size=1)`` + ``nn.PixelShuffle(self.encoder_stride)``; the loss
``mask.repeat_interleave(self.patch_size, 1).repeat_interleave(self.patch_size,
2).unsqueeze(1).contiguous()``, ``F.l1_loss(x, x_rec, reduction='none')`` and ``(loss_recon *
mask).sum() / (mask.sum() + 1e-5) / self.in_chans``; ``set_weight_decay``'s name/keyword
skip lists into ``[{'params': has_decay}, {'params': no_decay, 'weight_decay': 0.}]`` for
``optim.AdamW(..., eps=..., betas=..., lr=..., weight_decay=...)``; and the train loop's
``torch.nn.utils.clip_grad_norm_`` and ``MultiStepLR``.

Changed: ViT-B/16 at 224 -> 8x8 images in 2x2 patches, width 8, depth 2; the mask patch 32 ->
4 (a 2x2 random grid, scale 2); 4 steps; no AMP, no DDP.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IMG, PATCH, CH, DIM, DEPTH, HEADS, MASK_PATCH, BATCH, STEPS = 8, 2, 3, 8, 2, 2, 4, 2, 4
GRID = IMG // PATCH


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class Mlp(nn.Module):
        def __init__(self, in_features: int, hidden_features: int) -> None:
            super().__init__()
            self.fc1 = nn.Linear(in_features, hidden_features)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(hidden_features, in_features)
            self.drop = nn.Dropout(0.0)

        def forward(self, x: Any) -> Any:
            return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))

    class Attention(nn.Module):
        def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True) -> None:
            super().__init__()
            self.num_heads = num_heads
            head_dim = dim // num_heads
            all_head_dim = head_dim * self.num_heads
            self.scale = head_dim**-0.5
            self.qkv = nn.Linear(dim, all_head_dim * 3, bias=False)
            if qkv_bias:
                self.q_bias = nn.Parameter(torch.zeros(all_head_dim))
                self.v_bias = nn.Parameter(torch.zeros(all_head_dim))
            else:
                self.q_bias = None
                self.v_bias = None
            self.attn_drop = nn.Dropout(0.0)
            self.proj = nn.Linear(all_head_dim, dim)
            self.proj_drop = nn.Dropout(0.0)

        def forward(self, x: Any, rel_pos_bias: Any = None) -> Any:
            B, N, C = x.shape
            qkv_bias = None
            if self.q_bias is not None:
                qkv_bias = torch.cat(
                    (self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias)
                )
            qkv = F.linear(input=x, weight=self.qkv.weight, bias=qkv_bias)
            qkv = qkv.reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]  # make torchscript happy (cannot use tensor as tuple)

            q = q * self.scale
            attn = q @ k.transpose(-2, -1)

            if rel_pos_bias is not None:
                attn = attn + rel_pos_bias

            attn = attn.softmax(dim=-1)
            attn = self.attn_drop(attn)

            x = (attn @ v).transpose(1, 2).reshape(B, N, -1)
            x = self.proj(x)
            x = self.proj_drop(x)
            return x

    class Block(nn.Module):
        def __init__(self, dim: int, num_heads: int, init_values: float = 0.1) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(dim, eps=1e-6)
            self.attn = Attention(dim, num_heads)
            self.norm2 = nn.LayerNorm(dim, eps=1e-6)
            self.mlp = Mlp(dim, dim * 4)
            self.gamma_1 = nn.Parameter(init_values * torch.ones(dim), requires_grad=True)
            self.gamma_2 = nn.Parameter(init_values * torch.ones(dim), requires_grad=True)

        def forward(self, x: Any, rel_pos_bias: Any = None) -> Any:
            x = x + self.gamma_1 * self.attn(self.norm1(x), rel_pos_bias=rel_pos_bias)
            x = x + self.gamma_2 * self.mlp(self.norm2(x))
            return x

    class RelativePositionBias(nn.Module):
        def __init__(self, window_size: tuple, num_heads: int) -> None:
            super().__init__()
            self.window_size = window_size
            self.num_relative_distance = (2 * window_size[0] - 1) * (2 * window_size[1] - 1) + 3
            self.relative_position_bias_table = nn.Parameter(
                torch.zeros(self.num_relative_distance, num_heads)
            )  # 2*Wh-1 * 2*Ww-1, nH
            # cls to token & token 2 cls & cls to cls

            # get pair-wise relative position index for each token inside the window
            coords_h = torch.arange(window_size[0])
            coords_w = torch.arange(window_size[1])
            coords = torch.stack(torch.meshgrid([coords_h, coords_w]))  # 2, Wh, Ww
            coords_flatten = torch.flatten(coords, 1)  # 2, Wh*Ww
            relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]
            relative_coords = relative_coords.permute(1, 2, 0).contiguous()  # Wh*Ww, Wh*Ww, 2
            relative_coords[:, :, 0] += window_size[0] - 1  # shift to start from 0
            relative_coords[:, :, 1] += window_size[1] - 1
            relative_coords[:, :, 0] *= 2 * window_size[1] - 1
            relative_position_index = torch.zeros(
                size=(window_size[0] * window_size[1] + 1,) * 2, dtype=relative_coords.dtype
            )
            relative_position_index[1:, 1:] = relative_coords.sum(-1)  # Wh*Ww, Wh*Ww
            relative_position_index[0, 0:] = self.num_relative_distance - 3
            relative_position_index[0:, 0] = self.num_relative_distance - 2
            relative_position_index[0, 0] = self.num_relative_distance - 1

            self.register_buffer("relative_position_index", relative_position_index)

        def forward(self) -> Any:
            relative_position_bias = self.relative_position_bias_table[
                self.relative_position_index.view(-1)
            ].view(
                self.window_size[0] * self.window_size[1] + 1,
                self.window_size[0] * self.window_size[1] + 1,
                -1,
            )  # Wh*Ww,Wh*Ww,nH
            return relative_position_bias.permute(2, 0, 1).contiguous()  # nH, Wh*Ww, Wh*Ww

    class PatchEmbed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Conv2d(CH, DIM, kernel_size=PATCH, stride=PATCH)

        def forward(self, x: Any) -> Any:
            return self.proj(x).flatten(2).transpose(1, 2)

    class VisionTransformerForSimMIM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.num_features = self.embed_dim = DIM
            self.in_chans, self.patch_size = CH, PATCH
            self.patch_embed = PatchEmbed()
            self.cls_token = nn.Parameter(torch.zeros(1, 1, DIM))
            self.pos_embed = None
            self.pos_drop = nn.Dropout(p=0.0)
            self.rel_pos_bias = RelativePositionBias(window_size=(GRID, GRID), num_heads=HEADS)
            self.blocks = nn.ModuleList([Block(DIM, HEADS) for _ in range(DEPTH)])
            self.norm = nn.LayerNorm(DIM, eps=1e-6)
            self.mask_token = nn.Parameter(torch.zeros(1, 1, self.embed_dim))
            nn.init.trunc_normal_(self.mask_token, mean=0.0, std=0.02)

        def forward(self, x: Any, mask: Any) -> Any:
            x = self.patch_embed(x)

            assert mask is not None
            B, L, _ = x.shape

            mask_token = self.mask_token.expand(B, L, -1)
            w = mask.flatten(1).unsqueeze(-1).type_as(mask_token)
            x = x * (1 - w) + mask_token * w

            # stole cls_tokens impl from Phil Wang, thanks
            cls_tokens = self.cls_token.expand(B, -1, -1)
            x = torch.cat((cls_tokens, x), dim=1)

            if self.pos_embed is not None:
                x = x + self.pos_embed
            x = self.pos_drop(x)

            rel_pos_bias = self.rel_pos_bias() if self.rel_pos_bias is not None else None
            for blk in self.blocks:
                x = blk(x, rel_pos_bias=rel_pos_bias)
            x = self.norm(x)

            x = x[:, 1:]
            B, L, C = x.shape
            H = W = int(L**0.5)
            x = x.permute(0, 2, 1).reshape(B, C, H, W)
            return x

        def no_weight_decay(self) -> set:
            return {"pos_embed", "cls_token"}

        def no_weight_decay_keywords(self) -> set:
            return {"relative_position_bias_table"}

    class SimMIM(nn.Module):
        def __init__(self, encoder: Any, encoder_stride: int) -> None:
            super().__init__()
            self.encoder = encoder
            self.encoder_stride = encoder_stride

            self.decoder = nn.Sequential(
                nn.Conv2d(
                    in_channels=self.encoder.num_features,
                    out_channels=self.encoder_stride**2 * 3,
                    kernel_size=1,
                ),
                nn.PixelShuffle(self.encoder_stride),
            )

            self.in_chans = self.encoder.in_chans
            self.patch_size = self.encoder.patch_size

        def forward(self, x: Any, mask: Any) -> Any:
            z = self.encoder(x, mask)
            x_rec = self.decoder(z)

            mask = (
                mask.repeat_interleave(self.patch_size, 1)
                .repeat_interleave(self.patch_size, 2)
                .unsqueeze(1)
                .contiguous()
            )
            loss_recon = F.l1_loss(x, x_rec, reduction="none")
            loss = (loss_recon * mask).sum() / (mask.sum() + 1e-5) / self.in_chans
            return loss

        def no_weight_decay(self) -> set:
            if hasattr(self.encoder, "no_weight_decay"):
                return {"encoder." + i for i in self.encoder.no_weight_decay()}
            return {}

        def no_weight_decay_keywords(self) -> set:
            if hasattr(self.encoder, "no_weight_decay_keywords"):
                return {"encoder." + i for i in self.encoder.no_weight_decay_keywords()}
            return {}

    with warnings.catch_warnings():
        # the repository's meshgrid has no ``indexing=``, whose UserWarning a script shows
        warnings.filterwarnings("ignore", r".*meshgrid: in an upcoming release", UserWarning)
        return SimMIM(VisionTransformerForSimMIM(), encoder_stride=PATCH)


class MaskGenerator:
    def __init__(self, input_size: int = 192, mask_patch_size: int = 32,
                 model_patch_size: int = 4, mask_ratio: float = 0.6) -> None:  # fmt: skip
        self.input_size = input_size
        self.mask_patch_size = mask_patch_size
        self.model_patch_size = model_patch_size
        self.mask_ratio = mask_ratio

        assert self.input_size % self.mask_patch_size == 0
        assert self.mask_patch_size % self.model_patch_size == 0

        self.rand_size = self.input_size // self.mask_patch_size
        self.scale = self.mask_patch_size // self.model_patch_size

        self.token_count = self.rand_size**2
        self.mask_count = int(np.ceil(self.token_count * self.mask_ratio))

    def __call__(self) -> np.ndarray:
        mask_idx = np.random.permutation(self.token_count)[: self.mask_count]
        mask = np.zeros(self.token_count, dtype=int)
        mask[mask_idx] = 1

        mask = mask.reshape((self.rand_size, self.rand_size))
        mask = mask.repeat(self.scale, axis=0).repeat(self.scale, axis=1)

        return mask


def check_keywords_in_name(name: str, keywords: Any = ()) -> bool:
    isin = False
    for keyword in keywords:
        if keyword in name:
            isin = True
    return isin


def set_weight_decay(model: Any, skip_list: Any = (), skip_keywords: Any = ()) -> list:
    has_decay = []
    no_decay = []

    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue  # frozen weights
        if (
            len(param.shape) == 1
            or name.endswith(".bias")
            or (name in skip_list)
            or check_keywords_in_name(name, skip_keywords)
        ):
            no_decay.append(param)
        else:
            has_decay.append(param)
    return [{"params": has_decay}, {"params": no_decay, "weight_decay": 0.0}]


def run(torch_like: Any, init: dict) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    skip = model.no_weight_decay()
    skip_keywords = model.no_weight_decay_keywords()
    parameters = set_weight_decay(model, skip, skip_keywords)
    optimizer = optim.AdamW(parameters, eps=1e-8, betas=(0.9, 0.999), lr=2e-3, weight_decay=0.05)
    lr_scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[2], gamma=0.1)
    np.random.seed(7)
    rng = np.random.default_rng(7)
    mask_generator = MaskGenerator(
        input_size=IMG, mask_patch_size=MASK_PATCH, model_patch_size=PATCH, mask_ratio=0.6
    )
    values: list[float] = []
    model.train()
    for _step in range(STEPS):
        img = as_tensor(torch, rng.normal(size=(BATCH, CH, IMG, IMG)))
        mask = torch.utils.data.default_collate(
            [torch.from_numpy(mask_generator()) for _ in range(BATCH)]
        )
        loss = model(img, mask)
        optimizer.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        lr_scheduler.step()
        values += [loss.item(), grad_norm.item(), mask.sum().item()]
    table = model.encoder.rel_pos_bias.relative_position_bias_table
    values += [table.sum().item(), model.encoder.rel_pos_bias.relative_position_index.sum().item()]
    return values
