"""SegFormer as NVlabs' ``mmseg/models/backbones/mix_transformer.py`` (the MiT encoder) and
``decode_heads/segformer_head.py`` write it, trained the way mmsegmentation's ``decode_head.losses``
and the released configs do, size-reduced.

The idioms: ``OverlapPatchEmbed`` (``nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size,
stride=stride, padding=(patch_size[0] // 2, patch_size[1] // 2))``, ``x.flatten(2).transpose(1,
2)``, ``nn.LayerNorm``, returning ``x, H, W``); the efficient self-attention with spatial
reduction (``self.q(x).reshape(B, N, self.num_heads, C // self.num_heads).permute(0, 2, 1, 3)``,
``x_ = x.permute(0, 2, 1).reshape(B, C, H, W)``, ``self.sr(x_).reshape(B, C, -1).permute(0, 2,
1)``, ``self.norm(x_)``, ``kv.reshape(B, -1, 2, self.num_heads, C // self.num_heads).permute(2,
0, 3, 1, 4)``, ``(q @ k.transpose(-2, -1)) * self.scale``, ``attn.softmax(dim=-1)``); Mix-FFN
(``fc1``, ``DWConv`` = ``x.transpose(1, 2).view(B, C, H, W)`` through ``nn.Conv2d(dim, dim, 3, 1,
1, bias=True, groups=dim)`` and back, ``nn.GELU``, ``fc2``); ``self.apply(self._init_weights)``
with ``trunc_normal_``, ``fan_out //= m.groups`` and ``m.weight.data.normal_(0, math.sqrt(2.0 /
fan_out))``; the stochastic-depth schedule ``[x.item() for x in torch.linspace(0,
drop_path_rate, sum(depths))]`` and ``DropPath(...) if drop_path > 0.0 else nn.Identity()``; each
stage's ``x.reshape(B, H, W, -1).permute(0, 3, 1, 2).contiguous()``; the all-MLP decoder
(``MLP``: ``x.flatten(2).transpose(1, 2)`` + ``nn.Linear``; ``_c4 = self.linear_c4(c4).permute(0,
2, 1).reshape(n, -1, c4.shape[2], c4.shape[3])``, ``F.interpolate(..., size=c1.size()[2:],
mode="bilinear", align_corners=False)``, ``linear_fuse`` as conv + BN + ReLU over
``torch.cat([_c4, _c3, _c2, _c1], dim=1)``, ``linear_pred``); the loss on logits resized to the
label (``F.cross_entropy(seg_logit, seg_label, ignore_index=255)`` and mmseg's ``reduction="none"``
form averaged over the non-ignored pixels), the pixel accuracy over ``target != ignore_index``;
AdamW with the configs' ``paramwise_cfg`` (head ``lr_mult=10``, ``norm`` ``decay_mult=0``) and the
poly schedule ``PolynomialLR(power=1.0)``.

Changed: MiT-B0's widths 32..256 and depths 2 are widths 8..32 and depth 1, 32x32 random NumPy
images with random labels (some 255), four classes, no dropout, two steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NUM_CLASSES, IMG, BATCH, STEPS, IGNORE = 4, 32, 2, 2, 255
EMBED_DIMS, NUM_HEADS, SR_RATIOS, DEPTHS = [8, 16, 24, 32], [1, 2, 2, 4], [4, 2, 1, 1], [1, 1, 1, 1]


def to_2tuple(x):
    return x if isinstance(x, tuple) else (x, x)


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    def _init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)
        elif isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            fan_out //= m.groups
            m.weight.data.normal_(0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                m.bias.data.zero_()

    class DWConv(nn.Module):
        def __init__(self, dim=768):
            super().__init__()
            self.dwconv = nn.Conv2d(dim, dim, 3, 1, 1, bias=True, groups=dim)

        def forward(self, x, H, W):
            B, N, C = x.shape
            x = x.transpose(1, 2).view(B, C, H, W)
            x = self.dwconv(x)
            x = x.flatten(2).transpose(1, 2)
            return x

    class Mlp(nn.Module):
        def __init__(
            self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, drop=0.0
        ):
            super().__init__()
            out_features = out_features or in_features
            hidden_features = hidden_features or in_features
            self.fc1 = nn.Linear(in_features, hidden_features)
            self.dwconv = DWConv(hidden_features)
            self.act = act_layer()
            self.fc2 = nn.Linear(hidden_features, out_features)
            self.drop = nn.Dropout(drop)
            self.apply(_init_weights)

        def forward(self, x, H, W):
            x = self.fc1(x)
            x = self.dwconv(x, H, W)
            x = self.act(x)
            x = self.drop(x)
            x = self.fc2(x)
            x = self.drop(x)
            return x

    class Attention(nn.Module):
        def __init__(
            self, dim, num_heads=8, qkv_bias=False, qk_scale=None, attn_drop=0.0, proj_drop=0.0,
            sr_ratio=1,
        ):  # fmt: skip
            super().__init__()
            assert dim % num_heads == 0, f"dim {dim} should be divided by num_heads {num_heads}."

            self.dim = dim
            self.num_heads = num_heads
            head_dim = dim // num_heads
            self.scale = qk_scale or head_dim**-0.5

            self.q = nn.Linear(dim, dim, bias=qkv_bias)
            self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
            self.attn_drop = nn.Dropout(attn_drop)
            self.proj = nn.Linear(dim, dim)
            self.proj_drop = nn.Dropout(proj_drop)

            self.sr_ratio = sr_ratio
            if sr_ratio > 1:
                self.sr = nn.Conv2d(dim, dim, kernel_size=sr_ratio, stride=sr_ratio)
                self.norm = nn.LayerNorm(dim)

            self.apply(_init_weights)

        def forward(self, x, H, W):
            B, N, C = x.shape
            q = self.q(x).reshape(B, N, self.num_heads, C // self.num_heads).permute(0, 2, 1, 3)

            if self.sr_ratio > 1:
                x_ = x.permute(0, 2, 1).reshape(B, C, H, W)
                x_ = self.sr(x_).reshape(B, C, -1).permute(0, 2, 1)
                x_ = self.norm(x_)
                kv = (
                    self.kv(x_)
                    .reshape(B, -1, 2, self.num_heads, C // self.num_heads)
                    .permute(2, 0, 3, 1, 4)
                )
            else:
                kv = (
                    self.kv(x)
                    .reshape(B, -1, 2, self.num_heads, C // self.num_heads)
                    .permute(2, 0, 3, 1, 4)
                )
            k, v = kv[0], kv[1]

            attn = (q @ k.transpose(-2, -1)) * self.scale
            attn = attn.softmax(dim=-1)
            attn = self.attn_drop(attn)

            x = (attn @ v).transpose(1, 2).reshape(B, N, C)
            x = self.proj(x)
            x = self.proj_drop(x)

            return x

    class Block(nn.Module):
        def __init__(
            self, dim, num_heads, mlp_ratio=4.0, qkv_bias=False, qk_scale=None, drop=0.0,
            attn_drop=0.0, drop_path=0.0, act_layer=nn.GELU, norm_layer=nn.LayerNorm, sr_ratio=1,
        ):  # fmt: skip
            super().__init__()
            self.norm1 = norm_layer(dim)
            self.attn = Attention(
                dim, num_heads=num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale,
                attn_drop=attn_drop, proj_drop=drop, sr_ratio=sr_ratio,
            )  # fmt: skip
            # NOTE: drop path for stochastic depth, we shall see if this is better than dropout
            self.drop_path = nn.Dropout(drop_path) if drop_path > 0.0 else nn.Identity()
            self.norm2 = norm_layer(dim)
            mlp_hidden_dim = int(dim * mlp_ratio)
            self.mlp = Mlp(
                in_features=dim, hidden_features=mlp_hidden_dim, act_layer=act_layer, drop=drop
            )
            self.apply(_init_weights)

        def forward(self, x, H, W):
            x = x + self.drop_path(self.attn(self.norm1(x), H, W))
            x = x + self.drop_path(self.mlp(self.norm2(x), H, W))
            return x

    class OverlapPatchEmbed(nn.Module):
        """Image to Patch Embedding"""

        def __init__(self, img_size=224, patch_size=7, stride=4, in_chans=3, embed_dim=768):
            super().__init__()
            img_size = to_2tuple(img_size)
            patch_size = to_2tuple(patch_size)

            self.img_size = img_size
            self.patch_size = patch_size
            self.H, self.W = img_size[0] // patch_size[0], img_size[1] // patch_size[1]
            self.num_patches = self.H * self.W
            self.proj = nn.Conv2d(
                in_chans, embed_dim, kernel_size=patch_size, stride=stride,
                padding=(patch_size[0] // 2, patch_size[1] // 2),
            )  # fmt: skip
            self.norm = nn.LayerNorm(embed_dim)

            self.apply(_init_weights)

        def forward(self, x):
            x = self.proj(x)
            _, _, H, W = x.shape
            x = x.flatten(2).transpose(1, 2)
            x = self.norm(x)

            return x, H, W

    class MixVisionTransformer(nn.Module):
        def __init__(
            self, img_size=224, in_chans=3, embed_dims=EMBED_DIMS, num_heads=NUM_HEADS,
            mlp_ratios=(4, 4, 4, 4), qkv_bias=True, drop_path_rate=0.0, depths=DEPTHS,
            sr_ratios=SR_RATIOS,
        ):  # fmt: skip
            super().__init__()
            self.depths = depths
            norm_layer = nn.LayerNorm
            # patch_embed
            self.patch_embed1 = OverlapPatchEmbed(
                img_size=img_size, patch_size=7, stride=4, in_chans=in_chans,
                embed_dim=embed_dims[0],
            )  # fmt: skip
            self.patch_embed2 = OverlapPatchEmbed(
                img_size=img_size // 4, patch_size=3, stride=2, in_chans=embed_dims[0],
                embed_dim=embed_dims[1],
            )  # fmt: skip
            self.patch_embed3 = OverlapPatchEmbed(
                img_size=img_size // 8, patch_size=3, stride=2, in_chans=embed_dims[1],
                embed_dim=embed_dims[2],
            )  # fmt: skip
            self.patch_embed4 = OverlapPatchEmbed(
                img_size=img_size // 16, patch_size=3, stride=2, in_chans=embed_dims[2],
                embed_dim=embed_dims[3],
            )  # fmt: skip

            # transformer encoder
            dpr = [x.item() for x in torch.linspace(0, drop_path_rate, sum(depths))]
            cur = 0
            for s in range(4):
                blocks = nn.ModuleList(
                    [
                        Block(
                            dim=embed_dims[s], num_heads=num_heads[s], mlp_ratio=mlp_ratios[s],
                            qkv_bias=qkv_bias, drop_path=dpr[cur + i], norm_layer=norm_layer,
                            sr_ratio=sr_ratios[s],
                        )
                        for i in range(depths[s])
                    ]
                )  # fmt: skip
                setattr(self, f"block{s + 1}", blocks)
                setattr(self, f"norm{s + 1}", norm_layer(embed_dims[s]))
                cur += depths[s]

            self.apply(_init_weights)

        def forward_features(self, x):
            B = x.shape[0]
            outs = []
            for s in range(1, 5):
                x, H, W = getattr(self, f"patch_embed{s}")(x)
                for _i, blk in enumerate(getattr(self, f"block{s}")):
                    x = blk(x, H, W)
                x = getattr(self, f"norm{s}")(x)
                x = x.reshape(B, H, W, -1).permute(0, 3, 1, 2).contiguous()
                outs.append(x)
            return outs

        def forward(self, x):
            x = self.forward_features(x)
            return x

    class MLP(nn.Module):
        """Linear Embedding"""

        def __init__(self, input_dim=2048, embed_dim=768):
            super().__init__()
            self.proj = nn.Linear(input_dim, embed_dim)

        def forward(self, x):
            x = x.flatten(2).transpose(1, 2)
            x = self.proj(x)
            return x

    class ConvModule(nn.Sequential):
        def __init__(self, in_channels, out_channels, kernel_size):
            super().__init__()
            self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, bias=False)
            self.bn = nn.BatchNorm2d(out_channels)
            self.activate = nn.ReLU(inplace=True)

    def resize(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
        return F.interpolate(input, size, scale_factor, mode, align_corners)

    class SegFormerHead(nn.Module):
        def __init__(self, in_channels, embedding_dim, num_classes, dropout_ratio=0.0):
            super().__init__()
            c1_in_channels, c2_in_channels, c3_in_channels, c4_in_channels = in_channels
            self.align_corners = False
            self.linear_c4 = MLP(input_dim=c4_in_channels, embed_dim=embedding_dim)
            self.linear_c3 = MLP(input_dim=c3_in_channels, embed_dim=embedding_dim)
            self.linear_c2 = MLP(input_dim=c2_in_channels, embed_dim=embedding_dim)
            self.linear_c1 = MLP(input_dim=c1_in_channels, embed_dim=embedding_dim)
            self.linear_fuse = ConvModule(embedding_dim * 4, embedding_dim, kernel_size=1)
            if dropout_ratio > 0:
                self.dropout = nn.Dropout2d(dropout_ratio)
            else:
                self.dropout = None
            self.linear_pred = nn.Conv2d(embedding_dim, num_classes, kernel_size=1)

        def forward(self, inputs):
            c1, c2, c3, c4 = inputs

            n, _, h, w = c4.shape

            _c4 = self.linear_c4(c4).permute(0, 2, 1).reshape(n, -1, c4.shape[2], c4.shape[3])
            _c4 = resize(_c4, size=c1.size()[2:], mode="bilinear", align_corners=False)

            _c3 = self.linear_c3(c3).permute(0, 2, 1).reshape(n, -1, c3.shape[2], c3.shape[3])
            _c3 = resize(_c3, size=c1.size()[2:], mode="bilinear", align_corners=False)

            _c2 = self.linear_c2(c2).permute(0, 2, 1).reshape(n, -1, c2.shape[2], c2.shape[3])
            _c2 = resize(_c2, size=c1.size()[2:], mode="bilinear", align_corners=False)

            _c1 = self.linear_c1(c1).permute(0, 2, 1).reshape(n, -1, c1.shape[2], c1.shape[3])

            _c = self.linear_fuse(torch.cat([_c4, _c3, _c2, _c1], dim=1))

            x = _c if self.dropout is None else self.dropout(_c)
            x = self.linear_pred(x)

            return x

    class EncoderDecoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = MixVisionTransformer(img_size=IMG)
            self.decode_head = SegFormerHead(EMBED_DIMS, 16, NUM_CLASSES)

        def forward(self, img):
            return self.decode_head(self.backbone(img))

    return EncoderDecoder()


def losses(torch_like, seg_logit, seg_label, align_corners=False):
    """mmseg's ``BaseDecodeHead.losses`` with ``avg_non_ignore=True``."""
    torch = torch_like
    F = torch.nn.functional
    loss = {}
    seg_logit = F.interpolate(
        seg_logit, size=seg_label.shape[2:], mode="bilinear", align_corners=align_corners
    )
    seg_label = seg_label.squeeze(1)
    per_pixel = F.cross_entropy(seg_logit, seg_label, reduction="none", ignore_index=IGNORE)
    avg_factor = seg_label.numel() - (seg_label == IGNORE).sum().item()
    loss["loss_ce"] = per_pixel.sum() / avg_factor
    loss["loss_plain"] = F.cross_entropy(seg_logit, seg_label, ignore_index=IGNORE)
    pred_label = seg_logit.argmax(dim=1)
    mask = seg_label != IGNORE
    correct = pred_label[mask].eq(seg_label[mask])
    loss["acc_seg"] = correct.float().sum() * (100.0 / mask.sum())
    return loss


def param_groups(model, lr, weight_decay):
    """mmcv's ``DefaultOptimizerConstructor`` with SegFormer's custom keys."""
    groups = []
    for name, param in model.named_parameters():
        group = {"params": [param], "lr": lr, "weight_decay": weight_decay}
        if "head" in name:
            group["lr"] = lr * 10.0
        if "norm" in name:
            group["weight_decay"] = 0.0
        groups.append(group)
    return groups


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    values: list[float] = [float(model.backbone.patch_embed2.num_patches)]
    values += [float(hasattr(model.backbone.block4[0].attn, "sr"))]

    # the released lr: the linear_c* biases have an exactly-zero gradient in theory (a BN
    # follows), so AdamW scales their rounding noise by lr / eps into the running stats
    groups = param_groups(model, lr=6e-5, weight_decay=0.01)
    optimizer = torch.optim.AdamW(groups, lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.PolynomialLR(optimizer, total_iters=4, power=1.0)
    rng = np.random.default_rng(3)
    img = as_tensor(torch, rng.standard_normal((BATCH, 3, IMG, IMG)))
    labels = rng.integers(0, NUM_CLASSES, (BATCH, 1, IMG, IMG))
    labels[rng.random(labels.shape) < 0.2] = IGNORE
    gt_semantic_seg = as_tensor(torch, labels)

    model.train()
    for _step in range(STEPS):
        seg_logits = model(img)
        loss = losses(torch, seg_logits, gt_semantic_seg)
        optimizer.zero_grad()
        loss["loss_ce"].backward()
        optimizer.step()
        scheduler.step()
        values += [loss["loss_ce"].item(), loss["loss_plain"].item(), loss["acc_seg"].item()]
        values += [float(s) for s in seg_logits.shape] + [scheduler.get_last_lr()[-1]]
        values += [model.backbone.block1[0].attn.sr.weight.grad.norm().item()]
        values += [model.backbone.block2[0].mlp.dwconv.dwconv.weight.grad.abs().sum().item()]
        values += [model.decode_head.linear_c4.proj.weight.grad.norm().item()]
    values += model.decode_head.linear_fuse.bn.running_mean.tolist()

    model.eval()
    with torch.no_grad():
        feats = model.backbone(img)
        out = model.decode_head(feats)
        seg = torch.nn.functional.interpolate(
            out, size=img.shape[2:], mode="bilinear", align_corners=False
        )
        pred = seg.argmax(dim=1)
    values += [v for f in feats for v in f.shape] + [float(feats[0].is_contiguous())]
    values += out.flatten()[::5].tolist() + [float(pred.sum())]
    values += torch.bincount(pred.flatten(), minlength=NUM_CLASSES).tolist()
    return values
